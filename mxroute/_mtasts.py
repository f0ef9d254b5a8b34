"""MTA-STS in routing (RFC 8461): the policy request, the policy cache, the application.

The planner stays sans-I/O. With ``RoutingPolicy(mta_sts=True)`` it asks,
beside the MX question, for the ``_mta-sts.<domain>`` TXT record and the
policy host's (``mta-sts.<domain>``) addresses (:class:`PolicyLookup`); in the
batch with the MX hosts' A/AAAA questions it puts one :class:`PolicyRequest`.
A driver answers that request with a :class:`PolicyAnswer`: through the
policy cache (:class:`PolicyCache`; :class:`MemoryPolicyCache` by default,
:class:`SQLitePolicyCache` to survive a restart) and, when the cache has no
fresh policy for the TXT record's id, a :class:`~mxroute.PolicyFetcher`
(:meth:`PolicyService.lookup`, :meth:`PolicyService.settle`). The planner
then applies the policy to the hosts (:meth:`PolicyLookup.apply`).

The decisions, with the RFC clause each follows:

* exactly one TXT record starting with ``v=STSv1`` (§3.1), else no policy
  (several: ``mta-sts-record-multiple``; malformed: ``mta-sts-record-invalid``);
* a fresh cached policy whose id is the TXT record's id costs no fetch (§3.3,
  §5.1); another id, or no cached policy, fetches the policy;
* a failed TXT lookup, an absent TXT record or a failed fetch **keeps** an
  unexpired cached policy (§5.1: with no live policy, the sender "MUST apply
  that cached policy"; §10.2); peers that drop to "no policy" give an
  attacker who blocks DNS or HTTPS a downgrade;
* no cached policy and a failed fetch: deliver as if the domain had no
  MTA-STS (§3.3), with the finding ``mta-sts-policy-unreachable`` or
  ``mta-sts-policy-invalid``;
* ``enforce``: hosts the policy's ``mx`` patterns do not match are dropped
  (``mta-sts-mx-not-covered``), the others get :attr:`~mxroute.TLSLevel.MTA_STS`;
  none left: the policy is fetched once more, bypassing the cache, and if
  still none is left the route fails with a :class:`~mxroute.TemporaryRouteError`
  (§5.1: the message stays queued);
* ``testing``: nothing dropped, hosts get
  :attr:`~mxroute.TLSLevel.MTA_STS_TESTING`, uncovered hosts are reported;
* ``none``: as if there were no policy (``mta-sts-mode-none``);
* hosts that DANE decided (``DANE``, ``ENCRYPT``) keep their requirement
  (RFC 8461 §2: DANE takes precedence) and are never dropped by the policy.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from mxroute._checks import attrs_validator, flag, integer
from mxroute._dns import Answer, AnswerStatus, Question
from mxroute._errors import InvalidInput, MXRouteError, TemporaryRouteError
from mxroute._exports import publish
from mxroute._findings import Finding, make_finding
from mxroute._model import MailHost
from mxroute._names import IPAddress, normalize_host
from mxroute._tls import (
    MTASTSMode,
    MTASTSPolicy,
    MTASTSRecord,
    TLSLevel,
    TLSRequirement,
    join_txt,
)

if TYPE_CHECKING:
    import sqlite3

    from mxroute._policy import AddressScope, RoutingPolicy
    from mxroute._stsfetch import AsyncPolicyFetcher, PolicyFetcher

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "FETCH_TIMEOUT",
    "MemoryPolicyCache",
    "PolicyAnswer",
    "PolicyCache",
    "PolicyLookup",
    "PolicyRequest",
    "PolicyService",
    "SQLitePolicyCache",
    "dns_answers",
    "sts_records",
]

FETCH_TIMEOUT = 10.0
"""Seconds a policy fetch may take when the route has no shorter deadline.

