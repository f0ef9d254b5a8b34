"""The mxroute command against a real BIND 9 named on 127.0.0.1 (--nameserver)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from mxroute.cli import EX_FAILURE, EX_OK, EX_TEMPFAIL, main
from tests.bindserver import BindServer, SilentServer
from tests.integration.servers import ScriptedServer

pytestmark = pytest.mark.integration


def command() -> list[str]:
    found = shutil.which("mxroute", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "mxroute"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def server(bind: BindServer) -> str:
    return f"{bind.address}:{bind.port}"


class TestAgainstBind:
    def test_route_two_hosts_in_preference_order(self, bind):
        done = run("route", "--nameserver", server(bind), "--json", "alice@two-mx.mxtest")
        assert done.returncode == EX_OK, done.stderr
        (data,) = [json.loads(line) for line in done.stdout.splitlines()]
        assert [(h["name"], h["preference"], h["addresses"]) for h in data["route"]["hosts"]] == [
            ("mx1.two-mx.mxtest", 10, ["2001:db8::1", "192.0.2.1"]),
            ("mx2.two-mx.mxtest", 20, ["2001:db8::2", "192.0.2.2"]),
        ]
        assert data["route"]["ttl"] == 300

    def test_explain_shows_bind_answers_in_order(self, bind):
        done = run("route", "--nameserver", server(bind), "--explain", "null-mx.mxtest")
        assert done.returncode == EX_FAILURE
        assert done.stdout.splitlines() == [
            "null-mx.mxtest: bounce: 556 5.1.10 null-mx.mxtest publishes a null MX (RFC 7505): "
            "it accepts no mail",
            "  DNS, in the order asked:",
            "    null-mx.mxtest MX -> 0 . (ttl 3600)",
        ]

    def test_servfail_exits_75(self, bind):
        done = run("route", "--nameserver", server(bind), "a@broken.mxtest")
        assert done.returncode == EX_TEMPFAIL
        assert done.stdout.startswith("a@broken.mxtest: retry later: 451 4.4.3 ")
        assert done.stderr == ""

    def test_check_finds_a_dangling_mx(self, bind):
        done = run("check", "--nameserver", server(bind), "dangling.mxtest", "v6only.mxtest")
        assert done.returncode == EX_FAILURE
        out = done.stdout
        assert "dangling.mxtest: ERRORS" in out
        assert "  error    mx-target-unresolvable: " in out
        assert "v6only.mxtest: ok: 1 warning, 1 info" in out  # mx-ipv6-only, single-mx
        assert "  warning  mx-ipv6-only: " in out

    def test_in_process_main_with_nameserver(self, bind, capsys):
        argv = ["check", "--json", "--nameserver", server(bind), "cname-target.mxtest"]
        assert main(argv) == EX_OK
        (data,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        codes = [f["code"] for f in data["findings"]]
        assert "mx-target-cname" in codes


class TestSilentServer:
    def test_a_timeout_exits_75(self):
        with SilentServer() as silent:
            argv = ["route", "--nameserver", f"{silent.address}:{silent.port}"]
            done = run(*argv, "--timeout", "0.3", "example.mxtest")
        assert done.returncode == EX_TEMPFAIL
        assert done.stdout.startswith("example.mxtest: retry later: 451 4.4.3 ")
        assert "Traceback" not in done.stderr


class TestOneCachePerRun:
    def test_targets_at_one_domain_ask_each_question_once(self):
        def answer(query, tcp):
            response = dns.message.make_response(query)
            name = query.question[0].name.to_text()
            rdtype = dns.rdatatype.to_text(query.question[0].rdtype)
            if (name, rdtype) == ("x.mxtest.", "MX"):
                response.answer.append(
                    dns.rrset.from_text(name, 300, "IN", "MX", "10 mx.x.mxtest.")
                )
            elif (name, rdtype) == ("mx.x.mxtest.", "A"):
                response.answer.append(dns.rrset.from_text(name, 300, "IN", "A", "192.0.2.25"))
            return response

        targets = [f"user{i}@x.mxtest" for i in range(5)]
        with ScriptedServer(answer) as scripted:
            code = main(["route", "--nameserver", f"127.0.0.1:{scripted.port}", *targets])
        assert code == EX_OK
        asked = sorted(
            (q.question[0].name.to_text(), dns.rdatatype.to_text(q.question[0].rdtype))
            for q, _ in scripted.received
        )
        assert asked == [("mx.x.mxtest.", "A"), ("mx.x.mxtest.", "AAAA"), ("x.mxtest.", "MX")]


class TestStreamingOverRealSockets:
    """A domain whose name server never answers delays no other line."""

    @staticmethod
    def answer(query, tcp):
        if query.question[0].name.to_text() == "slow.mxtest.":
            return None  # never answered: the lookup times out
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.NXDOMAIN)
        return response

    @pytest.mark.parametrize("ordered", [False, True])
    def test_the_slow_domain_comes_last_unless_ordered(self, capsys, monkeypatch, ordered):
        names = ["slow.mxtest", *(f"d{i}.mxtest" for i in range(5))]
        monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{n}\n" for n in names)))
        with ScriptedServer(self.answer) as scripted:
            argv = ["route", "--nameserver", f"127.0.0.1:{scripted.port}", "--timeout", "1"]
            code = main([*argv, *(["--ordered"] if ordered else []), "-"])
        assert code == EX_FAILURE  # NXDOMAIN wins over the timeout
        heads = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()]
        assert sorted(heads) == sorted(names)
        assert heads[0 if ordered else -1] == "slow.mxtest"
