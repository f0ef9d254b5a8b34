"""The audit's look behind the resolver: ask every authoritative name server directly.

``audit(..., authoritative=True)`` finds the domain's name servers (the NS
record set, through the audit's resolver, walking up to the enclosing zone
when the domain is not a zone apex) and their A and AAAA records, then asks
each address of each server directly, with recursion not desired (RD=0), as
Zonemaster's consistency tests do:

* round one, per address: the zone's SOA (its serial), the domain's MX
  record set and the zone's NS record set (whose additional section carries
  the server's glue for the name server hosts);
* round two, per address that answered round one authoritatively: the A and
  AAAA records of every MX host and every name server host.

Then it compares. Findings: ``ns-not-answering``, ``ns-lame`` (REFUSED, no AA
bit, a referral, no SOA for the zone), ``ns-serial-mismatch``,
``ns-mx-mismatch``, ``ns-address-mismatch`` (servers disagree on a host's
addresses), ``ns-glue-mismatch``, ``ns-family-unreachable``,
``ns-address-out-of-scope``, ``ns-host-unresolvable``, ``ns-limit-exceeded``
and ``ns-lookup-failed``.

Like the planner, the checks are generators that do no I/O: one yields
batches of resolver questions (the NS set and the name servers' addresses),
the other batches of :class:`ServerQuestion`. The sync and async drivers
only ask: concurrently (at most :data:`CONCURRENCY` at a time), every
question bounded by :data:`QUERY_TIMEOUT`, and the whole check by one
deadline; a question still unanswered at the deadline counts as not
answered. The seam is :class:`ServerQuery`: :class:`DirectQuery` asks real
servers with dnspython, :class:`FakeServers` answers from
:class:`~mxroute.InMemoryResolver` zones for tests.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import attrs
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from mxroute import _checks as checks
from mxroute._dns import Answer, AnswerStatus, AnyResolver, Question
from mxroute._errors import InvalidInput, TemporaryRouteError
from mxroute._findings import Finding, make_finding
from mxroute._names import IPAddress, format_address, normalize_host
from mxroute._policy import RoutingPolicy, address_allowed
from mxroute._resolvers.dns._interpret import _answer_rrset, host, values
from mxroute._resolvers.dns._wire import qname

if TYPE_CHECKING:
    from mxroute._resolvers.memory import InMemoryResolver

__all__ = [
    "CONCURRENCY",
    "DEFAULT_DEADLINE",
    "DEFAULT_PORT",
    "MAX_HOSTS",
    "MAX_SERVER_ADDRESSES",
    "QUERY_TIMEOUT",
    "DirectQuery",
    "FakeServers",
    "Probe",
    "ServerQuery",
    "ServerQuestion",
    "ServerReply",
    "check",
    "check_async",
]

DEFAULT_PORT = 53
"""The port name servers are asked on; a knob for tests and unusual setups."""

MAX_SERVER_ADDRESSES = 20
"""At most this many name server addresses (of all servers together) are asked.

