"""Domain, literal and target parsing: A-labels, limits, and typed errors."""

from __future__ import annotations

import contextlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mxroute
from mxroute import InvalidAddress, InvalidDomain, MXRouteError, TargetKind, parse_target
from mxroute._names import (
    format_address,
    format_literal,
    normalize_host,
    parse_host_port,
    parse_ip,
    parse_literal,
    to_a_label,
)


class TestToALabel:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Example.COM", "example.com"),
            ("example.com.", "example.com"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("BÜCHER.example", "xn--bcher-kva.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
            ("a-b.c0", "a-b.c0"),
            ("localhost", "localhost"),
        ],
    )
    def test_valid_names(self, text, expected):
        assert to_a_label(text) == expected

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "empty"),
            (".", "empty"),
            ("a..b", "empty-label"),
            (".example.com", "empty-label"),
            ("a" * 64 + ".com", "label-too-long"),
            (".".join(["a" * 60] * 5), "too-long"),
            ("exa mple.com", "invalid-character"),
            ("under_score.com", "invalid-character"),
            ("-lead.com", "hyphen-at-label-edge"),
            ("trail-.com", "hyphen-at-label-edge"),
            ("xn--ls8h.com", "invalid-idna"),
            ("192.0.2.1", "numeric-tld"),
            ("a\u0000b.com", "invalid-character"),
            ("☃\u200d.com", "invalid-idna"),
        ],
    )
    def test_invalid_names_have_stable_reasons(self, text, reason):
        with pytest.raises(InvalidDomain) as info:
            to_a_label(text)
        assert info.value.reason == reason
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, MXRouteError)

    def test_message_names_the_input(self):
        with pytest.raises(InvalidDomain, match="exa mple"):
            to_a_label("exa mple.com")

    def test_non_string_is_a_typed_error(self):
        with pytest.raises(InvalidDomain):
            to_a_label(42)  # type: ignore[arg-type]

    @given(st.text(max_size=80))
    def test_arbitrary_text_raises_only_invalid_domain(self, text):
        try:
            result = to_a_label(text)
        except InvalidDomain:
            return
        assert result == result.lower()
        assert result.isascii()
        assert to_a_label(result) == result


class TestLiterals:
    def test_ipv4(self):
        assert parse_literal("[192.0.2.1]") == ipaddress.ip_address("192.0.2.1")

    def test_ipv6_tag_is_case_insensitive(self):
        assert parse_literal("[ipv6:2001:DB8::1]") == ipaddress.ip_address("2001:db8::1")

    @pytest.mark.parametrize(
        "text",
        ["192.0.2.1", "[192.0.2]", "[2001:db8::1]", "[IPv6:192.0.2.1]", "[IPv6:fe80::1%eth0]",
         "[192.0.2.01]", "[x:1]", "[]"],
    )  # fmt: skip
    def test_invalid(self, text):
        with pytest.raises(InvalidAddress) as info:
            parse_literal(text)
        assert info.value.reason == "invalid-literal"

    def test_format_round_trips(self):
        for text in ("[192.0.2.1]", "[IPv6:2001:db8::1]"):
            assert format_literal(parse_literal(text)) == text

    @pytest.mark.parametrize(
        ("name", "expected"),
        [("192.0.2.1", "192.0.2.1"), ("[192.0.2.1]", "192.0.2.1"), ("2001:db8::1", "2001:db8::1"),
         ("mx1.example.com", None), ("1.example.com", None)],
    )  # fmt: skip
    def test_ip_literal_exchange_names(self, name, expected):
        got = parse_ip(name)
        assert (None if got is None else str(got)) == expected

    @pytest.mark.parametrize(
        "text", ["[IPv6:2001:db8::1]", "ipv6:2001:db8::1", "IPV6:2001:DB8::1", "[2001:db8::1]"]
    )
    def test_parse_ip_reads_every_spelling_of_an_address(self, text):
        assert parse_ip(text) == ipaddress.ip_address("2001:db8::1")

    @pytest.mark.parametrize("text", ["", "[]", "fe80::1%eth0", "[IPv6:IPv6:2001:db8::1]", "1."])
    def test_parse_ip_refuses_what_is_no_destination(self, text):
        assert parse_ip(text) is None

    def test_format_address_writes_a_mapped_address_in_dotted_decimal(self):
        assert format_address(ipaddress.ip_address("::ffff:c000:201")) == "::ffff:192.0.2.1"
        assert format_address(ipaddress.ip_address("2001:DB8::1")) == "2001:db8::1"
        assert format_literal(ipaddress.ip_address("::ffff:c000:201")) == (
            "[IPv6:::ffff:192.0.2.1]"
        )

    def test_normalize_host_gives_a_literal_its_canonical_spelling(self):
        assert normalize_host("[ipv6:2001:DB8::1]") == "[IPv6:2001:db8::1]"
        assert normalize_host("MX1.Example.") == "mx1.example"

    @pytest.mark.parametrize(
        ("text", "host", "port", "bracketed"),
        [("relay.example", "relay.example", None, False), ("relay:587", "relay", 587, False),
         ("[ipv6:2001:db8::1]:25", "ipv6:2001:db8::1", 25, True), ("2001:db8::1", "2001:db8::1",
         None, False), ("[192.0.2.1]", "192.0.2.1", None, True)],
    )  # fmt: skip
    def test_parse_host_port(self, text, host, port, bracketed):
        got = parse_host_port(text)
        assert (got.host, got.port, got.bracketed) == (host, port, bracketed)

    @pytest.mark.parametrize("text", ["[x", "x:", "x:y", "[x]1", "x:0", "x:65536", "x:\u00b2"])
    def test_parse_host_port_refuses(self, text):
        with pytest.raises(mxroute.InvalidInput) as info:
            parse_host_port(text.encode().decode("unicode_escape"))
        assert info.value.reason == "invalid-host-port"


