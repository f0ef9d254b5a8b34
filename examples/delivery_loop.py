"""An asyncio delivery loop: walk ``route.attempts()`` with failover, then deliver, retry or bounce.

Run it with ``python examples/delivery_loop.py`` (it needs ``aiosmtpd``:
``pip install 'mxroute[examples]'``). Nothing leaves the machine:

* DNS answers come from an in-memory zone (:class:`mxroute.InMemoryResolver`)
  whose mail hosts have documentation addresses (192.0.2.0/24).
* The example starts SMTP sinks with aiosmtpd on 127.0.0.1, and a small
  "lab network" table (:data:`LAB`) says where each documentation address
  really is. A real MTA connects to ``(address, host.port)`` directly.

The decisions are the ones a mail server makes:

* the route fails with ``exc.temporary`` → keep the message queued, retry later;
* the route fails permanently → bounce with ``exc.reply_code`` / ``exc.enhanced_status``;
* a host is down or answers 4xx → try the next ``(host, address)`` of the route;
* a host answers 5xx → bounce (another host of the same domain would say the same);
* every attempt failed temporarily → keep the message queued, retry later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import smtplib
import socket
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

import mxroute

ZONE = """
$ORIGIN example.
$TTL 3600
@                 SOA  ns.example. hostmaster.example. 1 7200 900 1209600 300
                  NS   ns.example.
ns                A    192.0.2.53
shop              MX   10 mx1.shop.example.
                  MX   20 mx2.shop.example.
mx1.shop          A    192.0.2.10
mx2.shop          A    192.0.2.20
strict            MX   10 mx.strict.example.
mx.strict         A    192.0.2.30
busy              MX   10 mx.busy.example.
mx.busy           A    192.0.2.40
parked            MX   0 .
broken            MX   10 mx.broken.example.
"""

SENDER = "newsletter@sender.example"
RECIPIENTS = [
    "alice@shop.example",  # mx1 is down, mx2 accepts: delivered after a failover
    "bob@strict.example",  # the only host rejects the recipient with 550: bounce
    "carol@busy.example",  # the only host answers 451: retry later
    "dave@parked.example",  # null MX: bounce without connecting anywhere
    "erin@broken.example",  # the MX lookup fails (SERVFAIL): retry later
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LAB: dict[IPAddress, tuple[str, int]] = {}
"""Where each documentation address of the zone really is: ``(host, port)`` on loopback."""


class Sink:
    """An aiosmtpd handler that accepts, rejects (5xx) or defers (4xx) every recipient.

    Args:
        name: The host name the SMTP server announces (the MX host it plays).
        rcpt_reply: The reply to every RCPT TO; a 250 reply accepts the recipient.
    """

    def __init__(self, name: str, rcpt_reply: str = "250 2.1.5 OK") -> None:
        self.name = name
        self.rcpt_reply = rcpt_reply
        self.received: list[Envelope] = []

    async def handle_RCPT(
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _rcpt_options: list[str],
    ) -> str:
        """Answer RCPT TO with this sink's reply."""
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        """Keep the message."""
        self.received.append(envelope)
        return "250 2.0.0 Message accepted"


@dataclass
class Outcome:
    """What happened to one recipient."""

    recipient: str
    action: str  # "delivered", "bounce" or "retry"
    detail: str
    failed_attempts: list[str] = field(default_factory=list)


def message_for(recipient: str) -> EmailMessage:
    """A small message to deliver."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = recipient
    message["Subject"] = "Hello from the mxroute delivery loop"
    message.set_content("This message found its way by RFC 5321 section 5.1.\n")
    return message


def smtp_send(address: tuple[str, int], helo_host: str, recipient: str) -> None:
    """One SMTP transaction (blocking; run in a worker thread). Raises on failure."""
    with smtplib.SMTP(address[0], address[1], local_hostname=helo_host, timeout=10) as client:
        client.send_message(message_for(recipient), from_addr=SENDER, to_addrs=[recipient])


def classify(exc: Exception) -> tuple[str, str]:
    """Sort an SMTP failure into ``("next", why)`` or ``("bounce", why)``."""
    text: bytes | str
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, exc.smtp_error
    else:  # connection refused, reset, timed out: the host is unusable now
        return "next", f"{type(exc).__name__}: {exc}"
    reply = f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return ("bounce" if 500 <= code < 600 else "next"), reply


async def deliver(router: mxroute.Router, recipient: str) -> Outcome:
    """Route one recipient and walk its attempts until one accepts the message."""
    try:
        route = await router.resolve_async(recipient)
    except mxroute.MailRouteError as exc:
        action = "retry" if exc.temporary else "bounce"
        return Outcome(recipient, action, f"no route: {exc.smtp_reply}")

    failed: list[str] = []
    for host, address in route.attempts():
        where = LAB.get(address, (str(address), host.port))
        try:
            await asyncio.to_thread(smtp_send, where, "client.sender.example", recipient)
        except (OSError, smtplib.SMTPException) as exc:
            verdict, why = classify(exc)
            failed.append(f"{host.name} {address}: {why}")
            if verdict == "bounce":
                return Outcome(recipient, "bounce", f"{host.name} said {why}", failed)
            continue
        return Outcome(recipient, "delivered", f"accepted by {host.name} ({address})", failed)
    return Outcome(recipient, "retry", "every host failed temporarily", failed)


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens: connecting there is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))  # bound but never listening
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


async def start_sink(stack: AsyncExitStack, sink: Sink) -> int:
    """Serve ``sink`` on 127.0.0.1 (a free port) until ``stack`` closes; return the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname=sink.name, loop=loop), "127.0.0.1", 0
    )

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    stack.push_async_callback(stop)
    sockname: Any = server.sockets[0].getsockname()
    return int(sockname[1])


async def main_async() -> int:
    """Start the sinks, deliver to every recipient, print what happened."""
    resolver = mxroute.InMemoryResolver.from_zone(ZONE)
    resolver.fail("broken.example", "MX", error="servfail")
    router = mxroute.Router(resolver=resolver, rng=random.Random(5))

    accepting = Sink("mx2.shop.example")
    strict = Sink("mx.strict.example", "550 5.1.1 <bob@strict.example>: no such user")
    busy = Sink("mx.busy.example", "451 4.3.2 System busy, try again later")
    sinks = {"192.0.2.20": accepting, "192.0.2.30": strict, "192.0.2.40": busy}
    async with AsyncExitStack() as stack:
        with closed_port() as down:
            LAB[ipaddress.ip_address("192.0.2.10")] = ("127.0.0.1", down)
            for address, sink in sinks.items():
                LAB[ipaddress.ip_address(address)] = ("127.0.0.1", await start_sink(stack, sink))
            outcomes = await asyncio.gather(*(deliver(router, r) for r in RECIPIENTS))

    for outcome in outcomes:
        print(f"{outcome.recipient}: {outcome.action}: {outcome.detail}")
        for attempt in outcome.failed_attempts:
            print(f"  failed attempt: {attempt}")
    counts = {a: sum(o.action == a for o in outcomes) for a in ("delivered", "bounce", "retry")}
    print(
        f"summary: {counts['delivered']} delivered, {counts['bounce']} bounced, "
        f"{counts['retry']} to retry; the sink of mx2.shop.example holds "
        f"{len(accepting.received)} message(s)"
    )
    return 0


def main() -> int:
    """Run the delivery loop."""
    return asyncio.run(main_async())


if __name__ == "__main__":
    sys.exit(main())