Real delegations have two to a dozen (13 is the most a classic 512-octet
referral holds); the cap bounds the work a hostile NS set can cause. The
rest are not asked, and ``ns-limit-exceeded`` says so.
"""

MAX_HOSTS = 10
"""At most this many MX hosts and this many name server hosts have their
addresses compared across the servers (the most preferred MX hosts first)."""

DEFAULT_DEADLINE = 10.0
"""Seconds the whole check may take: finding the name servers and asking them."""

QUERY_TIMEOUT = 3.0
"""Seconds one server has to answer one question over UDP (and as much again over
TCP when the UDP answer is truncated), within the deadline."""

CONCURRENCY = 16
"""At most this many questions to servers are in flight at once."""


class ServerQuestion(NamedTuple):
    """One question for one server: ``(address, port, name, rdtype)``, asked with RD=0."""

    address: IPAddress
    port: int
    name: str
    rdtype: str


@attrs.frozen
class ServerReply:
    """A server's reply to a :class:`ServerQuestion`.

    Attributes:
        answer: What it said about the question: records, NODATA, NXDOMAIN,
            SERVFAIL (also for other error codes), REFUSED, or TIMEOUT when
            nothing usable came back (``detail`` says what happened). Its
            ``additional`` holds the A/AAAA record sets of the additional section.
        authoritative: The AA bit was set.
        rcode: The response code's name (``"NOERROR"``), or ``""`` with no response.
        referral: The server did not answer but pointed elsewhere (NS records in
            the authority section, no AA bit).
    """

    answer: Answer
    authoritative: bool = False
    rcode: str = ""
    referral: bool = False

    @property
    def responded(self) -> bool:
        """True when the server sent a response at all, whatever it said."""
        return bool(self.rcode)

    @property
    def serves(self) -> bool:
        """True for an authoritative answer (AA bit, NOERROR or NXDOMAIN)."""
        return self.authoritative and self.rcode in ("NOERROR", "NXDOMAIN")


def no_reply(question: ServerQuestion, detail: str) -> ServerReply:
    """The reply of a server that sent nothing usable back."""
    return ServerReply(Answer(question.name, question.rdtype, AnswerStatus.TIMEOUT, detail=detail))


@runtime_checkable
class ServerQuery(Protocol):
    """Asks one name server one question directly (the seam of the authoritative check).

    Both methods never raise: every failure is a :class:`ServerReply`
    (:func:`no_reply` for no response).
    """

    def ask(self, question: ServerQuestion, timeout: float) -> ServerReply:
        """Ask, blocking for at most ``timeout`` seconds."""
        ...

    async def ask_async(self, question: ServerQuestion, timeout: float) -> ServerReply:
        """Ask in asyncio, for at most ``timeout`` seconds."""
        ...


_STATUS_BY_RCODE = {
    dns.rcode.SERVFAIL: AnswerStatus.SERVFAIL,
    dns.rcode.REFUSED: AnswerStatus.REFUSED,
}
_ADDRESS_TYPES = {dns.rdatatype.A: "A", dns.rdatatype.AAAA: "AAAA"}


def _query(question: ServerQuestion) -> dns.message.Message:
    """The query message: the question with EDNS, recursion not desired."""
    rdtype = dns.rdatatype.from_text(question.rdtype)
    message = dns.message.make_query(qname(question.name), rdtype, use_edns=0, payload=1232)
    message.flags &= ~dns.flags.RD
    return message


def read_reply(question: ServerQuestion, response: dns.message.Message) -> ServerReply:
    """A server's response as a :class:`ServerReply`."""
    rcode = response.rcode()
    authoritative = bool(response.flags & dns.flags.AA)
    name, rdtype = question.name, question.rdtype
    detail = f"{format_address(question.address)} answered {dns.rcode.to_text(rcode)}"
    records: list[object] = []
    ttl: int | None = None
    cnames: tuple[str, ...] = ()
    if rcode == dns.rcode.NOERROR:
        owner = qname(name)
        wanted = dns.rdatatype.from_text(rdtype)
        rrset = _answer_rrset(response, owner, wanted)
        alias = _answer_rrset(response, owner, dns.rdatatype.CNAME)
        if rrset:
            status, records, ttl = AnswerStatus.RECORDS, list(values(rrset)), rrset.ttl
        else:
            status = AnswerStatus.NODATA
            if alias and wanted != dns.rdatatype.CNAME:
                cnames = (host(alias[0].target),)
    elif rcode == dns.rcode.NXDOMAIN:
        status = AnswerStatus.NXDOMAIN
    else:
        status = _STATUS_BY_RCODE.get(rcode, AnswerStatus.SERVFAIL)
    referral = (
        not authoritative
        and not records
        and any(r.rdtype == dns.rdatatype.NS for r in response.authority)
    )
    additional = [
        Answer(host(extra.name), kind, AnswerStatus.RECORDS, records=values(extra), ttl=extra.ttl)
        for extra in response.additional
        if (kind := _ADDRESS_TYPES.get(extra.rdtype))
        and extra.rdclass == dns.rdataclass.IN
        and len(extra)
    ]
    answer = Answer(
        name,
        rdtype,
        status,
        records=records,  # type: ignore[arg-type]
        ttl=ttl,
        cnames=cnames,
        additional=additional,
        detail="" if status in (AnswerStatus.RECORDS, AnswerStatus.NODATA) else detail,
    )
    return ServerReply(answer, authoritative, dns.rcode.to_text(rcode), referral)


