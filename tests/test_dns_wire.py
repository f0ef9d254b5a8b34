"""DNSResolver's own query wire format and response check, against dnspython's; no network."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

import mxroute
from mxroute._resolvers.dns import _lean, _transport, _wire
from mxroute._resolvers.dns._resolution import Try as _Try
from mxroute._resolvers.dns._wire import Query as _Query
from mxroute._resolvers.dns._wire import is_response as _is_response
from mxroute._resolvers.dns._wire import make_query

NAMES = ["example.com.", "xn--bcher-kva.example.", "a.b.c.d.e.f.example.org.", "."]


def _query(resolver: mxroute.DNSResolver, name: str, rdtype: str) -> _Query:
    settings = resolver._settings
    return make_query(
        dns.name.from_text(name),
        dns.rdatatype.from_text(rdtype),
        _transport.new_id(),
        flags=settings.flags,
        edns_payload=settings.edns_payload,
        dnssec=settings.dnssec,
    )


class TestQueryWire:
    @pytest.mark.parametrize("name", NAMES)
    @pytest.mark.parametrize("rdtype", ["MX", "A", "AAAA", "TXT"])
    @pytest.mark.parametrize(
        "options",
        [
            {},
            {"edns_payload": None},
            {"edns_payload": 4096},
            {"edns_payload": 512, "dnssec": True},
        ],
    )
    def test_is_byte_for_byte_what_dnspython_makes(self, name, rdtype, options):
        resolver = mxroute.DNSResolver(["192.0.2.53"], **options)
        ours = _query(resolver, name, rdtype)
        payload = options.get("edns_payload", 1232)
        dnssec = options.get("dnssec", False)
        if payload is None:
            theirs = dns.message.make_query(name, rdtype, use_edns=False)
        else:
            theirs = dns.message.make_query(
                name, rdtype, use_edns=0, payload=payload, want_dnssec=dnssec
            )
        if dnssec:
            theirs.flags |= dns.flags.AD
        theirs.id = ours.id
        assert ours.wire == theirs.to_wire()
        assert ours.message() == theirs
        assert ours.message().ednsflags == theirs.ednsflags

    def test_ids_are_random(self):
        resolver = mxroute.DNSResolver(["192.0.2.53"])
        ids = {_query(resolver, "example.com.", "MX").id for _ in range(200)}
        assert len(ids) > 150  # 200 draws from 65,536 values: a few collisions at most


def _response(query: _Query, **changes) -> dns.message.Message:
    response = dns.message.make_response(query.message())
    for attribute, value in changes.items():
        setattr(response, attribute, value)
    return response


class TestIsResponse:
    @pytest.fixture
    def query(self) -> _Query:
        return _query(mxroute.DNSResolver(["192.0.2.53"]), "example.com.", "MX")

    def test_a_response_to_the_query(self, query):
        assert _is_response(query, _response(query))

    def test_the_name_is_compared_without_case(self, query):
        response = _response(query)
        response.question[0].name = dns.name.from_text("ExAmPlE.CoM.")
        assert _is_response(query, response)

    def test_another_id(self, query):
        assert not _is_response(query, _response(query, id=(query.id + 1) % 65536))

    def test_a_query_is_not_a_response(self, query):
        assert not _is_response(query, query.message())

    def test_another_opcode(self, query):
        response = _response(query)
        response.set_opcode(dns.opcode.NOTIFY)
        assert not _is_response(query, response)

    @pytest.mark.parametrize(("name", "rdtype"), [("other.example.", "MX"), ("example.com.", "A")])
    def test_another_question(self, query, name, rdtype):
        other = dns.message.make_query(name, rdtype)
        other.id = query.id
        assert not _is_response(query, dns.message.make_response(other))

    @pytest.mark.parametrize(
        "rcode", [dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED]
    )
    def test_an_error_may_leave_the_question_out(self, query, rcode):
        response = _response(query, question=[])
        response.set_rcode(rcode)
        assert _is_response(query, response)

    @pytest.mark.parametrize("rcode", [dns.rcode.NOERROR, dns.rcode.NXDOMAIN])
    def test_an_answer_must_echo_the_question(self, query, rcode):
        response = _response(query, question=[])
        response.set_rcode(rcode)
        assert not _is_response(query, response)

    def test_agrees_with_dnspython(self, query):
        candidates = [
            _response(query),
            _response(query, id=(query.id + 7) % 65536),
            _response(query, question=[]),
            query.message(),
        ]
        for candidate in candidates:
            assert _is_response(query, candidate) == query.message().is_response(candidate)


class TestSource:
    """A datagram counts only when it comes from the server's address and port."""

    @pytest.mark.parametrize(
        ("server", "source", "counts"),
        [
            ("192.0.2.53", ("192.0.2.53", 53), True),
            ("192.0.2.53", ("192.0.2.54", 53), False),
            ("192.0.2.53", ("192.0.2.53", 5353), False),
            ("2001:db8::53", ("2001:db8::53", 53, 0, 0), True),
            ("2001:db8::53", ("2001:DB8:0::53", 53, 0, 0), True),
            ("2001:db8::53", ("2001:db8::54", 53, 0, 0), False),
            ("2001:db8::53", ("2001:db8::53", 54, 0, 0), False),
        ],
    )
    def test_source_must_be_the_server(self, server, source, counts):
        resolver = mxroute.DNSResolver([server])
        query = _query(resolver, "example.com.", "MX")
        attempt = _Try(query, resolver._settings.servers[0], tcp=False, timeout=1.0)
        wire = dns.message.make_response(query.message()).to_wire()
        result = _transport.response(wire, source, attempt)
        if counts:
            assert isinstance(result, (dns.message.Message, _lean.Response))
            assert result.id == query.id
        else:
            assert result is None


