"""CachingResolver: TTLs, negative caching, failure TTL, LRU, stats, single-flight."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import pickle
import random
import threading
import time
from collections.abc import Sequence

import pytest

import mxroute
from mxroute import (
    Answer,
    AnswerStatus,
    CacheStats,
    CachingResolver,
    InMemoryResolver,
    InvalidInput,
    Question,
)
from tests.doubles import AsyncOnly, Batching, FakeClock

WAIT = 10.0
"""Seconds a test waits for another thread before it fails (never reached when it passes)."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def zone() -> InMemoryResolver:
    fake = InMemoryResolver()
    fake.add("example.com", "SOA", "ns.example.com. h.example.com. 1 2 3 4 600", ttl=900)
    fake.add("example.com", "MX", "10 mx.example.com.", ttl=300)
    fake.add("mx.example.com", "A", "192.0.2.25", ttl=60)
    fake.add("mx.example.com", "AAAA", "2001:db8::25", ttl=120)
    return fake


def cache_over(fake, clock: FakeClock, **settings) -> CachingResolver:
    return CachingResolver(fake, clock=clock, **settings)


def pickle_round_trip(value):
    return pickle.loads(pickle.dumps(value))


DUPLICATES = [
    pytest.param(pickle_round_trip, id="pickle"),
    pytest.param(copy.deepcopy, id="deepcopy"),
]
"""The two ways of copying a resolver for another process or thread."""


