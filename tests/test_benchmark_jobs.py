"""benchmarks/jobs.py runs (in its tiny --smoke mode) and prints its table.

Benchmarks are not tests: this only keeps the code from rotting. It checks the
structure of the output, never a figure or a timing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "jobs.py"


def test_smoke_run_prints_one_row_per_job_count():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--jobs", "1,2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^\| (\d+) \| [0-9,]+ \| [0-9.]+ \| [0-9.]+ \| 0 \|$", result.stdout, re.M)
    assert rows == ["1", "2"], result.stdout
