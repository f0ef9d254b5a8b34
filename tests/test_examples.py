"""Every script in examples/ runs, offline, and prints what its docstring promises.

Each example runs in a subprocess (as a user would run it) with a timeout;
the assertions check the decisions the example demonstrates, not its
formatting.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 120


def run_example(name: str, *args: str, cwd: Path | None = None) -> str:
    """Run ``examples/<name>`` with this interpreter; return its stdout (it must exit 0)."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd or EXAMPLES.parent,
        check=False,
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_every_example_is_exercised_here():
    tested = {
        "quickstart.py",
        "route_zone.py",
        "delivery_loop.py",
        "smart_host.py",
        "bulk_audit.py",
        "testing_mail_app.py",
        "deliver_smtplib.py",
        "deliver_aiosmtplib.py",
        "dask_routes.py",
    }
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


class TestQuickstart:
    def test_routes_shop_in_preference_order_and_bounces_the_failures(self, tmp_path):
        out = run_example("quickstart.py", cwd=tmp_path)  # finds its zone from anywhere
        lines = out.splitlines()
        assert lines[0] == "shop.example: mx route, cacheable for 300 s"
        tries = [line for line in lines if line.startswith("  try ")]
        assert len(tries) == 4
        assert "(preference 20)" in tries[-1]
        assert all("(preference 10)" in line for line in tries[:3])
        assert "carol@parked.example: bounce: 556 5.1.10 " in out
        assert "frank@nowhere.example: bounce: 550 5.1.2 " in out


class TestRouteZone:
    def test_default_targets_cover_every_case(self):
        out = run_example("route_zone.py")
        assert "bob@blog.example: implicit-mx route" in out
        assert "carol@parked.example: 556 5.1.10 (bounce)" in out
        assert "mx-target-cname" in out
        assert "erin@internal.example: 550 5.4.4 (bounce)" in out
        assert "grace@[192.0.2.99]: literal route" in out

    def test_invalid_input_is_reported_not_raised(self):
        out = run_example("route_zone.py", "bad..example")
        assert out.startswith("bad..example: invalid input (empty-label)")


@pytest.fixture(scope="module")
def outcome() -> dict[str, str]:
    """What examples/delivery_loop.py printed, by recipient (and "summary")."""
    out = run_example("delivery_loop.py")
    results = {}
    for line in out.splitlines():
        if not line.startswith(" ") and ": " in line:
            recipient, rest = line.split(": ", 1)
            results[recipient] = rest
    results["_all"] = out
    return results


class TestDeliveryLoop:
    def test_fails_over_from_the_down_host_to_the_next(self, outcome):
        assert outcome["alice@shop.example"].startswith("delivered: accepted by mx2.shop.example")
        failed = "failed attempt: mx1.shop.example 192.0.2.10: ConnectionRefusedError"
        assert failed in outcome["_all"]

    def test_5xx_from_a_host_bounces(self, outcome):
        assert outcome["bob@strict.example"].startswith("bounce: mx.strict.example said 550 5.1.1")

    def test_4xx_everywhere_means_retry(self, outcome):
        assert outcome["carol@busy.example"] == "retry: every host failed temporarily"

    def test_route_errors_bounce_or_retry_by_their_temporary_flag(self, outcome):
        assert outcome["dave@parked.example"].startswith("bounce: no route: 556 5.1.10")
        assert outcome["erin@broken.example"].startswith("retry: no route: 451 4.4.3")

    def test_exactly_one_message_reached_a_sink(self, outcome):
        assert outcome["summary"] == (
            "1 delivered, 2 bounced, 2 to retry; the sink of mx2.shop.example holds 1 message(s)"
        )


class TestSmartHost:
    def test_transport_map_wins_over_relayhost(self):
        out = run_example("smart_host.py")
        assert "alice@customer.example: relay via [smtp.provider.example]:587" in out
        assert "  smtp.provider.example 198.51.100.1 port 587" in out
        assert "bob@partner.example: relay via [192.0.2.77]:2525" in out
        assert "  [192.0.2.77] 192.0.2.77 port 2525" in out
        assert "carol@eu.corp.example: relay via mail.corp.example" in out
        assert "  gw1.corp.example 10.0.0.25 port 25" in out
        assert "dave@corp.example: relay via [smtp.provider.example]:587" in out

    def test_a_broken_relay_keeps_mail_queued(self):
        out = run_example("smart_host.py")
        assert "broken relayhost: 451 4.4.3 the configured next hop [typo.provider.example]" in out


