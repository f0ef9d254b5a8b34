"""The RFC 5321 §5.1 routing logic, with no I/O.

:func:`plan_route` returns a generator that yields *batches* of DNS questions
and is sent back the answers, in the same order; when it has everything it
needs it returns a :class:`~mxroute.MailRoute` (as ``StopIteration.value``) or
raises a :class:`~mxroute.MailRouteError`. It never waits, so the sync and the
async drivers share it, and tests drive it directly::

    plan = plan_route("example.com")
    batch = next(plan)                        # (Question("example.com", "MX"),)
    batch = plan.send([answer_for_mx])        # the A/AAAA of every host, at once
    plan.send([...])                          # -> StopIteration(value=MailRoute(...))

A route costs at most two batches after the domain's MX answer: the MX
question, then one batch with every A/AAAA question the route needs (fewer
when the MX answer's additional section carries addresses).

The rules, numbered as in the design document:

1. An address literal routes there; no DNS.
2. The transport map, then the relayhost, override MX routing.
3. MX lookup; a CNAME at the domain is followed.
4. NXDOMAIN → :class:`~mxroute.NoSuchDomain`; SERVFAIL, timeout, REFUSED →
   :class:`~mxroute.TemporaryRouteError`, never an A/AAAA fallback.
5. NODATA → implicit MX: the domain itself at preference 0.
6. A null MX only → :class:`~mxroute.NullMX`; beside other MX records it is dropped.
7. Sort by preference, shuffle uniformly within equal preference.
8. MX-to-self: drop this host and every host of equal or higher preference value.
9. A/AAAA of the remaining hosts, concurrently; skip unusable hosts.
10. ``max_hosts`` and ``max_addresses`` bound the work.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from typing import TypeVar

import attrs

from mxroute._dane import DaneGate, apply_dane
from mxroute._dns import Answer, AnswerStatus, Question
from mxroute._errors import (
    InvalidInput,
    MailLoop,
    MailRouteError,
    NoMailHosts,
    NoSuchDomain,
    NullMX,
    TemporaryRouteError,
)
from mxroute._exports import publish
from mxroute._findings import Finding, make_finding
from mxroute._model import MailHost, MailRoute, MXRecord, RouteKind
from mxroute._mtasts import PolicyAnswer, PolicyLookup, PolicyRequest, dns_answers
from mxroute._names import IPAddress, Target, TargetKind, format_address, format_literal, parse_ip
from mxroute._names import parse_target as _parse_target
from mxroute._policy import NextHop, RoutingPolicy, is_local_address
from mxroute._tls import MTASTSPolicy, TLSRPTRecord, join_txt

__all__ = [
    "DEGRADED_TTL",
    "Batch",
    "HostExam",
    "RoutePlan",
    "cap_hosts",
    "examine_addresses",
    "examine_exchange",
    "examine_host",
    "examine_mx_set",
    "plan_route",
]

Batch = tuple[Question | PolicyRequest, ...]
"""Questions the planner needs answered before it can go on; ask them concurrently.

