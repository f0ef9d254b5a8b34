"""Answer: checked where it is made (as strictly as DNSResolver makes it), and its plain data."""

from __future__ import annotations

import ipaddress
import json

import attrs
import pytest

import mxroute
from mxroute import Answer, AnswerStatus, InMemoryResolver, MXRecord

V4 = ipaddress.IPv4Address("192.0.2.1")
V6 = ipaddress.IPv6Address("2001:db8::1")


class TestValidation:
    def test_well_formed_answers_are_accepted(self):
        mx = Answer("example.com", "MX", AnswerStatus.RECORDS, [MXRecord(10, "mx.example.com")])
        extra = Answer("mx.example.com", "A", AnswerStatus.RECORDS, [V4], ttl=60)
        assert attrs.evolve(mx, additional=[extra], ttl=0).additional == (extra,)
        assert Answer("example.com", "AAAA", AnswerStatus.RECORDS, [V6]).records == (V6,)
        assert Answer("example.com", "TXT", AnswerStatus.RECORDS, ['"v=spf1 -all"']).records
        assert Answer("example.com", "MX", AnswerStatus.NXDOMAIN, ttl=300, detail="").ttl == 300

    @pytest.mark.parametrize(
        ("fields", "reason"),
        [
            ({"name": ""}, "invalid-name"),
            ({"name": None}, "invalid-name"),
            ({"rdtype": "mx"}, "invalid-rdtype"),
            ({"rdtype": 15}, "invalid-rdtype"),
            ({"status": "records"}, "invalid-status"),
            ({"records": ["192.0.2.1"]}, "invalid-records"),
            ({"records": [ipaddress.IPv6Address("2001:db8::1")]}, "invalid-records"),
            ({"records": "192.0.2.1"}, "invalid-records"),
            ({"records": 7}, "invalid-records"),
            ({"status": AnswerStatus.NXDOMAIN}, "invalid-records"),
            ({"ttl": True}, "invalid-ttl"),
            ({"ttl": -1}, "invalid-ttl"),
            ({"ttl": 1.5}, "invalid-ttl"),
            ({"ttl": "300"}, "invalid-ttl"),
            ({"cnames": "www.example.com"}, "invalid-cnames"),
            ({"cnames": [None]}, "invalid-cnames"),
            ({"authenticated": 1}, "invalid-authenticated"),
            ({"authenticated": "yes"}, "invalid-authenticated"),
            ({"additional": ["mx.example.com A 192.0.2.1"]}, "invalid-additional"),
            (
                {"additional": [Answer("mx.example.com", "A", AnswerStatus.SERVFAIL)]},
                "invalid-additional",
            ),
            ({"detail": None}, "invalid-detail"),
        ],
    )
    def test_a_bad_field_is_refused_where_the_answer_is_made(self, fields, reason):
        base = {"name": "example.com", "rdtype": "A", "status": AnswerStatus.RECORDS}
        base["records"] = [V4]
        with pytest.raises(mxroute.InvalidInput) as info:
            Answer(**{**base, **fields})
        assert info.value.reason == reason
        assert isinstance(info.value, ValueError)

    def test_an_mx_answer_holds_mx_records_not_their_text(self):
        with pytest.raises(mxroute.InvalidInput, match=r"MXRecord objects, not '10 mx\.example\.'"):
            Answer("example.com", "MX", AnswerStatus.RECORDS, ["10 mx.example."])

    def test_attrs_evolve_checks_too(self):
        answer = Answer("example.com", "A", AnswerStatus.RECORDS, [V4])
        with pytest.raises(mxroute.InvalidInput):
            attrs.evolve(answer, ttl="soon")

    def test_a_bad_scripted_answer_fails_where_it_is_written(self):
        fake = InMemoryResolver()
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.script(
                "example.com",
                "MX",
                [Answer("example.com", "MX", AnswerStatus.RECORDS, ["10 mx.example."])],
            )
        assert info.value.reason == "invalid-records"


class TestToDict:
    def test_records_become_zone_file_text_and_the_dict_is_json_ready(self):
        answer = Answer(
            "example.com",
            "MX",
            AnswerStatus.RECORDS,
            [MXRecord(10, "mx.example.com"), MXRecord(0, ".")],
            ttl=300,
            cnames=["alias.example.com"],
            authenticated=True,
        )
        data = answer.to_dict()
        assert json.loads(json.dumps(data)) == data
        assert data == {
            "name": "example.com",
            "rdtype": "MX",
            "status": "records",
            "records": ["10 mx.example.com.", "0 ."],
            "ttl": 300,
            "cnames": ["alias.example.com"],
            "authenticated": True,
            "text": answer.describe(),
        }

    def test_a_failure_names_its_status_and_detail(self):
        answer = Answer("example.com", "A", AnswerStatus.SERVFAIL, detail="injected")
        data = answer.to_dict()
        assert (data["status"], data["records"], data["ttl"]) == ("servfail", [], None)
        assert "SERVFAIL (injected)" in data["text"]
        v6 = Answer("example.com", "AAAA", AnswerStatus.RECORDS, [V6]).to_dict()
        assert v6["records"] == ["2001:db8::1"]


class TestInvalidInputToDict:
    def test_the_same_keys_for_every_invalid_input(self):
        with pytest.raises(mxroute.InvalidDomain) as info:
            mxroute.validate_domain("bad..example")
        data = info.value.to_dict()
        assert list(data) == ["error", "reason", "domain_reason", "message"]
        assert data["error"] == "InvalidDomain"
        assert data["reason"] == info.value.reason
        assert data["domain_reason"] is None
        assert data["message"] == str(info.value)

    def test_an_address_carries_its_domains_reason(self):
        error = mxroute.InvalidAddress("invalid-domain", "bad domain", "a@b..c", "empty-label")
        assert error.to_dict() == {
            "error": "InvalidAddress",
            "reason": "invalid-domain",
            "domain_reason": "empty-label",
            "message": "bad domain",
        }


@pytest.mark.parametrize("status", list(AnswerStatus))
def test_temporary_is_exactly_the_failures_worth_asking_again(status):
    assert status.temporary is (
        status in (AnswerStatus.SERVFAIL, AnswerStatus.REFUSED, AnswerStatus.TIMEOUT)
    )
