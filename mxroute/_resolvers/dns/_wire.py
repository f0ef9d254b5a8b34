"""The DNS wire format as DNSResolver writes and checks it: queries, names, types.

Queries are written here rather than with :func:`dns.message.make_query` and
``to_wire``, which take several times longer to build the same few octets;
a test checks they are byte for byte what dnspython makes. Every response is
read (by :mod:`._lean` or by dnspython); :func:`read_datagram` then says
whether it answers the query at all. No sockets, no clock, no randomness:
the caller gives the query ID.

Responses to the questions routing asks are read first by the lean reader
(:mod:`._lean`); what it does not read is parsed by dnspython
(:func:`dns.message.from_wire`), the reference.
"""

from __future__ import annotations

import functools
import struct
from typing import NamedTuple, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from mxroute._errors import InvalidInput
from mxroute._resolvers.dns import _lean

_IN = dns.rdataclass.IN

_HEADER = struct.Struct("!HHHHHH")
"""ID, flags, and the counts of the question, answer, authority and additional sections."""
_QUESTION = struct.Struct("!HH")
"""QTYPE and QCLASS, after the QNAME."""
_OPT = struct.Struct("!HHBBHH")
"""TYPE, CLASS (the UDP buffer size), extended RCODE, version, flags, RDLENGTH of an OPT record."""
_CHECKED_QUESTION_RCODES = frozenset(
    {dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED}
)


class Named(NamedTuple):
    """A question's name, worked out once: the name, its wire form and its lean reader key."""

    name: dns.name.Name
    wire: bytes
    """The name in wire format (uncompressed)."""
    key: bytes | None
    """:func:`._lean.name_key`: None when the lean reader does not read answers about it."""


class Query(NamedTuple):
    """One query, in wire format, and what a response to it must echo."""

    wire: bytes
    id: int
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    edns: bool = True
    """Whether the query carries an OPT record (EDNS)."""
    dnssec: bool = False
    """Whether the query sets the DO bit."""
    key: bytes | None = None
    """The name's key for the lean reader (:func:`._lean.name_key`) when it reads the
    responses; None: dnspython reads them."""
    named: Named | None = None
    """The name as the query writes it (:func:`named`)."""

    def message(self) -> dns.message.Message:
        """The query as a dnspython message (for :func:`dns.query.tcp`)."""
        return dns.message.from_wire(self.wire)


def named(name: dns.name.Name) -> Named:
    """``name`` with its wire form and its lean reader key."""
    return Named(name, cast(bytes, name.to_wire()), _lean.name_key(name))  # bytes: no file


@functools.lru_cache(maxsize=256)
def _tail(qtype: int, edns_payload: int | None, dnssec: bool) -> bytes:
    """What follows the QNAME: QTYPE, QCLASS and the OPT record, if any."""
    question = _QUESTION.pack(qtype, _IN)
    if edns_payload is None:
        return question
    flags = dns.flags.DO if dnssec else 0
    return question + b"\x00" + _OPT.pack(dns.rdatatype.OPT, edns_payload, 0, 0, flags, 0)


def make_query(
    qname: dns.name.Name | Named,
    qtype: dns.rdatatype.RdataType,
    qid: int,
    *,
    flags: int,
    edns_payload: int | None,
    dnssec: bool,
    lean: bool = True,
) -> Query:
    """The query for ``(qname, qtype)`` with ID ``qid``: RFC 1035 §4.1, with RFC 6891's OPT.

    The header (the ID, ``flags``), the question, and, unless
    ``edns_payload`` is None, the OPT pseudo-record (RFC 6891 §6.1.2): the
    root name, type OPT, the buffer size as its class, extended RCODE 0,
    version 0, and DO with ``dnssec``. With ``lean``, the lean reader reads
    the responses when it can. ``qname`` may come :func:`named` already
    (as :func:`question_name` gives it), which saves writing it again.
    """
    if not isinstance(qname, Named):
        qname = named(qname)
    edns = edns_payload is not None
    header = _HEADER.pack(qid, flags, 1, 0, 0, 1 if edns else 0)
    wire = header + qname.wire + _tail(qtype, edns_payload, dnssec and edns)
    key = qname.key if lean and qtype in _lean.QUESTION_TYPES else None
    return Query(wire, qid, qname.name, qtype, edns, edns and dnssec, key, qname)