def _arguments(question: ServerQuestion, timeout: float) -> dict[str, Any]:
    """The arguments of dnspython's ``udp_with_fallback`` (sync and async) for ``question``."""
    return {
        "q": _query(question),
        "where": format_address(question.address),
        "timeout": timeout,
        "port": question.port,
        "ignore_unexpected": True,
    }


def _failure(question: ServerQuestion, exc: BaseException) -> ServerReply:
    where = f"{format_address(question.address)} port {question.port}"
    what = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    return no_reply(question, f"{where}: {what}")


class DirectQuery:
    """The real :class:`ServerQuery`: one UDP query with dnspython, TCP when truncated.

    Everything dnspython or the socket raises (a timeout, a refused
    connection, a malformed response) becomes a reply without response.
    """

    def ask(self, question: ServerQuestion, timeout: float) -> ServerReply:
        """Ask, blocking for at most ``timeout`` seconds per transport."""
        try:
            response, _ = dns.query.udp_with_fallback(**_arguments(question, timeout))
            return read_reply(question, response)
        except Exception as exc:
            return _failure(question, exc)

    async def ask_async(self, question: ServerQuestion, timeout: float) -> ServerReply:
        """Ask in asyncio, for at most ``timeout`` seconds per transport."""
        import dns.asyncquery

        try:
            response, _ = await dns.asyncquery.udp_with_fallback(**_arguments(question, timeout))
            return read_reply(question, response)
        except Exception as exc:
            return _failure(question, exc)


def _address(value: object) -> IPAddress:
    try:
        return ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidInput(
            "invalid-address", f"{value!r} is not an IP address", repr(value)
        ) from None


class FakeServers:
    """A :class:`ServerQuery` for tests: each server address answers from its own zone data.

    Args:
        servers: Server address to the :class:`~mxroute.InMemoryResolver`
            holding what that server serves. An address not listed never
            answers (a timeout). A question the fake answers REFUSED or
            SERVFAIL (``.fail(...)``) is answered so, without the AA bit.
        not_authoritative: Addresses that answer without the AA bit.
        referrals: Addresses that answer every question with a referral.
        port: The port the servers listen on; a question to another port is
            not answered. Any port when None.

    Attributes:
        asked: Every question received, in order.
        timeouts: The time each was given to answer, in the same order.
    """

    def __init__(
        self,
        servers: Mapping[str | IPAddress, InMemoryResolver],
        *,
        not_authoritative: Iterable[str | IPAddress] = (),
        referrals: Iterable[str | IPAddress] = (),
        port: int | None = None,
    ) -> None:
        self.servers = {_address(a): zone for a, zone in servers.items()}
        self.not_authoritative = {_address(a) for a in not_authoritative}
        self.referrals = {_address(a) for a in referrals}
        self.port = port
        self.asked: list[ServerQuestion] = []
        self.timeouts: list[float] = []

    def ask(self, question: ServerQuestion, timeout: float) -> ServerReply:
        """Answer from the server's zone data, at once."""
        self.asked.append(question)
        self.timeouts.append(timeout)
        zone = self.servers.get(question.address)
        if zone is None or (self.port is not None and question.port != self.port):
            return no_reply(question, f"{format_address(question.address)}: no answer")
        name, rdtype = question.name, question.rdtype
        if question.address in self.referrals:
            return ServerReply(
                Answer(name, rdtype, AnswerStatus.NODATA), rcode="NOERROR", referral=True
            )
        answer = zone.query(name, rdtype)
        if answer.status is AnswerStatus.TIMEOUT:
            return ServerReply(answer)
        if answer.status.temporary:
            return ServerReply(answer, rcode=answer.status.name)
        rcode = "NXDOMAIN" if answer.status is AnswerStatus.NXDOMAIN else "NOERROR"
        authoritative = question.address not in self.not_authoritative
        return ServerReply(answer, authoritative, rcode)

    async def ask_async(self, question: ServerQuestion, timeout: float) -> ServerReply:
        """As :meth:`ask`."""
        return self.ask(question, timeout)