def until(condition, what: str) -> None:
    """Wait (bounded) for another thread to reach a state; fails the test if it never does."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


class TestPositiveCaching:
    def test_second_question_within_ttl_is_answered_from_the_cache(self, zone, clock):
        cache = cache_over(zone, clock)
        first = cache.query("example.com", "MX")
        clock.advance(299)
        second = cache.query("example.com", "MX")
        assert zone.queries == [("example.com", "MX")]
        assert second.records == first.records
        assert second.status is AnswerStatus.RECORDS

    def test_cached_answer_reports_the_ttl_it_has_left(self, zone, clock):
        cache = cache_over(zone, clock)
        assert cache.query("example.com", "MX").ttl == 300
        clock.advance(100)
        assert cache.query("example.com", "MX").ttl == 200
        clock.advance(99.5)
        assert cache.query("example.com", "MX").ttl == 101

    def test_answer_expires_when_its_ttl_runs_out(self, zone, clock):
        cache = cache_over(zone, clock)
        cache.query("example.com", "MX")
        clock.advance(300)
        assert cache.query("example.com", "MX").ttl == 300
        assert zone.queries == [("example.com", "MX")] * 2

    def test_each_question_has_its_own_ttl(self, zone, clock):
        cache = cache_over(zone, clock)
        cache.query("mx.example.com", "A")
        cache.query("mx.example.com", "AAAA")
        clock.advance(61)
        cache.query("mx.example.com", "A")
        cache.query("mx.example.com", "AAAA")
        assert zone.queries == [
            ("mx.example.com", "A"),
            ("mx.example.com", "AAAA"),
            ("mx.example.com", "A"),
        ]

    def test_names_and_types_are_normalised_before_lookup(self, zone, clock):
        cache = cache_over(zone, clock)
        cache.query("Example.COM.", "mx")
        answer = cache.query("example.com", "MX")
        assert zone.queries == [("example.com", "MX")]
        assert answer.question == ("example.com", "MX")

    def test_max_ttl_caps_how_long_records_are_kept(self, zone, clock):
        cache = cache_over(zone, clock, max_ttl=100)
        cache.query("example.com", "MX")
        clock.advance(50)
        assert cache.query("example.com", "MX").ttl == 50
        clock.advance(50)
        cache.query("example.com", "MX")
        assert len(zone.queries) == 2

    def test_min_ttl_keeps_short_lived_answers_longer(self, clock):
        fake = InMemoryResolver()
        fake.add("short.example", "A", "192.0.2.1", ttl=0)
        cache = cache_over(fake, clock, min_ttl=30)
        cache.query("short.example", "A")
        clock.advance(29)
        assert cache.query("short.example", "A").ttl == 1
        assert len(fake.queries) == 1

    def test_ttl_zero_is_never_cached(self, clock):
        fake = InMemoryResolver()
        fake.add("zero.example", "A", "192.0.2.1", ttl=0)
        cache = cache_over(fake, clock)
        cache.query("zero.example", "A")
        cache.query("zero.example", "A")
        assert len(fake.queries) == 2
        assert cache.stats.entries == 0

    def test_additional_answers_age_with_the_entry_and_drop_when_expired(self, clock):
        fake = InMemoryResolver(use_additional=True)
        fake.add("example.com", "MX", "10 mx.example.com.", ttl=300)
        fake.add("mx.example.com", "A", "192.0.2.25", ttl=60)
        fake.add("mx.example.com", "AAAA", "2001:db8::25", ttl=120)
        cache = cache_over(fake, clock)
        cache.query("example.com", "MX")
        clock.advance(30)
        aged = cache.query("example.com", "MX")
        assert [(a.rdtype, a.ttl) for a in aged.additional] == [("A", 30), ("AAAA", 90)]
        clock.advance(60)
        later = cache.query("example.com", "MX")
        assert [(a.rdtype, a.ttl) for a in later.additional] == [("AAAA", 30)]
        assert later.ttl == 210

    def test_additional_addresses_never_answer_address_questions(self, clock):
        fake = InMemoryResolver(use_additional=True)
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.25")
        cache = cache_over(fake, clock)
        cache.query("example.com", "MX")
        cache.query("mx.example.com", "A")
        assert fake.queries == [("example.com", "MX"), ("mx.example.com", "A")]


class NoTTLResolver:
    """Answers every question with ``status`` and no TTL."""

    def __init__(self, status: AnswerStatus) -> None:
        self.status = status
        self.queries: list[Question] = []

    def query(self, name: str, rdtype: str) -> Answer:
        self.queries.append(Question(name, rdtype))
        records = [ipaddress.ip_address("192.0.2.1")] if self.status is AnswerStatus.RECORDS else []
        return Answer(name, rdtype, self.status, records=records, ttl=None)


class TestNegativeCaching:
    def test_nxdomain_is_cached_for_the_soa_negative_ttl(self, zone, clock):
        cache = cache_over(zone, clock)
        first = cache.query("nope.example.com", "MX")
        assert first.status is AnswerStatus.NXDOMAIN
        assert first.ttl == 600  # min(SOA TTL 900, SOA MINIMUM 600), RFC 2308 §5
        clock.advance(599)
        second = cache.query("nope.example.com", "MX")
        assert second.status is AnswerStatus.NXDOMAIN
        assert second.ttl == 1
        clock.advance(1)
        cache.query("nope.example.com", "MX")
        assert zone.queries == [("nope.example.com", "MX")] * 2

    def test_nodata_is_cached_for_the_negative_ttl(self, zone, clock):
        cache = cache_over(zone, clock)
        assert cache.query("mx.example.com", "MX").status is AnswerStatus.NODATA
        clock.advance(300)
        answer = cache.query("mx.example.com", "MX")
        assert answer.status is AnswerStatus.NODATA
        assert answer.ttl == 300
        assert zone.queries == [("mx.example.com", "MX")]

    def test_nodata_for_one_type_does_not_answer_another(self, zone, clock):
        cache = cache_over(zone, clock)
        cache.query("mx.example.com", "MX")
        assert cache.query("mx.example.com", "A").status is AnswerStatus.RECORDS

    @pytest.mark.parametrize("status", [AnswerStatus.NXDOMAIN, AnswerStatus.NODATA])
    def test_negative_answer_without_soa_ttl_is_not_cached(self, status, clock):
        inner = NoTTLResolver(status)
        cache = cache_over(inner, clock, min_ttl=10)
        cache.query("a.example", "MX")
        cache.query("a.example", "MX")
        assert len(inner.queries) == 2

    def test_records_without_ttl_are_kept_for_min_ttl_only(self, clock):
        inner = NoTTLResolver(AnswerStatus.RECORDS)
        assert cache_over(inner, clock).cache_duration(inner.query("a.example", "A")) == 0
        cache = cache_over(inner, clock, min_ttl=10)
        cache.query("a.example", "A")
        clock.advance(9)
        cache.query("a.example", "A")
        assert len(inner.queries) == 2  # one from cache_duration() above, one through the cache

    def test_max_negative_ttl_caps_negative_answers(self, clock):
        fake = InMemoryResolver(negative_ttl=86400)
        cache = cache_over(fake, clock, max_negative_ttl=3600)
        cache.query("gone.example", "MX")
        clock.advance(3599)
        assert cache.query("gone.example", "MX").ttl == 1
        clock.advance(1)
        cache.query("gone.example", "MX")
        assert len(fake.queries) == 2


class TestFailures:
    @pytest.mark.parametrize("error", ["servfail", "refused", "timeout"])
    def test_failures_are_cached_for_failure_ttl_only(self, error, clock):
        fake = InMemoryResolver()
        fake.fail("broken.example", "MX", error)
        cache = cache_over(fake, clock, failure_ttl=5)
        first = cache.query("broken.example", "MX")
        assert first.status.temporary
        clock.advance(4.9)
        assert cache.query("broken.example", "MX") == first
        assert len(fake.queries) == 1
        clock.advance(0.1)
        cache.query("broken.example", "MX")
        assert len(fake.queries) == 2

    def test_failure_ttl_zero_never_caches_failures(self, clock):
        fake = InMemoryResolver()
        fake.fail("broken.example", "MX", "servfail")
        cache = cache_over(fake, clock, failure_ttl=0)
        for _ in range(3):
            cache.query("broken.example", "MX")
        assert len(fake.queries) == 3

    def test_a_cached_failure_clears_once_the_server_recovers(self, clock):
        fake = InMemoryResolver()
        fake.fail("flaky.example", "MX", "servfail")
        cache = cache_over(fake, clock, failure_ttl=2)
        assert cache.query("flaky.example", "MX").status is AnswerStatus.SERVFAIL
        fake.clear()
        fake.add("flaky.example", "MX", "10 mx.flaky.example.")
        assert cache.query("flaky.example", "MX").status is AnswerStatus.SERVFAIL
        clock.advance(2)
        assert cache.query("flaky.example", "MX").status is AnswerStatus.RECORDS

    def test_failure_ttl_above_five_minutes_is_refused(self, zone):
        with pytest.raises(InvalidInput) as info:
            CachingResolver(zone, failure_ttl=301)
        assert info.value.reason == "invalid-cache-setting"

    def test_exception_from_the_wrapped_resolver_propagates_and_is_not_cached(self, zone, clock):
        inner = Gated(zone)
        inner.gate.set()
        inner.raise_error = RuntimeError("backend exploded")
        cache = cache_over(inner, clock)
        with pytest.raises(RuntimeError, match="exploded"):
            cache.query("example.com", "MX")
        assert cache.stats.entries == 0
        inner.raise_error = None
        assert cache.query("example.com", "MX").status is AnswerStatus.RECORDS
        assert inner.started == 2


class TestSettings:
    @pytest.mark.parametrize(
        "settings",
        [
            {"max_entries": 0},
            {"max_entries": 1.5},
            {"min_ttl": -1},
            {"max_ttl": float("nan")},
            {"max_negative_ttl": float("inf")},
            {"min_ttl": True},
            {"failure_ttl": "5"},
            {"min_ttl": 100, "max_ttl": 50},
        ],
    )
    def test_bad_settings_raise_invalid_input(self, zone, settings):
        with pytest.raises(InvalidInput) as info:
            CachingResolver(zone, **settings)
        assert info.value.reason == "invalid-cache-setting"

    def test_an_object_that_is_no_resolver_is_refused(self):
        with pytest.raises(TypeError, match="neither query"):
            CachingResolver(object())  # type: ignore[arg-type]


class TestLRU:
    def test_least_recently_used_entry_is_evicted_first(self, zone, clock):
        cache = cache_over(zone, clock, max_entries=2)
        cache.query("example.com", "MX")
        cache.query("mx.example.com", "A")
        cache.query("example.com", "MX")  # now the most recently used
        cache.query("mx.example.com", "AAAA")  # evicts the A answer
        zone.queries.clear()
        cache.query("example.com", "MX")
        cache.query("mx.example.com", "AAAA")
        cache.query("mx.example.com", "A")
        assert zone.queries == [("mx.example.com", "A")]
        assert len(cache) == 2
        assert cache.stats.evictions == 2

    def test_clear_forgets_every_answer(self, zone, clock):
        cache = cache_over(zone, clock)
        cache.query("example.com", "MX")
        cache.clear()
        cache.query("example.com", "MX")
        assert len(zone.queries) == 2


class TestStats:
    def test_stats_count_hits_misses_and_entries(self, zone, clock):
        cache = cache_over(zone, clock)
        assert cache.stats == CacheStats(hits=0, misses=0, coalesced=0, evictions=0, entries=0)
        cache.query("example.com", "MX")
        cache.query("example.com", "MX")
        cache.query("example.com", "MX")
        cache.query("mx.example.com", "A")
        assert cache.stats == CacheStats(hits=2, misses=2, coalesced=0, evictions=0, entries=2)

    def test_stats_are_a_frozen_value(self, zone):
        stats = CachingResolver(zone).stats
        with pytest.raises(AttributeError):
            stats.hits = 5  # type: ignore[misc]


class TestBatch:
    def test_only_uncached_questions_go_to_the_wrapped_batch(self, zone, clock):
        inner = Batching(zone)
        cache = cache_over(inner, clock)
        cache.query("mx.example.com", "A")
        questions = [
            Question("mx.example.com", "A"),
            Question("mx.example.com", "AAAA"),
            Question("example.com", "MX"),
            Question("mx.example.com", "AAAA"),
        ]
        answers = cache.query_batch(questions)
        assert [a.question for a in answers] == questions
        assert inner.batches == [[("mx.example.com", "AAAA"), ("example.com", "MX")]]
        assert answers[1] is answers[3]

    def test_batch_without_batch_support_asks_one_after_the_other(self, zone, clock):
        cache = cache_over(zone, clock)
        answers = cache.query_batch(
            [Question("mx.example.com", "A"), Question("example.com", "MX")]
        )
        assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 2
        assert zone.queries == [("mx.example.com", "A"), ("example.com", "MX")]
        cache.query_batch([Question("mx.example.com", "A"), Question("example.com", "MX")])
        assert len(zone.queries) == 2

    def test_router_uses_the_cache_for_the_address_batch(self, zone, clock):
        inner = Batching(zone)
        router = mxroute.Router(resolver=cache_over(inner, clock), rng=random.Random(1))
        first = router.resolve("example.com")
        clock.advance(10)
        second = router.resolve("example.com")
        assert len(zone.queries) == 3
        assert first.hosts == second.hosts
        assert (first.ttl, second.ttl) == (60, 50)


@pytest.mark.asyncio
class TestAsync:
    async def test_query_async_caches_like_query(self, zone, clock):
        cache = cache_over(zone, clock)
        await cache.query_async("example.com", "MX")
        clock.advance(1)
        assert (await cache.query_async("example.com", "MX")).ttl == 299
        assert cache.query("example.com", "MX").ttl == 299
        assert zone.queries == [("example.com", "MX")]

    async def test_sync_only_resolver_is_run_in_a_thread(self, clock):
        inner = NoTTLResolver(AnswerStatus.RECORDS)
        cache = cache_over(inner, clock, min_ttl=5)
        answer = await cache.query_async("a.example", "A")
        await cache.query_async("a.example", "A")
        assert answer.status is AnswerStatus.RECORDS
        assert inner.queries == [("a.example", "A")]

    async def test_async_only_resolver_refuses_sync_query(self, zone, clock):
        cache = cache_over(AsyncOnly(zone), clock)
        assert (await cache.query_async("example.com", "MX")).status is AnswerStatus.RECORDS
        with pytest.raises(TypeError, match="no query"):
            cache.query("example.com", "MX")
        with pytest.raises(TypeError, match="no query"):
            cache.query_batch([Question("example.com", "MX")])

    async def test_resolve_async_through_the_cache(self, zone, clock):
        router = mxroute.Router(resolver=cache_over(zone, clock), rng=random.Random(1))
        await router.resolve_async("alice@example.com")
        await router.resolve_async("bob@example.com")
        assert len(zone.queries) == 3


class Gated:
    """A slow resolver: every query waits for ``gate`` before the fake answers.

    ``query`` (threads) waits on a threading.Event; ``query_async`` waits on an
    asyncio.Event created in the loop that uses it. ``started`` counts queries
    that reached it.
    """

    def __init__(self, fake: InMemoryResolver) -> None:
        self.fake = fake
        self.gate = threading.Event()
        self.agate: asyncio.Event | None = None
        self.started = 0
        self.raise_error: Exception | None = None
        self.replies: dict[tuple[str, str], object] = {}
        """What to return instead of the fake's answer, per question (a contract breach)."""

    def query(self, name: str, rdtype: str) -> Answer:
        self.started += 1
        assert self.gate.wait(WAIT)
        return self._reply(name, rdtype)

    def __reduce__(self) -> tuple[object, ...]:
        """A copy (pickled or deep-copied) has its own gate, open."""
        return (open_gated, (self.fake,))

    async def query_async(self, name: str, rdtype: str) -> Answer:
        self.started += 1
        if self.agate is None:
            self.agate = asyncio.Event()
        await self.agate.wait()
        return self._reply(name, rdtype)

    def _reply(self, name: str, rdtype: str) -> Answer:
        if self.raise_error is not None:
            raise self.raise_error
        if (name, rdtype) in self.replies:
            return self.replies[name, rdtype]  # type: ignore[return-value]
        return self.fake.query(name, rdtype)


