"""``--jobs N``: the same results, sharded over worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mxroute import InMemoryResolver
from mxroute.cli import EX_FAILURE, EX_USAGE, main

ROOT = Path(__file__).resolve().parent.parent
ZONE = ROOT / "examples" / "example.zone"
TARGETS = [
    "shop.example",
    "blog.example",
    "parked.example",
    "legacy.example",
    "nowhere.example",
    "not a domain",
] * 30


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mxroute", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def results(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("command", ["route", "check"])
def test_jobs_give_the_same_results_and_exit_status(command):
    stdin = "\n".join(TARGETS) + "\n"
    base = ("--zone", str(ZONE), "--seed", "7", "--json", "-")
    one = run(command, "--jobs", "1", *base, stdin=stdin)
    two = run(command, "--jobs", "2", *base, stdin=stdin)
    assert one.returncode == two.returncode == EX_FAILURE, two.stderr
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(map(key, results(two.stdout))) == sorted(map(key, results(one.stdout)))
    assert len(results(two.stdout)) == len(TARGETS)


@pytest.mark.parametrize("output", [("--format", "text"), ("--format", "csv")])
def test_workers_print_text_and_csv_as_one_process_does(output):
    # A worker renders each line; the command only writes it (and the CSV header once).
    stdin = "\n".join(TARGETS) + "\n"
    base = ("--zone", str(ZONE), "--seed", "7", "--ordered", *output, "-")
    one = run("check", "--jobs", "1", *base, stdin=stdin)
    two = run("check", "--jobs", "2", *base, stdin=stdin)
    assert two.stdout == one.stdout
    assert two.stdout.strip()
    if output[1] == "csv":
        assert two.stdout.splitlines()[0].startswith("target,status")
        assert sum(line.startswith("target,") for line in two.stdout.splitlines()) == 1


def test_the_summary_counts_the_workers_findings():
    stdin = "\n".join(TARGETS) + "\n"
    base = ("--zone", str(ZONE), "--summary", "--json", "-")
    one = run("check", "--jobs", "1", *base, stdin=stdin)
    two = run("check", "--jobs", "2", *base, stdin=stdin)
    summary = one.stderr[one.stderr.index("mxroute: summary") :]
    assert "finding" in summary
    assert two.stderr[two.stderr.index("mxroute: summary") :] == summary


def test_ordered_jobs_keep_input_order():
    stdin = "\n".join(TARGETS) + "\n"
    done = run("route", "--zone", str(ZONE), "--jobs", "3", "--ordered", "--json", "-", stdin=stdin)
    assert [r["target"] for r in results(done.stdout)] == TARGETS


def test_an_injected_resolver_goes_to_the_workers(capsys):
    fake = InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8"))
    status = main(["route", "--jobs", "2", "--json", "shop.example", "nowhere.example"], fake)
    assert status == EX_FAILURE
    got = {r["target"]: r["status"] for r in results(capsys.readouterr().out)}
    assert got == {"shop.example": "deliverable", "nowhere.example": "undeliverable"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["route", "--jobs", "0", "x.example"], "--jobs"),
        (["route", "--jobs", "many", "x.example"], "--jobs"),
        (["check", "--jobs", "2", "--watch", "1", "x.example"], "--jobs does not go with --watch"),
    ],
)
def test_bad_jobs_are_usage_errors(argv, message, capsys):
    assert main(argv, InMemoryResolver()) == EX_USAGE
    assert message in capsys.readouterr().err


def test_an_unpicklable_resolver_is_a_usage_error(capsys):
    class Local(InMemoryResolver):
        pass

    assert main(["route", "--jobs", "2", "x.example"], Local()) == EX_USAGE
    assert "--jobs needs a resolver that can be sent to worker processes" in (
        capsys.readouterr().err
    )
