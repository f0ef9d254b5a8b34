"""The validators: validate_address, validate_domain and check_mx_records."""

from __future__ import annotations

import ipaddress
import pickle
import random
from pathlib import Path

import attrs
import pytest

import mxroute
from mxroute import (
    ADDRESS_REASONS,
    DOMAIN_REASONS,
    Address,
    InvalidAddress,
    InvalidDomain,
    InvalidInput,
    InvalidPolicy,
    MXRecord,
    Severity,
    check_mx_records,
    validate_address,
    validate_domain,
)
from mxroute._names import parse_target

LONG_LABEL = "a" * 63
# 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters: the longest name.
LONGEST_DOMAIN = ".".join([LONG_LABEL, LONG_LABEL, LONG_LABEL, "a" * 61])


def reason_of(text: object, **options: bool) -> str:
    with pytest.raises(InvalidAddress) as info:
        validate_address(text, **options)  # type: ignore[arg-type]
    assert str(info.value), "every error has a message"
    return info.value.reason


class TestValidAddresses:
    @pytest.mark.parametrize(
        ("text", "normalized"),
        [
            ("alice@example.com", "alice@example.com"),
            ("Alice.Smith@Example.COM", "Alice.Smith@example.com"),
            ("a!#$%&'*+/=?^_`{|}~-z@example.com", "a!#$%&'*+/=?^_`{|}~-z@example.com"),
            ("user+tag@sub.example.co.uk", "user+tag@sub.example.co.uk"),
            ("x@localhost", "x@localhost"),
            ("1@2.example", "1@2.example"),
            ('"john"@example.com', "john@example.com"),
            ('"john.smith"@example.com', "john.smith@example.com"),
            ('"j\\ohn"@example.com', "john@example.com"),
            ('"john smith"@example.com', '"john smith"@example.com'),
            ('"john\\ smith"@example.com', '"john smith"@example.com'),
            ('"a\\"b"@example.com', '"a\\"b"@example.com'),
            ('"a\\\\b"@example.com', '"a\\\\b"@example.com'),
            ('"a@b"@example.com', '"a@b"@example.com'),
            ('"john..smith"@example.com', '"john..smith"@example.com'),
            ('".john"@example.com', '".john"@example.com'),
            ("alice@Bücher.Example", "alice@xn--bcher-kva.example"),
            ("alice@xn--bcher-kva.example", "alice@xn--bcher-kva.example"),
            ("alice@XN--BCHER-KVA.example", "alice@xn--bcher-kva.example"),
            ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
            ("Ünïcode@example.com", "Ünïcode@example.com"),
            ('"Ünï code"@example.com', '"Ünï code"@example.com'),
            ("postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]"),
            ("postmaster@[IPv6:2001:DB8:0:0::1]", "postmaster@[IPv6:2001:db8::1]"),
            ("postmaster@[ipv6:::ffff:192.0.2.1]", "postmaster@[IPv6:::ffff:192.0.2.1]"),
            ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
            ('"' + "a" * 64 + '"@example.com', "a" * 64 + "@example.com"),
            ("a@" + LONGEST_DOMAIN[1:], "a@" + LONGEST_DOMAIN[1:]),  # 254 octets
        ],
    )
    def test_normalized_form(self, text: str, normalized: str) -> None:
        address = validate_address(text)
        assert address.normalized == normalized
        assert str(address) == normalized
        assert f"{address.local_part}@{address.domain}" == normalized

    def test_local_part_keeps_its_case(self) -> None:
        assert validate_address("MiXeD@EXAMPLE.org").local_part == "MiXeD"
        assert validate_address("Info@example.org").local_part == "Info"
        assert validate_address("PostMasters@example.org").local_part == "PostMasters"

    @pytest.mark.parametrize(
        "text", ["PostMaster@Example.org", '"POSTMASTER"@example.org', "postmaster@example.org"]
    )
    def test_postmaster_is_case_insensitive(self, text: str) -> None:
        assert validate_address(text).normalized == "postmaster@example.org"

    def test_unicode_domain_is_the_u_label_form(self) -> None:
        address = validate_address("alice@XN--BCHER-KVA.Example")
        assert address.domain == "xn--bcher-kva.example"
        assert address.unicode_domain == "bücher.example"
        assert address.literal is None
        assert not address.smtputf8

    def test_smtputf8_only_for_a_non_ascii_local_part(self) -> None:
        assert validate_address("用户@example.com").smtputf8
        assert not validate_address("user@例子.广告").smtputf8
        assert validate_address('"用 户"@example.com').smtputf8

    def test_literal(self) -> None:
        address = validate_address("postmaster@[IPv6:2001:db8::1]")
        assert address.literal == ipaddress.ip_address("2001:db8::1")
        assert address.domain == address.unicode_domain == "[IPv6:2001:db8::1]"
        v4 = validate_address("postmaster@[192.0.2.1]")
        assert v4.literal == ipaddress.IPv4Address("192.0.2.1")

    def test_to_dict(self) -> None:
        assert validate_address("Bob@[192.0.2.1]").to_dict() == {
            "local_part": "Bob",
            "domain": "[192.0.2.1]",
            "unicode_domain": "[192.0.2.1]",
            "literal": "192.0.2.1",
            "normalized": "Bob@[192.0.2.1]",
            "smtputf8": False,
        }
        assert validate_address("é@bücher.example").to_dict()["unicode_domain"] == "bücher.example"

    def test_a_mapped_literal_is_written_the_same_on_every_python(self) -> None:
        data = validate_address("a@[IPv6:::ffff:c000:201]").to_dict()
        assert data["literal"] == "::ffff:192.0.2.1"
        assert data["normalized"] == "a@[IPv6:::ffff:192.0.2.1]"
        assert validate_address(data["normalized"]).normalized == data["normalized"]

    def test_address_is_frozen_and_hashable(self) -> None:
        address = validate_address("alice@example.com")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            address.local_part = "bob"  # type: ignore[misc]
        assert address == validate_address("alice@EXAMPLE.com")
        assert len({address, validate_address("alice@example.com")}) == 1
        assert isinstance(address, Address)

    def test_needless_quotes_are_accepted_when_quoting_is_not(self) -> None:
        assert validate_address('"john"@example.com', allow_quoted=False).local_part == "john"

    def test_ascii_address_with_options_off(self) -> None:
        address = validate_address(
            "alice@bücher.example", allow_smtputf8=False, allow_quoted=False, allow_literal=False
        )
        assert address.normalized == "alice@xn--bcher-kva.example"


