"""The RFC 5321 §5.1 rules, one class per rule, on the in-memory backend.

Most tests route through ``Router`` over ``InMemoryResolver``; ``TestSansIO``
drives the planner generator directly with hand-made answers.
"""

from __future__ import annotations

import ipaddress
import random

import pytest

import mxroute
from mxroute import (
    Answer,
    AnswerStatus,
    InMemoryResolver,
    MailLoop,
    MXRecord,
    NoMailHosts,
    NoSuchDomain,
    NullMX,
    Question,
    RouteKind,
    Router,
    RoutingPolicy,
    TemporaryRouteError,
)


def route(fake: InMemoryResolver, target: str, seed: int = 1, **policy: object):
    return Router(resolver=fake, policy=RoutingPolicy(**policy), rng=random.Random(seed)).resolve(
        target
    )


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def names(r: mxroute.MailRoute) -> list[str]:
    return [h.name for h in r.hosts]


@pytest.fixture
def two_mx(fake: InMemoryResolver) -> InMemoryResolver:
    fake.add("example.com", "MX", "20 mx2.example.com.", "10 mx1.example.com.")
    fake.add("mx1.example.com", "A", "192.0.2.1")
    fake.add("mx2.example.com", "A", "192.0.2.2")
    return fake


class TestRule1AddressLiterals:
    def test_ipv4_literal_routes_there_without_dns(self, fake):
        r = route(fake, "alice@[192.0.2.7]")
        assert r.kind is RouteKind.LITERAL
        assert r.domain == "[192.0.2.7]"
        assert [(h.name, h.addresses) for h in r.hosts] == [
            ("[192.0.2.7]", (ipaddress.ip_address("192.0.2.7"),))
        ]
        assert r.ttl is None
        assert r.authenticated is False
        assert fake.queries == []

    def test_ipv6_literal_is_canonicalised(self, fake):
        r = route(fake, "[IPv6:2001:DB8:0::1]")
        assert r.domain == "[IPv6:2001:db8::1]"
        assert r.hosts[0].addresses == (ipaddress.ip_address("2001:db8::1"),)
        assert fake.queries == []

    def test_loopback_literal_is_refused_by_default_scope(self, fake):
        with pytest.raises(NoMailHosts) as info:
            route(fake, "root@[127.0.0.1]")
        assert codes(info.value.findings) == ["address-out-of-scope"]
        assert fake.queries == []

    def test_loopback_literal_allowed_with_scope_any(self, fake):
        r = route(fake, "root@[127.0.0.1]", address_scope="any")
        assert r.hosts[0].addresses == (ipaddress.ip_address("127.0.0.1"),)

    def test_the_host_name_is_the_literal_spelled_as_the_domain(self, fake):
        r = route(fake, "[IPv6:2001:DB8::1]")
        assert names(r) == [r.domain] == ["[IPv6:2001:db8::1]"]
        mapped = route(fake, "a@[ipv6:::FFFF:c000:201]")
        assert names(mapped) == [mapped.domain] == ["[IPv6:::ffff:192.0.2.1]"]

    def test_a_mapped_address_is_written_the_same_on_every_python(self, fake):
        data = route(fake, "a@[IPv6:::ffff:c000:201]").to_dict()
        assert data["hosts"][0]["addresses"] == ["::ffff:192.0.2.1"]

    @pytest.mark.parametrize(
        ("target", "local"),
        [
            ("user@[192.0.2.7]", "192.0.2.7"),
            ("user@[IPv6:2001:db8::7]", "2001:db8::7"),
            ("user@[IPv6:::ffff:192.0.2.7]", "192.0.2.7"),
            ("user@[192.0.2.7]", "::ffff:192.0.2.7"),
            ("user@[127.0.0.1]", "127.0.0.1"),
        ],
    )
    def test_a_literal_that_is_this_host_is_a_mail_loop(self, fake, target, local):
        with pytest.raises(MailLoop) as info:
            route(fake, target, local_addresses=[local])
        assert (info.value.reply_code, info.value.enhanced_status) == (554, "5.4.6")
        assert fake.queries == []

    @pytest.mark.parametrize("literal", ["[IPv6:2002:7f00:1::1]", "[0.1.2.3]", "[IPv6:::7f00:1]"])
    def test_a_literal_carrying_a_non_destination_is_refused(self, fake, literal):
        with pytest.raises(NoMailHosts):
            route(fake, f"root@{literal}")

    @pytest.mark.parametrize("text", ["a@[300.1.1.1]", "a@[2001:db8::1]", "a@[IPv6:192.0.2.1]"])
    def test_malformed_literal_is_invalid_address(self, fake, text):
        with pytest.raises(mxroute.InvalidAddress) as info:
            route(fake, text)
        assert info.value.reason == "invalid-literal"
        assert fake.queries == []


