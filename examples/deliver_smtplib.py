"""Deliver mail directly with smtplib: route, connect with failover, hand over, send.

Run it with ``python examples/deliver_smtplib.py`` (it needs ``aiosmtpd``:
``pip install 'mxroute[examples]'``). Nothing leaves the machine:

* DNS answers come from an in-memory zone (:class:`mxroute.InMemoryResolver`)
  whose mail hosts have loopback addresses, so the policy allows them
  (``address_scope="any"``; the default never routes to loopback).
* SMTP sinks (aiosmtpd) listen on 127.0.0.3, 127.0.0.4 and, where the machine
  has it, ``::1``; mx1.shop.example (127.0.0.2) is down: nothing listens there.
* The sinks listen on a free port, not 25 (which needs root), so the
  connector used here is mxroute's own with that port put in
  (:class:`LabPort`). A real sender leaves ``connector=`` out.

For each recipient, :func:`mxroute.connect` walks the route (mx1 refuses, so
mx2 is next; its IPv6 address first where there is one), reads the 220
greeting, and returns the socket; ``smtplib.SMTP`` takes it from EHLO on.
"""

from __future__ import annotations

import smtplib
import socket
import sys
from contextlib import ExitStack
from email.message import EmailMessage
from typing import Any

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
blog         MX   10 mail.blog.example.
mail.blog    A    127.0.0.4
"""
IPV6_RECORD = "mx2.shop AAAA ::1\n"
DOWN = "127.0.0.2"
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
    message.set_content("Routed by mxroute, connected by mxroute, sent by smtplib.\n")
    return message


def deliver(
    router: mxroute.Router, recipient: str, connector: LabPort
) -> tuple[mxroute.Connection, dict[str, Any]]:
    """Route ``recipient``, connect, and send the message over smtplib."""
    route = router.resolve(recipient)
    with mxroute.connect(
        route, policy=router.policy, connector=connector, greeting_timeout=30
    ) as connection:
        client = smtplib.SMTP(local_hostname="client.sender.example")
        client.sock = connection.socket  # connected; mxroute read the 220 greeting
        client._host = connection.host.name  # what STARTTLS would check (not offered here)
        client.ehlo()
        refused = client.send_message(message_for(recipient), SENDER, [recipient])
        client.quit()
    return connection, refused


def main() -> int:
    """Start the sinks, deliver to every recipient, print what happened where."""
    six = has_ipv6_loopback()
    sinks = dict(SINKS, **({"::1": "mx2.shop.example"} if six else {}))
    port = free_port([DOWN, *sinks])
    resolver = mxroute.InMemoryResolver.from_zone(ZONE + (IPV6_RECORD if six else ""))
    router = mxroute.Router(resolver=resolver, policy=mxroute.RoutingPolicy(address_scope="any"))
    print("families: IPv6 and IPv4" if six else "families: IPv4 only (no ::1 on this machine)")
    handlers = {address: Sink() for address in sinks}
    with ExitStack() as stack:
        for address, name in sinks.items():
            controller = Controller(
                handlers[address], hostname=address, port=port, server_hostname=name
            )
            controller.start()
            stack.callback(controller.stop)
        for recipient in RECIPIENTS:
            connection, refused = deliver(router, recipient, LabPort(port))
            status = "delivered" if not refused else f"refused {refused}"
            print(f"{recipient}: {status} to {connection.host.name} [{connection.address}]")
            for attempt in connection.attempts:
                print(f"  {attempt.outcome.value:<10} {attempt.host} {attempt.address}")
    held = ", ".join(f"{address} {len(h.messages)}" for address, h in handlers.items())
    print(f"messages held by each sink: {held}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