With ``RoutingPolicy(mta_sts=True)`` a batch may also hold one
:class:`~mxroute.PolicyRequest`, answered with a :class:`~mxroute.PolicyAnswer`
at its position; without it, a batch holds only DNS questions."""

RoutePlan = Generator[Batch, Sequence[Answer | PolicyAnswer], MailRoute]
"""The generator :func:`plan_route` returns."""

DEGRADED_TTL = 60
"""The longest a route may be cached when one of its lookups failed temporarily,
so that a host skipped for a SERVFAIL comes back soon."""


@attrs.define
class _Trail:
    """What the answers used so far add up to: TTL, AD bit, findings."""

    ttl: int | None = None
    authenticated: bool = True
    used_dns: bool = False
    degraded: bool = False
    findings: list[Finding] = attrs.Factory(list)
    mta_sts: MTASTSPolicy | None = None
    tlsrpt: tuple[str, ...] | None = None

    def use(self, answer: Answer) -> None:
        self.used_dns = True
        if answer.ttl is not None:
            self.ttl = answer.ttl if self.ttl is None else min(self.ttl, answer.ttl)
        if not answer.authenticated:
            self.authenticated = False
        if answer.status.temporary:
            self.degraded = True

    def note(self, code: str, subject: str, message: str | None = None) -> None:
        self.add(make_finding(code, subject, message))

    def add(self, finding: Finding) -> None:
        if finding not in self.findings:
            self.findings.append(finding)

    def route(
        self, domain: str, kind: RouteKind, hosts: Sequence[MailHost], next_hop: str | None
    ) -> MailRoute:
        ttl = self.ttl
        if self.degraded:
            ttl = DEGRADED_TTL if ttl is None else min(ttl, DEGRADED_TTL)
        return MailRoute(
            domain,
            kind,
            tuple(hosts),
            ttl=ttl if self.used_dns else None,
            authenticated=self.used_dns and self.authenticated,
            findings=tuple(self.findings),
            next_hop=next_hop,
            mta_sts=self.mta_sts,
            tlsrpt=self.tlsrpt,
        )


def plan_route(
    target: str | Target,
    policy: RoutingPolicy | None = None,
    rng: random.Random | None = None,
) -> RoutePlan:
    """Plan the route for a domain, a mailbox address or an address literal.

    The target is parsed at once, so bad input raises here, before any
    question is asked.

    Args:
        target: ``"example.com"``, ``"alice@example.com"``, ``"[192.0.2.1]"``,
            or a parsed :class:`~mxroute.Target`.
        policy: The routing policy; the default policy when None.
        rng: The random source for shuffling equal preferences; a fresh
            :class:`random.Random` when None.

    Returns:
        A generator: see the module documentation.

    Raises:
        InvalidDomain: The domain is not usable.
        InvalidAddress: The mailbox or the literal is malformed.
    """
    parsed = target if isinstance(target, Target) else _parse_target(target)
    return _plan(parsed, policy or RoutingPolicy(), rng or random.Random())


def _plan(target: Target, policy: RoutingPolicy, rng: random.Random) -> RoutePlan:
    trail = _Trail()
    domain = target.domain
    if target.kind is TargetKind.LITERAL:  # rule 1
        assert target.literal is not None
        host = _scoped_host(domain, target.literal, policy, trail)
        return trail.route(domain, RouteKind.LITERAL, [host], None)
    chosen = policy.next_hop_for(domain)  # rule 2
    if chosen is not None:
        return (yield from _relay(domain, chosen[0], chosen[1], policy, rng, trail))
    return (yield from _mx_route(domain, domain, policy, rng, trail, port=25, configured=False))


def _scoped_host(domain: str, address: IPAddress, policy: RoutingPolicy, trail: _Trail) -> MailHost:
    """Rule 1: a literal that is this host loops (rule 8); one out of scope has no host."""
    if is_local_address(address, policy.local_addresses):
        _loop(domain, domain, trail)
    if not policy.address_scope.allows(address):
        text = format_address(address)
        trail.note(
            "address-out-of-scope",
            text,
            f"{text} is outside the address scope {policy.address_scope.value!r}",
        )
        raise NoMailHosts(
            domain,
            f"{domain} is an address outside the routing policy's scope "
            f"({policy.address_scope.value!r}): refusing to deliver there",
            trail.findings,
        )
    return MailHost(domain, 0, (address,))


def _relay(
    domain: str,
    key: str,
    hop: NextHop,
    policy: RoutingPolicy,
    rng: random.Random,
    trail: _Trail,
) -> RoutePlan:
    """A configured next hop. Its failures are configuration problems: always temporary."""
    if hop.address is not None:
        host = MailHost(format_literal(hop.address), 0, (hop.address,), hop.port)
        return trail.route(domain, RouteKind.RELAY, [host], str(hop))
    try:
        if hop.mx_lookup:
            route = yield from _mx_route(
                domain, hop.host, policy, rng, trail, port=hop.port, configured=True
            )
            return attrs.evolve(route, kind=RouteKind.RELAY, next_hop=str(hop))
        hosts, _, any_temporary = yield from _resolve_hosts(
            [hop.host],
            {},
            policy,
            trail,
            port=hop.port,
            trusted=True,
            preference=[0],
            dane=DaneGate(domain, True) if policy.dane else None,
        )
        if not hosts:
            _no_hosts(domain, [hop.host], any_temporary, trail, kind=RouteKind.RELAY)
        return trail.route(domain, RouteKind.RELAY, hosts, str(hop))
    except MailRouteError as exc:
        if exc.temporary:
            raise
        where = "relayhost" if key == "relayhost" else f"transport_map[{key!r}]"
        raise TemporaryRouteError(
            domain,
            f"the configured next hop {hop} ({where}) cannot be used: {exc}. "
            "Mail stays queued: fix the routing policy",
            exc.findings,
        ) from exc


def _mx_route(
    domain: str,
    name: str,
    policy: RoutingPolicy,
    rng: random.Random,
    trail: _Trail,
    *,
    port: int,
    configured: bool,
) -> RoutePlan:
    """Route by the MX records of ``name``: the domain, or a relay host (``configured``).

    A configured relay name is trusted as written: its own addresses (the
    implicit MX) are not scope-checked. The hosts its MX records name are
    learned from DNS, and are, as any domain's.
    """
    sts = PolicyLookup.start(domain, policy) if policy.mta_sts and not configured else None
    extra = sts.questions if sts else ()
    rpt = Question(f"_smtp._tls.{domain}", "TXT") if policy.tlsrpt and not configured else None
    answer, *more = dns_answers((yield (Question(name, "MX"), *extra, *((rpt,) if rpt else ()))))
    trail.use(answer)  # rule 3
    if sts is not None:
        sts.take(more[: len(extra)], policy, trail)
    if rpt is not None:
        trail.tlsrpt = _tlsrpt(more[-1], trail)
    canonical = answer.canonical_name
    if answer.cnames:
        trail.note(
            "cname-at-domain",
            name,
            f"{name} is an alias (CNAME) of {canonical}; routed as {canonical}",
        )
    if answer.status.temporary:  # rule 4
        raise TemporaryRouteError(
            domain,
            f"the MX lookup for {name} failed temporarily ({_why(answer)}); "
            "keep the message queued and retry later",
            trail.findings,
        )
    if answer.status is AnswerStatus.NXDOMAIN:
        raise NoSuchDomain(
            domain,
            f"{canonical} does not exist (NXDOMAIN): check the spelling of the domain",
            trail.findings,
        )
    records: Sequence[MXRecord] = answer.mx_records
    ordered, findings = examine_mx_set(records, subject=canonical, rng=rng)  # rules 5, 6, 7
    null = [f for f in findings if f.code == "null-mx"]  # the NullMX error says it
    for finding in findings:
        if finding not in null:
            trail.add(finding)
    if not records:  # rule 5: NODATA, the implicit MX
        if canonical in policy.local_names:
            _loop(domain, canonical, trail)
        hosts, local, any_temporary = yield from _resolve_hosts(
            [canonical],
            {},
            policy,
            trail,
            port=port,
            trusted=configured,
            preference=[0],
            dane=DaneGate(domain, True) if policy.dane else None,
            sts=sts,
        )
        hosts = _prune_self(domain, hosts, local, _HAS_LOCAL_ADDRESS, trail)
        if not hosts:
            _no_hosts(domain, [canonical], any_temporary, trail, kind=RouteKind.IMPLICIT_MX)
        if sts is not None:
            hosts, trail.mta_sts = yield from sts.apply(hosts, trail)
        return trail.route(
            domain, RouteKind.IMPLICIT_MX, _cap_addresses(hosts, policy, trail), None
        )
    if null:
        raise NullMX(domain, null[0].message, trail.findings)
    local = [(r.exchange, r.preference) for r in ordered if r.exchange in policy.local_names]
    ordered = _prune_self(domain, ordered, local, "is this host", trail)  # rule 8
    ordered, findings = cap_hosts(ordered, policy.max_hosts, subject=canonical)  # rule 10
    for finding in findings:
        trail.add(finding)
    from_additional = {a.question: a for a in answer.additional if a.status is AnswerStatus.RECORDS}
    names = [r.exchange for r in ordered]
    hosts, local, any_temporary = yield from _resolve_hosts(  # rule 9
        names,
        from_additional,
        policy,
        trail,
        port=port,
        trusted=False,
        preference=[r.preference for r in ordered],
        dane=DaneGate(domain, answer.authenticated) if policy.dane else None,
        sts=sts,
    )
    hosts = _prune_self(domain, hosts, local, _HAS_LOCAL_ADDRESS, trail)  # rule 8
    if not hosts:
        _no_hosts(domain, names, any_temporary, trail, kind=RouteKind.MX)
    if sts is not None:
        hosts, trail.mta_sts = yield from sts.apply(hosts, trail)
    return trail.route(domain, RouteKind.MX, _cap_addresses(hosts, policy, trail), None)


def _tlsrpt(answer: Answer, trail: _Trail) -> tuple[str, ...]:
    """The TLS-RPT reporting addresses of the ``_smtp._tls`` TXT answer (RFC 8460 §3).

    Records not starting with ``v=TLSRPTv1`` are ignored; exactly one must
    remain. Reporting data, not routing data: the answer's TTL and AD bit do
    not count in the route's, and its failure degrades nothing but itself.
    """
    where = answer.name
    if answer.status.temporary:
        trail.note(
            "tlsrpt-lookup-failed",
            where,
            f"the TXT lookup for {where} failed temporarily ({_why(answer)}): "
            "no TLS report addresses for now",
        )
        return ()
    texts = [join_txt(r) for r in answer.records if isinstance(r, str)]
    records = [t for t in texts if t.startswith("v=TLSRPTv1")]
    if not records:
        return ()
    if len(records) > 1:
        trail.note(
            "tlsrpt-record-invalid",
            where,
            f"{where} has {len(records)} v=TLSRPTv1 records; RFC 8460 §3 asks for exactly one",
        )
        return ()
    try:
        return TLSRPTRecord.parse(records[0]).rua
    except InvalidInput as exc:
        trail.note("tlsrpt-record-invalid", where, str(exc))
        return ()


def _why(answer: Answer) -> str:
    text = {
        AnswerStatus.SERVFAIL: "SERVFAIL",
        AnswerStatus.REFUSED: "REFUSED",
        AnswerStatus.TIMEOUT: "timed out",
    }.get(answer.status, answer.status.name)
    return f"{text}: {answer.detail}" if answer.detail else text


def examine_mx_set(
    records: Sequence[MXRecord],
    *,
    subject: str,
    rng: random.Random | None = None,
    where: str | None = None,
) -> tuple[list[MXRecord], list[Finding]]:
    """Rules 6 and 7 on an MX record set: the one home of the null MX and ordering rules.

    The planner, :func:`~mxroute.check_mx_records` and the audit all call it.

    Args:
        records: The MX records, as published.
        subject: The name the records belong to (the subject of the findings
            about the whole set).
        rng: Shuffles hosts of equal preference; None keeps them sorted by name.
        where: How the messages name the set's owner; ``subject`` when None.

    Returns:
        The hosts to use, once each at its lowest preference, in the order to
        try them (empty for no records or a null MX), and the findings:
        ``implicit-mx`` (no records), or ``null-mx-nonzero-preference``,
        ``null-mx`` (only ``.`` records), ``null-mx-mixed``,
        ``duplicate-mx-host``, ``single-mx``, in that order.
    """
    where = subject if where is None else where
    if not records:
        return [], [
            make_finding(
                "implicit-mx",
                subject,
                f"{where} has no MX records; mail goes to its own A/AAAA records",
            )
        ]
    findings: list[Finding] = []
    nulls = [r for r in records if r.is_null]
    real = [r for r in records if not r.is_null]
    for record in nulls:
        if record.preference != 0:
            finding = make_finding(
                "null-mx-nonzero-preference",
                record.to_text(),
                f"{where} publishes the null MX as '{record.to_text()}' instead of '0 .'",
            )
            if finding not in findings:
                findings.append(finding)
    if not real:
        if nulls:
            findings.append(
                make_finding(
                    "null-mx",
                    subject,
                    f"{where} publishes a null MX (RFC 7505): it accepts no mail",
                )
            )
        return [], findings
    if nulls:
        findings.append(
            make_finding(
                "null-mx-mixed",
                subject,
                f"{where} publishes a null MX beside {len(real)} other MX record(s); "
                "the null MX is ignored",
            )
        )
    listed: dict[str, list[int]] = {}
    best: dict[str, MXRecord] = {}
    for record in real:
        listed.setdefault(record.exchange, []).append(record.preference)
        if record.exchange not in best or record.preference < best[record.exchange].preference:
            best[record.exchange] = record
    by_preference: dict[int, list[MXRecord]] = {}
    for exchange, preferences in listed.items():
        if len(preferences) > 1:
            findings.append(
                make_finding(
                    "duplicate-mx-host",
                    exchange,
                    f"{exchange} is listed {len(preferences)} times (preferences "
                    f"{', '.join(map(str, preferences))}); preference {min(preferences)} is used",
                )
            )
        by_preference.setdefault(min(preferences), []).append(best[exchange])
    if len(listed) == 1:
        (only,) = listed
        findings.append(make_finding("single-mx", subject, f"{where} has a single MX host, {only}"))
    ordered: list[MXRecord] = []
    for preference in sorted(by_preference):
        # Sorted before the shuffle, so that a seeded rng gives the same route
        # whatever order the server sent the records in (BIND rotates them).
        group = sorted(by_preference[preference], key=lambda r: r.exchange)
        if rng is not None:
            rng.shuffle(group)
        ordered.extend(group)
    return ordered, findings


def cap_hosts(
    ordered: list[MXRecord], max_hosts: int, *, subject: str, where: str | None = None
) -> tuple[list[MXRecord], list[Finding]]:
    """Rule 10 on the ordered hosts: the first ``max_hosts``, and ``max-hosts-exceeded``."""
    if len(ordered) <= max_hosts:
        return ordered, []
    where = subject if where is None else where
    finding = make_finding(
        "max-hosts-exceeded",
        subject,
        f"{where} lists {len(ordered)} MX hosts; only the first {max_hosts} "
        "are used (RoutingPolicy.max_hosts)",
    )
    return ordered[:max_hosts], [finding]


def examine_exchange(name: str, *, skipped: bool) -> tuple[IPAddress | None, list[Finding]]:
    """Rule 9 on an exchange's name: the address it spells, with ``mx-target-ip-literal``.

    ``skipped`` says the message should add that the host is not used.
    """
    address = parse_ip(name)
    if address is None:
        return None, []
    message = f"the MX exchange {name} is an IP address, not a host name"
    finding = make_finding(
        "mx-target-ip-literal", name, message + ("; it was skipped" if skipped else "")
    )
    return address, [finding]


_Item = TypeVar("_Item", MXRecord, MailHost)


def _prune_self(
    domain: str, items: list[_Item], local: list[tuple[str, int]], why: str, trail: _Trail
) -> list[_Item]:
    """Rule 8: drop this host and every host of equal or higher preference value.

    ``local`` lists the (name, preference) of the items that are this host.
    """
    if not local:
        return items
    name, cut = min(local, key=lambda item: item[1])
    kept = [item for item in items if item.preference < cut]
    trail.note(
        "local-host-pruned",
        name,
        f"{name} (preference {cut}) {why}; it and every MX host "
        f"of preference {cut} or more were dropped",
    )
    if not kept:
        _loop(domain, name, trail)
    return kept


_HAS_LOCAL_ADDRESS = "has an address of this host"


def _loop(domain: str, host: str, trail: _Trail) -> None:
    raise MailLoop(
        domain,
        f"the best mail host for {domain} is this host ({host}): delivery would loop. "
        "Accept the domain locally, or check local_names/local_addresses and its MX records",
        trail.findings,
    )


def _resolve_hosts(
    names: Sequence[str],
    from_additional: dict[Question, Answer],
    policy: RoutingPolicy,
    trail: _Trail,
    *,
    port: int,
    trusted: bool,
    preference: Sequence[int],
    dane: DaneGate | None = None,
    sts: PolicyLookup | None = None,
) -> Generator[
    Batch, Sequence[Answer | PolicyAnswer], tuple[list[MailHost], list[tuple[str, int]], bool]
]:
    """Rule 9: one batch with the A/AAAA questions of every host; build the hosts.

    With DANE (``dane``), each host's TLSA question joins the batch, and
    :func:`~mxroute._dane.apply_dane` decides every host's ``tls``. The batch
    also carries ``sts``'s policy request, so the fetch overlaps it.

    Returns the usable hosts, the (name, preference) of the hosts that are
    this host (rule 8), and whether a host was lost to a temporary failure.
    """
    if dane is not None and dane.mx_secure:  # the additional section is not covered by AD
        from_additional = {}
    questions: list[Question] = []
    literal: dict[str, IPAddress] = {}
    for name in names:
        address, findings = examine_exchange(name, skipped=not policy.allow_ip_literal_mx)
        for finding in findings:
            trail.add(finding)
        if address is not None:
            literal[name] = address
            continue
        for family in policy.address_families:
            question = Question(name, family.rdtype)
            if question not in from_additional:
                questions.append(question)
        tlsa = dane.question(name, port) if dane is not None else None
        if tlsa is not None:
            questions.append(tlsa)
    answers: dict[Question, Answer] = dict(from_additional)
    pending = sts.pending() if sts is not None else ()
    if questions or pending:
        received = yield (*questions, *pending)
        answers.update(zip(questions, dns_answers(received[: len(questions)]), strict=True))
        if sts is not None and pending:
            sts.receive(received[len(questions) :])

    hosts: list[MailHost] = []
    local: list[tuple[str, int]] = []
    any_temporary = False
    for name, pref in zip(names, preference, strict=True):
        if name in literal:
            if not policy.allow_ip_literal_mx:
                continue
            exam = examine_addresses(name, [literal[name]], policy, trusted=trusted)
        else:
            found = [answers[Question(name, family.rdtype)] for family in policy.address_families]
            exam = examine_host(name, found, policy, trusted=trusted)
        for answer in exam.answers:
            trail.use(answer)
        for finding in exam.findings:
            trail.add(finding)
        any_temporary = any_temporary or exam.temporary
        if exam.local:
            local.append((name, pref))
        if exam.addresses:
            hosts.append(MailHost(name, pref, exam.addresses, port))
    if dane is not None:  # RFC 7672: DANE decides each host's TLS (mxroute/_dane.py)
        rdtypes = [family.rdtype for family in policy.address_families]
        hosts = yield from apply_dane(dane, hosts, answers, rdtypes, trail)
    return hosts, local, any_temporary


@attrs.frozen
class HostExam:
    """What :func:`examine_host` makes of one host's address answers.

    Attributes:
        addresses: The usable addresses, in the order to try them: answered,
            of their record's family, once each, inside the address scope.
        findings: ``mx-target-cname``, ``mx-target-temporary-failure``,
            ``mx-target-unresolvable``, ``address-out-of-scope``.
        temporary: A lookup failed temporarily and no address was found.
        local: One of the host's addresses (in the scope or not) is this host
            (see :attr:`RoutingPolicy.local_addresses`).
        answers: The answers used.
    """

    addresses: tuple[IPAddress, ...]
    findings: tuple[Finding, ...]
    temporary: bool
    local: bool
    answers: tuple[Answer, ...] = ()


def examine_host(
    name: str, answers: Sequence[Answer], policy: RoutingPolicy, *, trusted: bool = False
) -> HostExam:
    """Rule 9 on one host: its A/AAAA answers judged, the one home of the host rules.

    The planner and the audit call it.

    Args:
        name: The host name.
        answers: Its A and AAAA answers, in the order to use their addresses.
        policy: Gives the address scope and this host's addresses.
        trusted: A configured next hop: its addresses are not scope-checked.
    """
    addresses: list[IPAddress] = []
    failed: list[Answer] = []
    findings: list[Finding] = []
    for answer in answers:
        if answer.cnames:
            findings.append(
                make_finding(
                    "mx-target-cname",
                    name,
                    f"the MX exchange {name} is an alias (CNAME) of {answer.canonical_name}",
                )
            )
        if answer.status is AnswerStatus.RECORDS:
            version = 4 if answer.rdtype == "A" else 6
            addresses.extend(a for a in answer.addresses if a.version == version)
        elif answer.status.temporary:
            failed.append(answer)
    if failed:
        findings.append(
            make_finding(
                "mx-target-temporary-failure",
                name,
                f"looking up {name} failed temporarily ("
                + "; ".join(f"{a.rdtype}: {_why(a)}" for a in failed)
                + ")",
            )
        )
    elif not addresses:
        findings.append(
            make_finding(
                "mx-target-unresolvable",
                name,
                f"the mail host {name} has no "
                + " or ".join(a.rdtype for a in answers)
                + " record",
            )
        )
    exam = examine_addresses(name, addresses, policy, trusted=trusted)
    return HostExam(
        exam.addresses,
        (*findings, *exam.findings),
        bool(failed) and not addresses,
        exam.local,
        tuple(answers),
    )


def examine_addresses(
    name: str, addresses: Sequence[IPAddress], policy: RoutingPolicy, *, trusted: bool = False
) -> HostExam:
    """A host's addresses judged: this host or not, in the scope or not, once each."""
    kept: list[IPAddress] = []
    findings: list[Finding] = []
    for address in addresses:
        if address in kept:
            continue
        if trusted or policy.address_scope.allows(address):
            kept.append(address)
        else:
            text = format_address(address)
            findings.append(
                make_finding(
                    "address-out-of-scope",
                    f"{name} {text}",
                    f"{name} has the address {text}, outside the address scope "
                    f"{policy.address_scope.value!r}; it was skipped",
                )
            )
    local = any(is_local_address(a, policy.local_addresses) for a in addresses)
    return HostExam(tuple(kept), tuple(findings), False, local)