class TestRule2Overrides:
    def test_relayhost_with_mx_lookup(self, two_mx):
        two_mx.add("relay.example.net", "MX", "5 smtp.example.net.")
        two_mx.add("smtp.example.net", "A", "198.51.100.5")
        r = route(two_mx, "bob@example.com", relayhost="relay.example.net:587")
        assert r.kind is RouteKind.RELAY
        assert r.domain == "example.com"
        assert r.next_hop == "relay.example.net:587"
        assert [(h.name, h.port) for h in r.hosts] == [("smtp.example.net", 587)]
        assert ("example.com", "MX") not in two_mx.queries

    def test_bracketed_relayhost_skips_mx_lookup(self, two_mx):
        two_mx.add("relay.example.net", "A", "198.51.100.5")
        r = route(two_mx, "example.com", relayhost="[relay.example.net]")
        assert r.kind is RouteKind.RELAY
        assert names(r) == ["relay.example.net"]
        assert all(rdtype != "MX" for _, rdtype in two_mx.queries)

    def test_ipv6_relayhost_host_name_is_the_canonical_literal(self, fake):
        r = route(fake, "example.com", relayhost="[ipv6:2001:DB8::7]:2525")
        assert names(r) == ["[IPv6:2001:db8::7]"]
        assert r.next_hop == "[ipv6:2001:db8::7]:2525"

    def test_ip_relayhost_needs_no_dns_and_is_trusted(self, fake):
        r = route(fake, "x@example.com", relayhost="[127.0.0.1]:10025")
        assert r.kind is RouteKind.RELAY
        assert r.hosts[0].addresses == (ipaddress.ip_address("127.0.0.1"),)
        assert r.hosts[0].port == 10025
        assert r.ttl is None
        assert fake.queries == []

    def test_transport_map_exact_key_wins_over_relayhost(self, two_mx):
        policy = {"relayhost": "[192.0.2.200]", "transport_map": {"example.com": "[192.0.2.100]"}}
        assert route(two_mx, "example.com", **policy).hosts[0].name == "[192.0.2.100]"
        assert route(two_mx, "other.example", **policy).hosts[0].name == "[192.0.2.200]"

    def test_transport_map_dot_key_matches_subdomains_only(self, two_mx):
        policy = {"transport_map": {".example.com": "[192.0.2.100]"}}
        assert route(two_mx, "a.b.example.com", **policy).kind is RouteKind.RELAY
        assert route(two_mx, "example.com", **policy).kind is RouteKind.MX

    def test_most_specific_transport_key_wins(self, fake):
        policy = {"transport_map": {".example.com": "[192.0.2.1]", ".b.example.com": "[192.0.2.2]"}}
        assert route(fake, "a.b.example.com", **policy).hosts[0].name == "[192.0.2.2]"
        assert route(fake, "a.c.example.com", **policy).hosts[0].name == "[192.0.2.1]"

    def test_literal_target_is_not_relayed(self, fake):
        r = route(fake, "a@[192.0.2.9]", relayhost="[192.0.2.200]")
        assert r.kind is RouteKind.LITERAL

    def test_relayhost_that_does_not_exist_defers_instead_of_bouncing(self, fake):
        with pytest.raises(TemporaryRouteError) as info:
            route(fake, "a@example.com", relayhost="relay.invalid-host.example")
        assert "relayhost" in str(info.value)
        assert info.value.domain == "example.com"

    def test_relay_addresses_are_not_scope_checked(self, fake):
        fake.add("filter.local.example", "A", "127.0.0.1")
        r = route(fake, "a@example.com", relayhost="[filter.local.example]:10024")
        assert r.hosts[0].addresses == (ipaddress.ip_address("127.0.0.1"),)

    def test_a_relay_name_without_mx_is_trusted_as_written(self, fake):
        fake.add("filter.local.example", "A", "127.0.0.1")
        r = route(fake, "a@example.com", relayhost="filter.local.example:10024")
        assert r.kind is RouteKind.RELAY
        assert r.hosts[0].addresses == (ipaddress.ip_address("127.0.0.1"),)

    def test_the_hosts_a_relay_names_by_mx_are_scope_checked(self, fake):
        # The relay's name is configuration; the hosts its MX records name
        # are learned from DNS, and ``::ffff:127.0.0.1`` is loopback too.
        fake.add("relay.example", "MX", "10 inside.relay.example.")
        fake.add("relay.example", "MX", "20 outside.relay.example.")
        fake.add("inside.relay.example", "AAAA", "::ffff:127.0.0.1")
        fake.add("outside.relay.example", "A", "192.0.2.9")
        r = route(fake, "a@example.com", relayhost="relay.example")
        assert r.kind is RouteKind.RELAY
        assert names(r) == ["outside.relay.example"]
        assert "address-out-of-scope" in [f.code for f in r.findings]

    def test_a_relay_whose_mx_hosts_are_all_out_of_scope_defers(self, fake):
        fake.add("relay.example", "MX", "10 inside.relay.example.")
        fake.add("inside.relay.example", "A", "127.0.0.1")
        with pytest.raises(TemporaryRouteError) as info:
            route(fake, "a@example.com", relayhost="relay.example")
        assert "relayhost" in str(info.value)
        assert "address-out-of-scope" in [f.code for f in info.value.findings]


