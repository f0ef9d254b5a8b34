"""The audit: what is wrong with a domain's mail setup, and how to fix it.

:func:`audit` routes the domain with the planner (so the RFC 5321 logic is
the routing logic, never a second copy of it), keeps the planner's findings,
then looks at every MX host itself: the A and AAAA records of each one, their
TTLs, the networks and address families they cover. Each problem becomes a
:class:`~mxroute.Finding` from the catalogue in :mod:`mxroute._findings`, and
the findings come back most severe first in an :class:`AuditReport`.

Like the planner, the audit is written once, as a generator of batches of
DNS questions; :func:`audit` and :func:`audit_async` only drive it. A
question the planner already asked is never asked again: the audit judges
the very answers the route was built from.

What the audit adds to the planner's findings:

* the routing failure itself, as a finding: ``domain-not-found``,
  ``null-mx`` (info: the domain says it takes no mail), ``no-usable-mail-host``,
  ``mail-loop``, ``lookup-temporary-failure``;
* ``mx-target-cname``, ``mx-target-unresolvable`` for every MX host, including
  those the route did not need;
* ``mx-address-non-global``: an address not reachable from the Internet
  (the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
  and 2001:db8::/32 are accepted, so examples audit clean);
* ``mx-hosts-same-network``: two or more hosts, all in one IPv4 /24 and one
  IPv6 /48;
* ``mx-ipv4-only`` and ``mx-ipv6-only``: the address families of the host set;
* ``ttl-too-low`` (below :data:`MIN_TTL`) and ``ttl-too-high`` (above
  :data:`MAX_TTL`) for the MX record set and each host's address records;
* ``backup-mx-other-provider``, ``backup-mx-fewer-families`` and
  ``backup-mx-single-address``: a backup MX host weaker than the primary
  (:func:`compare_backup`);
* ``null-mx-spf-allows-senders`` and ``implicit-mx-spf-no-mail``: the
  domain's SPF record, asked only for a null MX or no MX at all;
* with ``authoritative=True``, the findings of :mod:`mxroute._authoritative`
  (every name server asked directly).

The relayhost and transport map of the policy are ignored: the audit judges
what the domain publishes, not where this host would send its mail. The
policy's address scope, local names and addresses, and limits apply.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mxroute import _authoritative as authoritative_check
from mxroute import _errors as errors
from mxroute._bulk import DEFAULT_CONCURRENCY
from mxroute._dane import tlsa_name
from mxroute._dns import Answer, AnswerStatus, AnyResolver, Question
from mxroute._errors import InvalidDomain, MailRouteError
from mxroute._exports import publish
from mxroute._findings import Finding, Severity, make_finding
from mxroute._model import MailRoute
from mxroute._mtasts import PolicyAnswer, dns_answers, sts_records
from mxroute._names import IPAddress, TargetKind, format_address, parse_ip, parse_target
from mxroute._planner import Batch, examine_host, plan_route
from mxroute._policy import AddressScope, RoutingPolicy, address_allowed
from mxroute._router import Router, run_plan, run_plan_async, under_asyncio
from mxroute._tls import TLSLevel, join_txt
from mxroute._validate import check_mx_records

if TYPE_CHECKING:
    from collections.abc import (
        AsyncIterable,
        AsyncIterator,
        Awaitable,
        Callable,
        Iterable,
        Iterator,
    )

    from mxroute._authoritative import ServerQuery
    from mxroute._errors import MXRouteError
    from mxroute._mtasts import PolicyCache
    from mxroute._stsfetch import AsyncPolicyFetcher, PolicyFetcher

__all__ = [
    "MAX_TTL",
    "MIN_TTL",
    "AuditReport",
    "HostView",
    "audit",
    "audit_async",
    "audit_many",
    "audit_many_async",
    "compare_backup",
    "spf_record",
]

MIN_TTL = 300
"""TTLs below this many seconds get ``ttl-too-low``.

Below five minutes, nearly every delivery has to ask the domain's name
servers again, so a short outage of those servers stops mail.
"""

MAX_TTL = 7 * 24 * 3600
"""TTLs above this many seconds (one week) get ``ttl-too-high``.

