"""The lean answer reader: a response read straight from the wire, or left to dnspython.

:func:`read` reads a UDP response in one pass over its octets, for the
records routing uses: A, AAAA, MX, CNAME, NS (to see a referral), SOA (the
negative TTL), TXT and TLSA, and an EDNS OPT record without options. It is
15 to 20 times cheaper than :func:`dns.message.from_wire`, which builds a
:class:`dns.name.Name`, an rdata object and an rrset for every record.

It is deliberately stricter than dnspython, never looser: whatever it does
not fully understand makes it return None, and the caller then parses the
datagram with dnspython, which stays the reference. That covers a malformed
message (a length past the end, a compression pointer that does not point
strictly backwards, a chain of more than 16 pointers, a name longer than 255
octets, trailing octets, rdata of the wrong size), and anything unusual: an
opcode other than QUERY, the TC bit, more than one question, a class other
than IN, a record type not listed above, an OPT record with options, an
extended RCODE or an EDNS version, and a name with an octet other than a
letter, a digit, ``-`` or ``_`` (whose text dnspython escapes). So a message
the lean reader accepts is one dnspython reads the same way, and the
differential tests (``tests/test_lean_reader.py``) hold it to that: on every
response of the test corpus and on generated and mutated messages, the
answer read either way is the same :class:`~mxroute.Answer`.

The record sets are grouped as dnspython groups them: records of one owner
(compared without case) and type in one section form one set, in the order
first seen; a record equal to one already in the set (names compared without
case) is dropped; the set's TTL is the smallest of its records' TTLs, a TTL
above 2**31 - 1 counting as 0 (RFC 2181 §8); a CNAME or SOA set keeps only
its last record. TXT and TLSA records (which hold no names) are read and
turned into text by dnspython's own rdata code, record by record, so their
checks and their text are dnspython's by construction.

Names and MX records repeat from response to response in bulk work (the
hosts of a few providers), so the reader keeps, in bounded dictionaries,
the names it found to need no escape and the MX records it made; every
check on the message itself (lengths, pointers, loops) is made each time.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from typing import TYPE_CHECKING, cast

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from mxroute._dns import Answer, RData
from mxroute._memo import BoundedMemo
from mxroute._model import MXRecord
from mxroute._names import normalize_host
from mxroute._resolvers.dns._interpret import address_answer

if TYPE_CHECKING:
    from mxroute._resolvers.dns._wire import Named, Query

_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_QUESTION = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")

_A, _AAAA, _MX, _CNAME, _NS, _SOA, _TXT, _TLSA, _OPT = 1, 28, 15, 5, 2, 6, 16, 52, 41
_IN = 1
_QR, _AA, _TC = 0x8000, 0x0400, 0x0200
_SINGLETONS = frozenset({_CNAME, _SOA})
"""Types of which dnspython keeps only the last record of a set."""
_WITH_TEXT = frozenset({_TXT, _TLSA})
"""Types whose values are dnspython's rdata text."""
QUESTION_TYPES = frozenset({_A, _AAAA, _MX, _CNAME, _TXT, _TLSA})
"""The question types the lean reader answers; others are left to dnspython."""
_ERROR_RCODES = frozenset({1, 2, 4, 5})
"""FORMERR, SERVFAIL, NOTIMP, REFUSED: may come without the question echoed."""
_MAX_POINTERS = 16
"""dnspython's limit on compression pointers in one name."""
_SAFE_NAME = re.compile(rb"(?:[A-Za-z0-9_-]+\.)*[A-Za-z0-9_-]+|")
"""A name (its labels joined by dots) whose text needs no escape."""


_RCODES = tuple(dns.rcode.Rcode(value) for value in range(16))

Value = bytes | str | int | list[bytes] | tuple[int, bytes]
"""A record's value: the raw rdata (A, AAAA), the text (TXT, TLSA), the
target's labels (CNAME, NS), the MINIMUM field (SOA), or ``(preference,
exchange key)`` (MX)."""
Labels = list[bytes]
Exchange = tuple[int, bytes]


class _Unusual(Exception):
    """The message needs dnspython: malformed, or beyond what this reader reads."""


class RRs:
    """One record set of a lean response: owner, type, TTL and the records' values."""

    __slots__ = ("key", "labels", "rdtype", "records", "ttl")

    def __init__(self, key: bytes, labels: list[bytes], rdtype: int, ttl: int) -> None:
        self.key = key
        """The owner's labels, lowercase, joined by dots."""
        self.labels = labels
        """The owner's labels as they came."""
        self.rdtype = rdtype
        self.ttl = ttl
        self.records: dict[object, Value] = {}
        """Each record by its canonical form (what dnspython compares), in order."""

    def __len__(self) -> int:
        return len(self.records)


