"""Reading one NOERROR or NXDOMAIN response: records, CNAME chain, negative TTL, glue.

Pure functions of a parsed :class:`dns.message.Message`: what the answer
section says about the question, whether the response is usable at all
(a CNAME loop, a chain too long, a referral are not), and the records turned
into mxroute's values.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import TYPE_CHECKING, NamedTuple, Protocol

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

if TYPE_CHECKING:
    from mxroute._resolvers.dns._lean import RRs

from mxroute._dns import Answer, AnswerStatus, RData, made_answer, rdata_value
from mxroute._names import normalize_host

MAX_CNAME_CHAIN = 16
"""The longest CNAME chain followed for one question; a longer one is SERVFAIL."""

_IN = dns.rdataclass.IN
_CNAME = dns.rdatatype.CNAME
_SOA = dns.rdatatype.SOA
_NS = dns.rdatatype.NS
_A = dns.rdatatype.A
_AAAA = dns.rdatatype.AAAA
_ADDRESS_TYPES = {_A: "A", _AAAA: "AAAA"}
_NONE = dns.rdatatype.NONE


class Final(NamedTuple):
    """A NOERROR or NXDOMAIN response, interpreted."""

    status: AnswerStatus
    rrset: dns.rrset.RRset | RRs | None
    """The records answering the question (an :class:`~._lean.RRs` from the lean reader)."""
    cnames: list[str]
    targets: list[dns.name.Name]
    ttls: list[int]
    negative_ttl: int | None = None
    follow: dns.name.Name | None = None
    """A CNAME target the response did not resolve: ask it next."""
    problem: str = ""
    """Why the response cannot be used (the server then counts as failed)."""


def values(rrset: dns.rrset.RRset) -> list[RData]:
    """The records as :func:`~mxroute._dns.rdata_value` gives them.

    A and AAAA take a shortcut to the same values (the address class is known
    from the type, so :func:`ipaddress.ip_address` need not guess it).
    """
    if rrset.rdtype == _A:
        return [ipaddress.IPv4Address(rdata.address) for rdata in rrset]
    if rrset.rdtype == _AAAA:
        return [ipaddress.IPv6Address(rdata.address) for rdata in rrset]
    return [rdata_value(rdata) for rdata in rrset]


def host(name: dns.name.Name) -> str:
    """``name`` as mxroute writes host names."""
    return normalize_host(name.to_text())


def _negative_ttl(response: dns.message.Message) -> int | None:
    """RFC 2308 §5: the smaller of the SOA record's TTL and its MINIMUM field."""
    for rrset in response.authority:
        if rrset.rdtype == _SOA and rrset:
            return min(rrset.ttl, rrset[0].minimum)  # type: ignore[no-any-return]
    return None


def _is_referral(response: dns.message.Message) -> bool:
    return not response.flags & dns.flags.AA and any(r.rdtype == _NS for r in response.authority)