def qname(name: str) -> dns.name.Name:
    """``name`` as an absolute DNS name, or InvalidInput ``invalid-name``."""
    return question_name(name).name


def question_name(name: str) -> Named:
    """``name`` as an absolute DNS name, :func:`named`, or InvalidInput ``invalid-name``.

    The most recent 4,096 names are kept, so a name asked again (a host of
    many domains) is parsed once.
    """
    if not isinstance(name, str) or not name.strip(".") or name.startswith("."):
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name", str(name))
    return _parse_name(name)


@functools.lru_cache(maxsize=4096)
def _parse_name(name: str) -> Named:
    try:
        parsed = dns.name.from_text(name, origin=dns.name.root)
    except (dns.exception.DNSException, ValueError) as exc:
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name: {exc}", name) from None
    return named(parsed)


def qtype(rdtype: str) -> tuple[dns.rdatatype.RdataType, str]:
    """``rdtype`` as a record type and its mnemonic, or InvalidInput ``invalid-rdtype``."""
    if not isinstance(rdtype, str):
        raise InvalidInput("invalid-rdtype", f"{rdtype!r} is not a DNS record type", str(rdtype))
    return _parse_type(rdtype)


@functools.lru_cache(maxsize=64)
def _parse_type(rdtype: str) -> tuple[dns.rdatatype.RdataType, str]:
    try:
        value = dns.rdatatype.from_text(rdtype)
    except (dns.exception.DNSException, ValueError, TypeError, AttributeError):
        raise InvalidInput(
            "invalid-rdtype", f"{rdtype!r} is not a DNS record type", str(rdtype)
        ) from None
    return value, dns.rdatatype.to_text(value)


def read_datagram(
    wire: bytes, query: Query
) -> dns.message.Message | _lean.Response | Exception | None:
    """The UDP datagram ``wire`` (from the server's address) as the response to ``query``.

    Read by the lean reader when the query allows it and the reader accepts
    the datagram, by dnspython otherwise.

    None when it is not a response to the query (another ID, another
    question, a query reflected back): it is ignored and the answer is
    still awaited (RFC 5452 §9.1), so an off-path spoofer cannot end the
    try. The exception for a datagram that does not parse (``Truncated``
    for the TC bit).
    """
    if query.key is not None:
        lean = _lean.read(wire, query.named)
        if lean is not None:
            return lean if _lean.is_response(query, lean) else None
    try:
        response = dns.message.from_wire(wire, raise_on_truncation=True)
    except dns.message.Truncated as truncated:
        message = truncated.message()  # type: ignore[no-untyped-call]
        if message is not None and not is_response(query, message):
            return None
        return truncated
    except Exception as exc:
        return exc
    if not is_response(query, response):
        return None
    return response


def is_response(query: Query, response: dns.message.Message) -> bool:
    """Whether ``response`` answers ``query``, as :meth:`dns.message.Message.is_response` says.

    The QR bit, the same ID, opcode QUERY, and the question echoed (which an
    error response may leave out).
    """
    if (
        not response.flags & dns.flags.QR
        or response.id != query.id
        or dns.opcode.from_flags(response.flags) != dns.opcode.QUERY
    ):
        return False
    question = response.question
    if not question:
        return response.rcode() in _CHECKED_QUESTION_RCODES
    return all(
        asked.rdtype == query.rdtype
        and asked.rdclass == _IN
        and asked.name == query.name  # absolute, compared without case
        for asked in question
    )
