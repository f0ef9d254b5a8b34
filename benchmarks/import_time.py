"""How long ``import mxroute`` and its lightest calls take, beside email_validator and dnspython.

Run it with the ``bench`` extra installed::

    python benchmarks/import_time.py            # 15 runs of each, a report
    python benchmarks/import_time.py --runs 5   # fewer runs
    python benchmarks/import_time.py --json     # the same, as JSON

Each run is a fresh interpreter, ``python -X importtime -c CODE``, started
from the repository's root (so the ``mxroute`` of this checkout is the one
imported); the report gives the median of the runs. One unmeasured run of
each comes first, so that the bytecode caches are written before any run
counts, and then the cases take turns, one run of each per round, so that a
change in the machine's load weighs on all of them alike.

* The imports (``import mxroute``, ``import email_validator``, ``import
  dns.resolver``): the figure of a run is the cumulative time the
  interpreter reports for the top-level import (every module it pulls in,
  the ones already loaded at interpreter start-up excepted).
* The light calls (``mxroute.MXRecord.parse``, ``mxroute.validate_address``,
  ``mxroute.resolve`` over an ``InMemoryResolver``, and email_validator's
  ``validate_email`` without DNS beside them): ``mxroute`` loads each name on
  first use, so the figure of a run is the sum of the cumulative times of
  every import the code made, at the top level, of a module that a bare
  interpreter does not load.

The report also gives the median wall time of the whole interpreter running
the code, each run less the wall time of one that runs nothing (``-c pass``)
started right after it, and says which of the modules ``asyncio``, ``dns.asyncquery`` and
``dns.asyncresolver`` each one loaded.
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
from collections.abc import Callable, Sequence
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUBJECT = "mxroute"
BASELINES = ("email_validator", "dns.resolver")
WATCHED = ("asyncio", "dns.asyncquery", "dns.asyncresolver")
"""Modules that ``import mxroute`` should not load (they cost start-up time)."""

_IN_MEMORY = (
    "f = mxroute.InMemoryResolver(); f.add('example.com', 'MX', '10 mx.example.com.');"
    " f.add('mx.example.com', 'A', '192.0.2.1'); mxroute.resolve('alice@example.com', resolver=f)"
)
CALLS = {
    "mxroute.MXRecord.parse": "import mxroute; mxroute.MXRecord.parse('10 mx.example.com.')",
    "mxroute.validate_address": "import mxroute; mxroute.validate_address('alice@example.com')",
    "mxroute.resolve(InMemoryResolver)": f"import mxroute; {_IN_MEMORY}",
    "email_validator.validate_email (no DNS)": (
        "import email_validator; "
        "email_validator.validate_email('alice@example.com', check_deliverability=False)"
    ),
}
"""The lightest useful calls, each the whole program of a fresh interpreter."""
CALL_SUBJECT = 1
"""The call of CALLS compared with the last one: validate_address with validate_email."""


class ImportTime(NamedTuple):
    """The figures of one module's import."""

    module: str  # the module imported, or the name of the call in CALLS
    seconds: float  # median cumulative time of the import(s), from -X importtime
    wall_seconds: float  # median wall time of the interpreter, less one running nothing
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


def importtime_lines(stderr: str) -> list[tuple[int, int, str]]:
    """Each line of ``-X importtime``: its cumulative microseconds, depth, module name.

    The lines read ``import time: self [us] | cumulative | name``, the name
    indented two spaces per depth; a module's line comes after the lines of
    the modules it imported.
    """
    lines = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, total, name = line[len("import time:") :].split("|")
        if not total.strip().isdigit():
            continue  # the header line
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        lines.append((int(total), depth, name.strip()))
    return lines


def parse_importtime(stderr: str, module: str) -> tuple[float, set[str]]:
    """The cumulative seconds of ``module``'s top-level import, and every module imported."""
    lines = importtime_lines(stderr)
    cumulative = [total for total, depth, name in lines if depth == 0 and name == module]
    if not cumulative:
        raise RuntimeError(f"-X importtime reported no top-level import of {module}")
    return cumulative[-1] / 1e6, {name for _, _, name in lines}


