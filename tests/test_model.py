"""Value objects: frozen, validated, comparable, plain-data conversion."""

from __future__ import annotations

import ipaddress
import json
import pickle

import attrs
import pytest

import mxroute
from mxroute import Finding, MailHost, MailRoute, MXRecord, RouteKind, Severity


class TestMXRecord:
    def test_parse_normalises_the_exchange(self):
        assert MXRecord.parse("10 MX1.Example.COM.") == MXRecord(10, "mx1.example.com")

    def test_null_mx(self):
        record = MXRecord.parse("0 .")
        assert record.is_null
        assert record.to_text() == "0 ."

    def test_to_text_round_trips(self):
        assert MXRecord.parse(MXRecord(5, "mx.example").to_text()) == MXRecord(5, "mx.example")

    @pytest.mark.parametrize("text", ["", "10", "x mx.example.", "70000 mx.example.", "1 2 3"])
    def test_parse_rejects_bad_text(self, text):
        with pytest.raises(mxroute.InvalidInput) as info:
            MXRecord.parse(text)
        assert info.value.reason == "invalid-mx"

    @pytest.mark.parametrize("preference", [-1, 65536, True, "10"])
    def test_preference_is_validated(self, preference):
        with pytest.raises(mxroute.InvalidInput):
            MXRecord(preference, "mx.example")

    def test_frozen_and_hashable(self):
        record = MXRecord(10, "mx.example")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            record.preference = 20  # type: ignore[misc]
        assert {record, MXRecord(10, "MX.example.")} == {record}

    def test_ttl_does_not_affect_equality_and_records_sort_by_preference(self):
        assert MXRecord(10, "a", ttl=5) == MXRecord(10, "a", ttl=50)
        assert sorted([MXRecord(20, "a"), MXRecord(10, "b")])[0].preference == 10


class TestMailHostAndRoute:
    def test_addresses_become_ipaddress_objects(self):
        host = MailHost("MX.example.", 10, ["192.0.2.1", "2001:db8::1"])
        assert host.name == "mx.example"
        assert host.addresses == (
            ipaddress.ip_address("192.0.2.1"),
            ipaddress.ip_address("2001:db8::1"),
        )

    def test_address_objects_and_subclasses_become_plain_address_objects(self):
        class Tagged(ipaddress.IPv4Address):
            pass

        v6 = ipaddress.IPv6Address("2001:db8::1")
        host = MailHost("mx.example", 10, [Tagged("192.0.2.1"), v6, 3221225986])
        assert host.addresses == (
            ipaddress.IPv4Address("192.0.2.1"),
            v6,
            ipaddress.ip_address("192.0.2.2"),
        )
        assert [type(a) for a in host.addresses] == [
            ipaddress.IPv4Address,
            ipaddress.IPv6Address,
            ipaddress.IPv4Address,
        ]

    @pytest.mark.parametrize("port", [0, 65536, "25"])
    def test_port_is_validated(self, port):
        with pytest.raises(mxroute.InvalidInput):
            MailHost("mx.example", 0, [], port)

    def test_bad_address_is_typed_error(self):
        with pytest.raises(mxroute.InvalidInput) as info:
            MailHost("mx.example", 0, ["not-an-ip"])
        assert info.value.reason == "invalid-ip-address"

    def test_attempts_yield_each_address_once_in_order(self):
        a = MailHost("a", 10, ["192.0.2.1", "192.0.2.2"])
        b = MailHost("b", 20, ["192.0.2.2", "192.0.2.3"])
        route = MailRoute("example.com", RouteKind.MX, (a, b), ttl=60)
        assert [(h.name, str(ip)) for h, ip in route.attempts()] == [
            ("a", "192.0.2.1"),
            ("a", "192.0.2.2"),
            ("b", "192.0.2.3"),
        ]

    def test_to_dict_is_json_ready(self):
        finding = Finding("single-mx", Severity.INFO, "one host", "example.com")
        route = MailRoute(
            "example.com",
            RouteKind.MX,
            (MailHost("a", 10, ["192.0.2.1"]),),
            ttl=60,
            findings=(finding,),
        )
        data = json.loads(json.dumps(route.to_dict()))
        assert data["kind"] == "mx"
        assert data["hosts"][0]["addresses"] == ["192.0.2.1"]
        assert data["findings"][0]["severity"] == "info"

    def test_severity_rank_orders_most_severe_first(self):
        ordered = sorted(Severity, key=lambda s: s.rank)
        assert ordered == [Severity.ERROR, Severity.WARNING, Severity.INFO]