def open_gated(fake: InMemoryResolver) -> Gated:
    gated = Gated(fake)
    gated.gate.set()
    return gated


class TestSingleFlightThreads:
    def test_concurrent_threads_share_one_query(self, zone):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        results: list[Answer] = []
        lock = threading.Lock()

        def ask() -> None:
            answer = cache.query("example.com", "MX")
            with lock:
                results.append(answer)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        until(lambda: cache.stats.misses + cache.stats.coalesced == 8, "all threads to ask")
        inner.gate.set()
        for t in threads:
            t.join(WAIT)
        assert zone.queries == [("example.com", "MX")]
        assert inner.started == 1
        assert len(results) == 8
        assert all(r is results[0] for r in results)
        assert cache.stats.coalesced == 7

    def test_an_error_reaches_every_waiter_and_nothing_is_cached(self, zone):
        inner = Gated(zone)
        inner.raise_error = RuntimeError("backend exploded")
        cache = CachingResolver(inner)
        errors: list[BaseException] = []

        def ask() -> None:
            try:
                cache.query("example.com", "MX")
            except RuntimeError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        until(lambda: cache.stats.misses + cache.stats.coalesced == 4, "all threads to ask")
        inner.gate.set()
        for t in threads:
            t.join(WAIT)
        assert len(errors) == 4
        assert inner.started == 1
        assert cache.stats.entries == 0

    def test_batch_waits_for_a_question_in_flight_on_another_thread(self, zone):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        leader = threading.Thread(target=cache.query, args=("example.com", "MX"))
        leader.start()
        until(lambda: inner.started == 1, "the leader to send its query")
        out: list[list[Answer]] = []
        batcher = threading.Thread(
            target=lambda: out.append(
                cache.query_batch([Question("example.com", "MX"), Question("mx.example.com", "A")])
            )
        )
        batcher.start()
        until(lambda: inner.started == 2, "the batch to send its own question")
        inner.gate.set()
        leader.join(WAIT)
        batcher.join(WAIT)
        assert sorted(zone.queries) == [("example.com", "MX"), ("mx.example.com", "A")]
        assert [a.status for a in out[0]] == [AnswerStatus.RECORDS] * 2


