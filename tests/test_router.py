"""The drivers: sync, async, batches, and the module-level shortcut."""

from __future__ import annotations

import asyncio
import random

import pytest
import trio

import mxroute
from mxroute import Answer, InMemoryResolver, Router
from tests.doubles import AsyncOnly, Batching, SyncOnly, finishes_within


@pytest.fixture
def world(fake: InMemoryResolver) -> InMemoryResolver:
    fake.add("example.com", "MX", "10 a.example.com.", "10 b.example.com.")
    fake.add("a.example.com", "A", "192.0.2.1")
    fake.add("b.example.com", "AAAA", "2001:db8::2")
    return fake


class TestSyncDriver:
    def test_resolve_shortcut(self, world):
        route = mxroute.resolve("a@example.com", resolver=world, rng=random.Random(3))
        assert {h.name for h in route.hosts} == {"a.example.com", "b.example.com"}

    def test_batch_resolver_gets_the_whole_batch(self, world):
        resolver = Batching(world)
        Router(resolver=resolver).resolve("example.com")
        assert len(resolver.batches) == 1
        assert len(resolver.batches[0]) == 4

    def test_async_only_resolver_is_refused_with_a_clear_error(self, world):
        with pytest.raises(TypeError, match="resolve_async"):
            Router(resolver=AsyncOnly(world)).resolve("example.com")

    def test_policy_and_rng_are_kept(self, world):
        policy = mxroute.RoutingPolicy(max_hosts=1)
        router = Router(resolver=world, policy=policy, rng=random.Random(9))
        assert router.policy is policy
        assert len(router.resolve("example.com").hosts) == 1


class TestAsyncDriver:
    async def _route(self, resolver, target="example.com", seed=5):
        return await Router(resolver=resolver, rng=random.Random(seed)).resolve_async(target)

    def test_batch_runs_concurrently(self, world):
        resolver = AsyncOnly(world)
        asyncio.run(self._route(resolver))
        assert resolver.most_in_flight == 4

    def test_sync_only_resolver_runs_in_threads(self, world):
        sync = asyncio.run(self._route(SyncOnly(world)))
        assert sync == Router(resolver=world, rng=random.Random(5)).resolve("example.com")

    def test_errors_are_the_same_as_sync(self, fake):
        fake.add("example.com", "MX", "0 .")
        with pytest.raises(mxroute.NullMX):
            asyncio.run(self._route(fake))

    def test_invalid_input_raises(self, fake):
        with pytest.raises(mxroute.InvalidAddress):
            asyncio.run(self._route(fake, "@example.com"))


@pytest.fixture
def slow_hosts(world: InMemoryResolver) -> InMemoryResolver:
    """``world`` whose MX answers at once and whose host addresses take a minute."""
    world.delay("a.example.com", 60)
    world.delay("b.example.com", 60)
    return world