A change (a new MX host, a moved address) would take more than a week to
reach every sender; common resolvers also cap TTLs at a day or a week.
"""

_ROUTE_ERROR_CODES: dict[type[MailRouteError], str] = {
    errors.NoSuchDomain: "domain-not-found",
    errors.NullMX: "null-mx",
    errors.NoMailHosts: "no-usable-mail-host",
    errors.MailLoop: "mail-loop",
    errors.TemporaryRouteError: "lookup-temporary-failure",
}


def _findings(values: Sequence[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(values, key=lambda f: f.severity.rank))


@attrs.frozen
class AuditReport:
    """What the audit of one domain found.

    Attributes:
        domain: The domain audited (A-label).
        route: The route the domain has, or None when routing failed.
        error: The routing failure, or None when a route was found.
        findings: Everything noticed, most severe first (errors, warnings,
            information; in the order found within one severity).
    """

    domain: str
    route: MailRoute | None
    error: MailRouteError | None
    findings: tuple[Finding, ...] = attrs.field(converter=_findings)

    @property
    def worst(self) -> Severity | None:
        """The most severe finding's severity, or None when nothing was found."""
        return self.findings[0].severity if self.findings else None

    @property
    def complete(self) -> bool:
        """False when a lookup failed temporarily, so some checks could not be made."""
        return not any(
            f.code
            in ("lookup-temporary-failure", "mx-target-temporary-failure", "ns-lookup-failed")
            for f in self.findings
        )

    @property
    def ok(self) -> bool:
        """True when the audit completed and found no error-severity finding.

        A domain with a null MX is ok: it states, correctly, that it takes no mail.
        """
        return self.complete and self.worst is not Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, ready for JSON."""
        return {
            "domain": self.domain,
            "ok": self.ok,
            "complete": self.complete,
            "worst": None if self.worst is None else self.worst.value,
            "route": None if self.route is None else self.route.to_dict(),
            "error": None if self.error is None else self.error.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
        }


AuditPlan = Generator[Batch, Sequence[Answer | PolicyAnswer], AuditReport]


def audit(
    domain: str,
    resolver: AnyResolver | None = None,
    policy: RoutingPolicy | None = None,
    *,
    rng: random.Random | None = None,
    authoritative: bool = False,
    ns_port: int = authoritative_check.DEFAULT_PORT,
    ns_deadline: float = authoritative_check.DEFAULT_DEADLINE,
    ns_query: ServerQuery | None = None,
    policy_fetcher: PolicyFetcher | AsyncPolicyFetcher | None = None,
    policy_cache: PolicyCache | None = None,
) -> AuditReport:
    """Audit a domain's mail setup.

    >>> from mxroute import InMemoryResolver, audit
    >>> fake = InMemoryResolver()
    >>> fake.add("example.com", "MX", "10 mx.example.com.")
    >>> fake.add("mx.example.com", "A", "192.0.2.25")
    >>> [f.code for f in audit("example.com", fake).findings]
    ['single-mx', 'mx-ipv4-only']

    Args:
        domain: A domain, or a mailbox address (its domain is audited).
        resolver: Where answers come from; the system's DNS when None.
        policy: The routing policy (its relayhost and transport map are
            ignored); the default when None.
        rng: The random source that orders the reported route's hosts of
            equal preference.
        authoritative: Also ask every authoritative name server of the
            domain directly and compare their answers (see :doc:`/audit`).
        ns_port: The port the name servers are asked on (53; a knob for
            tests and unusual setups).
        ns_deadline: Seconds the authoritative check may take in all.
        ns_query: What asks the name servers; real DNS when None (tests give
            a fake).
        policy_fetcher: With ``RoutingPolicy(mta_sts=True)``, fetches the
            MTA-STS policy (as for :class:`~mxroute.Router`).
        policy_cache: Where MTA-STS policies are kept (as for
            :class:`~mxroute.Router`).

    Returns:
        The report. Routing failures are in it (``error`` and a finding),
        not raised.

    Raises:
        InvalidDomain: The domain is not usable, or is an address literal
            (``.reason`` ``"address-literal"``: a literal has no DNS to audit).
        InvalidAddress: The mailbox address is malformed.
        InvalidInput: An ``ns_`` argument or ``authoritative`` is wrong.
        TypeError: The resolver has no synchronous ``query``.
    """
    router = Router(resolver, policy, rng, policy_fetcher=policy_fetcher, policy_cache=policy_cache)
    probe = authoritative_check.probe(authoritative, ns_port, ns_deadline, ns_query)
    report = run_plan(
        _plan(domain, router), router.resolver, "audit_async()", policies=router.policies
    )
    if probe is None:
        return report
    found = authoritative_check.check(report.domain, router.resolver, router.policy, probe)
    return _with(report, found)


async def audit_async(
    domain: str,
    resolver: AnyResolver | None = None,
    policy: RoutingPolicy | None = None,
    *,
    rng: random.Random | None = None,
    authoritative: bool = False,
    ns_port: int = authoritative_check.DEFAULT_PORT,
    ns_deadline: float = authoritative_check.DEFAULT_DEADLINE,
    ns_query: ServerQuery | None = None,
    policy_fetcher: PolicyFetcher | AsyncPolicyFetcher | None = None,
    policy_cache: PolicyCache | None = None,
) -> AuditReport:
    """Audit a domain's mail setup in asyncio; each batch of questions is asked concurrently.

    Takes, returns and raises as :func:`audit`.
    """
    router = Router(resolver, policy, rng, policy_fetcher=policy_fetcher, policy_cache=policy_cache)
    probe = authoritative_check.probe(authoritative, ns_port, ns_deadline, ns_query)
    report = await run_plan_async(
        _plan(domain, router), router.resolver, "audit_async()", policies=router.policies
    )
    if probe is None:
        return report
    found = await authoritative_check.check_async(
        report.domain, router.resolver, router.policy, probe
    )
    return _with(report, found)


def _with(report: AuditReport, found: Sequence[Finding]) -> AuditReport:
    """The report with the authoritative check's findings added."""
    return attrs.evolve(report, findings=(*report.findings, *found))


