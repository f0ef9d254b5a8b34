"""Connecting to a route: walk the attempt plan, race within a tier, check the greeting.

:func:`connect` (threads) and :func:`connect_async` (asyncio tasks) are thin
drivers over one walk (:class:`_Walk`): it holds the plan, the deadlines,
the session count, the attempt log and the memory, and decides what comes
next. The drivers only start attempts, wait, and read greeting lines, which
the one greeting parser (:class:`_Greeting`) judges.

Everything that touches the network goes through a connector (the one seam):
:class:`SocketConnector` by default, a fake in tests
(``mxroute.testing``'s fake mail network).
"""

from __future__ import annotations

import collections
import contextlib
import enum
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from mxroute._attempts import Attempt, DeliveryPlan, UnreachableMemory
from mxroute._checks import flag, seconds
from mxroute._errors import HostsUnreachable, InvalidInput
from mxroute._exports import publish
from mxroute._model import MailHost, MailRoute
from mxroute._names import IPAddress, format_address
from mxroute._policy import AddressScope, RoutingPolicy, address_allowed

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "DEFAULT_ATTEMPT_TIMEOUT",
    "DEFAULT_GREETING_TIMEOUT",
    "DEFAULT_STAGGER",
    "AsyncConnection",
    "AsyncConnector",
    "AttemptOutcome",
    "AttemptRecord",
    "Connection",
    "Connector",
    "SocketConnector",
    "connect",
    "connect_async",
]

DEFAULT_STAGGER = 0.25
"""Seconds before the next address of a tier is tried: RFC 8305 §5's "Connection Attempt Delay"."""

DEFAULT_ATTEMPT_TIMEOUT = 30.0
"""Seconds one TCP connection attempt may take: Postfix's ``smtp_connect_timeout``."""

DEFAULT_GREETING_TIMEOUT = 300.0
"""Seconds to wait for the 220 greeting: RFC 5321 §4.5.3.2's initial 220 timeout, 5 minutes."""

_MAX_GREETING = 16 * 1024
"""Bytes a greeting may have in all; more is refused as malformed (it never ends)."""


