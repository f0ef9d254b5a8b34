"""mxroute's benchmarks: every figure is a ratio against a baseline run side by side.

Run ``scripts/bench`` (or ``.venv/bin/python benchmarks/run.py``); ``--quick``
uses smaller sizes, ``--smoke`` tiny ones (for the test that keeps this file
from rotting; its figures mean nothing). It starts its own BIND 9 ``named`` on
127.0.0.1 with generated zones (``minimal-responses yes``, so no answer
carries addresses in its additional section and mxroute asks the same
questions as the baseline), and prints one Markdown table:

(a) round trips per route: the wall time of one route divided by the latency
    a proxy adds to every query, for 1, 5 and 30 MX hosts; mxroute sync and
    async against a naive dnspython loop (MX, then A and AAAA host by host).
    Also the exact count of sequential round trips, read off the proxy's log
    of when each query came in and its response went out, and the CPU time
    of one route.
(b) routes per second of ``Router.resolve_many`` over a zone of many domains,
    against the naive loop run sequentially on a subset.
(c) mxroute's CPU time over the CPU time of sending the identical questions
    with dnspython's message-level calls alone (target: at most 1.15x): the
    questions a recording run of ``Router.resolve`` asked, each built as
    mxroute builds it (EDNS 1232) and sent with ``dns.query.udp`` one after
    the other (``dns.asyncquery.udp``, 32 at a time, for the asyncio row),
    response parsed by dnspython and not interpreted further. Each row is the
    least process CPU time (every thread) of ``cpu_repeats`` alternating runs.
    A last row compares with the floor: the queries built before the clock
    starts, sent from a blocking socket each, the responses parsed only.
(d) bytes per entry of a full ``CachingResolver``, against a plain dict of
    the same answers.
(e) the time ``import mxroute`` takes in a fresh interpreter, against
    ``import email_validator`` and ``import dns.resolver``
    (``benchmarks/import_time.py``, which also runs alone).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import pathlib
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
# The imports below need the sys.path entries just added (hence noqa: E402).

import import_time  # noqa: E402
import workload  # noqa: E402
from latency_proxy import LatencyProxy, sequential_round_trips  # noqa: E402

import mxroute  # noqa: E402
from mxroute import Answer, AnswerStatus, CachingResolver, DNSResolver, MXRecord, Question  # noqa: E402
from tests.bindserver import BindServer  # noqa: E402


class Sizes(NamedTuple):
    """How much each benchmark does: the full, quick and smoke runs differ only in these."""

    delay: float  # seconds added to every query in (a) and (b) with latency
    repeats: int  # routes timed per case in (a); the median counts
    bulk: int  # domains in the bulk zone, all routed by resolve_many in (b)
    naive_subset: int  # domains routed by the naive baseline in (b)
    latency_bulk: int  # domains routed by resolve_many through the proxy in (b)
    latency_naive: int  # domains routed by the naive baseline through the proxy in (b)
    cpu_domains: int  # domains routed in (c)
    cpu_repeats: int  # the best of this many runs counts in (c)
    cache_entries: int  # answers put in the cache in (d)
    import_runs: int  # fresh interpreters per import in (e); the median counts


FULL = Sizes(0.02, 3, 10_000, 500, 500, 25, 200, 5, 20_000, 15)
QUICK = Sizes(0.02, 3, 2_000, 200, 200, 10, 100, 3, 5_000, 7)
SMOKE = Sizes(0.005, 1, 60, 20, 20, 3, 20, 1, 200, 1)


ROUND_TRIP = [0.0]
"""The measured time of one query through the latency proxy, for the report."""


class Row(NamedTuple):
    """One line of the report's table: mxroute's figure, the baseline's, and their ratio."""

    benchmark: str
    case: str
    subject: str
    baseline: str
    ratio: float


def _fmt(value: float, unit: str = "") -> str:
    text = f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    return f"{text}{unit}"


# -- (a) round trips per route ------------------------------------------------------


