"""MTA-STS in routing (RFC 8461): the planner's questions, the cache, the application.

Over the in-memory resolver and a fake policy fetcher. ``TestRoundTrips``
drives the planner by hand and counts its batches.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import pickle
import random
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxroute
from mxroute import (
    InMemoryResolver,
    MemoryPolicyCache,
    MTASTSMode,
    MTASTSPolicy,
    PolicyAnswer,
    PolicyRequest,
    Question,
    RouteKind,
    Router,
    RoutingPolicy,
    SQLitePolicyCache,
    TemporaryRouteError,
    TLSLevel,
)
from mxroute._router import run_plan
from mxroute.testing import FakePolicyFetcher
from tests.doubles import FakeClock, finishes_within

ENFORCE = (
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.backup.example.com\nmax_age: 86400\n"
)
TESTING = ENFORCE.replace("enforce", "testing")
NONE = "version: STSv1\nmode: none\nmax_age: 86400\n"
POLICY_HOST = ipaddress.ip_address("192.0.2.80")


def publish_dns(
    fake: InMemoryResolver,
    record: str | None = "v=STSv1; id=20261202;",
    mx: Sequence[str] = ("10 mx1.example.com.", "20 mx2.backup.example.com."),
    policy_host: Sequence[str] = (str(POLICY_HOST),),
) -> None:
    fake.add("example.com", "MX", *mx)
    fake.add("mx1.example.com", "A", "192.0.2.1")
    fake.add("mx2.backup.example.com", "A", "192.0.2.2")
    if policy_host:
        fake.add("mta-sts.example.com", "A", *policy_host)
    if record is not None:
        fake.add("_mta-sts.example.com", "TXT", f'"{record}"')


def router(fake: InMemoryResolver, fetcher: Any, **options: Any) -> Router:
    return Router(
        resolver=fake,
        policy=RoutingPolicy(mta_sts=True),
        rng=random.Random(1),
        policy_fetcher=fetcher,
        **options,
    )


def codes(findings: Sequence[mxroute.Finding]) -> list[str]:
    return [f.code for f in findings]


@pytest.fixture
def fetcher(fake_policies: FakePolicyFetcher) -> FakePolicyFetcher:
    """The shipped ``fake_policies`` fixture, by a short name."""
    return fake_policies


@pytest.fixture
def sts(fake: InMemoryResolver, fetcher: FakePolicyFetcher) -> InMemoryResolver:
    publish_dns(fake)
    fetcher.publish("example.com", ENFORCE)
    return fake


class TestOff:
    def test_mta_sts_off_asks_nothing_more(self, sts, fetcher):
        route = Router(resolver=sts, rng=random.Random(1), policy_fetcher=fetcher).resolve(
            "example.com"
        )
        assert not any("mta-sts" in name for name, _ in sts.queries)
        assert fetcher.fetches == []
        assert route.mta_sts is None
        assert {h.tls.level for h in route.hosts} == {TLSLevel.OPPORTUNISTIC}


class TestEnforce:
    def test_covered_hosts_get_mta_sts_with_their_name(self, sts, fetcher):
        route = router(sts, fetcher).resolve("alice@example.com")
        assert [h.name for h in route.hosts] == ["mx1.example.com", "mx2.backup.example.com"]
        for host in route.hosts:
            assert host.tls.level is TLSLevel.MTA_STS
            assert host.tls.names == (host.name,)
            assert host.tls.reason == "mta-sts-enforce"
        assert route.mta_sts == MTASTSPolicy.parse(ENFORCE, id="20261202")
        assert "mta-sts-enforce" in codes(route.findings)
        assert route.to_dict()["mta_sts"]["mode"] == "enforce"

    def test_the_fetch_goes_to_the_policy_host_addresses_only(self, sts, fetcher):
        router(sts, fetcher).resolve("example.com")
        assert fetcher.fetches == [("example.com", (POLICY_HOST,))]

    def test_uncovered_host_is_dropped_with_a_finding(self, fake, fetcher):
        publish_dns(fake, mx=("10 mx1.example.com.", "20 mx3.elsewhere.example."))
        fake.add("mx3.elsewhere.example", "A", "192.0.2.3")
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert [h.name for h in route.hosts] == ["mx1.example.com"]
        (finding,) = [f for f in route.findings if f.code == "mta-sts-mx-not-covered"]
        assert finding.subject == "mx3.elsewhere.example"
        assert "dropped" in finding.message

    def test_wildcard_covers_one_label_only(self, fake, fetcher):
        publish_dns(fake, mx=("10 a.b.backup.example.com.", "20 mx1.example.com."))
        fake.add("a.b.backup.example.com", "A", "192.0.2.9")
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert [h.name for h in route.hosts] == ["mx1.example.com"]

    def test_no_host_covered_refetches_once_then_fails_temporarily(self, sts, fetcher):
        fetcher.publish("example.com", ENFORCE.replace("mx1.example.com", "other.example.org")
                        .replace("*.backup.example.com", "mx.example.org"))  # fmt: skip
        with pytest.raises(TemporaryRouteError) as caught:
            router(sts, fetcher).resolve("example.com")
        assert len(fetcher.fetches) == 2  # the fetch, and the one refetch (§5.1)
        assert "even after fetching the policy again" in str(caught.value)
        assert "mta-sts-mx-not-covered" in codes(caught.value.findings)
        assert caught.value.reply_code == 451

    def test_refetch_bypasses_a_fresh_cache_and_can_save_the_route(self, sts, fetcher):
        cache = MemoryPolicyCache()
        stale = ENFORCE.replace("mx1.example.com", "old.example.org").replace(
            "*.backup.example.com", "old2.example.org"
        )
        cache.put("example.com", MTASTSPolicy.parse(stale, id="20261202"))
        route = router(sts, fetcher, policy_cache=cache).resolve("example.com")
        assert len(fetcher.fetches) == 1  # the cache was fresh: only the refetch
        assert [h.tls.level for h in route.hosts] == [TLSLevel.MTA_STS] * 2
        assert cache.get("example.com") == MTASTSPolicy.parse(ENFORCE, id="20261202")
        assert "mta-sts-mx-not-covered" not in codes(route.findings)  # the stale policy's
        assert codes(route.findings).count("mta-sts-enforce") == 1

    def test_failed_refetch_keeps_the_cached_policy_and_fails(self, fake, fetcher):
        publish_dns(fake, record=None)  # the policy comes from the cache alone
        cache = MemoryPolicyCache()
        stale = ENFORCE.replace("mx1.example.com", "old.example.org").replace(
            "*.backup.example.com", "old2.example.org"
        )
        cache.put("example.com", MTASTSPolicy.parse(stale, id="1"))
        fetcher.fault("example.com", "timeout")
        with pytest.raises(TemporaryRouteError) as caught:
            router(fake, fetcher, policy_cache=cache).resolve("example.com")
        assert len(fetcher.fetches) == 1
        assert "mta-sts-id-mismatch" not in codes(caught.value.findings)
        assert codes(caught.value.findings).count("mta-sts-mx-not-covered") == 2

    def test_dane_hosts_keep_dane_and_are_never_dropped(self):
        from mxroute._mtasts import PolicyLookup

        dane = mxroute.TLSRequirement(TLSLevel.DANE, names=("mx9.example.net",), reason="dane")
        hosts = [
            mxroute.MailHost("mx9.example.net", 10, (ipaddress.ip_address("192.0.2.9"),), tls=dane),
            mxroute.MailHost("mx1.example.com", 20, (ipaddress.ip_address("192.0.2.1"),)),
        ]
        lookup = PolicyLookup.start("example.com", RoutingPolicy(mta_sts=True))
        lookup.request = PolicyRequest("example.com", "1", (POLICY_HOST,))
        lookup.answer = PolicyAnswer("example.com", MTASTSPolicy.parse(ENFORCE, id="1"))
        notes = _Notes()
        plan = lookup.apply(hosts, notes)
        with pytest.raises(StopIteration) as done:
            next(plan)
        kept, used = done.value.value
        assert [h.tls.level for h in kept] == [TLSLevel.DANE, TLSLevel.MTA_STS]
        assert used is not None
        assert used.mode is MTASTSMode.ENFORCE


class _Notes:
    def __init__(self) -> None:
        self.findings: list[mxroute.Finding] = []

    def add(self, finding: mxroute.Finding) -> None:
        self.findings.append(finding)


class TestTestingAndNone:
    def test_testing_drops_nothing_and_reports(self, fake, fetcher):
        publish_dns(fake, mx=("10 mx1.example.com.", "20 mx3.elsewhere.example."))
        fake.add("mx3.elsewhere.example", "A", "192.0.2.3")
        fetcher.publish("example.com", TESTING)
        route = router(fake, fetcher).resolve("example.com")
        assert [h.name for h in route.hosts] == ["mx1.example.com", "mx3.elsewhere.example"]
        assert {h.tls.level for h in route.hosts} == {TLSLevel.MTA_STS_TESTING}
        assert "mta-sts-testing" in codes(route.findings)
        (finding,) = [f for f in route.findings if f.code == "mta-sts-mx-not-covered"]
        assert "reported only" in finding.message
        assert route.mta_sts is not None
        assert route.mta_sts.mode is MTASTSMode.TESTING

    def test_mode_none_is_as_no_policy(self, sts, fetcher):
        fetcher.publish("example.com", NONE)
        route = router(sts, fetcher).resolve("example.com")
        assert {h.tls.level for h in route.hosts} == {TLSLevel.OPPORTUNISTIC}
        assert route.mta_sts is None
        assert "mta-sts-mode-none" in codes(route.findings)


class TestRecord:
    def test_no_record_means_no_fetch_and_no_policy(self, fake, fetcher):
        publish_dns(fake, record=None)
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert fetcher.fetches == []
        assert route.mta_sts is None
        assert not [c for c in codes(route.findings) if c.startswith("mta-sts")]

    def test_other_txt_records_are_discarded(self, fake, fetcher):
        publish_dns(fake, record=None)
        fake.add("_mta-sts.example.com", "TXT", '"v=spf1 -all"', '"v=STSv1; id=7;"')
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert route.mta_sts is not None
        assert route.mta_sts.id == "7"

    def test_record_split_in_strings_is_joined(self, fake, fetcher):
        publish_dns(fake, record=None)
        fake.add("_mta-sts.example.com", "TXT", '"v=STSv1; " "id=abc;"')
        fetcher.publish("example.com", ENFORCE)
        assert router(fake, fetcher).resolve("example.com").mta_sts.id == "abc"

    def test_several_records_mean_no_policy(self, fake, fetcher):
        publish_dns(fake, record=None)
        fake.add("_mta-sts.example.com", "TXT", '"v=STSv1; id=1;"', '"v=STSv1; id=2;"')
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert route.mta_sts is None
        assert fetcher.fetches == []
        assert "mta-sts-record-multiple" in codes(route.findings)

    def test_invalid_record_means_no_policy(self, fake, fetcher):
        publish_dns(fake, record="v=STSv1; id=no-dashes-allowed;")
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert route.mta_sts is None
        assert fetcher.fetches == []
        assert "mta-sts-record-invalid" in codes(route.findings)

    def test_failed_record_lookup_is_noted(self, sts, fetcher):
        sts.fail("_mta-sts.example.com", "TXT")
        route = router(sts, fetcher).resolve("example.com")
        assert route.mta_sts is None
        assert fetcher.fetches == []
        assert "mta-sts-lookup-failed" in codes(route.findings)

    def test_policy_host_out_of_scope_is_never_contacted(self, fake, fetcher):
        publish_dns(fake, policy_host=("127.0.0.1", "192.0.2.81"))
        fake.add("mta-sts.example.com", "AAAA", "::1")
        fetcher.publish("example.com", ENFORCE)
        router(fake, fetcher).resolve("example.com")
        assert fetcher.fetches == [("example.com", (ipaddress.ip_address("192.0.2.81"),))]

    def test_policy_host_without_address_is_unreachable(self, fake, fetcher):
        publish_dns(fake, policy_host=("127.0.0.1",))
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert fetcher.fetches == []
        (finding,) = [f for f in route.findings if f.code == "mta-sts-policy-unreachable"]
        assert "no-address" in finding.message
        assert route.mta_sts is None


class TestFetchFailures:
    @pytest.mark.parametrize(
        ("fault", "error"),
        [
            ("404", "http-status"),
            ("redirect", "redirect"),
            ("content-type", "content-type"),
            ("oversize", "too-large"),
            ("timeout", "timeout"),
            ("bad-certificate", "tls"),
            ("slow-drip", "timeout"),
        ],
    )
    def test_no_cache_and_a_failed_fetch_deliver_as_without_mta_sts(
        self, sts, fetcher, fault, error
    ):
        fetcher.fault("example.com", fault)
        route = router(sts, fetcher).resolve("example.com")
        assert route.mta_sts is None
        assert {h.tls.level for h in route.hosts} == {TLSLevel.OPPORTUNISTIC}
        (finding,) = [f for f in route.findings if f.code == "mta-sts-policy-unreachable"]
        assert error in finding.message

    def test_invalid_policy_is_its_own_finding(self, sts, fetcher):
        fetcher.publish("example.com", "version: STSv1\nmode: enforce\n")
        route = router(sts, fetcher).resolve("example.com")
        assert route.mta_sts is None
        assert "mta-sts-policy-invalid" in codes(route.findings)

    def test_failed_fetch_keeps_the_cached_policy_with_id_mismatch(self, sts, fetcher):
        cache = MemoryPolicyCache()
        cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="old"))
        fetcher.fault("example.com", "timeout")
        route = router(sts, fetcher, policy_cache=cache).resolve("example.com")
        assert route.mta_sts is not None
        assert route.mta_sts.id == "old"
        assert {h.tls.level for h in route.hosts} == {TLSLevel.MTA_STS}
        assert "mta-sts-id-mismatch" in codes(route.findings)

    def test_failed_txt_lookup_keeps_the_cached_policy(self, sts, fetcher):
        cache = MemoryPolicyCache()
        cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="20261202"))
        sts.fail("_mta-sts.example.com", "TXT", "timeout")
        route = router(sts, fetcher, policy_cache=cache).resolve("example.com")
        assert fetcher.fetches == []
        assert route.mta_sts is not None
        assert route.mta_sts.mode is MTASTSMode.ENFORCE
        assert "mta-sts-lookup-failed" in codes(route.findings)

    def test_removed_txt_record_keeps_the_cached_policy(self, fake, fetcher):
        publish_dns(fake, record=None)
        cache = MemoryPolicyCache()
        cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="1"))
        route = router(fake, fetcher, policy_cache=cache).resolve("example.com")
        assert route.mta_sts is not None
        assert fetcher.fetches == []


class TestCache:
    def test_fresh_cached_policy_with_the_same_id_costs_no_fetch(self, sts, fetcher):
        r = router(sts, fetcher)
        first, second = r.resolve("example.com"), r.resolve("example.com")
        assert len(fetcher.fetches) == 1
        assert first.mta_sts == second.mta_sts

    def test_new_txt_id_fetches_again(self, sts, fetcher):
        r = router(sts, fetcher)
        r.resolve("example.com")
        r.resolver = InMemoryResolver()
        publish_dns(r.resolver, record="v=STSv1; id=20261203;")
        fetcher.publish("example.com", TESTING)
        route = r.resolve("example.com")
        assert len(fetcher.fetches) == 2
        assert route.mta_sts.id == "20261203"
        assert route.mta_sts.mode is MTASTSMode.TESTING

    def test_policy_expires_after_max_age(self, sts, fetcher):
        clock = FakeClock(1_000_000.0)
        r = router(sts, fetcher, policy_cache=MemoryPolicyCache(clock=clock))
        r.resolve("example.com")
        clock.advance(86399)
        r.resolve("example.com")
        assert len(fetcher.fetches) == 1
        clock.advance(1)
        fetcher.fault("example.com", "timeout")
        route = r.resolve("example.com")
        assert len(fetcher.fetches) == 2
        assert route.mta_sts is None  # expired: not kept on a failed fetch

    def test_memory_cache_is_bounded(self):
        cache = MemoryPolicyCache(max_entries=2)
        policy = MTASTSPolicy.parse(ENFORCE, id="1")
        for domain in ("a.example", "b.example", "c.example"):
            cache.put(domain, policy)
        assert len(cache) == 2
        assert cache.get("a.example") is None
        assert cache.get("c.example") == policy

    def test_bad_size_is_invalid_input(self):
        with pytest.raises(mxroute.InvalidInput):
            MemoryPolicyCache(max_entries=0)

    def test_memory_cache_pickles(self):
        cache = MemoryPolicyCache()
        cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="1"))
        assert pickle.loads(pickle.dumps(cache)).get("example.com") == cache.get("example.com")


class TestSQLiteCache:
    def test_survives_a_restart(self, tmp_path):
        path = tmp_path / "sts.sqlite"
        policy = MTASTSPolicy.parse(TESTING, id="abc")
        SQLitePolicyCache(path).put("example.com", policy)
        assert SQLitePolicyCache(path).get("example.com") == policy

    def test_expires(self, tmp_path):
        clock = FakeClock(5_000_000.0)
        cache = SQLitePolicyCache(tmp_path / "sts.sqlite", clock=clock)
        cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="1"))
        clock.advance(86400)
        assert cache.get("example.com") is None

    def test_is_bounded(self, tmp_path):
        clock = FakeClock(5_000_000.0)
        cache = SQLitePolicyCache(tmp_path / "sts.sqlite", max_entries=3, clock=clock)
        for n in range(5):
            clock.advance(1)
            cache.put(f"d{n}.example", MTASTSPolicy.parse(ENFORCE, id=str(n)))
        assert len(cache) == 3
        assert cache.get("d0.example") is None
        assert cache.get("d4.example") is not None

    def test_is_thread_safe(self, tmp_path):
        cache = SQLitePolicyCache(tmp_path / "sts.sqlite")
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(20):
                    policy = MTASTSPolicy.parse(ENFORCE, id=f"{n}x{i}")
                    cache.put(f"d{n}.example", policy)
                    got = cache.get(f"d{n}.example")
                    assert got is not None
                    assert got.id.startswith(f"{n}x")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(cache) == 4

    def test_a_file_that_is_no_database_is_refused(self, tmp_path):
        path = tmp_path / "not.sqlite"
        path.write_bytes(b"this is not a database" * 100)
        with pytest.raises(mxroute.MXRouteError, match="policy cache"):
            SQLitePolicyCache(path)

    def test_a_file_broken_while_in_use_is_a_miss_not_an_error(self, tmp_path):
        path = tmp_path / "sts.sqlite"
        cache = SQLitePolicyCache(path)
        cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="1"))
        path.write_bytes(b"overwritten by something else" * 100)
        assert cache.get("example.com") is None
        cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="2"))  # does not raise

    def test_routes_through_it(self, sts, fetcher, tmp_path):
        path = tmp_path / "sts.sqlite"
        router(sts, fetcher, policy_cache=SQLitePolicyCache(path)).resolve("example.com")
        route = router(sts, fetcher, policy_cache=SQLitePolicyCache(path)).resolve("example.com")
        assert len(fetcher.fetches) == 1
        assert route.mta_sts is not None


class TestRoundTrips:
    """Batch 1: MX + _mta-sts TXT + mta-sts A/AAAA; batch 2: hosts' A/AAAA + the request."""

    def drive(self, fake, **policy):
        plan = mxroute.plan_route("example.com", RoutingPolicy(**policy), random.Random(1))
        batches = []
        answers: list[Any] = []
        try:
            while True:
                batch = plan.send(answers) if batches else next(plan)
                batches.append(batch)
                answers = [
                    PolicyAnswer(item.domain, MTASTSPolicy.parse(ENFORCE, id=item.record_id))
                    if isinstance(item, PolicyRequest)
                    else fake.query(*item)
                    for item in batch
                ]
        except StopIteration as done:
            return batches, done.value

    def test_two_batches_with_and_without_mta_sts(self, sts):
        without, _ = self.drive(sts)
        with_sts, route = self.drive(sts, mta_sts=True)
        assert len(without) == len(with_sts) == 2
        assert with_sts[0] == (
            Question("example.com", "MX"),
            Question("_mta-sts.example.com", "TXT"),
            *(Question("mta-sts.example.com", f.rdtype) for f in RoutingPolicy().address_families),
        )
        assert with_sts[1][:-1] == without[1]
        assert with_sts[1][-1] == PolicyRequest("example.com", "20261202", (POLICY_HOST,))
        assert route.mta_sts is not None

    def test_with_glue_the_request_is_batch_two_alone(self):
        glue = tuple(
            mxroute.Answer(
                "mx1.example.com", rdtype, mxroute.AnswerStatus.RECORDS, (ipaddress.ip_address(a),)
            )
            for rdtype, a in (("A", "192.0.2.1"), ("AAAA", "2001:db8::1"))
        )
        mx = mxroute.Answer(
            "example.com",
            "MX",
            mxroute.AnswerStatus.RECORDS,
            (mxroute.MXRecord(10, "mx1.example.com"),),
            additional=glue,
        )
        plan = mxroute.plan_route("example.com", RoutingPolicy(mta_sts=True))
        first = next(plan)
        rest = [mxroute.Answer(q.name, q.rdtype, mxroute.AnswerStatus.NODATA) for q in first[1:]]
        second = plan.send([mx, *rest])
        assert second == (PolicyRequest("example.com", None, ()),)
        with pytest.raises(StopIteration) as done:
            plan.send([PolicyAnswer("example.com", None)])
        assert done.value.value.mta_sts is None

    def test_relay_routes_ask_no_mta_sts(self, sts, fetcher):
        r = Router(
            resolver=sts,
            policy=RoutingPolicy(mta_sts=True, relayhost="mx1.example.com"),
            policy_fetcher=fetcher,
        )
        route = r.resolve("example.com")
        assert route.kind is RouteKind.RELAY
        assert route.mta_sts is None
        assert not any("mta-sts" in name for name, _ in sts.queries)

    def test_literal_routes_ask_no_mta_sts(self, fake, fetcher):
        route = router(fake, fetcher).resolve("[192.0.2.1]")
        assert route.mta_sts is None
        assert fake.queries == []

    def test_implicit_mx_applies_the_policy_to_the_domain_host(self, fake, fetcher):
        fake.add("example.com", "A", "192.0.2.5")
        fake.add("mta-sts.example.com", "A", str(POLICY_HOST))
        fake.add("_mta-sts.example.com", "TXT", '"v=STSv1; id=1;"')
        fetcher.publish("example.com", ENFORCE.replace("mx1.example.com", "example.com"))
        route = router(fake, fetcher).resolve("example.com")
        assert route.kind is RouteKind.IMPLICIT_MX
        assert route.hosts[0].tls.level is TLSLevel.MTA_STS

    def test_driver_sending_wrong_answers_is_a_type_error(self, sts):
        plan = mxroute.plan_route("example.com", RoutingPolicy(mta_sts=True))
        batch = next(plan)
        second = plan.send([sts.query(*q) for q in batch])
        with pytest.raises(TypeError, match="PolicyAnswer"):
            plan.send([sts.query(*q) if isinstance(q, Question) else None for q in second])


