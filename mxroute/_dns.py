"""What a resolver is: the questions it takes, the answers it gives, and its protocols.

A resolver answers one question, a name and a record type, with one
:class:`Answer`: records, or NXDOMAIN, NODATA, SERVFAIL, REFUSED or TIMEOUT.
It never raises for a DNS outcome; the planner turns answers into routes and
into the right temporary or permanent error.

Names given to a resolver are absolute, lowercase A-labels without the
trailing dot (``"example.com"``); record types are upper-case mnemonics
(``"MX"``, ``"A"``, ``"AAAA"``).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import attrs
import dns.rdata
import dns.rdatatype

from mxroute._model import MXRecord
from mxroute._names import IPAddress, normalize_host

__all__ = [
    "Answer",
    "AnswerStatus",
    "AnyResolver",
    "AsyncResolver",
    "BatchResolver",
    "Question",
    "RData",
    "Resolver",
    "rdata_value",
]

RData = MXRecord | ipaddress.IPv4Address | ipaddress.IPv6Address | str
"""One record's data: an :class:`~mxroute.MXRecord` for MX, an address for A
and AAAA, and the zone-file text for every other type (a CNAME target is
given without its trailing dot)."""


class Question(NamedTuple):
    """A DNS question: ``Question("example.com", "MX")`` equals ``("example.com", "MX")``."""

    name: str
    """The absolute name, a lowercase A-label without the trailing dot."""
    rdtype: str
    """The record type mnemonic, e.g. ``"MX"``."""


class AnswerStatus(enum.Enum):
    """The outcome of a DNS question."""

    RECORDS = "records"
    """The name has records of the type asked (NOERROR with an answer)."""
    NXDOMAIN = "nxdomain"
    """The name does not exist."""
    NODATA = "nodata"
    """The name exists but has no records of the type asked."""
    SERVFAIL = "servfail"
    """The server failed (SERVFAIL, or an answer that could not be used)."""
    REFUSED = "refused"
    """The server refused to answer."""
    TIMEOUT = "timeout"
    """No answer within the time allowed."""

    @property
    def temporary(self) -> bool:
        """True for SERVFAIL, REFUSED and TIMEOUT: the question may be asked again later."""
        return self in _TEMPORARY


_TEMPORARY = frozenset({AnswerStatus.SERVFAIL, AnswerStatus.REFUSED, AnswerStatus.TIMEOUT})


def _records(values: Iterable[RData]) -> tuple[RData, ...]:
    return tuple(values)


def _names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _answers(values: Iterable[Answer]) -> tuple[Answer, ...]:
    return tuple(values)


@attrs.frozen
class Answer:
    """A resolver's answer to one question.

    Attributes:
        name: The name asked about.
        rdtype: The record type asked about.
        status: The outcome.
        records: The records, when ``status`` is RECORDS (see :data:`RData`).
        ttl: Seconds the answer may be cached: the smallest TTL of the
            records and of the CNAMEs followed; for NXDOMAIN and NODATA the
            negative TTL from the SOA (RFC 2308); None when unknown.
        cnames: The CNAME targets followed from ``name``, in order. The last
            one is the canonical name.
        authenticated: The DNSSEC AD bit was set on the answer.
        additional: Answers for other names carried in the additional section
            (A/AAAA records of MX exchanges), each with status RECORDS.
        detail: For a failure, what happened, for a person to read
            (``"127.0.0.1:53 answered SERVFAIL"``).
    """

    name: str
    rdtype: str
    status: AnswerStatus
    records: tuple[RData, ...] = attrs.field(default=(), converter=_records)
    ttl: int | None = None
    cnames: tuple[str, ...] = attrs.field(default=(), converter=_names)
    authenticated: bool = False
    additional: tuple[Answer, ...] = attrs.field(default=(), converter=_answers)
    detail: str = ""

    @property
    def question(self) -> Question:
        """The question this answers."""
        return Question(self.name, self.rdtype)

    @property
    def canonical_name(self) -> str:
        """The name after following CNAMEs: the last CNAME target, else ``name``."""
        return self.cnames[-1] if self.cnames else self.name

    @property
    def mx_records(self) -> tuple[MXRecord, ...]:
        """The MX records among ``records``."""
        return tuple(r for r in self.records if isinstance(r, MXRecord))

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        """The IP addresses among ``records``."""
        return tuple(
            r for r in self.records if isinstance(r, (ipaddress.IPv4Address, ipaddress.IPv6Address))
        )

    def describe(self) -> str:
        """One line for a trace: ``"example.com MX -> 10 mx1.example.com. (ttl 300)"``."""
        head = f"{self.name} {self.rdtype}"
        chain = "".join(f" -> CNAME {c}" for c in self.cnames)
        if self.status is AnswerStatus.RECORDS:
            body = ", ".join(
                r.to_text() if isinstance(r, MXRecord) else str(r) for r in self.records
            )
        else:
            body = self.status.name + (f" ({self.detail})" if self.detail else "")
        ttl = "" if self.ttl is None else f" (ttl {self.ttl})"
        ad = " [AD]" if self.authenticated else ""
        return f"{head}{chain} -> {body}{ttl}{ad}"


@runtime_checkable
class Resolver(Protocol):
    """A resolver that answers synchronously."""

    def query(self, name: str, rdtype: str) -> Answer:
        """Answer one question. Never raises for a DNS outcome."""
        ...


@runtime_checkable
class AsyncResolver(Protocol):
    """A resolver that answers in :mod:`asyncio`."""

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """Answer one question. Never raises for a DNS outcome."""
        ...


@runtime_checkable
class BatchResolver(Protocol):
    """A synchronous resolver that can answer several questions concurrently.

    The sync driver uses ``query_batch`` when a resolver has it (e.g. with a
    small thread pool), and asks one question after the other otherwise.
    """

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Answer every question; the answers come back in the questions' order."""
        ...


AnyResolver = Resolver | AsyncResolver
"""Anything the drivers accept as a resolver: sync, async, or both."""


def rdata_value(rdata: dns.rdata.Rdata) -> RData:
    """Turn a dnspython rdata into mxroute's :data:`RData`."""
    rdtype = rdata.rdtype
    if rdtype == dns.rdatatype.MX:
        return MXRecord(rdata.preference, rdata.exchange.to_text())  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return ipaddress.ip_address(rdata.address)  # type: ignore[attr-defined]
    if rdtype == dns.rdatatype.CNAME:
        return normalize_host(rdata.target.to_text())  # type: ignore[attr-defined]
    return str(rdata.to_text())
