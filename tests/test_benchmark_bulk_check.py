"""The bulk check benchmark runs (in its tiny --smoke mode) and reports what it should.

Only the structure of its output is checked, never a figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "bulk_check.py"


def test_smoke_reports_peaks_per_input_size_and_rates_side_by_side():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures = json.loads(done.stdout)
    assert [r["lines"] for r in figures["memory"]] == [0, 100, 1000]
    for row in figures["memory"]:
        assert row["peak_rss_kib"] > 0
        assert row["vs_empty"] > 0
    assert [r["run"] for r in figures["rate"]] == [
        "Router.resolve_many_sync (baseline)",
        "audit_many",
        "mxroute check --json -",
    ]
    for row in figures["rate"]:
        assert row["per_second"] > 0
        assert row["domains"] == 200
    assert figures["rate"][0]["vs_resolve_many"] == 1.0
