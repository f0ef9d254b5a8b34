"""``mxroute route --jobs N``: routes per second with 1, 2, ... worker processes.

The workload of ``benchmarks/bulk_dns.py`` (domains of realistic shapes on
shared provider hosts, implicit MX, NXDOMAIN, null MX), served by the
project's own BIND 9 ``named`` on 127.0.0.1. Each run is the real command in
a fresh process, ``mxroute route --nameserver 127.0.0.1:PORT --json -``, the
domains on standard input, the JSON lines read and counted; the figure is the
best wall time of ``--repeats`` alternating runs per job count, as routes per
second and as the ratio to ``--jobs 1`` of the same run. ``named`` runs on the
same machine and takes CPU from the workers: on a machine with few cores the
ratio is bounded by that too (the report gives ``named``'s share).

Run ``.venv/bin/python benchmarks/jobs.py`` (``--smoke`` for tiny sizes, used by
the test that keeps this file from rotting; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bulk_dns import workload  # noqa: E402  (needs the sys.path entries above)

from tests.bindserver import BindServer  # noqa: E402


def run(port: int, stdin: bytes, jobs: int) -> tuple[float, int, int]:
    """One run of the command: its wall time, the results it printed, how many temporary."""
    command = [sys.executable, "-m", "mxroute", "route", "--json", "-"]
    command += ["--nameserver", f"127.0.0.1:{port}", "--jobs", str(jobs)]
    started = time.perf_counter()
    done = subprocess.run(command, input=stdin, capture_output=True, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1, 75):  # 1: some domains take no mail; 75: some temporary
        raise SystemExit(f"mxroute exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed, done.stdout.count(b"\n"), done.stdout.count(b'"status": "temporary"')


def named_cpu(pid: int) -> float:
    """CPU seconds ``named`` has used so far (Linux /proc)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print one Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, figures meaningless")
    parser.add_argument("--domains", type=int, default=None)
    parser.add_argument("--jobs", default="1,2", help="comma-separated job counts")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    count = args.domains or (300 if args.smoke else 30_000)
    repeats = args.repeats or (1 if args.smoke else 3)
    counts = [int(j) for j in args.jobs.split(",")]
    zone, shapes = workload(count)
    stdin = "".join(f"{s.name}\n" for s in shapes).encode()
    best: dict[int, float] = {}
    server_cpu: dict[int, float] = {}
    failed: dict[int, int] = {}
    with BindServer({"bulk": zone}, minimal_responses=True) as server:
        pid = server._process.pid if server._process else 0  # the named process
        for _ in range(repeats):
            for jobs in counts:
                before = named_cpu(pid) if pid else 0.0
                elapsed, printed, temporary = run(server.port, stdin, jobs)
                failed[jobs] = max(failed.get(jobs, 0), temporary)
                if printed != count:
                    raise SystemExit(f"--jobs {jobs}: {printed} results for {count} domains")
                if elapsed < best.get(jobs, float("inf")):
                    best[jobs] = elapsed
                    server_cpu[jobs] = (named_cpu(pid) - before) if pid else 0.0
    print(f"| workload | {count:,} domains, best of {repeats}, {os.cpu_count()} cores |")
    print()
    print("| --jobs | routes/s | vs --jobs 1 | named CPU s | temporary failures |")
    print("|---|---|---|---|---|")
    base = best[counts[0]]
    for jobs in counts:
        print(
            f"| {jobs} | {count / best[jobs]:,.0f} | {base / best[jobs]:.2f} | "
            f"{server_cpu[jobs]:.2f} | {failed[jobs]} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