class TestReasonCodes:
    """Every documented reason code is provoked by at least one input."""

    CASES: tuple[tuple[str, object, dict[str, bool]], ...] = (
        ("empty", "", {}),
        ("empty", None, {}),
        ("whitespace", " alice@example.com", {}),
        ("whitespace", "alice@example.com\n", {}),
        ("whitespace", "alice@example.com\u00a0", {}),
        ("no-at-sign", "alice.example.com", {}),
        ("empty-local-part", "@example.com", {}),
        ("empty-local-part", '""@example.com', {}),
        ("invalid-local-part", "john smith@example.com", {}),
        ("invalid-local-part", ".john@example.com", {}),
        ("invalid-local-part", "john.@example.com", {}),
        ("invalid-local-part", "john..smith@example.com", {}),
        ("invalid-local-part", "a@b@example.com", {}),
        ("invalid-local-part", "a(comment)@example.com", {}),
        ("invalid-local-part", '"unterminated@example.com', {}),
        ("invalid-local-part", '"a"b"@example.com', {}),
        ("invalid-local-part", '"tab\there"@example.com', {}),
        ("invalid-local-part", '"john"."smith"@example.com', {}),
        ("invalid-local-part", "jo\u200bhn@example.com", {}),
        ("invalid-local-part", "jo\u00a0hn@example.com", {}),
        ("invalid-local-part", "\u0301john@example.com", {}),
        ("invalid-local-part", "john.\u0301x@example.com", {}),
        ("invalid-local-part", "jo\ud800hn@example.com", {}),
        ("invalid-local-part", '"jo\u2028hn"@example.com', {}),
        ("local-part-too-long", "a" * 65 + "@example.com", {}),
        ("local-part-too-long", "é" * 33 + "@example.com", {}),
        ("local-part-too-long", '"' + "a " * 33 + '"@example.com', {}),
        ("quoted-local-part-not-allowed", '"john smith"@example.com', {"allow_quoted": False}),
        ("smtputf8-not-allowed", "用户@example.com", {"allow_smtputf8": False}),
        ("smtputf8-not-allowed", '"用 户"@example.com', {"allow_smtputf8": False}),
        ("literal-not-allowed", "postmaster@[192.0.2.1]", {"allow_literal": False}),
        ("invalid-literal", "postmaster@[192.0.2.256]", {}),
        ("invalid-literal", "postmaster@[2001:db8::1]", {}),
        ("invalid-literal", "postmaster@[IPv6:192.0.2.1]", {}),
        ("invalid-literal", "postmaster@[IPv6:fe80::1%eth0]", {}),
        ("invalid-literal", "postmaster@[192.0.2.1", {}),
        ("invalid-domain", "alice@", {}),
        ("invalid-domain", "alice@example..com", {}),
        ("invalid-domain", "alice@example.com.", {}),
        ("invalid-domain", "alice@exa mple.com", {}),
        ("address-too-long", "a" * 64 + "@" + LONGEST_DOMAIN[:200], {}),
        ("address-too-long", "é" * 32 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63, {}),
        ("address-too-long", "a" * 2000, {}),
    )

    @pytest.mark.parametrize(("reason", "text", "options"), CASES)
    def test_reason(self, reason: str, text: object, options: dict[str, bool]) -> None:
        assert reason_of(text, **options) == reason

    def test_every_documented_reason_is_tested(self) -> None:
        assert {reason for reason, _, _ in self.CASES} == set(ADDRESS_REASONS)

    def test_the_message_says_what_to_fix(self) -> None:
        with pytest.raises(InvalidAddress, match="two dots in a row") as info:
            validate_address("john..smith@example.com")
        assert info.value.text == "john..smith@example.com"
        with pytest.raises(InvalidAddress, match="remove the whitespace"):
            validate_address(" alice@example.com ")
        with pytest.raises(InvalidAddress, match="ends with a dot; remove it"):
            validate_address("alice@example.com.")
        with pytest.raises(InvalidAddress, match="contains a space"):
            validate_address("john smith@example.com")

    def test_errors_are_value_errors_and_mxroute_errors(self) -> None:
        with pytest.raises(ValueError, match="needs an '@'"):
            validate_address("nobody")
        with pytest.raises(mxroute.MXRouteError):
            validate_address("nobody")