@attrs.frozen
class Probe:
    """How the authoritative check runs (the arguments of ``audit`` that shape it).

    Attributes:
        port: The port every name server is asked on.
        deadline: Seconds the whole check may take.
        query: The :class:`ServerQuery` that asks the servers.
    """

    port: int = attrs.field(default=DEFAULT_PORT, validator=checks.attrs_validator(checks.port))
    deadline: float = attrs.field(
        default=DEFAULT_DEADLINE, validator=checks.attrs_validator(checks.seconds)
    )
    query: ServerQuery = attrs.field(factory=DirectQuery)

    @query.validator
    def _check_query(self, _attribute: object, value: object) -> None:
        if not isinstance(value, ServerQuery):
            raise InvalidInput(
                "invalid-ns-query",
                f"ns_query must have ask() and ask_async() (a ServerQuery), not {value!r}",
                repr(value),
            )


def probe(
    authoritative: object,
    port: object = DEFAULT_PORT,
    deadline: object = DEFAULT_DEADLINE,
    query: object = None,
) -> Probe | None:
    """The :class:`Probe` for ``audit``'s arguments, or None when ``authoritative`` is False.

    Raises:
        InvalidInput: An argument is wrong (checked even when the check is off).
    """
    on = checks.flag(authoritative, "authoritative")
    made = Probe(
        checks.port(port, "ns_port"),
        checks.seconds(deadline, "ns_deadline"),
        DirectQuery() if query is None else query,  # type: ignore[arg-type]
    )
    return made if on else None


# -- finding the name servers (through the audit's resolver) -------------------


@attrs.frozen
class Delegation:
    """The name servers of the zone holding a domain, as the resolver gives them.

    Attributes:
        domain: The domain whose MX records are compared: the domain
            audited, or its canonical name when it is an alias (CNAME).
        zone: The zone apex whose NS set was found.
        hosts: Each name server host and its addresses (A, then AAAA).
        findings: What went wrong finding them.
        dropped: How many name server hosts were left out (beyond
            :data:`MAX_SERVER_ADDRESSES`: each has at least one address).
    """

    domain: str
    zone: str
    hosts: tuple[tuple[str, tuple[IPAddress, ...]], ...] = ()
    findings: tuple[Finding, ...] = ()
    dropped: int = 0


Batch = tuple[Question, ...]


def delegation_plan(
    domain: str, policy: RoutingPolicy
) -> Generator[Batch, Sequence[Answer], Delegation]:
    """Find the NS set of ``domain``'s zone, then every name server's A and AAAA."""
    (ns,) = yield (Question(domain, "NS"),)
    canonical = ns.canonical_name  # an alias: its target's MX and zone are what count
    zone = canonical
    while ns.status is AnswerStatus.NODATA and "." in zone:
        zone = zone.split(".", 1)[1]  # not a zone apex: the enclosing zone's servers
        (ns,) = yield (Question(zone, "NS"),)
    if ns.status is AnswerStatus.NXDOMAIN:
        return Delegation(canonical, zone)  # the audit says domain-not-found
    if ns.status is not AnswerStatus.RECORDS:
        return Delegation(canonical, zone, findings=(_lookup_failed(zone, ns.describe()),))
    zone = ns.canonical_name
    every = sorted({normalize_host(str(r)) for r in ns.records})
    names = every[:MAX_SERVER_ADDRESSES]  # bounds the address questions too
    answers = yield tuple(Question(n, t) for n in names for t in ("A", "AAAA"))
    found: list[Finding] = []
    hosts: list[tuple[str, tuple[IPAddress, ...]]] = []
    for index, name in enumerate(names):
        usable: list[IPAddress] = []
        pair = answers[2 * index : 2 * index + 2]
        if not any(a.addresses or a.status.temporary for a in pair):
            found.append(
                make_finding(
                    "ns-host-unresolvable",
                    name,
                    f"the name server {name} has no A or AAAA record "
                    f"({', '.join(a.status.name for a in pair)}): it cannot be asked",
                )
            )
        failed = [a.describe() for a in pair if a.status.temporary]
        if failed:
            found.append(_lookup_failed(name, "; ".join(failed)))
        for answer in pair:
            for address in answer.addresses:
                if address_allowed(address, policy.address_scope):
                    usable.append(address)
                else:
                    found.append(
                        make_finding(
                            "ns-address-out-of-scope",
                            f"{name} {format_address(address)}",
                            f"the name server {name} has the address {format_address(address)}, "
                            f"outside the policy's address scope "
                            f"({policy.address_scope.value}): it was not asked",
                        )
                    )
        hosts.append((name, tuple(usable)))
    return Delegation(canonical, zone, tuple(hosts), tuple(found), len(every) - len(names))