class TestRouteDeadline:
    def test_no_deadline_by_default(self, world):
        assert Router(resolver=world).deadline is None

    def test_a_route_that_finishes_in_time_is_returned(self, world):
        router = Router(resolver=world, rng=random.Random(5), deadline=30)
        assert router.deadline == 30.0
        assert router.resolve("example.com") == Router(
            resolver=world, rng=random.Random(5)
        ).resolve("example.com")

    def test_sync_route_stops_at_the_deadline_inside_a_slow_batch(self, slow_hosts):
        router = Router(resolver=slow_hosts, deadline=0.2)
        error = finishes_within(lambda: router.resolve("alice@example.com"))
        assert isinstance(error, mxroute.TemporaryRouteError)
        assert "deadline of 0.2 s" in str(error)
        assert error.domain == "example.com"
        assert (error.temporary, error.reply_code, error.enhanced_status) == (True, 451, "4.4.3")

    def test_sync_deadline_works_with_a_query_batch_resolver(self, slow_hosts):
        error = finishes_within(
            lambda: Router(resolver=Batching(slow_hosts), deadline=0.2).resolve("example.com")
        )
        assert isinstance(error, mxroute.TemporaryRouteError)
        assert "deadline" in str(error)

    def test_async_route_stops_at_the_deadline_inside_a_slow_batch(self, slow_hosts):
        router = Router(resolver=slow_hosts, deadline=0.2)
        error = finishes_within(lambda: asyncio.run(router.resolve_async("example.com")))
        assert isinstance(error, mxroute.TemporaryRouteError)
        assert "deadline of 0.2 s" in str(error)

    def test_async_deadline_with_a_sync_only_resolver(self, world):
        # The batch runs in asyncio's worker threads, which cannot be stopped:
        # the route ends at its deadline and the threads finish their 2 s
        # later (on a loop closed without waiting for them; asyncio.run would).
        world.delay("a.example.com", 2)
        router = Router(resolver=SyncOnly(world), deadline=0.2)
        loop = asyncio.new_event_loop()
        try:
            error = finishes_within(
                lambda: loop.run_until_complete(router.resolve_async("example.com"))
            )
        finally:
            loop.close()
        assert isinstance(error, mxroute.TemporaryRouteError)

    @pytest.mark.parametrize("mode", ["sync", "async"])
    def test_two_batches_within_the_lifetime_can_overrun_the_route_deadline(self, mode):
        # Each answer takes 0.15 s, below the fake's lifetime of 0.5 s, so no
        # lookup times out; the route takes two rounds (MX, then addresses).
        fake = InMemoryResolver(latency=0.15, lifetime=0.5)
        fake.add("example.com", "MX", "10 a.example.com.")
        fake.add("a.example.com", "A", "192.0.2.1")
        assert Router(resolver=fake).resolve("example.com").hosts  # no deadline: a route
        router = Router(resolver=fake, deadline=0.25)
        if mode == "sync":
            run = lambda: router.resolve("example.com")  # noqa: E731 -- a one-line callable, clearer inline than a def
        else:
            run = lambda: asyncio.run(router.resolve_async("example.com"))  # noqa: E731 -- a one-line callable, clearer inline than a def
        with pytest.raises(mxroute.TemporaryRouteError, match=r"deadline of 0\.25 s"):
            run()

    def test_the_error_names_the_questions_still_waiting(self, slow_hosts):
        error = finishes_within(
            lambda: Router(resolver=slow_hosts, deadline=0.2).resolve("example.com")
        )
        assert "A a.example.com" in str(error)

    def test_the_shortcut_takes_a_deadline(self, slow_hosts):
        error = finishes_within(
            lambda: mxroute.resolve("example.com", resolver=slow_hosts, deadline=0.2)
        )
        assert isinstance(error, mxroute.TemporaryRouteError)

    def test_literal_routes_need_no_time(self, fake):
        route = Router(resolver=fake, deadline=0.001).resolve("[192.0.2.1]")
        assert route.kind is mxroute.RouteKind.LITERAL

    @pytest.mark.parametrize("value", [0, -1, True, float("nan"), float("inf"), "5"])
    def test_a_bad_deadline_is_refused(self, fake, value):
        with pytest.raises(mxroute.InvalidInput, match="deadline") as caught:
            Router(resolver=fake, deadline=value)
        assert caught.value.reason == "invalid-deadline"

    def test_resolve_many_gives_each_route_the_deadline(self, slow_hosts):
        slow_hosts.add("fast.example", "MX", "10 mx.fast.example.")
        slow_hosts.add("mx.fast.example", "A", "192.0.2.9")
        router = Router(resolver=slow_hosts, deadline=0.2)
        results = finishes_within(
            lambda: dict(router.resolve_many_sync(["example.com", "fast.example"]))
        )
        assert isinstance(results["example.com"], mxroute.TemporaryRouteError)
        assert isinstance(results["fast.example"], mxroute.MailRoute)

    def test_an_answer_in_time_after_a_slow_first_batch_is_kept(self, world):
        world.delay("example.com", 0.05)
        route = Router(resolver=world, deadline=5).resolve("example.com")
        assert len(route.hosts) == 2

    def test_errors_of_the_resolver_still_propagate(self, world):
        class Broken(SyncOnly):
            def query(self, name: str, rdtype: str) -> Answer:
                raise ZeroDivisionError("a bug in the resolver")

        with pytest.raises(ZeroDivisionError):
            Router(resolver=Broken(world), deadline=5).resolve("example.com")


class TestEventLoops:
    """The async entry points run under asyncio only; elsewhere one typed error says so."""

    def test_resolve_async_under_trio_raises_one_typed_error(self, world):
        with pytest.raises(mxroute.UnsupportedEventLoop, match="asyncio") as caught:
            trio.run(Router(resolver=world).resolve_async, "example.com")
        assert isinstance(caught.value, RuntimeError)
        assert isinstance(caught.value, mxroute.MXRouteError)
        assert world.queries == []

    def test_the_error_does_not_depend_on_the_input(self, world):
        for target in ("example.com", "bad..name", "nowhere.example", "[192.0.2.1]"):
            with pytest.raises(mxroute.UnsupportedEventLoop):
                trio.run(Router(resolver=world).resolve_async, target)

    def test_resolve_many_under_trio_raises_the_same_error(self, world):

        async def main() -> None:
            async for _ in Router(resolver=world).resolve_many(["example.com"]):
                pass

        with pytest.raises(mxroute.UnsupportedEventLoop, match="resolve_many"):
            trio.run(main)

    def test_audit_async_under_trio_raises_the_same_error(self, world):
        with pytest.raises(mxroute.UnsupportedEventLoop, match="audit_async"):
            trio.run(mxroute.audit_async, "example.com", world)
        assert world.queries == []

    def test_audit_many_async_under_trio_raises_the_same_error(self, world):
        async def main() -> None:
            async for _ in mxroute.audit_many_async(["example.com"], world):
                pass

        with pytest.raises(mxroute.UnsupportedEventLoop, match="audit_many_async"):
            trio.run(main)
        assert world.queries == []

    def test_without_any_event_loop_too(self, world):
        coroutine = Router(resolver=world).resolve_async("example.com")
        try:
            with pytest.raises(mxroute.UnsupportedEventLoop):
                coroutine.send(None)
        finally:
            coroutine.close()

    def test_asyncio_still_works(self, world):
        route = asyncio.run(Router(resolver=world).resolve_async("example.com"))
        assert len(route.hosts) == 2