Our choice, not the RFC's: a route waits for the fetch, and a policy host
that has not answered in 10 s is treated as unreachable for this route (a
cached policy still applies; the next route fetches again).
"""

DEFAULT_CACHE_SIZE = 10_000
"""How many domains' policies a policy cache keeps by default (the oldest go first)."""


def _addresses(values: Sequence[IPAddress]) -> tuple[IPAddress, ...]:
    return tuple(values)


@attrs.frozen
class PolicyRequest:
    """A batch item asking for the domain's MTA-STS policy (RFC 8461 §3.3).

    The planner puts one in the batch of the hosts' A/AAAA questions when
    ``RoutingPolicy(mta_sts=True)``; a driver answers it with a
    :class:`PolicyAnswer` at its position (see :class:`PolicyService`).

    Attributes:
        domain: The recipient domain (a lowercase A-label).
        record_id: The ``id`` of the domain's ``_mta-sts`` TXT record, or
            None when there is no valid record (absent, malformed, several,
            or the lookup failed).
        addresses: The addresses of ``mta-sts.<domain>``, resolved through
            mxroute's resolver and inside the policy's address scope: the
            only addresses a fetcher may connect to.
        refresh: Fetch even when the cache has a fresh policy (the one
            refetch of §5.1, when an ``enforce`` policy left no host).
    """

    domain: str = attrs.field(converter=normalize_host)
    record_id: str | None = None
    addresses: tuple[IPAddress, ...] = attrs.field(default=(), converter=_addresses)
    refresh: bool = attrs.field(default=False, validator=attrs_validator(flag))

    def describe(self) -> str:
        """How a deadline error names the request: ``"MTA-STS policy of example.com"``."""
        return f"MTA-STS policy of {self.domain}"


@attrs.frozen
class PolicyAnswer:
    """The answer to a :class:`PolicyRequest`: the policy to apply, and how it was got.

    Attributes:
        domain: The domain asked about.
        policy: The policy to apply (fetched now or cached), or None: deliver
            as if the domain had no MTA-STS.
        fetched: The policy was fetched for this request (not from the cache).
        error: When a fetch failed, why: a :class:`~mxroute.PolicyResponse`
            reason code (``"connect"``, ``"tls"``, ``"http-status"``, ...) or
            ``"invalid-policy"``; None when no fetch failed.
        detail: What a person reads about the failure (``"HTTP 404"``).
    """

    domain: str
    policy: MTASTSPolicy | None = None
    fetched: bool = False
    error: str | None = None
    detail: str = ""


@runtime_checkable
class PolicyCache(Protocol):
    """Where MTA-STS policies are kept between routes (RFC 8461 §5.1), keyed by domain.

    A cache gives back only policies younger than their ``max_age``.
    Implementations must be safe to use from several threads.
    """

    def get(self, domain: str) -> MTASTSPolicy | None:
        """The domain's policy if one is stored and not expired, else None."""
        ...

    def put(self, domain: str, policy: MTASTSPolicy) -> None:
        """Store the domain's policy (replacing the one stored), from now for ``max_age``."""
        ...


def _size(value: object) -> int:
    return integer(value, "max_entries", low=1)


