"""Memory per route in flight and per cache entry, measured with tracemalloc.

* **Per route in flight**: ``Router.resolve_many`` over an in-memory resolver
  whose every answer takes ``--latency`` seconds (``InMemoryResolver(latency=)``,
  asyncio sleeps), so that ``concurrency`` routes are in flight at once. The
  figure is the peak of traced memory during the run, less the peak of the same
  run at concurrency 1, divided by the extra routes in flight. It counts what
  mxroute holds per route (the planner's generator and state, the batch, the
  answers so far, the engine's bookkeeping), not the resolver's zone.
* **Per cache entry**: a :class:`~mxroute.CachingResolver` filled with
  ``--entries`` answers (MX and A answers of distinct names, as a bulk run
  leaves them); the traced memory it holds after, less before, divided by the
  number of entries.

Run ``.venv/bin/python benchmarks/memory_per_route.py`` (``--smoke`` for tiny
sizes, used by the test that keeps this file from rotting).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import pathlib
import sys
import tracemalloc
from collections.abc import Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import mxroute  # noqa: E402  (needs the sys.path entry above)


def world(count: int) -> mxroute.InMemoryResolver:
    """``d<i>.example``: two MX hosts each, at one of 20 shared providers."""
    lines = ["$ORIGIN example.\n$TTL 3600\n@ SOA ns hostmaster 1 7200 900 1209600 300\n"]
    for p in range(20):
        lines.append(f"mx1.p{p} A 192.0.2.{p + 1}\nmx2.p{p} AAAA 2001:db8::{p + 1:x}\n")
    for i in range(count):
        lines.append(f"d{i} MX 10 mx1.p{i % 20}\nd{i} MX 20 mx2.p{i % 20}\n")
    return mxroute.InMemoryResolver.from_zone("".join(lines), max_records=3 * count + 100)


def peak_of_run(fake: mxroute.InMemoryResolver, count: int, concurrency: int) -> int:
    """The peak traced memory of routing ``count`` domains at ``concurrency``."""
    router = mxroute.Router(resolver=fake)
    domains = [f"d{i}.example" for i in range(count)]

    async def run() -> int:
        done = 0
        async for _, result in router.resolve_many(domains, concurrency=concurrency):
            assert isinstance(result, mxroute.MailRoute), result
            done += 1
        return done

    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    done = asyncio.run(run())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert done == count
    return peak


def per_cache_entry(entries: int) -> float:
    """Bytes a CachingResolver holds per cached answer."""
    fake = world(entries // 2)
    cache = mxroute.CachingResolver(fake)
    names = [f"d{i}.example" for i in range(entries // 2)]
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for name in names:
        cache.query(name, "MX")
        cache.query(name, "A")  # NODATA: a negative entry
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (after - before) / (2 * len(names))


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print one Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args(argv)
    count, high, entries = (64, 16, 200) if args.smoke else (2_000, 256, 10_000)
    fake = world(count)
    fake.latency = args.latency
    base = peak_of_run(fake, count, 1)
    peak = peak_of_run(fake, count, high)
    print("| measure | bytes |")
    print("|---|---:|")
    print(f"| per route in flight (concurrency {high} vs 1) | {(peak - base) / (high - 1):,.0f} |")
    print(f"| per cache entry ({entries:,} answers) | {per_cache_entry(entries):,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
