"""Deliver mail directly with aiosmtplib: route, connect with failover, hand over, send.

Run it with ``python examples/deliver_aiosmtplib.py`` (it needs ``aiosmtpd``
and ``aiosmtplib``: ``pip install 'mxroute[examples]'``). Nothing leaves the
machine; the setting is the one of ``deliver_smtplib.py``:

* DNS answers come from an in-memory zone whose mail hosts have loopback
  addresses (so the policy says ``address_scope="any"``);
* SMTP sinks (aiosmtpd) listen on 127.0.0.3, 127.0.0.4 and, where the machine
  has it, ``::1``; mx1.shop.example (127.0.0.2) is down, and the first MX of
  blog.example (127.0.0.5) answers every connection with ``421``;
* the sinks listen on a free port instead of 25, hence the connector
  :class:`LabPort`; a real sender leaves ``connector=`` out.

aiosmtplib takes a connected socket (``SMTP(sock=...)``) and always reads the
greeting itself, so :func:`mxroute.connect` runs with ``greeting=False`` in a
worker thread. A host that greets with 4xx/5xx then fails in aiosmtplib's
``connect()``: the address goes into an :class:`mxroute.UnreachableMemory`
and the walk starts again, that address last. Both recipients are delivered
concurrently.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from contextlib import ExitStack
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

import mxroute

ZONE = """
$ORIGIN example.
$TTL 3600
@            SOA  ns.example. hostmaster.example. 1 7200 900 1209600 300
             NS   ns.example.
ns           A    192.0.2.53
shop         MX   10 mx1.shop.example.
             MX   20 mx2.shop.example.
mx1.shop     A    127.0.0.2
mx2.shop     A    127.0.0.3
blog         MX   10 busy.blog.example.
             MX   20 mail.blog.example.
busy.blog    A    127.0.0.5
mail.blog    A    127.0.0.4
"""
IPV6_RECORD = "mx2.shop AAAA ::1\n"
DOWN, BUSY = "127.0.0.2", "127.0.0.5"
SINKS = {"127.0.0.3": "mx2.shop.example", "127.0.0.4": "mail.blog.example"}
SENDER = "newsletter@sender.example"
RECIPIENTS = ["alice@shop.example", "bob@blog.example"]


class Sink:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        """Keep the message's envelope."""
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Kept"


class LabPort:
    """mxroute's real connector, to the sinks' port instead of the route's (port 25)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.real = mxroute.SocketConnector()

    def open_connection(self, address: Any, _port: int, timeout: float) -> socket.socket:
        """Connect to ``address`` on the sinks' port."""
        return self.real.open_connection(address, self.port, timeout)


def has_ipv6_loopback() -> bool:
    """Whether a socket can listen on ``::1`` here."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_port(addresses: list[str]) -> int:
    """A TCP port free on every one of ``addresses`` (so nothing listens on the down host)."""
    for _ in range(50):
        with ExitStack() as stack:
            first = stack.enter_context(socket.socket(socket.AF_INET))
            first.bind((addresses[0], 0))
            port = int(first.getsockname()[1])
            try:
                for address in addresses[1:]:
                    family = socket.AF_INET6 if ":" in address else socket.AF_INET
                    stack.enter_context(socket.socket(family)).bind((address, port))
            except OSError:
                continue
            return port
    raise OSError("no free port")


def message_for(recipient: str) -> EmailMessage:
    """A small message to deliver."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = recipient
    message["Subject"] = "Delivered directly"
    message.set_content("Routed by mxroute, connected by mxroute, sent by aiosmtplib.\n")
    return message


async def say_busy(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The busy host: greet 421 and close, as RFC 5321 §3.8 has a server do."""
    writer.write(b"421 4.3.2 busy.blog.example too busy, try again later\r\n")
    await writer.drain()
    writer.close()


async def deliver(
    router: mxroute.Router,
    recipient: str,
    connector: LabPort,
    memory: mxroute.UnreachableMemory,
) -> tuple[mxroute.Connection, list[str]]:
    """Route ``recipient``, connect, and send over aiosmtplib; return the connection and log."""
    route = await router.resolve_async(recipient)
    log: list[str] = []
    for _ in range(2):  # the default session limit: two hosts get their chance
        connection = await asyncio.to_thread(
            mxroute.connect,
            route,
            policy=router.policy,
            memory=memory,
            connector=connector,
            greeting=False,  # aiosmtplib reads the greeting
        )
        log += [f"{a.outcome.value:<10} {a.host} {a.address}" for a in connection.attempts]
        client = aiosmtplib.SMTP(
            sock=connection.socket,
            hostname=connection.host.name,  # the name STARTTLS checks
            local_hostname="client.sender.example",
            start_tls=False,  # the sinks offer none; None upgrades when offered
            timeout=30,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPConnectError as exc:  # a 4xx/5xx greeting, or none in time
            log.append(f"{'greeting':<10} {connection.host.name} {connection.address}: {exc}")
            connection.close()
            memory.record_failure(connection.address, connection.port, "greeting-rejected")
            continue
        await client.send_message(message_for(recipient), sender=SENDER, recipients=[recipient])
        await client.quit()
        return connection, log
    raise mxroute.HostsUnreachable(route.domain, f"no host of {route.domain} greeted with 220")


async def main_async() -> int:
    """Start the sinks, deliver to every recipient at once, print what happened where."""
    six = has_ipv6_loopback()
    sinks = dict(SINKS, **({"::1": "mx2.shop.example"} if six else {}))
    port = free_port([DOWN, BUSY, *sinks])
    resolver = mxroute.InMemoryResolver.from_zone(ZONE + (IPV6_RECORD if six else ""))
    router = mxroute.Router(resolver=resolver, policy=mxroute.RoutingPolicy(address_scope="any"))
    memory = mxroute.UnreachableMemory()  # shared by every delivery of the process
    print("families: IPv6 and IPv4" if six else "families: IPv4 only (no ::1 on this machine)")
    handlers = {address: Sink() for address in sinks}
    with ExitStack() as stack:
        for address, name in sinks.items():
            controller = Controller(
                handlers[address], hostname=address, port=port, server_hostname=name
            )
            controller.start()
            stack.callback(controller.stop)
        busy = await asyncio.start_server(say_busy, BUSY, port)
        results = await asyncio.gather(
            *(deliver(router, r, LabPort(port), memory) for r in RECIPIENTS)
        )
        busy.close()
        await busy.wait_closed()
    for recipient, (connection, log) in zip(RECIPIENTS, results, strict=True):
        print(f"{recipient}: delivered to {connection.host.name} [{connection.address}]")
        for line in log:
            print(f"  {line}")
    held = ", ".join(f"{address} {len(h.messages)}" for address, h in handlers.items())
    print(f"messages held by each sink: {held}")
    return 0


def main() -> int:
    """Run the deliveries."""
    return asyncio.run(main_async())


if __name__ == "__main__":
    sys.exit(main())
