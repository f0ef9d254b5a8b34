"""The lean answer reader against dnspython's parser: the same Answer, or dnspython decides.

Differential tests. Every response is read twice, by a resolution whose
settings use the lean reader (the default) and by one that reads with
dnspython only, and each resolution is driven to its :class:`~mxroute.Answer`
(any further try answered by a timeout). Both must agree on whether the
datagram answers the query at all, on the tries that follow, and on the
Answer, field by field. And whenever the lean reader accepts a datagram,
dnspython must accept it too: what one rejects is never read by the other.

The responses: a corpus of every name and type of the integration zones
served by a real BIND 9 (full and minimal responses, with and without EDNS
and the DO bit), hand-made edge cases (the scripted servers' outcomes, name
compression, duplicate records, TTL corner cases, odd names), messages that
hypothesis generates, and the corpus mutated octet by octet.
"""

from __future__ import annotations

import random
import socket
import struct
from typing import Any

import attrs
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.renderer
import dns.rrset
import dns.zone
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxroute import Answer, MXRecord
from mxroute._resolvers.dns import _lean
from mxroute._resolvers.dns._config import Settings
from mxroute._resolvers.dns._resolution import Reply, resolution
from mxroute._resolvers.dns._wire import question_name, read_datagram
from tests.bindserver import BindServer
from tests.integration.servers import ZONES

TYPES = ["MX", "A", "AAAA", "CNAME", "TXT", "TLSA"]
"""The question types the lean reader answers."""

Outcome = tuple[bool, Answer, list[tuple[str, str, bool, bool]]]


def _settings(lean: bool, **options: Any) -> Settings:
    values: dict[str, Any] = {
        "nameservers": ["127.0.0.1"],
        "port": 53,
        "timeout": 1.0,
        "lifetime": 3.0,
        "tcp": False,
        "edns_payload": 1232,
        "dnssec": False,
        "use_additional": True,
        "max_workers": 10,
    }
    values.update(options)
    return Settings(**values, lean=lean)


def _timeout() -> Exception:
    return dns.exception.Timeout()  # type: ignore[no-untyped-call]


def outcome(wire: bytes, name: str, rdtype: str, lean: bool, **options: Any) -> Outcome:
    """Drive one resolution with ``wire`` as the first try's datagram, every later try timing out.

    Returns whether the datagram was ignored, the Answer, and the later tries.
    """
    qid = int.from_bytes(wire[:2], "big") if len(wire) >= 2 else 0
    questioning = resolution(_settings(lean, **options), name, rdtype, 0.0, lambda: qid)
    attempt = next(questioning)
    result = read_datagram(wire, attempt.query)
    reply: Exception | object = _timeout() if result is None else result
    tries = []
    now = 0.0
    try:
        while True:
            now += 1.0
            attempt = questioning.send(Reply(reply, now))  # type: ignore[arg-type]
            query = attempt.query
            tries.append((query.name.to_text(), str(query.rdtype), attempt.tcp, query.edns))
            reply = _timeout()
    except StopIteration as done:
        return result is None, as_checked(done.value), tries


def as_checked(answer: Answer) -> Answer:
    """``answer``, once it is shown to be what the public constructor makes of its fields.

    The resolution makes its answers without checking them again
    (``made_answer``): each must be the same answer, field for field and
    type for type, as ``Answer(...)`` would make (which would reject it if
    a field were wrong).
    """
    fields = {field.name: getattr(answer, field.name) for field in attrs.fields(Answer)}
    checked = Answer(**fields)
    assert checked == answer
    for name, value in fields.items():
        assert type(getattr(checked, name)) is type(value), name
    for extra in answer.additional:
        as_checked(extra)
    return answer


def _parts(response: _lean.Response | None) -> object:
    """Everything the lean reader read, to compare."""
    if response is None:
        return None
    sections = (response.answer, response.authority, response.additional)
    found = [
        [(rrs.key, rrs.labels, rrs.rdtype, rrs.ttl, list(rrs.records.items())) for rrs in rrsets]
        for rrsets in sections
    ]
    return response.id, response.flags, response.question, found