class TestDrivers:
    def test_async_routes_alike(self, sts, fetcher):
        sync = router(sts, fetcher).resolve("example.com")
        asynchronous = asyncio.run(router(sts, fetcher).resolve_async("example.com"))
        assert sync == asynchronous

    def test_async_uses_a_sync_only_fetcher_in_a_thread(self, sts, fetcher):
        class SyncOnly:
            fetch_policy = fetcher.fetch_policy

        route = asyncio.run(router(sts, SyncOnly()).resolve_async("example.com"))
        assert route.mta_sts is not None
        assert len(fetcher.fetches) == 1

    def test_sync_refuses_an_async_only_fetcher(self, sts, fetcher):
        class AsyncOnly:
            fetch_policy_async = fetcher.fetch_policy_async

        with pytest.raises(TypeError, match="fetch_policy"):
            router(sts, AsyncOnly()).resolve("example.com")

    @pytest.mark.parametrize("mode", ["sync", "async"])
    def test_the_fetch_overlaps_the_address_batch(self, sts, mode):
        """Each side waits for the other to have started: only concurrency finishes both."""
        fetch_started, dns_asked = threading.Event(), threading.Event()
        saw: list[str] = []

        class Meeting:
            def fetch_policy(self, domain, addresses, timeout):
                fetch_started.set()
                saw.append("dns" if dns_asked.wait(5) else "alone")
                return mxroute.PolicyResponse(ENFORCE, None)

        class Resolver:
            def query(self, name, rdtype):
                if (name, rdtype) == ("mx1.example.com", "A"):
                    dns_asked.set()
                    saw.append("fetch" if fetch_started.wait(5) else "alone")
                return sts.query(name, rdtype)

        r = router(Resolver(), None)
        r.policies.fetcher = SyncFetcher(Meeting()) if mode == "async" else Meeting()
        if mode == "sync":
            route = finishes_within(lambda: r.resolve("example.com"))
        else:
            route = finishes_within(lambda: asyncio.run(r.resolve_async("example.com")))
        assert sorted(saw) == ["dns", "fetch"]
        assert route.mta_sts is not None

    @pytest.mark.parametrize("mode", ["sync", "async", "async-only"])
    def test_deadline_bounds_a_fetch_that_ignores_its_timeout(self, sts, mode):
        """The fetch ends by the deadline and the route goes on without the policy."""
        release = threading.Event()

        class Stuck:
            def fetch_policy(self, domain, addresses, timeout):
                release.wait(30)
                return mxroute.PolicyResponse(ENFORCE, None)

        class StuckAsync:
            async def fetch_policy_async(self, domain, addresses, timeout):
                await asyncio.sleep(30)
                return mxroute.PolicyResponse(ENFORCE, None)

        fetcher = StuckAsync() if mode == "async-only" else Stuck()
        r = router(sts, fetcher, deadline=0.5)
        try:
            if mode == "sync":
                outcome = finishes_within(lambda: r.resolve("example.com"), 10)
            else:
                outcome = finishes_within(lambda: asyncio.run(r.resolve_async("example.com")), 10)
        finally:
            release.set()
        assert isinstance(outcome, mxroute.MailRoute), outcome
        (finding,) = [f for f in outcome.findings if f.code == "mta-sts-policy-unreachable"]
        assert "timeout" in finding.message
        assert outcome.mta_sts is None

    def test_default_fetcher_is_https_in_the_policy_scope(self):
        r = Router(InMemoryResolver(), RoutingPolicy(mta_sts=True, address_scope="global"))
        made = r.policies.the_fetcher()
        assert isinstance(made, mxroute.HTTPSPolicyFetcher)
        assert made.address_scope is mxroute.AddressScope.GLOBAL
        assert r.policies.the_fetcher() is made

    def test_router_with_a_made_fetcher_pickles_without_it(self):
        r = Router(InMemoryResolver(), RoutingPolicy(mta_sts=True))
        r.policies.the_fetcher()
        copy = pickle.loads(pickle.dumps(r))
        assert copy.policies.fetcher is None
        assert isinstance(copy.policies.the_fetcher(), mxroute.HTTPSPolicyFetcher)

    def test_router_pickles_with_its_cache(self, sts, fetcher):
        r = router(sts, fetcher)
        r.resolve("example.com")
        copy = pickle.loads(pickle.dumps(r))
        assert copy.policies.cache.get("example.com") == r.policies.cache.get("example.com")

    def test_resolve_passes_fetcher_and_cache_on(self, sts, fetcher):
        cache = MemoryPolicyCache()
        policy = RoutingPolicy(mta_sts=True)
        mxroute.resolve("example.com", resolver=sts, policy=policy, policy_fetcher=fetcher,
                        policy_cache=cache)  # fmt: skip
        mxroute.resolve("example.com", resolver=sts, policy=policy, policy_fetcher=fetcher,
                        policy_cache=cache)  # fmt: skip
        assert len(fetcher.fetches) == 1

    def test_resolve_many_shares_the_fetcher_and_cache(self, sts, fetcher):
        results = list(router(sts, fetcher).resolve_many_sync(["example.com"] * 3, concurrency=1))
        assert all(r.mta_sts is not None for _, r in results)
        assert len(fetcher.fetches) == 1

    def test_run_plan_without_a_service_makes_one(self, sts, fetcher):
        plan = mxroute.plan_route("example.com", RoutingPolicy(mta_sts=True))
        from mxroute._mtasts import PolicyService

        route = run_plan(plan, sts, policies=PolicyService(fetcher=fetcher))
        assert route.mta_sts is not None