class TestRule3MXLookup:
    def test_question_is_the_absolute_domain(self, two_mx):
        route(two_mx, "Alice@EXAMPLE.com.")
        assert two_mx.queries[0] == ("example.com", "MX")

    def test_cname_at_domain_is_followed_and_reported(self, fake):
        fake.add("alias.example", "CNAME", "example.com.")
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        r = route(fake, "alias.example")
        assert r.domain == "alias.example"
        assert names(r) == ["mx.example.com"]
        cname = next(f for f in r.findings if f.code == "cname-at-domain")
        assert "example.com" in cname.message

    def test_idn_domain_is_asked_as_a_label(self, fake):
        fake.add("xn--bcher-kva.example", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        r = route(fake, "jörg@Bücher.example")
        assert r.domain == "xn--bcher-kva.example"
        assert fake.queries[0] == ("xn--bcher-kva.example", "MX")


class TestRule4Failures:
    def test_nxdomain_is_no_such_domain(self, fake):
        with pytest.raises(NoSuchDomain) as info:
            route(fake, "a@nowhere.example")
        err = info.value
        assert (err.temporary, err.reply_code, err.enhanced_status) == (False, 550, "5.1.2")
        assert err.domain == "nowhere.example"

    @pytest.mark.parametrize("error", ["servfail", "timeout", "refused"])
    def test_failed_mx_lookup_never_falls_back_to_a(self, fake, error):
        fake.add("example.com", "A", "192.0.2.1")
        fake.fail("example.com", "MX", error)
        with pytest.raises(TemporaryRouteError) as info:
            route(fake, "a@example.com")
        err = info.value
        assert (err.temporary, err.reply_code, err.enhanced_status) == (True, 451, "4.4.3")
        assert fake.queries == [("example.com", "MX")]

    def test_dangling_cname_at_domain_is_nxdomain(self, fake):
        fake.add("alias.example", "CNAME", "gone.example.")
        with pytest.raises(NoSuchDomain) as info:
            route(fake, "alias.example")
        assert "gone.example" in str(info.value)


class TestRule5ImplicitMX:
    def test_nodata_uses_the_domains_own_addresses(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.add("example.com", "AAAA", "2001:db8::1")
        r = route(fake, "a@example.com")
        assert r.kind is RouteKind.IMPLICIT_MX
        assert [(h.name, h.preference) for h in r.hosts] == [("example.com", 0)]
        assert [str(a) for a in r.hosts[0].addresses] == ["2001:db8::1", "192.0.2.1"]
        assert "implicit-mx" in codes(r.findings)

    def test_a_and_aaaa_are_asked_in_one_batch(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        plan = mxroute.plan_route("example.com")
        assert next(plan) == (Question("example.com", "MX"),)
        batch = plan.send([fake.query("example.com", "MX")])
        assert set(batch) == {("example.com", "A"), ("example.com", "AAAA")}

    def test_no_addresses_at_all_is_no_mail_hosts(self, fake):
        fake.add("example.com", "TXT", '"v=spf1 -all"')
        with pytest.raises(NoMailHosts) as info:
            route(fake, "a@example.com")
        assert info.value.reply_code == 550
        assert info.value.enhanced_status == "5.4.4"

    def test_temporary_failure_of_address_lookup_is_temporary(self, fake):
        fake.add("example.com", "TXT", '"x"')
        fake.fail("example.com", "A", "servfail")
        with pytest.raises(TemporaryRouteError):
            route(fake, "a@example.com")

    def test_empty_non_terminal_is_nodata_not_nxdomain(self, fake):
        fake.add("host.sub.example.com", "A", "192.0.2.1")
        with pytest.raises(NoMailHosts):
            route(fake, "a@sub.example.com")


class TestRule6NullMX:
    def test_null_mx_alone_is_null_mx_error(self, fake):
        fake.add("example.com", "MX", "0 .")
        with pytest.raises(NullMX) as info:
            route(fake, "a@example.com")
        err = info.value
        assert (err.temporary, err.reply_code, err.enhanced_status) == (False, 556, "5.1.10")
        assert "accepts no mail" in str(err)
        assert fake.queries == [("example.com", "MX")]

    def test_null_mx_at_nonzero_preference_is_still_null_with_finding(self, fake):
        fake.add("example.com", "MX", "10 .")
        with pytest.raises(NullMX) as info:
            route(fake, "a@example.com")
        assert codes(info.value.findings) == ["null-mx-nonzero-preference"]

    def test_null_mx_beside_real_records_is_dropped(self, two_mx):
        two_mx.add("example.com", "MX", "0 .")
        r = route(two_mx, "a@example.com")
        assert names(r) == ["mx1.example.com", "mx2.example.com"]
        assert "null-mx-mixed" in codes(r.findings)

    def test_is_null(self):
        assert MXRecord.parse("0 .").is_null
        assert not MXRecord.parse("0 mx.example.").is_null


class TestRule7Ordering:
    def test_preference_order(self, two_mx):
        assert names(route(two_mx, "example.com")) == ["mx1.example.com", "mx2.example.com"]

    def test_equal_preferences_are_shuffled_with_the_routers_rng(self, fake):
        fake.add("example.com", "MX", *(f"10 mx{i}.example.com." for i in range(4)))
        for i in range(4):
            fake.add(f"mx{i}.example.com", "A", f"192.0.2.{i + 1}")
        orders = {tuple(names(route(fake, "example.com", seed=s))) for s in range(60)}
        assert len(orders) > 10  # 24 permutations exist
        assert all(sorted(o) == [f"mx{i}.example.com" for i in range(4)] for o in orders)

    def test_same_seed_same_route(self, fake):
        fake.add("example.com", "MX", *(f"10 mx{i}.example.com." for i in range(5)))
        for i in range(5):
            fake.add(f"mx{i}.example.com", "A", f"192.0.2.{i + 1}")
        assert route(fake, "example.com", seed=42) == route(fake, "example.com", seed=42)

    def test_host_at_several_preferences_keeps_its_lowest(self, fake):
        fake.add("example.com", "MX", "30 a.example.com.", "10 b.example.com.", "5 a.example.com.")
        fake.add("a.example.com", "A", "192.0.2.1")
        fake.add("b.example.com", "A", "192.0.2.2")
        r = route(fake, "example.com")
        assert [(h.name, h.preference) for h in r.hosts] == [
            ("a.example.com", 5),
            ("b.example.com", 10),
        ]
        assert "duplicate-mx-host" in codes(r.findings)

    def test_single_mx_is_reported(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        assert "single-mx" in codes(route(fake, "example.com").findings)


class TestRule8MXToSelf:
    @pytest.fixture
    def three(self, fake):
        fake.add(
            "example.com", "MX", "10 a.example.com.", "20 me.example.org.", "30 c.example.com."
        )
        fake.add("a.example.com", "A", "192.0.2.1")
        fake.add("me.example.org", "A", "192.0.2.50")
        fake.add("c.example.com", "A", "192.0.2.3")
        return fake

    def test_local_name_drops_itself_and_less_preferred(self, three):
        r = route(three, "example.com", local_names=["ME.example.org"])
        assert names(r) == ["a.example.com"]
        assert "local-host-pruned" in codes(r.findings)
        assert ("me.example.org", "A") not in three.queries  # pruned before lookups

    def test_local_address_drops_itself_and_less_preferred(self, three):
        r = route(three, "example.com", local_addresses=["192.0.2.50"])
        assert names(r) == ["a.example.com"]

    def test_equal_preference_peers_of_self_are_dropped_too(self, fake):
        fake.add("example.com", "MX", "10 me.example.org.", "10 peer.example.com.")
        fake.add("peer.example.com", "A", "192.0.2.2")
        with pytest.raises(MailLoop):
            route(fake, "example.com", local_names=["me.example.org"])

    def test_best_mx_is_self_is_mail_loop(self, three):
        with pytest.raises(MailLoop) as info:
            route(three, "example.com", local_addresses=["192.0.2.1"])
        err = info.value
        assert (err.temporary, err.reply_code, err.enhanced_status) == (False, 554, "5.4.6")
        assert "loop" in str(err)

    @pytest.mark.parametrize("spelling", ["::ffff:192.0.2.50", "64:ff9b::c000:232"])
    def test_local_address_in_an_ipv6_spelling_is_this_host(self, fake, spelling):
        fake.add("example.com", "MX", "10 a.example.com.", "20 me.example.org.")
        fake.add("a.example.com", "A", "192.0.2.1")
        fake.add("me.example.org", "AAAA", spelling)
        r = route(fake, "example.com", local_addresses=["192.0.2.50"])
        assert names(r) == ["a.example.com"]
        assert "local-host-pruned" in codes(r.findings)

    def test_local_address_spelled_mapped_matches_a_plain_a_record(self, three):
        r = route(three, "example.com", local_addresses=["::ffff:192.0.2.50"])
        assert names(r) == ["a.example.com"]

    def test_implicit_mx_with_a_mapped_local_address_is_mail_loop(self, fake):
        fake.add("example.com", "AAAA", "::ffff:192.0.2.1")
        with pytest.raises(MailLoop):
            route(fake, "example.com", local_addresses=["192.0.2.1"])

    def test_a_local_address_outside_the_scope_is_still_this_host(self, fake):
        fake.add(
            "example.com", "MX", "10 a.example.com.", "20 me.example.org.", "30 c.example.com."
        )
        fake.add("a.example.com", "A", "8.8.8.8")
        fake.add("me.example.org", "A", "10.0.0.50")
        fake.add("c.example.com", "A", "8.8.4.4")
        r = route(fake, "example.com", local_addresses=["10.0.0.50"], address_scope="global")
        assert names(r) == ["a.example.com"]

    def test_implicit_mx_to_self_is_mail_loop(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        with pytest.raises(MailLoop):
            route(fake, "example.com", local_names=["example.com"])


class TestRule9Addresses:
    def test_all_address_questions_form_one_batch_after_mx(self, two_mx):
        plan = mxroute.plan_route("example.com", rng=random.Random(1))
        first = next(plan)
        batch = plan.send([two_mx.query(*q) for q in first])
        assert set(batch) == {
            (n, t) for n in ("mx1.example.com", "mx2.example.com") for t in ("A", "AAAA")
        }
        with pytest.raises(StopIteration) as done:
            plan.send([two_mx.query(*q) for q in batch])
        assert names(done.value.value) == ["mx1.example.com", "mx2.example.com"]

    def test_ip_literal_exchange_skipped_by_default(self, fake):
        fake.add("example.com", "MX", "10 192.0.2.9.", "20 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        r = route(fake, "example.com")
        assert names(r) == ["mx.example.com"]
        assert "mx-target-ip-literal" in codes(r.findings)
        assert all(not q.name.startswith("192") for q in fake.queries)

    def test_ip_literal_exchange_used_when_allowed(self, fake):
        fake.add("example.com", "MX", "10 192.0.2.9.", "20 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        r = route(fake, "example.com", allow_ip_literal_mx=True)
        assert names(r) == ["192.0.2.9", "mx.example.com"]
        assert r.hosts[0].addresses == (ipaddress.ip_address("192.0.2.9"),)

    def test_cname_exchange_is_followed_with_finding(self, fake):
        fake.add("example.com", "MX", "10 alias.example.com.")
        fake.add("alias.example.com", "CNAME", "real.example.com.")
        fake.add("real.example.com", "A", "192.0.2.1")
        r = route(fake, "example.com")
        assert r.hosts[0].name == "alias.example.com"
        assert r.hosts[0].addresses == (ipaddress.ip_address("192.0.2.1"),)
        assert "mx-target-cname" in codes(r.findings)

    def test_unresolvable_host_is_skipped(self, two_mx):
        two_mx.add("example.com", "MX", "5 dangling.example.com.")
        r = route(two_mx, "example.com")
        assert names(r) == ["mx1.example.com", "mx2.example.com"]
        assert "mx-target-unresolvable" in codes(r.findings)

    def test_out_of_scope_addresses_are_dropped(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "127.0.0.1", "192.0.2.1")
        fake.add("mx.example.com", "AAAA", "::ffff:127.0.0.1", "fe80::1")
        r = route(fake, "example.com")
        assert r.hosts[0].addresses == (ipaddress.ip_address("192.0.2.1"),)
        assert codes(r.findings).count("address-out-of-scope") == 3

    def test_dns64_addresses_are_judged_by_the_ipv4_they_carry(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "AAAA", "64:ff9b::c000:219", "64:ff9b::7f00:1")
        r = route(fake, "example.com")
        assert r.hosts[0].addresses == (ipaddress.ip_address("64:ff9b::c000:219"),)
        assert codes(r.findings).count("address-out-of-scope") == 1

    @pytest.mark.parametrize(
        ("address", "scope"),
        [
            ("0.1.2.3", "routable"),
            ("2002:7f00:1::1", "routable"),
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", "routable"),  # Teredo of 127.0.0.1
            ("2002:a9fe:a9fe::1", "global"),
            ("2002:a01:203::1", "global"),
            ("2001:0:4136:e378:8000:63bf:f5fe:fefc", "global"),  # Teredo of 10.1.1.3
            ("fec0::1", "global"),
        ],
    )
    def test_embedded_and_reserved_forms_are_out_of_scope(self, fake, address, scope):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "AAAA" if ":" in address else "A", address)
        with pytest.raises(NoMailHosts) as info:
            route(fake, "example.com", address_scope=scope)
        assert "address-out-of-scope" in codes(info.value.findings)

    def test_global_scope_refuses_private_addresses(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "10.0.0.1")
        assert route(fake, "example.com").hosts[0].addresses == (ipaddress.ip_address("10.0.0.1"),)
        with pytest.raises(NoMailHosts):
            route(fake, "example.com", address_scope="global")

    def test_every_host_unusable_and_one_failed_temporarily_is_temporary(self, fake):
        fake.add("example.com", "MX", "10 a.example.com.", "20 b.example.com.")
        fake.fail("a.example.com", error="timeout")
        with pytest.raises(TemporaryRouteError) as info:
            route(fake, "example.com")
        assert "mx-target-temporary-failure" in codes(info.value.findings)
        assert "mx-target-unresolvable" in codes(info.value.findings)

    def test_every_host_unusable_permanently_is_no_mail_hosts(self, fake):
        fake.add("example.com", "MX", "10 a.example.com.", "20 b.example.com.")
        with pytest.raises(NoMailHosts) as info:
            route(fake, "example.com")
        assert "a.example.com" in str(info.value)

    def test_partial_failure_still_routes_and_caps_ttl(self, two_mx):
        two_mx.fail("mx1.example.com", "AAAA", "servfail")
        r = route(two_mx, "example.com")
        assert names(r) == ["mx1.example.com", "mx2.example.com"]
        assert "mx-target-temporary-failure" in codes(r.findings)
        assert r.ttl == mxroute._planner.DEGRADED_TTL

    def test_address_family_order_and_selection(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        fake.add("mx.example.com", "AAAA", "2001:db8::1")
        both = route(fake, "example.com", address_families=["ipv4", "ipv6"])
        assert [a.version for a in both.hosts[0].addresses] == [4, 6]
        fake.queries.clear()
        v4 = route(fake, "example.com", address_families=["ipv4"])
        assert [a.version for a in v4.hosts[0].addresses] == [4]
        assert ("mx.example.com", "AAAA") not in fake.queries

    def test_glue_from_additional_section_saves_questions(self):
        fake = InMemoryResolver(use_additional=True)
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        fake.add("mx.example.com", "AAAA", "2001:db8::1")
        r = route(fake, "example.com")
        assert len(r.hosts[0].addresses) == 2
        assert fake.queries == [("example.com", "MX")]

    def test_partial_glue_asks_only_the_missing_family(self):
        fake = InMemoryResolver(use_additional=True)
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        route(fake, "example.com")
        assert fake.queries == [("example.com", "MX"), ("mx.example.com", "AAAA")]

    def test_shared_address_is_attempted_once(self, fake):
        fake.add("example.com", "MX", "10 a.example.com.", "20 b.example.com.")
        fake.add("a.example.com", "A", "192.0.2.1")
        fake.add("b.example.com", "A", "192.0.2.1", "192.0.2.2")
        r = route(fake, "example.com")
        assert [(h.name, str(a)) for h, a in r.attempts()] == [
            ("a.example.com", "192.0.2.1"),
            ("b.example.com", "192.0.2.2"),
        ]
        assert "duplicate-address" in codes(r.findings)


class TestRule10Limits:
    def test_hostile_500_mx_records_cost_about_a_hundred_queries(self, fake):
        fake.add("example.com", "MX", *(f"{i} mx{i}.example.com." for i in range(500)))
        for i in range(500):
            fake.add(f"mx{i}.example.com", "A", f"10.{i // 256}.{i % 256}.1")
        r = route(fake, "example.com")
        assert len(r.hosts) == mxroute._policy.DEFAULT_MAX_HOSTS == 50
        assert len(fake.queries) == 1 + 2 * 50
        assert "max-hosts-exceeded" in codes(r.findings)
        assert [h.preference for h in r.hosts] == list(range(50))

    def test_max_hosts_keeps_the_most_preferred(self, two_mx):
        r = route(two_mx, "example.com", max_hosts=1)
        assert names(r) == ["mx1.example.com"]

    def test_max_addresses_caps_the_route(self, fake):
        fake.add("example.com", "MX", "10 a.example.com.", "20 b.example.com.")
        fake.add("a.example.com", "A", *(f"192.0.2.{i}" for i in range(1, 4)))
        fake.add("b.example.com", "A", "198.51.100.1")
        r = route(fake, "example.com", max_addresses=2)
        assert len(list(r.attempts())) == 2
        assert names(r) == ["a.example.com"]
        assert "max-addresses-exceeded" in codes(r.findings)


class TestTTLAndAuthentication:
    def test_ttl_is_the_smallest_of_all_data_used(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.", ttl=900)
        fake.add("mx.example.com", "A", "192.0.2.1", ttl=120)
        fake.add("mx.example.com", "AAAA", "2001:db8::1", ttl=600)
        assert route(fake, "example.com").ttl == 120

    def test_negative_answers_count_with_their_soa_ttl(self):
        fake = InMemoryResolver.from_zone(
            "$ORIGIN example.com.\n"
            "@ 3600 SOA ns hostmaster 1 7200 900 1209600 45\n"
            "@ 3600 MX 10 mx\n"
            "mx 3600 A 192.0.2.1\n"
        )
        assert route(fake, "example.com").ttl == 45  # the AAAA NODATA

    def test_authenticated_only_when_every_answer_had_ad(self, two_mx):
        assert route(two_mx, "example.com").authenticated is False
        two_mx.authenticated = True
        assert route(two_mx, "example.com").authenticated is True


class TestSansIO:
    """The planner driven by hand, as the drivers do."""

    def answer(self, name, rdtype, status=AnswerStatus.RECORDS, *records, **kw):
        return Answer(name, rdtype, status, records, **kw)

    def test_a_route_is_two_batches_without_glue(self):
        plan = mxroute.plan_route("example.com", rng=random.Random(0))
        assert next(plan) == (("example.com", "MX"),)
        batch = plan.send(
            [self.answer("example.com", "MX", AnswerStatus.RECORDS, MXRecord(10, "mx.example"))]
        )
        assert batch == (("mx.example", "AAAA"), ("mx.example", "A"))
        with pytest.raises(StopIteration) as done:
            plan.send(
                [
                    self.answer("mx.example", "AAAA", AnswerStatus.NODATA, ttl=30),
                    self.answer(
                        "mx.example", "A", AnswerStatus.RECORDS, ipaddress.ip_address("192.0.2.1")
                    ),
                ]
            )
        r = done.value.value
        assert r.ttl == 30
        assert names(r) == ["mx.example"]

    def test_one_batch_when_glue_covers_every_host(self):
        plan = mxroute.plan_route("example.com")
        next(plan)
        glue = [
            self.answer("mx.example", "A", AnswerStatus.RECORDS, ipaddress.ip_address("192.0.2.1")),
            self.answer(
                "mx.example", "AAAA", AnswerStatus.RECORDS, ipaddress.ip_address("2001:db8::2")
            ),
        ]
        mx = self.answer(
            "example.com", "MX", AnswerStatus.RECORDS, MXRecord(10, "mx.example"), additional=glue
        )
        with pytest.raises(StopIteration) as done:
            plan.send([mx])
        assert [str(a) for a in done.value.value.hosts[0].addresses] == ["2001:db8::2", "192.0.2.1"]

    def test_invalid_target_raises_before_any_question(self):
        with pytest.raises(mxroute.InvalidDomain):
            mxroute.plan_route("exa mple.com")