class TestDomainReasons:
    CASES: tuple[tuple[str, str], ...] = (
        ("empty", ""),
        ("too-long", LONGEST_DOMAIN + "a"),
        ("too-long", "é" * 2000 + ".example"),
        ("empty-label", "example..com"),
        ("empty-label", ".example.com"),
        ("label-too-long", "a" * 64 + ".example"),
        ("invalid-character", "exa_mple.com"),
        ("hyphen-at-label-edge", "-example.com"),
        ("hyphen-at-label-edge", "example-.com"),
        ("invalid-idna", "xn--a.example"),
        ("invalid-idna", "a\u200d.example"),
        ("numeric-tld", "192.0.2.1"),
    )

    @pytest.mark.parametrize(("reason", "text"), CASES)
    def test_validate_domain_reason(self, reason: str, text: str) -> None:
        with pytest.raises(InvalidDomain) as info:
            validate_domain(text)
        assert info.value.reason == reason

    @pytest.mark.parametrize(("reason", "text"), [c for c in CASES if len(c[1]) < 1000])
    def test_the_domain_reason_of_an_address(self, reason: str, text: str) -> None:
        with pytest.raises(InvalidAddress) as info:
            validate_address(f"a@{text}")
        assert info.value.reason == "invalid-domain"
        assert info.value.domain_reason == reason

    def test_every_documented_domain_reason_is_tested(self) -> None:
        assert {reason for reason, _ in self.CASES} == set(DOMAIN_REASONS)

    def test_a_unicode_domain_whose_a_label_is_too_long(self) -> None:
        domain = ".".join(["例子广告用户" * 3] * 6)  # 113 characters; each A-label has 45
        assert len(domain) < 253
        with pytest.raises(InvalidAddress) as info:
            validate_address(f"a@{domain}")
        assert info.value.domain_reason == "too-long"

    def test_domain_reason_survives_pickling(self) -> None:
        with pytest.raises(InvalidAddress) as info:
            validate_address("a@example..com")
        copy = pickle.loads(pickle.dumps(info.value))
        assert (copy.reason, copy.domain_reason, copy.text) == (
            "invalid-domain",
            "empty-label",
            "a@example..com",
        )

    def test_other_reasons_have_no_domain_reason(self) -> None:
        with pytest.raises(InvalidAddress) as info:
            validate_address("nobody")
        assert info.value.domain_reason is None

    def test_parse_target_sets_domain_reason_too(self) -> None:
        with pytest.raises(InvalidAddress) as info:
            parse_target("a@exa_mple.com")
        assert (info.value.reason, info.value.domain_reason) == (
            "invalid-domain",
            "invalid-character",
        )
        with pytest.raises(InvalidAddress) as info:
            parse_target("a@")
        assert (info.value.reason, info.value.domain_reason) == ("invalid-domain", "empty")

    def test_validate_domain_accepts_the_absolute_form(self) -> None:
        assert validate_domain("Bücher.Example.") == "xn--bcher-kva.example"
        assert validate_domain("EXAMPLE.com") == "example.com"


