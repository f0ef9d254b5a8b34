"""``mxroute check -`` streams: constant memory over a million domains, and its rate.

Two measurements, each against a baseline run side by side:

Memory: the installed command (``python -m mxroute check --json --zone
examples/example.zone -``) runs as a subprocess over 10,000, 100,000 and
1,000,000 input lines, fed from a thread, and each child's own peak resident
set size is read (``os.wait4``'s ``ru_maxrss``). The baseline is the same
command over an empty input (the interpreter, mxroute and the zone, before
any target). The lines are those of ``benchmarks/cli_memory.py``: the zone's
addresses (deliverable, null MX, dangling MX, implicit MX) alternating with
names seen once, so a cache or a record of what was asked would show up as
growth. Constant memory means a ratio near 1.0 however large the input.

Rate: in-process over the same domains of an :class:`~mxroute.InMemoryResolver`
(every domain at one provider, no latency: the figure is mxroute's own CPU
cost per domain), ``mxroute.cli.main(["check", "-"])`` and
:func:`mxroute.audit_many` against :meth:`Router.resolve_many_sync
<mxroute.Router.resolve_many_sync>`, the routing baseline. An audit asks
what the route asks (one MX question, then the hosts' A and AAAA) and then
judges it, so its rate is below routing's; the ratio says by how much.

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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
# The import below needs the sys.path entries just added (hence noqa: E402).
from cli_memory import ZONE, _Unrecorded, feed  # noqa: E402


def peak(count: int) -> dict[str, Any]:
    """Peak RSS (KiB) and wall time of ``mxroute check --json --zone ZONE -`` over ``count``."""
    argv = [sys.executable, "-m", "mxroute", "check", "--json", "--zone", str(ZONE), "-"]
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
    code = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if code not in (0, 1) or errors:
        raise SystemExit(f"mxroute exited {code}: {errors}")
    return {"lines": count, "peak_rss_kib": usage.ru_maxrss, "seconds": round(elapsed, 2)}


class _Null(io.TextIOBase):
    """Standard output that keeps nothing."""

    def write(self, text: str) -> int:
        return len(text)


def rates(count: int) -> list[dict[str, Any]]:
    """Domains a second for check -, audit_many and resolve_many_sync (the baseline)."""
    from mxroute import InMemoryResolver, Router, audit_many
    from mxroute.cli import main as cli_main

    fake = InMemoryResolver()
    domains = [f"d{i}.example" for i in range(count)]
    for domain in domains:
        fake.add(domain, "MX", "10 mx1.hosting.example.", "20 mx2.hosting.example.")
    fake.add("mx1.hosting.example", "A", "192.0.2.1")
    fake.add("mx1.hosting.example", "AAAA", "2001:db8::1")
    fake.add("mx2.hosting.example", "A", "198.51.100.2")
    fake.queries = _Unrecorded()

    def check_command() -> None:
        saved = sys.stdin, sys.stdout
        sys.stdin, sys.stdout = io.StringIO("\n".join(domains) + "\n"), _Null()
        try:
            cli_main(["check", "--json", "-"], resolver=fake)
        finally:
            sys.stdin, sys.stdout = saved

    runs = {
        "Router.resolve_many_sync (baseline)": lambda: sum(
            1 for _ in Router(resolver=fake).resolve_many_sync(domains)
        ),
        "audit_many": lambda: sum(1 for _ in audit_many(domains, fake)),
        "mxroute check --json -": check_command,
    }
    rows = []
    for name, run in runs.items():
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        rows.append({"run": name, "domains": count, "per_second": round(count / elapsed)})
    base = rows[0]["per_second"]
    for row in rows:
        row["vs_resolve_many"] = round(row["per_second"] / base, 3)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure, then print Markdown tables (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny inputs; figures mean nothing")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    sizes = [100, 1_000] if args.smoke else [10_000, 100_000, 1_000_000]
    memory = [peak(0)] + [peak(count) for count in sizes]
    floor, smallest = memory[0]["peak_rss_kib"], memory[1]["peak_rss_kib"]
    for row in memory:
        row["vs_empty"] = round(row["peak_rss_kib"] / floor, 3)
        row["vs_smallest"] = round(row["peak_rss_kib"] / smallest, 3) if row["lines"] else None
    rate = rates(200 if args.smoke else 20_000)
    if args.json:
        print(json.dumps({"memory": memory, "rate": rate}, indent=2))
        return 0
    print("| input lines | peak RSS (MiB) | vs empty input | vs 10,000 lines | wall (s) |")
    print("|---:|---:|---:|---:|---:|")
    for row in memory:
        smallest_ratio = "-" if row["vs_smallest"] is None else f"{row['vs_smallest']:.3f}"
        print(
            f"| {row['lines']:,} | {row['peak_rss_kib'] / 1024:.1f} | {row['vs_empty']:.3f} "
            f"| {smallest_ratio} | {row['seconds']} |"
        )
    print()
    print(f"| run ({rate[0]['domains']:,} domains, no latency) | domains/s | vs resolve_many |")
    print("|---|---:|---:|")
    for row in rate:
        print(f"| {row['run']} | {row['per_second']:,} | {row['vs_resolve_many']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
