"""Router.resolve_many and resolve_many_sync: results, errors, bounds, laziness, cache."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator

import pytest

import mxroute
from mxroute import (
    Answer,
    CachingResolver,
    InMemoryResolver,
    InvalidDomain,
    InvalidInput,
    MailRoute,
    NoSuchDomain,
    NullMX,
    Router,
)
from tests.doubles import AsyncOnly, finishes_within

N_DOMAINS = 40


@pytest.fixture
def many() -> InMemoryResolver:
    """d0.example ... d39.example, all with the same two MX hosts."""
    fake = InMemoryResolver()
    for i in range(N_DOMAINS):
        fake.add(f"d{i}.example", "MX", "10 mx1.hosting.example.", "20 mx2.hosting.example.")
    fake.add("mx1.hosting.example", "A", "192.0.2.1")
    fake.add("mx2.hosting.example", "A", "192.0.2.2")
    fake.add("null.example", "MX", "0 .")
    return fake


def domains() -> list[str]:
    return [f"d{i}.example" for i in range(N_DOMAINS)]


def summary(results) -> dict[str, object]:
    out: dict[str, object] = {}
    for target, result in results:
        assert target not in out, f"{target} yielded twice"
        if isinstance(result, MailRoute):
            out[target] = [h.name for h in result.hosts]
        else:
            out[target] = type(result)
    return out


async def collect(aiterator: AsyncIterator) -> list:
    return [item async for item in aiterator]


class Recorder:
    """A generator of targets that records how many were taken."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        for i in range(self.count):
            self.taken += 1
            yield f"d{i % N_DOMAINS}.example"


@pytest.mark.asyncio
class TestResolveMany:
    async def test_every_target_yields_its_route_once(self, many):
        router = Router(resolver=many, rng=random.Random(1))
        got = summary(await collect(router.resolve_many(domains(), concurrency=5)))
        assert got == {d: ["mx1.hosting.example", "mx2.hosting.example"] for d in domains()}

    async def test_routing_errors_and_invalid_input_are_yielded_not_raised(self, many):
        router = Router(resolver=many)
        targets = ["d1.example", "null.example", "nowhere.example", "bad..name", "x@", "d2.example"]
        got = summary(await collect(router.resolve_many(targets, concurrency=3)))
        assert got["null.example"] is NullMX
        assert got["nowhere.example"] is NoSuchDomain
        assert issubclass(got["bad..name"], InvalidDomain)  # type: ignore[arg-type]
        assert issubclass(got["x@"], InvalidInput)  # type: ignore[arg-type]
        assert isinstance(got["d1.example"], list)
        assert isinstance(got["d2.example"], list)
        assert len(got) == 6

    async def test_error_values_carry_their_details(self, many):
        router = Router(resolver=many)
        [(target, error)] = await collect(router.resolve_many(["nowhere.example"]))
        assert isinstance(error, NoSuchDomain)
        assert (target, error.domain, error.reply_code) == (
            "nowhere.example",
            "nowhere.example",
            550,
        )

    async def test_concurrency_bounds_the_routes_in_flight(self, many):
        counter = AsyncOnly(many, yields=3, rdtypes={"MX"})
        router = Router(resolver=counter)
        results = await collect(router.resolve_many(domains(), concurrency=4))
        assert len(results) == N_DOMAINS
        assert counter.most_in_flight == 4

    async def test_concurrency_one_routes_one_at_a_time(self, many):
        counter = AsyncOnly(many, yields=3, rdtypes={"MX"})
        await collect(Router(resolver=counter).resolve_many(domains(), concurrency=1))
        assert counter.most_in_flight == 1

    async def test_targets_are_pulled_lazily(self, many):
        source = Recorder(100_000)
        router = Router(resolver=many)
        seen = 0
        async for _ in router.resolve_many(iter(source), concurrency=4):
            for _ in range(10):  # a slow consumer: the workers may run ahead
                await asyncio.sleep(0)
            seen += 1
            # 4 routes in flight and 4 results queued at most, beyond those seen
            assert source.taken <= seen + 2 * 4 + 1
            if seen == 50:
                break
        assert source.taken < 100

    async def test_async_iterable_targets(self, many):
        async def agen():
            for d in domains()[:10]:
                await asyncio.sleep(0)
                yield d

        got = summary(await collect(Router(resolver=many).resolve_many(agen(), concurrency=3)))
        assert set(got) == set(domains()[:10])

    async def test_one_cache_is_shared_by_the_run(self, many):
        router = Router(resolver=many)
        await collect(router.resolve_many(domains(), concurrency=8))
        asked = [q for q in many.queries if q.name.startswith("mx")]
        assert sorted(asked) == [
            ("mx1.hosting.example", "A"),
            ("mx1.hosting.example", "AAAA"),
            ("mx2.hosting.example", "A"),
            ("mx2.hosting.example", "AAAA"),
        ]
        assert router.resolver is many  # the run's cache is its own

    async def test_a_caching_router_keeps_its_cache_across_runs(self, many):
        cache = CachingResolver(many)
        router = Router(resolver=cache)
        await collect(router.resolve_many(domains()[:5]))
        before = len(many.queries)
        await collect(router.resolve_many(domains()[:5]))
        assert len(many.queries) == before
        assert cache.stats.hits > 0

    async def test_other_exceptions_stop_the_run(self, many):
        def broken():
            yield "d1.example"
            raise RuntimeError("input broke")

        with pytest.raises(RuntimeError, match="input broke"):
            await collect(Router(resolver=many).resolve_many(broken(), concurrency=2))

    async def test_breaking_out_cancels_the_workers(self, many):
        router = Router(resolver=many)
        results = router.resolve_many(Recorder(1000), concurrency=4)
        async for _ in results:
            break
        await results.aclose()  # type: ignore[attr-defined]
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert pending == []

    @pytest.mark.parametrize("bad", [0, -1, 2.5, True])
    async def test_bad_concurrency_is_refused_at_once(self, many, bad):
        with pytest.raises(InvalidInput) as info:
            Router(resolver=many).resolve_many(domains(), concurrency=bad)
        assert info.value.reason == "invalid-concurrency"