def _plan(domain: str, router: Router) -> AuditPlan:
    """Parse at once (bad input raises before any question), then audit."""
    target = parse_target(domain)
    if target.kind is TargetKind.LITERAL:
        raise InvalidDomain(
            "address-literal",
            f"{target.domain} is an address literal: it has no DNS setup to audit",
            domain,
        )
    policy = attrs.evolve(router.policy, relayhost=None, transport_map={})
    return _audit(target.domain, policy, router.rng)


@attrs.define
class _Notes:
    """The findings so far, without repeating a (code, subject) pair."""

    findings: list[Finding] = attrs.Factory(list)

    def has(self, code: str, subject: str) -> bool:
        return any(f.code == code and f.subject == subject for f in self.findings)

    def add(self, finding: Finding) -> None:
        if not self.has(finding.code, finding.subject):
            self.findings.append(finding)

    def note(self, code: str, subject: str, message: str | None = None) -> None:
        self.add(make_finding(code, subject, message))


def _audit(domain: str, policy: RoutingPolicy, rng: random.Random) -> AuditPlan:
    seen: dict[Question, Answer] = {}
    route: MailRoute | None = None
    error: MailRouteError | None = None
    plan = plan_route(domain, policy, rng)
    try:  # the route, exactly as the router builds it; keep every answer
        batch = next(plan)
        while True:
            answers = yield batch
            seen.update(
                (q, a)
                for q, a in zip(batch, answers, strict=True)
                if isinstance(q, Question) and isinstance(a, Answer)
            )
            batch = plan.send(answers)
    except StopIteration as done:
        route = done.value
    except MailRouteError as exc:
        error = exc

    notes = _Notes()
    for finding in route.findings if route is not None else error.findings if error else ():
        notes.add(finding)
    if error is not None:
        notes.note(_ROUTE_ERROR_CODES.get(type(error), "no-usable-mail-host"), domain, str(error))

    mx = seen.get(Question(domain, "MX"))
    if mx is None:  # the planner always asks it; kept for safety
        (mx,) = dns_answers((yield (Question(domain, "MX"),)))
    if not mx.status.temporary:  # else the route failed for it: noted above
        _check_answer(mx, notes)
    if mx.status is not AnswerStatus.RECORDS and mx.status is not AnswerStatus.NODATA:
        return AuditReport(domain, route, error, notes.findings)

    canonical = mx.canonical_name
    implicit = not mx.mx_records
    if not implicit:  # the validators' static checks (mx-target-invalid-name, ...)
        for finding in check_mx_records(
            mx.mx_records, domain=canonical, max_hosts=policy.max_hosts
        ):
            if finding.code != "null-mx":  # the NullMX route error says it
                notes.add(finding)
    names = [canonical] if implicit else _exchanges(mx, policy)
    questions = [Question(n, t) for n in names for t in ("A", "AAAA")]
    null = isinstance(error, errors.NullMX)
    spf = Question(canonical, "TXT") if implicit or null else None
    if spf is not None:  # joins the address batch: no extra round trip
        questions.append(spf)
    missing = tuple(q for q in questions if q not in seen)
    if missing:
        answers = dns_answers((yield missing))
        seen.update(zip(missing, answers, strict=True))

    usable: dict[str, list[IPAddress]] = {}
    for name in names:
        a, aaaa = seen[Question(name, "A")], seen[Question(name, "AAAA")]
        found = _check_host(name, a, aaaa, notes, implicit=implicit)
        addresses = _judge_addresses(name, found, notes, implicit=implicit)
        if addresses:
            usable[name] = addresses
    _check_host_set(canonical, usable, notes)
    yield from _check_dane(names, policy, seen, notes)
    if not implicit:
        _check_backups(mx, usable, route, notes)
    if spf is not None:
        _check_spf(canonical, seen[spf], notes, null=null)
    if policy.mta_sts:
        _check_mta_sts(domain, names, seen, route, notes)
    return AuditReport(domain, route, error, notes.findings)


