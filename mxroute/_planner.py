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

from mxroute._dns import Answer, AnswerStatus, Question
from mxroute._errors import (
    MailLoop,
    MailRouteError,
    NoMailHosts,
    NoSuchDomain,
    NullMX,
    TemporaryRouteError,
)
from mxroute._findings import Finding, make_finding
from mxroute._model import MailHost, MailRoute, MXRecord, RouteKind
from mxroute._names import IPAddress, Target, TargetKind, format_literal, is_ip_literal_name
from mxroute._names import parse_target as _parse_target
from mxroute._policy import NextHop, RoutingPolicy

__all__ = ["DEGRADED_TTL", "Batch", "RoutePlan", "plan_route"]

Batch = tuple[Question, ...]
"""Questions the planner needs answered before it can go on; ask them concurrently."""

RoutePlan = Generator[Batch, Sequence[Answer], MailRoute]
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

    def use(self, answer: Answer) -> None:
        self.used_dns = True
        if answer.ttl is not None:
            self.ttl = answer.ttl if self.ttl is None else min(self.ttl, answer.ttl)
        if not answer.authenticated:
            self.authenticated = False
        if answer.status.temporary:
            self.degraded = True

    def note(self, code: str, subject: str, message: str | None = None) -> None:
        finding = make_finding(code, subject, message)
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
            or a parsed :class:`~mxroute._names.Target`.
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
    return (yield from _mx_route(domain, domain, policy, rng, trail, port=25, trusted=False))


def _scoped_host(domain: str, address: IPAddress, policy: RoutingPolicy, trail: _Trail) -> MailHost:
    if not policy.address_scope.allows(address):
        trail.note(
            "address-out-of-scope",
            str(address),
            f"{address} is outside the address scope {policy.address_scope.value!r}",
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
                domain, hop.host, policy, rng, trail, port=hop.port, trusted=True
            )
            return attrs.evolve(route, kind=RouteKind.RELAY, next_hop=str(hop))
        hosts, any_temporary = yield from _resolve_hosts(
            domain, [hop.host], {}, policy, trail, port=hop.port, trusted=True, preference=[0]
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
    trusted: bool,
) -> RoutePlan:
    """Route by the MX records of ``name`` (the domain, or a relay host)."""
    (answer,) = yield (Question(name, "MX"),)  # rule 3
    trail.use(answer)
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
    if not records:  # rule 5: NODATA, the implicit MX
        trail.note(
            "implicit-mx",
            canonical,
            f"{canonical} has no MX records; mail goes to its own A/AAAA records",
        )
        if canonical in policy.local_names:
            _loop(domain, canonical, trail)
        hosts, any_temporary = yield from _resolve_hosts(
            domain, [canonical], {}, policy, trail, port=port, trusted=trusted, preference=[0]
        )
        hosts = _prune_local_addresses(domain, hosts, policy, trail)
        if not hosts:
            _no_hosts(domain, [canonical], any_temporary, trail, kind=RouteKind.IMPLICIT_MX)
        return trail.route(
            domain, RouteKind.IMPLICIT_MX, _cap_addresses(hosts, policy, trail), None
        )

    records = _null_mx(domain, canonical, records, trail)  # rule 6
    ordered = _order(records, rng, trail)  # rule 7
    if len(ordered) == 1:
        trail.note(
            "single-mx", canonical, f"{canonical} has a single MX host, {ordered[0].exchange}"
        )
    local = [(r.exchange, r.preference) for r in ordered if r.exchange in policy.local_names]
    ordered = _prune_self(domain, ordered, local, "is this host", trail)  # rule 8
    if len(ordered) > policy.max_hosts:  # rule 10
        trail.note(
            "max-hosts-exceeded",
            canonical,
            f"{canonical} lists {len(ordered)} MX hosts; only the first {policy.max_hosts} "
            "are used (RoutingPolicy.max_hosts)",
        )
        ordered = ordered[: policy.max_hosts]
    glue = {a.question: a for a in answer.additional if a.status is AnswerStatus.RECORDS}
    names = [r.exchange for r in ordered]
    hosts, any_temporary = yield from _resolve_hosts(  # rule 9
        domain,
        names,
        glue,
        policy,
        trail,
        port=port,
        trusted=trusted,
        preference=[r.preference for r in ordered],
    )
    hosts = _prune_local_addresses(domain, hosts, policy, trail)  # rule 8
    if not hosts:
        _no_hosts(domain, names, any_temporary, trail, kind=RouteKind.MX)
    return trail.route(domain, RouteKind.MX, _cap_addresses(hosts, policy, trail), None)


def _why(answer: Answer) -> str:
    text = {
        AnswerStatus.SERVFAIL: "SERVFAIL",
        AnswerStatus.REFUSED: "REFUSED",
        AnswerStatus.TIMEOUT: "timed out",
    }.get(answer.status, answer.status.name)
    return f"{text}: {answer.detail}" if answer.detail else text


def _null_mx(
    domain: str, canonical: str, records: Sequence[MXRecord], trail: _Trail
) -> list[MXRecord]:
    nulls = [r for r in records if r.is_null]
    real = [r for r in records if not r.is_null]
    for record in nulls:
        if record.preference != 0:
            trail.note(
                "null-mx-nonzero-preference",
                record.to_text(),
                f"{canonical} publishes the null MX as '{record.to_text()}' instead of '0 .'",
            )
    if nulls and not real:
        raise NullMX(
            domain,
            f"{canonical} publishes a null MX (RFC 7505): it accepts no mail",
            trail.findings,
        )
    if nulls:
        trail.note(
            "null-mx-mixed",
            canonical,
            f"{canonical} publishes a null MX beside {len(real)} other MX record(s); "
            "the null MX is ignored",
        )
    return real


