"""The audit: every finding code it reports, on the in-memory resolver."""

from __future__ import annotations

import ipaddress
import json
import random

import pytest

import mxroute
from mxroute import (
    AuditReport,
    InMemoryResolver,
    RoutingPolicy,
    Severity,
    TLSLevel,
    audit,
    audit_async,
)
from mxroute._audit import MAX_TTL, MIN_TTL
from tests.test_authoritative import AUTHORITATIVE_SCENARIOS
from tests.test_dane import DANE_AUDIT, prepare_audit_scenario


def codes(report: AuditReport) -> list[str]:
    return [f.code for f in report.findings]


def finding(report: AuditReport, code: str) -> mxroute.Finding:
    (found,) = [f for f in report.findings if f.code == code]
    return found


@pytest.fixture
def good(fake: InMemoryResolver) -> InMemoryResolver:
    """A well set up domain: two MX hosts on two networks, both families, sane TTLs."""
    fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
    fake.add("mx1.example.com", "A", "192.0.2.10")
    fake.add("mx1.example.com", "AAAA", "2001:db8:1::10")
    fake.add("mx2.example.com", "A", "198.51.100.20")
    fake.add("mx2.example.com", "AAAA", "2001:db8:2::20")
    return fake


class TestCleanDomain:
    def test_a_good_setup_has_no_findings_and_is_ok(self, good):
        report = audit("example.com", good)
        assert report.findings == ()
        assert report.ok
        assert report.complete
        assert report.worst is None
        assert report.error is None
        assert report.route is not None
        assert [h.name for h in report.route.hosts] == ["mx1.example.com", "mx2.example.com"]

    def test_a_mailbox_address_audits_its_domain(self, good):
        assert audit("Alice@Example.COM", good).domain == "example.com"

    def test_no_question_is_asked_twice(self, good):
        audit("example.com", good)
        assert len(good.queries) == len(set(good.queries))
        assert set(good.queries) == {
            ("example.com", "MX"),
            ("mx1.example.com", "A"),
            ("mx1.example.com", "AAAA"),
            ("mx2.example.com", "A"),
            ("mx2.example.com", "AAAA"),
        }

    @pytest.mark.asyncio
    async def test_audit_async_reports_the_same(self, good):
        sync = audit("example.com", good, rng=random.Random(3))
        concurrent = await audit_async("example.com", good, rng=random.Random(3))
        assert concurrent.to_dict() == sync.to_dict()

    def test_the_relayhost_is_ignored_the_domain_is_judged(self, good):
        report = audit("example.com", good, RoutingPolicy(relayhost="[192.0.2.7]"))
        assert report.route is not None
        assert report.route.kind is mxroute.RouteKind.MX


class TestRoutingFailures:
    def test_nxdomain_is_domain_not_found(self, fake):
        report = audit("nowhere.example", fake)
        assert codes(report) == ["domain-not-found"]
        assert isinstance(report.error, mxroute.NoSuchDomain)
        assert report.route is None
        assert not report.ok
        assert report.worst is Severity.ERROR

    def test_null_mx_says_the_domain_takes_no_mail_and_is_ok(self, fake):
        fake.add("parked.example", "MX", "0 .")
        report = audit("parked.example", fake)
        assert codes(report) == ["null-mx"]
        assert finding(report, "null-mx").severity is Severity.INFO
        assert "accepts no mail" in finding(report, "null-mx").message
        assert isinstance(report.error, mxroute.NullMX)
        assert report.ok

    def test_null_mx_with_a_nonzero_preference(self, fake):
        fake.add("parked.example", "MX", "10 .")
        assert set(codes(audit("parked.example", fake))) == {
            "null-mx",
            "null-mx-nonzero-preference",
        }

    def test_no_usable_host(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "TXT", '"no address"')
        report = audit("example.com", fake)
        assert codes(report)[:2] == ["mx-target-unresolvable", "no-usable-mail-host"]
        assert isinstance(report.error, mxroute.NoMailHosts)
        assert not report.ok

    def test_mail_loop(self, good):
        report = audit("example.com", good, RoutingPolicy(local_names=["mx1.example.com"]))
        assert "mail-loop" in codes(report)
        assert "local-host-pruned" in codes(report)
        assert isinstance(report.error, mxroute.MailLoop)

    def test_servfail_on_mx_is_lookup_temporary_failure_and_incomplete(self, fake):
        fake.fail("example.com", "MX", "servfail")
        report = audit("example.com", fake)
        assert codes(report) == ["lookup-temporary-failure"]
        assert finding(report, "lookup-temporary-failure").severity is Severity.WARNING
        assert isinstance(report.error, mxroute.TemporaryRouteError)
        assert not report.complete
        assert not report.ok

    def test_one_host_failing_temporarily_makes_the_audit_incomplete(self, good):
        good.fail("mx2.example.com", "AAAA", "timeout")
        report = audit("example.com", good)
        assert report.route is not None
        assert "mx-target-temporary-failure" in codes(report)
        assert "lookup-temporary-failure" not in codes(report)  # said once, by the planner
        assert not report.complete
        assert not report.ok

    def test_a_family_the_policy_does_not_use_is_still_checked(self, good):
        good.fail("mx2.example.com", "AAAA", "refused")
        report = audit("example.com", good, RoutingPolicy(address_families=["ipv4"]))
        assert report.route is not None
        assert "mx-target-temporary-failure" not in codes(report)  # the route did not ask
        assert finding(report, "lookup-temporary-failure").subject == "mx2.example.com AAAA"
        assert not report.complete