class Response:
    """A response read by :func:`read`: the header fields and the record sets of each section."""

    __slots__ = ("additional", "answer", "authority", "flags", "id", "question", "rcode_value")

    def __init__(
        self,
        qid: int,
        flags: int,
        question: tuple[bytes, int, int] | None,
        sections: list[list[RRs]],
    ) -> None:
        self.id = qid
        self.flags = flags
        """The header flags (QR, AA, TC, RD, RA, AD, CD), as :attr:`dns.message.Message.flags`."""
        self.rcode_value = _RCODES[flags & 0xF]
        self.question = question
        """The question as ``(key, type, class)``, or None when the response has none."""
        self.answer, self.authority, self.additional = sections

    def rcode(self) -> dns.rcode.Rcode:
        """The response code, as :meth:`dns.message.Message.rcode` gives it."""
        return self.rcode_value

    # -- the View that interpret() reads ---------------------------------------

    def records(self, name: dns.name.Name, rdtype: int) -> RRs | None:
        """The answer section's set of ``rdtype`` at ``name``, or None."""
        owner = key(name)
        for rrs in self.answer:
            if rrs.rdtype == rdtype and rrs.key == owner:
                return rrs
        return None

    def alias(self, name: dns.name.Name) -> tuple[dns.name.Name, int] | None:
        """The target and TTL of the answer section's CNAME at ``name``, or None."""
        rrs = self.records(name, _CNAME)
        if rrs is None:
            return None
        (labels,) = rrs.records.values()
        return dns.name.Name([*cast(Labels, labels), b""]), rrs.ttl

    def negative_ttl(self) -> int | None:
        """RFC 2308 §5: the smaller of the SOA record's TTL and its MINIMUM field."""
        for rrs in self.authority:
            if rrs.rdtype == _SOA:
                (minimum,) = rrs.records.values()
                return min(rrs.ttl, cast(int, minimum))
        return None

    def is_referral(self) -> bool:
        """Not authoritative, with NS records in the authority section."""
        return not self.flags & _AA and any(rrs.rdtype == _NS for rrs in self.authority)


def key(name: dns.name.Name) -> bytes:
    """``name``'s labels, lowercase, joined by dots: how :class:`RRs` keys owners."""
    return b".".join(name.labels[:-1]).lower()


Memo = dict[int, tuple[list[bytes], bytes, int, int, int]]
"""The names read so far in one message, by offset: labels, key, length, pointers, end."""


def _name(wire: bytes, pos: int, end: int, memo: Memo) -> tuple[list[bytes], bytes, int]:
    """The name at ``pos``, read no further than ``end``: its labels, its key, the offset after.

    dnspython's rules, at least as strictly: a pointer points before every
    earlier part of the name and the name's labels end before the part it
    points to; at most 16 pointers; at most 255 octets; and (ours) no octet
    that its text would escape. A pointer to a name already read in the
    message takes that name's labels from ``memo`` (when they lie where
    reading them again would be allowed), and the name joins ``memo``.
    """
    if pos < end and not wire[pos]:  # the root: the OPT record's owner, a null MX
        memo[pos] = ([], b"", 1, 0, pos + 1)
        return [], b"", pos + 1
    if pos + 1 < end and wire[pos] >= 192:
        # The commonest name of all: one pointer to a name read already (the
        # question's). The same checks as below, in short.
        target = (wire[pos] & 0x3F) << 8 | wire[pos + 1]
        known = memo.get(target)
        if known is not None and target < pos and known[4] <= pos and known[3] < _MAX_POINTERS:
            memo[pos] = (known[0], known[1], known[2], known[3] + 1, pos + 2)
            return known[0], known[1], pos + 2
    origin = pos
    labels: list[bytes] = []
    after = -1
    lowest = start = pos
    limit = end
    hops = 0
    total = 1
    tail: bytes | None = None
    head = 0
    while True:
        if pos >= limit:
            raise _Unusual
        count = wire[pos]
        if count == 0:
            pos += 1
            break
        if count < 64:
            pos += 1
            if pos + count > limit:
                raise _Unusual
            labels.append(wire[pos : pos + count])
            pos += count
            total += count + 1
        elif count >= 192:
            if pos + 2 > limit:
                raise _Unusual
            target = (count & 0x3F) << 8 | wire[pos + 1]
            if after < 0:
                after = pos + 2
            hops += 1
            if target >= lowest or hops > _MAX_POINTERS:
                raise _Unusual
            known = memo.get(target)
            if known is not None and known[4] <= start:
                head = len(labels)
                known_labels, tail, known_total, known_hops, _ = known
                labels.extend(known_labels)
                total += known_total - 1
                hops += known_hops
                if hops > _MAX_POINTERS:
                    raise _Unusual
                break
            lowest = target
            limit = start
            pos = start = target
        else:
            raise _Unusual
    if total > 255:
        raise _Unusual
    if tail is None:
        name_key = _key(labels)
    elif head:
        own = _key(labels[:head])
        name_key = own + b"." + tail if tail else own
    else:
        name_key = tail
    following = pos if after < 0 else after
    memo[origin] = (labels, name_key, total, hops, following)
    return labels, name_key, following