def _no_hosts(
    domain: str, names: Sequence[str], any_temporary: bool, trail: _Trail, *, kind: RouteKind
) -> None:
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    if any_temporary:
        raise TemporaryRouteError(
            domain,
            f"no mail host of {domain} could be resolved now ({listed}: lookups failed "
            "temporarily); keep the message queued and retry later",
            trail.findings,
        )
    if kind is RouteKind.IMPLICIT_MX:
        message = (
            f"{domain} has no MX records and {listed} has no usable A/AAAA address: "
            "nothing to deliver to"
        )
    elif kind is RouteKind.RELAY:
        message = f"{listed} has no usable A/AAAA address"
    else:
        message = (
            f"none of the MX hosts of {domain} ({listed}) has a usable address: "
            "nothing to deliver to"
        )
    raise NoMailHosts(domain, message, trail.findings)


def _cap_addresses(hosts: list[MailHost], policy: RoutingPolicy, trail: _Trail) -> list[MailHost]:
    """Rule 10 for addresses; also notes addresses shared between hosts."""
    seen: set[IPAddress] = set()
    total = 0
    out: list[MailHost] = []
    for host in hosts:
        for address in host.addresses:
            if address in seen:
                text = format_address(address)
                trail.note(
                    "duplicate-address",
                    text,
                    f"{text} belongs to more than one mail host; it is tried once",
                )
            seen.add(address)
        room = policy.max_addresses - total
        if room <= 0:
            trail.note("max-addresses-exceeded", host.name)
            break
        if len(host.addresses) > room:
            trail.note("max-addresses-exceeded", host.name)
            host = attrs.evolve(host, addresses=host.addresses[:room])
        total += len(host.addresses)
        out.append(host)
    return out


publish(globals())