def lean_reads(wire: bytes) -> bool:
    """Whether the lean reader reads ``wire`` itself; if so, dnspython must read it too."""
    if _lean.read(wire) is None:
        return False
    dns.message.from_wire(wire, raise_on_truncation=True)  # raises if dnspython rejects it
    return True


def same(wire: bytes, name: str, rdtype: str, **options: Any) -> bool:
    """Assert that both readers give the same outcome; return whether the lean one read it."""
    read = lean_reads(wire)
    # The question's name taken from the query reads as the one read from the wire.
    assert _parts(_lean.read(wire, question_name(name))) == _parts(_lean.read(wire))
    assert outcome(wire, name, rdtype, True, **options) == outcome(
        wire, name, rdtype, False, **options
    )
    return read


# -- the corpus: BIND 9 serving the integration zones ------------------------

MAIN_ZONES = {
    "mxtest": ZONES / "mxtest.zone",
    "xn--bcher-kva.mxtest": ZONES / "idn.zone",
    "refused.mxtest": ZONES / "refused.zone",
    "broken.mxtest": ZONES / "broken.zone",
}
CHECKS_OFF = (
    "check-names primary ignore; check-mx ignore; check-mx-cname ignore; check-integrity no;"
)


def _names() -> list[str]:
    zone = dns.zone.from_file(str(ZONES / "mxtest.zone"), origin="mxtest", relativize=False)
    names = sorted({name.to_text(omit_final_dot=True) for name in zone.nodes})
    return [*names, "nothing.mxtest", "deep.nothing.mxtest", "xn--bcher-kva.mxtest"]


def _ask(port: int, name: str, rdtype: str, options: dict[str, Any], qid: int) -> bytes:
    query = dns.message.make_query(name, rdtype, **options)
    query.id = qid
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5.0)
        sock.sendto(query.to_wire(), ("127.0.0.1", port))
        wire, _ = sock.recvfrom(65535)
    return wire


QUERY_OPTIONS: list[dict[str, Any]] = [
    {"use_edns": 0, "payload": 1232},
    {"use_edns": False},
    {"use_edns": 0, "payload": 1232, "want_dnssec": True},
]


@pytest.fixture(scope="module")
def corpus() -> list[tuple[bytes, str, str]]:
    """Every response of BIND (full and minimal) to every name and type of the zones."""
    found = []
    rng = random.Random(14)
    with (
        BindServer(
            MAIN_ZONES,
            zone_options={"refused.mxtest": "allow-query { none; };"},
            options=CHECKS_OFF,
        ) as full,
        BindServer(
            {"mxtest": ZONES / "mxtest.zone"}, minimal_responses=True, options=CHECKS_OFF
        ) as minimal,
    ):
        for server in (full, minimal):
            for name in [*_names(), "refused.mxtest", "broken.mxtest", "example.org"]:
                for rdtype in TYPES:
                    for options in QUERY_OPTIONS:
                        wire = _ask(server.port, name, rdtype, options, rng.randrange(65536))
                        found.append((wire, name, rdtype))
    return found


def test_the_corpus_reads_the_same(corpus):
    read = sum(same(wire, name, rdtype) for wire, name, rdtype in corpus)
    # Guard against a vacuous test: BIND's answers are plain, so the lean
    # reader reads nearly all of them itself (DNSSEC ones included: the
    # zones are unsigned).
    assert read >= 0.9 * len(corpus)


def test_the_corpus_reads_the_same_with_dnssec_and_without_additional(corpus):
    for wire, name, rdtype in corpus[::3]:
        same(wire, name, rdtype, dnssec=True)
        same(wire, name, rdtype, use_additional=False)


