"""benchmarks/bulk_dns.py runs (in its tiny --smoke mode) and prints its tables.

Benchmarks are not tests: this only keeps the code from rotting. It checks the
structure of the output, never a figure or a timing. aiodns comes with the
``test`` and ``bench`` extras.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bulk_dns.py"
ROW = re.compile(
    r"^\| (?P<case>[^|]+) \| (?P<who>mxroute|aiodns|dnspython) \| [0-9,]+ \| [0-9.]+ \|"
)


def test_smoke_run_prints_every_contender_side_by_side():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--sweep", "32,64"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [m for m in map(ROW.match, result.stdout.splitlines()) if m]
    contenders = {(m["case"].split(",")[0], m["who"]) for m in rows}
    assert contenders == {
        (case, who) for case in ("loopback", "5 ms") for who in ("mxroute", "aiodns", "dnspython")
    }
    assert "| d0.bulk (2 MX hosts) | 2 | 1 |" in result.stdout