class TestBulkAudit:
    def rows(self, text: str) -> dict[str, dict[str, str]]:
        return {row["domain"]: row for row in csv.DictReader(io.StringIO(text))}

    def test_default_domains_to_stdout(self):
        rows = self.rows(run_example("bulk_audit.py"))
        assert rows["shop.example"]["status"] == "ok"
        assert rows["shop.example"]["addresses"] == "4"
        assert rows["shop.example"]["hosts"].endswith(" 20:backup.mail.example")
        assert rows["blog.example"]["route"] == "implicit-mx"
        assert rows["parked.example"]["status"] == "ok"  # a null MX is a correct setup
        assert rows["parked.example"]["reply"] == "556 5.1.10"
        assert rows["nowhere.example"]["route"] == "NoSuchDomain"
        assert rows["nowhere.example"]["findings"] == "domain-not-found"
        assert rows["legacy.example"]["status"] == "errors"
        assert rows["legacy.example"]["findings"].split()[:2] == [
            "mx-target-unresolvable",
            "mx-target-cname",
        ]
        assert rows["internal.example"]["errors"] == "2"
        assert "address-out-of-scope" in rows["internal.example"]["findings"]
        assert rows["not a domain"]["status"] == "invalid"
        assert rows["not a domain"]["findings"] == "invalid-character"

    def test_domain_file_and_output_file_keep_input_order(self, tmp_path):
        listing = tmp_path / "domains.txt"
        listing.write_text("# audit these\nparked.example\n\nshop.example  # the shop\n")
        target = tmp_path / "audit.csv"
        out = run_example(
            "bulk_audit.py",
            "--domains",
            str(listing),
            "--output",
            str(target),
            "--concurrency",
            "1",
        )
        assert out == ""
        rows = list(csv.DictReader(io.StringIO(target.read_text())))
        assert [r["domain"] for r in rows] == ["parked.example", "shop.example"]
        assert [(r["route"], r["status"]) for r in rows] == [("NullMX", "ok"), ("mx", "ok")]


class TestTestingMailApp:
    def test_its_own_tests_pass(self, tmp_path):
        out = run_example("testing_mail_app.py", cwd=tmp_path)
        assert "8 passed" in out


@pytest.mark.parametrize("name", ["deliver_smtplib.py", "deliver_aiosmtplib.py"])
class TestDeliverDirectly:
    """Both scripts deliver over mxroute.connect to local sinks, mx1 of shop.example down."""

    def test_mx1_is_down_and_mx2_takes_the_mail(self, name):
        lines = run_example(name).splitlines()
        six = lines[0] == "families: IPv6 and IPv4"
        mx2 = "::1" if six else "127.0.0.3"
        start = lines.index(f"alice@shop.example: delivered to mx2.shop.example [{mx2}]")
        assert lines[start + 1].split() == ["refused", "mx1.shop.example", "127.0.0.2"]
        assert lines[start + 2].split() == ["connected", "mx2.shop.example", mx2]
        assert "bob@blog.example: delivered to mail.blog.example [127.0.0.4]" in lines
        held = "127.0.0.3 0, 127.0.0.4 1, ::1 1" if six else "127.0.0.3 1, 127.0.0.4 1"
        assert lines[-1] == f"messages held by each sink: {held}"


def test_aiosmtplib_moves_on_after_a_421_greeting():
    lines = run_example("deliver_aiosmtplib.py").splitlines()
    start = lines.index("bob@blog.example: delivered to mail.blog.example [127.0.0.4]")
    assert lines[start + 1].split() == ["connected", "busy.blog.example", "127.0.0.5"]
    assert lines[start + 2].startswith("  greeting   busy.blog.example 127.0.0.5: (421, ")
    assert lines[start + 3].split() == ["connected", "mail.blog.example", "127.0.0.4"]


class TestDaskRoutes:
    def test_routes_every_domain_on_a_local_cluster_of_processes(self):
        out = run_example("dask_routes.py", "--domains", "1000", "--workers", "2")
        counts = dict(line.rsplit(" ", 1) for line in out.splitlines()[:-1])
        # The synthetic world: of every ten domains, seven MX, one implicit MX,
        # one null MX and one that does not exist.
        assert counts == {"MX": "700", "IMPLICIT_MX": "100", "NullMX": "100", "NoSuchDomain": "100"}
        assert out.splitlines()[-1] == "routed 1000 domains on 2 workers"
