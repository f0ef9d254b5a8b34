"""benchmarks/run.py runs (in its tiny --smoke mode) and prints its table.

Benchmarks are not tests: this only keeps their code from rotting. It checks
the structure of the output, never a figure or a timing.
"""

from __future__ import annotations

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
    assert len([m for m in rows if m["bench"] == "a"]) == 6  # 1 and 5 hosts, three drivers
    assert all(float(m["ratio"]) > 0 for m in rows)
