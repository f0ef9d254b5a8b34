"""The transport security values: TLSA records, MTA-STS policies and records, requirements."""

from __future__ import annotations

import contextlib

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mxroute
from mxroute import (
    InvalidInput,
    MailHost,
    MailRoute,
    MTASTSMode,
    MTASTSPolicy,
    MTASTSRecord,
    RouteKind,
    RoutingPolicy,
    TLSARecord,
    TLSLevel,
    TLSRequirement,
)
from mxroute._tls import join_txt

POLICY = (
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.net\r\nmx: *.example.org\r\n"
    "max_age: 86400\r\n"
)


class TestTLSARecord:
    def test_parse_joins_hex_chunks(self):
        record = TLSARecord.parse("3 1 1 " + "AB" * 16 + " " + "cd" * 16)
        assert record.data == bytes.fromhex("ab" * 16 + "cd" * 16)
        assert record.to_text() == "3 1 1 " + "ab" * 16 + "cd" * 16
        assert TLSARecord.parse(record.to_text()) == record

    @pytest.mark.parametrize(
        "text",
        ["", "3 1 1", "3 1 x ab", "3 1 1 abc", "256 1 1 ab", "3 1 1 zz", "-1 1 1 ab", "٣ 1 1 ab"],
    )
    def test_parse_refuses(self, text):
        with pytest.raises(InvalidInput) as caught:
            TLSARecord.parse(text)
        assert caught.value.reason == "invalid-tlsa"

    @pytest.mark.parametrize(
        ("usage", "selector", "mtype", "size", "usable"),
        [
            (3, 1, 1, 32, True),
            (2, 0, 2, 64, True),
            (3, 0, 0, 300, True),
            (3, 1, 1, 31, False),  # a SHA2-256 digest of the wrong length
            (3, 1, 2, 32, False),
            (1, 1, 1, 32, False),  # PKIX-EE is not for SMTP (RFC 7672 §3.1.3)
            (0, 1, 1, 32, False),
            (4, 1, 1, 32, False),
            (3, 2, 1, 32, False),
            (3, 1, 3, 32, False),
            (3, 0, 0, 0, False),
        ],
    )
    def test_usable(self, usage, selector, mtype, size, usable):
        assert TLSARecord(usage, selector, mtype, b"\x01" * size).usable is usable

    def test_fields_are_checked(self):
        with pytest.raises(InvalidInput):
            TLSARecord(3, 1, 1, "ab")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            TLSARecord(True, 1, 1, b"a")  # type: ignore[arg-type]

    def test_to_dict(self):
        assert TLSARecord(3, 1, 1, b"\xab").to_dict() == {
            "usage": 3,
            "selector": 1,
            "mtype": 1,
            "data": "ab",
        }


class TestMTASTSPolicy:
    def test_parse(self):
        policy = MTASTSPolicy.parse(POLICY, id="abc123")
        assert policy == MTASTSPolicy(
            "abc123", MTASTSMode.ENFORCE, ("mx1.example.net", "*.example.org"), 86400
        )
        assert MTASTSPolicy.parse(policy.to_text(), id="abc123") == policy

    def test_lf_line_ends_extensions_and_trailing_space(self):
        text = (
            "version: STSv1\nmode: testing  \nmx: MX.Example.NET.\n"
            "x-ext_1: some value\nmax_age:604800\n\n"
        )
        policy = MTASTSPolicy.parse(text)
        assert (policy.mode, policy.mx, policy.max_age, policy.id) == (
            MTASTSMode.TESTING,
            ("mx.example.net",),
            604800,
            None,
        )

    def test_mode_none_needs_no_mx(self):
        assert MTASTSPolicy.parse("version: STSv1\nmode: none\nmax_age: 0").mx == ()

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "\n",
            "mode: enforce\nmx: a.example\nmax_age: 1",  # no version
            "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1",
            "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmax_age: 1",  # no mx
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601",
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1",
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901",
            "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: \u0661",
            "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1",
            "version: STSv1\n mode: enforce\nmx: a.example\nmax_age: 1",  # leading space
            "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1",  # empty line inside
            "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmx: a*.example\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmx: [192.0.2.1]\nmax_age: 1",
            "version: STSv1\nmode: enforce\nmx:\nmax_age: 1",
            "version STSv1\nmode: enforce\nmx: a.example\nmax_age: 1",
            "version: STSv1\rmode: enforce\nmx: a.example\nmax_age: 1",
        ],
    )
    def test_parse_refuses(self, text):
        with pytest.raises(InvalidInput) as caught:
            MTASTSPolicy.parse(text)
        assert caught.value.reason == "invalid-mta-sts-policy"

    @pytest.mark.parametrize(
        ("host", "matches"),
        [
            ("mx1.example.net", True),
            ("MX1.EXAMPLE.NET.", True),
            ("mx2.example.net", False),
            ("a.example.org", True),
            ("example.org", False),  # the wildcard needs one label
            ("a.b.example.org", False),  # and exactly one
            ("aexample.org", False),
            (".example.org", False),
            ("xexample.org", False),
            ("[192.0.2.1]", False),
            ("not a host", False),
        ],
    )
    def test_matches(self, host, matches):
        assert MTASTSPolicy.parse(POLICY).matches(host) is matches

    def test_matches_idn(self):
        policy = MTASTSPolicy(None, "enforce", ["*.bücher.example"], 60)
        assert policy.mx == ("*.xn--bcher-kva.example",)
        assert policy.matches("mx.BÜCHER.example")

    @given(st.text(max_size=300))
    def test_parse_never_raises_anything_else(self, text):
        with contextlib.suppress(InvalidInput):
            MTASTSPolicy.parse(text)

    @given(
        st.lists(
            st.sampled_from(
                [
                    "version: STSv1",
                    "mode: enforce",
                    "mode: testing",
                    "mx: a.example",
                    "mx: *.b.example",
                    "max_age: 5",
                    "x: y",
                    "",
                    " ",
                    "mx: ",
                    "\r",
                ]
            ),
            max_size=8,
        ).map("\n".join)
    )
    def test_parse_line_soup(self, text):
        try:
            policy = MTASTSPolicy.parse(text)
        except InvalidInput:
            return
        assert MTASTSPolicy.parse(policy.to_text()) == policy

    def test_fields_are_checked(self):
        with pytest.raises(InvalidInput):
            MTASTSPolicy("bad id!", "enforce", ["a.example"], 1)
        with pytest.raises(InvalidInput):
            MTASTSPolicy(None, "enforce", "a.example", 1)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            MTASTSPolicy(None, "strict", ["a.example"], 1)


