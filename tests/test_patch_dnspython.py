"""patch_dnspython: dnspython's own API answering from an mxroute resolver, offline.

These are unit tests of a test helper whose purpose is to patch dnspython (for
users' tests of code that calls dnspython directly); the integration tests of
mxroute itself never patch dnspython.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from ipaddress import IPv4Address

import dns.asyncresolver
import dns.flags
import dns.name
import dns.rdatatype
import dns.resolver
import email_validator
import pytest

import mxroute
from mxroute import Answer, AnswerStatus, InMemoryResolver
from mxroute.testing import assert_not_queried, assert_queried, patch_dnspython

ZONE = """\
$ORIGIN example.com.
$TTL 300
@        SOA   ns.example.com. hostmaster.example.com. 1 7200 900 1209600 60
@        MX    10 mx1
@        MX    20 mx2
@        TXT   "v=spf1 mx -all"
mx1      A     192.0.2.1
mx1      AAAA  2001:db8::1
mx2      A     192.0.2.2
www      CNAME @
alias    CNAME gone
"""

WAIT = 5.0
"""Seconds a test waits for another task before it fails (never reached when it passes)."""


@pytest.fixture
def zone_fake():
    return InMemoryResolver.from_zone(ZONE)


def sync_resolver():
    return dns.resolver.Resolver(configure=False)


class TestRecords:
    def test_module_resolve_answers_from_the_fake(self, zone_fake):
        with patch_dnspython(zone_fake):
            answer = dns.resolver.resolve("example.com", "MX")
        assert isinstance(answer, dns.resolver.Answer)
        assert sorted((r.preference, r.exchange.to_text()) for r in answer) == [
            (10, "mx1.example.com."),
            (20, "mx2.example.com."),
        ]
        assert answer.rrset.ttl == 300
        assert answer.qname == dns.name.from_text("example.com")
        assert zone_fake.queries == [("example.com", "MX")]

    def test_a_resolver_made_before_the_patch_is_patched_too(self, zone_fake):
        resolver = sync_resolver()
        with patch_dnspython(zone_fake):
            answer = resolver.resolve("mx1.example.com", dns.rdatatype.AAAA)
        assert [r.address for r in answer] == ["2001:db8::1"]

    def test_a_cname_chain_is_in_the_response(self, zone_fake):
        with patch_dnspython(zone_fake):
            answer = dns.resolver.resolve("www.example.com.", "MX")
        assert answer.canonical_name == dns.name.from_text("example.com")
        assert answer.response.answer[0].rdtype == dns.rdatatype.CNAME
        assert len(answer) == 2

    def test_other_types_round_trip_their_text(self, zone_fake):
        with patch_dnspython(zone_fake):
            answer = dns.resolver.resolve("example.com", "TXT")
        assert [b"".join(r.strings) for r in answer] == [b"v=spf1 mx -all"]

    def test_the_ad_bit_is_set_when_the_fake_authenticates(self):
        fake = InMemoryResolver(authenticated=True)
        fake.add("example.com", "A", "192.0.2.1")
        with patch_dnspython(fake):
            answer = dns.resolver.resolve("example.com")
        assert answer.response.flags & dns.flags.AD

    def test_relative_names_and_idns_are_asked_as_absolute_a_labels(self, fake):
        fake.add("xn--bcher-kva.example", "A", "192.0.2.7")
        with patch_dnspython(fake):
            dns.resolver.resolve("bücher.example", "A")
            dns.resolver.resolve(dns.name.from_text("bücher.example", None), "A")
        assert fake.queries == [("xn--bcher-kva.example", "A")] * 2

    def test_resolve_address_asks_the_ptr_question(self, fake):
        fake.add("1.2.0.192.in-addr.arpa", "PTR", "mx1.example.com.")
        with patch_dnspython(fake):
            answer = dns.resolver.resolve_address("192.0.2.1")
        assert answer[0].target.to_text() == "mx1.example.com."
        assert fake.queries == [("1.2.0.192.in-addr.arpa", "PTR")]

    def test_resolve_name_gathers_both_families(self, zone_fake):
        with patch_dnspython(zone_fake):
            addresses = set(dns.resolver.resolve_name("mx1.example.com").addresses())
        assert addresses == {"192.0.2.1", "2001:db8::1"}

    def test_another_class_than_in_is_refused(self, zone_fake):
        with patch_dnspython(zone_fake), pytest.raises(mxroute.InvalidInput) as info:
            dns.resolver.resolve("example.com", "TXT", "CH")
        assert info.value.reason == "unsupported-rdclass"


class TestOutcomes:
    def test_nxdomain_raises_nxdomain(self, zone_fake):
        with patch_dnspython(zone_fake), pytest.raises(dns.resolver.NXDOMAIN) as info:
            dns.resolver.resolve("nowhere.example.com", "MX")
        assert info.value.qnames() == [dns.name.from_text("nowhere.example.com")]

    def test_nxdomain_at_the_end_of_a_cname_keeps_the_chain(self, zone_fake):
        with patch_dnspython(zone_fake), pytest.raises(dns.resolver.NXDOMAIN) as info:
            dns.resolver.resolve("alias.example.com", "A")
        assert info.value.canonical_name == dns.name.from_text("gone.example.com")

    def test_nodata_raises_no_answer(self, zone_fake):
        with patch_dnspython(zone_fake), pytest.raises(dns.resolver.NoAnswer):
            dns.resolver.resolve("mx2.example.com", "AAAA")

    def test_nodata_gives_an_empty_answer_without_raise_on_no_answer(self, zone_fake):
        with patch_dnspython(zone_fake):
            answer = dns.resolver.resolve("mx2.example.com", "AAAA", raise_on_no_answer=False)
        assert answer.rrset is None
        assert answer.chaining_result.minimum_ttl == 60  # the SOA's negative TTL

    @pytest.mark.parametrize("error", ["servfail", "refused"])
    def test_servfail_and_refused_raise_no_nameservers(self, zone_fake, error):
        zone_fake.fail("example.com", "MX", error=error)
        with patch_dnspython(zone_fake), pytest.raises(dns.resolver.NoNameservers) as info:
            dns.resolver.resolve("example.com", "MX")
        assert f"answered {error.upper()}" in str(info.value)
        assert "example.com. IN MX" in str(info.value)

    def test_timeout_raises_lifetime_timeout(self, zone_fake):
        zone_fake.script("example.com", "MX", ["timeout"])
        with patch_dnspython(zone_fake):
            with pytest.raises(dns.resolver.LifetimeTimeout) as info:
                dns.resolver.resolve("example.com", "MX")
            assert isinstance(info.value, dns.exception.Timeout)
            assert len(dns.resolver.resolve("example.com", "MX")) == 2

    def test_a_fake_lifetime_bounds_a_slow_answer(self, zone_fake):
        zone_fake.lifetime = 0.01
        zone_fake.delay("example.com", 10)
        with patch_dnspython(zone_fake), pytest.raises(dns.resolver.LifetimeTimeout):
            dns.resolver.resolve("example.com", "MX")


class TestAsync:
    def test_module_resolve(self, zone_fake):
        with patch_dnspython(zone_fake):
            answer = asyncio.run(dns.asyncresolver.resolve("example.com", "MX"))
        assert len(answer) == 2

    def test_resolver_resolve_and_its_errors(self, zone_fake):
        async def main():
            resolver = dns.asyncresolver.Resolver(configure=False)
            with pytest.raises(dns.resolver.NXDOMAIN):
                await resolver.resolve("nowhere.example.com")
            return await resolver.resolve("mx2.example.com", "A")

        with patch_dnspython(zone_fake):
            answer = asyncio.run(main())
        assert [r.address for r in answer] == ["192.0.2.2"]

    def test_query_async_is_used_when_the_resolver_has_it(self):
        class AsyncOnly:
            def __init__(self):
                self.asked = []

            async def query_async(self, name, rdtype):
                self.asked.append((name, rdtype))
                return Answer(
                    name, rdtype, AnswerStatus.RECORDS, records=[IPv4Address("192.0.2.9")], ttl=5
                )

        fake = AsyncOnly()
        with patch_dnspython(fake):
            answer = asyncio.run(dns.asyncresolver.resolve("example.org"))
            with pytest.raises(TypeError, match="has no query"):
                dns.resolver.resolve("example.org")
        assert answer[0].address == "192.0.2.9"
        assert fake.asked == [("example.org", "A")]

    def test_a_sync_only_resolver_answers_async_calls(self):
        class SyncOnly:
            def query(self, name, rdtype):
                return Answer(name, rdtype, AnswerStatus.NXDOMAIN, ttl=5)

        with patch_dnspython(SyncOnly()), pytest.raises(dns.resolver.NXDOMAIN):
            asyncio.run(dns.asyncresolver.resolve("example.org"))

    def test_a_slow_sync_only_resolver_does_not_block_the_event_loop(self):
        slow = WaitsForTicks()

        async def main():
            async def ticker():
                while True:
                    slow.ticks += 1
                    await asyncio.sleep(0)

            ticking = asyncio.ensure_future(ticker())
            try:
                return await dns.asyncresolver.resolve("example.org")
            finally:
                ticking.cancel()

        with patch_dnspython(slow):
            answer = asyncio.run(main())
        assert answer[0].address == "192.0.2.9"
        assert slow.ticks_seen >= 3  # the other task ran while the query waited


class WaitsForTicks:
    """A sync-only resolver that answers only once another task of the event
    loop has ticked three times: if its query ran on the loop, no task could
    tick, and it would give up after ``WAIT`` seconds with a TIMEOUT."""

    def __init__(self) -> None:
        self.ticks = 0
        self.ticks_seen = 0

    def query(self, name: str, rdtype: str) -> Answer:
        deadline = time.monotonic() + WAIT
        while self.ticks < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        self.ticks_seen = self.ticks
        if self.ticks < 3:
            return Answer(name, rdtype, AnswerStatus.TIMEOUT, detail="the event loop was blocked")
        return Answer(name, rdtype, AnswerStatus.RECORDS, records=[IPv4Address("192.0.2.9")], ttl=5)


class TestImport:
    def test_importing_mxroute_testing_does_not_load_the_async_resolver(self):
        code = "import sys, mxroute.testing; print('dns.asyncresolver' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "False"


class TestRestore:
    def test_everything_is_restored_on_exit(self, zone_fake, monkeypatch):
        sentinel = sync_resolver()
        monkeypatch.setattr(dns.resolver, "default_resolver", sentinel)
        monkeypatch.setattr(dns.asyncresolver, "default_resolver", None)
        sync_resolve = dns.resolver.Resolver.resolve
        async_resolve = dns.asyncresolver.Resolver.resolve
        with patch_dnspython(zone_fake) as patched:
            assert patched is zone_fake
            assert dns.resolver.Resolver.resolve is not sync_resolve
            assert dns.asyncresolver.Resolver.resolve is not async_resolve
            inner = dns.resolver.get_default_resolver()
            assert inner is not sentinel
            inner.lifetime = 99  # as email-validator does
        assert dns.resolver.Resolver.resolve is sync_resolve
        assert dns.asyncresolver.Resolver.resolve is async_resolve
        assert dns.resolver.default_resolver is sentinel
        assert sentinel.lifetime != 99
        assert dns.asyncresolver.default_resolver is None

    def test_everything_is_restored_when_the_block_raises(self, zone_fake):
        sync_resolve = dns.resolver.Resolver.resolve
        with pytest.raises(RuntimeError), patch_dnspython(zone_fake):
            raise RuntimeError("boom")
        assert dns.resolver.Resolver.resolve is sync_resolve

    def test_patches_nest(self, fake):
        outer, inner = InMemoryResolver(), InMemoryResolver()
        outer.add("example.com", "A", "192.0.2.1")
        inner.add("example.com", "A", "192.0.2.2")
        with patch_dnspython(outer):
            with patch_dnspython(inner):
                assert dns.resolver.resolve("example.com")[0].address == "192.0.2.2"
            assert dns.resolver.resolve("example.com")[0].address == "192.0.2.1"


class TestEmailValidator:
    """email-validator's deliverability check, run offline against the fake."""

    @pytest.fixture
    def world(self, patched_dnspython):
        patched_dnspython.load_zone(
            """
            $ORIGIN example.net.
            $TTL 300
            @          SOA ns hostmaster 1 7200 900 1209600 300
            shop       MX  10 mx.shop
            mx.shop    A   192.0.2.25
            parked     MX  0 .
            """
        )
        return patched_dnspython

    def validate(self, address):
        return email_validator.validate_email(address, check_deliverability=True)

    def test_a_domain_with_mx_passes(self, world):
        result = self.validate("alice@shop.example.net")
        assert result.mx == [(10, "mx.shop.example.net")]
        assert world.queries == [("shop.example.net", "MX")]

    def test_a_null_mx_domain_is_rejected(self, world):
        with pytest.raises(email_validator.EmailUndeliverableError, match="does not accept"):
            self.validate("bob@parked.example.net")
        assert world.queries == [("parked.example.net", "MX")]

    def test_an_nxdomain_domain_is_rejected(self, world):
        with pytest.raises(email_validator.EmailUndeliverableError, match="does not exist"):
            self.validate("carol@nowhere.example.net")
        assert_queried(world, "nowhere.example.net", "MX", times=1)
        assert_not_queried(world, "nowhere.example.net", "A")

    def test_without_mx_it_falls_back_to_a_then_checks_spf(self, world):
        world.add("blog.example.net", "A", "8.8.8.8")
        result = self.validate("dave@blog.example.net")
        assert result.mx == [(0, "blog.example.net")]
        assert world.queries == [
            ("blog.example.net", "MX"),
            ("blog.example.net", "A"),
            ("blog.example.net", "TXT"),
        ]

    def test_a_timeout_leaves_deliverability_unknown(self, world):
        world.script("shop.example.net", "MX", ["timeout"])
        result = self.validate("erin@shop.example.net")
        assert getattr(result, "mx", None) is None
        assert world.queries == [("shop.example.net", "MX")]