class TestMXRecords:
    def test_no_mx_is_implicit_mx(self, fake):
        fake.add("blog.example", "A", "192.0.2.80")
        fake.add("blog.example", "AAAA", "2001:db8::80")
        report = audit("blog.example", fake)
        assert codes(report) == ["implicit-mx"]
        assert report.route is not None
        assert report.route.kind is mxroute.RouteKind.IMPLICIT_MX

    def test_null_mx_mixed(self, good):
        good.add("example.com", "MX", "0 .")
        assert codes(audit("example.com", good)) == ["null-mx-mixed"]

    def test_mx_target_cname(self, good):
        good.add("example.com", "MX", "30 alias.example.com.")
        good.add("alias.example.com", "CNAME", "mx1.example.com.")
        report = audit("example.com", good)
        assert set(codes(report)) == {"mx-target-cname", "duplicate-address"}
        assert finding(report, "mx-target-cname").subject == "alias.example.com"

    def test_mx_target_ip_literal(self, good):
        good.add("example.com", "MX", "30 192.0.2.99.")
        report = audit("example.com", good)
        assert codes(report) == ["mx-target-ip-literal"]
        assert ("192.0.2.99", "A") not in good.queries

    def test_dangling_mx_target(self, good):
        good.add("example.com", "MX", "30 gone.example.com.")
        report = audit("example.com", good)
        assert codes(report) == ["mx-target-unresolvable"]
        assert finding(report, "mx-target-unresolvable").subject == "gone.example.com"
        assert not report.ok  # an error-severity finding, though mail gets through

    def test_a_pruned_host_is_still_checked(self, good):
        good.add("example.com", "MX", "30 gone.example.com.")
        report = audit("example.com", good, RoutingPolicy(local_names=["mx2.example.com"]))
        assert report.route is not None
        assert [h.name for h in report.route.hosts] == ["mx1.example.com"]
        assert "mx-target-unresolvable" in codes(report)

    def test_hosts_beyond_max_hosts_are_not_looked_up(self, good):
        good.add("example.com", "MX", "30 gone.example.com.")
        report = audit("example.com", good, RoutingPolicy(max_hosts=2))
        assert codes(report) == ["max-hosts-exceeded"]
        assert ("gone.example.com", "A") not in good.queries

    def test_the_validators_static_checks_are_included(self, good):
        good.add("example.com", "MX", "30 mx_3.example.com.")
        good.add("mx_3.example.com", "A", "203.0.113.3")
        good.add("mx_3.example.com", "AAAA", "2001:db8:3::3")
        report = audit("example.com", good)
        assert codes(report) == ["mx-target-invalid-name"]
        assert finding(report, "mx-target-invalid-name").subject == "mx_3.example.com"

    def test_whole_set_findings_are_reported_once(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.", "20 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.10")
        fake.add("mx.example.com", "AAAA", "2001:db8::10")
        assert sorted(codes(audit("example.com", fake))) == ["duplicate-mx-host", "single-mx"]

    def test_single_mx(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.10")
        fake.add("mx.example.com", "AAAA", "2001:db8::10")
        assert codes(audit("example.com", fake)) == ["single-mx"]

    def test_cname_at_domain(self, good):
        good.add("alias.example", "CNAME", "example.com.")
        report = audit("alias.example", good)
        assert codes(report) == ["cname-at-domain"]
        assert report.domain == "alias.example"


class TestAddresses:
    def test_private_address_is_non_global(self, good):
        good.add("mx2.example.com", "A", "10.1.2.3")
        report = audit("example.com", good)
        assert codes(report) == ["mx-address-non-global"]
        assert finding(report, "mx-address-non-global").subject == "mx2.example.com 10.1.2.3"

    def test_shared_address_space_is_non_global(self, good):
        good.add("mx1.example.com", "A", "100.64.0.1")
        assert codes(audit("example.com", good)) == ["mx-address-non-global"]

    def test_loopback_is_reported_once_by_the_planner(self, good):
        good.add("mx2.example.com", "A", "127.0.0.1")
        report = audit("example.com", good)
        assert codes(report) == ["address-out-of-scope"]

    def test_loopback_allowed_by_the_policy_is_still_non_global(self, good):
        good.add("mx2.example.com", "A", "127.0.0.1")
        report = audit("example.com", good, RoutingPolicy(address_scope="any"))
        assert codes(report) == ["mx-address-non-global"]

    @pytest.mark.parametrize("address", ["2002:a01:203::1", "2001:0:4136:e378:8000:63bf:f5fe:fefc"])
    def test_a_tunnel_address_carrying_a_private_address_is_non_global(self, good, address):
        good.add("mx2.example.com", "AAAA", address)
        report = audit("example.com", good)
        assert codes(report) == ["mx-address-non-global"]
        assert finding(report, "mx-address-non-global").subject == f"mx2.example.com {address}"

    def test_a_mapped_address_is_written_the_same_on_every_python(self, good):
        good.add("mx2.example.com", "AAAA", "::ffff:a01:203")
        assert finding(audit("example.com", good), "mx-address-non-global").subject == (
            "mx2.example.com ::ffff:10.1.2.3"
        )

    def test_documentation_ranges_are_accepted(self, good):
        report = audit("example.com", good)
        assert "mx-address-non-global" not in codes(report)

    def test_public_addresses_are_accepted(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "10 mx2.example.com.")
        fake.add("mx1.example.com", "A", "8.8.8.8")
        fake.add("mx2.example.com", "AAAA", "2606:4700::1111")
        assert codes(audit("example.com", fake)) == []

    def test_hosts_in_one_ipv4_slash_24(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
        fake.add("mx1.example.com", "A", "192.0.2.10")
        fake.add("mx2.example.com", "A", "192.0.2.200")
        report = audit("example.com", fake)
        assert set(codes(report)) == {"mx-hosts-same-network", "mx-ipv4-only"}
        assert "192.0.2.0/24" in finding(report, "mx-hosts-same-network").message

    def test_hosts_in_one_ipv6_slash_48(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
        fake.add("mx1.example.com", "AAAA", "2001:db8:1:1::10")
        fake.add("mx2.example.com", "AAAA", "2001:db8:1:2::20")
        assert set(codes(audit("example.com", fake))) == {
            "mx-hosts-same-network",
            "mx-ipv6-only",
        }

    def test_hosts_in_two_slash_24s_are_not_one_network(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
        fake.add("mx1.example.com", "A", "192.0.2.10")
        fake.add("mx2.example.com", "A", "198.51.100.10")
        assert codes(audit("example.com", fake)) == ["mx-ipv4-only"]

    def test_same_ipv4_network_but_different_ipv6_networks_is_not_one_network(self, good):
        good.add("mx2.example.com", "A", "192.0.2.99")
        good.add("mx1.example.com", "A", "192.0.2.98")
        assert "mx-hosts-same-network" not in codes(audit("example.com", good))

    def test_ipv4_only_is_information(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
        fake.add("mx1.example.com", "A", "192.0.2.10")
        fake.add("mx2.example.com", "A", "198.51.100.10")
        report = audit("example.com", fake)
        assert finding(report, "mx-ipv4-only").severity is Severity.INFO
        assert report.ok

    def test_ipv6_only_is_a_warning(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
        fake.add("mx1.example.com", "AAAA", "2001:db8:1::10")
        fake.add("mx2.example.com", "AAAA", "2001:db8:2::10")
        report = audit("example.com", fake)
        assert codes(report) == ["mx-ipv6-only"]
        assert report.worst is Severity.WARNING
        assert report.ok


class TestTTL:
    def test_low_ttl_on_the_mx_records(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.", ttl=60)
        fake.add("mx1.example.com", "A", "192.0.2.10")
        fake.add("mx1.example.com", "AAAA", "2001:db8:1::10")
        fake.add("mx2.example.com", "A", "198.51.100.20")
        fake.add("mx2.example.com", "AAAA", "2001:db8:2::20")
        report = audit("example.com", fake)
        assert codes(report) == ["ttl-too-low"]
        assert finding(report, "ttl-too-low").subject == "example.com MX"
        assert "60 seconds" in finding(report, "ttl-too-low").message

    def test_low_ttl_on_a_host_address(self, good):
        good.add("mx2.example.com", "AAAA", "2001:db8:2::21", ttl=299)
        assert finding(audit("example.com", good), "ttl-too-low").subject == (
            "mx2.example.com AAAA"
        )

    def test_the_bounds_themselves_are_sane(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
        fake.add("mx1.example.com", "A", "192.0.2.10", ttl=MIN_TTL)
        fake.add("mx1.example.com", "AAAA", "2001:db8:1::10")
        fake.add("mx2.example.com", "A", "198.51.100.20", ttl=MAX_TTL)
        fake.add("mx2.example.com", "AAAA", "2001:db8:2::20")
        assert MIN_TTL == 300
        assert MAX_TTL == 604800
        assert codes(audit("example.com", fake)) == []

    def test_high_ttl(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
        fake.add("mx1.example.com", "A", "192.0.2.10", ttl=7 * 24 * 3600 + 1)
        fake.add("mx1.example.com", "AAAA", "2001:db8:1::10")
        fake.add("mx2.example.com", "A", "198.51.100.20")
        fake.add("mx2.example.com", "AAAA", "2001:db8:2::20")
        report = audit("example.com", fake)
        assert codes(report) == ["ttl-too-high"]
        assert finding(report, "ttl-too-high").subject == "mx1.example.com A"


class TestReport:
    def test_findings_are_most_severe_first(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.", "20 gone.example.com.", ttl=30)
        fake.add("mx.example.com", "A", "192.0.2.10")
        report = audit("example.com", fake)
        ranks = [f.severity.rank for f in report.findings]
        assert ranks == sorted(ranks)
        assert report.findings[0].code == "mx-target-unresolvable"
        assert {"ttl-too-low", "mx-ipv4-only"} <= set(codes(report))

    def test_every_finding_is_catalogued_with_its_fix(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.", "20 gone.example.com.", ttl=30)
        fake.add("mx.example.com", "A", "10.0.0.1")
        for f in audit("example.com", fake).findings:
            entry = mxroute.FINDING_CODES[f.code]
            assert (f.severity, f.fix) == (entry.severity, entry.fix)

    def test_to_dict_is_json(self, good):
        good.fail("example.com", "MX", "servfail")
        data = json.loads(json.dumps(audit("example.com", good).to_dict()))
        assert data["domain"] == "example.com"
        assert data["ok"] is False
        assert data["complete"] is False
        assert data["worst"] == "warning"
        assert data["route"] is None
        assert data["error"]["error"] == "TemporaryRouteError"
        assert data["findings"][0]["code"] == "lookup-temporary-failure"

    def test_to_dict_of_a_route(self, good):
        data = audit("example.com", good).to_dict()
        assert data["route"]["kind"] == "mx"
        assert data["error"] is None
        assert data["worst"] is None
        assert data["ok"] is True


class TestBadInput:
    def test_an_address_literal_has_nothing_to_audit(self, fake):
        with pytest.raises(mxroute.InvalidDomain) as info:
            audit("[192.0.2.1]", fake)
        assert info.value.reason == "address-literal"
        assert fake.queries == []

    def test_a_bad_domain_raises_before_any_question(self, fake):
        with pytest.raises(mxroute.InvalidDomain):
            audit("bad..example", fake)
        assert fake.queries == []

    def test_an_async_only_resolver_needs_audit_async(self, good):
        class AsyncOnly:
            async def query_async(self, name, rdtype):
                return good.query(name, rdtype)

        with pytest.raises(TypeError, match="audit_async"):
            audit("example.com", AsyncOnly())


BASE = """
$ORIGIN example.
$TTL 3600
@ SOA ns.example. hostmaster.example. 1 7200 900 1209600 300
"""

# One zone snippet (and policy) per code: the audit reports every catalogued code.
SCENARIOS: dict[str, tuple[str, dict[str, object]]] = {
    "null-mx-mixed": ("d MX 0 .\nd MX 10 mx.d\nmx.d A 192.0.2.1", {}),
    "null-mx-nonzero-preference": ("d MX 10 .", {}),
    "mx-target-cname": ("d MX 10 alias.d\nalias.d CNAME mx.d\nmx.d A 192.0.2.1", {}),
    "mx-target-ip-literal": ("d MX 10 192.0.2.1.example.\nd MX 20 192.0.2.1.", {}),
    "mx-target-unresolvable": ("d MX 10 gone.d", {}),
    "mx-target-temporary-failure": ("d MX 10 mx.d\nd MX 20 flaky.d\nmx.d A 192.0.2.1", {}),
    "address-out-of-scope": ("d MX 10 mx.d\nmx.d A 127.0.0.1", {}),
    "duplicate-mx-host": ("d MX 10 mx.d\nd MX 20 mx.d\nmx.d A 192.0.2.1", {}),
    "duplicate-address": ("d MX 10 a.d\nd MX 20 b.d\na.d A 192.0.2.1\nb.d A 192.0.2.1", {}),
    "local-host-pruned": (
        "d MX 10 a.d\nd MX 20 b.d\na.d A 192.0.2.1\nb.d A 198.51.100.1",
        {"local_names": ["b.d.example"]},
    ),
    "implicit-mx": ("d A 192.0.2.1", {}),
    "single-mx": ("d MX 10 mx.d\nmx.d A 192.0.2.1", {}),
    "cname-at-domain": ("d CNAME e\ne MX 10 mx.e\nmx.e A 192.0.2.1", {}),
    "max-hosts-exceeded": (
        "d MX 10 a.d\nd MX 20 b.d\na.d A 192.0.2.1\nb.d A 198.51.100.1",
        {"max_hosts": 1},
    ),
    "max-addresses-exceeded": (
        "d MX 10 a.d\na.d A 192.0.2.1\na.d A 192.0.2.2",
        {"max_addresses": 1},
    ),
    "null-mx": ("d MX 0 .", {}),
    "mx-target-invalid-name": ("d MX 10 mx_1.d\nmx_1.d A 192.0.2.1", {}),
    "domain-not-found": ("", {}),
    "no-usable-mail-host": ("d TXT nothing", {}),
    "mail-loop": ("d MX 10 mx.d\nmx.d A 192.0.2.1", {"local_addresses": ["192.0.2.1"]}),
    "lookup-temporary-failure": ("d MX 10 mx.d\nmx.d A 192.0.2.1", {"address_families": ["ipv4"]}),
    "mx-address-non-global": ("d MX 10 mx.d\nmx.d A 192.168.1.1", {}),
    "mx-hosts-same-network": ("d MX 10 a.d\nd MX 20 b.d\na.d A 192.0.2.1\nb.d A 192.0.2.2", {}),
    "mx-ipv4-only": ("d MX 10 mx.d\nmx.d A 192.0.2.1", {}),
    "mx-ipv6-only": ("d MX 10 mx.d\nmx.d AAAA 2001:db8::1", {}),
    "ttl-too-low": ("d 60 MX 10 mx.d\nmx.d A 192.0.2.1", {}),
    "ttl-too-high": ("d 9999999 MX 10 mx.d\nmx.d A 192.0.2.1", {}),
    "backup-mx-other-provider": (
        "d MX 10 mx.d\nd MX 20 backup.other.example.\nmx.d A 192.0.2.1\n"
        "backup.other.example. A 198.51.100.1",
        {},
    ),
    "backup-mx-fewer-families": (
        "d MX 10 a.d\nd MX 20 b.d\na.d A 192.0.2.1\na.d AAAA 2001:db8::1\nb.d A 198.51.100.1",
        {},
    ),
    "backup-mx-single-address": (
        "d MX 10 a.d\nd MX 20 b.d\na.d A 192.0.2.1\na.d A 192.0.2.2\nb.d A 198.51.100.1",
        {},
    ),
    "null-mx-spf-allows-senders": ('d MX 0 .\nd TXT "v=spf1 mx -all"', {}),
    "implicit-mx-spf-no-mail": ('d A 192.0.2.1\nd TXT "v=spf1 -all"', {}),
    "tlsrpt-record-invalid": (
        'd MX 10 mx.d\nmx.d A 192.0.2.1\n_smtp._tls.d TXT "v=TLSRPTv1; rua=http://r.d"',
        {"tlsrpt": True},
    ),
    "tlsrpt-lookup-failed": ("d MX 10 mx.d\nmx.d A 192.0.2.1", {"tlsrpt": True}),
}


SCENARIOS |= {code: (records, {"dane": True}) for code, (records, *_) in DANE_AUDIT.items()}


def test_every_catalogued_code_has_a_scenario():
    from tests.test_mtasts import AUDIT_SCENARIOS  # MTA-STS codes need a policy fetcher

    assert set(SCENARIOS) | set(AUTHORITATIVE_SCENARIOS) | set(AUDIT_SCENARIOS) == set(
        mxroute.FINDING_CODES
    )
    assert not set(SCENARIOS) & set(AUTHORITATIVE_SCENARIOS)


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_the_audit_reports(code):
    records, policy = SCENARIOS[code]
    fake = InMemoryResolver.from_zone(BASE + records)
    prepare_audit_scenario(code, fake)
    if code == "mx-target-temporary-failure":
        fake.fail("flaky.d.example", error="servfail")
    if code == "lookup-temporary-failure":
        fake.fail("mx.d.example", "AAAA", "timeout")  # a family the route does not use
    if code == "tlsrpt-lookup-failed":
        fake.fail("_smtp._tls.d.example", "TXT", "servfail")
    report = audit("d.example", fake, RoutingPolicy(**policy))  # type: ignore[arg-type]
    assert code in codes(report)
    assert sum(f.code == code for f in report.findings) == 1


class TestBackupTLS:
    """compare_backup's TLS rule: a backup no weaker than the weakest primary host."""

    def view(self, name, preference, level):
        from mxroute._audit import HostView

        return HostView(name, preference, (ipaddress.ip_address("192.0.2.1"),), level)

    @pytest.mark.parametrize(
        ("primary", "backup", "weaker"),
        [
            ([TLSLevel.DANE], TLSLevel.OPPORTUNISTIC, True),
            ([TLSLevel.DANE], TLSLevel.MTA_STS, True),
            ([TLSLevel.DANE, TLSLevel.MTA_STS], TLSLevel.MTA_STS, False),
            ([TLSLevel.MTA_STS], TLSLevel.DANE, False),
            ([TLSLevel.OPPORTUNISTIC], TLSLevel.OPPORTUNISTIC, False),
            ([TLSLevel.DANE], None, False),  # the backup is not in the route
            ([TLSLevel.DANE, None], TLSLevel.OPPORTUNISTIC, False),  # nor is a primary
        ],
    )
    def test_levels(self, primary, backup, weaker):
        from mxroute._audit import compare_backup

        hosts = [self.view(f"mx{i}.d.example", 10, level) for i, level in enumerate(primary)]
        found = compare_backup(hosts, self.view("backup.d.example", 20, backup))
        assert ("backup-mx-weaker-tls" in [f.code for f in found]) is weaker
