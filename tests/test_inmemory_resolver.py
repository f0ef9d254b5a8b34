"""InMemoryResolver answers like a recursive resolver with minimal responses."""

from __future__ import annotations

import ipaddress

import pytest

from mxroute import AnswerStatus, InMemoryResolver, InvalidInput, MXRecord

ZONE = """\
$ORIGIN example.com.
$TTL 600
@       SOA ns hostmaster 1 7200 900 1209600 120
@       NS  ns
@       MX  10 mx
mx      A   192.0.2.1
mx      AAAA 2001:db8::1
www     CNAME mx
loop1   CNAME loop2
loop2   CNAME loop1
a.b.c   TXT "deep"
"""


@pytest.fixture
def zone() -> InMemoryResolver:
    return InMemoryResolver.from_zone(ZONE)


class TestAnswers:
    def test_records(self, zone):
        answer = zone.query("example.com", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (MXRecord(10, "mx.example.com"),)
        assert answer.ttl == 600

    def test_cname_is_followed_inside_the_answer(self, zone):
        answer = zone.query("www.example.com", "A")
        assert answer.cnames == ("mx.example.com",)
        assert answer.addresses == (ipaddress.ip_address("192.0.2.1"),)
        assert answer.canonical_name == "mx.example.com"

    def test_asking_for_the_cname_itself(self, zone):
        answer = zone.query("www.example.com", "CNAME")
        assert answer.records == ("mx.example.com",)
        assert answer.cnames == ()

    def test_cname_loop_is_servfail(self, zone):
        answer = zone.query("loop1.example.com", "A")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "loop" in answer.detail

    def test_nodata_with_negative_ttl_from_soa(self, zone):
        answer = zone.query("mx.example.com", "MX")
        assert answer.status is AnswerStatus.NODATA
        assert answer.ttl == 120  # min(SOA TTL 600, MINIMUM 120)

    def test_empty_non_terminal_exists(self, zone):
        assert zone.query("b.c.example.com", "A").status is AnswerStatus.NODATA
        assert zone.query("c.example.com", "A").status is AnswerStatus.NODATA

    def test_unknown_name_is_nxdomain(self, zone):
        answer = zone.query("nope.example.com", "A")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert answer.ttl == 120

    def test_queries_are_recorded_in_order_as_tuples(self, zone):
        zone.query("Example.COM.", "mx")
        zone.query("mx.example.com", "AAAA")
        assert zone.queries == [("example.com", "MX"), ("mx.example.com", "AAAA")]

    def test_async_answers_the_same(self, zone):
        import asyncio

        assert asyncio.run(zone.query_async("example.com", "MX")) == zone.query("example.com", "MX")


class TestFilling:
    def test_add_and_fail(self, fake):
        fake.add("example.com", "A", "192.0.2.1", ttl=30)
        assert fake.query("example.com", "A").ttl == 30
        fake.fail("example.com", "A", "timeout")
        assert fake.query("example.com", "A").status is AnswerStatus.TIMEOUT
        assert fake.query("example.com", "AAAA").status is AnswerStatus.NODATA
        fake.fail("example.com")
        assert fake.query("example.com", "AAAA").status is AnswerStatus.SERVFAIL

    def test_fail_nxdomain(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.fail("example.com", error="nxdomain")
        assert fake.query("example.com", "A").status is AnswerStatus.NXDOMAIN

    def test_adding_the_same_record_twice_keeps_one(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.add("example.com", "A", "192.0.2.1", "192.0.2.2")
        assert len(fake.query("example.com", "A").records) == 2

    @pytest.mark.parametrize(
        ("args", "reason"),
        [
            (("example.com", "BOGUS", "x"), "invalid-rdtype"),
            (("example.com", "A", "300.0.0.1"), "invalid-rdata"),
            (("example.com", "MX", "mx.example.com"), "invalid-rdata"),
            (("", "A", "192.0.2.1"), "invalid-name"),
        ],
    )
    def test_bad_records_are_typed_errors(self, fake, args, reason):
        with pytest.raises(InvalidInput) as info:
            fake.add(*args)
        assert info.value.reason == reason

    def test_bad_failure_kind(self, fake):
        with pytest.raises(InvalidInput):
            fake.fail("example.com", error="explode")

    def test_bad_zone_is_typed_error(self):
        with pytest.raises(InvalidInput) as info:
            InMemoryResolver.from_zone("$ORIGIN example.com.\n@ IN MX banana\n")
        assert info.value.reason == "invalid-zone"

    def test_zone_without_origin_needs_one(self):
        with pytest.raises(InvalidInput):
            InMemoryResolver.from_zone("@ 300 IN A 192.0.2.1\n")
        fake = InMemoryResolver.from_zone("@ 300 IN A 192.0.2.1\n", origin="example.net")
        assert fake.query("example.net", "A").status is AnswerStatus.RECORDS

    def test_clear(self, zone):
        zone.query("example.com", "MX")
        zone.clear()
        assert zone.queries == []
        assert zone.query("example.com", "MX").status is AnswerStatus.NXDOMAIN
