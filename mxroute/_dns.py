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
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import attrs

from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._model import MXRecord, as_tuple, check_flag, check_ttl
from mxroute._names import IPAddress, normalize_host

if TYPE_CHECKING:
    import dns.rdata

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
        return self._value_ in _TEMPORARY  # by value: a set of members would hash each time


_TEMPORARY = frozenset({"servfail", "refused", "timeout"})


def _records(values: Iterable[RData]) -> tuple[RData, ...]:
    return as_tuple(values, "records")


def _names(values: Iterable[str]) -> tuple[str, ...]:
    cnames = as_tuple(values, "cnames")
    for cname in cnames:
        if not isinstance(cname, str) or not cname:
            raise InvalidInput(
                "invalid-cnames", f"cnames must be names (strings), not {cname!r}", repr(cname)
            )
    return cnames


def _answers(values: Iterable[Answer]) -> tuple[Answer, ...]:
    extra = as_tuple(values, "additional")
    for answer in extra:
        if not isinstance(answer, Answer) or answer.status is not AnswerStatus.RECORDS:
            raise InvalidInput(
                "invalid-additional",
                f"additional holds Answers with status RECORDS, not {answer!r}",
                repr(answer),
            )
    return extra


_RECORD_CLASSES: dict[str, type] = {
    "MX": MXRecord,
    "A": ipaddress.IPv4Address,
    "AAAA": ipaddress.IPv6Address,
}


def _check_text(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    """A string; not empty, except for ``detail``."""
    if not isinstance(value, str) or not (value or attribute.name == "detail"):
        raise InvalidInput(
            f"invalid-{attribute.name}",
            f"{attribute.name} must be a string, not {value!r}",
            repr(value),
        )


def _check_rdtype(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    _check_text(instance, attribute, value)
    if value != str(value).upper():
        raise InvalidInput(
            "invalid-rdtype",
            f"rdtype must be an upper-case type mnemonic such as 'MX', not {value!r}",
            str(value),
        )


def _check_status(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, AnswerStatus):
        raise InvalidInput(
            "invalid-status", f"status must be an AnswerStatus, not {value!r}", repr(value)
        )


def _check_records(
    answer: Answer, _attribute: attrs.Attribute[Any], records: tuple[RData, ...]
) -> None:
    if records and answer.status is not AnswerStatus.RECORDS:
        raise InvalidInput(
            "invalid-records",
            f"a {answer.status.name} answer has no records, not {records!r}",
            repr(records),
        )
    expected = _RECORD_CLASSES.get(answer.rdtype, str)
    for record in records:
        if not isinstance(record, expected):
            raise InvalidInput(
                "invalid-records",
                f"the records of a {answer.rdtype} answer are {expected.__name__} objects, "
                f"not {record!r}",
                repr(record),
            )


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

    Every field is checked where the answer is made, so a hand-made answer
    (a scripted one, a fake's) is as well-formed as one from
    :class:`~mxroute.DNSResolver`: ``records`` only with status RECORDS and
    of the class its type gives (:class:`~mxroute.MXRecord` for MX, an
    :class:`~ipaddress.IPv4Address` for A, an :class:`~ipaddress.IPv6Address`
    for AAAA, a string for every other type), ``rdtype`` upper case, ``ttl``
    a non-negative integer or None, ``authenticated`` a bool, ``additional``
    answers with status RECORDS.

    Raises:
        InvalidInput: A field is wrong; ``.reason`` is ``invalid-`` and the
            field's name (``invalid-records``, ``invalid-ttl``, ...).
    """

    name: str = attrs.field(validator=_check_text)
    rdtype: str = attrs.field(validator=_check_rdtype)
    status: AnswerStatus = attrs.field(validator=_check_status)
    records: tuple[RData, ...] = attrs.field(
        default=(), converter=_records, validator=_check_records
    )
    ttl: int | None = attrs.field(default=None, validator=check_ttl)
    cnames: tuple[str, ...] = attrs.field(default=(), converter=_names)
    authenticated: bool = attrs.field(default=False, validator=check_flag)
    additional: tuple[Answer, ...] = attrs.field(default=(), converter=_answers)
    detail: str = attrs.field(default="", validator=_check_text)

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

    def to_dict(self) -> dict[str, Any]:
        """The answer as plain data, ready for JSON.

        ``records`` are zone-file texts (``"10 mx1.example.com."``,
        ``"192.0.2.1"``), ``status`` is the :class:`AnswerStatus` value
        (``"nxdomain"``, ...), and ``text`` is :meth:`describe`'s line, which
        also carries ``detail``.
        """
        return {
            "name": self.name,
            "rdtype": self.rdtype,
            "status": self.status.value,
            "records": [r.to_text() if isinstance(r, MXRecord) else str(r) for r in self.records],
            "ttl": self.ttl,
            "cnames": list(self.cnames),
            "authenticated": self.authenticated,
            "text": self.describe(),
        }

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


_set = object.__setattr__


def made_answer(
    name: str,
    rdtype: str,
    status: AnswerStatus,
    records: tuple[RData, ...],
    ttl: int | None,
    cnames: tuple[str, ...],
    authenticated: bool,
    additional: tuple[Answer, ...],
    detail: str,
) -> Answer:
    """The :class:`Answer` of these fields, made without checking them again.

    Only for values checked already, as the DNS reader made them (a test
    holds its answers to the public constructor's): the same fields, of the
    types the converters give (tuples), which :class:`Answer` would accept
    unchanged. Every other answer goes through ``Answer(...)`` and its checks.
    """
    answer = object.__new__(Answer)
    _set(answer, "name", name)
    _set(answer, "rdtype", rdtype)
    _set(answer, "status", status)
    _set(answer, "records", records)
    _set(answer, "ttl", ttl)
    _set(answer, "cnames", cnames)
    _set(answer, "authenticated", authenticated)
    _set(answer, "additional", additional)
    _set(answer, "detail", detail)
    return answer


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
    import dns.rdatatype  # loaded already by whoever made the rdata; not by import mxroute

    rdtype = rdata.rdtype
    if rdtype == dns.rdatatype.MX:
        return MXRecord(rdata.preference, rdata.exchange.to_text())  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return ipaddress.ip_address(rdata.address)  # type: ignore[attr-defined]
    if rdtype == dns.rdatatype.CNAME:
        return normalize_host(rdata.target.to_text())  # type: ignore[attr-defined]
    return str(rdata.to_text())


publish(globals())
