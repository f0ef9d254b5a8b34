"""mxroute check --expect-mx / --expect-provider: the exit status says whether it holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mxroute import InMemoryResolver
from mxroute.cli import EX_FAILURE, EX_OK, EX_TEMPFAIL, EX_USAGE, main

ZONE = Path(__file__).resolve().parent.parent / "examples" / "example.zone"
SHOP = "mx1.shop.example,mx2.shop.example,backup.mail.example"


@pytest.fixture
def zone() -> InMemoryResolver:
    resolver = InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8"))
    resolver.fail("flaky.example", "MX", "servfail")
    return resolver


class TestExpectMX:
    def test_the_exact_set_holds_and_exits_0(self, zone, capsys):
        assert main(["check", "--expect-mx", SHOP, "shop.example"], resolver=zone) == EX_OK
        out = capsys.readouterr().out.splitlines()
        assert out[1] == "  expect: holds"

    def test_a_missing_host_exits_1_and_says_which(self, zone, capsys):
        argv = ["check", "--expect-mx", "mx1.shop.example,mx2.shop.example", "shop.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        assert "  expect: FAILS: unexpected backup.mail.example" in capsys.readouterr().out

    def test_repeated_option_adds_hosts(self, zone, capsys):
        argv = ["check", "--expect-mx", "mx1.shop.example,mx2.shop.example"]
        argv += ["--expect-mx", "backup.mail.example", "shop.example"]
        assert main(argv, resolver=zone) == EX_OK

    def test_a_pattern(self, zone, capsys):
        argv = ["check", "--expect-mx", "*.shop.example,backup.mail.example", "shop.example"]
        assert main(argv, resolver=zone) == EX_OK

    def test_json_has_the_expectation(self, zone, capsys):
        argv = ["check", "--json", "--expect-mx", "mx.new.example", "shop.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        (data,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert data["status"] == "deliverable"
        assert data["expectation"]["holds"] is False
        assert data["expectation"]["missing"] == ["mx.new.example"]
        assert list(data)[-1] == "expectation"

    def test_without_expectation_the_key_is_null(self, zone, capsys):
        assert main(["check", "--json", "shop.example"], resolver=zone) == EX_OK
        (data,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert data["expectation"] is None

    def test_a_temporary_failure_is_75_not_a_failed_expectation(self, zone, capsys):
        argv = ["check", "--expect-mx", "mx.new.example", "flaky.example"]
        assert main(argv, resolver=zone) == EX_TEMPFAIL

    def test_a_bounce_fails_the_expectation(self, zone, capsys):
        argv = ["check", "--expect-mx", "mx.new.example", "parked.example"]
        assert main(argv, resolver=zone) == EX_FAILURE
        assert "expect: FAILS: missing mx.new.example" in capsys.readouterr().out

    @pytest.mark.parametrize("bad", ["mx.*.example", "", "bad..example"])
    def test_a_bad_expectation_is_a_usage_error(self, zone, capsys, bad):
        assert main(["check", "--expect-mx", bad, "shop.example"], resolver=zone) == EX_USAGE
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("mxroute: check: --expect-mx: ")
        assert "Traceback" not in captured.err


class TestExpectProvider:
    def test_the_provider_matches(self, capsys):
        fake = InMemoryResolver()
        fake.add("example.com", "MX", "1 aspmx.l.google.com.", "5 alt1.aspmx.l.google.com.")
        fake.add("aspmx.l.google.com", "A", "192.0.2.1")
        fake.add("alt1.aspmx.l.google.com", "A", "192.0.2.2")
        assert main(["check", "--expect-provider", "google", "example.com"], resolver=fake) == EX_OK
        assert main(["check", "--expect-provider", "zoho", "example.com"], resolver=fake) == (
            EX_FAILURE
        )

    def test_an_unknown_provider_is_a_usage_error(self, zone, capsys):
        assert main(["check", "--expect-provider", "aol", "shop.example"], resolver=zone) == (
            EX_USAGE
        )
        assert "invalid choice" in capsys.readouterr().err