def test_the_corpus_mutated_octet_by_octet(corpus):
    rng = random.Random(1405)
    read = 0
    for wire, name, rdtype in corpus:
        for _ in range(12):
            mutated = bytearray(wire)
            kind = rng.randrange(4)
            at = rng.randrange(len(mutated))
            if kind == 0:
                mutated[at] = rng.randrange(256)
            elif kind == 1:
                mutated[at] ^= 1 << rng.randrange(8)
            elif kind == 2:
                del mutated[at:]
            else:
                mutated[at:at] = bytes([rng.randrange(256)])
            read += same(bytes(mutated), name, rdtype)
    assert read > 0  # some mutants (a changed TTL or address) are still read lean


# -- hand-made edge cases -----------------------------------------------------


def _response(
    name: str = "example.com.",
    rdtype: str = "MX",
    *,
    answer: tuple[str, ...] = (),
    authority: tuple[str, ...] = (),
    additional: tuple[str, ...] = (),
    rcode: int = dns.rcode.NOERROR,
    flags: int = 0,
    qid: int = 4242,
    edns: int | None = 0,
) -> bytes:
    """A response rendered with compression; each record text is ``"owner ttl TYPE rdata"``."""
    renderer = dns.renderer.Renderer(qid, dns.flags.QR | dns.flags.RD | flags | rcode, 65535)
    renderer.add_question(dns.name.from_text(name), dns.rdatatype.from_text(rdtype))
    for section, texts in (
        (dns.renderer.ANSWER, answer),
        (dns.renderer.AUTHORITY, authority),
        (dns.renderer.ADDITIONAL, additional),
    ):
        for text in texts:
            owner, ttl, kind, *rdata = text.split(" ", 3)
            rrset = dns.rrset.from_text(owner, int(ttl), "IN", kind, *rdata)
            renderer.add_rrset(section, rrset)
    if edns is not None:
        renderer.add_edns(edns, 0, 1232)
    renderer.write_header()
    return renderer.get_wire()


def _uncompressed(*answer: str, rdtype: str = "MX") -> bytes:
    """A response to ``example.com`` with no name compressed: names keep their case."""
    header = struct.pack("!HHHHHH", 4242, 0x8180, 1, len(answer), 0, 0)
    question = dns.name.from_text("example.com.").to_wire() + struct.pack(
        "!HH", dns.rdatatype.from_text(rdtype), 1
    )
    records = b""
    for text in answer:
        owner, ttl, kind, rdata_text = text.split(" ", 3)
        rdata = dns.rdata.from_text("IN", kind, rdata_text)
        raw = rdata.to_wire()
        records += dns.name.from_text(owner).to_wire() + struct.pack(
            "!HHIH", rdata.rdtype, 1, int(ttl), len(raw)
        )
        records += raw
    return header + question + records


