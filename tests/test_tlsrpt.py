"""The TLS-RPT record (RFC 8460 §3) and the failure result types."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
