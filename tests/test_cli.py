"""The mxroute command: in-process through main(), and as the installed command."""

from __future__ import annotations

import ast
import asyncio
import io
import json
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mxroute
from mxroute import InMemoryResolver
from mxroute.cli import (
    EX_FAILURE,
    EX_INTERRUPTED,
    EX_OK,
    EX_PIPE,
    EX_TEMPFAIL,
    EX_USAGE,
    MAX_LINE,
    main,
)
from tests.doubles import AsyncOnly

ROOT = Path(__file__).resolve().parent.parent
ZONE = ROOT / "examples" / "example.zone"


def command() -> list[str]:
    """The installed console script next to this Python, else ``python -m mxroute``."""
    found = shutil.which("mxroute", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "mxroute"]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


@pytest.fixture
def zone() -> InMemoryResolver:
    """The example zone, plus a domain whose MX lookup fails temporarily."""
    resolver = InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8"))
    resolver.fail("flaky.example", "MX", "servfail")
    return resolver


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


class TestInstalledCommand:
    """A representative set through the real console script, in a subprocess."""

    def test_route_against_the_bundled_zone(self):
        done = run("route", "--zone", str(ZONE), "--seed", "7", "alice@shop.example")
        assert done.returncode == EX_OK
        assert done.stderr == ""
        out = lines_of(done.stdout)
        assert out[0] == "alice@shop.example: mx route for shop.example, ttl 300"
        assert out[3] == "  3. backup.mail.example  preference 20  port 25  198.51.100.25"
        assert {out[1].split()[1], out[2].split()[1]} == {"mx1.shop.example", "mx2.shop.example"}

    def test_json_parses_and_exit_status_1_for_a_permanent_failure(self):
        done = run(
            "route",
            "--json",
            "--ordered",
            "--zone",
            str(ZONE),
            "alice@shop.example",
            "frank@nowhere.example",
        )
        assert done.returncode == EX_FAILURE
        first, second = json_lines(done.stdout)
        assert (first["schema"], first["status"], first["route"]["kind"]) == (
            1,
            "deliverable",
            "mx",
        )
        assert second["status"] == "undeliverable"
        assert second["error"]["error"] == "NoSuchDomain"
        assert second["error"]["enhanced_status"] == "5.1.2"

    def test_usage_error_is_status_2_without_traceback(self):
        done = run("route", "--timeout", "soon", "example.com")
        assert done.returncode == EX_USAGE
        assert "Traceback" not in done.stderr
        assert "--timeout" in done.stderr

    def test_no_command_is_a_usage_error(self):
        done = run()
        assert done.returncode == EX_USAGE
        assert "usage: mxroute" in done.stderr

    def test_bad_input_never_prints_a_traceback(self, tmp_path):
        bad_zone = tmp_path / "bad.zone"
        bad_zone.write_text("$ORIGIN example.\n@ MX ten mx.example.\n", encoding="utf-8")
        for args in (
            ("route", "--zone", str(bad_zone), "example"),
            ("route", "--zone", str(tmp_path / "missing.zone"), "example"),
            ("route", "--zone", str(ZONE), "a@@b", "bad..example", "x@[300.1.1.1]", "é" * 70),
            ("check", "--zone", str(ZONE), "[192.0.2.1]", ""),
        ):
            done = run(*args)
            assert done.returncode == EX_FAILURE, args
            assert "Traceback" not in done.stderr + done.stdout, args

    def test_unreadable_zone_file_is_one_line_on_stderr(self, tmp_path):
        done = run("route", "--zone", str(tmp_path / "missing.zone"), "example")
        assert done.returncode == EX_FAILURE
        assert done.stdout == ""
        (line,) = done.stderr.splitlines()
        assert line.startswith("mxroute: cannot read the zone file")

    def test_stdin_targets_in_input_order(self):
        done = run(
            "check",
            "--json",
            "--ordered",
            "--zone",
            str(ZONE),
            "-",
            stdin="# domains to audit\n\nshop.example\n  parked.example  \n\nblog.example\n",
        )
        assert done.returncode == EX_FAILURE  # parked.example takes no mail
        assert [d["target"] for d in json_lines(done.stdout)] == [
            "shop.example",
            "parked.example",
            "blog.example",
        ]
        assert done.stderr == ""  # no progress line: standard error is not a terminal

    def test_python_dash_m_mxroute(self):
        done = subprocess.run(
            [sys.executable, "-m", "mxroute", "check", "--zone", str(ZONE), "nowhere.example"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == EX_FAILURE
        assert done.stdout.startswith("nowhere.example: ERRORS")

    def test_a_closed_pipe_ends_quietly(self):
        targets = "".join(f"host{i}.shop.example\n" for i in range(3000))
        proc = subprocess.Popen(
            [*command(), "route", "--zone", str(ZONE), "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdin.write(targets)
        proc.stdin.close()
        assert proc.stdout.readline().startswith("host0.shop.example: bounce")
        proc.stdout.close()
        assert proc.wait(timeout=60) == EX_PIPE
        assert "Traceback" not in proc.stderr.read()
        proc.stderr.close()


def _popen(*args: str, stderr: int = subprocess.PIPE, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*command(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, "PYTHONWARNINGS": "error", **env},
    )


def _read_all(fd: int) -> bytes:
    """Everything a pty's primary side holds once the secondary side is closed."""
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: nothing more
            return seen
        if not chunk:
            return seen
        seen += chunk


class TestStreaming:
    """Results come as they are ready; standard input is read as it arrives."""

    def test_the_first_result_comes_before_standard_input_is_closed(self):
        proc = _popen("route", "--zone", str(ZONE), "-")
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        try:
            proc.stdin.write(b"carol@parked.example\n")
            proc.stdin.flush()  # and keep the pipe open
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, "no result while standard input is still open"
            assert proc.stdout.readline().startswith(b"carol@parked.example: bounce: 556")
            proc.stdin.write(b"bob@blog.example\n")
            proc.stdin.close()
            assert proc.stdout.read().startswith(b"bob@blog.example: implicit-mx route")
            assert proc.wait(timeout=60) == EX_FAILURE
            assert proc.stderr.read() == b""
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_a_slow_target_delays_no_other(self, capsys, monkeypatch):
        fake = _Slow(InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8")), "shop.example")
        monkeypatch.setattr(sys, "stdin", _Lines("shop.example\nblog.example\nparked.example\n"))
        assert main(["check", "-"], resolver=fake) == EX_FAILURE
        heads = [
            line.split(":")[0] for line in capsys.readouterr().out.splitlines() if line[0] != " "
        ]
        assert heads[-1] == "shop.example"
        assert sorted(heads) == ["blog.example", "parked.example", "shop.example"]

    def test_ordered_keeps_input_order_behind_a_slow_target(self, capsys, monkeypatch):
        fake = _Slow(InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8")), "shop.example")
        monkeypatch.setattr(sys, "stdin", _Lines("shop.example\nblog.example\nparked.example\n"))
        assert main(["check", "--ordered", "-"], resolver=fake) == EX_FAILURE
        heads = [
            line.split(":")[0] for line in capsys.readouterr().out.splitlines() if line[0] != " "
        ]
        assert heads == ["shop.example", "blog.example", "parked.example"]

    def test_progress_on_a_terminal_once_the_run_is_long(self):
        pty = pytest.importorskip("pty")
        primary, secondary = pty.openpty()
        try:
            proc = _popen("check", "--zone", str(ZONE), "-", stderr=secondary)
            assert proc.stdin is not None
            assert proc.stdout is not None
            proc.stdin.write(b"shop.example\n")
            proc.stdin.flush()
            assert proc.stdout.readline().startswith(b"shop.example: ok")  # the run is on
            time.sleep(_PROGRESS_DELAY + 0.5)  # a long run: input still coming
            out, _ = proc.communicate(b"nowhere.example\n", timeout=60)
            os.close(secondary)
            secondary = -1
            seen = _read_all(primary).decode()
        finally:
            os.close(primary)
            if secondary != -1:
                os.close(secondary)
        assert proc.returncode == EX_FAILURE
        assert re.search(r"mxroute: \d+ done, \d+/s, \d+ failed", seen), seen
        # The line is cleared at the end, then the summary of the bulk run follows.
        assert "\r\x1b[Kmxroute: summary of 2 targets\r\n" in seen
        assert seen.endswith("  domain-not-found                1\r\n")
        assert b"mxroute:" not in out

    def test_no_progress_when_standard_error_is_a_pipe(self):
        proc = _popen("check", "--zone", str(ZONE), "-")
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(b"shop.example\n")
        proc.stdin.flush()
        assert proc.stdout.readline().startswith(b"shop.example: ok")  # the run is on
        time.sleep(_PROGRESS_DELAY + 0.5)
        out, err = proc.communicate(b"nowhere.example\n", timeout=60)
        assert proc.returncode == EX_FAILURE
        assert err == b""
        assert out.startswith(b"nowhere.example: ERRORS")


class TestEncoding:
    """Input that is not UTF-8 is one invalid line; JSON is always UTF-8."""

    BAD = b"\xff@example.com"

    @pytest.mark.parametrize("as_json", [False, True])
    def test_undecodable_stdin_under_strict_utf8(self, as_json):
        args = ["route", "--zone", str(ZONE), "--ordered", "-"]
        if as_json:
            args.insert(1, "--json")
        proc = _popen(*args, PYTHONIOENCODING="utf-8:strict")
        out, err = proc.communicate(self.BAD + b"\ncarol@parked.example\n", timeout=60)
        assert err == b""
        lines = out.decode("utf-8").splitlines()  # valid UTF-8
        assert len(lines) == 2
        if as_json:
            bad = json.loads(lines[0])
            assert (bad["status"], bad["error"]["reason"]) == ("invalid", "invalid-encoding")
            assert bad["target"] == "\\xff@example.com"
        else:
            assert lines[0].startswith("\\xff@example.com: invalid (invalid-encoding)")
        assert proc.returncode == EX_FAILURE

    @pytest.mark.parametrize("command_name", ["route", "check", "validate"])
    def test_undecodable_argument_json_is_utf8_under_c_utf8(self, command_name):
        zone = [] if command_name == "validate" else ["--zone", str(ZONE)]
        argv = [*command(), command_name, "--json", *zone, os.fsdecode(self.BAD), "ok@shop.example"]
        done = subprocess.run(
            [os.fsencode(a) for a in argv],
            capture_output=True,
            timeout=60,
            check=False,
            env={**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": ""},
        )
        assert done.stderr == b""
        objects = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
        assert len(objects) == 2
        bad = next(o for o in objects if o["status"] == "invalid")
        assert bad["error"]["reason"] == "invalid-encoding"

    def test_text_that_the_output_cannot_encode_is_escaped(self):
        proc = _popen("validate", "Bücher@example.com", PYTHONIOENCODING="ascii:strict")
        out, err = proc.communicate(b"", timeout=60)
        assert (proc.returncode, err) == (EX_OK, b"")
        assert out == b"B\\xfccher@example.com: ok: B\\xfccher@example.com (needs SMTPUTF8)\n"


class TestRoute:
    def test_hosts_in_order_with_preference_addresses_and_port(self, zone, capsys):
        assert main(["route", "--seed", "1", "bob@blog.example"], resolver=zone) == EX_OK
        assert capsys.readouterr().out.splitlines() == [
            "bob@blog.example: implicit-mx route for blog.example, ttl 300",
            "  1. blog.example  preference 0  port 25  192.0.2.80",
            "  warning  implicit-mx: blog.example has no MX records; "
            "mail goes to its own A/AAAA records",
        ]

    def test_the_seed_makes_the_order_reproducible(self, zone, capsys):
        outputs = set()
        for _ in range(3):
            main(["route", "--seed", "42", "shop.example"], resolver=zone)
            outputs.add(capsys.readouterr().out)
        assert len(outputs) == 1
        orders = set()
        for seed in range(20):
            main(["route", "--seed", str(seed), "shop.example"], resolver=zone)
            orders.add(capsys.readouterr().out.splitlines()[1])
        assert len(orders) == 2  # mx1 or mx2 first, depending on the seed

    def test_explain_lists_each_question_and_answer_in_order(self, zone, capsys):
        assert main(["route", "--explain", "dave@legacy.example"], resolver=zone) == EX_OK
        out = capsys.readouterr().out.splitlines()
        start = out.index("  DNS, in the order asked:")
        trace = out[start + 1 :]
        assert len(trace) == len(zone.queries)
        assert [tuple(line.split()[:2]) for line in trace] == [tuple(q) for q in zone.queries]
        assert trace[0] == (
            "    legacy.example MX -> 10 alias.legacy.example., 20 gone.legacy.example. (ttl 3600)"
        )
        cname = "    alias.legacy.example A -> CNAME mail.legacy.example -> 203.0.113.7 (ttl 3600)"
        assert cname in trace

    def test_explain_in_json_is_a_trace_list(self, zone, capsys):
        main(["route", "--json", "--explain", "carol@parked.example"], resolver=zone)
        (data,) = json_lines(capsys.readouterr().out)
        assert data["trace"] == [
            {
                "name": "parked.example",
                "rdtype": "MX",
                "status": "records",
                "records": ["0 ."],
                "ttl": 3600,
                "cnames": [],
                "authenticated": False,
                "text": "parked.example MX -> 0 . (ttl 3600)",
            }
        ]

    def test_a_literal_asks_nothing(self, zone, capsys):
        assert main(["route", "--explain", "grace@[192.0.2.99]"], resolver=zone) == EX_OK
        out = capsys.readouterr().out
        assert "  DNS: no question" in out
        assert zone.queries == []

    def test_relayhost_routes_everything_there(self, zone, capsys):
        argv = ["route", "--relayhost", "[192.0.2.7]:587", "--json", "alice@shop.example"]
        assert main(argv, resolver=zone) == EX_OK
        (data,) = json_lines(capsys.readouterr().out)
        assert data["route"]["kind"] == "relay"
        assert data["route"]["next_hop"] == "[192.0.2.7]:587"
        assert data["route"]["hosts"][0]["port"] == 587
        assert zone.queries == []

    def test_a_bad_relayhost_is_a_usage_error(self, zone, capsys):
        assert main(["route", "--relayhost", "[relay", "x.example"], resolver=zone) == EX_USAGE
        err = capsys.readouterr().err
        assert err.startswith("mxroute: route: --relayhost: invalid next hop")

    def test_a_temporary_failure_exits_75(self, zone, capsys):
        assert main(["route", "a@flaky.example"], resolver=zone) == EX_TEMPFAIL
        out = capsys.readouterr().out
        assert out.startswith("a@flaky.example: retry later: 451 4.4.3 ")

    def test_a_permanent_failure_wins_over_a_temporary_one(self, zone, capsys):
        argv = ["route", "a@flaky.example", "frank@nowhere.example"]
        assert main(argv, resolver=zone) == EX_FAILURE

    def test_a_working_host_beside_an_error_finding_is_deliverable(self, zone, capsys):
        assert main(["route", "--json", "dave@legacy.example"], resolver=zone) == EX_OK
        (data,) = json_lines(capsys.readouterr().out)
        assert (data["status"], data["worst"]) == ("deliverable", "error")
        assert data["route"]["hosts"][0]["name"] == "alias.legacy.example"
        assert data["findings"][0]["severity"] == "error"

    @pytest.mark.parametrize(
        ("fail_on", "expected"), [("error", EX_FAILURE), ("warning", EX_FAILURE)]
    )
    def test_fail_on_makes_a_finding_exit_1(self, zone, capsys, fail_on, expected):
        argv = ["route", "--fail-on", fail_on, "dave@legacy.example"]
        assert main(argv, resolver=zone) == expected

    def test_fail_on_ignores_milder_findings(self, zone, capsys):
        argv = ["route", "--fail-on", "error", "bob@blog.example"]  # a warning only
        assert main(argv, resolver=zone) == EX_OK
        assert main(["route", "--fail-on", "bad", "bob@blog.example"], resolver=zone) == EX_USAGE

    def test_an_invalid_target_is_reported_in_order_and_exits_1(self, zone, capsys):
        argv = ["route", "--ordered", "bad..example", "blog.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("bad..example: invalid (")
        assert out[1].startswith("blog.example: implicit-mx route")


class TestJSONSchema:
    def test_every_object_has_the_documented_keys_in_order(self, zone, capsys):
        targets = ["alice@shop.example", "frank@nowhere.example", "a@flaky.example", "a@@b"]
        main(["route", "--json", "--ordered", *targets], resolver=zone)
        objects = json_lines(capsys.readouterr().out)
        assert [list(o) for o in objects] == [
            ["schema", "command", "target", "status", "worst", "route", "error", "findings"]
        ] * 4
        assert [o["status"] for o in objects] == [
            "deliverable",
            "undeliverable",
            "temporary",
            "invalid",
        ]
        assert objects[2]["error"]["temporary"] is True
        assert objects[3]["error"] == {
            "error": "InvalidAddress",
            "reason": "invalid-local-part",
            "domain_reason": None,
            "message": objects[3]["error"]["message"],
        }

    def test_check_objects(self, zone, capsys):
        main(["check", "--json", "--ordered", "parked.example", "[192.0.2.1]"], resolver=zone)
        null, invalid = json_lines(capsys.readouterr().out)
        keys = ["schema", "command", "target", "status", "worst", "complete", "route", "error"]
        assert list(null) == [*keys, "findings", "expectation"]
        assert (null["status"], null["worst"], null["complete"]) == ("undeliverable", "info", True)
        assert null["error"]["error"] == "NullMX"  # at the top level, where route's is
        assert [f["code"] for f in null["findings"]] == ["null-mx"]
        assert invalid["error"]["reason"] == "address-literal"
        assert (invalid["status"], invalid["route"]) == ("invalid", None)

    @pytest.mark.parametrize("command", ["route", "check"])
    def test_each_finding_appears_once(self, zone, capsys, command):
        main([command, "--json", "dave@legacy.example", "nowhere.example"], resolver=zone)
        for line in capsys.readouterr().out.splitlines():
            assert line.count('"code": ') == len(json.loads(line)["findings"])

    def test_the_deliverable_status_is_not_the_worst_finding(self, zone, capsys):
        main(["check", "--json", "legacy.example"], resolver=zone)
        (data,) = json_lines(capsys.readouterr().out)
        assert (data["status"], data["worst"], data["error"]) == ("deliverable", "error", None)

    def test_non_ascii_is_written_as_utf8(self, capsys):
        fake = InMemoryResolver()
        fake.add("xn--bcher-kva.example", "A", "192.0.2.1")
        main(["route", "--json", "bücher.example"], resolver=fake)
        (data,) = json_lines(capsys.readouterr().out)
        assert data["target"] == "bücher.example"
        assert data["route"]["domain"] == "xn--bcher-kva.example"


class TestCheck:
    def test_findings_most_severe_first_with_fixes(self, zone, capsys):
        assert main(["check", "legacy.example"], resolver=zone) == EX_OK  # mail gets through
        out = capsys.readouterr().out.splitlines()
        assert out[0] == "legacy.example: ERRORS: 1 error, 1 warning, 1 info"
        assert out[1] == "  route: mx via alias.legacy.example"
        assert out[2].startswith("  error    mx-target-unresolvable: ")
        assert out[3] == "           fix: " + mxroute.FINDING_CODES["mx-target-unresolvable"].fix
        assert out[4].startswith("  warning  mx-target-cname: ")
        assert out[6].startswith("  info     mx-ipv4-only: ")

    def test_an_error_finding_fails_with_fail_on(self, zone, capsys):
        assert main(["check", "--fail-on", "error", "legacy.example"], resolver=zone) == EX_FAILURE

    def test_a_null_mx_domain_audits_ok_but_takes_no_mail(self, zone, capsys):
        assert main(["check", "parked.example"], resolver=zone) == EX_FAILURE
        out = capsys.readouterr().out.splitlines()
        assert out[:2] == ["parked.example: ok: 1 info", "  route: none (556 5.1.10)"]

    def test_a_clean_domain(self, zone, capsys):
        # Clean but for its backup at another provider (mail.example), which the audit notes.
        assert main(["check", "shop.example"], resolver=zone) == EX_OK
        out = capsys.readouterr().out
        assert out.startswith("shop.example: ok: 1 warning\n")
        assert "warning  backup-mx-other-provider" in out

    def test_a_temporary_failure_is_incomplete_and_exits_75(self, zone, capsys):
        assert main(["check", "flaky.example"], resolver=zone) == EX_TEMPFAIL
        out = capsys.readouterr().out
        assert out.startswith("flaky.example: INCOMPLETE (a lookup failed temporarily")

    def test_the_relayhost_option_does_not_exist_for_check(self, zone, capsys):
        assert main(["check", "--relayhost", "[192.0.2.7]", "x.example"], resolver=zone) == 2


class TestStdin:
    def test_dash_reads_targets_skipping_blanks_and_comments(self, zone, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", _Lines("shop.example\n\n# no\nparked.example\n"))
        argv = ["check", "--json", "--ordered", "-", "blog.example"]
        assert main(argv, resolver=zone) == EX_FAILURE  # parked.example takes no mail
        targets = [d["target"] for d in json_lines(capsys.readouterr().out)]
        assert targets == ["shop.example", "parked.example", "blog.example"]

    def test_ordered_output_does_not_depend_on_concurrency(self, zone, capsys, monkeypatch):
        names = ["shop.example", "nowhere.example", "blog.example", "legacy.example"] * 10
        outputs = []
        for concurrency in ("1", "7", "64"):
            monkeypatch.setattr(sys, "stdin", _Lines("\n".join(names)))
            argv = ["route", "--ordered", "--seed", "3", "--concurrency", concurrency, "-"]
            main(argv, resolver=zone)
            outputs.append(capsys.readouterr().out)
        assert outputs[0] == outputs[1] == outputs[2]
        heads = [line.split(":")[0] for line in outputs[0].splitlines() if line[0] != " "]
        assert heads == names

    @pytest.mark.parametrize(("concurrency", "most"), [("1", 2), ("3", 6)])
    def test_at_most_concurrency_targets_are_in_flight(
        self, zone, capsys, monkeypatch, concurrency, most
    ):
        counting = AsyncOnly(zone, yields=2)
        monkeypatch.setattr(sys, "stdin", _Lines("blog.example\n" * 20))
        argv = ["route", "--concurrency", concurrency, "-"]
        assert main(argv, resolver=counting) == EX_OK
        assert len(capsys.readouterr().out.splitlines()) == 3 * 20
        assert counting.most_in_flight == most  # an implicit MX asks A and AAAA at once

    def test_an_overlong_line_is_one_invalid_target(self, zone, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", _Lines("x" * 100_000 + ".example\nblog.example\n"))
        assert main(["route", "--json", "--ordered", "-"], resolver=zone) == EX_FAILURE
        long, blog = json_lines(capsys.readouterr().out)
        assert len(long["target"].encode()) == MAX_LINE + 1  # cut, never held whole
        assert long["status"] == "invalid"
        assert blog["status"] == "deliverable"

    def test_a_line_split_across_reads_is_one_target(self, zone, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", _Lines("a" * 70_000 + "\n" + "blog.example"))
        main(["route", "--json", "--ordered", "-"], resolver=zone)
        targets = [d["target"] for d in json_lines(capsys.readouterr().out)]
        assert [len(t) for t in targets] == [MAX_LINE + 1, len("blog.example")]

    def test_no_standard_input_is_an_empty_one(self, zone, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", None)
        assert main(["route", "-", "blog.example"], resolver=zone) == EX_OK
        assert capsys.readouterr().out.startswith("blog.example: implicit-mx route")

    def test_an_unreadable_standard_input_stops_the_run_with_one_line(self, zone, capsys):
        class Broken(io.StringIO):
            def read(self, size=-1):
                raise OSError("input/output error")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stdin", Broken())
            assert main(["route", "-"], resolver=zone) == EX_FAILURE
        assert capsys.readouterr().err == "mxroute: input/output error\n"

    def test_concurrency_must_be_positive(self, zone):
        assert main(["route", "--concurrency", "0", "x.example"], resolver=zone) == EX_USAGE


class TestValidate:
    def test_each_address_normalised_or_why_not(self, capsys):
        argv = ["validate", "Alice@Bücher.Example", "bob@bad..example", '"john"@example.com']
        assert main(argv) == EX_FAILURE
        assert capsys.readouterr().out.splitlines() == [
            "Alice@Bücher.Example: ok: Alice@xn--bcher-kva.example",
            "bob@bad..example: invalid (invalid-domain, empty-label): "
            + str(_error_of("bob@bad..example")),
            '"john"@example.com: ok: john@example.com',
        ]

    def test_smtputf8_is_said(self, capsys):
        assert main(["validate", "用户@例子.广告"]) == EX_OK
        assert capsys.readouterr().out.endswith("(needs SMTPUTF8)\n")

    def test_json(self, capsys):
        assert main(["validate", "--json", "Alice@Example.COM", "nobody"]) == EX_FAILURE
        good, bad = json_lines(capsys.readouterr().out)
        assert list(good) == ["schema", "command", "target", "status", "address", "error"]
        assert good["status"] == "valid"
        assert good["address"]["normalized"] == "Alice@example.com"
        assert good["address"]["smtputf8"] is False
        assert (bad["status"], bad["address"], bad["error"]["reason"]) == (
            "invalid",
            None,
            "no-at-sign",
        )

    def test_asks_no_dns_and_takes_no_dns_options(self, capsys):
        assert main(["validate", "--zone", str(ZONE), "a@b.example"]) == EX_USAGE

    def test_stdin(self, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", _Lines("a@example.com\n\n# x\n b@example.org \n"))
        assert main(["validate", "--ordered", "-"]) == EX_OK
        assert capsys.readouterr().out.splitlines() == [
            "a@example.com: ok: a@example.com",
            "b@example.org: ok: b@example.org",
        ]

    def test_installed_command_validates(self):
        done = run("validate", "--json", "-", stdin="alice@example.com\nnot an address\n")
        assert done.returncode == EX_FAILURE
        statuses = {d["target"]: d["status"] for d in json_lines(done.stdout)}
        assert statuses == {"alice@example.com": "valid", "not an address": "invalid"}


def _error_of(text: str) -> mxroute.InvalidAddress:
    with pytest.raises(mxroute.InvalidAddress) as info:
        mxroute.validate_address(text)
    return info.value


class TestOptions:
    def test_zone_files_are_repeatable(self, tmp_path, capsys):
        extra = tmp_path / "other.zone"
        extra.write_text(
            "$ORIGIN other.test.\n$TTL 600\n@ MX 10 mx.other.test.\nmx A 192.0.2.33\n",
            encoding="utf-8",
        )
        argv = ["route", "--zone", str(ZONE), "--zone", str(extra), "a@other.test", "shop.example"]
        assert main(argv) == EX_OK
        out = capsys.readouterr().out
        assert "  1. mx.other.test  preference 10  port 25  192.0.2.33" in out
        assert "shop.example: mx route" in out

    def test_a_zone_without_origin_is_an_input_error(self, tmp_path, capsys):
        bare = tmp_path / "bare.zone"
        bare.write_text("@ MX 10 mx\n", encoding="utf-8")
        assert main(["route", "--zone", str(bare), "x.example"]) == EX_FAILURE
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"mxroute: {bare}: cannot read the zone")

    @pytest.mark.parametrize(
        "value",
        ["example.com", "192.0.2.1:0", "192.0.2.1:99999", "[2001:db8::1", "[2001:db8::1]x"],
    )
    def test_bad_nameservers_are_usage_errors(self, value, capsys):
        assert main(["route", "--nameserver", value, "x.example"]) == EX_USAGE
        assert "--nameserver" in capsys.readouterr().err

    def test_zone_and_nameserver_exclude_each_other(self, capsys):
        argv = ["route", "--zone", str(ZONE), "--nameserver", "127.0.0.1", "x.example"]
        assert main(argv) == EX_USAGE

    def test_a_bad_relayhost_is_refused_before_reading_standard_input(self, zone, monkeypatch):
        class Unreadable:
            def __iter__(self):
                raise AssertionError("standard input was read")

        monkeypatch.setattr(sys, "stdin", Unreadable())
        assert main(["route", "--relayhost", "[x", "-"], resolver=zone) == EX_USAGE

    def test_name_servers_must_share_one_port(self, capsys):
        argv = ["route", "--nameserver", "127.0.0.1:53", "--nameserver", "[::1]:5353", "x"]
        assert main(argv) == EX_USAGE
        assert "same port" in capsys.readouterr().err

    @pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
    def test_timeout_must_be_positive_seconds(self, value, zone):
        assert main(["route", "--timeout", value, "x.example"], resolver=zone) == EX_USAGE

    def test_help_exits_0(self, capsys):
        assert main(["route", "--help"]) == EX_OK
        assert "--explain" in capsys.readouterr().out

    def test_version(self, capsys):
        assert main(["--version"]) == EX_OK
        assert capsys.readouterr().out.strip() == f"mxroute {mxroute.__version__}"


class TestInterrupts:
    def test_ctrl_c_exits_130_with_one_line(self, capsys):
        class Interrupting:
            def query(self, name, rdtype):
                raise KeyboardInterrupt

        assert main(["route", "example.com"], resolver=Interrupting()) == EX_INTERRUPTED
        assert capsys.readouterr().err == "mxroute: interrupted\n"


def _console_examples() -> list[tuple[str, list[str]]]:
    """The ``$ mxroute ...`` examples of docs/cli.md with the output they show."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        for chunk in block.split("$ ")[1:]:
            command_line, *expected = chunk.rstrip("\n").split("\n")
            examples.append((command_line, expected))
    return examples


class TestDocumentedExamples:
    @pytest.mark.parametrize(("command_line", "expected"), _console_examples())
    def test_the_cli_page_shows_real_output(self, command_line, expected, capsys, monkeypatch):
        monkeypatch.chdir(ROOT)
        argv = shlex.split(command_line)
        assert argv[0] == "mxroute"
        main(argv[1:])
        out = capsys.readouterr().out.splitlines()
        assert len(out) == len(expected)
        for got, shown in zip(out, expected, strict=True):
            if shown.endswith("..."):
                assert got.startswith(shown[:-3])
            else:
                assert got == shown

    def test_there_are_examples(self):
        assert len(_console_examples()) >= 5


_PROGRESS_DELAY = 1.0  # seconds; mxroute.cli shows progress only on runs this long


class _Slow:
    """An async resolver that answers one domain's MX question last."""

    def __init__(self, inner: InMemoryResolver, slow: str) -> None:
        self.inner = inner
        self.slow = slow
        self.others = 0

    async def query_async(self, name, rdtype):
        if name == self.slow:
            for _ in range(200):  # every other target finishes meanwhile
                await asyncio.sleep(0)
        return self.inner.query(name, rdtype)


class _Lines(io.StringIO):
    """A stand-in for standard input (no file descriptor: read() is used)."""


@pytest.mark.parametrize("module", ["cli.py", "_bulk.py"])
def test_asyncio_is_imported_only_where_it_runs(module):
    """``import mxroute`` must not load asyncio, so these modules import it in functions."""
    tree = ast.parse((ROOT / "mxroute" / module).read_text(encoding="utf-8"))
    top_level = [
        alias.name if isinstance(node, ast.Import) else node.module
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert top_level
    assert not [name for name in top_level if name and name.split(".")[0] == "asyncio"]


class TestResolverLifecycle:
    """The command closes the resolver stack it made itself, and only that."""

    def test_the_dns_resolver_the_command_made_is_closed(self, monkeypatch, capsys):
        import mxroute.cli
        from tests.bindserver import free_port

        closed: list[object] = []

        class Tracked(mxroute.DNSResolver):
            def close(self) -> None:
                closed.append(self)
                super().close()

        monkeypatch.setattr(mxroute.cli, "DNSResolver", Tracked)
        # Nothing listens on this loopback port: the route fails temporarily, fast.
        argv = ["route", "--nameserver", f"127.0.0.1:{free_port()}", "--timeout", "0.3"]
        assert main([*argv, "example.com"]) == EX_TEMPFAIL
        assert len(closed) == 1
        capsys.readouterr()

    def test_an_injected_resolver_is_never_closed(self, capsys):
        class Closable(InMemoryResolver):
            closed = False

            def close(self) -> None:
                self.closed = True

        fake = Closable()
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.25")
        assert main(["route", "example.com"], resolver=fake) == EX_OK
        assert not fake.closed
        capsys.readouterr()