class TestParseTarget:
    def test_domain(self):
        t = parse_target("Example.com")
        assert (t.kind, t.domain, t.local_part) == (TargetKind.DOMAIN, "example.com", None)

    def test_address_keeps_local_part_case(self):
        t = parse_target("Alice.Smith@Example.com")
        assert (t.domain, t.local_part) == ("example.com", "Alice.Smith")

    def test_quoted_local_part_with_at_sign(self):
        assert parse_target('"a@b"@example.com').local_part == '"a@b"'

    def test_literal_target(self):
        t = parse_target("postmaster@[IPv6:2001:db8::5]")
        assert t.kind is TargetKind.LITERAL
        assert t.domain == "[IPv6:2001:db8::5]"

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("@example.com", "empty-local-part"),
            ("a" * 65 + "@example.com", "local-part-too-long"),
            ("a..b@example.com", "invalid-local-part"),
            ("a b@example.com", "invalid-local-part"),
            ("alice@", "invalid-domain"),
            ("alice@exa mple.com", "invalid-domain"),
            ("a" * 64 + "@" + ".".join(["b" * 62] * 3) + ".com", "address-too-long"),
        ],
    )
    def test_invalid_addresses(self, text, reason):
        with pytest.raises(InvalidAddress) as info:
            parse_target(text)
        assert info.value.reason == reason
        assert text in str(info.value)

    @given(st.text(max_size=60))
    def test_arbitrary_text_raises_only_typed_errors(self, text):
        with contextlib.suppress(InvalidDomain, InvalidAddress):
            parse_target(text)


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("mx.example.net", "mx.example.net", True),
        ("mx.example.net", "mx2.example.net", False),
        ("*.example.net", "mx1.example.net", True),
        ("*.example.net", "example.net", False),
        ("*.example.net", "a.mx1.example.net", False),
        ("*.example.net", ".example.net", False),
        ("*.*.mx.microsoft", "a.b.mx.microsoft", True),
        ("*.*.mx.microsoft", "b.mx.microsoft", False),
        ("*.example.net", "xexample.net", False),
    ],
)
def test_matches_pattern_one_label_per_star(pattern, name, matches):
    from mxroute._names import matches_pattern

    assert matches_pattern(pattern, name) is matches