class MemoryPolicyCache:
    """A policy cache in memory: the default, one per :class:`~mxroute.Router`.

    Args:
        max_entries: How many domains to keep; past that the least recently
            stored policy goes first.
        clock: Seconds since the epoch (:func:`time.time`); tests give their own.

    Raises:
        InvalidInput: ``max_entries`` is not an integer >= 1.
    """

    def __init__(
        self, max_entries: int = DEFAULT_CACHE_SIZE, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_entries = _size(max_entries)
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[str, tuple[MTASTSPolicy, float]] = (
            collections.OrderedDict()
        )

    def get(self, domain: str) -> MTASTSPolicy | None:
        """The domain's policy if one is stored and not expired, else None."""
        with self._lock:
            entry = self._entries.get(domain)
            if entry is None:
                return None
            policy, expires = entry
            if self.clock() >= expires:
                del self._entries[domain]
                return None
            return policy

    def put(self, domain: str, policy: MTASTSPolicy) -> None:
        """Store the domain's policy, from now for its ``max_age``."""
        with self._lock:
            self._entries.pop(domain, None)
            self._entries[domain] = (policy, self.clock() + policy.max_age)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        """How many policies are stored (expired ones included until asked for)."""
        return len(self._entries)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the lock (each copy gets its own)."""
        with self._lock:
            return {"max_entries": self.max_entries, "clock": self.clock, "entries": self._entries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.max_entries = state["max_entries"]
        self.clock = state["clock"]
        self._lock = threading.Lock()
        self._entries = state["entries"]


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS mta_sts_policies ("
    "domain TEXT PRIMARY KEY, id TEXT, policy TEXT NOT NULL, "
    "stored REAL NOT NULL, expires REAL NOT NULL)"
)


class SQLitePolicyCache:
    """A policy cache in an SQLite file (standard library :mod:`sqlite3`): survives a restart.

    Every call opens its own connection, so one cache serves many threads
    (and processes sharing the file). A file that cannot be read or written
    while routing costs a cache miss, never a routing failure: the cache is
    an optimisation and a downgrade guard, not a source of errors.

    Args:
        path: The database file (created when missing).
        max_entries: How many domains to keep; past that the least recently
            stored policies are deleted.
        clock: Seconds since the epoch (:func:`time.time`).

    Raises:
        InvalidInput: ``max_entries`` is not an integer >= 1.
        MXRouteError: The file cannot be opened or is not an SQLite database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        max_entries: int = DEFAULT_CACHE_SIZE,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import sqlite3

        self.path = str(path)
        self.max_entries = _size(max_entries)
        self.clock = clock
        try:
            with closing(self._connect()) as db, db:
                db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise MXRouteError(
                f"cannot use {self.path!r} as the MTA-STS policy cache: {exc}"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        import sqlite3

        return sqlite3.connect(self.path, timeout=5.0)

    def get(self, domain: str) -> MTASTSPolicy | None:
        """The domain's policy if one is stored and not expired, else None."""
        import sqlite3

        try:
            with closing(self._connect()) as db:
                row = db.execute(
                    "SELECT id, policy FROM mta_sts_policies WHERE domain = ? AND expires > ?",
                    (domain, self.clock()),
                ).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            return MTASTSPolicy.parse(row[1], id=row[0])
        except InvalidInput:  # a row written by something else: a miss
            return None

    def put(self, domain: str, policy: MTASTSPolicy) -> None:
        """Store the domain's policy, from now for its ``max_age``; trim to ``max_entries``."""
        import sqlite3

        now = self.clock()
        try:
            with closing(self._connect()) as db, db:
                db.execute(
                    "INSERT OR REPLACE INTO mta_sts_policies VALUES (?, ?, ?, ?, ?)",
                    (domain, policy.id, policy.to_text(), now, now + policy.max_age),
                )
                db.execute(
                    "DELETE FROM mta_sts_policies WHERE domain IN (SELECT domain FROM "
                    "mta_sts_policies ORDER BY stored DESC LIMIT -1 OFFSET ?)",
                    (self.max_entries,),
                )
        except sqlite3.Error:
            return

    def __len__(self) -> int:
        """How many policies are stored (expired ones included)."""
        with closing(self._connect()) as db:
            (count,) = db.execute("SELECT COUNT(*) FROM mta_sts_policies").fetchone()
        return int(count)


@attrs.define
class PolicyService:
    """How the drivers answer a :class:`PolicyRequest`: the cache, and a fetcher when needed.

    ``lookup`` answers from the cache when it can; otherwise the driver
    fetches (``fetcher``, within the time left) and ``settle`` turns the
    fetcher's response into the answer, storing a new policy.

    Attributes:
        cache: The policy cache.
        fetcher: A :class:`~mxroute.PolicyFetcher` and/or
            :class:`~mxroute.AsyncPolicyFetcher`; None makes an
            :class:`~mxroute.HTTPSPolicyFetcher` on first use.
        address_scope: The scope of the fetcher made (the routing policy's).
    """

    cache: PolicyCache = attrs.field(factory=MemoryPolicyCache)
    fetcher: PolicyFetcher | AsyncPolicyFetcher | None = None
    address_scope: AddressScope | str = "routable"
    made: bool = False
    """The fetcher was made here (a pickled copy makes its own)."""

    def the_fetcher(self) -> PolicyFetcher | AsyncPolicyFetcher:
        """The fetcher, made on first use when none was given."""
        if self.fetcher is None:
            from mxroute._stsfetch import HTTPSPolicyFetcher

            self.fetcher = HTTPSPolicyFetcher(address_scope=self.address_scope)
            self.made = True
        return self.fetcher

    def portable(self) -> PolicyService:
        """This service for a pickled router: without a fetcher it made itself."""
        return attrs.evolve(self, fetcher=None, made=False) if self.made else self

    def lookup(self, request: PolicyRequest) -> PolicyAnswer | None:
        """The answer without a fetch, or None when the policy must be fetched."""
        cached = self.cache.get(request.domain)
        current = request.record_id is None or (
            cached is not None and cached.id == request.record_id
        )
        if current and not request.refresh:
            return PolicyAnswer(request.domain, cached)
        if not request.addresses:
            return self._failed(request, cached, "no-address", "mta-sts host has no address")
        return None

    def settle(
        self, request: PolicyRequest, text: str | None, error: str | None, detail: str
    ) -> PolicyAnswer:
        """The answer after a fetch: its policy (now cached), or the cached one on failure.

        Args:
            request: The request fetched for.
            text: The policy body fetched, or None.
            error: The fetch's reason code when it failed.
            detail: The fetch's description of the failure.
        """
        cached = self.cache.get(request.domain)
        if text is None:
            return self._failed(request, cached, error or "protocol", detail)
        try:
            policy = MTASTSPolicy.parse(text, id=request.record_id)
        except InvalidInput as exc:
            return self._failed(request, cached, "invalid-policy", str(exc))
        self.cache.put(request.domain, policy)
        return PolicyAnswer(request.domain, policy, fetched=True)

    @staticmethod
    def _failed(
        request: PolicyRequest, cached: MTASTSPolicy | None, error: str, detail: str
    ) -> PolicyAnswer:
        return PolicyAnswer(request.domain, cached, error=error, detail=detail)


class _Notes(Protocol):
    """What :class:`PolicyLookup` needs of the planner's trail."""

    findings: list[Finding]

    def add(self, finding: Finding) -> None: ...


Received = Sequence[Answer | PolicyAnswer]
"""What a batch is answered with: DNS answers and policy answers."""


def dns_answers(received: Received) -> list[Answer]:
    """``received`` when every item is a DNS :class:`~mxroute.Answer`.

    Raises:
        TypeError: A driver sent something else (a bug in the driver).
    """
    out = [item for item in received if isinstance(item, Answer)]
    if len(out) != len(received):
        raise TypeError(f"expected DNS answers, got {list(received)!r}")
    return out


def sts_records(txt: Answer) -> list[str]:
    """The texts of the TXT answer's records that start with ``v=STSv1`` (RFC 8461 §3.1)."""
    texts = [join_txt(r) for r in txt.records if isinstance(r, str)]
    return [t for t in texts if t.startswith("v=STSv1")]


@attrs.define
class _Scratch:
    """Findings held back until :meth:`PolicyLookup.apply` knows whether it refetches."""

    findings: list[Finding] = attrs.Factory(list)

    def add(self, finding: Finding) -> None:
        if finding not in self.findings:
            self.findings.append(finding)


_FETCH_CODES = frozenset(
    {"mta-sts-policy-unreachable", "mta-sts-policy-invalid", "mta-sts-id-mismatch"}
)
"""Findings about the first fetch, kept when the policy is fetched again."""


@attrs.define
class PolicyLookup:
    """The planner's MTA-STS state for one route: its questions, its request, the application.

    Made by :meth:`start` when the policy asks for MTA-STS on an MX route
    (not for relays or literals: their next hop is configuration, not the
    recipient domain's choice).
    """

    domain: str
    questions: tuple[Question, ...]
    request: PolicyRequest | None = None
    answer: PolicyAnswer | None = None

    @classmethod
    def start(cls, domain: str, policy: RoutingPolicy) -> PolicyLookup:
        """The batch-1 questions: ``_mta-sts.<domain>`` TXT, ``mta-sts.<domain>`` A/AAAA."""
        host = f"mta-sts.{domain}"
        return cls(
            domain,
            (
                Question(f"_mta-sts.{domain}", "TXT"),
                *(Question(host, family.rdtype) for family in policy.address_families),
            ),
        )

    def take(self, answers: Sequence[Answer], policy: RoutingPolicy, notes: _Notes) -> None:
        """Read the batch-1 answers (in the order of :attr:`questions`); make the request."""
        txt, *hosts = answers
        record_id = self._record_id(txt, notes)
        addresses: list[IPAddress] = []
        for answer in hosts:
            if answer.status is AnswerStatus.RECORDS:
                version = 4 if answer.rdtype == "A" else 6
                for address in answer.addresses:
                    if (
                        address.version == version
                        and address not in addresses
                        and policy.address_scope.allows(address)
                    ):
                        addresses.append(address)
        self.request = PolicyRequest(self.domain, record_id, addresses)

    def _record_id(self, txt: Answer, notes: _Notes) -> str | None:
        where = f"_mta-sts.{self.domain}"
        if txt.status.temporary:
            notes.add(
                make_finding(
                    "mta-sts-lookup-failed",
                    where,
                    f"looking up the TXT record {where} failed temporarily "
                    f"({txt.status.name}); a cached MTA-STS policy is used if there is one",
                )
            )
            return None
        sts = sts_records(txt)
        if len(sts) > 1:
            notes.add(
                make_finding(
                    "mta-sts-record-multiple",
                    where,
                    f"{where} has {len(sts)} TXT records starting with v=STSv1; RFC 8461 "
                    "§3.1 allows one: MTA-STS is not applied (a cached policy still is)",
                )
            )
            return None
        if not sts:
            return None
        try:
            return MTASTSRecord.parse(sts[0]).id
        except InvalidInput as exc:
            notes.add(
                make_finding("mta-sts-record-invalid", where, f"{exc}; MTA-STS is not applied")
            )
            return None

    def pending(self) -> tuple[PolicyRequest, ...]:
        """The request to put in batch 2 (empty once answered)."""
        return () if self.request is None or self.answer is not None else (self.request,)

    def receive(self, received: Received) -> PolicyAnswer:
        """Take the driver's answer to :meth:`pending`'s request.

        Raises:
            TypeError: The driver did not answer with one :class:`PolicyAnswer`.
        """
        if len(received) != 1 or not isinstance(received[0], PolicyAnswer):
            raise TypeError(f"expected one PolicyAnswer, got {list(received)!r}")
        self.answer = received[0]
        return self.answer

    def apply(
        self, hosts: list[MailHost], notes: _Notes
    ) -> Generator[tuple[PolicyRequest], Received, tuple[list[MailHost], MTASTSPolicy | None]]:
        """Apply the answered policy to ``hosts``; refetch once if ``enforce`` left none.

        Returns:
            The hosts (each with its ``tls``) and the policy applied (None
            when none applies, or its mode is ``none``).

        Raises:
            TemporaryRouteError: ``enforce`` covered no host, even after the refetch.
        """
        assert self.request is not None
        assert self.answer is not None
        first = _Scratch()
        self._note_answer(self.answer, first)
        kept, used = self._enforce(hosts, self.answer.policy, first)
        refetch = used is not None and not kept and used.mode is MTASTSMode.ENFORCE
        for finding in first.findings:  # a refetch judges the hosts anew
            if not refetch or finding.code in _FETCH_CODES:
                notes.add(finding)
        if not refetch:
            return kept, used
        self.request = attrs.evolve(self.request, refresh=True)
        self.answer = None
        again = self.receive((yield (self.request,)))
        self._note_answer(again, notes)
        kept, used = self._enforce(hosts, again.policy, notes)
        if used is not None and not kept and used.mode is MTASTSMode.ENFORCE:
            raise TemporaryRouteError(
                self.domain,
                f"no mail host of {self.domain} is covered by its MTA-STS policy "
                f"(mode enforce, mx {', '.join(used.mx)}), even after fetching the policy "
                "again: keep the message queued and retry later (RFC 8461 §5.1)",
                notes.findings,
            )
        return kept, used

    def _note_answer(self, answer: PolicyAnswer, notes: _Notes) -> None:
        where = f"mta-sts.{self.domain}"
        assert self.request is not None
        if answer.error is not None:
            why = f"{answer.error}" + (f": {answer.detail}" if answer.detail else "")
            record_id = self.request.record_id
            if answer.policy is not None and record_id not in (None, answer.policy.id):
                notes.add(
                    make_finding(
                        "mta-sts-id-mismatch",
                        f"_mta-sts.{self.domain}",
                        f"the _mta-sts record of {self.domain} announces policy id "
                        f"{record_id}, but fetching it failed ({why}); the cached "
                        f"policy (id {answer.policy.id}) is applied until it expires",
                    )
                )
            elif answer.policy is None:
                code = (
                    "mta-sts-policy-invalid"
                    if answer.error == "invalid-policy"
                    else "mta-sts-policy-unreachable"
                )
                notes.add(
                    make_finding(
                        code,
                        where,
                        f"the MTA-STS policy of {self.domain} could not be used ({why}); "
                        "with no cached policy, mail goes as if the domain had no MTA-STS",
                    )
                )
        policy = answer.policy
        if policy is not None and policy.mode is MTASTSMode.ENFORCE:
            notes.add(
                make_finding(
                    "mta-sts-enforce",
                    self.domain,
                    f"{self.domain} has an MTA-STS policy in mode enforce (id {policy.id}, "
                    f"mx {', '.join(policy.mx)})",
                )
            )
        elif policy is not None and policy.mode is MTASTSMode.TESTING:
            notes.add(make_finding("mta-sts-testing", self.domain))
        elif policy is not None and policy.mode is MTASTSMode.NONE:
            notes.add(make_finding("mta-sts-mode-none", self.domain))

    def _enforce(
        self, hosts: list[MailHost], policy: MTASTSPolicy | None, notes: _Notes
    ) -> tuple[list[MailHost], MTASTSPolicy | None]:
        if policy is None or policy.mode is MTASTSMode.NONE:
            return hosts, None
        enforce = policy.mode is MTASTSMode.ENFORCE
        level = TLSLevel.MTA_STS if enforce else TLSLevel.MTA_STS_TESTING
        reason = "mta-sts-enforce" if enforce else "mta-sts-testing"
        kept: list[MailHost] = []
        for host in hosts:
            if host.tls.level in (TLSLevel.DANE, TLSLevel.ENCRYPT):  # DANE first (§2)
                kept.append(host)
                continue
            if not policy.matches(host.name):
                notes.add(
                    make_finding(
                        "mta-sts-mx-not-covered",
                        host.name,
                        f"the MX host {host.name} is not covered by the MTA-STS policy of "
                        f"{self.domain} (mx {', '.join(policy.mx)}); "
                        + ("it was dropped" if enforce else "reported only (mode testing)"),
                    )
                )
                if enforce:
                    continue
            tls = TLSRequirement(level, names=(host.name,), reason=reason)
            kept.append(attrs.evolve(host, tls=tls))
        return kept, policy


publish(globals())
