"""Expectations: expect_mx compares a route's hosts with the hosts expected."""

from __future__ import annotations

import attrs
import pytest

import mxroute
from mxroute import ExpectationResult, InMemoryResolver, InvalidInput, audit, expect_mx
from mxroute.cli import EX_FAILURE, EX_OK, main


def world(*mx: str) -> InMemoryResolver:
    """example.com with these MX exchanges, each with an address."""
    fake = InMemoryResolver()
    fake.add("example.com", "MX", *(f"{10 * i} {host}." for i, host in enumerate(mx, 1)))
    for i, host in enumerate(mx, 1):
        fake.add(host, "A", f"192.0.2.{i}")
    return fake


def route(*mx: str) -> mxroute.MailRoute:
    return mxroute.resolve("example.com", resolver=world(*mx))


class TestExactSet:
    def test_the_same_hosts_hold_in_any_order_and_case(self):
        result = expect_mx(
            route("mx1.provider.net", "mx2.provider.net"), "MX2.Provider.NET.,mx1.provider.net"
        )
        assert result.holds
        assert (result.missing, result.unexpected) == ((), ())
        assert result.expected == ("mx2.provider.net", "mx1.provider.net")

    def test_a_missing_and_an_unexpected_host_are_both_listed(self):
        result = expect_mx(
            route("mx1.provider.net", "old.example.com"), ["mx1.provider.net", "mx2.provider.net"]
        )
        assert not result.holds
        assert result.missing == ("mx2.provider.net",)
        assert result.unexpected == ("old.example.com",)
        assert result.describe() == "FAILS: missing mx2.provider.net; unexpected old.example.com"

    def test_a_host_without_address_is_not_a_host_of_the_route(self):
        fake = world("mx1.provider.net")
        fake.add("example.com", "MX", "20 mx2.provider.net.")  # no address for it
        result = expect_mx(audit("example.com", fake), "mx1.provider.net,mx2.provider.net")
        assert result.missing == ("mx2.provider.net",)

    def test_a_failed_route_misses_everything(self):
        fake = InMemoryResolver()
        fake.add("example.com", "MX", "0 .")
        result = expect_mx(audit("example.com", fake), "mx1.provider.net")
        assert (result.hosts, result.missing) == ((), ("mx1.provider.net",))
        assert not result.holds

    def test_idn_hosts_compare_as_a_labels(self):
        result = expect_mx(route("mx.xn--bcher-kva.example"), "mx.bücher.example")
        assert result.holds


class TestPatterns:
    def test_a_star_is_exactly_one_leftmost_label(self):
        pattern = "*.mail.protection.outlook.com"
        assert expect_mx(route("contoso-com.mail.protection.outlook.com"), pattern).holds
        assert not expect_mx(route("a.b.mail.protection.outlook.com"), pattern).holds
        assert not expect_mx(route("mail.protection.outlook.com"), pattern).holds
        assert not expect_mx(route("xmail.protection.outlook.com"), pattern).holds

    def test_two_stars_are_two_labels(self):
        assert expect_mx(route("contoso-com.o-v1.mx.microsoft"), "*.*.mx.microsoft").holds
        assert not expect_mx(route("contoso-com.mx.microsoft"), "*.*.mx.microsoft").holds

    def test_a_pattern_is_missing_when_no_host_matches(self):
        result = expect_mx(route("mx.old.example"), "*.messagingengine.com")
        assert result.missing == ("*.messagingengine.com",)
        assert result.unexpected == ("mx.old.example",)

    @pytest.mark.parametrize(
        "bad", ["mx.*.example.com", "mx*.example.com", "*.com", "*", "", " , ", "bad..name"]
    )
    def test_a_malformed_entry_is_invalid_input(self, bad):
        with pytest.raises(InvalidInput) as caught:
            expect_mx(route("mx.example.com"), bad)
        assert caught.value.reason in ("invalid-expectation", "empty-label")