async def thread_then_task(
    cache: CachingResolver, inner: Gated
) -> tuple[asyncio.Future[Answer], asyncio.Future[Answer]]:
    """Ask example.com MX in a worker thread (the leader, held by ``inner``'s
    gate), then in a task that waits for it; return both once the task waits."""
    in_thread = asyncio.ensure_future(asyncio.to_thread(cache.query, "example.com", "MX"))
    while inner.started < 1:
        await asyncio.sleep(0.001)
    task = asyncio.ensure_future(cache.query_async("example.com", "MX"))
    while cache.stats.coalesced < 1:
        await asyncio.sleep(0)
    return in_thread, task


@pytest.mark.asyncio
class TestSingleFlightAsync:
    async def test_concurrent_tasks_await_one_query(self, zone):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        tasks = [asyncio.ensure_future(cache.query_async("example.com", "MX")) for _ in range(10)]
        while cache.stats.misses + cache.stats.coalesced < 10:
            await asyncio.sleep(0)
        assert inner.agate is not None
        inner.agate.set()
        answers = await asyncio.gather(*tasks)
        assert zone.queries == [("example.com", "MX")]
        assert inner.started == 1
        assert all(a is answers[0] for a in answers)
        assert cache.stats == CacheStats(hits=0, misses=1, coalesced=9, evictions=0, entries=1)

    async def test_cancelling_a_waiter_does_not_cancel_the_shared_query(self, zone):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        leader = asyncio.ensure_future(cache.query_async("example.com", "MX"))
        waiter = asyncio.ensure_future(cache.query_async("example.com", "MX"))
        while cache.stats.coalesced < 1:
            await asyncio.sleep(0)
        waiter.cancel()
        assert inner.agate is not None
        inner.agate.set()
        assert (await leader).status is AnswerStatus.RECORDS
        assert waiter.cancelled()
        assert inner.started == 1

    async def test_when_the_sending_task_is_cancelled_a_waiter_asks_again(self, zone):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        leader = asyncio.ensure_future(cache.query_async("example.com", "MX"))
        waiter = asyncio.ensure_future(cache.query_async("example.com", "MX"))
        while cache.stats.coalesced < 1:
            await asyncio.sleep(0)
        leader.cancel()
        while inner.started < 2:
            await asyncio.sleep(0)
        assert inner.agate is not None
        inner.agate.set()
        assert (await waiter).status is AnswerStatus.RECORDS
        assert leader.cancelled()
        assert zone.queries == [("example.com", "MX")]  # the cancelled query never finished
        assert cache.stats.misses == 2

    async def test_a_thread_waits_for_a_query_sent_by_a_task(self, zone):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        task = asyncio.ensure_future(cache.query_async("example.com", "MX"))
        while inner.started < 1:
            await asyncio.sleep(0)
        in_thread = asyncio.ensure_future(asyncio.to_thread(cache.query, "example.com", "MX"))
        while cache.stats.coalesced < 1:
            await asyncio.sleep(0.001)
        assert inner.agate is not None
        inner.agate.set()
        assert (await in_thread) is (await task)
        assert inner.started == 1

    async def test_a_task_waits_for_a_query_sent_by_a_thread(self, zone):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        in_thread, task = await thread_then_task(cache, inner)
        inner.gate.set()
        assert (await task) is (await in_thread)
        assert inner.started == 1

    async def test_sync_query_on_the_loop_thread_does_not_deadlock(self, zone):
        inner = Gated(zone)
        inner.gate.set()  # the synchronous path answers at once
        cache = CachingResolver(inner)
        task = asyncio.ensure_future(cache.query_async("example.com", "MX"))
        while inner.started < 1:
            await asyncio.sleep(0)
        answer = cache.query("example.com", "MX")  # same thread as the task's query
        assert answer.status is AnswerStatus.RECORDS
        assert (cache.stats.misses, cache.stats.coalesced) == (2, 0)  # asked, not waited
        assert inner.agate is not None
        inner.agate.set()
        await task
        assert inner.started == 2