def _check_dane(
    names: Sequence[str],
    policy: RoutingPolicy,
    seen: dict[Question, Answer],
    notes: _Notes,
) -> Generator[Batch, Sequence[Answer], None]:
    """With ``policy.dane``: what routing cannot see (it asks no TLSA over an unsigned MX set).

    TLSA records that routing ignored for lack of DNSSEC (``tlsa-insecure``),
    (A backup MX host weaker than the primary is :func:`compare_backup`'s.)
    """
    if not policy.dane:
        return
    questions = [Question(tlsa_name(name, 25), "TLSA") for name in names]
    missing = tuple(q for q in questions if q not in seen)
    if missing:
        seen.update(zip(missing, (yield missing), strict=True))
    for name, question in zip(names, questions, strict=True):
        if question in missing and seen[question].status is AnswerStatus.RECORDS:
            notes.note(
                "tlsa-insecure",
                name,
                f"{name} publishes TLSA records ({question.name}) but the MX records are "
                "not DNSSEC-authenticated: senders ignore them",
            )


def _check_mta_sts(
    domain: str,
    names: Sequence[str],
    seen: dict[Question, Answer],
    route: MailRoute | None,
    notes: _Notes,
) -> None:
    """MTA-STS for operators: ``mta-sts-absent``, and every MX host the policy misses.

    The route's own MTA-STS findings (record, fetch, id, mode) are already in
    ``notes``; this adds the hosts the route did not use.
    """
    txt = seen.get(Question(f"_mta-sts.{domain}", "TXT"))
    if txt is not None and not txt.status.temporary and not sts_records(txt):
        notes.note("mta-sts-absent", domain)
    applied = route.mta_sts if route is not None else None
    if applied is None:
        return
    for name in names:
        if not applied.matches(name):
            notes.note(
                "mta-sts-mx-not-covered",
                name,
                f"the MX host {name} is not covered by the MTA-STS policy of {domain} "
                f"(mx {', '.join(applied.mx)})",
            )


def _exchanges(mx: Answer, policy: RoutingPolicy) -> list[str]:
    """The MX hosts to look at: by preference, once each, no IP literals, capped."""
    names: list[str] = []
    for record in sorted(mx.mx_records):
        if record.is_null or record.exchange in names or parse_ip(record.exchange):
            continue
        names.append(record.exchange)
    return names[: policy.max_hosts]


def _check_answer(answer: Answer, notes: _Notes) -> None:
    subject = f"{answer.name} {answer.rdtype}"
    if answer.status.temporary:
        notes.note(
            "lookup-temporary-failure",
            subject,
            f"the {answer.rdtype} lookup for {answer.name} failed temporarily "
            f"({answer.status.name}{': ' + answer.detail if answer.detail else ''}); "
            "it could not be checked",
        )
    if answer.status is not AnswerStatus.RECORDS or answer.ttl is None:
        return
    if answer.ttl < MIN_TTL:
        notes.note(
            "ttl-too-low",
            subject,
            f"{subject} has a TTL of {answer.ttl} seconds, below {MIN_TTL}",
        )
    elif answer.ttl > MAX_TTL:
        notes.note(
            "ttl-too-high",
            subject,
            f"{subject} has a TTL of {answer.ttl} seconds, above {MAX_TTL} (one week)",
        )


