"""benchmarks/run.py runs (in its tiny --smoke mode) and prints its table.

Benchmarks are not tests: this only keeps their code from rotting. It checks
the structure of the output, never a figure or a timing.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
RATIO_ROW = re.compile(
    r"^\| \((?P<bench>[abcd])\) [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| (?P<ratio>[0-9.]+) \|$"
)


def test_smoke_run_prints_every_benchmark_as_a_ratio():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "| benchmark | case | mxroute | baseline | ratio |" in lines
    rows = [m for m in map(RATIO_ROW.match, lines) if m]
    assert {m["bench"] for m in rows} == {"a", "b", "c", "d"}
    # 1 and 5 hosts: three drivers, each timed and counted at the proxy, and one CPU row
    assert len([m for m in rows if m["bench"] == "a"]) == 14
    assert all(float(m["ratio"]) > 0 for m in rows)


def _log(*queries: tuple[float, float]) -> list[str]:
    return [f"{arrival} {release}\n" for arrival, release in queries]


@pytest.fixture(scope="module")
def count():
    """benchmarks/latency_proxy.py's ``sequential_round_trips``, loaded from its file."""
    path = SCRIPT.parent / "latency_proxy.py"
    spec = importlib.util.spec_from_file_location("latency_proxy", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sequential_round_trips


class TestSequentialRoundTrips:
    """The proxy log's reading: the longest chain of queries that waited for each other."""

    def test_mx_then_one_batch_is_two(self, count):
        mx = (0.0, 1.0)
        batch = [(1.1 + i / 1000, 2.1 + i / 1000) for i in range(60)]
        assert count(_log(mx, *batch)) == 2

    def test_host_by_host_is_one_plus_two_per_host(self, count):
        chain = [(2.0 * i, 2.0 * i + 1) for i in range(11)]
        assert count(_log(*chain)) == 11

    def test_a_query_sent_after_an_answer_of_its_batch_counts_one_more(self, count):
        # the last query of the batch came in after the first one's answer went out
        assert count(_log((0.0, 1.0), (1.1, 2.1), (2.2, 3.2))) == 3

    def test_concurrent_queries_are_one(self, count):
        assert count(_log((0.0, 1.0), (0.5, 1.5), (0.9, 1.9))) == 1

    def test_order_of_lines_does_not_matter_and_blank_lines_are_skipped(self, count):
        lines = _log((1.1, 2.1), (0.0, 1.0))
        assert count([*lines, "\n"]) == 2
        assert count([]) == 0