SOA = "example.com. 3600 SOA ns.example.com. host.example.com. 1 2 3 4 300"
EDGE_CASES = {
    "two MX and glue": _response(
        answer=(
            "example.com. 300 MX 10 mx1.example.com.",
            "example.com. 200 MX 20 mx2.example.com.",
        ),
        additional=(
            "mx1.example.com. 60 A 192.0.2.1",
            "MX1.example.com. 50 AAAA 2001:db8::1",
            "other.example.com. 60 A 192.0.2.9",
        ),
    ),
    "null MX": _response(answer=("example.com. 300 MX 0 .",)),
    "duplicate MX, names in other case": _response(
        answer=(
            "example.com. 300 MX 10 mx1.example.com.",
            "EXAMPLE.com. 100 MX 10 MX1.Example.COM.",
            "example.com. 300 MX 20 mx2.example.com.",
        )
    ),
    "duplicate MX, uncompressed, names in other case": _uncompressed(
        "example.com. 300 MX 10 mx1.example.com.",
        "Example.COM. 100 MX 10 MX1.Example.COM.",
        "example.com. 300 MX 20 mx2.example.com.",
    ),
    "duplicate CNAME targets, uncompressed": _uncompressed(
        "example.com. 300 CNAME One.Example.NET.",
        "one.example.net. 300 MX 10 mx.example.net.",
        "ONE.example.net. 300 MX 10 MX.example.net.",
    ),
    "interleaved sets": _response(
        answer=(
            "example.com. 300 MX 10 a.example.com.",
            'example.com. 300 TXT "x"',
            "example.com. 30 MX 20 b.example.com.",
        )
    ),
    "nxdomain with SOA": _response(rcode=dns.rcode.NXDOMAIN, authority=(SOA,)),
    "nodata with SOA, TTL above MINIMUM": _response(authority=(SOA.replace("300", "30000"),)),
    "nodata without SOA": _response(),
    "two SOA records": _response(
        authority=(SOA, SOA.replace(" 1 2 3 4 300", " 2 2 3 4 10").replace("3600", "7200"))
    ),
    "referral": _response(authority=("example.com. 3600 NS ns.example.net.",)),
    "referral, authoritative": _response(
        flags=dns.flags.AA, authority=("example.com. 3600 NS ns.example.net.",)
    ),
    "CNAME chain": _response(
        answer=(
            "example.com. 300 CNAME one.example.net.",
            "one.example.net. 200 CNAME two.example.org.",
            "two.example.org. 100 MX 10 mx.example.org.",
        )
    ),
    "CNAME chain that stops": _response(answer=("example.com. 300 CNAME one.example.net.",)),
    "CNAME loop": _response(
        answer=(
            "example.com. 300 CNAME one.example.net.",
            "one.example.net. 300 CNAME example.com.",
        )
    ),
    "two CNAMEs at one name": _response(
        answer=(
            "example.com. 300 CNAME one.example.net.",
            "example.com. 30 CNAME two.example.net.",
            "two.example.net. 300 MX 10 mx.example.net.",
        )
    ),
    "CNAME nxdomain": _response(
        rcode=dns.rcode.NXDOMAIN,
        answer=("example.com. 300 CNAME one.example.net.",),
        authority=(SOA.replace("example.com.", "example.net."),),
    ),
    "TTL above 2**31": _response(answer=("example.com. 2147483648 MX 10 mx.example.com.",)),
    "TTL 2**31 - 1": _response(answer=("example.com. 2147483647 MX 10 mx.example.com.",)),
    "servfail": _response(rcode=dns.rcode.SERVFAIL),
    "refused": _response(rcode=dns.rcode.REFUSED),
    "formerr": _response(rcode=dns.rcode.FORMERR),
    "AD bit": _response(flags=dns.flags.AD, answer=("example.com. 300 MX 10 mx.example.com.",)),
    "TC bit": _response(flags=dns.flags.TC),
    "no EDNS": _response(edns=None, answer=("example.com. 300 MX 10 mx.example.com.",)),
    "EDNS version 1": _response(edns=1, answer=("example.com. 300 MX 10 mx.example.com.",)),
    "MX exchange with a space": _response(answer=("example.com. 300 MX 10 a\\032b.example.com.",)),
    "MX exchange with a dot in a label": _response(
        answer=("example.com. 300 MX 10 a\\.b.example.com.",)
    ),
    "MX exchange written as an address": _response(answer=("example.com. 300 MX 10 192.0.2.1.",)),
    "an RRSIG in the answer": _response(
        answer=(
            "example.com. 300 MX 10 mx.example.com.",
            "example.com. 300 RRSIG MX 13 2 300 20300101000000 20200101000000 1 example.com. AAAA",
        )
    ),
    "an unknown type in the additional section": _response(
        answer=("example.com. 300 MX 10 mx.example.com.",),
        additional=("mx.example.com. 300 SRV 0 0 25 mx.example.com.",),
    ),
    "another question": _response(name="example.org."),
    "another type": _response(rdtype="A"),
}
TXT_CASES = {
    "TXT": _response(
        rdtype="TXT", answer=('example.com. 300 TXT "v=STSv1; id=20240101" "two words"',)
    ),
    "TXT with escapes": _response(
        rdtype="TXT", answer=('example.com. 300 TXT "a\\"b\\\\c\\255\\009"',)
    ),
    "TXT, empty string": _response(rdtype="TXT", answer=('example.com. 300 TXT ""',)),
    "TLSA": _response(
        rdtype="TLSA",
        answer=(
            "example.com. 300 TLSA 3 1 1 " + "ab" * 32,
            "example.com. 300 TLSA 2 0 0 " + "cd" * 100,
        ),
    ),
}
ADDRESS_CASES = {
    "A": _response(
        rdtype="A", answer=("example.com. 300 A 192.0.2.1", "example.com. 300 A 192.0.2.1")
    ),
    "AAAA": _response(rdtype="AAAA", answer=("example.com. 300 AAAA ::ffff:192.0.2.1",)),
    "CNAME asked": _response(
        rdtype="CNAME", answer=("example.com. 300 CNAME Target.Example.NET.",)
    ),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases(case):
    same(EDGE_CASES[case], "example.com", "MX")


@pytest.mark.parametrize("case", sorted(TXT_CASES))
def test_txt_and_tlsa(case):
    wire = TXT_CASES[case]
    rdtype = "TXT" if case.startswith("TXT") else "TLSA"
    assert same(wire, "example.com", rdtype)


@pytest.mark.parametrize("case", sorted(ADDRESS_CASES))
def test_addresses_and_cnames(case):
    rdtype = {"A": "A", "AAAA": "AAAA"}.get(case, "CNAME")
    assert same(ADDRESS_CASES[case], "example.com", rdtype)


@pytest.mark.parametrize(
    ("case", "lean"),
    [
        ("two MX and glue", True),
        ("duplicate MX, names in other case", True),
        ("duplicate MX, uncompressed, names in other case", True),
        ("CNAME loop", True),
        ("TTL above 2**31", True),
        ("referral", True),
        ("TC bit", False),
        ("EDNS version 1", False),
        ("MX exchange with a space", False),
        ("MX exchange with a dot in a label", False),
        ("an RRSIG in the answer", False),
        ("an unknown type in the additional section", False),
    ],
)
def test_what_the_lean_reader_reads_itself(case, lean):
    assert lean_reads(EDGE_CASES[case]) is lean


def test_the_answer_from_the_wire():
    """Not only the same as dnspython's: the right answer (a check on the harness)."""
    ignored, answer, tries = outcome(EDGE_CASES["two MX and glue"], "example.com", "MX", True)
    assert not ignored
    assert not tries
    assert [record.to_text() for record in answer.mx_records] == [
        "10 mx1.example.com.",
        "20 mx2.example.com.",
    ]
    assert answer.ttl == 200
    assert [(extra.name, extra.rdtype, extra.ttl) for extra in answer.additional] == [
        ("mx1.example.com", "A", 60),
        ("mx1.example.com", "AAAA", 50),
    ]


def _raw(header: bytes, body: bytes) -> bytes:
    return header + body


QUESTION = b"\x07example\x03com\x00\x00\x0f\x00\x01"
HEADER = b"\x10\x92\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"
MALFORMED = {
    "pointer forwards": HEADER
    + QUESTION
    + b"\xc0\x30\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x04\x00\x0a\xc0\x0c",
    "pointer to itself": HEADER
    + QUESTION
    + b"\xc0\x1d\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x04\x00\x0a\xc0\x0c",
    "pointer to itself in rdata": HEADER
    + QUESTION
    + b"\xc0\x0c\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x04\x00\x0a\xc0\x2b",
    "label type 0x40": HEADER
    + QUESTION
    + b"\x40\x00\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x03\x00\x0a\x00",
    "rdlength past the end": HEADER
    + QUESTION
    + b"\xc0\x0c\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x09\x00\x0a\x00",
    "rdlength longer than the rdata": HEADER
    + QUESTION
    + b"\xc0\x0c\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x04\x00\x0a\x00\x00",
    "trailing octets": HEADER
    + QUESTION
    + b"\xc0\x0c\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x03\x00\x0a\x00\x00",
    "a count too high": HEADER[:6]
    + b"\x00\x02"
    + HEADER[8:]
    + QUESTION
    + b"\xc0\x0c\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x03\x00\x0a\x00",
    "short header": HEADER[:11],
    "name of 256 octets": HEADER
    + QUESTION
    + b"\xc0\x0c\x00\x0f\x00\x01\x00\x00\x01\x2c\x01\x02\x00\x0a"
    + b"\x3f"
    + b"a" * 63
    + b"\x3f"
    + b"b" * 63
    + b"\x3f"
    + b"c" * 63
    + b"\x3e"
    + b"d" * 62
    + b"\x00",
    "label of 64 octets": HEADER
    + QUESTION
    + b"\xc0\x0c\x00\x0f\x00\x01\x00\x00\x01\x2c\x00\x44\x00\x0a"
    + b"\x40"
    + b"a" * 64
    + b"\x00",
    "OPT in the answer section": HEADER
    + QUESTION
    + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00",
    "A record of 5 octets": HEADER[:4]
    + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    + b"\x07example\x03com\x00\x00\x01\x00\x01"
    + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x05\x01\x02\x03\x04\x05",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_is_never_read_lean(case):
    wire = MALFORMED[case]
    rdtype = "A" if case.startswith("A record") else "MX"
    assert not lean_reads(wire)
    ignored, answer, _ = outcome(wire, "example.com", rdtype, True)
    assert (ignored, answer) == outcome(wire, "example.com", rdtype, False)[:2]
    assert answer.status.temporary  # a malformed answer is a temporary failure, never a route


def test_a_message_read_lean_parses_with_dnspython_as_the_same_records():
    wire = EDGE_CASES["duplicate MX, names in other case"]
    lean = _lean.read(wire)
    assert lean is not None
    message = dns.message.from_wire(wire)
    assert [len(rrs) for rrs in lean.answer] == [len(rrset) for rrset in message.answer]
    assert [rrs.ttl for rrs in lean.answer] == [rrset.ttl for rrset in message.answer]


# -- generated messages -------------------------------------------------------

_LABEL = st.sampled_from([b"example", b"EXAMPLE", b"com", b"mx1", b"Mx1", b"a-b", b"_x", b"0"])
_ODD_LABEL = st.sampled_from([b"a b", b"a.b", b"\xc3\xa9", b"*", b"@", b"a" * 60])
_NAMES = st.lists(st.one_of(*[_LABEL] * 12, _ODD_LABEL), min_size=0, max_size=4).map(
    lambda labels: dns.name.Name([*labels, b""])
)
_PLAIN_NAMES = st.lists(_LABEL, min_size=0, max_size=4).map(
    lambda labels: dns.name.Name([*labels, b""])
)
_QNAMES = st.sampled_from(["example.com", "mx1.example.com", "com"])


def _rdata(kind: str, draw: st.DrawFn, plain: bool) -> dns.rdata.Rdata:
    IN = dns.rdataclass.IN
    names = _PLAIN_NAMES if plain else _NAMES
    if kind == "A":
        return dns.rdata.from_wire(
            IN, dns.rdatatype.A, draw(st.binary(min_size=4, max_size=4)), 0, 4
        )
    if kind == "AAAA":
        data = draw(st.binary(min_size=16, max_size=16))
        return dns.rdata.from_wire(IN, dns.rdatatype.AAAA, data, 0, 16)
    if kind == "MX":
        exchange = draw(names)
        return dns.rdata.from_text(IN, "MX", f"{draw(st.integers(0, 65535))} {exchange}")
    if kind in ("CNAME", "NS"):
        return dns.rdata.from_text(IN, kind, draw(names).to_text())
    if kind == "SOA":
        minimum = draw(st.sampled_from([0, 60, 300, 2**31, 2**32 - 1]))
        return dns.rdata.from_text(IN, "SOA", f"{draw(names)} {draw(names)} 1 2 3 4 {minimum}")
    if kind == "TXT":
        strings = draw(st.lists(st.binary(max_size=40), min_size=1, max_size=3))
        return dns.rdtypes.ANY.TXT.TXT(IN, dns.rdatatype.TXT, strings)
    if kind == "TLSA":
        mtype = draw(st.sampled_from([0, 1]))
        size = st.integers(1, 80) if mtype == 0 else st.just(32)
        data = draw(st.binary(min_size=draw(size), max_size=80))[: 32 if mtype else 80].hex()
        return dns.rdata.from_text(IN, "TLSA", f"{draw(st.integers(0, 3))} 1 {mtype} {data}")
    if kind == "SRV":
        return dns.rdata.from_text(IN, "SRV", f"0 0 25 {draw(names)}")
    return dns.rdata.from_text(IN, "PTR", draw(names).to_text())


_KINDS = st.sampled_from(
    ["MX"] * 6
    + ["A"] * 3
    + ["AAAA"] * 2
    + ["CNAME"] * 3
    + ["NS", "SOA", "SOA", "TXT", "TLSA"]
    + ["SRV", "PTR"]
)
_PLAIN_KINDS = st.sampled_from(["MX", "A", "AAAA", "CNAME", "NS", "SOA", "TXT", "TLSA"])
_TTLS = st.sampled_from([0, 1, 300, 3600, 2**31 - 1, 2**31, 2**32 - 1])


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """A response rendered record by record (so sets are split, repeated and interleaved).

    Most are plain (what the lean reader reads itself); the others add odd
    names, other types and classes, TC and EDNS variants (what it leaves to
    dnspython).
    """
    plain = draw(st.integers(0, 9)) < 7
    qname = draw(_QNAMES)
    qtype = draw(st.sampled_from(TYPES))
    flags = dns.flags.QR | draw(
        st.sampled_from([0, dns.flags.AA, dns.flags.AD] + ([] if plain else [dns.flags.TC]))
    )
    rcode = draw(st.sampled_from([0, 0, 0, 3, 3, 2, 5, 1]))
    renderer = dns.renderer.Renderer(draw(st.integers(0, 65535)), flags | rcode, 65535)
    if draw(st.booleans()) or rcode == 0:
        question_name = draw(st.sampled_from([qname, qname.upper(), "other.example"]))
        question_type = draw(st.sampled_from([qtype, qtype, "SOA"]))
        renderer.add_question(
            dns.name.from_text(question_name), dns.rdatatype.from_text(question_type)
        )
    owners = st.one_of(
        st.just(dns.name.from_text(qname)),
        st.just(dns.name.from_text(qname.upper())),
        _PLAIN_NAMES if plain else _NAMES,
    )
    for section in (dns.renderer.ANSWER, dns.renderer.AUTHORITY, dns.renderer.ADDITIONAL):
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(_PLAIN_KINDS if plain else _KINDS)
            rdata = _rdata(kind, draw, plain)
            classes = (
                [dns.rdataclass.IN] if plain else [dns.rdataclass.IN] * 5 + [dns.rdataclass.CH]
            )
            rdclass = draw(st.sampled_from(classes))
            rrset = dns.rrset.RRset(draw(owners), rdclass, rdata.rdtype)
            raw = rdata.to_wire()
            odd = dns.rdata.GenericRdata(rdclass, rdata.rdtype, raw)
            rrset.add(rdata if rdclass == dns.rdataclass.IN else odd, draw(_TTLS))
            renderer.add_rrset(section, rrset)
    edns = draw(st.sampled_from([None, 0] if plain else [None, 0, 1]))
    if edns is not None:
        ednsflags = draw(st.sampled_from([0, dns.flags.DO] + ([] if plain else [0x01000000])))
        options = (
            [] if plain else draw(st.sampled_from([[], [dns.edns.GenericOption(10, b"12345678")]]))
        )
        renderer.add_edns(edns, ednsflags, 1232, options)
    renderer.write_header()
    return renderer.get_wire(), qname, qtype


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_generated_messages(message):
    wire, name, rdtype = message
    same(wire, name, rdtype)


@settings(max_examples=300, deadline=None)
@given(messages(), st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)), max_size=4))
def test_generated_messages_mutated(message, edits):
    wire, name, rdtype = message
    mutated = bytearray(wire)
    for at, octet in edits:
        mutated[at % len(mutated)] = octet
    same(bytes(mutated), name, rdtype)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_arbitrary_octets_after_a_header(body):
    wire = HEADER + body
    same(wire, "example.com", "MX")


