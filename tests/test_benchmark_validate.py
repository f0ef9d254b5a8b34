"""The validation benchmark runs (in its tiny --smoke mode) and reports what it should.

Only the structure of its output is checked, never a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "validate_vs_email_validator.py"
DOCUMENTED_CLASSES = {
    "local-part-length",
    "local-part-nfc",
    "mapped-literal-text",
    "role-mailbox-case",
    "special-use-or-dotless-domain",
}


def run_smoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_smoke_json_has_the_figures_and_every_disagreement_is_explained():
    result = json.loads(run_smoke("--json").stdout)
    assert result["corpus_size"] == 200
    assert result["corpus_valid"] + result["corpus_invalid"] == 200
    assert result["corpus_valid"] > 0
    assert result["corpus_invalid"] > 0
    for key in ("mxroute_per_second", "email_validator_per_second", "ratio"):
        assert result[key] > 0
    found = result["disagreements"]
    assert found, "the corpus holds known policy differences"
    for item in found:
        assert set(item) == {"address", "mxroute", "email_validator", "class"}
        assert item["class"] in DOCUMENTED_CLASSES, item
        assert item["mxroute"] != item["email_validator"]
    assert sum(result["classes"].values()) == len(found)


def test_smoke_report_is_readable():
    out = run_smoke().stdout
    assert "mxroute.validate_address:" in out
    assert "ratio (mxroute / email-validator):" in out
    assert "disagreements:" in out


def test_the_corpus_is_deterministic():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import validate_vs_email_validator as bench
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert bench.make_corpus(300) == bench.make_corpus(300)
    assert len(set(bench.make_corpus(3000))) > 2000
