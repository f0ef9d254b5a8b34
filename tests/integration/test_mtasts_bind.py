"""MTA-STS against real parts: TXT records from a real BIND 9, policies from a real HTTPS server.

``TestRecordsFromBind``: the cases RFC 8461 §3.1 distinguishes (one record,
a record split into several strings, several records, a malformed one,
none), with the policy from a fetcher of the test. ``TestEndToEnd``: BIND
for the DNS, :class:`~mxroute.HTTPSPolicyFetcher` against the HTTPS server of
``tests/policyserver.py`` (a trustme CA) for the policy. ``TestRoundTrips``
counts the sequential round trips at the latency proxy of ``benchmarks/``
(MTA-STS and DANE, on a signed zone behind a validating BIND).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import mxroute
from mxroute import MTASTSMode, RoutingPolicy, TLSLevel
from tests.bindserver import BindServer
from tests.doubles import finishes_within
from tests.policyserver import PolicyServer

pytestmark = pytest.mark.integration

ZONE = """\
$ORIGIN sts.mxtest.
$TTL 3600
@         SOA ns hostmaster 1 7200 900 1209600 300
@         NS  ns
ns        A   192.0.2.53
mx1       A   192.0.2.1
mx2       A   192.0.2.2
policy    A   192.0.2.80
; one record
one       MX  10 mx1
_mta-sts.one TXT "v=STSv1; id=20261202;"
mta-sts.one  A  192.0.2.80
; one record in two strings, beside an unrelated TXT record
split     MX  10 mx1
_mta-sts.split TXT "v=STSv1; " "id=split1;"
_mta-sts.split TXT "v=spf1 -all"
mta-sts.split  CNAME policy
; two records: no policy
two       MX  10 mx1
_mta-sts.two TXT "v=STSv1; id=1;"
_mta-sts.two TXT "v=STSv1; id=2;"
mta-sts.two  A  192.0.2.80
; malformed
bad       MX  10 mx1
_mta-sts.bad TXT "v=STSv1; id=has-dashes;"
mta-sts.bad  A  192.0.2.80
; none
none      MX  10 mx1
; a policy host on loopback: never contacted
loop      MX  10 mx1
_mta-sts.loop TXT "v=STSv1; id=1;"
mta-sts.loop A  127.0.0.1
"""


class Fetcher:
    """Serves one enforce policy for every domain, and records the fetches."""

    def __init__(self) -> None:
        self.fetches: list[tuple[str, tuple[Any, ...]]] = []

    def fetch_policy(
        self, domain: str, addresses: Sequence[Any], timeout: float
    ) -> mxroute.PolicyResponse:
        self.fetches.append((domain, tuple(addresses)))
        text = "version: STSv1\nmode: enforce\nmx: mx1.sts.mxtest\nmax_age: 600\n"
        return mxroute.PolicyResponse(text, None)

    async def fetch_policy_async(
        self, domain: str, addresses: Sequence[Any], timeout: float
    ) -> mxroute.PolicyResponse:
        return self.fetch_policy(domain, addresses, timeout)


@pytest.fixture(scope="module")
def sts_bind() -> Iterator[BindServer]:
    with BindServer({"sts.mxtest": ZONE}, minimal_responses=True) as server:
        yield server


@pytest.fixture
def resolver(sts_bind: BindServer) -> mxroute.DNSResolver:
    return mxroute.DNSResolver(["127.0.0.1"], port=sts_bind.port)


def route(resolver: mxroute.DNSResolver, name: str, fetcher: Fetcher) -> mxroute.MailRoute:
    router = mxroute.Router(resolver, RoutingPolicy(mta_sts=True), policy_fetcher=fetcher)
    return router.resolve(f"{name}.sts.mxtest")


def codes(route: mxroute.MailRoute) -> list[str]:
    return [f.code for f in route.findings]


class TestRecordsFromBind:
    def test_one_record_fetches_and_enforces(self, resolver):
        fetcher = Fetcher()
        r = route(resolver, "one", fetcher)
        assert r.mta_sts is not None
        assert r.mta_sts.id == "20261202"
        assert r.mta_sts.mode is MTASTSMode.ENFORCE
        assert r.hosts[0].tls.level is TLSLevel.MTA_STS
        assert [str(a) for a in fetcher.fetches[0][1]] == ["192.0.2.80"]

    def test_split_record_and_cname_policy_host(self, resolver):
        fetcher = Fetcher()
        r = route(resolver, "split", fetcher)
        assert r.mta_sts is not None
        assert r.mta_sts.id == "split1"
        assert [str(a) for a in fetcher.fetches[0][1]] == ["192.0.2.80"]

    def test_two_records_mean_no_policy(self, resolver):
        fetcher = Fetcher()
        r = route(resolver, "two", fetcher)
        assert r.mta_sts is None
        assert fetcher.fetches == []
        assert "mta-sts-record-multiple" in codes(r)

    def test_malformed_record_means_no_policy(self, resolver):
        fetcher = Fetcher()
        r = route(resolver, "bad", fetcher)
        assert r.mta_sts is None
        assert "mta-sts-record-invalid" in codes(r)

    def test_no_record_asks_no_fetch(self, resolver):
        fetcher = Fetcher()
        r = route(resolver, "none", fetcher)
        assert r.mta_sts is None
        assert fetcher.fetches == []

    def test_loopback_policy_host_is_never_contacted(self, resolver):
        fetcher = Fetcher()
        r = route(resolver, "loop", fetcher)
        assert fetcher.fetches == []
        assert "mta-sts-policy-unreachable" in codes(r)

    def test_async_alike(self, resolver):
        sync = route(resolver, "one", Fetcher())
        router = mxroute.Router(resolver, RoutingPolicy(mta_sts=True), policy_fetcher=Fetcher())
        assert asyncio.run(router.resolve_async("one.sts.mxtest")) == sync


class TestRoundTrips:
    def test_mta_sts_and_dane_add_no_sequential_round_trip(self):
        script = Path(__file__).resolve().parents[2] / "benchmarks" / "transport_rtt.py"
        done = subprocess.run(
            [sys.executable, str(script), "--smoke"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rows = re.findall(
            r"^\| ([A-Za-z][^|]*?) \| (\d+) \| (\d+) \| ([a-z, -]+) \|", done.stdout, re.M
        )
        assert [
            (name, int(trips), int(fetches), levels) for name, trips, fetches, levels in rows
        ] == [
            ("off", 2, 0, "opportunistic"),
            ("DANE", 2, 0, "dane"),
            ("MTA-STS, policy fetched", 2, 1, "mta-sts"),
            ("MTA-STS, policy cached", 2, 0, "mta-sts"),
            ("MTA-STS + DANE, policy fetched", 2, 1, "dane"),
            ("MTA-STS + DANE, policy cached", 2, 0, "dane"),
        ]


def _zone(domain: str) -> str:
    """A recipient domain of the policy server: MX, TXT and the policy host on loopback."""
    return f"""\
