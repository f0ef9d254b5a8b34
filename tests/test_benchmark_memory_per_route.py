"""benchmarks/memory_per_route.py runs (in its tiny --smoke mode) and prints its table.

Benchmarks are not tests: this only keeps the code from rotting. It checks the
structure of the output, never a figure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "memory_per_route.py"


def test_smoke_run_prints_both_measures():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--latency", "0.001"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = re.findall(
        r"^\| per (route in flight|cache entry) .*\| -?[0-9,]+ \|$", result.stdout, re.M
    )
    assert rows == ["route in flight", "cache entry"], result.stdout