def _lookup_failed(subject: str, what: str) -> Finding:
    return make_finding(
        "ns-lookup-failed",
        subject,
        f"the name servers could not be checked: {what}",
    )


# -- asking the servers ---------------------------------------------------------

ProbePlan = Generator[tuple[ServerQuestion, ...], Sequence[ServerReply], list[Finding]]


class _Server(NamedTuple):
    address: IPAddress
    hosts: tuple[str, ...]
    """The name server hosts with this address."""

    @property
    def label(self) -> str:
        return f"{format_address(self.address)} ({', '.join(self.hosts)})"


def probe_plan(delegation: Delegation, port: int) -> ProbePlan:
    """Ask each name server address directly; compare what they say."""
    domain = delegation.domain
    found: list[Finding] = []
    servers: dict[IPAddress, list[str]] = {}
    for name, addresses in delegation.hosts:
        for address in addresses:
            servers.setdefault(address, []).append(name)
    every = [_Server(a, tuple(h)) for a, h in servers.items()]
    asked = every[:MAX_SERVER_ADDRESSES]
    if len(every) > len(asked) or delegation.dropped:
        more = f" (and {delegation.dropped} more name servers)" if delegation.dropped else ""
        found.append(
            make_finding(
                "ns-limit-exceeded",
                delegation.zone,
                f"{delegation.zone} has {len(every)} name server addresses{more}; "
                f"only {len(asked)} were asked",
            )
        )
    zone = delegation.zone
    first = yield tuple(
        ServerQuestion(s.address, port, n, t)
        for s in asked
        for n, t in ((zone, "SOA"), (domain, "MX"), (zone, "NS"))
    )
    soa = {s: first[3 * i] for i, s in enumerate(asked)}
    mx = {s: first[3 * i + 1] for i, s in enumerate(asked)}
    ns = {s: first[3 * i + 2] for i, s in enumerate(asked)}
    serving = [s for s in asked if soa[s].serves and soa[s].answer.status is AnswerStatus.RECORDS]
    for server in asked:
        if server not in serving:
            found.append(_unserved(zone, server, soa[server]))
    _compare(found, "ns-serial-mismatch", zone, {s: _serial(soa[s]) for s in serving})
    mx_sets = {s: _mx_text(mx[s]) for s in serving if mx[s].serves}
    _compare(found, "ns-mx-mismatch", f"{domain} MX", mx_sets)

    mx_hosts = _mx_hosts(mx[s] for s in serving)[:MAX_HOSTS]
    ns_hosts = [name for name, _ in delegation.hosts][:MAX_HOSTS]
    names = list(dict.fromkeys(mx_hosts + ns_hosts))
    second = yield tuple(
        ServerQuestion(s.address, port, n, t) for s in serving for n in names for t in ("A", "AAAA")
    )
    per_host: dict[str, dict[_Server, frozenset[IPAddress]]] = {n: {} for n in names}
    for i, server in enumerate(serving):
        for j, name in enumerate(names):
            a, aaaa = second[2 * (i * len(names) + j) : 2 * (i * len(names) + j) + 2]
            if a.serves and aaaa.serves:  # only where the server is authoritative for the host
                per_host[name][server] = frozenset(a.answer.addresses + aaaa.answer.addresses)
    for name in names:
        _compare(
            found,
            "ns-address-mismatch",
            name,
            {s: _addresses(v) for s, v in per_host[name].items()},
        )
    for name, addresses in delegation.hosts[:MAX_HOSTS]:
        _check_glue(found, name, addresses, per_host[name], {s: ns[s] for s in serving})
    _check_families(found, delegation, asked, first)
    return found


