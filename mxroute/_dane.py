"""DANE for SMTP (RFC 7672 §2): which TLS each host of a route requires, from its TLSA records.

Pure, like the planner: :func:`apply_dane` takes the answers of the address
batch (where the planner also asked each host's TLSA question) and decides
every host's :class:`~mxroute.TLSRequirement`; it only yields a batch of its
own in the rare case of a host name that is a secure CNAME (RFC 7672 §2.2.2).

The decisions, each with the finding code that becomes ``host.tls.reason``:

* the MX answer is not authenticated: ``OPPORTUNISTIC``, ``dane-mx-insecure``
  (no TLSA question is asked);
* the host's address answers are not all authenticated: ``OPPORTUNISTIC``,
  ``dane-host-insecure`` (``tlsa-insecure`` when it has TLSA records anyway);
* its TLSA answer is not authenticated: ``OPPORTUNISTIC``, ``tlsa-insecure``;
* a secure NXDOMAIN or NODATA for its TLSA name: ``OPPORTUNISTIC``, ``dane-no-tlsa``;
* secure TLSA records, one usable (usage 2 or 3): ``DANE``, ``dane-usable``;
* secure TLSA records, none usable: ``ENCRYPT``, ``tlsa-unusable``;
* the TLSA lookup failed (SERVFAIL, timeout, REFUSED; a bogus answer is a
  SERVFAIL): the host is dropped, ``tlsa-lookup-failed``.

Hosts at ``OPPORTUNISTIC`` are left for MTA-STS (RFC 8461 §2: DANE first).
A host whose TLSA lookup failed is never downgraded (§2.1.1): it is dropped
from the route for now, and when every host is dropped the route is a
:class:`~mxroute.TemporaryRouteError`.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Protocol

import attrs

from mxroute._dns import Answer, AnswerStatus, Question
from mxroute._errors import InvalidInput, TemporaryRouteError
from mxroute._findings import Finding, make_finding
from mxroute._model import MailHost
from mxroute._tls import TLSARecord, TLSLevel, TLSRequirement

__all__ = ["DaneGate", "Notes", "apply_dane", "tlsa_name"]


class Notes(Protocol):
    """Where the decisions go: the planner's record of answers used and findings."""

    findings: list[Finding]

    def use(self, answer: Answer) -> None:
        """Count an answer as used by the route (its TTL, its AD bit)."""

    def add(self, finding: Finding) -> None:
        """Add a finding (once)."""


def tlsa_name(host: str, port: int) -> str:
    """The TLSA owner name of a host's SMTP service: ``_25._tcp.mx.example.com``."""
    return f"_{port}._tcp.{host}"


@attrs.frozen
class DaneGate:
    """DANE asked for one route.

    Attributes:
        domain: The domain routed (for messages and errors).
        mx_secure: Whether TLSA is looked up at all: the MX answer was
            authenticated (or there is no MX answer to judge: an implicit MX,
            a ``[relay]``, whose own address answers must then be
            authenticated).
    """

    domain: str
    mx_secure: bool

    def question(self, host: str, port: int) -> Question | None:
        """The TLSA question to ask beside the host's A/AAAA, or None."""
        return Question(tlsa_name(host, port), "TLSA") if self.mx_secure else None


def apply_dane(
    gate: DaneGate,
    hosts: Sequence[MailHost],
    answers: Mapping[Question, Answer],
    rdtypes: Sequence[str],
    notes: Notes,
) -> Generator[tuple[Question, ...], Sequence[Answer], list[MailHost]]:
    """Decide each host's TLS requirement by RFC 7672 §2; drop hosts whose TLSA lookup failed.

    Args:
        gate: The route's DANE gate.
        hosts: The usable hosts, in attempt order.
        answers: Every answer of the address batch, by question: each host's
            A/AAAA (of ``rdtypes``) and, when the gate is open, its TLSA.
        rdtypes: The address record types asked (``"A"``, ``"AAAA"``).
        notes: Receives the answers used and the findings.

    Returns:
        The hosts kept, in the same order, each with its ``tls``. May yield
        one batch first: the TLSA questions of CNAME-expanded host names.

    Raises:
        TemporaryRouteError: Every host was dropped because its TLSA lookup failed.
    """
    if not gate.mx_secure:
        if hosts:
            notes.add(
                make_finding(
                    "dane-mx-insecure",
                    gate.domain,
                    f"the MX answer for {gate.domain} is not DNSSEC-authenticated: "
                    "DANE does not apply to its hosts",
                )
            )
        return [_with(host, TLSLevel.OPPORTUNISTIC, "dane-mx-insecure") for host in hosts]
    secure: dict[str, str | None] = {}  # host -> its CNAME-expanded name (None: not a CNAME)
    later: list[Question] = []
    for host in hosts:
        tlsa = answers.get(Question(tlsa_name(host.name, host.port), "TLSA"))
        if tlsa is None:  # not asked: an IP-literal exchange
            continue
        found = [answers[Question(host.name, rdtype)] for rdtype in rdtypes]
        if not _secure_addresses(found):
            continue
        expanded = next((a.canonical_name for a in found if a.records and a.cnames), None)
        secure[host.name] = expanded
        question = Question(tlsa_name(str(expanded), host.port), "TLSA")
        if expanded not in (None, host.name) and question not in answers:
            later.append(question)
    extra = dict(answers)
    if later:  # RFC 7672 §2.2.2: the expanded name's TLSA first (one more round trip)
        later = list(dict.fromkeys(later))
        extra.update(zip(later, (yield tuple(later)), strict=True))

    kept: list[MailHost] = []
    failed: list[str] = []
    for host in hosts:
        question = Question(tlsa_name(host.name, host.port), "TLSA")
        tlsa = answers.get(question)
        if tlsa is None:
            kept.append(host)
            continue
        if host.name not in secure:
            kept.append(_insecure_host(host, tlsa, notes))
            continue
        expanded = secure[host.name]
        names = (host.name,) if expanded in (None, host.name) else (host.name, str(expanded))
        chosen = tlsa
        if len(names) == 2:
            first = extra[Question(tlsa_name(names[1], host.port), "TLSA")]
            signed = first.status is AnswerStatus.RECORDS and first.authenticated
            if signed or first.status.temporary:
                chosen = first
            else:  # no secure TLSA at the expanded name: the initial name's
                notes.use(first)
        decided = _decide(host, chosen, names, notes)
        if decided is None:
            failed.append(f"{host.name} ({_status(chosen)})")
        else:
            kept.append(decided)
    if hosts and not kept:
        raise TemporaryRouteError(
            gate.domain,
            f"no mail host of {gate.domain} can be used now: the DANE TLSA lookups failed "
            f"({', '.join(failed)}), and a host with DNSSEC-signed addresses is never used "
            "without its TLSA records (RFC 7672 §2.1.1); keep the message queued and retry later",
            notes.findings,
        )
    return kept


