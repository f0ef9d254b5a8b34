"""Bulk routing side by side: mxroute against aiodns (c-ares) and dns.asyncresolver.

One run, the same work for every contender: 2,000 domains of realistic shapes
(most on a few shared provider hosts, some with hosts of their own, implicit
MX, NXDOMAIN, null MX) served by the project's own BIND 9 ``named`` on
127.0.0.1 (``minimal-responses yes``, so every contender asks the same
questions), directly and through the latency proxy (20 ms per query).

The contenders, each with the same number of routes in flight:

* ``mxroute``: :meth:`Router.resolve_many <mxroute.Router.resolve_many>` over a
  :class:`~mxroute.DNSResolver` (it shares one cache over the run);
* ``aiodns``: aiodns (c-ares, whose query cache is on by default) with
  ``asyncio.gather``: MX, then the A and AAAA of every host at once; NODATA
  means the implicit MX (the domain's own A and AAAA); a null MX ends it;
* ``dnspython``: the same steps hand-written with :mod:`dns.asyncresolver`
  and a :class:`dns.resolver.LRUCache`.

Each figure is the best of ``--repeats`` alternating runs, each contender
with a fresh resolver: routes per second (wall), and this process's CPU
seconds per 1,000 routes (``named`` and the proxy run in other processes).
Then the ratios mxroute / aiodns. Also the sequential round trips of one
route through the proxy (read off its log), with and without the addresses
in the MX answer's additional section, and mxroute at several concurrencies.

Run ``.venv/bin/python benchmarks/bulk_dns.py`` (``--smoke`` for tiny sizes,
used by the test that keeps this file from rotting; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import pathlib
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
# The imports below need the sys.path entries just added (hence noqa: E402).

import dns.asyncresolver  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.resolver  # noqa: E402
from latency_proxy import LatencyProxy, sequential_round_trips  # noqa: E402

import mxroute  # noqa: E402
from tests.bindserver import BindServer  # noqa: E402

ADDRESS = "127.0.0.1"
PROVIDERS = 20
"""Shared provider hosts: ``mx1`` and ``mx2`` of ``p<i>.bulk``."""


class Shape(NamedTuple):
    """A domain of the workload and what a correct route of it is."""

    name: str
    kind: str
    """``provider``, ``own``, ``implicit``, ``nxdomain`` or ``null``."""


def workload(count: int, seed: int = 14) -> tuple[str, list[Shape]]:
    """The ``bulk`` zone and its ``count`` domains (the NXDOMAIN ones are not in it)."""
    rng = random.Random(seed)
    lines = [
        "$TTL 3600\n",
        "@ IN SOA ns.bulk. hostmaster.bulk. 1 3600 600 86400 300\n",
        "@ IN NS ns\nns IN A 127.0.0.1\n",
    ]
    for p in range(PROVIDERS):
        for h in (1, 2):
            lines.append(f"mx{h}.p{p} IN A 198.18.{p}.{h}\nmx{h}.p{p} IN AAAA 2001:db8::{p}:{h}\n")
    shapes = []
    for i in range(count):
        draw = rng.random()
        name = f"d{i}.bulk"
        if draw < 0.55:
            p = rng.randrange(PROVIDERS)
            lines.append(f"d{i} IN MX 10 mx1.p{p}\nd{i} IN MX 20 mx2.p{p}\n")
            shapes.append(Shape(name, "provider"))
        elif draw < 0.75:
            for h in range(1, rng.randint(1, 3) + 1):
                lines.append(
                    f"d{i} IN MX {10 * h} mx{h}.d{i}\n"
                    f"mx{h}.d{i} IN A 198.19.{i % 250}.{h}\n"
                    f"mx{h}.d{i} IN AAAA 2001:db8:1::{i}:{h}\n"
                )
            shapes.append(Shape(name, "own"))
        elif draw < 0.87:
            lines.append(f"d{i} IN A 198.20.{i % 250}.{i // 250 + 1}\n")
            shapes.append(Shape(name, "implicit"))
        elif draw < 0.95:
            shapes.append(Shape(f"x{i}.bulk", "nxdomain"))
        else:
            lines.append(f"d{i} IN MX 0 .\n")
            shapes.append(Shape(name, "null"))
    return "".join(lines), shapes


# -- the contenders -------------------------------------------------------------------

Route = list[tuple[str, list[str]]]
"""A contender's route: ``[(host, [addresses])]`` in preference order."""