class TestProviders:
    def test_google_hosts_match_the_google_entry(self):
        google = route("aspmx.l.google.com", "alt1.aspmx.l.google.com", "aspmx2.googlemail.com")
        result = expect_mx(google, provider="google")
        assert result.holds
        assert result.expected == ("google",)

    def test_a_host_of_another_provider_is_unexpected(self):
        result = expect_mx(
            route("aspmx.l.google.com", "in1-smtp.messagingengine.com"), provider="Google"
        )
        assert result.unexpected == ("in1-smtp.messagingengine.com",)

    def test_provider_and_hosts_combine(self):
        result = expect_mx(
            route("aspmx.l.google.com", "backup.example.com"),
            "backup.example.com",
            provider="google",
        )
        assert result.holds

    def test_an_unknown_provider_names_the_known_ones(self):
        with pytest.raises(InvalidInput, match="fastmail, google") as caught:
            expect_mx(route("mx.example.com"), provider="hotmale")
        assert caught.value.reason == "unknown-provider"

    def test_every_provider_pattern_is_a_valid_entry(self):
        for name, patterns in mxroute.MX_PROVIDERS.items():
            assert expect_mx(route("mx.example.com"), patterns).expected == patterns, name


class TestResult:
    def test_is_frozen_and_converts_to_plain_data(self):
        result = expect_mx(route("mx1.provider.net"), "mx1.provider.net,mx2.provider.net")
        assert isinstance(result, ExpectationResult)
        with pytest.raises(AttributeError):
            result.missing = ()  # type: ignore[misc]
        assert result.to_dict() == {
            "holds": False,
            "expected": ["mx1.provider.net", "mx2.provider.net"],
            "hosts": ["mx1.provider.net"],
            "missing": ["mx2.provider.net"],
            "unexpected": [],
            "tls": None,
            "tls_missing": [],
        }

    def test_anything_but_a_route_or_report_is_a_type_error(self):
        with pytest.raises(TypeError):
            expect_mx("example.com", "mx.example.com")  # type: ignore[arg-type]


class TestTLSExpectation:
    ZONE = """
$ORIGIN example.com.
$TTL 3600
@ SOA ns hostmaster 1 7200 900 1209600 300
@ MX 10 mx1
@ MX 20 mx2
mx1 A 192.0.2.1
mx2 A 192.0.2.2
_25._tcp.mx1 TLSA 3 1 1 {digest}
""".format(digest="ab" * 32)

    def route(self, *, signed=True):
        fake = mxroute.InMemoryResolver.from_zone(self.ZONE, authenticated=signed)
        policy = mxroute.RoutingPolicy(dane=True)
        return mxroute.Router(resolver=fake, policy=policy).resolve("example.com")

    def test_hosts_below_the_level_are_listed(self):
        result = mxroute.expect_mx(self.route(), tls="dane")
        assert result.tls is mxroute.TLSLevel.DANE
        assert result.tls_missing == ("mx2.example.com",)
        assert not result.holds
        assert "below TLS dane mx2.example.com" in result.describe()
        assert result.to_dict()["tls_missing"] == ["mx2.example.com"]

    def test_a_stronger_level_satisfies_a_weaker_expectation(self):
        route = self.route()
        result = mxroute.expect_mx(route, "mx1.example.com,mx2.example.com", tls="encrypt")
        assert result.tls_missing == ("mx2.example.com",)  # opportunistic is below encrypt
        only_mx1 = attrs.evolve(route, hosts=route.hosts[:1])
        assert mxroute.expect_mx(only_mx1, tls=mxroute.TLSLevel.MTA_STS).holds

    def test_a_route_without_hosts_never_holds(self):
        fake = mxroute.InMemoryResolver()
        report = mxroute.audit("nowhere.example", fake)
        result = mxroute.expect_mx(report, tls="dane")
        assert not result.holds
        assert "no mail host" in result.describe()

    def test_unknown_level(self):
        with pytest.raises(mxroute.InvalidInput) as caught:
            mxroute.expect_mx(self.route(), tls="strong")
        assert caught.value.reason == "invalid-tls-level"

    def test_command_line(self, capsys):
        fake = mxroute.InMemoryResolver.from_zone(self.ZONE, authenticated=True)
        assert main(["check", "--expect-tls", "dane", "example.com"], fake) == EX_FAILURE
        assert "expect: FAILS: below TLS dane mx2.example.com" in capsys.readouterr().out
        fake.add("_25._tcp.mx2.example.com", "TLSA", "3 1 1 " + "cd" * 32, authenticated=True)
        assert main(["check", "--expect-tls", "dane", "example.com"], fake) == EX_OK