class FirstCallHangs:
    """An async resolver whose first query waits for ``release``; the others answer at once."""

    def __init__(self, fake: InMemoryResolver) -> None:
        self.fake = fake
        self.started = 0
        self.release: asyncio.Event | None = None

    async def query_async(self, name: str, rdtype: str) -> Answer:
        self.started += 1
        if self.started == 1:
            self.release = asyncio.Event()
            await self.release.wait()
        return self.fake.query(name, rdtype)


class TestTwoLoopsOneThread:
    def test_a_second_loop_does_not_wait_for_a_paused_loop_of_the_same_thread(self, zone):
        inner = FirstCallHangs(zone)
        cache = CachingResolver(inner)
        paused = asyncio.new_event_loop()
        try:
            first = paused.create_task(cache.query_async("example.com", "MX"))
            while inner.started < 1:
                paused.run_until_complete(asyncio.sleep(0))
            # ``paused`` is not running now; asking on another loop must not wait for it
            answer = asyncio.run(cache.query_async("example.com", "MX"))
            assert answer.status is AnswerStatus.RECORDS
            assert inner.started == 2
            assert inner.release is not None
            inner.release.set()
            assert paused.run_until_complete(first).status is AnswerStatus.RECORDS
        finally:
            paused.close()


BAD_REPLIES = [
    pytest.param(None, id="None"),
    pytest.param("10 mx.example.com.", id="text"),
    pytest.param([], id="list"),
]
"""Values a broken resolver might return instead of an Answer."""


def ask_in_threads(cache: CachingResolver, inner: Gated, calls) -> list[object]:
    """Run each call in its own thread once all have asked, open the gate, and
    return what each returned or raised; fails the test if any thread hangs."""
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    until(lambda: cache.stats.misses + cache.stats.coalesced >= len(calls), "all threads to ask")
    inner.gate.set()
    deadline = time.monotonic() + WAIT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    hung = sum(t.is_alive() for t in threads)
    assert hung == 0, f"{hung} of {len(threads)} callers hang"
    return outcomes


BATCH = [Question("example.com", "MX"), Question("mx.example.com", "A")]


def batch_with_waiters(cache: CachingResolver, inner: Gated, *waiting: Question) -> list[object]:
    """``query_batch(BATCH)`` in one thread and ``query`` of each waiting question
    in one more thread each: see :func:`ask_in_threads`."""
    calls = [lambda: cache.query_batch(BATCH)]
    calls += [lambda q=q: cache.query(*q) for q in waiting]
    return ask_in_threads(cache, inner, calls)


def assert_invalid_answer(outcome: object, resolver: str) -> None:
    assert isinstance(outcome, InvalidInput), outcome
    assert outcome.reason == "invalid-resolver-answer"
    assert resolver in str(outcome)


class TestLeaderFailureThreads:
    @pytest.mark.parametrize("bad", BAD_REPLIES)
    def test_a_malformed_answer_fails_the_leader_and_every_waiter(self, zone, bad):
        inner = Gated(zone)
        inner.replies["example.com", "MX"] = bad
        cache = CachingResolver(inner)
        ask = lambda: cache.query("example.com", "MX")  # noqa: E731 -- a one-line callable, clearer inline than a def
        outcomes = ask_in_threads(cache, inner, [ask] * 4)
        for outcome in outcomes:
            assert_invalid_answer(outcome, "Gated.query()")
        assert len({id(o) for o in outcomes}) == 1  # the very same error
        assert (inner.started, cache.stats.entries) == (1, 0)

    def test_after_a_malformed_answer_the_next_call_asks_again(self, zone):
        inner = Gated(zone)
        inner.replies["example.com", "MX"] = None
        cache = CachingResolver(inner)
        ask_in_threads(cache, inner, [lambda: cache.query("example.com", "MX")] * 2)
        del inner.replies["example.com", "MX"]
        assert cache.query("example.com", "MX").status is AnswerStatus.RECORDS
        assert inner.started == 2
        assert cache.stats.entries == 1

    def test_after_an_exception_the_next_call_asks_again(self, zone):
        inner = Gated(zone)
        inner.raise_error = RuntimeError("backend exploded")
        cache = CachingResolver(inner)
        outcomes = ask_in_threads(cache, inner, [lambda: cache.query("example.com", "MX")] * 3)
        assert all(o is outcomes[0] for o in outcomes)
        inner.raise_error = None
        assert cache.query("example.com", "MX").status is AnswerStatus.RECORDS
        assert inner.started == 2

    @pytest.mark.parametrize("bad", BAD_REPLIES)
    def test_a_malformed_answer_inside_a_sequential_batch_fails_its_waiters(self, zone, bad):
        inner = Gated(zone)
        inner.replies["mx.example.com", "A"] = bad
        cache = CachingResolver(inner)
        outcomes = batch_with_waiters(cache, inner, Question("mx.example.com", "A"))
        for outcome in outcomes:
            assert_invalid_answer(outcome, "Gated.query()")
        assert cache.stats.entries <= 1  # the good MX answer may be kept, never the bad one
        del inner.replies["mx.example.com", "A"]
        assert cache.query("mx.example.com", "A").status is AnswerStatus.RECORDS


class ShortBatch(Gated):
    """A batch resolver whose ``query_batch`` returns ``size(n)`` answers for n questions
    (or raises ``raise_error``, or returns ``reply`` itself, when they are set)."""

    def __init__(self, fake: InMemoryResolver, size) -> None:
        super().__init__(fake)
        self.size = size
        self.reply: object = ...

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        self.started += 1
        assert self.gate.wait(WAIT)
        if self.raise_error is not None:
            raise self.raise_error
        if self.reply is not ...:
            return self.reply  # type: ignore[return-value]
        answers = [self.fake.query(n, t) for n, t in questions]
        return (answers * 2)[: self.size(len(answers))]


