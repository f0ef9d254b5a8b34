"""The drivers: sync, async, batches, and the module-level shortcut."""

from __future__ import annotations

import asyncio
import random

import pytest

import mxroute
from mxroute import InMemoryResolver, Router
from tests.doubles import AsyncOnly, Batching, SyncOnly


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
