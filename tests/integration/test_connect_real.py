"""connect and connect_async for real: BIND serves the routes, loopback servers answer.

Nothing here is faked: a real BIND 9 serves the MX, A and AAAA records of the
zone ``lab.test``; the mail servers are real sockets on loopback
(``tests/mailservers.py``): aiosmtpd sinks on 127.0.0.2, 127.0.0.3 and ``::1``,
nothing on 127.0.0.4 (refused), a listener that never greets on 127.0.0.5, one
that greets 421 on 127.0.0.6. The addresses are loopback, so the routing
policy's ``address_scope`` is ``"any"``.

The routes are MX routes to port 25, and port 25 needs root: the servers
listen on one free port instead, and the connector is mxroute's own
:class:`~mxroute.SocketConnector` with the port number changed
(:class:`LabConnector`): every connection is a real one, to the real
address. One test takes the other road, a transport map to ``lab.test:PORT``
(still an MX lookup, on that port: a relay route), with the default connector.

IPv6 runs on ``::1`` where the machine has it. Where it does not, the cases
still run for real: a connection to ``::1`` fails in the kernel (broken IPv6
as it is), and the IPv6 sink case connects to a sink on 127.0.0.7 standing in
for ``::1``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import aiosmtplib
import pytest

import mxroute
from tests.bindserver import BindServer
from tests.mailservers import Blackhole, Greeter, Silent, Sink, common_port, has_ipv6_loopback

pytestmark = pytest.mark.integration

SINK_A, SINK_B, REFUSED, SILENT, BUSY, STAND_IN = (
    "127.0.0.2",
    "127.0.0.3",
    "127.0.0.4",
    "127.0.0.5",
    "127.0.0.6",
    "127.0.0.7",
)
HAS_IPV6 = has_ipv6_loopback()
ZONE = f"""
$ORIGIN lab.test.
$TTL 300
@             SOA  ns hostmaster 1 7200 900 1209600 60
@             NS   ns
ns            A    127.0.0.1
failover      MX   10 mx1.failover
              MX   20 mx2.failover
mx1.failover  A    {REFUSED}
mx2.failover  A    {SINK_A}
dual          MX   10 mx.dual
mx.dual       AAAA ::1
mx.dual       A    {SINK_B}
six           MX   10 mx.six
mx.six        AAAA ::1
greeting      MX   10 mx1.greeting
              MX   20 mx2.greeting
mx1.greeting  A    {BUSY}
mx2.greeting  A    {SINK_B}
silent        MX   10 mx1.silent
              MX   20 mx2.silent
mx1.silent    A    {SILENT}
mx2.silent    A    {SINK_A}
down          MX   10 mx1.down
              MX   20 mx2.down
