"""The audit's authoritative check against real BIND 9 name servers on loopback.

Four name servers share one port on four loopback addresses, and a recursive
``named`` on 127.0.0.1 forwards ``audit.test`` and ``agree.test`` to the first
two, so the audit finds the NS set through its normal resolver:

* 127.0.0.2 (ns1) serves ``audit.test`` at serial 1 (MX 10 mx1, 20 mx2);
  ns1 also has the address ::1, where a socket reads nothing (silent);
* 127.0.0.3 (ns2) serves it at serial 2 (MX 10 mx1, 20 mx3; mx1 moved);
* 127.0.0.4 (ns3) serves only ``other.test``: lame (REFUSED);
* 127.0.0.6 (ns4) never answers (:class:`~tests.bindserver.SilentServer`).

``agree.test`` is served the same by ns1 and ns2: no finding.

``named`` listens only on addresses configured on an interface, and only
127.0.0.1 is (adding 127.0.0.2 to ``lo`` takes root). So each ``named`` listens
on 127.0.0.1 at a port of its own, and a relay
(:class:`~tests.integration.servers.ScriptedServer`) on its loopback address
and the shared port passes every query to it and its response back, both
unchanged: the AA bit, the response code and every section are BIND's.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator

import dns.message
import dns.query
import pytest

import mxroute
from tests.bindserver import BindServer, SilentServer, bind_udp_tcp
from tests.integration.servers import ZONES, Reply, ScriptedServer

pytestmark = pytest.mark.integration

FIRST, SECOND, LAME, SILENT = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.6"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def _shared_port() -> tuple[int, list[socket.socket]]:
    """A port free on every server address (IPv4 and ::1), and a silent socket on ::1.

    Without IPv6 on loopback, ::1 is unreachable instead of silent: the same finding.
    """
    ipv6 = _ipv6_loopback()
    for _ in range(50):
        udp, tcp = bind_udp_tcp(FIRST)
        port = int(udp.getsockname()[1])
        udp.close()
        tcp.close()
        held: list[socket.socket] = []
        try:
            for address in (SECOND, LAME, SILENT):
                held.extend(bind_udp_tcp(address, port))
            if ipv6:
                silent6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
                held.append(silent6)
                silent6.bind(("::1", port))
        except OSError:
            for sock in held:
                sock.close()
            continue
        keep = held[-1:] if ipv6 else []  # ::1 stays bound and silent
        for sock in held[: len(held) - len(keep)]:  # freed for the servers
            sock.close()
        return port, keep
    raise OSError("no port free on every test address")


class Servers:
    def __init__(self, port: int, resolver_port: int) -> None:
        self.port = port
        self.resolver_port = resolver_port

    def resolver(self) -> mxroute.DNSResolver:
        return mxroute.DNSResolver(
            ["127.0.0.1"], port=self.resolver_port, timeout=2.0, lifetime=4.0
        )


def _relay(server: BindServer) -> Callable[[dns.message.Message, bool], Reply]:
    """A handler that asks ``server`` the query received and returns its response as is."""

    def relay(query: dns.message.Message, tcp: bool) -> Reply:
        ask = dns.query.tcp if tcp else dns.query.udp
        try:
            return ask(query, server.address, timeout=2.0, port=server.port)
        except Exception:  # the client then sees no answer, as from a dead server
            return None

    return relay


ZONES_OF = {
    FIRST: {"audit.test": ZONES / "audit-a.zone", "agree.test": ZONES / "audit-agree.zone"},
    SECOND: {"audit.test": ZONES / "audit-b.zone", "agree.test": ZONES / "audit-agree.zone"},
    LAME: {"other.test": ZONES / "audit-other.zone"},
}


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    port, silent6 = _shared_port()
    forward = "".join(
        f'zone "{zone}" {{ type forward; forward only; '
        f"forwarders {{ {FIRST} port {port}; {SECOND} port {port}; }}; }};\n"
        for zone in ("audit.test", "agree.test")
    )
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [sock.close() for sock in silent6])
        for address, zones in ZONES_OF.items():
            named = stack.enter_context(BindServer(zones))  # type: ignore[arg-type]
            stack.enter_context(ScriptedServer(_relay(named), address=address, port=port))
        stack.enter_context(SilentServer(SILENT, port))
        recursive = stack.enter_context(BindServer({}, recursion=True, config=forward))
        yield Servers(port, recursive.port)


ANY = mxroute.RoutingPolicy(address_scope="any")  # the name servers are on loopback


def _findings(report: mxroute.AuditReport) -> dict[str, list[mxroute.Finding]]:
    found: dict[str, list[mxroute.Finding]] = {}
    for finding in report.findings:
        if finding.code.startswith("ns-"):
            found.setdefault(finding.code, []).append(finding)
    return found


def _check_disagreeing(report: mxroute.AuditReport) -> None:
    found = _findings(report)
    assert set(found) == {
        "ns-serial-mismatch",
        "ns-mx-mismatch",
        "ns-address-mismatch",
        "ns-lame",
        "ns-not-answering",
        "ns-family-unreachable",
    }
    (serial,) = found["ns-serial-mismatch"]
    assert "serial 1" in serial.message
    assert "serial 2" in serial.message
    (mx,) = found["ns-mx-mismatch"]
    assert "20 mx2.audit.test." in mx.message
    assert "20 mx3.audit.test." in mx.message
    assert {f.subject for f in found["ns-address-mismatch"]} == {
        "mx1.audit.test",
        "mx2.audit.test",
        "mx3.audit.test",
    }
    (lame,) = found["ns-lame"]
    assert lame.subject == f"ns3.audit.test {LAME}"
    assert "REFUSED" in lame.message
    assert {f.subject for f in found["ns-not-answering"]} == {
        f"ns4.audit.test {SILENT}",
        "ns1.audit.test ::1",
    }
    (family,) = found["ns-family-unreachable"]
    assert family.subject == "ns1.audit.test"


class TestDisagreeingServers:
    def test_sync(self, servers: Servers) -> None:
        with servers.resolver() as resolver:
            report = mxroute.audit(
                "audit.test", resolver, ANY, authoritative=True, ns_port=servers.port
            )
        _check_disagreeing(report)
        assert report.route is not None  # the recursive view still routes

    @pytest.mark.asyncio
    async def test_async(self, servers: Servers) -> None:
        with servers.resolver() as resolver:
            report = await mxroute.audit_async(
                "audit.test", resolver, ANY, authoritative=True, ns_port=servers.port
            )
        _check_disagreeing(report)

    def test_the_deadline_bounds_the_silent_servers(self, servers: Servers) -> None:
        import time

        start = time.monotonic()
        with servers.resolver() as resolver:
            report = mxroute.audit(
                "audit.test",
                resolver,
                ANY,
                authoritative=True,
                ns_port=servers.port,
                ns_deadline=1.0,
            )
        assert time.monotonic() - start < 3.0
        assert "ns-not-answering" in _findings(report)


class TestAgreeingServers:
    def test_no_finding_and_the_glue_in_additional_sections_matches(self, servers: Servers) -> None:
        with servers.resolver() as resolver:
            report = mxroute.audit(
                "agree.test", resolver, ANY, authoritative=True, ns_port=servers.port
            )
        assert _findings(report) == {}

    def test_the_default_scope_asks_no_loopback_server(self, servers: Servers) -> None:
        with servers.resolver() as resolver:
            report = mxroute.audit("agree.test", resolver, authoritative=True, ns_port=servers.port)
        assert set(_findings(report)) == {"ns-address-out-of-scope"}

    def test_the_wrong_port_is_not_answered(self, servers: Servers) -> None:
        with servers.resolver() as resolver:
            report = mxroute.audit(
                "agree.test",
                resolver,
                ANY,
                authoritative=True,
                ns_port=servers.port + 1,
                ns_deadline=2.0,
            )
        assert set(_findings(report)) <= {"ns-not-answering"}
        assert len(_findings(report)["ns-not-answering"]) == 2


def test_a_real_ns_answer_carries_the_glue(servers: Servers) -> None:
    import ipaddress

    from mxroute._authoritative import DirectQuery, ServerQuestion

    question = ServerQuestion(ipaddress.ip_address(FIRST), servers.port, "audit.test", "NS")
    reply = DirectQuery().ask(question, 2.0)
    assert reply.serves
    glue = {(a.name, str(address)) for a in reply.answer.additional for address in a.addresses}
    assert ("ns1.audit.test", "::1") in glue
    assert ("ns4.audit.test", SILENT) in glue