def _unserved(zone: str, server: _Server, reply: ServerReply) -> Finding:
    subject = f"{'/'.join(server.hosts)} {format_address(server.address)}"
    if not reply.responded:
        return make_finding(
            "ns-not-answering",
            subject,
            f"the name server {server.label} did not answer ({reply.answer.detail})",
        )
    if reply.referral:
        why = "a referral (it is not authoritative for the zone)"
    elif reply.rcode != "NOERROR":
        why = reply.rcode
    elif not reply.authoritative:
        why = "an answer without the AA bit (from a cache, not from the zone)"
    else:
        why = "no SOA record for the zone"
    return make_finding(
        "ns-lame",
        subject,
        f"the name server {server.label} does not serve {zone}: it answered with {why}",
    )


def _serial(reply: ServerReply) -> str:
    record = str(reply.answer.records[0]).split()
    return f"serial {record[2]}" if len(record) > 2 else "an unreadable SOA"


def _mx_text(reply: ServerReply) -> str:
    if reply.answer.status is not AnswerStatus.RECORDS:
        return "no MX" if reply.answer.status is AnswerStatus.NODATA else reply.answer.status.name
    return ", ".join(sorted(r.to_text() for r in reply.answer.mx_records))


def _mx_hosts(replies: Iterable[ServerReply]) -> list[str]:
    records = sorted({r for reply in replies for r in reply.answer.mx_records if not r.is_null})
    return list(dict.fromkeys(r.exchange for r in records))


def _addresses(addresses: Iterable[IPAddress]) -> str:
    ordered = sorted(addresses, key=lambda a: (a.version, a))
    return ", ".join(format_address(a) for a in ordered) or "no address"


def _compare(found: list[Finding], code: str, subject: str, views: Mapping[_Server, str]) -> None:
    """One finding when the servers do not all say the same."""
    if len(set(views.values())) < 2:
        return
    said: dict[str, list[str]] = {}
    for server, view in views.items():
        said.setdefault(view, []).append(server.label)
    parts = "; ".join(f"{', '.join(labels)}: {view}" for view, labels in said.items())
    found.append(make_finding(code, subject, f"the name servers disagree on {subject}: {parts}"))


def _check_glue(
    found: list[Finding],
    name: str,
    resolved: tuple[IPAddress, ...],
    authoritative: Mapping[_Server, frozenset[IPAddress]],
    ns_replies: Mapping[_Server, ServerReply],
) -> None:
    """The addresses given for a name server host against the authoritative answer.

    Only when the servers authoritative for the host agree (else
    ``ns-address-mismatch`` said so already). The addresses given: the
    resolver's (which is often the parent's glue, cached) and each server's
    additional section; each is compared in the families it holds.
    """
    answers = set(authoritative.values())
    if len(answers) != 1:
        return
    (truth,) = answers
    given: dict[str, frozenset[IPAddress]] = {"the resolver": frozenset(resolved)}
    for server, reply in ns_replies.items():
        extra = [a for e in reply.answer.additional if e.name == name for a in e.addresses]
        if extra:
            given[f"the additional section of {server.label}"] = frozenset(extra)
    for source, addresses in given.items():
        families = {a.version for a in addresses} or {4, 6}
        expected = frozenset(a for a in truth if a.version in families)
        if addresses != expected:
            found.append(
                make_finding(
                    "ns-glue-mismatch",
                    name,
                    f"{source} gives {name} as {_addresses(addresses)}, but its authoritative "
                    f"servers answer {_addresses(expected)}",
                )
            )
            return


