"""The mxroute command: in-process through main(), and as the installed command."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mxroute
from mxroute import InMemoryResolver
from mxroute.cli import EX_FAILURE, EX_INTERRUPTED, EX_OK, EX_PIPE, EX_TEMPFAIL, EX_USAGE, main
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
            "route", "--json", "--zone", str(ZONE), "alice@shop.example", "frank@nowhere.example"
        )
        assert done.returncode == EX_FAILURE
        first, second = json_lines(done.stdout)
        assert (first["status"], first["ok"], first["route"]["kind"]) == ("ok", True, "mx")
        assert second["status"] == "failed"
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
            "--zone",
            str(ZONE),
            "-",
            stdin="# domains to audit\n\nshop.example\n  parked.example  \n\nblog.example\n",
        )
        assert done.returncode == EX_OK
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

    def test_progress_line_when_standard_error_is_a_terminal(self):
        pty = pytest.importorskip("pty")
        primary, secondary = pty.openpty()
        try:
            proc = subprocess.Popen(
                [*command(), "check", "--zone", str(ZONE), "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=secondary,
                text=True,
            )
            out, _ = proc.communicate("shop.example\nblog.example\n", timeout=60)
            os.close(secondary)
            secondary = -1
            seen = b""
            while True:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            os.close(primary)
            if secondary != -1:
                os.close(secondary)
        assert proc.returncode == EX_OK
        assert "mxroute: 2/2" in seen.decode()
        assert "mxroute:" not in out


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
        assert main(["route", "--explain", "dave@legacy.example"], resolver=zone) == EX_FAILURE
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

    def test_an_error_severity_finding_exits_1_though_routed(self, zone, capsys):
        assert main(["route", "--json", "dave@legacy.example"], resolver=zone) == EX_FAILURE
        (data,) = json_lines(capsys.readouterr().out)
        assert data["status"] == "failed"
        assert data["ok"] is False
        assert data["route"]["hosts"][0]["name"] == "alias.legacy.example"
        assert data["findings"][0]["severity"] == "error"

    def test_an_invalid_target_is_reported_in_order_and_exits_1(self, zone, capsys):
        argv = ["route", "bad..example", "blog.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("bad..example: invalid (")
        assert out[1].startswith("blog.example: implicit-mx route")


class TestJSONSchema:
    def test_every_object_has_the_documented_keys_in_order(self, zone, capsys):
        targets = ["alice@shop.example", "frank@nowhere.example", "a@flaky.example", "a@@b"]
        main(["route", "--json", *targets], resolver=zone)
        objects = json_lines(capsys.readouterr().out)
        assert [list(o) for o in objects] == [
            ["command", "target", "status", "ok", "route", "error", "findings"]
        ] * 4
        assert [o["status"] for o in objects] == ["ok", "failed", "temporary", "invalid"]
        assert objects[2]["error"]["temporary"] is True
        assert objects[3]["error"] == {
            "error": "InvalidAddress",
            "reason": "invalid-local-part",
            "domain_reason": None,
            "message": objects[3]["error"]["message"],
        }

    def test_check_objects(self, zone, capsys):
        main(["check", "--json", "parked.example", "[192.0.2.1]"], resolver=zone)
        ok, invalid = json_lines(capsys.readouterr().out)
        assert list(ok) == ["command", "target", "status", "ok", "audit", "error", "findings"]
        assert ok["audit"]["error"]["error"] == "NullMX"
        assert [f["code"] for f in ok["findings"]] == ["null-mx"]
        assert invalid["error"]["reason"] == "address-literal"
        assert invalid["audit"] is None

    def test_non_ascii_is_written_as_utf8(self, capsys):
        fake = InMemoryResolver()
        fake.add("xn--bcher-kva.example", "A", "192.0.2.1")
        main(["route", "--json", "bücher.example"], resolver=fake)
        (data,) = json_lines(capsys.readouterr().out)
        assert data["target"] == "bücher.example"
        assert data["route"]["domain"] == "xn--bcher-kva.example"


class TestCheck:
    def test_findings_most_severe_first_with_fixes(self, zone, capsys):
        assert main(["check", "legacy.example"], resolver=zone) == EX_FAILURE
        out = capsys.readouterr().out.splitlines()
        assert out[0] == "legacy.example: ERRORS: 1 error, 1 warning, 1 info"
        assert out[1] == "  route: mx via alias.legacy.example"
        assert out[2].startswith("  error    mx-target-unresolvable: ")
        assert out[3] == "           fix: " + mxroute.FINDING_CODES["mx-target-unresolvable"].fix
        assert out[4].startswith("  warning  mx-target-cname: ")
        assert out[6].startswith("  info     mx-ipv4-only: ")

    def test_a_null_mx_domain_is_fine(self, zone, capsys):
        assert main(["check", "parked.example"], resolver=zone) == EX_OK
        out = capsys.readouterr().out.splitlines()
        assert out[:2] == ["parked.example: ok: 1 info", "  route: none (556 5.1.10)"]

    def test_a_clean_domain(self, zone, capsys):
        assert main(["check", "shop.example"], resolver=zone) == EX_OK
        assert capsys.readouterr().out.startswith("shop.example: ok: no findings\n")

    def test_a_temporary_failure_is_incomplete_and_exits_75(self, zone, capsys):
        assert main(["check", "flaky.example"], resolver=zone) == EX_TEMPFAIL
        out = capsys.readouterr().out
        assert out.startswith("flaky.example: INCOMPLETE (a lookup failed temporarily")

    def test_the_relayhost_option_does_not_exist_for_check(self, zone, capsys):
        assert main(["check", "--relayhost", "[192.0.2.7]", "x.example"], resolver=zone) == 2


class TestStdin:
    def test_dash_reads_targets_skipping_blanks_and_comments(self, zone, capsys, monkeypatch):
        monkeypatch.setattr(sys, "stdin", _Lines("shop.example\n\n# no\nparked.example\n"))
        assert main(["check", "--json", "-", "blog.example"], resolver=zone) == EX_OK
        targets = [d["target"] for d in json_lines(capsys.readouterr().out)]
        assert targets == ["shop.example", "parked.example", "blog.example"]

    def test_output_order_does_not_depend_on_concurrency(self, zone, capsys, monkeypatch):
        names = ["shop.example", "nowhere.example", "blog.example", "legacy.example"] * 10
        outputs = []
        for concurrency in ("1", "7", "64"):
            monkeypatch.setattr(sys, "stdin", _Lines("\n".join(names)))
            main(["route", "--seed", "3", "--concurrency", concurrency, "-"], resolver=zone)
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
        assert list(good) == ["command", "target", "status", "ok", "address", "error"]
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
        assert main(["validate", "-"]) == EX_OK
        assert capsys.readouterr().out.splitlines() == [
            "a@example.com: ok: a@example.com",
            "b@example.org: ok: b@example.org",
        ]

    def test_installed_command_validates(self):
        done = run("validate", "--json", "-", stdin="alice@example.com\nnot an address\n")
        assert done.returncode == EX_FAILURE
        assert [d["ok"] for d in json_lines(done.stdout)] == [True, False]


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


class _Lines:
    """A stand-in for standard input."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)

    def __iter__(self):
        return iter(self._lines)