class TestResolveManySync:
    def test_sync_iterator_yields_every_result(self, many):
        router = Router(resolver=many, rng=random.Random(3))
        got = summary(router.resolve_many_sync([*domains(), "null.example"], concurrency=6))
        assert got.pop("null.example") is NullMX
        assert got == {d: ["mx1.hosting.example", "mx2.hosting.example"] for d in domains()}

    def test_sync_iterator_is_lazy_and_closes_cleanly(self, many):
        source = Recorder(100_000)
        results = Router(resolver=many).resolve_many_sync(iter(source), concurrency=2)
        first = [next(results) for _ in range(10)]
        results.close()  # type: ignore[attr-defined]
        assert len(first) == 10
        assert source.taken <= 10 + 2 * 2 + 1

    def test_sync_only_resolver_works_through_threads(self, many):
        class SyncOnly:
            def query(self, name: str, rdtype: str) -> Answer:
                return many.query(name, rdtype)

        got = summary(Router(resolver=SyncOnly()).resolve_many_sync(domains()[:6], concurrency=3))
        assert set(got) == set(domains()[:6])

    def test_bad_concurrency_is_refused_at_once(self, many):
        with pytest.raises(InvalidInput):
            Router(resolver=many).resolve_many_sync(domains(), concurrency=0)

    def test_module_function_resolve_is_unchanged(self, many):
        assert mxroute.resolve("d1.example", resolver=many).domain == "d1.example"


class _Stop(BaseException):
    """A BaseException that is not an Exception (as a framework's own signal might be)."""