def _order(records: Sequence[MXRecord], rng: random.Random, trail: _Trail) -> list[MXRecord]:
    """Rule 7: lowest preference per host, sorted, equal preferences shuffled."""
    best: dict[str, MXRecord] = {}
    for record in records:
        seen = best.get(record.exchange)
        if seen is not None:
            trail.note(
                "duplicate-mx-host",
                record.exchange,
                f"{record.exchange} is listed more than once; preference "
                f"{min(seen.preference, record.preference)} is used",
            )
        if seen is None or record.preference < seen.preference:
            best[record.exchange] = record
    by_preference: dict[int, list[MXRecord]] = {}
    for record in best.values():
        by_preference.setdefault(record.preference, []).append(record)
    ordered: list[MXRecord] = []
    for preference in sorted(by_preference):
        # Sorted before the shuffle, so that a seeded rng gives the same route
        # whatever order the server sent the records in (BIND rotates them).
        group = sorted(by_preference[preference], key=lambda r: r.exchange)
        rng.shuffle(group)
        ordered.extend(group)
    return ordered


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


def _prune_local_addresses(
    domain: str, hosts: list[MailHost], policy: RoutingPolicy, trail: _Trail
) -> list[MailHost]:
    mine = policy.local_addresses
    local = [(h.name, h.preference) for h in hosts if not mine.isdisjoint(h.addresses)]
    return _prune_self(domain, hosts, local, "has an address of this host", trail)


def _loop(domain: str, host: str, trail: _Trail) -> None:
    raise MailLoop(
        domain,
        f"the best mail host for {domain} is this host ({host}): delivery would loop. "
        "Accept the domain locally, or check local_names/local_addresses and its MX records",
        trail.findings,
    )


def _resolve_hosts(
    domain: str,
    names: Sequence[str],
    glue: dict[Question, Answer],
    policy: RoutingPolicy,
    trail: _Trail,
    *,
    port: int,
    trusted: bool,
    preference: Sequence[int],
) -> Generator[Batch, Sequence[Answer], tuple[list[MailHost], bool]]:
    """Rule 9: one batch with the A/AAAA questions of every host; build the hosts."""
    questions: list[Question] = []
    literal: dict[str, IPAddress] = {}
    for name in names:
        address = is_ip_literal_name(name)
        if address is not None:
            literal[name] = address
            trail.note(
                "mx-target-ip-literal",
                name,
                f"the MX exchange {name} is an IP address, not a host name"
                + ("" if policy.allow_ip_literal_mx else "; it was skipped"),
            )
            continue
        for family in policy.address_families:
            question = Question(name, family.rdtype)
            if question not in glue:
                questions.append(question)
    answers: dict[Question, Answer] = dict(glue)
    if questions:
        received = yield tuple(questions)
        answers.update(zip(questions, received, strict=True))

    hosts: list[MailHost] = []
    any_temporary = False
    for name, pref in zip(names, preference, strict=True):
        if name in literal:
            if policy.allow_ip_literal_mx:
                found = _in_scope(name, [literal[name]], policy, trail, trusted)
                if found:
                    hosts.append(MailHost(name, pref, found, port))
            continue
        addresses: list[IPAddress] = []
        failed: list[Answer] = []
        for family in policy.address_families:
            answer = answers[Question(name, family.rdtype)]
            trail.use(answer)
            if answer.cnames:
                trail.note(
                    "mx-target-cname",
                    name,
                    f"the MX exchange {name} is an alias (CNAME) of {answer.canonical_name}",
                )
            if answer.status is AnswerStatus.RECORDS:
                addresses.extend(
                    a for a in answer.addresses if a.version == (4 if family.rdtype == "A" else 6)
                )
            elif answer.status.temporary:
                failed.append(answer)
        if failed:
            any_temporary = any_temporary or not addresses
            trail.note(
                "mx-target-temporary-failure",
                name,
                f"looking up {name} failed temporarily ("
                + "; ".join(f"{a.rdtype}: {_why(a)}" for a in failed)
                + ")",
            )
        if not addresses:
            if not failed:
                trail.note(
                    "mx-target-unresolvable",
                    name,
                    f"the mail host {name} has no "
                    + " or ".join(f.rdtype for f in policy.address_families)
                    + " record",
                )
            continue
        found = _in_scope(name, addresses, policy, trail, trusted)
        if found:
            hosts.append(MailHost(name, pref, found, port))
    return hosts, any_temporary


def _in_scope(
    name: str, addresses: Sequence[IPAddress], policy: RoutingPolicy, trail: _Trail, trusted: bool
) -> tuple[IPAddress, ...]:
    kept: list[IPAddress] = []
    for address in addresses:
        if address in kept:
            continue
        if trusted or policy.address_scope.allows(address):
            kept.append(address)
        else:
            trail.note(
                "address-out-of-scope",
                f"{name} {address}",
                f"{name} has the address {address}, outside the address scope "
                f"{policy.address_scope.value!r}; it was skipped",
            )
    return tuple(kept)


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
                trail.note(
                    "duplicate-address",
                    str(address),
                    f"{address} belongs to more than one mail host; it is tried once",
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
