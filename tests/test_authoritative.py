"""The audit's authoritative check: every name server asked directly, on fakes."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable

import attrs
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

import mxroute
from mxroute import AuditReport, InMemoryResolver, RoutingPolicy, audit, audit_async
from mxroute._authoritative import (
    MAX_SERVER_ADDRESSES,
    QUERY_TIMEOUT,
    DirectQuery,
    FakeServers,
    ServerQuestion,
    ServerReply,
    read_reply,
)
from tests.bindserver import free_port
from tests.doubles import finishes_within

ZONE = """
$ORIGIN example.com.
$TTL 3600
@ SOA ns1 hostmaster {serial} 7200 900 1209600 300
@ NS ns1
@ NS ns2
@ MX 10 mx1
@ MX 20 mx2
ns1 A 192.0.2.53
ns1 AAAA 2001:db8::53
ns2 A {ns2}
mx1 A {mx1}
mx1 AAAA 2001:db8::25
mx2 A 198.51.100.25
mx2 AAAA 2001:db8:1::25
"""
SERVERS = ("192.0.2.53", "2001:db8::53", "198.51.100.53")


def zone(
    serial: int = 1, ns2: str = "198.51.100.53", mx1: str = "192.0.2.25", extra: str = ""
) -> str:
    return ZONE.format(serial=serial, ns2=ns2, mx1=mx1) + extra


Network = tuple[InMemoryResolver, FakeServers, RoutingPolicy]


def network(
    resolver_zone: str | None = None,
    servers: dict[str, str] | None = None,
    policy: RoutingPolicy | None = None,
    **options: object,
) -> Network:
    """The recursive view (the audit's resolver) and the servers, each with its zone."""
    resolver = InMemoryResolver.from_zone(resolver_zone or zone())
    served = {a: zone() for a in SERVERS} if servers is None else servers
    fake = FakeServers(
        {a: InMemoryResolver.from_zone(text) for a, text in served.items()},
        **options,  # type: ignore[arg-type]
    )
    return resolver, fake, policy or RoutingPolicy()


def run(net: Network, **options: object) -> AuditReport:
    resolver, fake, policy = net
    return audit("example.com", resolver, policy, authoritative=True, ns_query=fake, **options)  # type: ignore[arg-type]


def ns_codes(report: AuditReport) -> list[str]:
    return [f.code for f in report.findings if f.code.startswith("ns-")]


def the(report: AuditReport, code: str) -> mxroute.Finding:
    (found,) = [f for f in report.findings if f.code == code]
    return found


def _failing_ns() -> Network:
    net = network()
    net[0].fail("example.com", "NS", "servfail")
    return net


def _many_servers() -> Network:
    extra = "".join(f"@ NS x{i}\nx{i} A 192.0.2.{100 + i}\n" for i in range(MAX_SERVER_ADDRESSES))
    text = zone(extra=extra)
    addresses = [*SERVERS, *(f"192.0.2.{100 + i}" for i in range(MAX_SERVER_ADDRESSES))]
    return network(text, dict.fromkeys(addresses, text))


# One network per code: the authoritative check reports every one of its codes.
AUTHORITATIVE_SCENARIOS: dict[str, Callable[[], Network]] = {
    "ns-lookup-failed": _failing_ns,
    "ns-not-answering": lambda: network(servers={a: zone() for a in SERVERS[:2]}),
    "ns-lame": lambda: network(not_authoritative=[SERVERS[2]]),
    "ns-serial-mismatch": lambda: network(
        servers={SERVERS[0]: zone(), SERVERS[1]: zone(), SERVERS[2]: zone(serial=2)}
    ),
    "ns-mx-mismatch": lambda: network(
        servers={
            SERVERS[0]: zone(),
            SERVERS[1]: zone(),
            SERVERS[2]: zone().replace("@ MX 20 mx2", "@ MX 20 mx3"),
        }
    ),
    "ns-address-mismatch": lambda: network(
        servers={SERVERS[0]: zone(), SERVERS[1]: zone(), SERVERS[2]: zone(mx1="192.0.2.26")}
    ),
    "ns-glue-mismatch": lambda: network(
        zone(ns2="198.51.100.54"), {**{a: zone() for a in SERVERS}, "198.51.100.54": zone()}
    ),
    "ns-family-unreachable": lambda: network(
        servers={SERVERS[0]: zone(), SERVERS[2]: zone()}  # ns1's IPv6 address is silent
    ),
    "ns-address-out-of-scope": lambda: network(zone(ns2="127.0.0.53")),
    "ns-host-unresolvable": lambda: network(zone(extra="@ NS gone.example.com.\n")),
    "ns-limit-exceeded": _many_servers,
}


@pytest.mark.parametrize("code", sorted(AUTHORITATIVE_SCENARIOS))
def test_the_authoritative_check_reports(code: str) -> None:
    report = run(AUTHORITATIVE_SCENARIOS[code]())
    assert code in ns_codes(report)
    assert sum(f.code == code for f in report.findings) == 1
    assert the(report, code).fix or code == "ns-limit-exceeded"


class TestConsistentServers:
    def test_servers_that_agree_add_no_finding(self) -> None:
        report = run(network())
        assert ns_codes(report) == []
        assert report.ok

    def test_every_address_is_asked_the_soa_mx_and_ns_then_the_hosts(self) -> None:
        _, fake, _ = net = network()
        run(net)
        for address in SERVERS:
            asked = {(q.name, q.rdtype) for q in fake.asked if str(q.address) == address}
            assert asked == {
                ("example.com", "SOA"),
                ("example.com", "MX"),
                ("example.com", "NS"),
                *(
                    (f"{h}.example.com", t)
                    for h in ("mx1", "mx2", "ns1", "ns2")
                    for t in ("A", "AAAA")
                ),
            }
        assert {q.port for q in fake.asked} == {53}
        assert max(fake.timeouts) <= QUERY_TIMEOUT

    def test_off_by_default_no_server_is_asked(self) -> None:
        resolver, fake, policy = network()
        report = audit("example.com", resolver, policy, ns_query=fake)
        assert fake.asked == []
        assert ("example.com", "NS") not in resolver.queries
        assert ns_codes(report) == []

    def test_the_port_is_a_knob(self) -> None:
        net = network(port=5353)
        assert ns_codes(run(net, ns_port=5353)) == []
        assert set(ns_codes(run(net))) == {"ns-not-answering"}

    @pytest.mark.asyncio
    async def test_audit_async_reports_the_same(self) -> None:
        resolver, fake, policy = network(servers={SERVERS[0]: zone(), SERVERS[2]: zone(serial=7)})
        sync = audit("example.com", resolver, policy, authoritative=True, ns_query=fake)
        concurrent = await audit_async(
            "example.com", resolver, policy, authoritative=True, ns_query=fake
        )
        assert [f.to_dict() for f in concurrent.findings] == [f.to_dict() for f in sync.findings]
        assert {"ns-serial-mismatch", "ns-not-answering"} <= set(ns_codes(sync))

    def test_audit_many_passes_it_on(self) -> None:
        resolver, fake, policy = network(servers={a: zone() for a in SERVERS[:2]})
        results = dict(
            mxroute.audit_many(["example.com"], resolver, policy, authoritative=True, ns_query=fake)
        )
        report = results["example.com"]
        assert isinstance(report, AuditReport)
        assert "ns-not-answering" in ns_codes(report)

    @pytest.mark.asyncio
    async def test_audit_many_async_passes_it_on(self) -> None:
        resolver, fake, policy = network(not_authoritative=[SERVERS[0]])
        found = [
            r
            async for _, r in mxroute.audit_many_async(
                ["example.com"], resolver, policy, authoritative=True, ns_query=fake
            )
        ]
        assert isinstance(found[0], AuditReport)
        assert "ns-lame" in ns_codes(found[0])

    def test_a_subdomain_is_checked_on_its_zones_servers(self) -> None:
        text = zone(extra="sub MX 10 mx1\n")
        resolver, fake, policy = network(text, dict.fromkeys(SERVERS, text))
        report = audit("sub.example.com", resolver, policy, authoritative=True, ns_query=fake)
        assert ns_codes(report) == []
        assert ("sub.example.com", "NS") in resolver.queries
        assert ServerQuestion(ipaddress.ip_address(SERVERS[0]), 53, "example.com", "SOA") in (
            fake.asked
        )
        assert ServerQuestion(ipaddress.ip_address(SERVERS[0]), 53, "sub.example.com", "MX") in (
            fake.asked
        )

    def test_an_alias_is_checked_as_its_canonical_name(self) -> None:
        resolver, fake, policy = network()
        resolver.add("alias.example.org", "CNAME", "example.com.")
        report = audit("alias.example.org", resolver, policy, authoritative=True, ns_query=fake)
        assert ns_codes(report) == []
        assert {(q.name, q.rdtype) for q in fake.asked if q.rdtype == "MX"} == {
            ("example.com", "MX")
        }

    def test_a_domain_that_does_not_exist_asks_no_server(self) -> None:
        resolver, fake, policy = network()
        report = audit("nowhere.example.org", resolver, policy, authoritative=True, ns_query=fake)
        assert fake.asked == []
        assert ns_codes(report) == []


class TestFindings:
    def test_lame_says_why(self) -> None:
        report = run(network(not_authoritative=[SERVERS[2]]))
        lame = the(report, "ns-lame")
        assert lame.subject == "ns2.example.com 198.51.100.53"
        assert "AA bit" in lame.message

    def test_a_refusing_server_is_lame(self) -> None:
        resolver, fake, policy = network()
        fake.servers[ipaddress.ip_address(SERVERS[2])].fail("example.com", error="refused")
        assert "REFUSED" in the(run((resolver, fake, policy)), "ns-lame").message

    def test_a_referral_is_lame(self) -> None:
        report = run(network(referrals=[SERVERS[2]]))
        assert "referral" in the(report, "ns-lame").message

    def test_a_server_of_another_zone_is_lame(self) -> None:
        other = "$ORIGIN example.net.\n@ 3600 SOA ns hostmaster 1 2 3 4 5\n@ 3600 NS ns\n"
        report = run(network(servers={**{a: zone() for a in SERVERS[:2]}, SERVERS[2]: other}))
        assert "NXDOMAIN" in the(report, "ns-lame").message

    def test_the_mx_mismatch_names_both_views(self) -> None:
        report = run(AUTHORITATIVE_SCENARIOS["ns-mx-mismatch"]())
        message = the(report, "ns-mx-mismatch").message
        assert "20 mx3.example.com." in message
        assert "20 mx2.example.com." in message
        assert "198.51.100.53 (ns2.example.com)" in message
        assert the(report, "ns-mx-mismatch").severity is mxroute.Severity.ERROR

    def test_the_serial_mismatch_names_the_serials(self) -> None:
        message = the(run(AUTHORITATIVE_SCENARIOS["ns-serial-mismatch"]()), "ns-serial-mismatch")
        assert "serial 1" in message.message
        assert "serial 2" in message.message

    def test_a_host_the_servers_disagree_on(self) -> None:
        report = run(AUTHORITATIVE_SCENARIOS["ns-address-mismatch"]())
        assert the(report, "ns-address-mismatch").subject == "mx1.example.com"

    def test_glue_names_both_addresses(self) -> None:
        report = run(AUTHORITATIVE_SCENARIOS["ns-glue-mismatch"]())
        glue = the(report, "ns-glue-mismatch")
        assert glue.subject == "ns2.example.com"
        assert "198.51.100.54" in glue.message
        assert "198.51.100.53" in glue.message

    def test_one_silent_family(self) -> None:
        report = run(AUTHORITATIVE_SCENARIOS["ns-family-unreachable"]())
        assert "over IPv4 but not over IPv6" in the(report, "ns-family-unreachable").message
        assert the(report, "ns-not-answering").subject == "ns1.example.com 2001:db8::53"

    def test_an_out_of_scope_address_is_never_asked(self) -> None:
        _, fake, _ = net = AUTHORITATIVE_SCENARIOS["ns-address-out-of-scope"]()
        run(net)
        assert all(str(q.address) != "127.0.0.53" for q in fake.asked)

    def test_the_scope_any_asks_it(self) -> None:
        resolver, fake, _ = AUTHORITATIVE_SCENARIOS["ns-address-out-of-scope"]()
        run((resolver, fake, RoutingPolicy(address_scope="any")))
        assert any(str(q.address) == "127.0.0.53" for q in fake.asked)

    def test_an_unresolvable_name_server_says_what_its_lookups_gave(self) -> None:
        report = run(AUTHORITATIVE_SCENARIOS["ns-host-unresolvable"]())
        found = the(report, "ns-host-unresolvable")
        assert found.subject == "gone.example.com"
        assert "(NXDOMAIN, NXDOMAIN)" in found.message

    def test_a_name_server_whose_lookup_failed_is_not_called_unresolvable(self) -> None:
        resolver, fake, policy = network()
        resolver.fail("ns2.example.com", error="servfail")
        report = run((resolver, fake, policy))
        assert "ns-host-unresolvable" not in ns_codes(report)
        assert the(report, "ns-lookup-failed").subject == "ns2.example.com"

    def test_the_limit_bounds_the_servers_asked(self) -> None:
        _, fake, _ = net = _many_servers()
        run(net)
        assert len({q.address for q in fake.asked}) == MAX_SERVER_ADDRESSES

    def test_a_huge_ns_set_is_not_even_looked_up_in_full(self) -> None:
        extra = "".join(f"@ NS h{i}\n" for i in range(200))
        resolver, fake, policy = network(zone(extra=extra))
        report = run((resolver, fake, policy))
        looked_up = {name for name, rdtype in resolver.queries if rdtype == "A"}
        assert len([n for n in looked_up if n.startswith("h")]) <= MAX_SERVER_ADDRESSES
        assert "(and 182 more name servers)" in the(report, "ns-limit-exceeded").message

    def test_a_failed_ns_lookup_makes_the_audit_incomplete(self) -> None:
        report = run(_failing_ns())
        assert not report.complete
        assert not report.ok


class _Hanging:
    """A ServerQuery that never answers in time, whatever timeout it is given."""

    def __init__(self) -> None:
        self.asked = 0

    def ask(self, question: ServerQuestion, timeout: float) -> ServerReply:
        self.asked += 1
        time.sleep(3)
        raise AssertionError("the driver should have stopped waiting")

    async def ask_async(self, question: ServerQuestion, timeout: float) -> ServerReply:
        self.asked += 1
        await asyncio.sleep(60)
        raise AssertionError("the driver should have cancelled this")


class TestDeadline:
    def test_sync_never_waits_past_the_deadline(self) -> None:
        resolver, _, policy = network()
        hanging = _Hanging()
        start = time.monotonic()
        report = finishes_within(
            lambda: audit(
                "example.com",
                resolver,
                policy,
                authoritative=True,
                ns_query=hanging,
                ns_deadline=0.3,
            )
        )
        assert time.monotonic() - start < 2.5
        assert isinstance(report, AuditReport)
        assert hanging.asked == 3 * len(SERVERS)
        not_answering = [f for f in report.findings if f.code == "ns-not-answering"]
        assert len(not_answering) == len(SERVERS)
        assert all("deadline" in f.message for f in not_answering)

    @pytest.mark.asyncio
    async def test_async_cancels_at_the_deadline(self) -> None:
        resolver, _, policy = network()
        start = time.monotonic()
        report = await audit_async(
            "example.com",
            resolver,
            policy,
            authoritative=True,
            ns_query=_Hanging(),
            ns_deadline=0.3,
        )
        assert time.monotonic() - start < 2.0
        assert ns_codes(report).count("ns-not-answering") == len(SERVERS)


class TestInput:
    @pytest.mark.parametrize(
        ("options", "reason"),
        [
            ({"authoritative": "yes"}, "invalid-authoritative"),
            ({"authoritative": True, "ns_port": 0}, "invalid-port"),
            ({"authoritative": True, "ns_port": True}, "invalid-port"),
            ({"authoritative": True, "ns_deadline": -1}, "invalid-ns-deadline"),
            ({"authoritative": True, "ns_deadline": float("nan")}, "invalid-ns-deadline"),
            ({"authoritative": True, "ns_query": object()}, "invalid-ns-query"),
        ],
    )
    def test_bad_arguments_raise_invalid_input_before_any_question(
        self, options: dict[str, object], reason: str
    ) -> None:
        resolver = InMemoryResolver.from_zone(zone())
        with pytest.raises(mxroute.InvalidInput) as caught:
            audit("example.com", resolver, **options)  # type: ignore[arg-type]
        assert caught.value.reason == reason
        assert resolver.queries == []

    def test_audit_many_checks_them_at_once(self) -> None:
        with pytest.raises(mxroute.InvalidInput):
            mxroute.audit_many(["example.com"], InMemoryResolver(), ns_port=70000)


def _response(
    question: ServerQuestion, *, rcode: int = dns.rcode.NOERROR, aa: bool = True
) -> dns.message.Message:
    query = dns.message.make_query(question.name, question.rdtype)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    return response


class TestReadingResponses:
    question = ServerQuestion(ipaddress.ip_address("192.0.2.53"), 53, "example.com", "NS")

    def test_an_authoritative_answer_with_glue(self) -> None:
        response = _response(self.question)
        response.answer.append(
            dns.rrset.from_text("example.com.", 300, "IN", "NS", "ns1.example.com.")
        )
        response.additional.append(
            dns.rrset.from_text("ns1.example.com.", 300, "IN", "A", "192.0.2.53")
        )
        response.additional.append(
            dns.rrset.from_text("ns1.example.com.", 300, "IN", "AAAA", "2001:db8::53")
        )
        reply = read_reply(self.question, response)
        assert reply.serves
        assert reply.responded
        assert not reply.referral
        assert reply.answer.status is mxroute.AnswerStatus.RECORDS
        assert reply.answer.records == ("ns1.example.com.",)
        assert [(a.name, a.rdtype, a.addresses) for a in reply.answer.additional] == [
            ("ns1.example.com", "A", (ipaddress.ip_address("192.0.2.53"),)),
            ("ns1.example.com", "AAAA", (ipaddress.ip_address("2001:db8::53"),)),
        ]

    def test_a_referral(self) -> None:
        response = _response(self.question, aa=False)
        response.authority.append(dns.rrset.from_text("example.com.", 300, "IN", "NS", "ns.other."))
        reply = read_reply(self.question, response)
        assert reply.referral
        assert not reply.serves
        assert reply.answer.status is mxroute.AnswerStatus.NODATA

    @pytest.mark.parametrize(
        ("rcode", "status"),
        [
            (dns.rcode.REFUSED, mxroute.AnswerStatus.REFUSED),
            (dns.rcode.SERVFAIL, mxroute.AnswerStatus.SERVFAIL),
            (dns.rcode.NOTIMP, mxroute.AnswerStatus.SERVFAIL),
            (dns.rcode.NXDOMAIN, mxroute.AnswerStatus.NXDOMAIN),
        ],
    )
    def test_error_codes(self, rcode: int, status: mxroute.AnswerStatus) -> None:
        reply = read_reply(self.question, _response(self.question, rcode=rcode, aa=False))
        assert reply.answer.status is status
        assert reply.rcode == dns.rcode.to_text(rcode)
        assert reply.responded
        assert not reply.serves

    def test_direct_query_never_raises_for_a_silent_port(self) -> None:
        question = ServerQuestion(
            ipaddress.ip_address("127.0.0.1"), free_port(), "example.com", "SOA"
        )
        reply = DirectQuery().ask(question, 0.2)
        assert not reply.responded
        assert reply.answer.status is mxroute.AnswerStatus.TIMEOUT
        assert "127.0.0.1" in reply.answer.detail

    @pytest.mark.asyncio
    async def test_direct_query_async_never_raises_for_a_silent_port(self) -> None:
        question = ServerQuestion(
            ipaddress.ip_address("127.0.0.1"), free_port(), "example.com", "SOA"
        )
        reply = await DirectQuery().ask_async(question, 0.2)
        assert not reply.responded


class TestCommandLine:
    """``mxroute check --authoritative``: the flag reaches the audit."""

    def test_the_flag_turns_the_check_on(self, capsys: pytest.CaptureFixture[str]) -> None:
        from mxroute import cli

        # The name servers' addresses are loopback: out of the default scope, so
        # the check reports them and sends nothing.
        loopback = zone(ns2="127.0.0.53").replace("192.0.2.53", "127.0.0.52")
        resolver = InMemoryResolver.from_zone(loopback.replace("2001:db8::53", "::1"))
        cli.main(["check", "--json", "--authoritative", "example.com"], resolver=resolver)
        out = capsys.readouterr().out
        assert out.count("ns-address-out-of-scope") == 3
        assert ("example.com", "NS") in resolver.queries

    def test_without_the_flag_no_name_server_is_looked_up(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from mxroute import cli

        resolver = InMemoryResolver.from_zone(zone())
        cli.main(["check", "--json", "example.com"], resolver=resolver)
        assert "ns-" not in capsys.readouterr().out
        assert ("example.com", "NS") not in resolver.queries


class _WithGlue(FakeServers):
    """FakeServers whose NS answers carry glue in the additional section."""

    def __init__(self, glue: dict[str, str], **options: object) -> None:
        _, fake, _ = network(**options)
        super().__init__(fake.servers)
        self.glue = glue

    def ask(self, question: ServerQuestion, timeout: float) -> ServerReply:
        reply = super().ask(question, timeout)
        if question.rdtype != "NS" or not reply.serves:
            return reply
        extra = [
            mxroute.Answer(name, "A", mxroute.AnswerStatus.RECORDS, [ipaddress.ip_address(a)])
            for name, a in self.glue.items()
        ]
        return attrs.evolve(reply, answer=attrs.evolve(reply.answer, additional=extra))


class TestGlueInTheAdditionalSection:
    def test_glue_that_matches_adds_nothing(self) -> None:
        resolver, _, policy = network()
        servers = _WithGlue({"ns2.example.com": "198.51.100.53"})
        assert ns_codes(run((resolver, servers, policy))) == []

    def test_glue_that_differs_is_reported_with_the_server_that_gave_it(self) -> None:
        resolver, _, policy = network()
        servers = _WithGlue({"ns2.example.com": "198.51.100.99"})
        glue = the(run((resolver, servers, policy)), "ns-glue-mismatch")
        assert glue.subject == "ns2.example.com"
        assert "the additional section of 192.0.2.53 (ns1.example.com)" in glue.message
        assert "198.51.100.99" in glue.message

    def test_only_the_families_the_glue_holds_are_compared(self) -> None:
        resolver, _, policy = network()
        servers = _WithGlue({"ns1.example.com": "192.0.2.53"})  # no AAAA glue: fine
        assert ns_codes(run((resolver, servers, policy))) == []


def test_queries_ask_without_recursion() -> None:
    from mxroute._authoritative import _query

    question = ServerQuestion(ipaddress.ip_address("192.0.2.53"), 53, "example.com", "MX")
    message = _query(question)
    assert not message.flags & dns.flags.RD
    assert message.edns == 0