def _secure_addresses(found: Sequence[Answer]) -> bool:
    """The host's address answers are DNSSEC-authenticated (failed lookups aside)."""
    usable = [a for a in found if not a.status.temporary]
    return any(a.status is AnswerStatus.RECORDS for a in usable) and all(
        a.authenticated for a in usable
    )


def _with(
    host: MailHost,
    level: TLSLevel,
    reason: str,
    tlsa: tuple[TLSARecord, ...] = (),
    names: tuple[str, ...] = (),
) -> MailHost:
    return attrs.evolve(host, tls=TLSRequirement(level, tlsa, names, reason))


def _insecure_host(host: MailHost, tlsa: Answer, notes: Notes) -> MailHost:
    if tlsa.status is AnswerStatus.RECORDS:
        notes.add(
            make_finding(
                "tlsa-insecure",
                host.name,
                f"{host.name} publishes TLSA records ({tlsa.name}) but its address records "
                "are not DNSSEC-authenticated: the TLSA records are ignored",
            )
        )
        return _with(host, TLSLevel.OPPORTUNISTIC, "tlsa-insecure")
    notes.add(
        make_finding(
            "dane-host-insecure",
            host.name,
            f"the address records of {host.name} are not DNSSEC-authenticated: "
            "DANE does not apply to it",
        )
    )
    return _with(host, TLSLevel.OPPORTUNISTIC, "dane-host-insecure")


def _decide(host: MailHost, tlsa: Answer, names: tuple[str, ...], notes: Notes) -> MailHost | None:
    """One secure host and its TLSA answer: the host with its ``tls``, or None to drop it."""
    notes.use(tlsa)
    if tlsa.status.temporary:
        notes.add(
            make_finding(
                "tlsa-lookup-failed",
                host.name,
                f"the TLSA lookup {tlsa.name} failed ({_status(tlsa)}): {host.name} is "
                "skipped until it answers (RFC 7672 §2.1.1: never without its TLSA records)",
            )
        )
        return None
    if tlsa.status is not AnswerStatus.RECORDS:
        notes.add(
            make_finding(
                "dane-no-tlsa",
                host.name,
                f"{host.name} has DNSSEC-signed addresses and no TLSA records: no DANE for it",
            )
        )
        return _with(host, TLSLevel.OPPORTUNISTIC, "dane-no-tlsa")
    if not tlsa.authenticated:
        notes.add(
            make_finding(
                "tlsa-insecure",
                host.name,
                f"the TLSA records {tlsa.name} are not DNSSEC-authenticated: they are ignored",
            )
        )
        return _with(host, TLSLevel.OPPORTUNISTIC, "tlsa-insecure")
    records = _records(tlsa)
    usable = tuple(r for r in records if r.usable)
    if usable:
        notes.add(
            make_finding(
                "dane-usable",
                host.name,
                f"{host.name} has {len(usable)} usable TLSA record(s) ({tlsa.name}): "
                "TLS with DANE authentication is required",
            )
        )
        return _with(host, TLSLevel.DANE, "dane-usable", tlsa=usable, names=names)
    notes.add(
        make_finding(
            "tlsa-unusable",
            host.name,
            f"{host.name} has DNSSEC-signed TLSA records ({tlsa.name}) but none is usable "
            "for SMTP (usage 2 or 3, known selector and matching type): TLS is required, "
            "without authentication",
        )
    )
    return _with(host, TLSLevel.ENCRYPT, "tlsa-unusable", tlsa=records, names=names)


def _records(tlsa: Answer) -> tuple[TLSARecord, ...]:
    """The TLSA records of an answer; a record that does not parse is left out (unusable)."""
    out: list[TLSARecord] = []
    for text in tlsa.records:
        try:
            out.append(TLSARecord.parse(str(text)))
        except InvalidInput:
            continue
    return tuple(out)


def _status(answer: Answer) -> str:
    text = answer.status.name
    return f"{text}: {answer.detail}" if answer.detail else text
