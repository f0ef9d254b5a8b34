"""The memory of ``mxroute route -`` does not grow with the size of its input.

Runs the installed command (``python -m mxroute``) as a subprocess over the
bundled zone (``--zone examples/example.zone``, offline), feeding standard
input from a thread, and reads each child's own peak resident set size
(``os.wait4``'s ``ru_maxrss``). The baseline, run side by side, is the same
command over an empty input: the interpreter, mxroute and the zone, before
any target. A row's ratio is its peak over the one of the smallest input; a
command whose memory is constant gives about 1.0 however much larger the
input is (the target: at most 1.1 for ten times the lines).

The lines cycle through the zone's addresses (routes, bounces, an implicit
MX) with every other line a name seen once (``u123.nowhere.example``), so a
cache or a record of what was asked would show up as growth.

A second table times streaming in-process: ``mxroute.cli.main(["route",
"-"])`` over 1,000 domains of an :class:`~mxroute.InMemoryResolver` whose
answers take 10 ms, 20 of them 1 s (slow name servers), against
``Router.resolve_many_sync`` over the same domains side by side (each run
with a new cache, as ``resolve_many_sync`` makes one): the wall
time until 98 % of the lines (every fast domain) are out, and until all are.

``--smoke`` uses tiny inputs, for the test that keeps this file from
rotting; its figures mean nothing. ``--json`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ZONE = ROOT / "examples" / "example.zone"
SEEN_AGAIN = [
    "alice@shop.example",
    "bob@blog.example",
    "carol@parked.example",
    "dave@legacy.example",
    "frank@nowhere.example",
]


def lines(count: int) -> Iterator[bytes]:
    """``count`` input lines: known targets alternating with names seen once."""
    for i in range(count):
        if i % 2:
            yield f"u{i}.nowhere.example\n".encode()
        else:
            yield (SEEN_AGAIN[(i // 2) % len(SEEN_AGAIN)] + "\n").encode()


def feed(stream: IO[bytes], count: int) -> None:
    """Write the lines in chunks of about 64 KiB, then close the stream."""
    chunk: list[bytes] = []
    size = 0
    try:
        for line in lines(count):
            chunk.append(line)
            size += len(line)
            if size >= 1 << 16:
                stream.write(b"".join(chunk))
                chunk, size = [], 0
        stream.write(b"".join(chunk))
    finally:
        stream.close()


def measure(count: int, *extra: str) -> dict[str, Any]:
    """Peak RSS (KiB) and wall time of ``mxroute route --zone ZONE -`` over ``count`` lines."""
    argv = [sys.executable, "-m", "mxroute", "route", "--zone", str(ZONE), *extra, "-"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdin is not None
    assert proc.stderr is not None
    writer = threading.Thread(target=feed, args=(proc.stdin, count))
    writer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    writer.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in (0, 1) or errors:
        raise SystemExit(f"mxroute exited {proc.returncode}: {errors}")
    return {"lines": count, "peak_rss_kib": usage.ru_maxrss, "seconds": round(elapsed, 2)}


class _Clock(io.StringIO):
    """Standard output that notes when each target's outcome came.

    The command writes each outcome in one call; the times are in seconds
    from ``start``.
    """

    def __init__(self, start: float) -> None:
        super().__init__()
        self.start = start
        self.times: list[float] = []

    def write(self, text: str) -> int:
        if text:
            self.times.append(time.perf_counter() - self.start)
        return len(text)


def streaming(count: int, slow: int, latency: float, slow_latency: float) -> list[dict[str, Any]]:
    """Seconds to 98 % of the lines and to all, for the CLI and resolve_many_sync."""
    from mxroute import CachingResolver, InMemoryResolver, Router
    from mxroute.cli import main as cli_main

    fake = InMemoryResolver(latency=latency)
    domains = [f"d{i}.example" for i in range(count)]
    for domain in domains:
        fake.add(domain, "MX", "10 mx.hosting.example.")
    fake.add("mx.hosting.example", "A", "192.0.2.1")
    for domain in domains[:: count // slow][:slow]:
        fake.delay(domain, slow_latency)
    fake.queries = _Unrecorded()
    rows = []
    for name, ordered in (("mxroute route -", False), ("mxroute route --ordered -", True)):
        saved = sys.stdin, sys.stdout
        start = time.perf_counter()
        clock = _Clock(start)
        sys.stdin, sys.stdout = io.StringIO("\n".join(domains) + "\n"), clock
        try:
            # One cache for the run, as resolve_many_sync makes one.
            cache = CachingResolver(fake)
            cli_main(["route", *(["--ordered"] if ordered else []), "-"], resolver=cache)
        finally:
            sys.stdin, sys.stdout = saved
        rows.append(_timing(name, sorted(clock.times), count - slow))
    start = time.perf_counter()
    times = []
    for _ in Router(resolver=fake).resolve_many_sync(domains):
        times.append(time.perf_counter() - start)
    rows.append(_timing("Router.resolve_many_sync (baseline)", times, count - slow))
    return rows


def _timing(name: str, times: list[float], fast: int) -> dict[str, Any]:
    return {
        "run": name,
        "fast_done_s": round(times[fast - 1], 2),
        "all_done_s": round(times[-1], 2),
    }


class _Unrecorded(list[Any]):
    """A questions list that keeps nothing (the benchmark reads none)."""

    def append(self, item: Any) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    """Measure, then print a Markdown table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny inputs; figures mean nothing")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    sizes = [200, 2_000] if args.smoke else [10_000, 100_000]
    rows = [measure(0)]
    for ordered in (False, True):
        extra = ("--ordered",) if ordered else ()
        for count in sizes:
            row = measure(count, *extra)
            row["ordered"] = ordered
            rows.append(row)
    floor = rows[0]["peak_rss_kib"]
    rows[0]["ordered"] = None
    for row in rows:
        first = next(r for r in rows if r["ordered"] == row["ordered"])
        row["over_floor"] = round(row["peak_rss_kib"] / floor, 3)
        row["over_smallest"] = round(row["peak_rss_kib"] / first["peak_rss_kib"], 3)
    timed = streaming(100, 2, 0.001, 0.05) if args.smoke else streaming(1000, 20, 0.01, 1.0)
    if args.json:
        print(json.dumps({"memory": rows, "streaming": timed}, indent=2))
        return 0
    print("| input lines | order | peak RSS (MiB) | vs empty input | vs smallest | wall (s) |")
    print("|---:|---|---:|---:|---:|---:|")
    for row in rows:
        order = {None: "-", False: "completion", True: "--ordered"}[row["ordered"]]
        print(
            f"| {row['lines']:,} | {order} | {row['peak_rss_kib'] / 1024:.1f} "
            f"| {row['over_floor']:.3f} | {row['over_smallest'] if row['lines'] else '-'} "
            f"| {row['seconds']} |"
        )
    print()
    print("| run (1,000 domains, 20 slow) | fast lines out (s) | all lines out (s) |")
    print("|---|---:|---:|")
    for row in timed:
        print(f"| {row['run']} | {row['fast_done_s']} | {row['all_done_s']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
