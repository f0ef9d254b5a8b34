"""mxroute.Router over DNSResolver against a real BIND 9: every routing behaviour end to end."""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Callable

import dns.message
import dns.rdatatype
import dns.rrset
import pytest

import mxroute
from tests.bindserver import BindServer, SilentServer
from tests.doubles import RecordingResolver, finishes_within
from tests.integration.servers import ScriptedServer

pytestmark = pytest.mark.integration

ip = ipaddress.ip_address


def _router(resolver: object, seed: int = 1, **policy: object) -> mxroute.Router:
    return mxroute.Router(
        resolver=resolver,  # type: ignore[arg-type]
        policy=mxroute.RoutingPolicy(**policy),  # type: ignore[arg-type]
        rng=random.Random(seed),
    )


def _hosts(route: mxroute.MailRoute) -> list[tuple[str, int, list[str]]]:
    return [(h.name, h.preference, [str(a) for a in h.addresses]) for h in route.hosts]


def _codes(route_or_error: mxroute.MailRoute | mxroute.MailRouteError) -> set[str]:
    return {f.code for f in route_or_error.findings}


@pytest.fixture(params=["sync", "async"])
def route(request: pytest.FixtureRequest, resolver: mxroute.DNSResolver):
    """Route a target through the sync or the async driver (each test runs both)."""

    def run(target: str, seed: int = 1, **policy: object) -> mxroute.MailRoute:
        router = _router(resolver, seed, **policy)
        if request.param == "sync":
            return router.resolve(target)
        import asyncio

        return asyncio.run(router.resolve_async(target))

    return run


class TestMXRoutes:
    def test_two_mx_hosts_in_preference_order(self, route):
        result = route("alice@two-mx.mxtest")
        assert result.kind is mxroute.RouteKind.MX
        assert result.domain == "two-mx.mxtest"
        assert [h.name for h in result.hosts] == ["mx1.two-mx.mxtest", "mx2.two-mx.mxtest"]
        assert [h.preference for h in result.hosts] == [10, 20]
        assert set(result.hosts[0].addresses) == {ip("192.0.2.1"), ip("2001:db8::1")}
        assert result.ttl == 300  # the MX TTL, the smallest of all the data used
        assert result.authenticated is False

    def test_equal_preferences_come_in_both_orders_over_seeds(self, resolver):
        orders = set()
        for seed in range(20):
            hosts = _router(resolver, seed).resolve("equal-mx.mxtest").hosts
            orders.add(tuple(h.name for h in hosts))
        assert orders == {
            ("mxa.equal-mx.mxtest", "mxb.equal-mx.mxtest"),
            ("mxb.equal-mx.mxtest", "mxa.equal-mx.mxtest"),
        }

    def test_thirty_mx_hosts_all_come_back_over_tcp(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, edns_payload=None)
        result = _router(resolver).resolve("many.mxtest")
        assert len(result.hosts) == 30
        assert [h.preference for h in result.hosts] == list(range(11, 41))
        assert result.hosts[29].addresses == (ip("198.51.100.30"),)

    def test_idn_domain_routes_by_its_a_label(self, route):
        result = route("user@bücher.mxtest")
        assert result.domain == "xn--bcher-kva.mxtest"
        assert _hosts(result) == [("mx.xn--bcher-kva.mxtest", 10, ["192.0.2.40"])]

    def test_ipv6_only_mx_host(self, route):
        result = route("v6only.mxtest")
        assert _hosts(result) == [("mx.v6only.mxtest", 10, ["2001:db8::60"])]


class TestNullMX:
    def test_null_mx_raises_null_mx(self, route):
        with pytest.raises(mxroute.NullMX) as caught:
            route("bob@null-mx.mxtest")
        assert caught.value.domain == "null-mx.mxtest"
        assert caught.value.reply_code == 556

    def test_null_mx_with_nonzero_preference_is_noted(self, route):
        with pytest.raises(mxroute.NullMX) as caught:
            route("null-mx-nonzero.mxtest")
        assert "null-mx-nonzero-preference" in _codes(caught.value)

    def test_null_mx_beside_a_real_mx_is_dropped(self, route):
        result = route("null-mixed.mxtest")
        assert _hosts(result) == [("mx.null-mixed.mxtest", 10, ["192.0.2.13"])]
        assert "null-mx-mixed" in _codes(result)


