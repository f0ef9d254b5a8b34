"""The audit's backup MX comparison and its SPF checks (only where SPF concerns delivery)."""

from __future__ import annotations

import ipaddress

import pytest

from mxroute import AuditReport, InMemoryResolver, audit
from mxroute._audit import HostView, compare_backup, spf_record
from mxroute._tls import join_txt


def codes(report: AuditReport) -> list[str]:
    return [f.code for f in report.findings]


def host(name: str, preference: int, *addresses: str) -> HostView:
    return HostView(name, preference, tuple(ipaddress.ip_address(a) for a in addresses))


class TestBackupMX:
    def test_a_backup_at_the_primarys_provider_with_its_families_is_fine(self) -> None:
        primary = [host("mx1.example.com", 10, "192.0.2.1", "2001:db8::1")]
        assert (
            compare_backup(primary, host("mx2.example.com", 20, "198.51.100.1", "2001:db8:1::1"))
            == []
        )

    def test_a_backup_at_another_provider(self) -> None:
        primary = [host("mx1.example.com", 10, "192.0.2.1")]
        (found,) = compare_backup(primary, host("backup.mailhost.example", 20, "198.51.100.1"))
        assert found.code == "backup-mx-other-provider"
        assert found.subject == "backup.mailhost.example"
        assert "mailhost.example" in found.message
        assert "spam" in found.fix

    def test_the_provider_is_the_last_two_labels(self) -> None:
        assert host("a.b.mx.provider.net", 10).provider == "provider.net"
        primary = [host("mx1.eu.provider.net", 10, "192.0.2.1")]
        assert compare_backup(primary, host("mx9.us.provider.net", 20, "198.51.100.1")) == []

    def test_a_backup_with_fewer_families(self) -> None:
        primary = [host("mx1.example.com", 10, "192.0.2.1", "2001:db8::1")]
        (found,) = compare_backup(primary, host("mx2.example.com", 20, "198.51.100.1"))
        assert found.code == "backup-mx-fewer-families"
        assert "no IPv6 address" in found.message

    def test_a_backup_with_one_address_where_the_primary_has_several(self) -> None:
        primary = [host("mx1.example.com", 10, "192.0.2.1", "192.0.2.2")]
        (found,) = compare_backup(primary, host("mx2.example.com", 20, "198.51.100.1"))
        assert found.code == "backup-mx-single-address"
        assert "has 2 or more" in found.message

    def test_a_backup_is_weaker_only_than_what_every_primary_host_has(self) -> None:
        primary = [
            host("mx1.example.com", 10, "192.0.2.1", "2001:db8::1"),
            host("mx2.example.com", 10, "192.0.2.2"),
        ]
        assert compare_backup(primary, host("mx3.example.com", 20, "198.51.100.1")) == []

    def test_the_audit_compares_every_backup_with_the_most_preferred_tier(
        self, fake: InMemoryResolver
    ) -> None:
        fake.add(
            "example.com", "MX", "10 a.example.com.", "10 b.example.com.", "20 c.other.example."
        )
        fake.add("example.com", "MX", "30 d.example.com.")
        for name, address in (("a", "192.0.2.1"), ("b", "198.51.100.1"), ("d", "203.0.113.4")):
            fake.add(f"{name}.example.com", "A", address)
            fake.add(f"{name}.example.com", "AAAA", f"2001:db8:{ord(name)}::1")
        fake.add("c.other.example", "A", "203.0.113.3")
        report = audit("example.com", fake)
        backup = [(f.code, f.subject) for f in report.findings if f.code.startswith("backup-mx")]
        assert backup == [
            ("backup-mx-other-provider", "c.other.example"),
            ("backup-mx-fewer-families", "c.other.example"),
        ]

    def test_an_unusable_primary_leaves_the_next_tier_as_primary(
        self, fake: InMemoryResolver
    ) -> None:
        fake.add("example.com", "MX", "10 gone.example.com.", "20 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        assert not [c for c in codes(audit("example.com", fake)) if c.startswith("backup-mx")]


class TestTXTText:
    @pytest.mark.parametrize(
        ("rdata", "text"),
        [
            ('"v=spf1 -all"', "v=spf1 -all"),
            ('"v=spf1 ip4:192.0.2.0/24" " -all"', "v=spf1 ip4:192.0.2.0/24 -all"),
            ('"v=spf1" "-all"', "v=spf1-all"),  # no space is added between strings
            (r'"say \"hi\"" "\\"', 'say "hi"\\'),
            (r'"v=spf1\032-all"', "v=spf1 -all"),
            ("plain words", "plainwords"),
            ('""', ""),
        ],
    )
    def test_character_strings_are_concatenated(self, rdata: str, text: str) -> None:
        assert join_txt(rdata) == text

    def test_the_spf_record_is_the_one_starting_v_spf1(self) -> None:
        assert spf_record(['"google-site-verification=x"', '"v=spf1 mx -all"']) == "v=spf1 mx -all"
        assert spf_record(['"V=SPF1 -all"']) == "V=SPF1 -all"
        assert spf_record(['"v=spf10 -all"']) is None
        assert spf_record(['"v=spf1 -all"', '"v=spf1 mx -all"']) is None  # permerror: not judged


class TestSPF:
    def test_a_null_mx_with_an_spf_that_authorises_senders(self, fake: InMemoryResolver) -> None:
        fake.add("example.com", "MX", "0 .")
        fake.add("example.com", "TXT", '"v=spf1 include:_spf.example.net" " ~all"')
        report = audit("example.com", fake)
        assert "null-mx-spf-allows-senders" in codes(report)
        (spf,) = [f for f in report.findings if f.code == "null-mx-spf-allows-senders"]
        assert "'v=spf1 include:_spf.example.net ~all'" in spf.message
        assert report.ok  # a warning: mail is not affected

    def test_a_null_mx_with_spf_minus_all_is_right(self, fake: InMemoryResolver) -> None:
        fake.add("example.com", "MX", "0 .")
        fake.add("example.com", "TXT", '"v=spf1 -all"')
        assert codes(audit("example.com", fake)) == ["null-mx"]

    def test_no_mx_and_spf_minus_all_is_reported_and_still_delivered(
        self, fake: InMemoryResolver
    ) -> None:
        fake.add("example.com", "A", "192.0.2.1")
        fake.add("example.com", "TXT", '"v=spf1 -all"')
        report = audit("example.com", fake)
        assert "implicit-mx-spf-no-mail" in codes(report)
        assert report.route is not None  # RFC 5321: the implicit MX still takes mail
        assert report.error is None

    def test_no_mx_with_an_spf_that_sends_is_not_flagged(self, fake: InMemoryResolver) -> None:
        fake.add("example.com", "A", "192.0.2.1")
        fake.add("example.com", "TXT", '"v=spf1 a -all"')
        assert "implicit-mx-spf-no-mail" not in codes(audit("example.com", fake))

    def test_txt_is_asked_in_the_address_batch_only_without_real_mx(
        self, fake: InMemoryResolver
    ) -> None:
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        audit("example.com", fake)
        assert ("example.com", "TXT") not in fake.queries

    def test_a_temporary_txt_failure_makes_the_audit_incomplete(
        self, fake: InMemoryResolver
    ) -> None:
        fake.add("example.com", "MX", "0 .")
        fake.fail("example.com", "TXT", "servfail")
        report = audit("example.com", fake)
        assert "lookup-temporary-failure" in codes(report)
        assert not report.complete
