"""The delivery attempt plan: which addresses to connect to, in which order. Pure, no I/O.

A :class:`~mxroute.MailRoute` says which hosts, in which order. A
:class:`DeliveryPlan` says which *connections* to try: each address once, in
RFC 5321 §5.1 order, IPv6 and IPv4 interleaved within a preference tier as
RFC 8305 §4 says, cut to the address limit with both families kept, and
reordered by what an :class:`UnreachableMemory` remembers of recent failures.
:func:`~mxroute.connect` walks it; nothing here waits or touches a socket.
"""

from __future__ import annotations

import collections
import enum
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from mxroute._checks import attrs_validator, integer, port, seconds
from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._model import MailHost, RouteKind, _instance_of, as_tuple, check_flag
from mxroute._names import IPAddress, format_address, parse_ip
from mxroute._policy import AddressFamily, AddressScope, RoutingPolicy
from mxroute._tls import OPPORTUNISTIC, TLSRequirement

if TYPE_CHECKING:
    from mxroute._model import MailRoute

__all__ = [
    "DEFAULT_ADDRESS_LIMIT",
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_RETRY_AFTER",
    "DEFAULT_SESSION_LIMIT",
    "Attempt",
    "DeliveryPlan",
    "MemoryMode",
    "Unreachable",
    "UnreachableMemory",
    "UnreachableStore",
    "plan_delivery",
]

DEFAULT_ADDRESS_LIMIT = 5
"""Addresses a delivery tries at most: Postfix's ``smtp_mx_address_limit``.

Five addresses cover the two or three MX hosts of nearly every domain with
both families, and bound how long one delivery can take when every host is
down (five connect timeouts, not one per published address).
"""

DEFAULT_SESSION_LIMIT = 2
"""SMTP sessions a delivery opens at most: Postfix's ``smtp_mx_session_limit``.

A session is a TCP connection that was made; one whose host then greets
with 4xx/5xx, never greets, or drops it counts. Two sessions give a second
host its chance without letting a domain whose hosts all reject keep the
client busy.
"""

DEFAULT_RETRY_AFTER = 60.0
"""Seconds an address that failed is remembered after its first failure."""

DEFAULT_MAX_RETRY_AFTER = 900.0
"""The longest an address is remembered: the time doubles per failure up to this.

Fifteen minutes is the first retry interval of Exim's default retry rule: an
address down for long is tried again about as often as a queue is run.
"""


_E = TypeVar("_E", bound=enum.Enum)


