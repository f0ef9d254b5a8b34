"""How long ``import mxroute`` takes, side by side with email_validator and dns.resolver.

Run it with the ``bench`` extra installed::

    python benchmarks/import_time.py            # 15 runs of each, a report
    python benchmarks/import_time.py --runs 5   # fewer runs
    python benchmarks/import_time.py --json     # the same, as JSON

Each run is a fresh interpreter, ``python -X importtime -c "import NAME"``,
started from the repository's root (so the ``mxroute`` of this checkout is
the one imported). The figure of a run is the cumulative time the interpreter
reports for the top-level import of ``NAME`` (every module it pulls in, the
ones already loaded at interpreter start-up excepted); the report gives the
median of the runs. One unmeasured run of each comes first, so that the
bytecode caches are written before any run counts. The report also gives
the median wall time of the whole interpreter with the import, less the
median wall time of one that imports nothing (``-c pass``), and says which
of the modules ``asyncio``, ``dns.asyncquery`` and ``dns.asyncresolver``
each import loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUBJECT = "mxroute"
BASELINES = ("email_validator", "dns.resolver")
WATCHED = ("asyncio", "dns.asyncquery", "dns.asyncresolver")
"""Modules that ``import mxroute`` should not load (they cost start-up time)."""


class ImportTime(NamedTuple):
    """The figures of one module's import."""

    module: str
    seconds: float  # median cumulative time of the import, from -X importtime
    wall_seconds: float  # median wall time of the interpreter, less one importing nothing
    watched: tuple[str, ...]  # the WATCHED modules that the import loaded


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(code: str, importtime: bool) -> tuple[float, str]:
    """Run ``python -c code`` once; return its wall time and its standard error."""
    options = ["-X", "importtime"] if importtime else []
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *options, "-c", code],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return time.perf_counter() - started, done.stderr


def parse_importtime(stderr: str, module: str) -> tuple[float, set[str]]:
    """The cumulative seconds of ``module``'s top-level import, and every module imported.

    ``-X importtime`` writes one line per module, ``import time: self [us] |
    cumulative | name``, the name indented by its depth; a module's line comes
    after the lines of the modules it imported.
    """
    cumulative = None
    loaded: set[str] = set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, total, name = line[len("import time:") :].split("|")
        if not total.strip().isdigit():
            continue  # the header line
        loaded.add(name.strip())
        if name == " " + module:  # depth 0: the import itself, not a nested one
            cumulative = int(total) / 1e6
    if cumulative is None:
        raise RuntimeError(f"-X importtime reported no top-level import of {module}")
    return cumulative, loaded


def measure(module: str, runs: int, bare_wall: float) -> ImportTime:
    """The median import time of ``module`` over ``runs`` fresh interpreters."""
    code = f"import {module}"
    _run(code, importtime=True)  # writes the bytecode caches; not counted
    cumulative: list[float] = []
    walls: list[float] = []
    loaded: set[str] = set()
    for _ in range(runs):
        _, stderr = _run(code, importtime=True)
        figure, loaded = parse_importtime(stderr, module)
        cumulative.append(figure)
        walls.append(_run(code, importtime=False)[0])
    return ImportTime(
        module,
        statistics.median(cumulative),
        statistics.median(walls) - bare_wall,
        tuple(name for name in WATCHED if name in loaded),
    )


def measure_all(runs: int) -> list[ImportTime]:
    """The figures of each import: mxroute's first, then each baseline's."""
    _run("pass", importtime=False)
    bare = statistics.median(_run("pass", importtime=False)[0] for _ in range(runs))
    return [measure(module, runs, bare) for module in (SUBJECT, *BASELINES)]


def report(results: Sequence[ImportTime]) -> list[str]:
    """The figures as lines of text."""
    lines = [f"import time, median of fresh interpreters (Python {sys.version.split()[0]}):"]
    for result in results:
        watched = ", ".join(result.watched) or "none"
        lines.append(
            f"  import {result.module}: {result.seconds * 1000:.1f} ms (-X importtime), "
            f"{result.wall_seconds * 1000:.1f} ms (wall, over a bare interpreter); "
            f"loads {watched} of {', '.join(WATCHED)}"
        )
    subject = results[0]
    for baseline in results[1:]:
        lines.append(
            f"  ratio import {subject.module} / import {baseline.module}: "
            f"{subject.seconds / baseline.seconds:.2f}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the imports and print the report (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each import (default 15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    results = measure_all(max(1, args.runs))
    if args.json:
        print(json.dumps([result._asdict() for result in results], indent=2))
    else:
        print("\n".join(report(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