class TestImplicitMX:
    def test_a_only_domain_is_its_own_mail_host(self, route):
        result = route("a-only.mxtest")
        assert result.kind is mxroute.RouteKind.IMPLICIT_MX
        assert _hosts(result) == [("a-only.mxtest", 0, ["192.0.2.20"])]
        assert result.ttl == 120  # the negative TTL of the MX NODATA (SOA minimum)

    def test_aaaa_only_domain_is_its_own_mail_host(self, route):
        result = route("aaaa-only.mxtest")
        assert result.kind is mxroute.RouteKind.IMPLICIT_MX
        assert _hosts(result) == [("aaaa-only.mxtest", 0, ["2001:db8::20"])]

    def test_no_records_at_all_is_no_mail_hosts(self, route):
        with pytest.raises(mxroute.NoMailHosts) as caught:
            route("empty.mxtest")
        assert caught.value.temporary is False


class TestNames:
    def test_nxdomain_is_no_such_domain(self, route):
        with pytest.raises(mxroute.NoSuchDomain) as caught:
            route("carol@missing.mxtest")
        assert caught.value.domain == "missing.mxtest"
        assert caught.value.enhanced_status == "5.1.2"

    def test_cname_at_the_domain_is_followed(self, route):
        result = route("alias.mxtest")
        assert result.domain == "alias.mxtest"
        assert [h.name for h in result.hosts] == ["mx1.two-mx.mxtest", "mx2.two-mx.mxtest"]
        assert "cname-at-domain" in _codes(result)
        assert result.ttl == 200  # the CNAME's TTL is the smallest

    def test_cname_at_the_domain_to_nothing_is_no_such_domain(self, route):
        with pytest.raises(mxroute.NoSuchDomain):
            route("alias-nx.mxtest")

    def test_mx_target_that_is_a_cname_is_followed(self, route):
        result = route("cname-target.mxtest")
        assert _hosts(result)[0][0] == "mxalias.cname-target.mxtest"
        assert set(result.hosts[0].addresses) == {ip("192.0.2.1"), ip("2001:db8::1")}
        assert "mx-target-cname" in _codes(result)

    def test_ip_literal_mx_target_is_skipped(self, route):
        with pytest.raises(mxroute.NoMailHosts) as caught:
            route("ip-literal.mxtest")
        assert "mx-target-ip-literal" in _codes(caught.value)

    def test_ip_literal_mx_target_is_used_when_allowed(self, route):
        result = route("ip-literal-mixed.mxtest", allow_ip_literal_mx=True)
        assert [h.name for h in result.hosts] == ["192.0.2.30", "mx.ip-literal-mixed.mxtest"]

    def test_dangling_mx_target_is_no_mail_hosts(self, route):
        with pytest.raises(mxroute.NoMailHosts) as caught:
            route("dangling.mxtest")
        assert "mx-target-unresolvable" in _codes(caught.value)

    def test_loopback_address_is_out_of_scope(self, route):
        with pytest.raises(mxroute.NoMailHosts) as caught:
            route("loopback.mxtest")
        assert "address-out-of-scope" in _codes(caught.value)


class TestFailuresNeverFallBack:
    """A failed MX lookup is temporary and is never followed by A/AAAA questions."""

    @pytest.mark.parametrize(
        ("domain", "word"),
        [
            ("broken.mxtest", "SERVFAIL"),  # the zone file did not load
            ("refused.mxtest", "REFUSED"),  # allow-query { none; }
            ("loop1.mxtest", "SERVFAIL"),  # a CNAME loop: named answers SERVFAIL
        ],
    )
    def test_failed_mx_lookup_is_temporary_with_one_question(self, resolver, domain, word):
        recording = RecordingResolver(resolver)
        with pytest.raises(mxroute.TemporaryRouteError) as caught:
            _router(recording).resolve(f"dave@{domain}")
        assert recording.questions == [(domain, "MX")]
        assert word in str(caught.value)
        assert caught.value.reply_code == 451

    def test_name_outside_every_zone_is_refused_and_temporary(self, resolver):
        recording = RecordingResolver(resolver)
        with pytest.raises(mxroute.TemporaryRouteError):
            _router(recording).resolve("example.invalid")
        assert recording.questions == [("example.invalid", "MX")]

    def test_server_that_never_answers_times_out(self, silent: SilentServer):
        resolver = mxroute.DNSResolver(
            [silent.address], port=silent.port, timeout=0.2, lifetime=0.5
        )
        recording = RecordingResolver(resolver)
        with pytest.raises(mxroute.TemporaryRouteError) as caught:
            _router(recording).resolve("two-mx.mxtest")
        assert recording.questions == [("two-mx.mxtest", "MX")]
        assert caught.value.temporary is True

    @pytest.mark.asyncio
    async def test_async_timeout_is_temporary_too(self, silent: SilentServer):
        resolver = mxroute.DNSResolver(
            [silent.address], port=silent.port, timeout=0.2, lifetime=0.5
        )
        recording = RecordingResolver(resolver)
        with pytest.raises(mxroute.TemporaryRouteError):
            await _router(recording).resolve_async("two-mx.mxtest")
        assert recording.questions == [("two-mx.mxtest", "MX")]