class SyncFetcher:
    """Only ``fetch_policy`` of the wrapped fetcher (the async driver runs it in a thread)."""

    def __init__(self, inner: Any) -> None:
        self.fetch_policy = inner.fetch_policy


class TestHostileInput:
    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=300))
    def test_any_policy_text_routes_or_notes(self, text):
        fake = InMemoryResolver()
        publish_dns(fake)
        fetcher = FakePolicyFetcher()
        fetcher.publish("example.com", text)
        outcome = finishes_within(lambda: router(fake, fetcher).resolve("example.com"))
        if isinstance(outcome, TemporaryRouteError):  # a valid enforce policy covering no host
            assert "mta-sts-mx-not-covered" in codes(outcome.findings)
        else:
            assert isinstance(outcome, mxroute.MailRoute)
            assert outcome.hosts

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.text(max_size=80), min_size=1, max_size=3))
    def test_any_txt_record_routes_or_notes(self, records):
        fake = InMemoryResolver()
        publish_dns(fake, record=None)
        quoted = ['"' + r.replace("\\", "\\\\").replace('"', '\\"') + '"' for r in records]
        try:
            fake.add("_mta-sts.example.com", "TXT", *quoted)
        except mxroute.InvalidInput:
            return  # the fake refuses it: not a TXT record a server could send
        fetcher = FakePolicyFetcher()
        fetcher.publish("example.com", ENFORCE)
        route = router(fake, fetcher).resolve("example.com")
        assert route.hosts