$ORIGIN {domain}.
$TTL 3600
@        SOA ns hostmaster 1 7200 900 1209600 300
@        NS  ns
ns       A   127.0.0.1
@        MX  10 mx
mx       A   127.0.0.1
_mta-sts TXT "v=STSv1; id=1;"
mta-sts  A   127.0.0.1
"""


SCENARIOS = ("valid", "missing", "redirect", "html", "oversize", "expired", "wrongname", "slow")


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[BindServer, PolicyServer]]:
    zones = {f"{name}.test": _zone(f"{name}.test") for name in SCENARIOS}
    with BindServer(zones, minimal_responses=True) as bind, PolicyServer() as https:
        yield bind, https


def _router(world: tuple[BindServer, PolicyServer], **options: Any) -> mxroute.Router:
    bind, https = world
    fetcher = mxroute.HTTPSPolicyFetcher(
        ssl_context=https.client_context(), port=https.port, address_scope="any"
    )
    return mxroute.Router(
        mxroute.DNSResolver(["127.0.0.1"], port=bind.port),
        RoutingPolicy(mta_sts=True, address_scope="any"),  # everything is on loopback here
        policy_fetcher=fetcher,
        **options,
    )


@pytest.fixture(params=["sync", "async"])
def door(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _resolve(router: mxroute.Router, door: str, domain: str) -> mxroute.MailRoute:
    def call() -> object:
        if door == "sync":
            return router.resolve(domain)
        return asyncio.run(router.resolve_async(domain))

    outcome = finishes_within(call, 30)
    assert isinstance(outcome, mxroute.MailRoute), outcome
    return outcome


class TestEndToEnd:
    def test_a_valid_policy_is_fetched_over_https_and_enforced(self, world, door):
        r = _resolve(_router(world), door, "valid.test")
        assert r.mta_sts is not None
        assert r.mta_sts.id == "1"
        assert r.mta_sts.mx == ("mx.valid.test",)
        assert r.hosts[0].tls.level is TLSLevel.MTA_STS
        assert r.hosts[0].tls.names == ("mx.valid.test",)

    def test_the_cache_spares_the_second_fetch(self, world):
        router = _router(world)
        router.resolve("valid.test")
        _, https = world
        before = https.connections
        assert router.resolve("valid.test").mta_sts is not None
        assert https.connections == before

    @pytest.mark.parametrize(
        ("name", "error"),
        [
            ("missing", "http-status"),
            ("redirect", "redirect"),
            ("html", "content-type"),
            ("oversize", "too-large"),
            ("expired", "tls"),
            ("wrongname", "tls"),
        ],
    )
    def test_a_failed_fetch_delivers_as_without_mta_sts(self, world, door, name, error):
        r = _resolve(_router(world), door, f"{name}.test")
        assert r.mta_sts is None
        assert r.hosts[0].tls.level is TLSLevel.OPPORTUNISTIC
        (finding,) = [f for f in r.findings if f.code == "mta-sts-policy-unreachable"]
        assert error in finding.message

    def test_a_slow_server_is_cut_by_the_route_deadline(self, world, door):
        r = _resolve(_router(world, deadline=1.5), door, "slow.test")
        (finding,) = [f for f in r.findings if f.code == "mta-sts-policy-unreachable"]
        assert "timeout" in finding.message
        assert r.mta_sts is None