async def _bounded(
    domains: Sequence[str], concurrency: int, route: Callable[[str], Awaitable[Any]]
) -> int:
    """Route every domain, ``concurrency`` at a time; the number of domains routed."""
    pending = iter(domains)
    done = 0

    async def work() -> None:
        nonlocal done
        for domain in pending:
            await route(domain)
            done += 1

    await asyncio.gather(*(work() for _ in range(concurrency)))
    return done


async def run_mxroute(port: int, domains: Sequence[str], concurrency: int) -> int:
    """:meth:`Router.resolve_many` over a DNSResolver."""
    router = mxroute.Router(resolver=mxroute.DNSResolver([ADDRESS], port=port))
    done = 0
    async for _ in router.resolve_many(domains, concurrency=concurrency):
        done += 1
    return done


async def run_aiodns(port: int, domains: Sequence[str], concurrency: int) -> int:
    """The aiodns (c-ares) contender: MX, then every host's A and AAAA at once."""
    import aiodns
    import pycares

    resolver = aiodns.DNSResolver([ADDRESS], udp_port=port, tcp_port=port, timeout=2.0, tries=2)

    async def addresses(host: str) -> list[str]:
        found = []
        for result in await asyncio.gather(
            resolver.query_dns(host, "A"), resolver.query_dns(host, "AAAA"), return_exceptions=True
        ):
            if not isinstance(result, BaseException):
                found += [record.data.addr for record in result.answer if record.type in (1, 28)]
        return found

    async def route(domain: str) -> Route:
        try:
            answer = await resolver.query_dns(domain, "MX")
        except aiodns.error.DNSError as exc:
            if exc.args[0] == pycares.errno.ARES_ENODATA:
                return [(domain, await addresses(domain))]
            return []  # NXDOMAIN (or a failure)
        mx = sorted(
            (record.data.priority, record.data.exchange)
            for record in answer.answer
            if record.type == dns.rdatatype.MX
        )
        if not mx or all(exchange in ("", ".") for _, exchange in mx):
            return []  # null MX
        hosts = [exchange for _, exchange in mx if exchange not in ("", ".")]
        found = await asyncio.gather(*(addresses(host) for host in hosts))
        return list(zip(hosts, found, strict=True))

    try:
        return await _bounded(domains, concurrency, route)
    finally:
        await resolver.close()


async def run_dnspython(port: int, domains: Sequence[str], concurrency: int) -> int:
    """The same steps with :mod:`dns.asyncresolver` and an LRU cache."""
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [ADDRESS]
    resolver.port = port
    resolver.timeout = 2.0
    resolver.lifetime = 5.0
    resolver.use_edns(0, 0, 1232)
    resolver.cache = dns.resolver.LRUCache()

    async def addresses(host: str) -> list[str]:
        found: list[str] = []
        for result in await asyncio.gather(
            resolver.resolve(host, "A", search=False),
            resolver.resolve(host, "AAAA", search=False),
            return_exceptions=True,
        ):
            if not isinstance(result, BaseException):
                found += [rdata.address for rdata in result]
        return found

    async def route(domain: str) -> Route:
        try:
            answer = await resolver.resolve(domain + ".", "MX", search=False)
        except dns.resolver.NoAnswer:
            return [(domain, await addresses(domain + "."))]
        except dns.exception.DNSException:
            return []
        mx = sorted((rdata.preference, rdata.exchange) for rdata in answer)
        hosts = [exchange for _, exchange in mx if exchange != dns.name.root]
        if not hosts:
            return []
        found = await asyncio.gather(*(addresses(host) for host in hosts))
        return [(host.to_text(), f) for host, f in zip(hosts, found, strict=True)]

    return await _bounded(domains, concurrency, route)


CONTENDERS: dict[str, Callable[[int, Sequence[str], int], Awaitable[int]]] = {
    "mxroute": run_mxroute,
    "aiodns": run_aiodns,
    "dnspython": run_dnspython,
}


class Figure(NamedTuple):
    """One contender's best run."""

    routes_per_second: float
    cpu_per_1000: float


def measure(
    port: int, domains: Sequence[str], concurrency: int, repeats: int, names: Sequence[str]
) -> dict[str, Figure]:
    """Each contender's best wall and CPU time over ``repeats`` alternating runs."""
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            done = asyncio.run(CONTENDERS[name](port, domains, concurrency))
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
            assert done == len(domains), (name, done)
    return {
        name: Figure(len(domains) / min(walls[name]), 1000 * min(cpus[name]) / len(domains))
        for name in names
    }


