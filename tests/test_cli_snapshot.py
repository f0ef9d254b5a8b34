"""mxroute diff and mxroute check --watch: snapshots compared, changes printed."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from mxroute import InMemoryResolver
from mxroute.cli import EX_FAILURE, EX_OK, EX_USAGE, main

ZONE = Path(__file__).resolve().parent.parent / "examples" / "example.zone"


def zone() -> InMemoryResolver:
    return InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8"))


def snapshot(tmp_path: Path, name: str, resolver: InMemoryResolver, capsys, *domains: str) -> Path:
    main(["check", "--json", "--ordered", *domains], resolver=resolver)
    path = tmp_path / name
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    return path


class TestDiffCommand:
    def test_unchanged_prints_nothing_and_exits_0(self, tmp_path, capsys):
        old = snapshot(tmp_path, "old.jsonl", zone(), capsys, "shop.example", "blog.example")
        new = snapshot(tmp_path, "new.jsonl", zone(), capsys, "blog.example", "shop.example")
        assert main(["diff", str(old), str(new)]) == EX_OK
        assert capsys.readouterr().out == ""

    def test_a_change_is_printed_and_exits_1(self, tmp_path, capsys):
        old = snapshot(tmp_path, "old.jsonl", zone(), capsys, "shop.example", "blog.example")
        changed = zone()
        changed.add("shop.example", "MX", "30 mx3.shop.example.")
        changed.add("mx3.shop.example", "A", "192.0.2.12")
        new = snapshot(tmp_path, "new.jsonl", changed, capsys, "shop.example", "blog.example")
        assert main(["diff", str(old), str(new)]) == EX_FAILURE
        assert capsys.readouterr().out.splitlines() == [
            "shop.example: host-added mx3.shop.example (30)"
        ]

    def test_json_is_one_object(self, tmp_path, capsys):
        old = snapshot(tmp_path, "old.jsonl", zone(), capsys, "shop.example")
        new = snapshot(tmp_path, "new.jsonl", zone(), capsys, "parked.example")
        assert main(["diff", "--json", str(old), str(new)]) == EX_FAILURE
        (line,) = capsys.readouterr().out.splitlines()
        data = json.loads(line)
        assert data["changed"] is True
        assert [(c["kind"], c["target"]) for c in data["changes"]] == [
            ("target-added", "parked.example"),
            ("target-removed", "shop.example"),
        ]

    def test_standard_input_as_one_side(self, tmp_path, capsys, monkeypatch):
        old = snapshot(tmp_path, "old.jsonl", zone(), capsys, "shop.example")
        monkeypatch.setattr(sys, "stdin", io.StringIO(old.read_text(encoding="utf-8")))
        assert main(["diff", str(old), "-"]) == EX_OK

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (None, "cannot read the snapshot"),
            ("{not json\n", "line 1: not JSON"),
            ('{"schema": 7, "target": "x"}\n', "schema 7"),
            (b"\xff\xfe\n", "cannot read the snapshot"),
        ],
    )
    def test_unreadable_input_is_2_with_one_clear_line(self, tmp_path, capsys, content, message):
        good = snapshot(tmp_path, "old.jsonl", zone(), capsys, "shop.example")
        bad = tmp_path / "bad.jsonl"
        if isinstance(content, bytes):
            bad.write_bytes(content)
        elif content is not None:
            bad.write_text(content, encoding="utf-8")
        assert main(["diff", str(good), str(bad)]) == EX_USAGE
        captured = capsys.readouterr()
        (line,) = captured.err.splitlines()
        assert line.startswith("mxroute: diff: ")
        assert message in line
        assert captured.out == ""

    def test_both_sides_on_standard_input_is_a_usage_error(self, capsys):
        assert main(["diff", "-", "-"]) == EX_USAGE


class Changing:
    """A resolver whose shop.example gains a host from the second check on."""

    def __init__(self) -> None:
        self.before = zone()
        self.after = zone()
        self.after.add("shop.example", "MX", "30 mx3.shop.example.")
        self.after.add("mx3.shop.example", "A", "192.0.2.12")
        self.checks = 0

    async def query_async(self, name, rdtype):
        if (name, rdtype) == ("shop.example", "MX"):
            self.checks += 1
        return (self.before if self.checks < 2 else self.after).query(name, rdtype)


class TestWatch:
    def test_prints_the_first_check_then_only_changes(self, capsys):
        resolver = Changing()
        argv = ["check", "--watch", "0.001", "--count", "3", "shop.example"]
        assert main(argv, resolver=resolver) == EX_FAILURE  # something changed
        out = capsys.readouterr().out.splitlines()
        assert out[0] == "shop.example: ok: 1 warning"
        (change,) = [line for line in out if "host-added" in line]
        assert change.endswith("Z shop.example: host-added mx3.shop.example (30)")
        assert out[-1] == change  # the third check, unchanged, printed nothing
        assert resolver.checks == 3

    def test_json_changes_carry_a_time(self, capsys):
        argv = ["check", "--json", "--watch", "0.001", "--count", "2", "shop.example"]
        assert main(argv, resolver=Changing()) == EX_FAILURE
        first, change = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert first["command"] == "check"
        assert (change["kind"], change["subject"]) == ("host-added", "mx3.shop.example")
        assert change["time"].endswith("Z")

    def test_nothing_changed_exits_0(self, capsys):
        argv = ["check", "--watch", "0.001", "--count", "2", "shop.example", "parked.example"]
        assert main(argv, resolver=zone()) == EX_OK

    def test_for_bounds_the_run(self, capsys):
        argv = ["check", "--watch", "0.05", "--for", "0.01", "shop.example"]
        assert main(argv, resolver=zone()) == EX_OK
        assert capsys.readouterr().out.count("shop.example: ok") == 1

    @pytest.mark.parametrize(
        "argv",
        [
            ["check", "--count", "2", "shop.example"],
            ["check", "--for", "5", "shop.example"],
            ["check", "--watch", "0", "shop.example"],
            ["check", "--watch", "soon", "shop.example"],
            ["check", "--watch", "1", "--skip-done", "done.jsonl", "shop.example"],
        ],
    )
    def test_bad_bounds_are_usage_errors(self, capsys, argv):
        assert main(argv, resolver=zone()) == EX_USAGE