class Connector(Protocol):
    """Opens TCP connections for :func:`~mxroute.connect`: the one seam to the network.

    :class:`~mxroute.SocketConnector` is the real one; the fake mail network
    of ``mxroute.testing`` is another.
    """

    def open_connection(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        """A connected, blocking TCP socket to (address, port), or raise OSError.

        Raise :class:`ConnectionRefusedError` when refused, :class:`TimeoutError`
        after *timeout* seconds, another :class:`OSError` otherwise.
        """


class AsyncConnector(Protocol):
    """Opens TCP connections for :func:`~mxroute.connect_async`, in asyncio."""

    async def open_connection_async(
        self, address: IPAddress, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connected streams to (address, port), or raise OSError.

        The caller enforces timeouts by cancelling.
        """


def _family(address: IPAddress) -> socket.AddressFamily:
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


class SocketConnector:
    """The real connector: a TCP connection to an IP address, never a name lookup.

    It implements both :class:`~mxroute.Connector` and
    :class:`~mxroute.AsyncConnector`.
    """

    def open_connection(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        """A connected, blocking socket (see :meth:`Connector.open_connection`)."""
        sock = socket.socket(_family(address), socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((str(address), port))
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        return sock

    async def open_connection_async(
        self, address: IPAddress, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connected streams (see :meth:`AsyncConnector.open_connection_async`)."""
        import asyncio

        sock = socket.socket(_family(address), socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (str(address), port))
            return await asyncio.open_connection(sock=sock)
        except BaseException:
            sock.close()
            raise

    def __repr__(self) -> str:
        return "SocketConnector()"


class AttemptOutcome(enum.Enum):
    """How one connection attempt ended."""

    CONNECTED = "connected"
    """It connected (and greeted with 220, when the greeting is checked): the winner."""
    REFUSED = "refused"
    """The host refused the TCP connection."""
    TIMEOUT = "timeout"
    """No TCP connection within the attempt's timeout or the deadline."""
    UNREACHABLE = "unreachable"
    """Another network error (no route to host, network unreachable, ...)."""
    GREETING_REJECTED = "greeting-rejected"
    """The host greeted with a 4xx or 5xx reply (or a malformed one)."""
    GREETING_TIMEOUT = "greeting-timeout"
    """The host took the connection but sent no greeting in time."""
    DROPPED = "dropped"
    """The host closed the connection before or right after its greeting."""
    OUT_OF_SCOPE = "out-of-scope"
    """The address is outside the address scope: never connected to."""
    SKIPPED = "skipped"
    """The unreachable memory says the address failed recently: not tried."""
    CANCELLED = "cancelled"
    """Another attempt of its tier connected first: this one was stopped."""


_FAILURES = frozenset(
    {
        AttemptOutcome.REFUSED,
        AttemptOutcome.TIMEOUT,
        AttemptOutcome.UNREACHABLE,
        AttemptOutcome.GREETING_REJECTED,
        AttemptOutcome.GREETING_TIMEOUT,
        AttemptOutcome.DROPPED,
    }
)
"""The outcomes an unreachable memory remembers."""
_SESSIONS = frozenset(
    {AttemptOutcome.GREETING_REJECTED, AttemptOutcome.GREETING_TIMEOUT, AttemptOutcome.DROPPED}
)
"""The failures that used up an SMTP session: the TCP connection was made."""


@attrs.frozen
class AttemptRecord:
    """One entry of the attempt log: an address tried, and how it went.

    Attributes:
        host: The mail host's name.
        address: The address.
        port: The TCP port.
        outcome: How the attempt ended.
        detail: What happened, in words (the error, the greeting received).
        started: When it started, in seconds since the connect call started.
        elapsed: How long it took, in seconds.
    """

    host: str
    address: IPAddress
    port: int
    outcome: AttemptOutcome
    detail: str
    started: float
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data, ready for JSON."""
        return {
            "host": self.host,
            "address": format_address(self.address),
            "port": self.port,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "started": round(self.started, 6),
            "elapsed": round(self.elapsed, 6),
        }


def _connection_dict(connection: Connection | AsyncConnection) -> dict[str, Any]:
    return {
        "host": connection.host.to_dict(),
        "address": format_address(connection.address),
        "port": connection.port,
        "greeting": connection.greeting,
        "attempts": [a.to_dict() for a in connection.attempts],
    }


@attrs.frozen(eq=False)
class Connection:
    """A connection made by :func:`~mxroute.connect`: the socket, where it goes, how it went.

    Use it as a context manager to close the socket at the end.

    Attributes:
        socket: The connected, blocking socket; the greeting (when checked)
            has been read from it, nothing else.
        host: The mail host connected to.
        address: Its address that took the connection.
        port: The TCP port.
        greeting: The greeting's text, its lines joined by newlines and
            without the ``220`` codes; None with ``greeting=False``.
        attempts: The attempt log, every attempt in order, the winner last.
    """

    socket: socket.socket
    host: MailHost
    address: IPAddress
    port: int
    greeting: str | None
    attempts: tuple[AttemptRecord, ...]

    def close(self) -> None:
        """Close the socket."""
        self.socket.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def to_dict(self) -> dict[str, Any]:
        """Where the connection goes and the attempt log, as plain data (no socket)."""
        return _connection_dict(self)


@attrs.frozen(eq=False)
class AsyncConnection:
    """A connection made by :func:`~mxroute.connect_async`: the streams, where they go, how.

    Use it as an async context manager to close the streams at the end.

    Attributes:
        reader: The stream to read from; the greeting (when checked) has been
            read, nothing else.
        writer: The stream to write to.
        host: The mail host connected to.
        address: Its address that took the connection.
        port: The TCP port.
        greeting: The greeting's text (see :attr:`Connection.greeting`).
        attempts: The attempt log, every attempt in order, the winner last.
    """

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: MailHost
    address: IPAddress
    port: int
    greeting: str | None
    attempts: tuple[AttemptRecord, ...]

    async def aclose(self) -> None:
        """Close the streams and wait until they are closed."""
        self.writer.close()
        with contextlib.suppress(OSError):  # the peer's reset is no concern of the caller's
            await self.writer.wait_closed()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def to_dict(self) -> dict[str, Any]:
        """Where the connection goes and the attempt log, as plain data (no streams)."""
        return _connection_dict(self)


class _BadGreeting(Exception):
    def __init__(self, outcome: AttemptOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


class _Greeting:
    """The greeting parser: fed one line at a time, it says when the greeting is complete.

    RFC 5321 §4.2: every line is a three-digit code, ``-`` on all lines but
    the last, then text; the codes of all lines are the same. §3.1: the
    greeting is 220; 554 (or any 4xx/5xx) means the host will not talk.
    """

    def __init__(self) -> None:
        self.code: str | None = None
        self.lines: list[str] = []
        self.size = 0

    def feed(self, raw: bytes) -> bool:
        """Take one line (with its line ending); True when it was the last line.

        Raises:
            _BadGreeting: Malformed, too long, or not a 220 greeting.
        """
        self.size += len(raw)
        if self.size > _MAX_GREETING:
            raise _BadGreeting(
                AttemptOutcome.GREETING_REJECTED, f"a greeting over {_MAX_GREETING} bytes"
            )
        line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        code, mark, text = line[:3], line[3:4], line[4:]
        if not (code.isdigit() and code.isascii() and mark in ("", " ", "-")):
            raise _BadGreeting(
                AttemptOutcome.GREETING_REJECTED, f"a malformed greeting line {line[:80]!r}"
            )
        if self.code is not None and code != self.code:
            raise _BadGreeting(
                AttemptOutcome.GREETING_REJECTED,
                f"a greeting whose lines have different codes ({self.code}, {code})",
            )
        self.code = code
        self.lines.append(text)
        if mark == "-":
            return False
        if code != "220":
            reply = "\n".join(f"{code} {t}".rstrip() for t in self.lines)
            raise _BadGreeting(AttemptOutcome.GREETING_REJECTED, f"greeted with {reply}")
        return True

    @property
    def text(self) -> str:
        """The greeting's text, lines joined by newlines."""
        return "\n".join(self.lines)


def _outcome_of(exc: BaseException) -> AttemptOutcome:
    if isinstance(exc, ConnectionRefusedError):
        return AttemptOutcome.REFUSED
    if isinstance(exc, TimeoutError):
        return AttemptOutcome.TIMEOUT
    return AttemptOutcome.UNREACHABLE


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@attrs.frozen
class _Settings:
    """The options of connect and connect_async, checked once."""

    greeting: bool
    greeting_timeout: float
    attempt_timeout: float
    deadline: float | None
    stagger: float

    @classmethod
    def check(
        cls,
        greeting: object,
        greeting_timeout: object,
        attempt_timeout: object,
        deadline: object,
        stagger: object,
    ) -> _Settings:
        return cls(
            flag(greeting, "greeting"),
            seconds(greeting_timeout, "greeting_timeout"),
            seconds(attempt_timeout, "attempt_timeout"),
            None if deadline is None else seconds(deadline, "deadline"),
            seconds(stagger, "stagger", allow_zero=True),
        )


def _connector(value: object, method: str) -> Any:
    """*value* (None: a :class:`SocketConnector`) if it has the connector's *method*."""
    if value is None:
        return SocketConnector()
    if not callable(getattr(value, method, None)):
        raise InvalidInput(
            "invalid-connector",
            f"connector must have an {method}() method, and {value!r} has none",
            repr(value),
        )
    return value


def _as_plan(
    route_or_plan: MailRoute | DeliveryPlan,
    policy: RoutingPolicy | None,
    memory: UnreachableMemory | None,
) -> DeliveryPlan:
    if memory is not None and not isinstance(memory, UnreachableMemory):
        raise InvalidInput(
            "invalid-memory",
            f"memory must be an UnreachableMemory or None, not {memory!r}",
            repr(memory),
        )
    if isinstance(route_or_plan, DeliveryPlan):
        if policy is not None and not isinstance(policy, RoutingPolicy):
            raise InvalidInput(
                "invalid-policy", f"policy must be a RoutingPolicy, not {policy!r}", repr(policy)
            )
        return route_or_plan
    if isinstance(route_or_plan, MailRoute):
        return route_or_plan.plan(policy, memory=memory)
    raise InvalidInput(
        "invalid-route",
        f"connect needs a MailRoute or a DeliveryPlan, not {route_or_plan!r}",
        repr(route_or_plan),
    )


class _Walk:
    """The walk over a plan that both drivers share: what to try next, and the log.

    Args:
        plan: The plan to walk.
        scope: The address scope the attempts must be inside.
        settings: The checked options.
        memory: Where failures and successes are recorded, or None.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        plan: DeliveryPlan,
        scope: AddressScope,
        settings: _Settings,
        memory: UnreachableMemory | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.plan = plan
        self.scope = scope
        self.settings = settings
        self.memory = memory
        self.clock = clock
        self.start = clock()
        self.end = None if settings.deadline is None else self.start + settings.deadline
        self.records: list[AttemptRecord] = []
        self.failed_sessions = 0
        self.stop_reason = ""

    # -- time

    def left(self) -> float:
        """Seconds until the total deadline (infinite without one)."""
        return float("inf") if self.end is None else self.end - self.clock()

    def attempt_timeout(self) -> float:
        """The timeout of an attempt started now: its own, or the time left if shorter.

        Never 0, which a socket takes for "do not block" rather than "no time".
        """
        return max(0.001, min(self.settings.attempt_timeout, self.left()))

    def greeting_timeout(self) -> float:
        """The time the greeting may take from now."""
        return max(0.0, min(self.settings.greeting_timeout, self.left()))

    def expired(self) -> bool:
        """Whether the total deadline has passed."""
        if self.left() > 0:
            return False
        self.stop_reason = f"the deadline of {self.settings.deadline:g} s passed"
        return True

    # -- the plan

    def tiers(self) -> Iterator[list[Attempt]]:
        """The runs to race, each with its out-of-scope attempts logged and left out.

        It stops when the session limit is used up or the deadline has passed.
        """
        for attempt in self.plan.skipped:
            self.record(attempt, AttemptOutcome.SKIPPED, "failed recently", self.clock())
        for tier in self.plan.tiers():
            if not self.more_sessions():
                return
            allowed = []
            for attempt in tier:
                if self.plan.trusted or address_allowed(attempt.address, self.scope):
                    allowed.append(attempt)
                else:
                    self.record(
                        attempt,
                        AttemptOutcome.OUT_OF_SCOPE,
                        f"outside the address scope {self.scope.value!r}: not connected to",
                        self.clock(),
                    )
            if allowed:
                yield allowed

    def more_sessions(self) -> bool:
        """Whether another attempt may start: sessions are left, and time."""
        if self.failed_sessions >= self.plan.session_limit:
            self.stop_reason = f"the session limit of {self.plan.session_limit} was reached"
            return False
        return not self.expired()

    # -- the log

    def record(
        self,
        attempt: Attempt,
        outcome: AttemptOutcome,
        detail: str,
        started: float,
        *,
        remember: bool = True,
    ) -> None:
        """Log an attempt; a failure goes to the memory (if *remember*), a success clears it."""
        now = self.clock()
        self.records.append(
            AttemptRecord(
                attempt.host.name,
                attempt.address,
                attempt.port,
                outcome,
                detail,
                started - self.start,
                now - started,
            )
        )
        if outcome in _SESSIONS:
            self.failed_sessions += 1
        if self.memory is not None and remember:
            if outcome in _FAILURES:
                self.memory.record_failure(attempt.address, attempt.port, outcome.value)
            elif outcome is AttemptOutcome.CONNECTED:
                self.memory.record_success(attempt.address, attempt.port)

    def lost(self, attempt: Attempt, started: float, exc: BaseException) -> None:
        """Log a session whose greeting failed (*exc* a :class:`_BadGreeting`); else re-raise."""
        if not isinstance(exc, _BadGreeting):
            raise exc
        self.record(attempt, exc.outcome, exc.detail, started)

    def won(
        self, attempt: Attempt, started: float, greeting: str | None
    ) -> tuple[MailHost, IPAddress, int, str | None, tuple[AttemptRecord, ...]]:
        """Log the winner; the connection's fields after its streams."""
        detail = "TCP connected" if greeting is None else _greeted(greeting)
        self.record(attempt, AttemptOutcome.CONNECTED, detail, started)
        return attempt.host, attempt.address, attempt.port, greeting, tuple(self.records)

    def failed(self, attempt: Attempt, exc: BaseException, started: float) -> None:
        """Log a TCP attempt that raised *exc*."""
        self.record(attempt, _outcome_of(exc), _describe(exc), started)

    def timed_out(self, attempt: Attempt, started: float) -> None:
        """Log a TCP attempt that the caller gave up on.

        One cut short by the total deadline is not held against the address:
        the memory does not record it.
        """
        waited = self.clock() - started
        if self.left() > 0:
            detail = f"no connection after {waited:.3g} s"
            self.record(attempt, AttemptOutcome.TIMEOUT, detail, started)
        else:
            detail = f"the deadline of {self.settings.deadline:g} s passed after {waited:.3g} s"
            self.record(attempt, AttemptOutcome.TIMEOUT, detail, started, remember=False)

    def error(self) -> HostsUnreachable:
        """The error for a walk that found no host."""
        domain = self.plan.domain
        tried = [r for r in self.records if r.outcome is not AttemptOutcome.CANCELLED]
        summary = "; ".join(
            f"{r.host} {format_address(r.address)}: {r.outcome.value}" for r in tried[:5]
        )
        if len(tried) > 5:
            summary += f"; and {len(tried) - 5} more"
        why = f" ({self.stop_reason})" if self.stop_reason else ""
        if not self.records:
            message = f"no mail host of {domain} to connect to: the plan has no attempts"
        else:
            message = f"no mail host of {domain} took a connection{why}: {summary}"
        return HostsUnreachable(
            domain, message + "; keep the message queued and retry later", (), self.records
        )


# -- the synchronous driver: threads race, the caller's thread reads the greeting


class _Flight:
    """One TCP attempt running in a worker thread."""

    def __init__(self, attempt: Attempt, started: float, timeout: float) -> None:
        self.attempt = attempt
        self.started = started
        self.due = started + timeout
        self.timeout = timeout
        self.abandoned = False


class _ThreadRace:
    """The attempts of one tier, raced in threads (RFC 8305 §5)."""

    def __init__(self, walk: _Walk, connector: Connector) -> None:
        self.walk = walk
        self.connector = connector
        self.lock = threading.Lock()
        self.results: queue.Queue[tuple[_Flight, socket.socket | BaseException]] = queue.Queue()
        self.flights: list[_Flight] = []

    def _run(self, flight: _Flight) -> None:
        attempt = flight.attempt
        result: socket.socket | BaseException
        try:
            result = self.connector.open_connection(attempt.address, attempt.port, flight.timeout)
        except BaseException as exc:  # an OSError is logged; anything else, the caller raises
            result = exc
        with self.lock:
            if flight.abandoned:
                if isinstance(result, socket.socket):
                    result.close()
                return
            self.results.put((flight, result))

    def _start(self, attempt: Attempt) -> None:
        flight = _Flight(attempt, self.walk.clock(), self.walk.attempt_timeout())
        self.flights.append(flight)
        threading.Thread(
            target=self._run, args=(flight,), name=f"mxroute-connect-{attempt.address}", daemon=True
        ).start()

    def _handle(self, flight: _Flight, result: socket.socket | BaseException) -> bool:
        """Log a finished attempt; True if it connected."""
        self.flights.remove(flight)
        if isinstance(result, socket.socket):
            return True
        if not isinstance(result, OSError):
            raise result
        self.walk.failed(flight.attempt, result, flight.started)
        return False

    def _stop_all(self, outcome: AttemptOutcome, detail: str) -> None:
        """Abandon every attempt still running; late sockets are closed by their thread."""
        with self.lock:
            for flight in self.flights:
                flight.abandoned = True
            finished = []
            while not self.results.empty():
                finished.append(self.results.get_nowait())
        for flight, result in finished:
            if isinstance(result, socket.socket):
                result.close()  # connected too late: logged with the ones still running
            elif flight in self.flights:
                self.flights.remove(flight)
                if isinstance(result, OSError):
                    self.walk.failed(flight.attempt, result, flight.started)
        for flight in self.flights:
            if outcome is AttemptOutcome.TIMEOUT:
                self.walk.timed_out(flight.attempt, flight.started)
            else:
                self.walk.record(flight.attempt, outcome, detail, flight.started)
        self.flights.clear()

    def run(
        self, pending: collections.deque[Attempt]
    ) -> tuple[Attempt, float, socket.socket] | None:
        """Race the attempts of *pending*; the first to connect, or None when all failed.

        Attempts never started stay in *pending*.
        """
        try:
            return self._race(pending)
        except BaseException:
            self._stop_all(AttemptOutcome.CANCELLED, "the connect call was interrupted")
            raise

    def _race(
        self, pending: collections.deque[Attempt]
    ) -> tuple[Attempt, float, socket.socket] | None:
        next_start = self.walk.clock()
        stagger = self.walk.settings.stagger
        while pending or self.flights:
            now = self.walk.clock()
            if self.walk.expired():
                self._stop_all(AttemptOutcome.TIMEOUT, "")
                return None
            if pending and (not self.flights or now >= next_start):
                self._start(pending.popleft())
                next_start = now + stagger
                continue
            due = min(f.due for f in self.flights)
            wake = min(due, next_start if pending else due, now + self.walk.left())
            try:
                flight, result = self.results.get(timeout=max(0.0, wake - now))
            except queue.Empty:
                now = self.walk.clock()
                for late in [f for f in self.flights if f.due <= now]:
                    with self.lock:
                        late.abandoned = True
                    self.flights.remove(late)
                    self.walk.timed_out(late.attempt, late.started)
                    next_start = now
                continue
            if flight not in self.flights:  # given up on while it was finishing
                if isinstance(result, socket.socket):
                    result.close()
                continue
            if self._handle(flight, result):
                assert isinstance(result, socket.socket)
                self._stop_all(AttemptOutcome.CANCELLED, "another address of its tier connected")
                return flight.attempt, flight.started, result
            next_start = self.walk.clock()  # a failure starts the next attempt at once
        return None


def _receive(sock: socket.socket, size: int) -> bytes:
    """Exactly *size* bytes that a peek has shown are there."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _read_greeting(sock: socket.socket, walk: _Walk) -> str:
    """Read the greeting from *sock*, leaving whatever follows it unread.

    Each line is peeked at first and then taken up to its end, so that a
    client handed the socket (``smtplib``) finds the stream where the
    greeting ends.

    Raises:
        _BadGreeting: Not a 220 greeting, none in time, or the connection dropped.
    """
    parser = _Greeting()
    begun = walk.clock()
    due = begun + walk.greeting_timeout()
    line = b""
    try:
        while True:
            left = due - walk.clock()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            peeked = sock.recv(4096, socket.MSG_PEEK)
            if not peeked:
                raise _BadGreeting(AttemptOutcome.DROPPED, "closed before its greeting ended")
            end = peeked.find(b"\n")
            line += _receive(sock, len(peeked) if end < 0 else end + 1)
            if end >= 0 or len(line) > _MAX_GREETING:
                if parser.feed(line):
                    break
                line = b""
        sock.setblocking(False)
        try:
            closed = sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            closed = False  # nothing more, as it should be
        sock.settimeout(None)
    except TimeoutError:
        raise _BadGreeting(
            AttemptOutcome.GREETING_TIMEOUT, f"no greeting within {walk.clock() - begun:.3g} s"
        ) from None
    except OSError as exc:
        raise _BadGreeting(AttemptOutcome.DROPPED, _describe(exc)) from None
    if closed:
        raise _BadGreeting(AttemptOutcome.DROPPED, "closed right after its greeting")
    return parser.text


def _scope_of(plan: DeliveryPlan, policy: RoutingPolicy | None) -> AddressScope:
    return plan.address_scope if policy is None else policy.address_scope


def _greeted(text: str) -> str:
    return "greeted: 220 " + text.split("\n", 1)[0]


def connect(
    route_or_plan: MailRoute | DeliveryPlan,
    *,
    connector: Connector | None = None,
    policy: RoutingPolicy | None = None,
    memory: UnreachableMemory | None = None,
    greeting: bool = True,
    greeting_timeout: float = DEFAULT_GREETING_TIMEOUT,
    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
    deadline: float | None = None,
    stagger: float = DEFAULT_STAGGER,
) -> Connection:
    """Connect to the first mail host of a route that takes a connection and greets.

    The plan is walked in order (see :class:`~mxroute.DeliveryPlan`); the
    addresses of one preference tier race Happy-Eyeballs style (RFC 8305
    §5): the next starts *stagger* seconds after the one before, or at once
    when it fails, and the first to connect wins; the others are closed. The
    winner's greeting is read: a 4xx/5xx greeting, none within
    *greeting_timeout*, or a dropped connection counts as that host failing
    (RFC 5321 §3.8, §4.5.4.1), and the walk goes on, up to the plan's
    session limit. Addresses outside the address scope are never connected to.

    Args:
        route_or_plan: A route (planned with ``route.plan(policy, memory=memory)``)
            or a plan.
        connector: Opens the TCP connections; default :class:`~mxroute.SocketConnector`.
        policy: Its ``address_scope`` is the one checked (default: the plan's);
            with a route, it also plans.
        memory: Failures are recorded in it, successes clear it; with a route,
            it also orders the plan.
        greeting: Read and check the 220 greeting (default). False returns
            as soon as TCP connects.
        greeting_timeout: Seconds the greeting may take (RFC 5321 §4.5.3.2: 5 minutes).
        attempt_timeout: Seconds one TCP attempt may take.
        deadline: Seconds the whole call may take; None: no limit but the others.
        stagger: Seconds between the starts of the attempts of one tier.

    Returns:
        The connection, with the host and address used and the attempt log.

    Raises:
        HostsUnreachable: No attempt succeeded (451 4.4.1); ``.attempts`` is the log.
        InvalidInput: An option is wrong.
    """
    settings = _Settings.check(greeting, greeting_timeout, attempt_timeout, deadline, stagger)
    plan = _as_plan(route_or_plan, policy, memory)
    walk = _Walk(plan, _scope_of(plan, policy), settings, memory)
    opener: Connector = _connector(connector, "open_connection")
    for tier in walk.tiers():
        pending = collections.deque(tier)
        while pending and walk.more_sessions():
            won = _ThreadRace(walk, opener).run(pending)
            if won is None:
                break
            attempt, started, sock = won
            try:
                text = _read_greeting(sock, walk) if settings.greeting else None
            except BaseException as exc:
                sock.close()
                walk.lost(attempt, started, exc)
                continue
            return Connection(sock, *walk.won(attempt, started, text))
    raise walk.error()


# -- the asyncio driver: tasks race, the caller's task reads the greeting


_Streams = tuple["asyncio.StreamReader", "asyncio.StreamWriter"]


def _close_late(task: asyncio.Future[_Streams]) -> None:
    """Close the streams of an attempt that connected after it was given up."""
    if task.cancelled():
        return
    if task.exception() is None:
        task.result()[1].close()


class _TaskRace:
    """The attempts of one tier, raced in asyncio tasks (RFC 8305 §5)."""

    def __init__(self, walk: _Walk, connector: AsyncConnector) -> None:
        self.walk = walk
        self.connector = connector
        self.tasks: dict[asyncio.Future[_Streams], _Flight] = {}

    def _drop(self, outcome: AttemptOutcome | None, detail: str = "") -> None:
        """Cancel every running attempt, logging it with *outcome* (None: no log)."""
        for task, flight in self.tasks.items():
            task.cancel()
            task.add_done_callback(_close_late)
            if outcome is AttemptOutcome.TIMEOUT:
                self.walk.timed_out(flight.attempt, flight.started)
            elif outcome is not None:
                self.walk.record(flight.attempt, outcome, detail, flight.started)
        self.tasks.clear()

    async def run(
        self, pending: collections.deque[Attempt]
    ) -> tuple[Attempt, float, _Streams] | None:
        """Race the attempts of *pending*; the first to connect, or None when all failed."""
        try:
            return await self._race(pending)
        finally:
            self._drop(None)

    async def _race(
        self, pending: collections.deque[Attempt]
    ) -> tuple[Attempt, float, _Streams] | None:
        import asyncio

        walk = self.walk
        next_start = walk.clock()
        while pending or self.tasks:
            now = walk.clock()
            if walk.expired():
                self._drop(AttemptOutcome.TIMEOUT)
                return None
            if pending and (not self.tasks or now >= next_start):
                attempt = pending.popleft()
                flight = _Flight(attempt, now, walk.attempt_timeout())
                opening = self.connector.open_connection_async(attempt.address, attempt.port)
                self.tasks[asyncio.ensure_future(opening)] = flight
                next_start = now + walk.settings.stagger
                continue
            due = min(f.due for f in self.tasks.values())
            wake = min(due, next_start if pending else due, now + walk.left())
            done, _ = await asyncio.wait(
                list(self.tasks), timeout=max(0.0, wake - now), return_when=asyncio.FIRST_COMPLETED
            )
            winner: tuple[Attempt, float, _Streams] | None = None
            for task in [t for t in self.tasks if t in done]:
                flight = self.tasks.pop(task)
                exc = None if task.cancelled() else task.exception()
                if task.cancelled() or isinstance(exc, asyncio.TimeoutError):
                    walk.timed_out(flight.attempt, flight.started)
                elif exc is None and winner is None:
                    winner = (flight.attempt, flight.started, task.result())
                elif exc is None:
                    task.result()[1].close()
                    walk.record(flight.attempt, AttemptOutcome.CANCELLED, "lost", flight.started)
                elif isinstance(exc, OSError):
                    walk.failed(flight.attempt, exc, flight.started)
                else:
                    raise exc
                next_start = min(next_start, walk.clock())
            if winner is not None:
                self._drop(AttemptOutcome.CANCELLED, "another address of its tier connected")
                return winner
            now = walk.clock()
            for task, flight in list(self.tasks.items()):
                if flight.due <= now:
                    del self.tasks[task]
                    task.cancel()
                    task.add_done_callback(_close_late)
                    walk.timed_out(flight.attempt, flight.started)
                    next_start = now
        return None


async def _read_greeting_async(reader: asyncio.StreamReader, walk: _Walk) -> str:
    """Read the greeting from *reader* (what follows stays in its buffer).

    Raises:
        _BadGreeting: Not a 220 greeting, none in time, or the connection dropped.
    """
    import asyncio

    parser = _Greeting()
    begun = walk.clock()
    due = begun + walk.greeting_timeout()
    try:
        while True:
            left = due - walk.clock()
            if left <= 0:
                raise asyncio.TimeoutError
            line = await asyncio.wait_for(reader.readline(), left)
            if not line.endswith(b"\n"):
                raise _BadGreeting(AttemptOutcome.DROPPED, "closed before its greeting ended")
            if parser.feed(line):
                break
    except asyncio.TimeoutError:
        raise _BadGreeting(
            AttemptOutcome.GREETING_TIMEOUT, f"no greeting within {walk.clock() - begun:.3g} s"
        ) from None
    except OSError as exc:
        raise _BadGreeting(AttemptOutcome.DROPPED, _describe(exc)) from None
    except ValueError:  # a line longer than the reader's limit
        raise _BadGreeting(AttemptOutcome.GREETING_REJECTED, "a greeting line too long") from None
    if reader.at_eof():
        raise _BadGreeting(AttemptOutcome.DROPPED, "closed right after its greeting")
    return parser.text


async def connect_async(
    route_or_plan: MailRoute | DeliveryPlan,
    *,
    connector: AsyncConnector | None = None,
    policy: RoutingPolicy | None = None,
    memory: UnreachableMemory | None = None,
    greeting: bool = True,
    greeting_timeout: float = DEFAULT_GREETING_TIMEOUT,
    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT,
    deadline: float | None = None,
    stagger: float = DEFAULT_STAGGER,
) -> AsyncConnection:
    """Connect in asyncio, as :func:`~mxroute.connect` does in threads.

    The attempts of a tier race as tasks; an attempt that loses, or passes
    its timeout, is cancelled. Cancelling the call cancels every attempt.

    Args:
        route_or_plan: A route or a plan (see :func:`~mxroute.connect`).
        connector: Opens the TCP connections; default :class:`~mxroute.SocketConnector`.
        policy: As for :func:`~mxroute.connect`.
        memory: As for :func:`~mxroute.connect`.
        greeting: As for :func:`~mxroute.connect`.
        greeting_timeout: As for :func:`~mxroute.connect`.
        attempt_timeout: As for :func:`~mxroute.connect`.
        deadline: As for :func:`~mxroute.connect`.
        stagger: As for :func:`~mxroute.connect`.

    Returns:
        The connection's streams, with the host and address used and the attempt log.

    Raises:
        HostsUnreachable: No attempt succeeded (451 4.4.1); ``.attempts`` is the log.
        InvalidInput: An option is wrong.
        UnsupportedEventLoop: Not called under asyncio.
    """
    from mxroute._router import require_asyncio

    require_asyncio("connect_async()")
    settings = _Settings.check(greeting, greeting_timeout, attempt_timeout, deadline, stagger)
    plan = _as_plan(route_or_plan, policy, memory)
    walk = _Walk(plan, _scope_of(plan, policy), settings, memory)
    opener: AsyncConnector = _connector(connector, "open_connection_async")
    for tier in walk.tiers():
        pending = collections.deque(tier)
        while pending and walk.more_sessions():
            won = await _TaskRace(walk, opener).run(pending)
            if won is None:
                break
            attempt, started, (reader, writer) = won
            try:
                text = await _read_greeting_async(reader, walk) if settings.greeting else None
            except BaseException as exc:
                writer.close()
                walk.lost(attempt, started, exc)
                continue
            return AsyncConnection(reader, writer, *walk.won(attempt, started, text))
    raise walk.error()


publish(globals())
