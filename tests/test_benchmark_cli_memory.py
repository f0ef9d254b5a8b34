"""The CLI memory benchmark runs (in its tiny --smoke mode) and reports what it should.

Only the structure of its output is checked, never a figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "cli_memory.py"


def test_smoke_reports_a_peak_for_each_input_size_and_order():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures = json.loads(done.stdout)
    rows = figures["memory"]
    assert [(r["lines"], r["ordered"]) for r in rows] == [
        (0, None),
        (200, False),
        (2000, False),
        (200, True),
        (2000, True),
    ]
    for row in rows:
        assert row["peak_rss_kib"] > 0
        assert row["over_floor"] > 0
        assert row["over_smallest"] > 0
    runs = [r["run"] for r in figures["streaming"]]
    assert runs == [
        "mxroute route -",
        "mxroute route --ordered -",
        "Router.resolve_many_sync (baseline)",
    ]
    for row in figures["streaming"]:
        assert 0 < row["fast_done_s"] <= row["all_done_s"]