class TestBrokenBatch:
    @pytest.mark.parametrize(
        "size", [lambda n: n - 1, lambda n: 0, lambda n: n + 1], ids=["short", "empty", "long"]
    )
    def test_a_reply_of_the_wrong_length_fails_the_caller_and_every_waiter(self, zone, size):
        inner = ShortBatch(zone, size)
        cache = CachingResolver(inner)
        outcomes = batch_with_waiters(cache, inner, *BATCH)
        for outcome in outcomes:
            assert_invalid_answer(outcome, "ShortBatch.query_batch()")
        assert "for 2 questions" in str(outcomes[0])
        assert cache.stats.entries == 0
        inner.size = lambda n: n
        assert [a.status for a in cache.query_batch(BATCH)] == [AnswerStatus.RECORDS] * 2
        assert inner.started == 2

    def test_a_reply_that_is_no_list_fails_the_caller_and_every_waiter(self, zone):
        inner = ShortBatch(zone, lambda n: n)
        inner.reply = None
        cache = CachingResolver(inner)
        outcomes = batch_with_waiters(cache, inner, Question("mx.example.com", "A"))
        for outcome in outcomes:
            assert_invalid_answer(outcome, "ShortBatch.query_batch()")

    def test_an_exception_from_the_batch_fails_every_waiter(self, zone):
        inner = ShortBatch(zone, lambda n: n)
        inner.raise_error = RuntimeError("batch exploded")
        cache = CachingResolver(inner)
        outcomes = batch_with_waiters(cache, inner, Question("mx.example.com", "A"))
        assert outcomes == [inner.raise_error] * 2
        assert cache.stats.entries == 0


@pytest.mark.asyncio
class TestLeaderFailureAsync:
    async def gather_all(self, cache: CachingResolver, inner: Gated, count: int) -> list[object]:
        tasks = [
            asyncio.ensure_future(cache.query_async("example.com", "MX")) for _ in range(count)
        ]
        while cache.stats.misses + cache.stats.coalesced < count:
            await asyncio.sleep(0)
        assert inner.agate is not None
        inner.agate.set()
        try:
            return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)
        except asyncio.TimeoutError:
            hung = sum(not t.done() for t in tasks)
            raise AssertionError(f"{hung} of {count} tasks hang") from None

    @pytest.mark.parametrize("bad", BAD_REPLIES)
    async def test_a_malformed_answer_fails_the_leader_and_every_waiting_task(self, zone, bad):
        inner = Gated(zone)
        inner.replies["example.com", "MX"] = bad
        cache = CachingResolver(inner)
        outcomes = await self.gather_all(cache, inner, 5)
        for outcome in outcomes:
            assert_invalid_answer(outcome, "Gated.query_async()")
        assert all(o is outcomes[0] for o in outcomes)
        del inner.replies["example.com", "MX"]
        assert (await cache.query_async("example.com", "MX")).status is AnswerStatus.RECORDS
        assert inner.started == 2

    async def test_an_exception_reaches_every_waiting_task_and_the_next_call_asks_again(self, zone):
        inner = Gated(zone)
        inner.raise_error = RuntimeError("backend exploded")
        cache = CachingResolver(inner)
        outcomes = await self.gather_all(cache, inner, 4)
        assert all(o is inner.raise_error for o in outcomes)
        assert cache.stats.entries == 0
        inner.raise_error = None
        assert (await cache.query_async("example.com", "MX")).status is AnswerStatus.RECORDS
        assert inner.started == 2

    async def test_a_sync_only_resolver_returning_none_fails_every_task(self, zone):
        inner = NoneAnswers()
        cache = CachingResolver(inner)
        tasks = [asyncio.ensure_future(cache.query_async("a.example", "A")) for _ in range(3)]
        while cache.stats.misses + cache.stats.coalesced < 3:
            await asyncio.sleep(0)
        inner.gate.set()
        outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), WAIT)
        for outcome in outcomes:
            assert_invalid_answer(outcome, "NoneAnswers.query()")

    async def test_a_task_waiting_for_a_thread_gets_the_threads_error(self, zone):
        inner = Gated(zone)
        inner.replies["example.com", "MX"] = None
        cache = CachingResolver(inner)
        in_thread, task = await thread_then_task(cache, inner)
        inner.gate.set()
        outcomes = await asyncio.wait_for(
            asyncio.gather(in_thread, task, return_exceptions=True), WAIT
        )
        assert outcomes[0] is outcomes[1]
        assert_invalid_answer(outcomes[0], "Gated.query()")