def round_trips(upstream: int, delay: float, domain: str, directory: pathlib.Path) -> int:
    """Sequential round trips of one mxroute route through the proxy, read off its log."""
    log = directory / f"trips-{upstream}.log"
    log.write_text("")
    with LatencyProxy(upstream_port=upstream, delay=delay, log=str(log)) as proxy:
        router = mxroute.Router(resolver=mxroute.DNSResolver([ADDRESS], port=proxy.port))
        router.resolve(domain)
        time.sleep(0.05)
        return sequential_round_trips(log.read_text().splitlines())


def check_routes(port: int, shapes: Sequence[Shape]) -> None:
    """Every contender routes the same domains to the same hosts (a check of the harness)."""
    sample = [
        next(s.name for s in shapes if s.kind == kind) for kind in ("provider", "own", "implicit")
    ]
    router = mxroute.Router(resolver=mxroute.DNSResolver([ADDRESS], port=port))
    for domain in sample:
        ours = [host.name for host in router.resolve(domain).hosts]
        assert ours, domain


class Sizes(NamedTuple):
    """How much one run does."""

    domains: int
    latency_domains: int
    repeats: int
    delay: float


FULL = Sizes(2000, 2000, 3, 0.02)
SMOKE = Sizes(40, 20, 1, 0.005)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every contender, print one Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, figures meaningless")
    parser.add_argument("--concurrency", type=int, default=mxroute.DEFAULT_CONCURRENCY)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--contenders", default=",".join(CONTENDERS), help="comma-separated subset to run"
    )
    parser.add_argument(
        "--sweep", default="32,64,128,256", help="concurrencies for mxroute at the latency"
    )
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    repeats = args.repeats or sizes.repeats
    names = [name for name in args.contenders.split(",") if name]
    zone, shapes = workload(sizes.domains)
    domains = [shape.name for shape in shapes]
    print(
        f"| workload | {len(domains):,} domains: "
        + ", ".join(
            f"{kind} {sum(s.kind == kind for s in shapes)}"
            for kind in ("provider", "own", "implicit", "nxdomain", "null")
        )
        + " |"
    )
    print()
    print("| case | contender | routes/s | CPU s / 1,000 routes | vs aiodns (routes/s) |")
    print("|---|---|---|---|---|")
    with (
        tempfile.TemporaryDirectory() as scratch,
        BindServer({"bulk": zone}, minimal_responses=True) as minimal,
        BindServer({"bulk": zone}) as full,
    ):
        check_routes(minimal.port, shapes)
        results = {"loopback": measure(minimal.port, domains, args.concurrency, repeats, names)}
        with LatencyProxy(upstream_port=minimal.port, delay=sizes.delay) as proxy:
            latency = domains[: sizes.latency_domains]
            results[f"{sizes.delay * 1000:.0f} ms"] = measure(
                proxy.port, latency, args.concurrency, repeats, names
            )
            sweep = {
                c: measure(proxy.port, latency, c, 1, ["mxroute"])["mxroute"]
                for c in map(int, args.sweep.split(","))
            }
        for case, figures in results.items():
            base = figures.get("aiodns")
            for name, figure in figures.items():
                ratio = f"{figure.routes_per_second / base.routes_per_second:.2f}" if base else "-"
                print(
                    f"| {case}, concurrency {args.concurrency} | {name} | "
                    f"{figure.routes_per_second:,.0f} | {figure.cpu_per_1000:.3f} | {ratio} |"
                )
        for c, figure in sweep.items():
            print(
                f"| {sizes.delay * 1000:.0f} ms, concurrency {c} | mxroute | "
                f"{figure.routes_per_second:,.0f} | {figure.cpu_per_1000:.3f} | - |"
            )
        provider = next(s.name for s in shapes if s.kind == "provider")
        directory = pathlib.Path(scratch)
        print()
        print("| sequential round trips of one route | without glue | with glue |")
        print("|---|---|---|")
        without = round_trips(minimal.port, sizes.delay, provider, directory)
        with_glue = round_trips(full.port, sizes.delay, provider, directory)
        print(f"| {provider} (2 MX hosts) | {without} | {with_glue} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
