"""Policies and routers pickle and copy, so they go to worker processes."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import random
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import pytest

import mxroute
from mxroute import InMemoryResolver, Router, RoutingPolicy

ROUND_TRIPS: dict[str, Callable[[object], object]] = {
    **{
        f"pickle-{protocol}": lambda value, p=protocol: pickle.loads(pickle.dumps(value, p))
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    },
    "deepcopy": copy.deepcopy,
    "copy": copy.copy,
}


@pytest.fixture(params=sorted(ROUND_TRIPS))
def round_trip(request: pytest.FixtureRequest) -> Callable[[object], object]:
    return ROUND_TRIPS[request.param]


def _policy() -> RoutingPolicy:
    return RoutingPolicy(
        relayhost="[relay.example]:587",
        transport_map={"example.org": "[192.0.2.7]:2525", ".example.net": "mx.example.net"},
        local_names=["mail.example.com"],
        local_addresses=["192.0.2.25", "2001:db8::25"],
        address_scope="global",
        max_hosts=5,
    )


@pytest.fixture
def world() -> InMemoryResolver:
    fake = InMemoryResolver()
    fake.add("example.com", "MX", *(f"10 mx{i}.example.com." for i in range(6)))
    for i in range(6):
        fake.add(f"mx{i}.example.com", "A", f"192.0.2.{i + 1}")
    return fake


def _route(router: Router, target: str) -> mxroute.MailRoute:
    """Run in the worker process: route one target."""
    return router.resolve(target)


class TestRoutingPolicy:
    def test_a_policy_with_every_kind_of_setting_round_trips_equal(self, round_trip):
        policy = _policy()
        copied = round_trip(policy)
        assert copied == policy
        assert hash(copied) == hash(policy)
        assert copied.next_hop_for("example.org") == policy.next_hop_for("example.org")
        assert copied.to_dict() == policy.to_dict()

    def test_the_copy_of_the_transport_map_is_still_frozen(self, round_trip):
        copied = round_trip(_policy())
        assert isinstance(copied, RoutingPolicy)
        with pytest.raises(TypeError, match="cannot be changed"):
            copied.transport_map["example.com"] = mxroute.NextHop.parse("[192.0.2.1]")  # type: ignore[index]

    def test_the_default_policy_round_trips(self, round_trip):
        assert round_trip(RoutingPolicy()) == RoutingPolicy()


class TestRouter:
    def test_a_router_round_trips_with_its_settings(self, world, round_trip):
        router = Router(world, _policy(), random.Random(3), deadline=7.5)
        copied = round_trip(router)
        assert isinstance(copied, Router)
        assert copied.policy == router.policy
        assert copied.deadline == 7.5
        assert copied.rng.getstate() == router.rng.getstate()

    def test_a_seeded_router_routes_the_same_after_pickling(self, world):
        router = Router(resolver=world, policy=RoutingPolicy(), rng=random.Random(11))
        copied = pickle.loads(pickle.dumps(router))
        assert [copied.resolve("example.com") for _ in range(5)] == [
            router.resolve("example.com") for _ in range(5)
        ]

    def test_a_router_without_an_rng_of_its_own_gets_a_fresh_one(self, world):
        router = Router(resolver=world)
        first, second = (pickle.loads(pickle.dumps(router)) for _ in range(2))
        assert first.rng is not router.rng
        assert first.rng.getstate() != second.rng.getstate()  # 2**-19937: never equal by chance

    def test_a_router_without_a_resolver_makes_its_own_where_it_is_unpickled(
        self, world, monkeypatch
    ):
        import mxroute._router

        made: list[InMemoryResolver] = []

        def system() -> InMemoryResolver:  # stands for the system's DNSResolver
            made.append(InMemoryResolver())
            return made[-1]

        monkeypatch.setattr(mxroute._router, "_default_resolver", system)
        router = Router()
        copied = pickle.loads(pickle.dumps(router))
        assert made == [router.resolver, copied.resolver]
        assert copied.resolver is not router.resolver

    def test_a_router_routes_the_same_in_a_process_pool(self, world):
        router = Router(resolver=world, policy=RoutingPolicy(max_hosts=4), rng=random.Random(5))
        expected = pickle.loads(pickle.dumps(router)).resolve("alice@example.com")
        # spawn: a new interpreter, so everything the worker has came through pickle
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            route = pool.submit(_route, router, "alice@example.com").result(timeout=60)
        assert route == expected
        assert len(route.hosts) == 4


def test_a_router_over_the_real_dns_stack_pickles_with_its_settings(round_trip):
    dns = mxroute.DNSResolver(["192.0.2.53"], port=5353, timeout=1.5, tcp=True)
    router = Router(resolver=mxroute.CachingResolver(dns, max_entries=100), deadline=4.0)
    copied = round_trip(router)
    assert isinstance(copied, Router)
    assert isinstance(copied.resolver, mxroute.CachingResolver)
    inner = copied.resolver.wrapped
    assert isinstance(inner, mxroute.DNSResolver)
    assert (inner is dns) == (round_trip is copy.copy)  # a shallow copy shares it
    assert (inner.nameservers, inner.port, inner.timeout, inner.tcp) == (
        dns.nameservers,
        dns.port,
        dns.timeout,
        dns.tcp,
    )
