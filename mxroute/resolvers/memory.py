"""InMemoryResolver: DNS from a dictionary, the fake to put in tests."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone

from mxroute.errors import InvalidInput
from mxroute.model import MXRecord
from mxroute.names import normalize_host
from mxroute.resolvers.base import Answer, AnswerStatus, Question, RData

__all__ = ["InMemoryResolver"]

_FAILURES = {
    "servfail": AnswerStatus.SERVFAIL,
    "timeout": AnswerStatus.TIMEOUT,
    "refused": AnswerStatus.REFUSED,
    "nxdomain": AnswerStatus.NXDOMAIN,
}
_MAX_CNAMES = 16


def rdata_value(rdata: dns.rdata.Rdata) -> RData:
    """Turn a dnspython rdata into mxroute's :data:`~mxroute.resolvers.base.RData`."""
    rdtype = rdata.rdtype
    if rdtype == dns.rdatatype.MX:
        return MXRecord(rdata.preference, rdata.exchange.to_text())  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return ipaddress.ip_address(rdata.address)  # type: ignore[attr-defined]
    if rdtype == dns.rdatatype.CNAME:
        return normalize_host(rdata.target.to_text())  # type: ignore[attr-defined]
    return str(rdata.to_text())


def _rdtype_text(rdtype: str) -> str:
    try:
        return dns.rdatatype.to_text(dns.rdatatype.from_text(rdtype))
    except (dns.exception.DNSException, ValueError, TypeError):
        raise InvalidInput(
            "invalid-rdtype", f"{rdtype!r} is not a DNS record type", str(rdtype)
        ) from None


def _name(name: str) -> str:
    if not isinstance(name, str) or not name or name == ".":
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name", str(name))
    try:
        dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError) as exc:
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name: {exc}", name) from None
    return normalize_host(name)


