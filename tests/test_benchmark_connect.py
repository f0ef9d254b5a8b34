"""benchmarks/connect.py runs (in its tiny --smoke mode) and reports what it should.

Only the structure of its output is checked, never a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "connect.py"


def test_smoke_times_connect_and_the_naive_loop_for_every_dead_first_address():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = json.loads(done.stdout)
    cases = [row["case"].split(" (")[0] for row in rows]
    assert cases == ["refused", "silent", "blackhole", "silent IPv6 first"]
    for row in rows:
        assert row["connect_s"] > 0
        assert row["naive_s"] > 0
        assert row["ratio"] > 0
        # both reached the one live host, the sink's IPv4 address
        assert row["connect_reached"] == row["naive_reached"] == "127.0.0.2"
    assert rows[-1]["happy_eyeballs_target_s"] >= 0.25