def parse_imports(stderr: str, startup: set[str]) -> tuple[float, set[str]]:
    """The seconds of every top-level import not in ``startup``, and every module imported."""
    lines = importtime_lines(stderr)
    total = sum(micros for micros, depth, name in lines if depth == 0 and name not in startup)
    return total / 1e6, {name for _, _, name in lines}


class Case(NamedTuple):
    """One thing to measure: a label, the code a fresh interpreter runs, how to read its figure."""

    label: str
    code: str
    figure_of: Callable[[str], tuple[float, set[str]]]  # -X importtime output -> seconds, modules


def import_case(module: str) -> Case:
    """``import module``, its figure the cumulative time of that top-level import."""
    return Case(module, f"import {module}", lambda err: parse_importtime(err, module))


def call_case(name: str, code: str) -> Case:
    """``code``, its figure the time of every import it made beyond a bare interpreter's."""
    startup = {module for _, _, module in importtime_lines(_run("pass", importtime=True)[1])}
    return Case(name, code, lambda err: parse_imports(err, startup))


def measure(cases: Sequence[Case], runs: int) -> list[ImportTime]:
    """The median figures of each case over ``runs`` rounds of fresh interpreters.

    The cases take turns within each round, so that a change in the load of a
    shared machine weighs on all of them alike rather than on whichever ran then.
    """
    for case in cases:
        _run(case.code, importtime=True)  # writes the bytecode caches; not counted
    cumulative: list[list[float]] = [[] for _ in cases]
    walls: list[list[float]] = [[] for _ in cases]
    loaded: list[set[str]] = [set() for _ in cases]
    for _ in range(runs):
        for index, case in enumerate(cases):
            figure, loaded[index] = case.figure_of(_run(case.code, importtime=True)[1])
            cumulative[index].append(figure)
            # The wall time less that of a bare interpreter started right after it.
            wall = _run(case.code, importtime=False)[0] - _run("pass", importtime=False)[0]
            walls[index].append(wall)
    return [
        ImportTime(
            case.label,
            statistics.median(cumulative[index]),
            statistics.median(walls[index]),
            tuple(name for name in WATCHED if name in loaded[index]),
        )
        for index, case in enumerate(cases)
    ]


def measure_all(runs: int) -> list[ImportTime]:
    """The figures of each import: mxroute's first, then each baseline's."""
    return measure([import_case(module) for module in (SUBJECT, *BASELINES)], runs)


def measure_everything(runs: int) -> tuple[list[ImportTime], list[ImportTime]]:
    """The figures of each import (as :func:`measure_all`) and of each light call of CALLS."""
    imports = [import_case(module) for module in (SUBJECT, *BASELINES)]
    calls = [call_case(name, code) for name, code in CALLS.items()]
    figures = measure([*imports, *calls], runs)
    return figures[: len(imports)], figures[len(imports) :]


def report(results: Sequence[ImportTime], calls: Sequence[ImportTime] = ()) -> list[str]:
    """The figures as lines of text: the imports, their ratios, then the light calls."""
    lines = [f"import time, median of fresh interpreters (Python {sys.version.split()[0]}):"]
    for result in results:
        lines.append(_line(f"import {result.module}", result))
    subject = results[0]
    for baseline in results[1:]:
        lines.append(
            f"  ratio import {subject.module} / import {baseline.module}: "
            f"{subject.seconds / baseline.seconds:.2f}"
        )
    if calls:
        lines.append("light calls, each a fresh interpreter (its imports, then its wall time):")
        lines.extend(_line(call.module, call) for call in calls)
        subject, baseline = calls[CALL_SUBJECT], calls[-1]
        lines.append(
            f"  ratio {subject.module} / {baseline.module}: "
            f"{subject.seconds / baseline.seconds:.2f}"
        )
    return lines


def _line(label: str, result: ImportTime) -> str:
    watched = ", ".join(result.watched) or "none"
    return (
        f"  {label}: {result.seconds * 1000:.1f} ms (-X importtime), "
        f"{result.wall_seconds * 1000:.1f} ms (wall, over a bare interpreter); "
        f"loads {watched} of {', '.join(WATCHED)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the imports and print the report (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each import (default 15)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    results, calls = measure_everything(max(1, args.runs))
    if args.json:
        print(json.dumps([result._asdict() for result in (*results, *calls)], indent=2))
    else:
        print("\n".join(report(results, calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