def _answer_rrset(
    response: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> dns.rrset.RRset | None:
    """The answer section's ``(name, IN, rdtype)`` record set, as ``get_rrset`` finds it.

    A plain scan: an answer holds a few record sets, and comparing the type
    first is cheaper than building and hashing ``find_rrset``'s key.
    """
    for rrset in response.answer:
        if (
            rrset.rdtype == rdtype
            and rrset.name == name
            and rrset.rdclass == _IN
            and rrset.covers == _NONE
            and rrset.deleting is None
        ):
            return rrset
    return None


class View(Protocol):
    """What reading a response needs of it: dnspython's message or the lean reader's."""

    def records(self, name: dns.name.Name, rdtype: int) -> dns.rrset.RRset | RRs | None:
        """The answer section's non-empty ``(name, IN, rdtype)`` set, or None."""
        ...

    def alias(self, name: dns.name.Name) -> tuple[dns.name.Name, int] | None:
        """The target and TTL of the answer section's CNAME at ``name``, or None."""
        ...

    def negative_ttl(self) -> int | None:
        """RFC 2308 §5: the smaller of the SOA record's TTL and its MINIMUM field."""
        ...

    def is_referral(self) -> bool:
        """Not authoritative, with NS records in the authority section."""
        ...


class _MessageView:
    """A :class:`View` of a :class:`dns.message.Message`."""

    __slots__ = ("response",)

    def __init__(self, response: dns.message.Message) -> None:
        self.response = response

    def records(self, name: dns.name.Name, rdtype: int) -> dns.rrset.RRset | None:
        return _answer_rrset(self.response, name, dns.rdatatype.RdataType(rdtype)) or None

    def alias(self, name: dns.name.Name) -> tuple[dns.name.Name, int] | None:
        rrset = _answer_rrset(self.response, name, _CNAME)
        return (rrset[0].target, rrset.ttl) if rrset else None

    def negative_ttl(self) -> int | None:
        return _negative_ttl(self.response)

    def is_referral(self) -> bool:
        return _is_referral(self.response)


def interpret(
    response: dns.message.Message | View,
    rcode: dns.rcode.Rcode,
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    seen: Collection[dns.name.Name],
    chain: int,
) -> Final:
    """Read a NOERROR or NXDOMAIN (``rcode``) response to the question ``(qname, qtype)``.

    ``response`` is dnspython's message or another :class:`View` (the lean
    reader's). ``seen`` holds the names already on the CNAME chain and
    ``chain`` its length; neither is changed.
    """
    view = _MessageView(response) if isinstance(response, dns.message.Message) else response
    cnames: list[str] = []
    targets: list[dns.name.Name] = []
    ttls: list[int] = []
    current = qname
    while True:
        rrset = view.records(current, qtype)
        if rrset is not None:
            ttls.append(rrset.ttl)
            return Final(AnswerStatus.RECORDS, rrset, cnames, targets, ttls)
        alias = view.alias(current) if qtype != _CNAME else None
        if alias is None:
            break
        target, ttl = alias
        if target in seen or target in targets:
            problem = f"a CNAME loop at {host(target)}"
            return Final(AnswerStatus.SERVFAIL, None, cnames, targets, ttls, problem=problem)
        if chain + len(cnames) >= MAX_CNAME_CHAIN:
            problem = f"a CNAME chain longer than {MAX_CNAME_CHAIN}"
            return Final(AnswerStatus.SERVFAIL, None, cnames, targets, ttls, problem=problem)
        targets.append(target)
        cnames.append(host(target))
        ttls.append(ttl)
        current = target
    negative = view.negative_ttl()
    if rcode == dns.rcode.NXDOMAIN:
        return Final(AnswerStatus.NXDOMAIN, None, cnames, targets, ttls, negative)
    if negative is None and cnames:
        # The chain stops at a name the server did not resolve (an
        # authoritative server whose zones do not hold the target).
        return Final(AnswerStatus.NODATA, None, cnames, targets, ttls, follow=current)
    if negative is None and view.is_referral():
        problem = "a referral: it does not resolve names recursively"
        return Final(AnswerStatus.SERVFAIL, None, cnames, targets, ttls, problem=problem)
    return Final(AnswerStatus.NODATA, None, cnames, targets, ttls, negative)


def address_answer(name: str, kind: str, records: list[RData], ttl: int, ad: bool) -> Answer:
    """The :class:`~mxroute.Answer` for addresses found in an additional section."""
    return made_answer(name, kind, AnswerStatus.RECORDS, tuple(records), ttl, (), ad, (), "")


def additional_answers(
    response: dns.message.Message, rrset: dns.rrset.RRset, authenticated: bool
) -> list[Answer]:
    """The A and AAAA record sets of the additional section owned by an exchange of ``rrset``."""
    exchanges = {rdata.exchange for rdata in rrset if rdata.exchange != dns.name.root}
    found = []
    for extra in response.additional:
        kind = _ADDRESS_TYPES.get(extra.rdtype)
        if kind is not None and extra.rdclass == _IN and extra.name in exchanges and extra:
            found.append(
                address_answer(host(extra.name), kind, values(extra), extra.ttl, authenticated)
            )
    return found