STATIC_CODES = {
    "implicit-mx",
    "null-mx",
    "null-mx-nonzero-preference",
    "null-mx-mixed",
    "duplicate-mx-host",
    "single-mx",
    "max-hosts-exceeded",
    "mx-target-ip-literal",
    "mx-target-invalid-name",
}


def mx_codes(*records: str | MXRecord, **options: object) -> list[str]:
    return [f.code for f in check_mx_records(records, **options)]  # type: ignore[arg-type]


class TestCheckMXRecords:
    def test_a_healthy_set_has_no_findings(self) -> None:
        assert check_mx_records(["10 mx1.example.com.", "20 mx2.example.com."]) == ()

    def test_empty_set_is_an_implicit_mx(self) -> None:
        (finding,) = check_mx_records([], domain="example.com")
        assert finding.code == "implicit-mx"
        assert finding.subject == "example.com"

    def test_null_mx_alone(self) -> None:
        assert mx_codes("0 .") == ["null-mx"]

    def test_null_mx_at_nonzero_preference(self) -> None:
        findings = check_mx_records(["10 ."])
        assert [f.code for f in findings] == ["null-mx-nonzero-preference", "null-mx"]
        assert findings[0].subject == "10 ."

    def test_null_mx_mixed(self) -> None:
        assert mx_codes("0 .", "10 mx1.example.com.", "20 mx2.example.com.") == ["null-mx-mixed"]

    def test_duplicate_host(self) -> None:
        findings = check_mx_records(
            ["10 mx1.example.com.", "20 MX1.example.com.", "30 mx2.example.com."]
        )
        assert [f.code for f in findings] == ["duplicate-mx-host"]
        assert findings[0].subject == "mx1.example.com"
        assert "preference 10 is used" in findings[0].message

    def test_single_mx(self) -> None:
        (finding,) = check_mx_records([MXRecord(10, "mx1.example.com")], domain="example.com")
        assert (finding.code, finding.subject) == ("single-mx", "example.com")
        assert "mx1.example.com" in finding.message

    def test_ip_literal_target(self) -> None:
        findings = check_mx_records(["10 192.0.2.1.", "20 mx2.example.com."])
        assert [(f.code, f.subject, f.severity) for f in findings] == [
            ("mx-target-ip-literal", "192.0.2.1", Severity.ERROR)
        ]
        assert mx_codes("10 [IPv6:2001:db8::1]", "20 mx.example.") == ["mx-target-ip-literal"]

    def test_invalid_host_name_target(self) -> None:
        assert mx_codes("10 mx_1.example.com.", "20 mx2.example.com.") == ["mx-target-invalid-name"]
        assert mx_codes("10 -mx.example.com.", "20 mx2.example.com.") == ["mx-target-invalid-name"]

    def test_more_hosts_than_the_limit(self) -> None:
        records = [f"10 mx{i}.example.com." for i in range(51)]
        assert mx_codes(*records) == ["max-hosts-exceeded"]
        assert mx_codes(*records[:50]) == []
        assert mx_codes(*records[:3], max_hosts=2) == ["max-hosts-exceeded"]

    def test_findings_are_sorted_most_severe_first(self) -> None:
        findings = check_mx_records(["0 .", "10 192.0.2.1."])
        assert [f.code for f in findings] == ["mx-target-ip-literal", "null-mx-mixed", "single-mx"]
        ranks = [f.severity.rank for f in findings]
        assert ranks == sorted(ranks)

    def test_every_code_comes_from_the_catalogue(self) -> None:
        findings = check_mx_records(["0 .", "10 192.0.2.1.", "10 a_b.example.", "20 a_b.example."])
        for finding in findings:
            entry = mxroute.FINDING_CODES[finding.code]
            assert (finding.severity, finding.fix) == (entry.severity, entry.fix)

    def test_bad_input(self) -> None:
        with pytest.raises(InvalidInput) as info:
            check_mx_records(["mx1.example.com."])
        assert info.value.reason == "invalid-mx"
        with pytest.raises(InvalidInput) as info:
            check_mx_records("10 mx1.example.com.")  # type: ignore[arg-type]
        assert info.value.reason == "invalid-mx"
        with pytest.raises(InvalidPolicy) as info:
            check_mx_records([], max_hosts=0)
        assert info.value.reason == "invalid-max-hosts"

    @pytest.mark.parametrize(
        "records",
        [
            ["10 mx1.example.com.", "20 mx1.example.com.", "30 mx2.example.com."],
            ["0 .", "10 mx1.example.com."],
            ["10 192.0.2.1.", "20 mx1.example.com."],
            ["5 mx1.example.com."],
            ["10 ."],
        ],
    )
    def test_codes_match_the_planner(self, records: list[str]) -> None:
        fake = mxroute.InMemoryResolver()
        fake.add("example.com", "MX", *records)
        fake.add("mx1.example.com", "A", "192.0.2.10")
        fake.add("mx2.example.com", "A", "192.0.2.20")
        router = mxroute.Router(resolver=fake, rng=random.Random(3))
        try:
            planner_codes = {f.code for f in router.resolve("example.com").findings}
        except mxroute.MailRouteError as exc:
            planner_codes = {f.code for f in exc.findings}
        static = set(mx_codes(*records, domain="example.com"))
        # null-mx is the planner's NullMX error rather than a finding, and
        # mx-target-invalid-name is a rule the planner does not check.
        static_codes = STATIC_CODES - {"null-mx", "mx-target-invalid-name"}
        assert static - {"null-mx"} == planner_codes & static_codes

    @pytest.mark.parametrize(
        "records",
        [
            ["30 mx1.example.com.", "10 mx1.example.com.", "20 mx2.example.com."],
            ["0 .", "10 mx1.example.com."],
            ["5 mx1.example.com.", "7 mx1.example.com.", "6 mx1.example.com."],
        ],
    )
    def test_findings_match_the_planner_word_for_word(self, records: list[str]) -> None:
        fake = mxroute.InMemoryResolver()
        fake.add("example.com", "MX", *records)
        fake.add("mx1.example.com", "A", "192.0.2.10")
        fake.add("mx2.example.com", "A", "192.0.2.20")
        routed = mxroute.Router(resolver=fake).resolve("example.com").findings
        static = check_mx_records(records, domain="example.com")
        assert static
        assert set(static) <= set(routed)


class TestDocumentation:
    PAGE = (Path(__file__).parent.parent / "docs" / "validation.md").read_text(encoding="utf-8")

    @pytest.mark.parametrize("code", sorted({*ADDRESS_REASONS, *DOMAIN_REASONS, *STATIC_CODES}))
    def test_every_code_is_in_the_reference_tables(self, code: str) -> None:
        assert f"| `{code}` |" in self.PAGE

    @pytest.mark.parametrize("code", sorted(STATIC_CODES))
    def test_every_static_finding_code_is_catalogued(self, code: str) -> None:
        assert code in mxroute.FINDING_CODES