class NoneAnswers:
    """A sync-only resolver that breaks its contract: it returns None once ``gate`` opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def query(self, name: str, rdtype: str) -> Answer:
        assert self.gate.wait(WAIT)
        return None  # type: ignore[return-value]


class Closable:
    """A resolver over a fake that counts its ``close()`` calls (and ``aclose()``
    calls, when ``with_aclose``)."""

    def __init__(self, fake: InMemoryResolver) -> None:
        self.fake = fake
        self.closed = 0

    def query(self, name: str, rdtype: str) -> Answer:
        return self.fake.query(name, rdtype)

    def close(self) -> None:
        self.closed += 1


class AsyncClosable(Closable):
    def __init__(self, fake: InMemoryResolver) -> None:
        super().__init__(fake)
        self.aclosed = 0

    async def aclose(self) -> None:
        self.aclosed += 1


class TestLifecycle:
    def test_with_closes_the_wrapped_resolver_on_exit(self, zone):
        inner = Closable(zone)
        with CachingResolver(inner) as cache:
            assert cache.query("example.com", "MX").status is AnswerStatus.RECORDS
            assert inner.closed == 0
        assert inner.closed == 1

    def test_with_closes_the_wrapped_resolver_when_the_block_raises(self, zone):
        inner = Closable(zone)
        with pytest.raises(RuntimeError), CachingResolver(inner):
            raise RuntimeError("in the block")
        assert inner.closed == 1

    def test_close_forwards_to_the_wrapped_resolver(self, zone):
        inner = Closable(zone)
        cache = CachingResolver(inner)
        cache.close()
        assert inner.closed == 1
        assert cache.query("example.com", "MX").status is AnswerStatus.RECORDS  # still usable

    def test_close_of_a_resolver_without_close_does_nothing(self, zone):
        with CachingResolver(zone) as cache:
            cache.query("example.com", "MX")
        cache.close()

    def test_closing_a_cache_over_a_recorder_closes_the_resolver_below(self, zone):
        inner = Closable(zone)
        with CachingResolver(mxroute.RecordingResolver(inner)):
            pass
        assert inner.closed == 1


@pytest.mark.asyncio
class TestAsyncLifecycle:
    async def test_async_with_awaits_the_wrapped_aclose(self, zone):
        inner = AsyncClosable(zone)
        async with CachingResolver(inner) as cache:
            await cache.query_async("example.com", "MX")
        assert (inner.aclosed, inner.closed) == (1, 0)

    async def test_aclose_falls_back_to_close(self, zone):
        inner = Closable(zone)
        async with CachingResolver(inner):
            pass
        assert inner.closed == 1

    async def test_aclose_of_a_resolver_without_either_does_nothing(self, zone):
        cache = CachingResolver(zone)
        await cache.aclose()
        assert (await cache.query_async("example.com", "MX")).status is AnswerStatus.RECORDS


def _answer_in_worker(cache: CachingResolver) -> tuple[list[str], CacheStats]:
    """Run in a worker process: ask twice, return the records and the stats."""
    cache.query("example.com", "MX")
    answer = cache.query("example.com", "MX")
    return [r.to_text() for r in answer.mx_records], cache.stats


class TestPickle:
    def settings(self, cache: CachingResolver) -> tuple[object, ...]:
        return (
            cache.max_entries,
            cache.failure_ttl,
            cache.min_ttl,
            cache.max_ttl,
            cache.max_negative_ttl,
        )

    @pytest.mark.parametrize("duplicate", DUPLICATES)
    def test_a_copy_has_the_settings_starts_empty_and_answers(self, zone, duplicate):
        cache = CachingResolver(zone, max_entries=7, failure_ttl=2, min_ttl=1, max_ttl=99)
        cache.query("example.com", "MX")
        copy_ = duplicate(cache)
        assert self.settings(copy_) == self.settings(cache)
        assert copy_.stats == CacheStats(hits=0, misses=0, coalesced=0, evictions=0, entries=0)
        assert copy_.resolver is not zone
        assert copy_.query("example.com", "MX").records == zone.query("example.com", "MX").records
        assert copy_.stats.misses == 1
        assert cache.stats.entries == 1  # the original keeps its answers

    @pytest.mark.parametrize("duplicate", DUPLICATES)
    def test_a_copy_taken_while_a_query_is_in_flight_does_not_wait_for_it(self, zone, duplicate):
        inner = Gated(zone)
        cache = CachingResolver(inner)
        leader = threading.Thread(target=cache.query, args=("example.com", "MX"), daemon=True)
        leader.start()
        until(lambda: inner.started == 1, "the leader to send its query")
        copy_ = duplicate(cache)  # its Gated copy has its gate open
        assert copy_.query("example.com", "MX").status is AnswerStatus.RECORDS
        assert copy_.stats.coalesced == 0
        inner.gate.set()
        leader.join(WAIT)
        assert cache.stats.misses == 1

    def test_the_clock_goes_with_the_copy(self, zone):
        cache = CachingResolver(zone)
        assert pickle_round_trip(cache)._clock is time.monotonic

    def test_a_cache_works_in_a_process_pool(self, zone):
        import concurrent.futures
        import multiprocessing

        cache = CachingResolver(zone)
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            records, stats = pool.submit(_answer_in_worker, cache).result(timeout=60)
        assert records == ["10 mx.example.com."]
        assert (stats.hits, stats.misses) == (1, 1)
        assert cache.stats.misses == 0  # the worker filled its own copy


class TestHitPath:
    def test_hits_within_one_second_share_one_aged_answer(self, zone, clock):
        cache = cache_over(zone, clock)
        cache.query("example.com", "MX")
        clock.advance(10.2)
        first = cache.query("example.com", "MX")
        clock.advance(0.3)
        again = cache.query("example.com", "MX")
        assert first.ttl == again.ttl == 290
        assert again is first
        clock.advance(1)
        later = cache.query("example.com", "MX")
        assert later.ttl == 289
        assert later is not first


class AsyncBatching:
    """A resolver with ``query_async`` and ``query_batch_async``; records the batches.

    Each batch yields to the event loop once before it answers (so other
    tasks run while it is in flight), and returns ``size(n)`` answers for n
    questions, or raises ``raise_error`` when it is set.
    """

    def __init__(self, inner: InMemoryResolver, size=lambda n: n) -> None:
        self.inner = inner
        self.size = size
        self.batches: list[list[Question]] = []
        self.singles: list[Question] = []
        self.raise_error: BaseException | None = None
        self.release: asyncio.Event | None = None

    async def query_async(self, name: str, rdtype: str) -> Answer:
        self.singles.append(Question(name, rdtype))
        return self.inner.query(name, rdtype)

    async def query_batch_async(self, questions: Sequence[Question]) -> list[Answer]:
        self.batches.append(list(questions))
        if self.release is not None:
            await self.release.wait()
        await asyncio.sleep(0)
        if self.raise_error is not None:
            raise self.raise_error
        answers = [self.inner.query(n, t) for n, t in questions]
        return (answers * 2)[: self.size(len(answers))]


async def batch_and_waiter(inner: AsyncBatching):
    """A cache over ``inner``, a batch of BATCH in flight (held), and a task waiting for it."""
    inner.release = asyncio.Event()
    cache = CachingResolver(inner)
    leader = asyncio.ensure_future(cache.query_batch_async(BATCH))
    while not inner.batches:
        await asyncio.sleep(0)
    waiter = asyncio.ensure_future(cache.query_async(*BATCH[0]))
    await asyncio.sleep(0)
    return cache, leader, waiter


@pytest.mark.asyncio
class TestBatchAsync:
    async def test_only_uncached_questions_go_to_the_wrapped_batch(self, zone, clock):
        inner = AsyncBatching(zone)
        cache = cache_over(inner, clock)
        await cache.query_async("mx.example.com", "A")
        questions = [
            Question("mx.example.com", "A"),
            Question("MX.example.com.", "AAAA"),
            Question("example.com", "MX"),
            Question("mx.example.com", "AAAA"),
        ]
        answers = await cache.query_batch_async(questions)
        assert [a.question for a in answers] == [
            ("mx.example.com", "A"),
            ("mx.example.com", "AAAA"),
            ("example.com", "MX"),
            ("mx.example.com", "AAAA"),
        ]
        assert inner.batches == [[("mx.example.com", "AAAA"), ("example.com", "MX")]]
        assert answers[1] is answers[3]
        assert (cache.stats.hits, cache.stats.misses) == (1, 3)
        again = await cache.query_batch_async(questions)
        assert len(inner.batches) == 1  # all from the cache now
        assert [a.question for a in again] == [a.question for a in answers]

    async def test_one_question_left_goes_through_query_async(self, zone, clock):
        inner = AsyncBatching(zone)
        cache = cache_over(inner, clock)
        await cache.query_batch_async([Question("example.com", "MX")])
        assert (inner.batches, inner.singles) == ([], [("example.com", "MX")])

    async def test_without_batch_support_the_questions_go_concurrently(self, zone, clock):
        counting = AsyncOnly(zone)
        cache = cache_over(counting, clock)
        answers = await cache.query_batch_async(
            [Question("mx.example.com", "A"), Question("mx.example.com", "AAAA")]
        )
        assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 2
        assert counting.most_in_flight == 2
        assert cache.stats.entries == 2

    async def test_a_sync_only_resolver_runs_in_threads(self, zone, clock):
        cache = cache_over(zone, clock)
        answers = await cache.query_batch_async(
            [Question("mx.example.com", "A"), Question("example.com", "MX")]
        )
        assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 2
        assert sorted(zone.queries) == [("example.com", "MX"), ("mx.example.com", "A")]

    async def test_a_question_in_flight_for_another_task_is_waited_for(self, zone, clock):
        inner = AsyncBatching(zone)
        inner.release = asyncio.Event()
        cache = cache_over(inner, clock)
        first = asyncio.ensure_future(
            cache.query_batch_async(
                [Question("mx.example.com", "A"), Question("example.com", "MX")]
            )
        )
        while not inner.batches:
            await asyncio.sleep(0)
        second = asyncio.ensure_future(
            cache.query_batch_async(
                [Question("mx.example.com", "A"), Question("mx.example.com", "AAAA")]
            )
        )
        for _ in range(5):
            await asyncio.sleep(0)
        inner.release.set()
        one, two = await asyncio.gather(first, second)
        assert one[0] is two[0]  # the one query's answer
        assert [a.question for a in two] == [("mx.example.com", "A"), ("mx.example.com", "AAAA")]
        assert inner.batches == [[("mx.example.com", "A"), ("example.com", "MX")]]
        assert inner.singles == [("mx.example.com", "AAAA")]
        assert cache.stats.coalesced == 1

    @pytest.mark.parametrize("size", [lambda n: n - 1, lambda n: n + 1], ids=["short", "long"])
    async def test_a_reply_of_the_wrong_length_is_refused_and_nothing_kept(self, zone, size):
        inner = AsyncBatching(zone, size)
        cache = CachingResolver(inner)
        with pytest.raises(InvalidInput, match=r"query_batch_async\(\) returned .* for 2") as info:
            await cache.query_batch_async(BATCH)
        assert info.value.reason == "invalid-resolver-answer"
        assert cache.stats.entries == 0
        inner.size = lambda n: n
        assert [a.status for a in await cache.query_batch_async(BATCH)] == [
            AnswerStatus.RECORDS
        ] * 2

    async def test_a_failed_batch_fails_its_waiters_and_caches_nothing(self, zone):
        inner = AsyncBatching(zone)
        inner.raise_error = RuntimeError("batch exploded")
        cache, leader, waiter = await batch_and_waiter(inner)
        inner.release.set()
        outcomes = await asyncio.gather(leader, waiter, return_exceptions=True)
        assert outcomes == [inner.raise_error] * 2
        assert cache.stats.entries == 0

    async def test_a_cancelled_batch_lets_its_waiters_ask_again(self, zone):
        inner = AsyncBatching(zone)
        _, leader, waiter = await batch_and_waiter(inner)
        leader.cancel()
        inner.release.set()
        answer = await waiter
        assert answer.status is AnswerStatus.RECORDS
        assert inner.singles == [BATCH[0]]  # asked again after the leader was cancelled
        with pytest.raises(asyncio.CancelledError):
            await leader

    async def test_the_async_router_hands_each_batch_over_whole(self, zone, clock):
        inner = AsyncBatching(zone)
        router = mxroute.Router(resolver=cache_over(inner, clock), rng=random.Random(1))
        route = await router.resolve_async("alice@example.com")
        assert sorted(str(a) for _, a in route.attempts()) == ["192.0.2.25", "2001:db8::25"]
        assert inner.singles == [("example.com", "MX")]
        assert inner.batches == [[("mx.example.com", "AAAA"), ("mx.example.com", "A")]]


@pytest.mark.asyncio
async def test_a_sync_batch_resolver_gets_the_async_batch_in_one_thread(zone, clock):
    inner = Batching(zone)
    cache = cache_over(inner, clock)
    answers = await cache.query_batch_async(
        [Question("mx.example.com", "A"), Question("mx.example.com", "AAAA")]
    )
    assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 2
    assert inner.batches == [[("mx.example.com", "A"), ("mx.example.com", "AAAA")]]
    assert cache.stats.entries == 2