class TestBaseExceptionsStopTheRun:
    """Neither the resolver nor the input may make a run hang by raising a BaseException."""

    @pytest.mark.parametrize("error", [asyncio.CancelledError, _Stop, KeyboardInterrupt])
    def test_a_resolver_raising_it_stops_resolve_many_sync(self, many, error):
        class Raising:
            async def query_async(self, name: str, rdtype: str) -> Answer:
                if name == "d3.example":
                    raise error()
                return many.query(name, rdtype)

        router = Router(resolver=Raising())
        raised = finishes_within(
            lambda: list(router.resolve_many_sync(domains(), concurrency=4)), 5
        )
        assert isinstance(raised, error)

    @pytest.mark.parametrize("error", [asyncio.CancelledError, _Stop, KeyboardInterrupt])
    def test_an_input_raising_it_stops_resolve_many_sync(self, many, error):
        def targets() -> Iterator[str]:
            yield "d1.example"
            yield "d2.example"
            raise error()

        router = Router(resolver=many)
        raised = finishes_within(
            lambda: list(router.resolve_many_sync(targets(), concurrency=2)), 5
        )
        assert isinstance(raised, error)

    def test_the_async_run_reraises_it_too(self, many):
        class Raising:
            async def query_async(self, name: str, rdtype: str) -> Answer:
                raise _Stop()

        async def go() -> None:
            await collect(Router(resolver=Raising()).resolve_many(domains(), concurrency=3))

        raised = finishes_within(lambda: asyncio.run(go()), 5)
        assert isinstance(raised, _Stop)


class SlowFirst:
    """Async resolver over a fake whose MX answer for ``d0.example`` comes last."""

    def __init__(self, fake: InMemoryResolver) -> None:
        self.fake = fake
        self.release = asyncio.Event()

    async def query_async(self, name: str, rdtype: str) -> Answer:
        if name == "d0.example":
            await self.release.wait()
        elif rdtype == "A" and name == "mx2.hosting.example":
            self.release.set()  # every other domain got this far
        return self.fake.query(name, rdtype)


class TestOrder:
    def test_completion_order_by_default_a_slow_target_delays_no_other(self, many):
        router = Router(resolver=SlowFirst(many))
        got = [t for t, _ in router.resolve_many_sync(domains()[:5], concurrency=5)]
        assert got[-1] == "d0.example"
        assert sorted(got) == sorted(domains()[:5])

    def test_ordered_yields_in_input_order(self, many):
        router = Router(resolver=SlowFirst(many))
        got = [t for t, _ in router.resolve_many_sync(domains()[:5], concurrency=5, ordered=True)]
        assert got == domains()[:5]

    def test_ordered_input_is_still_pulled_lazily(self, many):
        source = Recorder(100_000)
        results = Router(resolver=many).resolve_many_sync(iter(source), concurrency=3, ordered=True)
        first = [next(results) for _ in range(20)]
        results.close()  # type: ignore[attr-defined]
        assert [t for t, _ in first] == [f"d{i}.example" for i in range(20)]
        assert source.taken <= 20 + 4 * 3


class TestAuditMany:
    def test_every_domain_gets_its_report_or_error_in_order(self, many):
        got = list(
            mxroute.audit_many(["d1.example", "bad..name", "null.example"], many, ordered=True)
        )
        assert [d for d, _ in got] == ["d1.example", "bad..name", "null.example"]
        assert isinstance(got[0][1], mxroute.AuditReport)
        assert isinstance(got[1][1], InvalidDomain)
        report = got[2][1]
        assert isinstance(report, mxroute.AuditReport)
        assert isinstance(report.error, NullMX)

    def test_one_cache_for_the_run(self, many):
        list(mxroute.audit_many(domains(), many, concurrency=8))
        asked = [q for q in many.queries if q.name == "mx1.hosting.example"]
        assert sorted(asked) == [("mx1.hosting.example", "A"), ("mx1.hosting.example", "AAAA")]

    def test_concurrency_bounds_the_audits_in_flight(self, many):
        counter = AsyncOnly(many, yields=3, rdtypes={"MX"})
        list(mxroute.audit_many(domains(), counter, concurrency=3))
        assert counter.most_in_flight == 3

    @pytest.mark.asyncio
    async def test_async_twin(self, many):
        got = summary_reports(
            await collect(mxroute.audit_many_async(domains()[:6], many, concurrency=2))
        )
        assert got == dict.fromkeys(domains()[:6], True)

    def test_bad_concurrency_is_refused_at_once(self, many):
        with pytest.raises(InvalidInput):
            mxroute.audit_many(domains(), many, concurrency=0)
        with pytest.raises(InvalidInput):
            mxroute.audit_many_async(domains(), many, concurrency=0)


def summary_reports(results) -> dict[str, bool]:
    return {d: isinstance(r, mxroute.AuditReport) and r.route is not None for d, r in results}