KEYS_KEPT = 4096
"""How many names :func:`_key` and MX records :func:`_mx_record` keep (forgotten when full)."""


def _checked_key(joined: bytes) -> bytes:
    if _SAFE_NAME.fullmatch(joined) is None:
        raise _Unusual  # an octet to escape
    return joined.lower()


_keys: BoundedMemo[bytes, bytes] = BoundedMemo(_checked_key, KEYS_KEPT)
"""Names (labels joined by dots) already checked to need no escape, and their keys."""


def _key(labels: list[bytes]) -> bytes:
    """The labels, lowercase, joined by dots, if the name's text needs no escape.

    The names checked last are kept (up to :data:`KEYS_KEPT`): in bulk work
    the same hosts and zones come back in response after response.
    """
    joined = b".".join(labels)
    if joined.count(b".") != len(labels) - 1 > -1:
        raise _Unusual  # a dot inside a label
    return _keys[joined]


def _made_record(key: tuple[int, bytes]) -> MXRecord:
    preference, exchange = key
    return MXRecord(preference, exchange.decode("ascii") + "." if exchange else ".")


_records: BoundedMemo[tuple[int, bytes], MXRecord] = BoundedMemo(_made_record, KEYS_KEPT)
"""The MX records made last, by preference and exchange key."""


def _mx_record(preference: int, exchange: bytes) -> MXRecord:
    """``MXRecord(preference, <the exchange>)``, made once for records that repeat.

    An MXRecord is an immutable value, and its exchange is stored lowercase,
    so one record serves every answer naming that exchange (a key from
    :func:`_key`) in any case.
    """
    return _records[preference, exchange]


def clear_caches() -> None:
    """Forget the names :func:`_key` checked and the MX records kept."""
    _keys.clear()
    _records.clear()


def _text(labels: list[bytes]) -> str:
    """The name's absolute text, as :meth:`dns.name.Name.to_text` writes it (no escapes)."""
    return b".".join(labels).decode("ascii") + "." if labels else "."


def _rdata(wire: bytes, rdtype: int, pos: int, end: int, memo: Memo) -> tuple[object, Value]:
    """The record at ``pos..end``: its canonical form (for equality) and its value."""
    if rdtype == _A:
        if end - pos != 4:
            raise _Unusual
        raw = wire[pos:end]
        return raw, raw
    if rdtype == _AAAA:
        if end - pos != 16:
            raise _Unusual
        raw = wire[pos:end]
        return raw, raw
    if rdtype == _MX:
        if end - pos < 3:
            raise _Unusual
        (preference,) = _U16.unpack_from(wire, pos)
        _, exchange, after = _name(wire, pos + 2, end, memo)
        if after != end:
            raise _Unusual
        record = (preference, exchange)
        return record, record
    if rdtype in (_CNAME, _NS):
        labels, target, after = _name(wire, pos, end, memo)
        if after != end:
            raise _Unusual
        return target, labels
    if rdtype == _SOA:
        _, mname, after = _name(wire, pos, end, memo)
        _, rname, after = _name(wire, after, end, memo)
        if end - after != 20:
            raise _Unusual
        (minimum,) = _U32.unpack_from(wire, after + 16)
        canonical = (mname, rname, wire[after:end])
        return canonical, minimum
    if rdtype in _WITH_TEXT:
        # No names inside: dnspython's rdata code reads the record (with its
        # own checks, which vary between its versions) and writes its text.
        raw = wire[pos:end]
        try:
            kind = dns.rdatatype.RdataType(rdtype)
            rdata = dns.rdata.from_wire(dns.rdataclass.IN, kind, raw, 0, len(raw))
        except Exception:
            raise _Unusual from None
        return raw, str(rdata.to_text())
    raise _Unusual


def read(wire: bytes, asked: Named | None = None) -> Response | None:
    """``wire`` read lean, or None when dnspython must read it (see the module's text).

    ``asked`` is the name the query asked about, when the lean reader reads
    answers about it (its key is not None): a question that echoes it octet
    for octet is not read and checked again.
    """
    try:
        return _read(wire, asked)
    except (_Unusual, IndexError, struct.error):
        return None