def _audit_setup(record: str | None = "v=STSv1; id=1;", policy: str | None = ENFORCE, **kw: Any):
    def setup(fake: InMemoryResolver, fetcher: FakePolicyFetcher, cache: MemoryPolicyCache) -> None:
        publish_dns(fake, record=record, **kw)
        if policy is not None:
            fetcher.publish("example.com", policy)

    return setup


def _failing_txt(
    fake: InMemoryResolver, fetcher: FakePolicyFetcher, cache: MemoryPolicyCache
) -> None:
    publish_dns(fake)
    fake.fail("_mta-sts.example.com", "TXT")


def _new_id_unreachable(
    fake: InMemoryResolver, fetcher: FakePolicyFetcher, cache: MemoryPolicyCache
) -> None:
    publish_dns(fake, record="v=STSv1; id=2;")
    cache.put("example.com", MTASTSPolicy.parse(ENFORCE, id="1"))
    fetcher.fault("example.com", "bad-certificate")


def _two_records(
    fake: InMemoryResolver, fetcher: FakePolicyFetcher, cache: MemoryPolicyCache
) -> None:
    publish_dns(fake, record=None)
    fake.add("_mta-sts.example.com", "TXT", '"v=STSv1; id=1;"', '"v=STSv1; id=2;"')


