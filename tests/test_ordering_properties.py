"""Property tests of rule 7: preference order, shuffles, seeds, sync == async."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from mxroute import InMemoryResolver, Router

# An MX set: host index -> preference (hosts may repeat, preferences collide).
mx_sets = st.lists(
    st.tuples(st.integers(0, 11), st.sampled_from([0, 5, 10, 10, 20, 65535])),
    min_size=1,
    max_size=12,
)


def build(mx: list[tuple[int, int]]) -> InMemoryResolver:
    fake = InMemoryResolver()
    fake.add("example.com", "MX", *(f"{pref} mx{host}.example.com." for host, pref in mx))
    for host in {h for h, _ in mx}:
        fake.add(f"mx{host}.example.com", "A", f"192.0.2.{host + 1}")
    return fake


def lowest(mx: list[tuple[int, int]]) -> dict[str, int]:
    best: dict[str, int] = {}
    for host, pref in mx:
        name = f"mx{host}.example.com"
        best[name] = min(pref, best.get(name, pref))
    return best


@given(mx=mx_sets, seed=st.integers(0, 2**32))
def test_preference_order_always_holds(mx, seed):
    route = Router(resolver=build(mx), rng=random.Random(seed)).resolve("example.com")
    prefs = [h.preference for h in route.hosts]
    assert prefs == sorted(prefs)


@given(mx=mx_sets, seed=st.integers(0, 2**32))
def test_each_host_once_at_its_lowest_preference(mx, seed):
    route = Router(resolver=build(mx), rng=random.Random(seed)).resolve("example.com")
    assert {h.name: h.preference for h in route.hosts} == lowest(mx)
    assert len(route.hosts) == len(lowest(mx))


@given(mx=mx_sets, seeds=st.tuples(st.integers(0, 2**32), st.integers(0, 2**32)))
def test_equal_preference_groups_are_permutations_of_each_other(mx, seeds):
    fake = build(mx)
    a, b = (Router(resolver=fake, rng=random.Random(s)).resolve("example.com") for s in seeds)

    def groups(route):
        return {
            pref: sorted(h.name for h in hosts)
            for pref, hosts in itertools.groupby(route.hosts, key=lambda h: h.preference)
        }

    assert groups(a) == groups(b)


@given(mx=mx_sets, seed=st.integers(0, 2**32))
def test_same_seed_gives_the_same_route(mx, seed):
    fake = build(mx)
    first = Router(resolver=fake, rng=random.Random(seed)).resolve("example.com")
    again = Router(resolver=fake, rng=random.Random(seed)).resolve("example.com")
    assert first == again


@given(mx=mx_sets, seed=st.integers(0, 2**32))
def test_sync_and_async_agree(mx, seed):
    fake = build(mx)
    sync = Router(resolver=fake, rng=random.Random(seed)).resolve("example.com")
    sync_queries = list(fake.queries)
    fake.queries.clear()
    router = Router(resolver=fake, rng=random.Random(seed))
    async_route = asyncio.run(router.resolve_async("example.com"))
    assert async_route == sync
    assert sorted(fake.queries) == sorted(sync_queries)


# Chi-square critical value for 5 degrees of freedom at p = 0.001.
CHI2_5DF_P001 = 20.515


def test_shuffle_is_uniform_over_all_permutations():
    fake = build([(0, 10), (1, 10), (2, 10), (3, 5)])
    runs = 6000
    counts: Counter[tuple[str, ...]] = Counter()
    for seed in range(runs):
        route = Router(resolver=fake, rng=random.Random(seed)).resolve("example.com")
        assert route.hosts[0].name == "mx3.example.com"  # preference 5 always first
        counts[tuple(h.name for h in route.hosts[1:])] += 1
    assert len(counts) == 6
    expected = runs / 6
    chi2 = sum((observed - expected) ** 2 / expected for observed in counts.values())
    assert chi2 < CHI2_5DF_P001, counts


def test_every_host_leads_its_group_equally_often():
    fake = build([(i, 10) for i in range(5)])
    runs = 5000
    first = Counter(
        Router(resolver=fake, rng=random.Random(seed)).resolve("example.com").hosts[0].name
        for seed in range(runs)
    )
    assert len(first) == 5
    # Each host leads about a fifth of the time; 4 standard deviations of slack.
    sigma = (runs * 0.2 * 0.8) ** 0.5
    assert all(abs(n - runs / 5) < 4 * sigma for n in first.values()), first
