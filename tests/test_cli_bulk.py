"""Bulk runs of the command: CSV output, --skip-done, the summary, progress with an ETA."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

import mxroute.cli as cli
from mxroute import InMemoryResolver
from mxroute.cli import EX_FAILURE, EX_OK, EX_USAGE, main

ZONE = Path(__file__).resolve().parent.parent / "examples" / "example.zone"


@pytest.fixture
def zone() -> InMemoryResolver:
    resolver = InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8"))
    resolver.fail("flaky.example", "MX", "servfail")
    return resolver


class TestCSV:
    def test_a_header_then_one_row_per_target(self, zone, capsys):
        argv = ["check", "--format", "csv", "--ordered", "shop.example", "legacy.example"]
        assert main([*argv, "parked.example", "[192.0.2.1]"], resolver=zone) == EX_FAILURE
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert [r["target"] for r in rows] == [
            "shop.example",
            "legacy.example",
            "parked.example",
            "[192.0.2.1]",
        ]
        shop, legacy, parked, literal = rows
        assert (shop["status"], shop["kind"], shop["complete"]) == ("deliverable", "mx", "true")
        assert sorted(shop["hosts"].split()) == [
            "backup.mail.example",
            "mx1.shop.example",
            "mx2.shop.example",
        ]
        assert legacy["worst"] == "error"
        assert "mx-target-unresolvable" in legacy["findings"].split()
        assert (parked["status"], parked["error"]) == ("undeliverable", "NullMX")
        assert (literal["status"], literal["error"]) == ("invalid", "address-literal")

    def test_route_has_its_own_columns(self, zone, capsys):
        assert main(["route", "--format", "csv", "alice@shop.example"], resolver=zone) == EX_OK
        header, row = capsys.readouterr().out.splitlines()
        assert header == "target,status,worst,kind,hosts,error,findings"
        assert row.startswith("alice@shop.example,deliverable,,mx,")

    def test_a_cell_a_spreadsheet_would_run_is_defused(self, zone, capsys):
        main(["check", "--format", "csv", "=HYPERLINK(1)", "@x", "+1"], resolver=zone)
        rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
        assert sorted(r[0] for r in rows) == ["'+1", "'=HYPERLINK(1)", "'@x"]

    def test_the_expectation_column(self, zone, capsys):
        argv = ["check", "--format", "csv", "--expect-mx", "*.shop.example", "shop.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
        assert row["expectation"] == "fails"  # backup.mail.example is unexpected

    def test_json_and_csv_contradict(self, zone, capsys):
        assert main(["check", "--json", "--format", "csv", "shop.example"], resolver=zone) == (
            EX_USAGE
        )
        assert "contradict" in capsys.readouterr().err

    def test_format_json_is_json(self, zone, capsys):
        assert main(["check", "--format", "json", "shop.example"], resolver=zone) == EX_OK
        assert json.loads(capsys.readouterr().out)["target"] == "shop.example"


class TestSkipDone:
    def test_targets_with_a_result_are_skipped_except_temporary_ones(
        self, zone, capsys, tmp_path, monkeypatch
    ):
        argv = ["check", "--json", "--ordered", "shop.example", "flaky.example"]
        main(argv, resolver=zone)
        done = tmp_path / "done.jsonl"
        # A killed run leaves a last line cut short: it is ignored.
        done.write_text(capsys.readouterr().out + '{"schema": 1, "target": "blo', encoding="utf-8")
        stdin = "shop.example\nflaky.example\nblog.example\nparked.example\n"
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        argv = ["check", "--json", "--ordered", "--skip-done", str(done), "-"]
        assert main(argv, resolver=zone) == EX_FAILURE  # parked.example
        targets = [json.loads(line)["target"] for line in capsys.readouterr().out.splitlines()]
        assert targets == ["flaky.example", "blog.example", "parked.example"]

    def test_every_target_done_checks_nothing(self, zone, capsys, tmp_path):
        main(["check", "--json", "shop.example"], resolver=zone)
        done = tmp_path / "done.jsonl"
        done.write_text(capsys.readouterr().out, encoding="utf-8")
        zone.queries.clear()
        assert main(["check", "--skip-done", str(done), "shop.example"], resolver=zone) == EX_OK
        assert capsys.readouterr().out == ""
        assert zone.queries == []

    def test_a_missing_file_is_one_line_and_exit_1(self, zone, capsys, tmp_path):
        argv = ["check", "--skip-done", str(tmp_path / "none.jsonl"), "shop.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("mxroute: cannot read the --skip-done file")

    def test_the_digest_set_answers_membership(self, tmp_path):
        path = tmp_path / "done.jsonl"
        lines = [
            json.dumps({"target": f"d{i}.example", "status": "deliverable"}) for i in range(500)
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        done = cli._done_targets(path)
        assert all(done(f"d{i}.example") for i in range(500))
        assert not any(done(f"e{i}.example") for i in range(500))


class TestSummary:
    def test_counts_per_status_and_per_finding_code_on_stderr(self, zone, capsys):
        argv = ["check", "--summary", "shop.example", "legacy.example", "parked.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        err = capsys.readouterr().err.splitlines()
        assert err[0] == "mxroute: summary of 3 targets"
        table = {line.split()[0]: line.split()[1] for line in err[1:]}
        assert table["deliverable"] == "2"
        assert table["undeliverable"] == "1"
        assert table["null-mx"] == "1"
        assert table["mx-target-cname"] == "1"
        assert err.index("  " + "finding".ljust(len(err[2]) - 11) + "  targets") > 1

    def test_not_without_the_option_off_a_terminal(self, zone, capsys):
        main(["check", "shop.example"], resolver=zone)
        assert capsys.readouterr().err == ""


class TestProgress:
    def test_the_line_has_done_of_total_rate_failures_and_eta(self):
        progress = cli._Progress(io.StringIO(), total=1000)
        progress.done, progress.failed, progress.skipped = 200, 3, 100
        assert progress.line(elapsed=10.0) == (
            "mxroute: 200/1000 done, 20/s, 3 failed, 100 skipped, ETA 35s"
        )

    def test_no_eta_when_the_size_is_unknown(self):
        progress = cli._Progress(io.StringIO())
        progress.done = 5
        assert progress.line(elapsed=1.0) == "mxroute: 5 done, 5/s, 0 failed"

    @pytest.mark.parametrize(("seconds", "text"), [(4.4, "4s"), (125, "2m05s"), (7800, "2h10m")])
    def test_durations(self, seconds, text):
        assert cli._duration(seconds) == text

    def test_the_size_of_a_file_on_standard_input_is_counted_without_reading_it(
        self, tmp_path, monkeypatch
    ):
        path = tmp_path / "domains.txt"
        path.write_text("# a comment\na.example\n\nb.example\nc.example", encoding="utf-8")
        with path.open("rb", buffering=0) as file:
            file.readline()  # already past the comment (as a shell's `read` leaves it)
            monkeypatch.setattr(sys, "stdin", file)
            assert cli._input_size(["x.example", "-"]) == 4
            assert file.readline() == b"a.example\n"  # nothing consumed

    def test_the_size_of_a_pipe_is_unknown(self, monkeypatch):
        import os

        read, write = os.pipe()
        try:
            with open(read, "rb") as pipe:
                monkeypatch.setattr(sys, "stdin", pipe)
                assert cli._input_size(["-"]) is None
        finally:
            os.close(write)
        assert cli._input_size(["a.example", "b.example"]) == 2