class TestQuestionNames:
    """Each question's name is parsed and written once, and kept (a bounded number of them)."""

    def test_a_name_asked_again_is_the_same_parsed_name(self):
        assert _wire.question_name("mx1.example.com") is _wire.question_name("mx1.example.com")

    @pytest.mark.parametrize("name", ["mx1.example.com", "MX1.Example.COM.", "a_b.example"])
    def test_the_kept_form_is_what_dnspython_writes(self, name):
        parsed = dns.name.from_text(name)
        kept = _wire.question_name(name)
        assert kept.name == parsed
        assert kept.wire == parsed.to_wire()  # the case as given
        assert kept.key == _lean.key(parsed) == name.rstrip(".").lower().encode()

    def test_a_name_with_octets_to_escape_is_left_to_dnspython(self):
        assert _wire.question_name(r"a\ b.example").key is None
        assert _wire.question_name(r"a\.b.example").key is None

    def test_names_in_other_cases_are_kept_apart_with_one_key(self):
        lower = _wire.question_name("mx.example.com")
        upper = _wire.question_name("MX.EXAMPLE.COM")
        assert lower.wire != upper.wire
        assert lower.key == upper.key == b"mx.example.com"

    def test_at_most_4096_names_are_kept(self):
        for index in range(5000):
            _wire.question_name(f"n{index}.bound.example")
        assert _wire._parse_name.cache_info().currsize <= 4096

    @pytest.mark.parametrize("rdtype", ["MX", "A", "PTR"])
    @pytest.mark.parametrize("lean", [True, False])
    def test_a_query_of_a_kept_name_is_the_query_of_the_name(self, rdtype, lean):
        kept = _wire.question_name("Mx1.Example.com")
        options = {"flags": 0x100, "edns_payload": 1232, "dnssec": True, "lean": lean}
        kind = dns.rdatatype.from_text(rdtype)
        ours = make_query(kept, kind, 7, **options)  # type: ignore[arg-type]
        theirs = make_query(dns.name.from_text("Mx1.Example.com"), kind, 7, **options)  # type: ignore[arg-type]
        assert ours == theirs
        assert ours.key == (b"mx1.example.com" if lean and rdtype != "PTR" else None)