def _member(kind: type[_E], value: _E | str, what: str) -> _E:
    """*value* as a member of the enum *kind*; the message lists the members' values."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise InvalidInput(
            "invalid-" + what.replace("_", "-"),
            f"{what} must be one of {allowed}, not {value!r}",
            repr(value),
        ) from None


def _scope(value: AddressScope | str) -> AddressScope:
    return _member(AddressScope, value, "address_scope")


def _family(address: IPAddress) -> AddressFamily:
    return AddressFamily.IPV4 if address.version == 4 else AddressFamily.IPV6


def _address(value: IPAddress | str) -> IPAddress:
    parsed = parse_ip(value) if isinstance(value, str) else None
    return value if parsed is None else parsed  # type: ignore[return-value]


def _default_port(attempt: Attempt) -> int:
    port: int = getattr(attempt.host, "port", 25)  # a wrong host is the validator's to refuse
    return port


def _default_tls(attempt: Attempt) -> TLSRequirement:
    tls: TLSRequirement = getattr(attempt.host, "tls", OPPORTUNISTIC)
    return tls


@attrs.frozen
class Attempt:
    """One connection to try: an address of a host, the port, and the TLS to insist on.

    Attributes:
        host: The mail host the address belongs to.
        address: The IP address to connect to.
        port: The TCP port (default: the host's).
        tls: What TLS the client must insist on in this session (default: the
            host's :attr:`MailHost.tls <mxroute.MailHost.tls>`). Connecting
            does not start TLS: the SMTP client does, after EHLO, and must
            honour this (never fall back to plain text below its level).
    """

    host: MailHost = attrs.field(validator=_instance_of(MailHost))
    address: IPAddress = attrs.field(converter=_address)
    port: int = attrs.field(
        default=attrs.Factory(_default_port, takes_self=True), validator=attrs_validator(port)
    )
    tls: TLSRequirement = attrs.field(
        default=attrs.Factory(_default_tls, takes_self=True),
        validator=_instance_of(TLSRequirement),
    )

    @address.validator
    def _check_address(self, _attribute: object, value: object) -> None:
        if value not in self.host.addresses:
            raise InvalidInput(
                "invalid-attempt",
                f"{value!r} is not an address of the host {self.host.name}",
                repr(value),
            )

    @property
    def family(self) -> AddressFamily:
        """The address family of :attr:`address`."""
        return _family(self.address)

    def to_dict(self) -> dict[str, Any]:
        """The attempt as plain data, ready for JSON."""
        return {
            "host": self.host.name,
            "preference": self.host.preference,
            "address": format_address(self.address),
            "port": self.port,
            "tls": self.tls.to_dict(),
        }


def _tiers(attempts: Iterable[Attempt]) -> list[list[Attempt]]:
    """Consecutive runs of attempts whose hosts have the same preference."""
    runs: list[list[Attempt]] = []
    for attempt in attempts:
        if runs and runs[-1][-1].host.preference == attempt.host.preference:
            runs[-1].append(attempt)
        else:
            runs.append([attempt])
    return runs


def _attempts(values: Iterable[Attempt]) -> tuple[Attempt, ...]:
    out = as_tuple(values, "attempts")
    for value in out:
        if not isinstance(value, Attempt):
            raise InvalidInput(
                "invalid-attempts", f"attempts must be Attempt values, not {value!r}", repr(value)
            )
    return out


@attrs.frozen
class DeliveryPlan:
    """The connections a delivery tries, in order: what :func:`~mxroute.connect` walks.

    Build one with :meth:`MailRoute.plan <mxroute.MailRoute.plan>`; a plan
    built by hand is checked the same way when connecting (its addresses
    must be inside :attr:`address_scope`). Iterating a plan yields its
    :attr:`attempts`.

    Attributes:
        domain: The domain (or literal) the plan delivers to.
        attempts: The connections to try, in order, each address and port once.
        skipped: Attempts left out because an :class:`UnreachableMemory` in
            :attr:`MemoryMode.SKIP` remembers them as failed; they are logged
            as skipped when connecting.
        session_limit: The most SMTP sessions (TCP connections made) to open.
        address_scope: Addresses outside it are never connected to.
        trusted: The addresses are a configured next hop (a relay route), trusted
            as written as routing trusts them: :attr:`address_scope` is not
            applied. :meth:`MailRoute.plan <mxroute.MailRoute.plan>` sets it for
            :attr:`RouteKind.RELAY <mxroute.RouteKind.RELAY>` routes only.
    """

    domain: str
    attempts: tuple[Attempt, ...] = attrs.field(converter=_attempts)
    skipped: tuple[Attempt, ...] = attrs.field(default=(), converter=_attempts)
    session_limit: int = attrs.field(
        default=DEFAULT_SESSION_LIMIT, validator=attrs_validator(integer, low=1)
    )
    address_scope: AddressScope = attrs.field(default=AddressScope.ROUTABLE, converter=_scope)
    trusted: bool = attrs.field(default=False, validator=check_flag)

    def __iter__(self) -> Iterator[Attempt]:
        return iter(self.attempts)

    def __len__(self) -> int:
        return len(self.attempts)

    def tiers(self) -> tuple[tuple[Attempt, ...], ...]:
        """The attempts in runs of equal preference: the groups that are raced.

        Happy Eyeballs races the addresses of one run (RFC 8305 §5); a run
        with a higher preference value starts only when the one before it
        has failed.
        """
        return tuple(tuple(run) for run in _tiers(self.attempts))

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain data, ready for JSON."""
        return {
            "domain": self.domain,
            "attempts": [a.to_dict() for a in self.attempts],
            "skipped": [a.to_dict() for a in self.skipped],
            "session_limit": self.session_limit,
            "address_scope": self.address_scope.value,
            "trusted": self.trusted,
        }


class MemoryMode(enum.Enum):
    """What a plan does with an address that an :class:`UnreachableMemory` remembers."""

    TRY_LAST = "try-last"
    """Keep it, after every address not remembered (the default): a stale
    memory costs at most one attempt at the end, never a delivery."""
    SKIP = "skip"
    """Leave it out until its retry time has come (Exim's way with hosts)."""


@attrs.frozen
class Unreachable:
    """What an :class:`UnreachableMemory` remembers of one address and port.

    Attributes:
        address: The address that failed.
        port: The port it failed on.
        until: The memory's clock time until which the address counts as
            unreachable.
        failures: Failures in a row, since the last success.
        outcome: How the last attempt ended (an
            :class:`~mxroute.AttemptOutcome` value such as ``"refused"``).
    """

    address: IPAddress
    port: int
    until: float
    failures: int
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data, ready for JSON."""
        return {**attrs.asdict(self), "address": format_address(self.address)}


class UnreachableStore(Protocol):
    """Where an :class:`UnreachableMemory` keeps its entries: plug in a shared one.

    Keys are strings such as ``"[192.0.2.1]:25"``. The memory serialises its
    own calls with a lock; a store shared between processes must make each
    call atomic itself, and the memory's clock must then be one they share
    (``clock=time.time``).
    """

    def get(self, key: str) -> Unreachable | None:
        """The entry stored under *key*, or None."""

    def put(self, key: str, entry: Unreachable) -> None:
        """Store *entry* under *key*, replacing what was there."""

    def remove(self, key: str) -> None:
        """Forget *key*; no error if it is not there."""


class _DictStore:
    """The default store: a dict in this process, holding at most *size* entries."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.entries: collections.OrderedDict[str, Unreachable] = collections.OrderedDict()

    def get(self, key: str) -> Unreachable | None:
        return self.entries.get(key)

    def put(self, key: str, entry: Unreachable) -> None:
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)  # the least recently failed goes first

    def remove(self, key: str) -> None:
        self.entries.pop(key, None)


class UnreachableMemory:
    """A shared, thread-safe memory of addresses that failed recently.

    :func:`~mxroute.connect` records every failed attempt in it and forgets
    an address once it connects; :meth:`MailRoute.plan
    <mxroute.MailRoute.plan>` then tries remembered addresses last, or skips
    them (``mode``) until their retry time. The time an address is
    remembered starts at ``retry_after`` seconds and doubles with each
    failure in a row, up to ``max_retry_after``.

    Share one memory between the deliveries of a process (it is safe to use
    from several threads and tasks).

    Args:
        mode: :attr:`MemoryMode.TRY_LAST` (default) or :attr:`MemoryMode.SKIP`.
        retry_after: Seconds an address is remembered after its first failure.
        max_retry_after: The longest it is remembered, however often it failed.
        store: Where entries live (see :class:`UnreachableStore`); default:
            a dict in this process holding the 10,000 most recent failures.
        clock: Returns the current time in seconds; default
            :func:`time.monotonic`. Tests pass a fake.

    Raises:
        InvalidInput: A setting is wrong (a negative time, an unknown mode).
    """

    def __init__(
        self,
        *,
        mode: MemoryMode | str = MemoryMode.TRY_LAST,
        retry_after: float = DEFAULT_RETRY_AFTER,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        store: UnreachableStore | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.mode = _member(MemoryMode, mode, "memory_mode")
        self.retry_after = seconds(retry_after, "retry_after")
        self.max_retry_after = seconds(max_retry_after, "max_retry_after")
        if self.max_retry_after < self.retry_after:
            raise InvalidInput(
                "invalid-max-retry-after",
                f"max_retry_after ({max_retry_after!r}) must not be less than "
                f"retry_after ({retry_after!r})",
                repr(max_retry_after),
            )
        self.store: UnreachableStore = _DictStore() if store is None else store
        self.clock = time.monotonic if clock is None else clock
        self._lock = threading.Lock()

    @staticmethod
    def _key(address: IPAddress, port: int) -> str:
        return f"[{format_address(address)}]:{port}"

    def lookup(self, address: IPAddress, port: int) -> Unreachable | None:
        """The entry for *address* and *port* if its retry time has not come, else None."""
        with self._lock:
            entry = self.store.get(self._key(address, port))
        if entry is None or entry.until <= self.clock():
            return None
        return entry

    def record_failure(self, address: IPAddress, port: int, outcome: str) -> Unreachable:
        """Remember that *address* failed on *port* (how: *outcome*); return the entry."""
        key = self._key(address, port)
        with self._lock:
            now = self.clock()
            old = self.store.get(key)
            failures = 1 if old is None else old.failures + 1
            wait = min(self.retry_after * 2.0 ** min(failures - 1, 60), self.max_retry_after)
            entry = Unreachable(address, port, now + wait, failures, outcome)
            self.store.put(key, entry)
        return entry

    def record_success(self, address: IPAddress, port: int) -> None:
        """Forget *address* on *port*: it took a connection."""
        with self._lock:
            self.store.remove(self._key(address, port))

    def __repr__(self) -> str:
        return (
            f"UnreachableMemory(mode={self.mode.value!r}, retry_after={self.retry_after:g}, "
            f"max_retry_after={self.max_retry_after:g})"
        )


def _digest(key: str, name: str) -> bytes:
    return hashlib.sha256(f"{key}\0{name}".encode()).digest()


def _interleave(run: list[Attempt], first: AddressFamily, first_count: int) -> list[Attempt]:
    """RFC 8305 §4: *first_count* of the first family, then the families alternate."""
    firsts = [a for a in run if a.family is first]
    others = [a for a in run if a.family is not first]
    out = firsts[:first_count]
    firsts = firsts[first_count:]
    while firsts or others:
        if others:
            out.append(others.pop(0))
        if firsts:
            out.append(firsts.pop(0))
    return out


def _limit(attempts: list[Attempt], limit: int) -> list[Attempt]:
    """The first *limit* attempts, with a family the cut would lose kept in the last place."""
    kept = attempts[:limit]
    families = {a.family for a in kept}
    missing = next((a for a in attempts[limit:] if a.family not in families), None)
    if missing is not None and limit > 1:
        kept[-1] = missing
    return kept


def plan_delivery(
    route: MailRoute,
    policy: RoutingPolicy | None = None,
    *,
    first_family: AddressFamily | str | None = None,
    first_family_count: int = 1,
    address_limit: int = DEFAULT_ADDRESS_LIMIT,
    session_limit: int = DEFAULT_SESSION_LIMIT,
    memory: UnreachableMemory | None = None,
    message_key: str | None = None,
    rotation: int = 0,
) -> DeliveryPlan:
    """The attempt plan of *route*; :meth:`MailRoute.plan <mxroute.MailRoute.plan>` documents it."""
    policy = RoutingPolicy() if policy is None else policy
    if not isinstance(policy, RoutingPolicy):
        raise InvalidInput(
            "invalid-policy", f"policy must be a RoutingPolicy, not {policy!r}", repr(policy)
        )
    families = policy.address_families
    first = (
        families[0]
        if first_family is None
        else _member(AddressFamily, first_family, "address_family")
    )
    if first not in families:
        raise InvalidInput(
            "invalid-address-family",
            f"first_family {first.value!r} is not among the policy's address_families "
            f"({', '.join(f.value for f in families)})",
            first.value,
        )
    integer(first_family_count, "first_family_count", low=1)
    integer(address_limit, "address_limit", low=1)
    integer(session_limit, "session_limit", low=1)
    integer(rotation, "rotation", low=0)
    if message_key is not None and not isinstance(message_key, str):
        raise InvalidInput(
            "invalid-message-key",
            f"message_key must be a string or None, not {message_key!r}",
            repr(message_key),
        )
    if memory is not None and not isinstance(memory, UnreachableMemory):
        raise InvalidInput(
            "invalid-memory",
            f"memory must be an UnreachableMemory or None, not {memory!r}",
            repr(memory),
        )

    hosts = list(route.hosts)
    if message_key is not None:  # the same order for every retry of one message
        hosts.sort(key=lambda h: (h.preference, _digest(message_key, h.name)))
    seen: set[tuple[IPAddress, int]] = set()
    ordered: list[Attempt] = []
    for host in hosts:
        for address in host.addresses:
            if (address, host.port) not in seen and _family(address) in families:
                seen.add((address, host.port))
                ordered.append(Attempt(host, address))

    walked: list[Attempt] = []
    for run in _tiers(ordered):
        run = _interleave(run, first, first_family_count)
        shift = rotation % len(run)
        walked.extend(run[shift:] + run[:shift])

    fresh: list[Attempt] = []
    remembered: list[Attempt] = []
    for attempt in walked:
        known = memory is not None and memory.lookup(attempt.address, attempt.port) is not None
        (remembered if known else fresh).append(attempt)
    skipped: list[Attempt] = []
    if memory is not None and memory.mode is MemoryMode.SKIP:
        skipped, remembered = remembered, []
    return DeliveryPlan(
        route.domain,
        _limit(fresh + remembered, address_limit),
        skipped,
        session_limit,
        policy.address_scope,
        route.kind is RouteKind.RELAY,
    )


publish(globals())