_EVERY_ADDRESS = RoutingPolicy(address_families=["ipv4", "ipv6"], address_scope="any")
"""The host rules as the audit applies them: both families, every address (it judges them)."""


def _check_host(
    name: str, a: Answer, aaaa: Answer, notes: _Notes, *, implicit: bool
) -> list[IPAddress]:
    """One host's A and AAAA answers: the planner's host rules, then failures and TTLs."""
    exam = examine_host(name, [a, aaaa], _EVERY_ADDRESS)
    for finding in exam.findings:
        if finding.code == "mx-target-temporary-failure":
            continue  # said per answer below, as lookup-temporary-failure
        if finding.code != "mx-target-cname" or not implicit:
            notes.add(finding)
    for answer in (a, aaaa):
        if answer.status.temporary and notes.has("mx-target-temporary-failure", name):
            continue  # the planner said so already, for routing
        _check_answer(answer, notes)
    return list(exam.addresses)


def _judge_addresses(
    name: str, addresses: list[IPAddress], notes: _Notes, *, implicit: bool
) -> list[IPAddress]:
    """Flag addresses unreachable from the Internet; return the reachable ones."""
    reachable: list[IPAddress] = []
    for address in addresses:
        if _reachable(address):
            reachable.append(address)
            continue
        text = format_address(address)
        subject = f"{name} {text}"
        if not notes.has("address-out-of-scope", subject):
            host = "the domain" if implicit else "the mail host"
            notes.note(
                "mx-address-non-global",
                subject,
                f"{host} {name} has the address {text}, which is not reachable from the Internet",
            )
    return reachable


def _reachable(address: IPAddress) -> bool:
    """Reachable from the Internet: the global scope, or a documentation range."""
    return address_allowed(address, AddressScope.GLOBAL, documentation=True)


def _check_host_set(domain: str, usable: dict[str, list[IPAddress]], notes: _Notes) -> None:
    """The hosts as a whole: address families and shared networks."""
    everything = [a for addresses in usable.values() for a in addresses]
    if not everything:
        return
    has4 = any(a.version == 4 for a in everything)
    has6 = any(a.version == 6 for a in everything)
    hosts = "the mail host" if len(usable) == 1 else f"the {len(usable)} mail hosts"
    have = "has" if len(usable) == 1 else "have"
    if has4 and not has6:
        notes.note("mx-ipv4-only", domain, f"{hosts} of {domain} {have} IPv4 addresses only")
    if has6 and not has4:
        notes.note("mx-ipv6-only", domain, f"{hosts} of {domain} {have} IPv6 addresses only")
    if len(usable) < 2:
        return
    # One network: the hosts share a /24 or /48, and no host has an address elsewhere.
    per_host = [{_network(a) for a in addresses} for addresses in usable.values()]
    shared = set.intersection(*per_host)
    every = set.union(*per_host)
    if shared and shared == every:
        where = " and ".join(str(n) for n in sorted(shared, key=lambda n: n.version))
        notes.note(
            "mx-hosts-same-network",
            domain,
            f"all {len(usable)} mail hosts of {domain} are in {where}",
        )


@attrs.frozen
class HostView:
    """One MX host as the backup comparison sees it.

    Attributes:
        name: The host name.
        preference: Its MX preference (its lowest, when listed several times).
        addresses: Its usable addresses.
        tls: The TLS level routing gave it, or None when it is not in the
            route (routing failed, or dropped the host).
    """

    name: str
    preference: int
    addresses: tuple[IPAddress, ...]
    tls: TLSLevel | None = None

    @property
    def provider(self) -> str:
        """The last two labels of the name: the heuristic "provider" of the host."""
        return ".".join(self.name.split(".")[-2:])

    @property
    def families(self) -> frozenset[int]:
        """The IP versions of its addresses."""
        return frozenset(a.version for a in self.addresses)