class TestMTASTSRecord:
    @pytest.mark.parametrize(
        "text", ["v=STSv1; id=20261202;", "v=STSv1;id=20261202", "v=STSv1; id=20261202; ext=1;"]
    )
    def test_parse(self, text):
        assert MTASTSRecord.parse(text).id == "20261202"

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "v=STSv2; id=1",
            "v=STSv1",
            "v=STSv1; id=1; id=2",
            "v=STSv1; id=" + "a" * 33,
            "v=STSv1; id=a-b",
            "v=STSv1 id=1",
            "V=STSv1; id=1",
            "v=STSv1; id=1; bad",
        ],
    )
    def test_parse_refuses(self, text):
        with pytest.raises(InvalidInput) as caught:
            MTASTSRecord.parse(text)
        assert caught.value.reason == "invalid-mta-sts-record"

    @given(st.text(max_size=100))
    def test_parse_never_raises_anything_else(self, text):
        with contextlib.suppress(InvalidInput):
            MTASTSRecord.parse(text)


@pytest.mark.parametrize(
    ("presentation", "text"),
    [
        ('"v=STSv1; id=1;"', "v=STSv1; id=1;"),
        ('"v=STSv1; " "id=1;"', "v=STSv1; id=1;"),
        (r'"a\"b\\c"', 'a"b\\c'),
        (r'"\195\188"', "ü"),
        (r'"\255"', "\ufffd"),
        ("plain", "plain"),
    ],
)
def test_join_txt(presentation, text):
    assert join_txt(presentation) == text


class TestRequirementAndModel:
    def test_levels_rank(self):
        ranked = sorted(TLSLevel, key=lambda level: level.rank, reverse=True)
        assert ranked[0] is TLSLevel.DANE
        assert ranked[-1] is TLSLevel.OPPORTUNISTIC
        assert [level for level in TLSLevel if level.requires_tls] == [
            TLSLevel.DANE,
            TLSLevel.MTA_STS,
            TLSLevel.ENCRYPT,
        ]
        assert not TLSLevel.ENCRYPT.authenticates
        assert TLSLevel.MTA_STS_TESTING.authenticates

    def test_default_host_is_opportunistic(self):
        host = MailHost("mx.example.com", 10, ["192.0.2.1"])
        assert host.tls == TLSRequirement()
        assert host.tls.level is TLSLevel.OPPORTUNISTIC
        assert host.to_dict()["tls"] == {
            "level": "opportunistic",
            "tlsa": [],
            "names": [],
            "reason": None,
        }

    def test_requirement_round_trip(self):
        tls = TLSRequirement(
            "dane", [TLSARecord(3, 1, 1, b"\x00" * 32)], ["MX.example.com"], "dane-usable"
        )
        assert tls.level is TLSLevel.DANE
        assert tls.names == ("mx.example.com",)
        host = attrs.evolve(MailHost("mx.example.com", 10, ["192.0.2.1"]), tls=tls)
        assert host.to_dict()["tls"]["tlsa"][0]["usage"] == 3

    @pytest.mark.parametrize(
        "kwargs",
        [{"level": "strong"}, {"tlsa": ["3 1 1 ab"]}, {"names": "mx.example.com"}],
    )
    def test_requirement_refuses(self, kwargs):
        with pytest.raises(InvalidInput):
            TLSRequirement(**kwargs)

    def test_host_refuses_a_non_requirement(self):
        with pytest.raises(InvalidInput) as caught:
            MailHost("mx.example.com", 10, [], tls="dane")  # type: ignore[arg-type]
        assert caught.value.reason == "invalid-tls"

    def test_route_carries_policy_and_tlsrpt(self):
        policy = MTASTSPolicy.parse(POLICY, id="1")
        route = MailRoute(
            "example.com", RouteKind.MX, (), mta_sts=policy, tlsrpt=["mailto:r@example.com"]
        )
        data = route.to_dict()
        assert data["mta_sts"]["mode"] == "enforce"
        assert data["tlsrpt"] == ["mailto:r@example.com"]
        assert MailRoute("example.com", RouteKind.MX, ()).to_dict()["mta_sts"] is None
        with pytest.raises(InvalidInput):
            MailRoute("example.com", RouteKind.MX, (), mta_sts="enforce")  # type: ignore[arg-type]

    def test_policy_flags(self):
        policy = RoutingPolicy(mta_sts=True, dane=True)
        assert policy.to_dict()["mta_sts"] is True
        assert policy.to_dict()["dane"] is True
        assert RoutingPolicy().mta_sts is False
        assert RoutingPolicy().dane is False
        with pytest.raises(mxroute.InvalidPolicy):
            RoutingPolicy(dane=1)  # type: ignore[arg-type]
