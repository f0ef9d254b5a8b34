"""The TLS-RPT record (RFC 8460 §3) and the failure result types."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mxroute
from mxroute import InvalidInput, TLSFailure, TLSRPTRecord


@pytest.mark.parametrize(
    ("text", "rua"),
    [
        ("v=TLSRPTv1; rua=mailto:tls@example.com", ("mailto:tls@example.com",)),
        ("v=TLSRPTv1;rua=mailto:tls@example.com;", ("mailto:tls@example.com",)),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com, https://r.example/v1/tlsrpt?x=1",
            ("mailto:a@example.com", "https://r.example/v1/tlsrpt?x=1"),
        ),
        ("v=TLSRPTv1; ext=1; rua=https://r.example", ("https://r.example",)),
    ],
)
def test_parse(text, rua):
    assert TLSRPTRecord.parse(text).rua == rua


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v=TLSRPTv2; rua=mailto:a@example.com",
        "v=TLSRPTv1",
        "v=TLSRPTv1; rua=",
        "v=TLSRPTv1; rua=http://r.example",  # https only
        "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
        "v=TLSRPTv1; rua=mailto:a@example.com; bad",
        " v=TLSRPTv1; rua=mailto:a@example.com",
        "v=TLSRPTv1; rua=mailto:a@example.com,,mailto:b@example.com",
    ],
)
def test_parse_refuses(text):
    with pytest.raises(InvalidInput) as caught:
        TLSRPTRecord.parse(text)
    assert caught.value.reason == "invalid-tlsrpt-record"


@given(st.text(max_size=120))
def test_parse_never_raises_anything_else(text):
    with contextlib.suppress(InvalidInput):
        TLSRPTRecord.parse(text)


def test_rua_is_checked():
    with pytest.raises(InvalidInput):
        TLSRPTRecord("mailto:a@example.com")  # type: ignore[arg-type]


def test_failure_types_are_rfc_8460_result_types():
    assert {f.value for f in TLSFailure} == {
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
        "tlsa-invalid",
        "dnssec-invalid",
        "dane-required",
        "sts-policy-fetch-error",
        "sts-policy-invalid",
        "sts-webpki-invalid",
    }


class TestRouting:
    ZONE = """
$ORIGIN example.com.
@ SOA ns hostmaster 1 7200 900 1209600 300
@ MX 10 mx1
mx1 A 192.0.2.1
"""

    def fake(self, *records: str) -> mxroute.InMemoryResolver:
        fake = mxroute.InMemoryResolver.from_zone(self.ZONE)
        if records:
            fake.add("_smtp._tls.example.com", "TXT", *records)
        return fake

    def route(self, fake, **policy):
        return mxroute.Router(resolver=fake, policy=mxroute.RoutingPolicy(**policy)).resolve(
            "example.com"
        )

    def test_off_by_default_asks_nothing(self):
        fake = self.fake('"v=TLSRPTv1; rua=mailto:r@example.com"')
        route = self.route(fake)
        assert route.tlsrpt is None
        assert ("_smtp._tls.example.com", "TXT") not in fake.queries

    def test_the_record_joins_the_mx_batch(self):
        fake = self.fake('"v=TLSRPTv1; " "rua=mailto:r@example.com,https://r.example/v1"')
        plan = mxroute.plan_route("example.com", mxroute.RoutingPolicy(tlsrpt=True))
        first = next(plan)
        assert mxroute.Question("_smtp._tls.example.com", "TXT") in first
        route = self.route(fake, tlsrpt=True)
        assert route.tlsrpt == ("mailto:r@example.com", "https://r.example/v1")
        assert route.to_dict()["tlsrpt"] == list(route.tlsrpt)

    def test_other_txt_records_are_ignored(self):
        fake = self.fake('"v=spf1 -all"', '"v=TLSRPTv1; rua=mailto:r@example.com"')
        assert self.route(fake, tlsrpt=True).tlsrpt == ("mailto:r@example.com",)

    def test_none_published(self):
        route = self.route(self.fake(), tlsrpt=True)
        assert route.tlsrpt == ()
        assert not [f for f in route.findings if f.code.startswith("tlsrpt")]

    @pytest.mark.parametrize(
        "records",
        [
            ('"v=TLSRPTv1; rua=ftp://r.example"',),
            ('"v=TLSRPTv1; rua=mailto:a@example.com"', '"v=TLSRPTv1; rua=mailto:b@example.com"'),
        ],
    )
    def test_invalid_or_several_records(self, records):
        route = self.route(self.fake(*records), tlsrpt=True)
        assert route.tlsrpt == ()
        assert [f.code for f in route.findings if f.code.startswith("tlsrpt")] == [
            "tlsrpt-record-invalid"
        ]

    def test_a_failed_lookup_degrades_nothing_else(self):
        fake = self.fake()
        fake.fail("_smtp._tls.example.com", "TXT", "servfail")
        route = self.route(fake, tlsrpt=True)
        assert route.tlsrpt == ()
        # The route's own TTL, not the 60 s of a degraded route: reporting data only.
        assert (
            route.ttl == self.route(self.fake(), tlsrpt=True).ttl != mxroute._planner.DEGRADED_TTL
        )
        assert "tlsrpt-lookup-failed" in [f.code for f in route.findings]

    def test_async_alike(self):
        import asyncio

        fake = self.fake('"v=TLSRPTv1; rua=mailto:r@example.com"')
        router = mxroute.Router(resolver=fake, policy=mxroute.RoutingPolicy(tlsrpt=True))
        assert asyncio.run(router.resolve_async("example.com")).tlsrpt == ("mailto:r@example.com",)

    def test_relays_are_not_asked(self):
        fake = self.fake('"v=TLSRPTv1; rua=mailto:r@example.com"')
        route = self.route(fake, tlsrpt=True, relayhost="[192.0.2.9]")
        assert route.tlsrpt is None