class TestCheckedNames:
    """The lean reader keeps the names it checked (a bounded number), with the same results."""

    @staticmethod
    def _uncached(labels: list[bytes]) -> bytes | None:
        joined = b".".join(labels)
        if _lean._SAFE_NAME.fullmatch(joined) is None or joined.count(b".") != len(labels) - 1:
            return None
        return joined.lower()

    @staticmethod
    def _cached(labels: list[bytes]) -> bytes | None:
        try:
            return _lean._key(labels)
        except _lean._Unusual:
            return None

    @pytest.mark.parametrize(
        "labels",
        [
            [b"mx1", b"example", b"com"],
            [b"MX1", b"Example", b"COM"],
            [b"_tcp", b"a-b"],
            [b"a b", b"example"],
            [b"a.b", b"example"],
            [b"a", b"b.example"],
            [b"caf\xc3\xa9"],
            [b""],
        ],
    )
    def test_the_same_key_asked_once_or_twice(self, labels):
        _lean.clear_caches()
        expected = self._uncached(labels)
        assert self._cached(labels) == expected
        assert self._cached(labels) == expected  # kept, or still refused

    def test_a_dot_inside_a_label_is_refused_after_the_dotted_name_was_kept(self):
        _lean.clear_caches()
        assert self._cached([b"a", b"b"]) == b"a.b"
        assert self._cached([b"a.b"]) is None

    def test_names_in_other_cases_share_one_key(self):
        _lean.clear_caches()
        assert (
            self._cached([b"Mx", b"Example"]) == self._cached([b"mX", b"EXAMPLE"]) == b"mx.example"
        )

    def test_at_most_keys_kept_names_are_kept(self):
        _lean.clear_caches()
        for index in range(_lean.KEYS_KEPT * 2 + 10):
            labels = [b"h%d" % index, b"Example"]
            assert self._cached(labels) == self._uncached(labels)
            assert len(_lean._keys) <= _lean.KEYS_KEPT
        assert self._cached([b"h0", b"Example"]) == b"h0.example"

    def test_a_refused_name_is_not_kept(self):
        _lean.clear_caches()
        assert self._cached([b"a b"]) is None
        assert _lean._keys == {}