def _check_families(
    found: list[Finding],
    delegation: Delegation,
    asked: Sequence[_Server],
    first: Sequence[ServerReply],
) -> None:
    """A name server host that answers over one address family only."""
    answered: dict[IPAddress, bool] = {}
    for i, server in enumerate(asked):
        answered[server.address] = any(r.responded for r in first[3 * i : 3 * i + 3])
    for name, addresses in delegation.hosts:
        seen = {4: [], 6: []}  # type: dict[int, list[bool]]
        for address in addresses:
            if address in answered:
                seen[address.version].append(answered[address])
        if not seen[4] or not seen[6]:
            continue
        up = {version: any(flags) for version, flags in seen.items()}
        if up[4] != up[6]:
            works, fails = ("IPv4", "IPv6") if up[4] else ("IPv6", "IPv4")
            found.append(
                make_finding(
                    "ns-family-unreachable",
                    name,
                    f"the name server {name} answers over {works} but not over {fails}",
                )
            )


# -- the drivers -------------------------------------------------------------------


def _run_sync(plan: ProbePlan, query: ServerQuery, end: float) -> list[Finding]:
    """Drive ``plan`` with threads; what is unanswered at ``end`` counts as no reply."""
    pool = concurrent.futures.ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="mxroute-ns")
    try:
        batch = next(plan)
        while True:
            futures = [pool.submit(query.ask, q, _timeout(end)) for q in batch]
            concurrent.futures.wait(futures, timeout=max(0.0, end - time.monotonic()))
            replies = [
                _result(f) if f.done() else no_reply(q, "no answer before the deadline")
                for q, f in zip(batch, futures, strict=True)
            ]
            batch = plan.send(replies)
    except StopIteration as done:
        result: list[Finding] = done.value
        return result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _result(future: concurrent.futures.Future[ServerReply]) -> ServerReply:
    return future.result()


async def _run_async(plan: ProbePlan, query: ServerQuery, end: float) -> list[Finding]:
    """Drive ``plan`` in asyncio; what is unanswered at ``end`` is cancelled, as no reply."""
    import asyncio

    gate = asyncio.Semaphore(CONCURRENCY)

    async def ask(question: ServerQuestion) -> ServerReply:
        async with gate:
            return await query.ask_async(question, _timeout(end))

    try:
        batch = next(plan)
        while True:
            tasks = [asyncio.ensure_future(ask(q)) for q in batch]
            if tasks:
                await asyncio.wait(tasks, timeout=max(0.0, end - time.monotonic()))
            replies = []
            for question, task in zip(batch, tasks, strict=True):
                if task.done() and not task.cancelled():
                    replies.append(task.result())
                else:
                    task.cancel()
                    replies.append(no_reply(question, "no answer before the deadline"))
            batch = plan.send(replies)
    except StopIteration as done:
        result: list[Finding] = done.value
        return result


def _timeout(end: float) -> float:
    return max(0.001, min(QUERY_TIMEOUT, end - time.monotonic()))


def check(
    domain: str, resolver: AnyResolver, policy: RoutingPolicy, settings: Probe
) -> list[Finding]:
    """The authoritative check of ``domain``, blocking; its findings."""
    from mxroute._router import Deadline, run_plan

    deadline = Deadline(settings.deadline, domain)
    try:
        delegation = run_plan(delegation_plan(domain, policy), resolver, deadline=deadline)
    except TemporaryRouteError as exc:
        return [_lookup_failed(domain, str(exc))]
    plan = probe_plan(delegation, settings.port)
    return [*delegation.findings, *_run_sync(plan, settings.query, deadline.end)]


async def check_async(
    domain: str, resolver: AnyResolver, policy: RoutingPolicy, settings: Probe
) -> list[Finding]:
    """The authoritative check of ``domain`` in asyncio; its findings."""
    from mxroute._router import Deadline, run_plan_async

    deadline = Deadline(settings.deadline, domain)
    try:
        delegation = await run_plan_async(
            delegation_plan(domain, policy), resolver, deadline=deadline
        )
    except TemporaryRouteError as exc:
        return [_lookup_failed(domain, str(exc))]
    plan = probe_plan(delegation, settings.port)
    return [*delegation.findings, *await _run_async(plan, settings.query, deadline.end)]