AUDIT_SCENARIOS = {
    "mta-sts-record-invalid": _audit_setup(record="v=STSv1; id=not_valid;"),
    "mta-sts-record-multiple": _two_records,
    "mta-sts-lookup-failed": _failing_txt,
    "mta-sts-policy-unreachable": _audit_setup(policy=None),
    "mta-sts-policy-invalid": _audit_setup(policy="version: STSv1\nmode: enforce\n"),
    "mta-sts-id-mismatch": _new_id_unreachable,
    "mta-sts-mx-not-covered": _audit_setup(
        mx=("10 mx1.example.com.", "20 mx2.backup.example.com.", "30 gone.example.net.")
    ),
    "mta-sts-enforce": _audit_setup(),
    "mta-sts-testing": _audit_setup(policy=TESTING),
    "mta-sts-mode-none": _audit_setup(policy=NONE),
    "mta-sts-absent": _audit_setup(record=None),
}
"""How to make the audit report each MTA-STS code (tests/test_audit.py checks the catalogue)."""


class TestAudit:
    @pytest.mark.parametrize("code", sorted(AUDIT_SCENARIOS))
    def test_the_audit_reports(self, code):
        fake, fetcher, cache = InMemoryResolver(), FakePolicyFetcher(), MemoryPolicyCache()
        AUDIT_SCENARIOS[code](fake, fetcher, cache)
        report = mxroute.audit(
            "example.com",
            fake,
            RoutingPolicy(mta_sts=True),
            policy_fetcher=fetcher,
            policy_cache=cache,
        )
        assert sum(f.code == code for f in report.findings) == 1, codes(report.findings)

    def test_unused_mx_hosts_are_checked_against_the_policy(self):
        fake, fetcher, cache = InMemoryResolver(), FakePolicyFetcher(), MemoryPolicyCache()
        AUDIT_SCENARIOS["mta-sts-mx-not-covered"](fake, fetcher, cache)
        report = mxroute.audit(
            "example.com", fake, RoutingPolicy(mta_sts=True), policy_fetcher=fetcher
        )
        (finding,) = [f for f in report.findings if f.code == "mta-sts-mx-not-covered"]
        assert finding.subject == "gone.example.net"
        assert finding.fix

    def test_audit_async_alike(self):
        fake, fetcher, cache = InMemoryResolver(), FakePolicyFetcher(), MemoryPolicyCache()
        AUDIT_SCENARIOS["mta-sts-testing"](fake, fetcher, cache)
        policy = RoutingPolicy(mta_sts=True)
        sync = mxroute.audit("example.com", fake, policy, policy_fetcher=fetcher)
        report = asyncio.run(
            mxroute.audit_async("example.com", fake, policy, policy_fetcher=fetcher)
        )
        assert codes(report.findings) == codes(sync.findings)

    def test_without_mta_sts_the_audit_says_nothing_of_it(self):
        fake, fetcher, cache = InMemoryResolver(), FakePolicyFetcher(), MemoryPolicyCache()
        AUDIT_SCENARIOS["mta-sts-absent"](fake, fetcher, cache)
        report = mxroute.audit("example.com", fake, policy_fetcher=fetcher)
        assert not [c for c in codes(report.findings) if c.startswith("mta-sts")]


