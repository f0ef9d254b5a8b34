"""benchmarks/answer_path.py runs (in its tiny --smoke mode) and reports what it should.

Benchmarks are not tests: this only keeps the code from rotting. It checks the
structure of the output, never a figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "answer_path.py"


def test_smoke_reports_the_cpu_per_question_of_every_bulk_shape():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    shapes = set(figures["counts"])
    assert {"A", "AAAA", "MX x2", "NXDOMAIN+SOA", "NODATA+SOA"} <= shapes
    assert figures["questions"] == sum(figures["counts"].values())
    assert set(figures["us_per_question"]) == {"all", *shapes}
    assert all(value > 0 for value in figures["us_per_question"].values())