class TestRoundTrips:
    def test_glue_from_the_additional_section_saves_the_address_questions(self, resolver):
        recording = RecordingResolver(resolver)
        result = _router(recording).resolve("two-mx.mxtest")
        assert recording.questions == [("two-mx.mxtest", "MX")]
        assert set(result.hosts[1].addresses) == {ip("192.0.2.2"), ip("2001:db8::2")}

    @pytest.mark.asyncio
    async def test_glue_is_used_by_the_async_driver_too(self, resolver):
        recording = RecordingResolver(resolver)
        await _router(recording).resolve_async("two-mx.mxtest")
        assert recording.questions == [("two-mx.mxtest", "MX")]

    def test_without_glue_one_mx_query_then_one_batch(self, bind_minimal: BindServer):
        resolver = mxroute.DNSResolver([bind_minimal.address], port=bind_minimal.port)
        recording = RecordingResolver(resolver)
        result = _router(recording).resolve("two-mx.mxtest")
        assert recording.batches[0] == [("two-mx.mxtest", "MX")]
        assert sorted(recording.batches[1]) == [
            ("mx1.two-mx.mxtest", "A"),
            ("mx1.two-mx.mxtest", "AAAA"),
            ("mx2.two-mx.mxtest", "A"),
            ("mx2.two-mx.mxtest", "AAAA"),
        ]
        assert len(recording.batches) == 2
        assert len(result.hosts) == 2

    def test_use_additional_false_asks_every_address(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, use_additional=False)
        recording = RecordingResolver(resolver)
        _router(recording).resolve("two-mx.mxtest")
        assert len(recording.batches) == 2
        assert len(recording.batches[1]) == 4

    def test_partial_glue_asks_only_what_is_missing(self, resolver):
        # mxa/mxb.equal-mx have A records only: named sends those as glue, and
        # the AAAA questions (which glue cannot answer negatively) are asked.
        recording = RecordingResolver(resolver)
        _router(recording).resolve("equal-mx.mxtest")
        assert recording.batches[0] == [("equal-mx.mxtest", "MX")]
        assert sorted(recording.batches[1]) == [
            ("mxa.equal-mx.mxtest", "AAAA"),
            ("mxb.equal-mx.mxtest", "AAAA"),
        ]


def _sync_or_async(router: mxroute.Router, target: str, mode: str) -> Callable[[], object]:
    if mode == "sync":
        return lambda: router.resolve(target)
    return lambda: asyncio.run(router.resolve_async(target))


@pytest.mark.parametrize("mode", ["sync", "async"])
class TestRouteDeadline:
    """``Router(deadline=...)`` over DNSResolver, against servers that never answer.

    Each question may wait 20 s (``timeout`` and ``lifetime``); the route may
    take half a second. Without the deadline each test would wait the 20 s
    (and the thread join would give up after 10).
    """

    def test_a_silent_server_fails_the_route_at_its_deadline(self, silent: SilentServer, mode):
        resolver = mxroute.DNSResolver([silent.address], port=silent.port, timeout=20, lifetime=20)
        router = mxroute.Router(resolver=resolver, deadline=0.5)
        error = finishes_within(_sync_or_async(router, "alice@two-mx.mxtest", mode), 10)
        assert isinstance(error, mxroute.TemporaryRouteError)
        assert "deadline of 0.5 s" in str(error)
        assert "MX two-mx.mxtest" in str(error)
        assert error.domain == "two-mx.mxtest"

    def test_a_server_silent_on_addresses_fails_the_route_in_its_second_batch(self, mode):
        def mx_only(query: dns.message.Message, tcp: bool) -> dns.message.Message | None:
            question = query.question[0]
            if question.rdtype != dns.rdatatype.MX:
                return None  # A and AAAA questions never get an answer
            response = dns.message.make_response(query)
            exchanges = ("10 mx1.slow.mxtest.", "20 mx2.slow.mxtest.")
            response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "MX", *exchanges))
            return response

        with ScriptedServer(mx_only) as server:
            resolver = mxroute.DNSResolver(
                [server.address], port=server.port, timeout=20, lifetime=20
            )
            recording = RecordingResolver(resolver)
            router = mxroute.Router(resolver=recording, deadline=0.5)
            error = finishes_within(_sync_or_async(router, "slow.mxtest", mode), 10)
        assert isinstance(error, mxroute.TemporaryRouteError)
        assert "deadline of 0.5 s" in str(error)
        assert "A mx1.slow.mxtest" in str(error)
        assert ("mx2.slow.mxtest", "AAAA") in recording.questions  # the second batch was asked