def compare_backup(primary: Sequence[HostView], backup: HostView) -> list[Finding]:
    """How a backup MX host is weaker than the primary hosts (the most preferred ones).

    A backup is weaker when it lacks what *every* primary host has: a
    provider (the last two labels of the host name) among the primary
    hosts', an address family that every primary host has, or a second
    address (when every primary host has several and the families match), or
    a TLS level (DANE, MTA-STS) as strong as every primary host's.

    The one place where a backup is compared with the primary.
    """
    found: list[Finding] = []
    providers = sorted({p.provider for p in primary})
    primaries = ", ".join(p.name for p in primary)
    if backup.provider not in providers:
        found.append(
            make_finding(
                "backup-mx-other-provider",
                backup.name,
                f"the backup MX host {backup.name} (preference {backup.preference}) is under "
                f"{backup.provider}, the primary ({primaries}) under {', '.join(providers)}",
            )
        )
    families = frozenset.intersection(*(p.families for p in primary))
    if backup.families < families:
        missing = " and ".join(f"IPv{v}" for v in sorted(families - backup.families))
        found.append(
            make_finding(
                "backup-mx-fewer-families",
                backup.name,
                f"the backup MX host {backup.name} has no {missing} address; "
                f"every primary host ({primaries}) has",
            )
        )
    ranked = [p.tls for p in primary if p.tls is not None]
    weakest = min(ranked, key=lambda level: level.rank) if len(ranked) == len(primary) else None
    if backup.tls is not None and weakest is not None and backup.tls.rank < weakest.rank:
        found.append(
            make_finding(
                "backup-mx-weaker-tls",
                backup.name,
                f"the backup MX host {backup.name} (preference {backup.preference}) requires "
                f"TLS level {backup.tls.value}; every primary host ({primaries}) requires "
                f"{weakest.value} or stronger",
            )
        )
    fewest = min(len(p.addresses) for p in primary)
    if len(backup.addresses) == 1 and fewest > 1 and backup.families == families:
        found.append(
            make_finding(
                "backup-mx-single-address",
                backup.name,
                f"the backup MX host {backup.name} has one address; "
                f"every primary host ({primaries}) has {fewest} or more",
            )
        )
    return found


def _check_backups(
    mx: Answer, usable: dict[str, list[IPAddress]], route: MailRoute | None, notes: _Notes
) -> None:
    """Each usable backup host against the most preferred usable hosts."""
    levels = {h.name: h.tls.level for h in route.hosts} if route is not None else {}
    preference: dict[str, int] = {}
    for record in mx.mx_records:
        preference.setdefault(record.exchange, record.preference)
        preference[record.exchange] = min(preference[record.exchange], record.preference)
    hosts = sorted(
        (
            HostView(
                name,
                preference[name],
                tuple(addresses),
                levels.get(name),
            )
            for name, addresses in usable.items()
        ),
        key=lambda h: h.preference,
    )
    if not hosts:
        return
    best = hosts[0].preference
    primary = [h for h in hosts if h.preference == best]
    for backup in hosts[len(primary) :]:
        for finding in compare_backup(primary, backup):
            notes.add(finding)


def spf_record(texts: Iterable[str]) -> str | None:
    """The SPF record among TXT record texts: the one starting ``v=spf1``, or None.

    None also when there are several (an SPF permerror, RFC 7208 §4.5:
    the audit does not judge it further).
    """
    found = [t for t in (join_txt(x) for x in texts) if t.lower().split(" ", 1)[0] == "v=spf1"]
    return found[0] if len(found) == 1 else None


def _check_spf(domain: str, txt: Answer, notes: _Notes, *, null: bool) -> None:
    """The SPF record of a domain with a null MX or with no MX at all."""
    if txt.status.temporary:
        _check_answer(txt, notes)
        return
    record = spf_record(str(r) for r in txt.records)
    if record is None:
        return
    terms = [t.lower() for t in record.split()[1:]]
    if null and terms != ["-all"]:
        notes.note(
            "null-mx-spf-allows-senders",
            domain,
            f"{domain} publishes a null MX (it takes no mail) but its SPF record "
            f"'{record}' authorises senders",
        )
    if not null and terms == ["-all"]:
        notes.note(
            "implicit-mx-spf-no-mail",
            domain,
            f"{domain} has no MX record and its SPF record is '{record}': email-validator "
            "treats it as undeliverable; RFC 5321 still delivers to its A/AAAA records "
            "(report it, do not bounce it)",
        )