class InMemoryResolver:
    """A resolver that answers from records you add: the fake for tests.

    It answers like a recursive resolver configured for minimal responses:
    CNAMEs are followed inside one answer (a loop answers SERVFAIL), a name
    that owns any record or has a descendant exists (NODATA for other types),
    every other name is NXDOMAIN. Negative answers carry the TTL of the
    closest enclosing zone's SOA (RFC 2308), else ``negative_ttl``.

    It implements both :class:`~mxroute.Resolver` and
    :class:`~mxroute.AsyncResolver`, and records every question in
    :attr:`queries`.

    >>> r = InMemoryResolver()
    >>> r.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
    >>> r.query("example.com", "MX").status
    <AnswerStatus.RECORDS: 'records'>
    >>> r.queries == [("example.com", "MX")]
    True

    Args:
        negative_ttl: TTL of NXDOMAIN and NODATA answers when no SOA is known.
        authenticated: Whether answers carry the DNSSEC AD bit.
        glue: Whether MX answers carry the A/AAAA records of their exchanges
            in the additional section, as some authoritative servers send them.
    """

    def __init__(
        self, *, negative_ttl: int = 300, authenticated: bool = False, glue: bool = False
    ) -> None:
        self.negative_ttl = negative_ttl
        self.authenticated = authenticated
        self.glue = glue
        self.queries: list[Question] = []
        """The questions asked, in order, as ``(name, rdtype)`` tuples."""
        self._records: dict[tuple[str, str], list[tuple[RData, int]]] = {}
        self._failures: dict[tuple[str, str | None], AnswerStatus] = {}
        self._names: set[str] = set()
        self._soa: dict[str, int] = {}

    # -- filling -----------------------------------------------------------

    def add(self, name: str, rdtype: str, *rdata_text: str, ttl: int = 3600) -> None:
        """Add records: ``add("example.com", "MX", "10 mx1.example.com.")``.

        Names in the record data are absolute, with or without the final dot.

        Raises:
            InvalidInput: The name, the type or a record's text is not valid
                (``.reason`` is ``invalid-name``, ``invalid-rdtype`` or
                ``invalid-rdata``).
        """
        owner = _name(name)
        kind = _rdtype_text(rdtype)
        if not isinstance(ttl, int) or ttl < 0:
            raise InvalidInput("invalid-ttl", f"ttl must be a non-negative integer, not {ttl!r}")
        parsed = []
        for text in rdata_text:
            try:
                rdata = dns.rdata.from_text(
                    dns.rdataclass.IN, kind, text, origin=dns.name.root, relativize=False
                )
            except (dns.exception.DNSException, ValueError, TypeError) as exc:
                raise InvalidInput(
                    "invalid-rdata", f"invalid {kind} record {text!r} for {owner}: {exc}", text
                ) from None
            parsed.append(rdata)
        self._add_rdatas(owner, kind, parsed, ttl)

    def _add_rdatas(
        self, owner: str, kind: str, rdatas: Iterable[dns.rdata.Rdata], ttl: int
    ) -> None:
        entries = self._records.setdefault((owner, kind), [])
        for rdata in rdatas:
            if kind == "SOA":
                self._soa[owner] = min(ttl, rdata.minimum)  # type: ignore[attr-defined]
            value = rdata_value(rdata)
            if all(v != value for v, _ in entries):
                entries.append((value, ttl))
        labels = owner.split(".")
        for i in range(len(labels)):
            self._names.add(".".join(labels[i:]))

    def load_zone(self, text: str, origin: str | None = None) -> None:
        """Add every record of a zone in BIND zone-file syntax (parsed by dnspython).

        Args:
            text: The zone file's text.
            origin: The zone's origin, unless the text has ``$ORIGIN``.

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-zone"``; the message names
                the line dnspython could not read.
        """
        try:
            zone = dns.zone.from_text(
                text,
                origin=origin,
                relativize=False,
                check_origin=False,
            )
        except (dns.exception.DNSException, ValueError) as exc:
            raise InvalidInput("invalid-zone", f"cannot read the zone: {exc}") from None
        for owner, rdataset in zone.iterate_rdatasets():
            self._add_rdatas(
                normalize_host(owner.to_text()),
                dns.rdatatype.to_text(rdataset.rdtype),
                rdataset,
                rdataset.ttl,
            )

    @classmethod
    def from_zone(cls, text: str, origin: str | None = None) -> InMemoryResolver:
        """A resolver holding one zone in BIND zone-file syntax (see :meth:`load_zone`)."""
        resolver = cls()
        resolver.load_zone(text, origin)
        return resolver

    def fail(self, name: str, rdtype: str | None = None, error: str = "servfail") -> None:
        """Make questions about ``name`` fail: ``"servfail"``, ``"timeout"``,
        ``"refused"`` or ``"nxdomain"``.

        Args:
            name: The name whose questions fail.
            rdtype: Only this type; every type when None.
            error: How they fail.
        """
        status = _FAILURES.get(error)
        if status is None:
            raise InvalidInput(
                "invalid-error",
                f"error must be one of {', '.join(sorted(_FAILURES))}, not {error!r}",
                str(error),
            )
        kind = None if rdtype is None else _rdtype_text(rdtype)
        self._failures[(_name(name), kind)] = status

    def clear(self) -> None:
        """Forget every record, failure and recorded question."""
        self._records.clear()
        self._failures.clear()
        self._names.clear()
        self._soa.clear()
        self.queries.clear()

    # -- answering ---------------------------------------------------------

    def query(self, name: str, rdtype: str) -> Answer:
        """Answer one question from the records (see the class documentation)."""
        name, rdtype = normalize_host(name), rdtype.upper()
        self.queries.append(Question(name, rdtype))
        return self._resolve(name, rdtype)

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """The same as :meth:`query`, for the async driver."""
        return self.query(name, rdtype)

    def _resolve(self, name: str, rdtype: str) -> Answer:
        cnames: list[str] = []
        ttls: list[int] = []
        current = name
        ad = self.authenticated
        for _ in range(_MAX_CNAMES + 1):
            failure = self._failures.get((current, rdtype)) or self._failures.get((current, None))
            if failure is not None:
                return Answer(
                    name,
                    rdtype,
                    failure,
                    cnames=cnames,
                    ttl=self._negative_ttl(current, ttls)
                    if failure is AnswerStatus.NXDOMAIN
                    else None,
                    authenticated=ad and failure is AnswerStatus.NXDOMAIN,
                    detail=f"injected {failure.name} for {current} {rdtype}",
                )
            entries = self._records.get((current, rdtype))
            if entries:
                return Answer(
                    name,
                    rdtype,
                    AnswerStatus.RECORDS,
                    records=[value for value, _ in entries],
                    ttl=min([*ttls, *(ttl for _, ttl in entries)]),
                    cnames=cnames,
                    authenticated=ad,
                    additional=self._glue(entries) if rdtype == "MX" and self.glue else (),
                )
            alias = self._records.get((current, "CNAME")) if rdtype != "CNAME" else None
            if alias:
                target, ttl = alias[0]
                assert isinstance(target, str)
                if target == name or target in cnames:
                    return Answer(
                        name,
                        rdtype,
                        AnswerStatus.SERVFAIL,
                        cnames=cnames,
                        detail=f"CNAME loop at {target}",
                    )
                cnames.append(target)
                ttls.append(ttl)
                current = target
                continue
            status = AnswerStatus.NODATA if current in self._names else AnswerStatus.NXDOMAIN
            return Answer(
                name,
                rdtype,
                status,
                ttl=self._negative_ttl(current, ttls),
                cnames=cnames,
                authenticated=ad,
            )
        return Answer(
            name,
            rdtype,
            AnswerStatus.SERVFAIL,
            cnames=cnames,
            detail=f"more than {_MAX_CNAMES} CNAMEs in a chain",
        )

    def _negative_ttl(self, name: str, ttls: list[int]) -> int:
        labels = name.split(".")
        negative = self.negative_ttl
        for i in range(len(labels)):
            soa = self._soa.get(".".join(labels[i:]))
            if soa is not None:
                negative = soa
                break
        return min([*ttls, negative])

    def _glue(self, entries: list[tuple[RData, int]]) -> list[Answer]:
        out = []
        for value, _ in entries:
            if not isinstance(value, MXRecord) or value.is_null:
                continue
            for kind in ("A", "AAAA"):
                records = self._records.get((value.exchange, kind))
                if records:
                    out.append(
                        Answer(
                            value.exchange,
                            kind,
                            AnswerStatus.RECORDS,
                            records=[v for v, _ in records],
                            ttl=min(t for _, t in records),
                            authenticated=self.authenticated,
                        )
                    )
        return out