class TestKeptMXRecords:
    """MX records that repeat (a provider's hosts) are made once, the same as made afresh."""

    @pytest.mark.parametrize(
        ("preference", "labels"),
        [(10, [b"mx1", b"example", b"com"]), (0, []), (65535, [b"MX_2", b"Example"])],
    )
    def test_the_kept_record_is_the_record_made_afresh(self, preference, labels):
        _lean.clear_caches()
        exchange = _lean._key(labels)
        made = _lean._mx_record(preference, exchange)
        assert made == MXRecord(preference, _lean._text(labels))
        assert made.ttl is None
        assert _lean._mx_record(preference, exchange) is made

    def test_one_record_serves_every_case_of_the_exchange(self):
        _lean.clear_caches()
        lower = _lean._mx_record(10, _lean._key([b"mx", b"example"]))
        upper = _lean._mx_record(10, _lean._key([b"MX", b"EXAMPLE"]))
        assert upper is lower
        assert upper == MXRecord(10, "MX.EXAMPLE.")
        assert _lean._mx_record(20, b"mx.example").preference == 20

    def test_at_most_keys_kept_records_are_kept(self):
        _lean.clear_caches()
        for index in range(_lean.KEYS_KEPT * 2 + 10):
            labels = [b"h%d" % index, b"example"]
            made = _lean._mx_record(5, b".".join(labels))
            assert made == MXRecord(5, f"h{index}.example")
            assert len(_lean._records) <= _lean.KEYS_KEPT