class TestErrors:
    @pytest.mark.parametrize(
        ("cls", "temporary", "code", "status"),
        [
            (mxroute.TemporaryRouteError, True, 451, "4.4.3"),
            (mxroute.NoSuchDomain, False, 550, "5.1.2"),
            (mxroute.NullMX, False, 556, "5.1.10"),
            (mxroute.NoMailHosts, False, 550, "5.4.4"),
            (mxroute.MailLoop, False, 554, "5.4.6"),
        ],
    )
    def test_the_error_table(self, cls, temporary, code, status):
        err = cls("example.com", "why")
        assert isinstance(err, mxroute.MailRouteError)
        assert isinstance(err, mxroute.MXRouteError)
        assert (err.temporary, err.reply_code, err.enhanced_status) == (temporary, code, status)
        assert err.smtp_reply == f"{code} {status} why"
        assert err.to_dict()["temporary"] is temporary

    def test_errors_pickle(self):
        err = pickle.loads(pickle.dumps(mxroute.NullMX("example.com", "no mail")))
        assert (type(err), err.domain, str(err)) == (mxroute.NullMX, "example.com", "no mail")
        bad = pickle.loads(pickle.dumps(mxroute.InvalidDomain("empty", "msg", "")))
        assert bad.reason == "empty"

    def test_findings_catalogue_is_consistent(self):
        for code, entry in mxroute.FINDING_CODES.items():
            assert entry.code == code
            assert code == code.lower()
            assert entry.summary.endswith((".", ")"))
        finding = mxroute.make_finding("single-mx", "example.com")
        assert finding.severity is Severity.INFO
        assert finding.message == mxroute.FINDING_CODES["single-mx"].summary


class TestChecks:
    """Every number and flag is checked with the same InvalidInput (mxroute._checks)."""

    @pytest.mark.parametrize("ttl", [-1, True, 1.5, "60"])
    def test_a_ttl_is_a_non_negative_integer_or_none(self, ttl):
        with pytest.raises(mxroute.InvalidInput) as info:
            MXRecord(10, "mx.example", ttl=ttl)
        assert info.value.reason == "invalid-ttl"
        with pytest.raises(mxroute.InvalidInput) as info:
            MailRoute("example.com", RouteKind.MX, (), ttl=ttl)
        assert info.value.reason == "invalid-ttl"

    def test_the_reason_codes_name_the_field(self):
        with pytest.raises(mxroute.InvalidInput) as info:
            MailHost("mx.example", 70000, [])
        assert info.value.reason == "invalid-preference"
        assert "preference must be an integer from 0 to 65535, not 70000" in str(info.value)
        with pytest.raises(mxroute.InvalidInput) as info:
            MailHost("mx.example", 0, [], True)
        assert info.value.reason == "invalid-port"

    def test_a_route_kind_and_flag_are_checked(self):
        with pytest.raises(mxroute.InvalidInput) as info:
            MailRoute("example.com", "mx", ())  # type: ignore[arg-type]
        assert info.value.reason == "invalid-kind"
        with pytest.raises(mxroute.InvalidInput) as info:
            MailRoute("example.com", RouteKind.MX, (), authenticated=1)  # type: ignore[arg-type]
        assert info.value.reason == "invalid-authenticated"

    def test_a_single_string_is_not_a_sequence(self):
        with pytest.raises(mxroute.InvalidInput) as info:
            MailHost("mx.example", 0, "192.0.2.1")
        assert info.value.reason == "invalid-address-list"
        with pytest.raises(mxroute.InvalidInput) as info:
            MailRoute("example.com", RouteKind.MX, "mx.example")  # type: ignore[arg-type]
        assert info.value.reason == "invalid-hosts"