def _median_route_time(
    route: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """The median time of ``route`` by ``clock``.

    That is wall time, or with :func:`time.process_time` this process's CPU
    time (not the proxy's).
    """
    times = []
    for _ in range(repeats):
        start = clock()
        route()
        times.append(clock() - start)
    return statistics.median(times)


async def _median_route_time_async(router: mxroute.Router, domain: str, repeats: int) -> float:
    await router.resolve_async(domain)  # warm up, in the same event loop
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await router.resolve_async(domain)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


PROXY_LOG = "proxy.log"


class _ProxyLog:
    """The latency proxy's log of one route: how many round trips it waited for."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        path.touch()

    def count(self, route: Callable[[], object], repeats: int = 3) -> int:
        """The most sequential round trips any of ``repeats`` runs of ``route`` took."""
        most = 0
        for _ in range(repeats):
            start = self.path.stat().st_size
            route()
            with self.path.open() as log:
                log.seek(start)
                most = max(most, sequential_round_trips(log.readlines()))
        return most


def bench_round_trips(bind: BindServer, sizes: Sizes, fanouts: Sequence[int]) -> list[Row]:
    """(a) Latency, sequential round trips and CPU time of one route, per MX fan-out."""
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="mxroute-bench-") as scratch,
        LatencyProxy(
            bind.port, sizes.delay, max_seconds=300, log=os.path.join(scratch, PROXY_LOG)
        ) as proxy,
    ):
        log = _ProxyLog(pathlib.Path(scratch, PROXY_LOG))
        # The unit: one plain dnspython query through the proxy (the injected
        # delay plus the proxy's and the timer's own overhead, about 1-3 ms).
        probe = [("h1.bench", "MX")]
        unit = _median_route_time(lambda: workload.raw_replay(probe, proxy.port), 30)
        ROUND_TRIP[0] = unit
        dns_resolver = DNSResolver([workload.ADDRESS], port=proxy.port)
        wide = DNSResolver([workload.ADDRESS], port=proxy.port, max_workers=64)
        naive = workload.naive_resolver(proxy.port)
        routers = {
            "sync": mxroute.Router(resolver=dns_resolver),
            "sync, max_workers=64": mxroute.Router(resolver=wide),
            "async": mxroute.Router(resolver=dns_resolver),
        }
        for n in fanouts:
            domain = f"h{n}.bench"
            hosts = f"{n} MX host{'s' if n > 1 else ''}"
            base = _median_route_time(
                lambda d=domain: workload.naive_route(naive, d), sizes.repeats
            )
            base_rt = base / unit
            base_count = log.count(lambda d=domain: workload.naive_route(naive, d), 1)
            base_cpu = _median_route_time(
                lambda d=domain: workload.naive_route(naive, d), 3, time.process_time
            )
            for label, router in routers.items():
                if label == "async":
                    seconds = asyncio.run(_median_route_time_async(router, domain, sizes.repeats))
                    count = log.count(lambda r=router, d=domain: asyncio.run(r.resolve_async(d)))
                else:
                    check = router.resolve(domain)
                    assert len(check.hosts) == n
                    seconds = _median_route_time(
                        lambda r=router, d=domain: r.resolve(d), sizes.repeats
                    )
                    count = log.count(lambda r=router, d=domain: r.resolve(d))
                if label == "sync":
                    cpu = _median_route_time(
                        lambda r=router, d=domain: r.resolve(d), 5, time.process_time
                    )
                    rows.append(
                        Row(
                            "(a) round trips per route",
                            f"{hosts}, mxroute {label}: CPU time of one route, in round trips",
                            _fmt(cpu / unit),
                            _fmt(base_cpu / unit),
                            cpu / base_cpu,
                        )
                    )
                mx_rt = seconds / unit
                rows.append(
                    Row(
                        "(a) round trips per route",
                        f"{hosts}, mxroute {label}: latency / one round trip",
                        _fmt(mx_rt),
                        _fmt(base_rt),
                        mx_rt / base_rt,
                    )
                )
                rows.append(
                    Row(
                        "(a) round trips per route",
                        f"{hosts}, mxroute {label}: sequential round trips the proxy saw",
                        str(count),
                        str(base_count),
                        count / base_count,
                    )
                )
        dns_resolver.close()
        wide.close()
    return rows


# -- (b) bulk routes per second ------------------------------------------------------


async def _route_all(router: mxroute.Router, domains: Sequence[str]) -> int:
    routed = 0
    async for _, result in router.resolve_many(domains):
        routed += isinstance(result, mxroute.MailRoute)
    return routed


def _seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench_bulk(bind: BindServer, sizes: Sizes) -> list[Row]:
    """(b) Routes per second of ``resolve_many``, on local BIND and through the proxy."""
    domains = workload.bulk_domains(sizes.bulk)
    resolver = DNSResolver([workload.ADDRESS], port=bind.port)
    naive = workload.naive_resolver(bind.port)
    sync_router = mxroute.Router(resolver=resolver)
    subset = domains[: sizes.naive_subset]
    halves = (subset[: len(subset) // 2], subset[len(subset) // 2 :])

    def naive_run(part: Sequence[str]) -> None:
        for domain in part:
            workload.naive_route(naive, domain)

    def sync_run(part: Sequence[str]) -> None:
        for domain in part:
            sync_router.resolve(domain)

    # The baselines run half before and half after the long resolve_many run,
    # so that a change in the machine's load weighs on both alike.
    naive_time = _seconds(lambda: naive_run(halves[0]))
    sync_time = _seconds(lambda: sync_run(halves[0]))
    routed = [0]

    def bulk_run() -> None:
        routed[0] = asyncio.run(_route_all(mxroute.Router(resolver=resolver), domains))

    rate = len(domains) / _seconds(bulk_run)
    if routed[0] != len(domains):
        raise RuntimeError(f"resolve_many routed {routed[0]} of {len(domains)} domains")
    naive_time += _seconds(lambda: naive_run(halves[1]))
    sync_time += _seconds(lambda: sync_run(halves[1]))
    base_rate = len(subset) / naive_time
    sync_rate = len(subset) / sync_time
    resolver.close()

    with LatencyProxy(bind.port, sizes.delay, max_seconds=300) as proxy:
        far = DNSResolver([workload.ADDRESS], port=proxy.port)
        far_domains = domains[-sizes.latency_bulk :]
        start = time.perf_counter()
        routed = asyncio.run(_route_all(mxroute.Router(resolver=far), far_domains))
        far_rate = routed / (time.perf_counter() - start)
        if routed != len(far_domains):
            raise RuntimeError(f"resolve_many routed {routed} of {len(far_domains)} domains")
        far_naive = workload.naive_resolver(proxy.port)
        start = time.perf_counter()
        for domain in far_domains[: sizes.latency_naive]:
            workload.naive_route(far_naive, domain)
        far_base = sizes.latency_naive / (time.perf_counter() - start)
    return [
        Row(
            "(b) routes per second, local BIND",
            f"resolve_many, concurrency {mxroute._bulk.DEFAULT_CONCURRENCY}, "
            f"{len(domains):,} domains",
            _fmt(rate, "/s"),
            _fmt(base_rate, "/s"),
            rate / base_rate,
        ),
        Row(
            "(b) routes per second, local BIND",
            f"Router.resolve one after the other, {len(subset):,} domains",
            _fmt(sync_rate, "/s"),
            _fmt(base_rate, "/s"),
            sync_rate / base_rate,
        ),
        Row(
            f"(b) routes per second, {sizes.delay * 1000:.0f} ms per query",
            f"resolve_many, concurrency {mxroute._bulk.DEFAULT_CONCURRENCY}, "
            f"{len(far_domains):,} domains (baseline: {sizes.latency_naive})",
            _fmt(far_rate, "/s"),
            _fmt(far_base, "/s"),
            far_rate / far_base,
        ),
    ]


# -- (c) CPU overhead ------------------------------------------------------------------


class _OneByOne:
    """The resolver without ``query_batch``: the sync driver asks one question at a time."""

    def __init__(self, inner: DNSResolver) -> None:
        self.query = inner.query


class _Recorder:
    """A resolver that records the questions mxroute sends through it, and the answers."""

    def __init__(self, inner: DNSResolver) -> None:
        self.inner = inner
        self.questions: list[tuple[str, str]] = []
        self.answers: dict[tuple[str, str], Answer] = {}

    def query(self, name: str, rdtype: str) -> Answer:
        self.questions.append((name, rdtype))
        answer = self.answers[(name, rdtype)] = self.inner.query(name, rdtype)
        return answer


class _Replay:
    """Answers from a dict: the route costs only mxroute's own logic."""

    def __init__(self, answers: dict[tuple[str, str], Answer]) -> None:
        self.answers = answers

    def query(self, name: str, rdtype: str) -> Answer:
        return self.answers[(name, rdtype)]


def _cpu_pair(
    mine: Callable[[], object], raw: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """The least CPU time of each over ``repeats`` runs, alternating.

    Alternating makes a change in the machine's load weigh on both alike.
    """
    best_mine = best_raw = float("inf")
    for _ in range(repeats):
        for work, is_mine in ((raw, False), (mine, True)):
            gc.collect()
            start = time.process_time()
            work()
            spent = time.process_time() - start
            if is_mine:
                best_mine = min(best_mine, spent)
            else:
                best_raw = min(best_raw, spent)
    return best_mine, best_raw


def bench_cpu(bind: BindServer, sizes: Sizes) -> list[Row]:
    """(c) mxroute's CPU time over that of sending the same questions with raw dnspython."""
    domains = workload.bulk_domains(sizes.cpu_domains)
    resolver = DNSResolver([workload.ADDRESS], port=bind.port)
    recorder = _Recorder(resolver)
    recording = mxroute.Router(resolver=recorder)
    for domain in domains:
        recording.resolve(domain)
    questions = recorder.questions
    router = mxroute.Router(resolver=resolver)
    one_by_one = mxroute.Router(resolver=_OneByOne(resolver))
    replay = mxroute.Router(resolver=_Replay(recorder.answers))

    def mx_logic() -> None:
        for domain in domains:
            replay.resolve(domain)

    def mx_sync() -> None:
        for domain in domains:
            router.resolve(domain)

    def mx_sequential() -> None:
        for domain in domains:
            one_by_one.resolve(domain)

    def mx_async() -> None:
        asyncio.run(_route_all(router, domains))

    def raw_sync() -> None:
        workload.raw_replay(questions, bind.port)

    def resolver_alone() -> None:
        for name, rdtype in questions:
            resolver.query(name, rdtype)

    prebuilt = workload.wires(questions)

    def bare() -> None:
        workload.bare_replay(prebuilt, bind.port)

    def raw_async() -> None:
        asyncio.run(
            workload.raw_replay_async(questions, bind.port, mxroute._bulk.DEFAULT_CONCURRENCY)
        )

    rows = []
    for label, mine, raw in (
        ("planner and driver alone (answers replayed from memory)", mx_logic, raw_sync),
        ("DNSResolver.query alone, the same questions", resolver_alone, raw_sync),
        ("Router.resolve, batches through DNSResolver.query_batch", mx_sync, raw_sync),
        ("Router.resolve, one question at a time", mx_sequential, raw_sync),
        ("resolve_many (asyncio)", mx_async, raw_async),
        ("Router.resolve, batches, against the floor: pre-built queries", mx_sync, bare),
    ):
        raw()  # warm up sockets and caches
        mine()
        mine_cpu, raw_cpu = _cpu_pair(mine, raw, sizes.cpu_repeats)
        rows.append(
            Row(
                "(c) CPU time over raw dnspython",
                f"{label}, {len(domains):,} domains, {len(questions):,} questions",
                _fmt(mine_cpu, " s"),
                _fmt(raw_cpu, " s"),
                mine_cpu / raw_cpu,
            )
        )
    resolver.close()
    return rows


# -- (d) cache memory ------------------------------------------------------------------


class _Synthetic:
    """Answers every MX question with two fresh MX records."""

    def query(self, name: str, rdtype: str) -> Answer:
        return Answer(
            name,
            rdtype,
            AnswerStatus.RECORDS,
            records=(MXRecord(10, f"mx1.{name}"), MXRecord(20, f"mx2.{name}")),
            ttl=3600,
        )


def _allocated(fill: Callable[[], object]) -> tuple[int, object]:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = fill()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, kept


def bench_memory(sizes: Sizes) -> list[Row]:
    """(d) Bytes per entry of a full ``CachingResolver``, against a dict of the same answers."""
    n = sizes.cache_entries
    names = [f"d{i}.example" for i in range(n)]
    inner = _Synthetic()

    def fill_cache() -> object:
        cache = CachingResolver(inner, max_entries=n)
        for name in names:
            cache.query(name, "MX")
        assert len(cache) == n
        return cache

    def fill_dict() -> object:
        plain = {}
        for name in names:
            plain[Question(name, "MX")] = inner.query(name, "MX")
        return plain

    cache_bytes, _ = _allocated(fill_cache)
    dict_bytes, _ = _allocated(fill_dict)
    return [
        Row(
            "(d) memory per cache entry",
            f"CachingResolver with {n:,} MX answers vs a dict of them",
            _fmt(cache_bytes / n, " B"),
            _fmt(dict_bytes / n, " B"),
            cache_bytes / dict_bytes,
        )
    ]


# -- the table -------------------------------------------------------------------------


# -- (e) import time -----------------------------------------------------------------


def bench_import_time(sizes: Sizes) -> list[Row]:
    """(e) The time ``import mxroute`` takes, against each baseline import."""
    subject, *baselines = import_time.measure_all(sizes.import_runs)
    loads = ", ".join(subject.watched) or "none"
    return [
        Row(
            "(e) import time",
            f"import mxroute vs import {baseline.module}, median of {sizes.import_runs} "
            f"fresh interpreters (mxroute loads {loads} of {', '.join(import_time.WATCHED)})",
            _fmt(subject.seconds * 1000, " ms"),
            _fmt(baseline.seconds * 1000, " ms"),
            subject.seconds / baseline.seconds,
        )
        for baseline in baselines
    ]


def table(rows: Sequence[Row]) -> Iterator[str]:
    """The rows as the lines of one Markdown table."""
    yield "| benchmark | case | mxroute | baseline | ratio |"
    yield "|---|---|---:|---:|---:|"
    for row in rows:
        yield f"| {row.benchmark} | {row.case} | {row.subject} | {row.baseline} | {row.ratio:.2f} |"


def main(argv: Sequence[str] | None = None) -> int:
    """Start BIND, run the benchmarks chosen by ``--only`` and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, figures meaningless")
    parser.add_argument(
        "--only", default="abcde", help="run only these benchmarks, e.g. --only ab (default abcde)"
    )
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    fanouts = (1, 5) if args.smoke else workload.FANOUTS
    started = time.perf_counter()
    zones = {"bench": workload.fanout_zone(fanouts), "bulk": workload.bulk_zone(sizes.bulk)}
    rows: list[Row] = []
    with BindServer(zones, minimal_responses=True) as bind:
        if "a" in args.only:
            rows += bench_round_trips(bind, sizes, fanouts)
        if "b" in args.only:
            rows += bench_bulk(bind, sizes)
        if "c" in args.only:
            rows += bench_cpu(bind, sizes)
    if "d" in args.only:
        rows += bench_memory(sizes)
    if "e" in args.only:
        rows += bench_import_time(sizes)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"mxroute {mxroute.__version__} benchmarks ({mode}), Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average at the end {load}"
    )
    print(
        f"(a) latency injected per query: {sizes.delay * 1000:.0f} ms; one round trip "
        f"(a plain dnspython query through the proxy) measured {ROUND_TRIP[0] * 1000:.1f} ms"
    )
    print("baseline (a), (b): dnspython's stub resolver, MX then A and AAAA host by host")
    print()
    for line in table(rows):
        print(line)
    print()
    print(f"total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