def _read(wire: bytes, asked: Named | None) -> Response:
    size = len(wire)
    if size < 12:
        raise _Unusual
    qid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire, 0)
    if flags & 0x7800 or flags & _TC or qdcount > 1:  # opcode other than QUERY; TC
        raise _Unusual
    pos = 12
    question = None
    memo: Memo = {}
    if qdcount:
        if asked is not None and asked.key is not None and wire.startswith(asked.wire, 12):
            # What _name would find in these octets, as the query's name was checked.
            pos = 12 + len(asked.wire)
            qkey = asked.key
            memo[12] = (list(asked.name.labels[:-1]), qkey, len(asked.wire), 0, pos)
        else:
            _, qkey, pos = _name(wire, pos, size, memo)
        qtype, qclass = _QUESTION.unpack_from(wire, pos)
        pos += 4
        question = (qkey, qtype, qclass)
    sections: list[list[RRs]] = []
    seen_opt = False
    for index, count in enumerate((ancount, nscount, arcount)):
        if not count:
            sections.append([])
            continue
        found: dict[tuple[bytes, int], RRs] = {}
        for _ in range(count):
            labels, owner, pos = _name(wire, pos, size, memo)
            rdtype, rdclass, ttl, rdlength = _RR.unpack_from(wire, pos)
            pos += 10
            end = pos + rdlength
            if end > size:
                raise _Unusual
            if rdtype == _OPT:
                # Only one, in the additional section, owned by the root, no
                # extended RCODE, version 0, no options.
                if index != 2 or seen_opt or labels or ttl & 0xFFFF0000 or rdlength:
                    raise _Unusual
                seen_opt = True
                continue
            if rdclass != _IN:
                raise _Unusual
            canonical, value = _rdata(wire, rdtype, pos, end, memo)
            pos = end
            if ttl > 0x7FFFFFFF:
                ttl = 0
            rrs = found.get((owner, rdtype))
            if rrs is None:
                rrs = found[owner, rdtype] = RRs(owner, labels, rdtype, ttl)
            elif ttl < rrs.ttl:
                rrs.ttl = ttl
            if rdtype in _SINGLETONS:
                rrs.records.clear()
            rrs.records.setdefault(canonical, value)
        sections.append(list(found.values()))
    if pos != size:
        raise _Unusual  # trailing octets
    return Response(qid, flags, question, sections)


def is_response(query: Query, response: Response) -> bool:
    """Whether ``response`` answers ``query``: :func:`~._wire.is_response` for a lean response."""
    if not response.flags & _QR or response.id != query.id:
        return False
    question = response.question
    if question is None:
        return response.rcode_value in _ERROR_RCODES
    return question[1] == query.rdtype and question[2] == _IN and question[0] == query.key


def name_key(name: dns.name.Name) -> bytes | None:
    """The key of a query's name when the lean reader reads answers about it, else None.

    It reads them for a name without octets to escape (and for the types of
    :data:`QUESTION_TYPES`).
    """
    try:
        return _key(list(name.labels[:-1]))
    except _Unusual:
        return None


def _host(labels: list[bytes]) -> str:
    return normalize_host(_text(labels))


def values(rrs: RRs) -> list[RData]:
    """The records of ``rrs`` as :func:`~._interpret.values` gives them."""
    rdtype = rrs.rdtype
    found = rrs.records.values()
    if rdtype == _A:
        return [ipaddress.IPv4Address(cast(bytes, raw)) for raw in found]
    if rdtype == _AAAA:
        return [ipaddress.IPv6Address(cast(bytes, raw)) for raw in found]
    if rdtype == _MX:
        exchanges = cast("list[Exchange]", list(found))
        return [_mx_record(preference, exchange) for preference, exchange in exchanges]
    if rdtype == _CNAME:
        return [_host(cast(Labels, labels)) for labels in found]
    assert rdtype in _WITH_TEXT
    return cast("list[RData]", list(found))


def additional_answers(response: Response, rrs: RRs, authenticated: bool) -> list[Answer]:
    """:func:`~._interpret.additional_answers` for a lean response."""
    exchanges = {key for _, key in cast("list[Exchange]", list(rrs.records.values())) if key}
    found = []
    for extra in response.additional:
        kind = "A" if extra.rdtype == _A else "AAAA" if extra.rdtype == _AAAA else None
        if kind is not None and extra.key in exchanges and extra.records:
            found.append(
                address_answer(_host(extra.labels), kind, values(extra), extra.ttl, authenticated)
            )
    return found