mx1.down      A    {BUSY}
mx2.down      A    {REFUSED}
"""
DOMAINS = ["failover", "dual", "six", "greeting", "silent", "down"]


class LabConnector:
    """mxroute's real connector, to the lab's port instead of the route's (port 25).

    Args:
        port: The port every connection goes to.
        stand_in: Where connections to ``::1`` go instead (on a machine
            without ``::1``); None: to ``::1``.
    """

    def __init__(self, port: int, stand_in: str | None = None) -> None:
        self.port = port
        self.stand_in = stand_in
        self.real = mxroute.SocketConnector()

    def _target(self, address: Any) -> Any:
        if self.stand_in is not None and address == ipaddress.ip_address("::1"):
            return ipaddress.ip_address(self.stand_in)
        return address

    def open_connection(self, address: Any, port: int, timeout: float) -> socket.socket:
        return self.real.open_connection(self._target(address), self.port, timeout)

    async def open_connection_async(self, address: Any, port: int) -> Any:
        return await self.real.open_connection_async(self._target(address), self.port)


class Lab:
    """The running servers, the ports they listen on, and a router that finds them."""

    def __init__(self, port: int, dual_port: int, bind: BindServer) -> None:
        self.port = port
        # "dual" gets its own port: there ::1 is a blackhole (broken IPv6),
        # while on the main port ::1 is a sink.
        self.dual_port = dual_port
        self.sinks: dict[str, Sink] = {}
        self.policy = mxroute.RoutingPolicy(address_scope="any")
        self.resolver = mxroute.DNSResolver(
            [bind.address], port=bind.port, timeout=2.0, lifetime=4.0
        )
        self.router = mxroute.Router(resolver=self.resolver, policy=self.policy)
        self.connector = LabConnector(port, None if HAS_IPV6 else STAND_IN)
        self.dual_connector = LabConnector(dual_port)  # ::1 as it is

    def route(self, domain: str) -> mxroute.MailRoute:
        return self.router.resolve(f"{domain}.lab.test")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    v4 = [SINK_A, SINK_B, REFUSED, SILENT, BUSY, STAND_IN]
    v6 = ["::1"] if HAS_IPV6 else []
    port = common_port(v4 + v6)
    dual_port = common_port([SINK_B, *v6])
    with ExitStack() as stack:
        bind = stack.enter_context(BindServer({"lab.test": ZONE}))
        lab = Lab(port, dual_port, bind)
        stack.enter_context(lab.resolver)
        for address, name in ((SINK_A, "mx-a.lab.test"), (SINK_B, "mx-b.lab.test")):
            lab.sinks[address] = stack.enter_context(Sink(address, port, name))
        lab.sinks["dual"] = stack.enter_context(Sink(SINK_B, dual_port, "mx.dual.lab.test"))
        six = "::1" if HAS_IPV6 else STAND_IN
        lab.sinks["::1"] = stack.enter_context(Sink(six, port, "mx.six.lab.test"))
        stack.enter_context(Silent(SILENT, port))
        stack.enter_context(Greeter(BUSY, port, "421 4.3.2 Too busy, come back later"))
        if HAS_IPV6:
            stack.enter_context(Blackhole("::1", dual_port))
        yield lab


FAST = {"attempt_timeout": 1.0, "greeting_timeout": 1.0, "stagger": 0.1}
Outcome = mxroute.AttemptOutcome
DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])


def outcomes(attempts) -> list[tuple[str, Outcome]]:
    return [(str(a.address), a.outcome) for a in attempts]


async def _connect_async(route, **options):
    connection = await mxroute.connect_async(route, **options)
    await connection.aclose()
    return connection


def run(driver, route, **options):
    """connect (sync) or connect_async; the connection is closed, its record returned."""
    if driver == "sync":
        with mxroute.connect(route, **options) as connection:
            return connection
    return asyncio.run(_connect_async(route, **options))


class TestTheLab:
    def test_bind_serves_mx_routes_to_port_25(self, lab):
        route = lab.route("failover")
        assert route.kind is mxroute.RouteKind.MX
        assert [(h.name, h.port) for h in route.hosts] == [
            ("mx1.failover.lab.test", 25),
            ("mx2.failover.lab.test", 25),
        ]
        assert [str(a) for _, a in lab.route("dual").attempts()] == ["::1", SINK_B]

    def test_the_default_policy_routes_nowhere_on_loopback(self, lab):
        router = mxroute.Router(resolver=lab.resolver)
        with pytest.raises(mxroute.NoMailHosts):
            router.resolve("failover.lab.test")

    def test_the_servers_answer_as_their_names_say(self, lab):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((REFUSED, lab.port), timeout=2)
        with socket.create_connection((BUSY, lab.port), timeout=2) as sock:
            assert sock.makefile("rb").readline().startswith(b"421 ")
        with socket.create_connection((SILENT, lab.port), timeout=2) as sock:
            sock.settimeout(0.2)
            with pytest.raises(TimeoutError):
                sock.recv(1)
        with smtplib.SMTP(SINK_A, lab.port, timeout=5) as client:
            assert client.ehlo()[1].startswith(b"mx-a.lab.test")


class TestConnectForReal:
    @DRIVERS
    def test_mx1_refuses_mx2_takes_the_connection(self, lab, driver):
        connection = run(
            driver, lab.route("failover"), policy=lab.policy, connector=lab.connector, **FAST
        )
        assert connection.host.name == "mx2.failover.lab.test"
        assert str(connection.address) == SINK_A
        assert connection.greeting is not None
        assert connection.greeting.startswith("mx-a.lab.test")
        assert outcomes(connection.attempts) == [
            (REFUSED, Outcome.REFUSED),
            (SINK_A, Outcome.CONNECTED),
        ]

    @DRIVERS
    def test_broken_ipv6_falls_back_to_ipv4(self, lab, driver):
        connection = run(
            driver, lab.route("dual"), policy=lab.policy, connector=lab.dual_connector, **FAST
        )
        assert str(connection.address) == SINK_B
        first, last = connection.attempts
        assert str(first.address) == "::1"
        assert last.outcome is Outcome.CONNECTED
        if HAS_IPV6:
            # a blackhole on ::1: IPv4 started one stagger later and won the race
            assert first.outcome is Outcome.CANCELLED
            assert FAST["stagger"] <= last.started < FAST["attempt_timeout"]
        else:
            # no ::1 on this machine: the kernel fails the IPv6 attempt at once
            assert first.outcome in (Outcome.UNREACHABLE, Outcome.REFUSED)

    @DRIVERS
    def test_a_host_with_ipv6_is_connected_over_ipv6(self, lab, driver):
        connection = run(
            driver, lab.route("six"), policy=lab.policy, connector=lab.connector, **FAST
        )
        assert str(connection.address) == "::1"
        assert connection.greeting is not None
        assert connection.greeting.startswith("mx.six.lab.test")

    @DRIVERS
    def test_a_421_greeting_moves_on_to_the_next_host(self, lab, driver):
        connection = run(
            driver, lab.route("greeting"), policy=lab.policy, connector=lab.connector, **FAST
        )
        assert str(connection.address) == SINK_B
        assert outcomes(connection.attempts) == [
            (BUSY, Outcome.GREETING_REJECTED),
            (SINK_B, Outcome.CONNECTED),
        ]
        assert "421 4.3.2" in connection.attempts[0].detail

    @DRIVERS
    def test_a_silent_host_costs_its_greeting_timeout(self, lab, driver):
        connection = run(
            driver, lab.route("silent"), policy=lab.policy, connector=lab.connector, **FAST
        )
        assert str(connection.address) == SINK_A
        silent = connection.attempts[0]
        assert (str(silent.address), silent.outcome) == (SILENT, Outcome.GREETING_TIMEOUT)
        assert silent.elapsed >= FAST["greeting_timeout"]

    @DRIVERS
    def test_every_host_failing_is_hosts_unreachable_with_the_log(self, lab, driver):
        with pytest.raises(mxroute.HostsUnreachable) as info:
            run(driver, lab.route("down"), policy=lab.policy, connector=lab.connector, **FAST)
        assert info.value.smtp_reply.startswith("451 4.4.1")
        assert outcomes(info.value.attempts) == [
            (BUSY, Outcome.GREETING_REJECTED),
            (REFUSED, Outcome.REFUSED),
        ]

    def test_the_default_scope_never_connects_to_loopback(self, lab):
        plan = lab.route("failover").plan(lab.policy)  # planned with the lab's policy
        with pytest.raises(mxroute.HostsUnreachable) as info:
            mxroute.connect(plan, policy=mxroute.RoutingPolicy(), connector=lab.connector)
        assert {a.outcome for a in info.value.attempts} == {Outcome.OUT_OF_SCOPE}

    def test_a_relay_on_another_port_with_the_default_connector(self, lab):
        # a transport map to the lab's port: the real connector, no port changed.
        # The relay's MX hosts are learned from DNS, so they need the scope too.
        policy = mxroute.RoutingPolicy(
            transport_map={"failover.lab.test": f"failover.lab.test:{lab.port}"},
            address_scope="any",
        )
        route = mxroute.Router(resolver=lab.resolver, policy=policy).resolve("failover.lab.test")
        assert route.kind is mxroute.RouteKind.RELAY
        with mxroute.connect(route, **FAST) as connection:
            assert (str(connection.address), connection.port) == (SINK_A, lab.port)
        assert outcomes(connection.attempts)[0] == (REFUSED, Outcome.REFUSED)

    def test_the_default_scope_refuses_a_relays_loopback_mx_hosts(self, lab):
        policy = mxroute.RoutingPolicy(
            transport_map={"failover.lab.test": f"failover.lab.test:{lab.port}"}
        )
        with pytest.raises(mxroute.TemporaryRouteError) as info:
            mxroute.Router(resolver=lab.resolver, policy=policy).resolve("failover.lab.test")
        assert "transport_map" in str(info.value)
        assert "address-out-of-scope" in [f.code for f in info.value.findings]


class TestDeliverForReal:
    def test_smtplib_delivers_on_the_connection(self, lab):
        sink = lab.sinks[SINK_A]
        before = len(sink.messages)
        route = lab.route("failover")
        with mxroute.connect(
            route, policy=lab.policy, connector=lab.connector, **FAST
        ) as connection:
            client = smtplib.SMTP(local_hostname="client.lab.test")
            client.sock = connection.socket  # connect read the greeting
            client.sendmail(
                "a@sender.test", ["alice@failover.lab.test"], b"Subject: 1\r\n\r\nhi\r\n"
            )
            client.quit()
        mail_from, rcpt_tos, content = sink.messages[before]
        assert (mail_from, rcpt_tos) == ("a@sender.test", ["alice@failover.lab.test"])
        assert content.endswith(b"hi\r\n")

    def test_aiosmtplib_delivers_on_an_ipv6_connection(self, lab):
        async def deliver() -> None:
            connection = await asyncio.to_thread(
                mxroute.connect,
                lab.route("six"),
                policy=lab.policy,
                connector=lab.connector,
                greeting=False,  # aiosmtplib reads the greeting itself
                **FAST,
            )
            client = aiosmtplib.SMTP(sock=connection.socket, local_hostname="client.lab.test")
            await client.connect()
            await client.sendmail(
                "b@sender.test", ["bob@six.lab.test"], b"Subject: 2\r\n\r\nho\r\n"
            )
            await client.quit()

        sink = lab.sinks["::1"]
        before = len(sink.messages)
        asyncio.run(deliver())
        assert sink.messages[before][1] == ["bob@six.lab.test"]