def _network(address: IPAddress) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The /24 of an IPv4 address, the /48 of an IPv6 address."""
    prefix = 24 if address.version == 4 else 48
    return ipaddress.ip_network((address, prefix), strict=False)


def audit_many(
    domains: Iterable[str],
    resolver: AnyResolver | None = None,
    policy: RoutingPolicy | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = False,
    authoritative: bool = False,
    ns_port: int = authoritative_check.DEFAULT_PORT,
    ns_deadline: float = authoritative_check.DEFAULT_DEADLINE,
    ns_query: ServerQuery | None = None,
) -> Iterator[tuple[str, AuditReport | MXRouteError]]:
    """Audit many domains concurrently; yield ``(domain, report)`` as each completes.

    The sync twin of :func:`audit_many_async`, for code without an event
    loop (it runs one of its own while you wait for the next result).

    >>> from mxroute import InMemoryResolver, audit_many
    >>> fake = InMemoryResolver()
    >>> fake.add("example.com", "MX", "10 mx.example.com.")
    >>> fake.add("mx.example.com", "A", "192.0.2.25")
    >>> for domain, report in audit_many(["example.com", "bad..name"], fake, ordered=True):
    ...     print(domain, type(report).__name__)
    example.com AuditReport
    bad..name InvalidDomain

    ``authoritative`` and the ``ns_`` arguments are :func:`audit`'s, for every domain.

    Raises:
        InvalidInput: ``concurrency`` is not an integer >= 1, or an argument
            of the authoritative check is wrong (at once).
    """
    from mxroute import _bulk as bulk

    probe = authoritative_check.probe(authoritative, ns_port, ns_deadline, ns_query)
    audit_one = _audit_one(resolver, policy, probe)
    return bulk.run_sync(audit_one, domains, concurrency=concurrency, ordered=ordered)


def audit_many_async(
    domains: Iterable[str] | AsyncIterable[str],
    resolver: AnyResolver | None = None,
    policy: RoutingPolicy | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = False,
    authoritative: bool = False,
    ns_port: int = authoritative_check.DEFAULT_PORT,
    ns_deadline: float = authoritative_check.DEFAULT_DEADLINE,
    ns_query: ServerQuery | None = None,
) -> AsyncIterator[tuple[str, AuditReport | MXRouteError]]:
    """Audit many domains concurrently in asyncio.

    It runs on the engine of :meth:`Router.resolve_many <mxroute.Router.resolve_many>`.

    Yields ``(domain, result)`` pairs in completion order (input order with
    ``ordered=True``); ``result`` is the :class:`AuditReport`, or the
    :class:`~mxroute.InvalidInput` error of a domain that is not valid input
    (it does not stop the run). At most ``concurrency`` audits are in flight,
    ``domains`` (a sync or an async iterable) is read lazily, and every audit
    of the run shares one cache: ``resolver`` when it is a
    :class:`~mxroute.CachingResolver`, else a new one wrapped around it.
    Any other exception stops the run and is raised.

    ``authoritative`` and the ``ns_`` arguments are :func:`audit`'s, for every domain.

    Raises:
        InvalidInput: ``concurrency`` is not an integer >= 1, or an argument
            of the authoritative check is wrong (at once).
    """
    from mxroute import _bulk as bulk

    probe = authoritative_check.probe(authoritative, ns_port, ns_deadline, ns_query)
    audit_one = _audit_one(resolver, policy, probe)
    results = bulk.run(audit_one, domains, concurrency=concurrency, ordered=ordered)
    return under_asyncio(results, "audit_many_async()")


def _audit_one(
    resolver: AnyResolver | None,
    policy: RoutingPolicy | None,
    probe: authoritative_check.Probe | None = None,
) -> Callable[[str], Awaitable[AuditReport]]:
    """The coroutine function that audits one domain of a bulk run.

    Every domain of the run is audited over one cache shared by the run.
    """
    from mxroute._resolvers.caching import CachingResolver

    router = Router(resolver=resolver, policy=policy)
    shared = router.resolver
    cached = shared if isinstance(shared, CachingResolver) else CachingResolver(shared)

    def audit_one(domain: str) -> Awaitable[AuditReport]:
        if probe is None:
            return audit_async(domain, cached, router.policy)
        return audit_async(
            domain,
            cached,
            router.policy,
            authoritative=True,
            ns_port=probe.port,
            ns_deadline=probe.deadline,
            ns_query=probe.query,
        )

    return audit_one


publish(globals())
