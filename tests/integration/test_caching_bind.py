"""CachingResolver and resolve_many over DNSResolver against a real BIND 9."""

from __future__ import annotations

import random
import threading

import pytest

import mxroute
from mxroute import AnswerStatus, CachingResolver, Question
from tests.doubles import FakeClock, RecordingResolver

pytestmark = pytest.mark.integration


class TestCacheOverBind:
    def test_ttl_from_bind_counts_down_and_expires(self, resolver):
        clock = FakeClock(0.0)
        inner = RecordingResolver(resolver)
        cache = CachingResolver(inner, clock=clock)
        assert cache.query("two-mx.mxtest", "MX").ttl == 300
        clock.now = 120
        assert cache.query("two-mx.mxtest", "MX").ttl == 180
        clock.now = 300
        assert cache.query("two-mx.mxtest", "MX").ttl == 300
        assert inner.questions == [("two-mx.mxtest", "MX")] * 2

    def test_nxdomain_from_bind_is_kept_for_the_soa_negative_ttl(self, resolver):
        clock = FakeClock(0.0)
        inner = RecordingResolver(resolver)
        cache = CachingResolver(inner, clock=clock)
        first = cache.query("no-such-name.mxtest", "MX")
        assert first.status is AnswerStatus.NXDOMAIN
        assert first.ttl == 120  # the zone's SOA MINIMUM (RFC 2308 §5)
        clock.now = 119
        assert cache.query("no-such-name.mxtest", "MX").ttl == 1
        clock.now = 120
        cache.query("no-such-name.mxtest", "MX")
        assert len(inner.questions) == 2

    def test_refused_from_bind_is_kept_for_failure_ttl_only(self, resolver):
        clock = FakeClock(0.0)
        inner = RecordingResolver(resolver)
        cache = CachingResolver(inner, clock=clock, failure_ttl=2)
        assert cache.query("refused.mxtest", "MX").status is AnswerStatus.REFUSED
        clock.now = 1.5
        cache.query("refused.mxtest", "MX")
        clock.now = 2
        cache.query("refused.mxtest", "MX")
        assert len(inner.questions) == 2

    async def _routes(self, router, targets):
        return {t: r async for t, r in router.resolve_many(targets, concurrency=4)}

    @pytest.mark.asyncio
    async def test_resolve_many_gives_the_routes_resolve_gives(self, resolver):
        targets = ["two-mx.mxtest", "equal-mx.mxtest", "null-mx.mxtest", "a-only.mxtest"]
        routes = await self._routes(mxroute.Router(resolver=resolver), [*targets, "x..y"])
        assert isinstance(routes.pop("x..y"), mxroute.InvalidDomain)
        assert isinstance(routes.pop("null-mx.mxtest"), mxroute.NullMX)
        for target, route in routes.items():
            alone = mxroute.Router(resolver=resolver, rng=random.Random(1)).resolve(target)
            assert isinstance(route, mxroute.MailRoute)
            assert {h.name for h in route.hosts} == {h.name for h in alone.hosts}
            assert {a for h in route.hosts for a in h.addresses} == {
                a for h in alone.hosts for a in h.addresses
            }

    def test_resolve_many_sync_over_dns_resolver(self, resolver):
        inner = RecordingResolver(resolver)
        router = mxroute.Router(resolver=CachingResolver(inner))
        targets = ["two-mx.mxtest", "alias.mxtest", "two-mx.mxtest"]
        results = list(router.resolve_many_sync(targets, concurrency=2))
        assert sorted(t for t, _ in results) == sorted(targets)
        assert all(isinstance(r, mxroute.MailRoute) for _, r in results)
        # two-mx.mxtest twice (cached or coalesced), alias.mxtest leads to the same
        # hosts: no question reached BIND twice
        assert inner.questions.count(("two-mx.mxtest", "MX")) == 1
        assert len(inner.questions) == len(set(inner.questions))


def pool_threads() -> set[threading.Thread]:
    """The live threads of DNSResolver batch pools (they are named ``mxroute-dns...``)."""
    return {t for t in threading.enumerate() if t.name.startswith("mxroute-dns")}


BATCH = [Question("two-mx.mxtest", "MX"), Question("mx1.two-mx.mxtest", "A")]


class TestLifecycleOverBind:
    def test_with_closes_the_dns_resolvers_thread_pool(self, bind):
        before = pool_threads()
        with CachingResolver(
            mxroute.DNSResolver([bind.address], port=bind.port, tcp=True, timeout=2.0)
        ) as cache:
            answers = cache.query_batch(BATCH)
            assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 2
            started = pool_threads() - before  # the batch ran on a pool of its own
            assert started
        assert not any(t.is_alive() for t in started)

    @pytest.mark.asyncio
    async def test_async_with_closes_the_dns_resolver(self, bind):
        before = pool_threads()
        inner = mxroute.DNSResolver([bind.address], port=bind.port, tcp=True, timeout=2.0)
        inner.query_batch(BATCH)
        started = pool_threads() - before
        assert started
        async with CachingResolver(inner) as cache:
            answer = await cache.query_async("two-mx.mxtest", "MX")
            assert answer.status is AnswerStatus.RECORDS
        assert not any(t.is_alive() for t in started)