class TestCommandLine:
    """``--mta-sts`` and ``--policy-cache``; a cached policy keeps the tests off HTTPS."""

    def cached(self, tmp_path):
        path = tmp_path / "sts.sqlite"
        SQLitePolicyCache(path).put("example.com", MTASTSPolicy.parse(ENFORCE, id="20261202"))
        return path

    def test_route_applies_the_cached_policy(self, sts, tmp_path, capsys):
        from mxroute.cli import main

        path = self.cached(tmp_path)
        argv = ["route", "--json", "--mta-sts", "--policy-cache", str(path), "example.com"]
        assert main(argv, resolver=sts) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["route"]["mta_sts"]["id"] == "20261202"
        assert {h["tls"]["level"] for h in data["route"]["hosts"]} == {"mta-sts"}

    def test_route_prints_each_host_level(self, sts, tmp_path, capsys):
        from mxroute.cli import main

        path = self.cached(tmp_path)
        assert main(["route", "--mta-sts", "--policy-cache", str(path), "example.com"], sts) == 0
        hosts = [line for line in capsys.readouterr().out.splitlines() if ". mx" in line]
        assert [line.split()[1] for line in hosts] == ["mx1.example.com", "mx2.backup.example.com"]
        assert all(line.endswith("  tls mta-sts") for line in hosts)

    def test_worker_processes_share_the_policy_cache_file(self, sts, tmp_path, capsys):
        from mxroute.cli import main

        path = self.cached(tmp_path)
        argv = ["route", "--jobs", "2", "--json", "--mta-sts", "--policy-cache", str(path)]
        assert main([*argv, "example.com", "alice@example.com"], resolver=sts) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [d["route"]["mta_sts"]["id"] for d in lines] == ["20261202", "20261202"]

    def test_route_without_the_flag_applies_nothing(self, sts, tmp_path, capsys):
        from mxroute.cli import main

        path = self.cached(tmp_path)
        assert main(["route", "--json", "--policy-cache", str(path), "example.com"], sts) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["route"]["mta_sts"] is None

    def test_check_reports_mta_sts_findings(self, fake, tmp_path, capsys):
        from mxroute.cli import main

        publish_dns(fake, mx=("10 mx1.example.com.", "20 other.example.net."), policy_host=())
        fake.add("other.example.net", "A", "192.0.2.7")
        path = self.cached(tmp_path)
        argv = ["check", "--json", "--mta-sts", "--policy-cache", str(path), "example.com"]
        main(argv, resolver=fake)
        data = json.loads(capsys.readouterr().out)
        found = {f["code"]: f for f in data["findings"]}
        assert found["mta-sts-mx-not-covered"]["subject"] == "other.example.net"
        assert found["mta-sts-mx-not-covered"]["fix"]

    def test_unusable_policy_cache_is_a_usage_error(self, sts, tmp_path, capsys):
        from mxroute.cli import main

        path = tmp_path / "junk"
        path.write_bytes(b"junk" * 1000)
        assert main(["route", "--mta-sts", "--policy-cache", str(path), "example.com"], sts) == 2
        assert "--policy-cache" in capsys.readouterr().err
