"""The transport: the only code of DNSResolver that opens sockets or reads the clock.

Three drivers run :func:`~._resolution.resolution` generators: :func:`ask`
(blocking, one question), :func:`ask_many` (a batch, its UDP tries
multiplexed with a selector in the calling thread) and :func:`ask_many_async`
(a batch in asyncio, its UDP tries multiplexed on a few long-lived sockets,
see :class:`Multiplexer`). Each makes the tries the resolution yields and
sends back each result with the time it came, and draws the query IDs (16
random bits, RFC 5452 §9.2, from a buffer filled by :func:`os.urandom`).

A sync UDP try is one socket of its own: blocking with a timeout, or
registered with the selector. Every UDP try reads datagrams as
:func:`dns.query.udp` does with ``ignore_unexpected``: one from another
address or port than the server's, or one that does not answer the query
(another ID, another question, the query reflected), is ignored, and the
answer is awaited until the try's timeout (RFC 5452 §9.1). TCP tries use
:func:`dns.query.tcp` and :func:`dns.asyncquery.tcp`.

:mod:`asyncio` and :mod:`dns.asyncquery` are imported on the first async
question, so ``import mxroute`` loads neither.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import heapq
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import dns.exception
import dns.message
import dns.query

from mxroute._dns import Answer, Question
from mxroute._resolvers.dns._config import Server, Settings
from mxroute._resolvers.dns._resolution import Reply, Resolution, Result, Try, resolution
from mxroute._resolvers.dns._wire import qname, qtype, read_datagram

if TYPE_CHECKING:
    import asyncio

_IDS: collections.deque[int] = collections.deque()
"""Random query IDs not handed out yet."""
_FILL_IDS = struct.Struct("!256H").unpack
os.register_at_fork(after_in_child=_IDS.clear)  # a child never reuses its parent's IDs


def new_id() -> int:
    """A random query ID: 16 bits of :func:`os.urandom`, drawn 256 at a time."""
    try:
        return _IDS.popleft()
    except IndexError:
        _IDS.extend(_FILL_IDS(os.urandom(512)))
        return _IDS.popleft()


def ask(settings: Settings, name: str, rdtype: str) -> Answer:
    """Resolve one question, blocking."""
    questioning = resolution(settings, name, rdtype, time.monotonic(), new_id)
    try:
        attempt = next(questioning)
        while True:
            result = _ask_tcp(attempt) if attempt.tcp else _ask_udp(attempt)
            attempt = questioning.send(Reply(result, time.monotonic()))
    except StopIteration as done:
        answer: Answer = done.value
        return answer


class _InFlight(NamedTuple):
    """A UDP try of :func:`ask_many` waiting for its answer."""

    position: int
    """The question's position in the batch."""
    resolution: Resolution
    attempt: Try
    expires: float
    """The :func:`time.monotonic` time at which the try has timed out."""


def ask_many(settings: Settings, questions: Sequence[Question]) -> list[Answer]:
    """Resolve the questions in this thread, their UDP tries in flight together.

    Each question is one resolution generator, at most ``max_workers`` at
    once. A UDP try gets a socket of its own, registered with a selector
    until its answer comes or its timeout passes; a TCP try (after a
    truncated answer) is made at once, blocking, as :func:`ask` makes it.
    """
    answers: list[Answer | None] = [None] * len(questions)
    waiting = collections.deque(enumerate(questions))
    selector = selectors.DefaultSelector()
    flying: dict[socket.socket, _InFlight] = {}
    started: list[Resolution] = []
    try:

        def advance(index: int, questioning: Resolution, result: Result | None) -> None:
            """Feed ``result`` in; send the next UDP try, or store the answer."""
            try:
                attempt = (
                    next(questioning)
                    if result is None
                    else questioning.send(Reply(result, time.monotonic()))
                )
                while True:
                    if attempt.tcp:
                        attempt = questioning.send(Reply(_ask_tcp(attempt), time.monotonic()))
                        continue
                    server = attempt.server
                    sock = socket.socket(server.family, socket.SOCK_DGRAM)
                    try:
                        sock.setblocking(False)
                        sock.sendto(attempt.query.wire, server.destination)
                    except Exception as exc:
                        sock.close()
                        attempt = questioning.send(Reply(exc, time.monotonic()))
                        continue
                    expires = time.monotonic() + attempt.timeout
                    flying[sock] = _InFlight(index, questioning, attempt, expires)
                    selector.register(sock, selectors.EVENT_READ, sock)
                    return
            except StopIteration as done:
                answers[index] = done.value

        while waiting or flying:
            while waiting and len(flying) < settings.max_workers:
                index, (name, rdtype) = waiting.popleft()
                questioning = resolution(settings, name, rdtype, time.monotonic(), new_id)
                started.append(questioning)
                advance(index, questioning, None)
            if not flying:
                continue
            now = time.monotonic()
            wait = min(f.expires for f in flying.values()) - now
            for key, _ in selector.select(max(wait, 0.0)):
                sock = key.data
                result = _receive(sock, flying[sock].attempt)
                if result is not None:
                    selector.unregister(sock)
                    sock.close()
                    landed = flying.pop(sock)
                    advance(landed.position, landed.resolution, result)
            now = time.monotonic()
            for sock, late in list(flying.items()):
                if late.expires <= now:
                    # An answer that came while a TCP try blocked still counts.
                    result = _receive(sock, late.attempt)
                    if result is None:
                        result = _timeout()
                    selector.unregister(sock)
                    sock.close()
                    del flying[sock]
                    advance(late.position, late.resolution, result)
    finally:
        for sock in flying:
            sock.close()
        selector.close()
        for questioning in started:
            questioning.close()
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def _receive(sock: socket.socket, attempt: Try) -> Result | None:
    """Read the datagrams waiting on a non-blocking socket until one answers ``attempt``.

    Returns the response (or the exception reading it raised), or None when
    nothing that answers the query has come yet: every datagram that does
    not is read and dropped.
    """
    while True:
        try:
            wire, source = sock.recvfrom(65535)
        except BlockingIOError:
            return None
        except Exception as exc:
            return exc
        result = response(wire, source, attempt)
        if result is not None:
            return result


def response(wire: bytes, source: tuple[object, ...], attempt: Try) -> Result | None:
    """The datagram ``wire`` from ``source`` as the response to ``attempt``.

    None when it came from another address than the server's, or does not
    answer the query (:func:`~._wire.read_datagram`): it is ignored.
    """
    server = attempt.server
    if source[1] != server.port or socket.inet_pton(server.family, str(source[0])) != server.packed:
        return None
    return read_datagram(wire, attempt.query)


def _udp_socket(attempt: Try) -> socket.socket | Exception:
    """A UDP socket for the try's server, or the exception opening it raised."""
    try:
        return socket.socket(attempt.server.family, socket.SOCK_DGRAM)
    except Exception as exc:
        return exc


def _ask_udp(attempt: Try) -> Result:
    """Make one UDP try, blocking: send the query, wait for the server's response.

    A socket of its own with a plain timeout, rather than :func:`dns.query.udp`,
    which costs a selector per wait; dnspython parses the response all the same.
    """
    server = attempt.server
    expires = time.monotonic() + attempt.timeout
    sock = _udp_socket(attempt)
    if isinstance(sock, Exception):
        return sock
    with sock:
        try:
            sock.settimeout(attempt.timeout)
            sock.sendto(attempt.query.wire, server.destination)
            while True:
                remaining = expires - time.monotonic()
                if remaining <= 0:
                    return _timeout()
                sock.settimeout(remaining)
                try:
                    wire, source = sock.recvfrom(65535)
                except TimeoutError:
                    return _timeout()
                result = response(wire, source, attempt)
                if result is not None:
                    return result
        except Exception as exc:
            return exc


async def _ask_asyncquery(attempt: Try) -> Result:
    """Make one TCP try with :func:`dns.asyncquery.tcp`."""
    import dns.asyncquery

    server = attempt.server
    try:
        return await dns.asyncquery.tcp(
            attempt.query.message(), server.address, timeout=attempt.timeout, port=server.port
        )
    except Exception as exc:
        return exc


def _timeout() -> Exception:
    return dns.exception.Timeout()  # type: ignore[no-untyped-call]


def _ask_tcp(attempt: Try) -> Result:
    """Make one TCP try, blocking."""
    try:
        return dns.query.tcp(
            attempt.query.message(),
            attempt.server.address,
            timeout=attempt.timeout,
            port=attempt.server.port,
        )
    except Exception as exc:
        return exc


RETIRE_AFTER = 200
"""Queries sent from one socket of :class:`Multiplexer` before it takes no more."""
SOCKETS_PER_SERVER = 4
"""Sockets of :class:`Multiplexer` taking new queries to one server at once."""
_RECEIVE_BUFFER = 1 << 20
"""The receive buffer asked for each multiplexed socket: room for a burst of answers."""
_READS_PER_WAKE = 64
"""Datagrams read from one socket before the event loop runs other callbacks."""

_EARLY = 0.001
"""Seconds before its time a timeout counts as passed (the loop's timers may fire early)."""

Landed = Callable[[Result], None]
"""Called with the result of a try."""
_COMPACT_ABOVE = 256
"""Heap entries of :class:`Multiplexer` above which ended tries are swept out of it."""


def _ended(result: Result) -> None:
    """The ``landed`` of a try that has ended: a late result goes nowhere."""


class _Pending:
    """One UDP try waiting on a multiplexed socket."""

    __slots__ = ("attempt", "landed", "live", "port")

    def __init__(self, attempt: Try, landed: Landed, port: _Port) -> None:
        self.attempt, self.landed, self.port = attempt, landed, port
        self.live = True
        """Whether it still waits (False once it has ended, however it ended)."""


class _Port:
    """One long-lived UDP socket of a :class:`Multiplexer`, and the tries waiting on it."""

    __slots__ = ("fd", "label", "open", "sent", "sock", "waiting")

    def __init__(self, sock: socket.socket, label: str) -> None:
        self.sock = sock
        self.label = label
        self.fd = sock.fileno()
        self.sent = 0
        self.open = True
        """Whether it takes new queries (until :data:`RETIRE_AFTER` are sent)."""
        self.waiting: dict[int, list[_Pending]] = {}
        """The tries waiting, by query ID."""


class Multiplexer:
    """The UDP sockets of one resolver in one event loop, shared by all its async tries.

    Each server gets up to :data:`SOCKETS_PER_SERVER` sockets, used in turn;
    a socket sends :data:`RETIRE_AFTER` queries and then takes no more (it
    is closed once its last try ends), so the source port keeps changing.
    The sockets are watched by the event loop; a datagram is matched to its
    try by its query ID and then by its question (:func:`~._wire.read_datagram`):
    anything else is ignored, and the try waits on until its timeout. When
    no try is waiting at all, every socket is closed, so an idle resolver
    holds none. Each socket is connected to its server: the kernel drops
    datagrams from any other address or port, and an ICMP port unreachable
    ends the tries waiting on that socket at once (an unreachable server).

    Why this keeps off-path spoofing as hard as a socket per query: a forged
    answer must still match the 16-bit random ID and the question, and come
    from the server's address and port; the port it must hit is one of a few
    random ephemeral ports that change every :data:`RETIRE_AFTER` queries,
    rather than one per query, a small loss against the ID (RFC 5452 §9.2
    asks for the port to be random, which it is, not for a new one per
    query); and answers are taken only from the configured recursive
    servers, normally on a trusted path.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ports: dict[str, list[_Port]] = {}
        """The sockets taking new queries, by server label."""
        self.turn = 0
        self.waiting = 0
        """Tries waiting on any socket."""
        self.every: list[_Port] = []
        """Every socket still open, retired or not."""
        self.timeouts: list[tuple[float, int, _Pending]] = []
        """A heap of the tries' timeouts, ``(loop time, sequence, try)``; ended tries
        stay in it until they come to its top (one timer for all, not one each)."""
        self.sequence = 0
        self.timer: asyncio.TimerHandle | None = None
        """The loop's timer for the earliest timeout in :attr:`timeouts`."""
        self.timer_at = 0.0

    def send(self, attempt: Try, landed: Landed) -> _Pending | None:
        """Send the try's query; ``landed`` gets its result (at once if sending fails)."""
        server = attempt.server
        ports = self.ports.setdefault(server.label, [])
        try:
            if len(ports) < SOCKETS_PER_SERVER:
                port = self._open(server)
                ports.append(port)
            else:
                self.turn += 1
                port = ports[self.turn % len(ports)]
            port.sock.send(attempt.query.wire)
        except OSError as exc:
            self.loop.call_soon(landed, exc)  # not at once: no recursion through the batch
            return None
        port.sent += 1
        if port.sent >= RETIRE_AFTER:
            self._retire(port)
        pending = _Pending(attempt, landed, port)
        port.waiting.setdefault(attempt.query.id, []).append(pending)
        self.waiting += 1
        expires = self.loop.time() + attempt.timeout
        self.sequence += 1
        timeouts = self.timeouts
        if len(timeouts) > _COMPACT_ABOVE and len(timeouts) > 4 * self.waiting:
            # Mostly tries that ended: drop them, so the heap stays a few times
            # the tries waiting, however many a second come and go.
            timeouts[:] = [entry for entry in timeouts if entry[2].live]
            heapq.heapify(timeouts)
        heapq.heappush(timeouts, (expires, self.sequence, pending))
        if self.timer is None or expires < self.timer_at:
            self._wake_at(expires)
        return pending

    def _wake_at(self, when: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_at(when, self._expire)
        self.timer_at = when

    def _open(self, server: Server) -> _Port:
        sock = socket.socket(server.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            with contextlib.suppress(OSError):  # else the system's default buffer
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            # Connected: the kernel delivers only datagrams from the server's
            # address and port, and sending needs no address each time.
            sock.connect(server.destination)
            port = _Port(sock, server.label)
            self.loop.add_reader(port.fd, self._readable, port)
        except BaseException:
            sock.close()
            raise
        self.every.append(port)
        return port

    def _readable(self, port: _Port) -> None:
        for _ in range(_READS_PER_WAKE):
            try:
                wire = port.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # the socket is unusable: a new one takes the next queries
                self._retire(port)
                for waiting in list(port.waiting.values()):
                    for pending in list(waiting):
                        self._land(pending, exc)
                return
            if len(wire) < 2:
                continue
            pendings = port.waiting.get(wire[0] << 8 | wire[1])
            if not pendings:
                continue
            for pending in list(pendings):
                # The socket is connected to the server: the source is its own.
                result = read_datagram(wire, pending.attempt.query)
                if result is not None:
                    self._land(pending, result)

    def _expire(self) -> None:
        """End the tries whose timeout has passed; wake again for the next one."""
        self.timer = None
        timeouts = self.timeouts
        now = self.loop.time() + _EARLY  # the loop may run a timer that early
        while timeouts and (timeouts[0][0] <= now or not timeouts[0][2].live):
            pending = heapq.heappop(timeouts)[2]
            if pending.live:
                self._readable(pending.port)  # an answer that came while the loop was busy
                if pending.live:
                    self._land(pending, _timeout())
        if timeouts and self.timer is None:
            self._wake_at(timeouts[0][0])

    def _land(self, pending: _Pending, result: Result | None) -> None:
        """End a waiting try: hand ``result`` to it, or (None) drop it."""
        landed = pending.landed
        self.forget(pending)
        if result is not None:
            landed(result)
        if not self.waiting:
            self.close()

    def forget(self, pending: _Pending) -> None:
        """Stop waiting for a try (its result, if it comes, is ignored)."""
        if not pending.live:
            return
        pending.live = False
        # Its heap entry stays until its time comes: keep no batch or future alive from it.
        pending.landed = _ended
        port = pending.port
        pendings = port.waiting[pending.attempt.query.id]
        pendings.remove(pending)
        if not pendings:
            del port.waiting[pending.attempt.query.id]
        self.waiting -= 1
        if not port.open and not port.waiting:
            self._close(port)

    def _retire(self, port: _Port) -> None:
        """Send no more queries from ``port``; it closes when no try waits on it."""
        if port.open:
            port.open = False
            self.ports[port.label].remove(port)

    def _close(self, port: _Port) -> None:
        self.every.remove(port)
        self.loop.remove_reader(port.fd)
        port.sock.close()

    def close(self) -> None:
        """Close every socket no try waits on (and, with no try waiting, the timer)."""
        for port in list(self.every):
            if not port.waiting:
                self._retire(port)
                self._close(port)
        if not self.waiting:
            self.timeouts.clear()
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None


def can_multiplex(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the loop can watch sockets (the proactor loop of Windows cannot)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        loop.add_reader(probe.fileno(), lambda: None)
    except NotImplementedError:
        return False
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_reader(probe.fileno())
        probe.close()
    return True


def _settle(future: asyncio.Future[Result]) -> Landed:
    """A callback that gives ``future`` its result, unless it is done (cancelled) already."""

    def landed(result: Result) -> None:
        if not future.done():
            future.set_result(result)

    return landed


async def ask_async(
    settings: Settings, name: str, rdtype: str, multiplexer: Multiplexer | None
) -> Answer:
    """Resolve one question in asyncio, its UDP tries on the multiplexer's sockets.

    With no multiplexer (an event loop that cannot watch sockets), the
    question is asked with :func:`ask` in a worker thread.

    Raises:
        InvalidInput: The name or type is not valid (before anything is sent).
    """
    import asyncio

    if multiplexer is None:
        qname(name)
        qtype(rdtype)
        return await asyncio.to_thread(ask, settings, name, rdtype)
    questioning = resolution(settings, name, rdtype, time.monotonic(), new_id)
    try:
        attempt = next(questioning)
        while True:
            if attempt.tcp:
                result = await _ask_asyncquery(attempt)
            else:
                landed: asyncio.Future[Result] = multiplexer.loop.create_future()
                pending = multiplexer.send(attempt, _settle(landed))
                try:
                    result = await landed
                finally:
                    if pending is not None:
                        multiplexer.forget(pending)  # cancelled: the answer is not awaited
            attempt = questioning.send(Reply(result, time.monotonic()))
    except StopIteration as done:
        answer: Answer = done.value
        return answer
    finally:
        questioning.close()
        if not multiplexer.waiting:
            multiplexer.close()


async def ask_many_async(
    settings: Settings, questions: Sequence[Question], multiplexer: Multiplexer | None
) -> list[Answer]:
    """Resolve the questions in asyncio, their UDP tries multiplexed, without a task each.

    Each question is one resolution generator, advanced from the
    :class:`Multiplexer`'s callbacks as its tries' results come, at most
    ``max_workers`` at once; the caller awaits one future for the batch. A
    TCP try (after a truncated answer) runs as a task of its own. With no
    multiplexer (an event loop that cannot watch sockets), the batch runs
    in a worker thread with :func:`ask_many`.

    Raises:
        InvalidInput: A name or type is not valid (before anything is sent).
    """
    import asyncio

    for name, rdtype in questions:  # bad input raises here, before anything is sent
        qname(name)
        qtype(rdtype)
    if multiplexer is None:
        if len(questions) == 1:
            return [await asyncio.to_thread(ask, settings, *questions[0])]
        return await asyncio.to_thread(ask_many, settings, questions)
    batch = _AsyncBatch(settings, questions, multiplexer)
    try:
        batch.begin()
        await batch.done
    finally:
        batch.end()
    return batch.answers()


class _AsyncBatch:
    """The state of one :func:`ask_many_async` batch, advanced from the multiplexer's callbacks.

    A class rather than closures that call each other, so that a finished
    batch is freed by reference counting, not left in cycles for the
    garbage collector (a bulk run makes hundreds of batches a second).
    """

    __slots__ = (
        "current",
        "done",
        "left",
        "multiplexer",
        "results",
        "settings",
        "started",
        "waiting",
    )

    def __init__(
        self, settings: Settings, questions: Sequence[Question], multiplexer: Multiplexer
    ) -> None:
        self.settings = settings
        self.multiplexer = multiplexer
        self.results: list[Answer | None] = [None] * len(questions)
        self.waiting = collections.deque(enumerate(questions))
        self.done: asyncio.Future[None] = multiplexer.loop.create_future()
        self.started: list[Resolution] = []
        self.current: dict[int, _Pending | asyncio.Task[Result]] = {}
        self.left = len(questions)

    def begin(self) -> None:
        while self.waiting and len(self.started) < self.settings.max_workers:
            self.start()

    def start(self) -> None:
        index, (name, rdtype) = self.waiting.popleft()
        questioning = resolution(self.settings, name, rdtype, time.monotonic(), new_id)
        self.started.append(questioning)
        self.advance(index, questioning, None)

    def advance(self, index: int, questioning: Resolution, result: Result | None) -> None:
        """Feed ``result`` to the question's resolution; make its next try, or store its answer."""
        self.current.pop(index, None)
        done = self.done
        if done.done():
            return
        try:
            try:
                attempt = (
                    next(questioning)
                    if result is None
                    else questioning.send(Reply(result, time.monotonic()))
                )
            except StopIteration as stop:
                self.results[index] = stop.value
                self.left -= 1
                if not self.left:
                    done.set_result(None)
                elif self.waiting:
                    self.start()
                return
            if attempt.tcp:
                task = self.multiplexer.loop.create_task(_ask_asyncquery(attempt))
                self.current[index] = task
                task.add_done_callback(functools.partial(self.tcp_landed, index, questioning))
                return
            pending = self.multiplexer.send(
                attempt, functools.partial(self.advance, index, questioning)
            )
            if pending is not None:
                self.current[index] = pending
        except BaseException as exc:  # a bug: the batch raises it
            if not done.done():
                done.set_exception(exc)

    def tcp_landed(self, index: int, questioning: Resolution, task: asyncio.Task[Result]) -> None:
        """The done callback of a TCP try's task: its result goes on as a UDP one does."""
        if not task.cancelled():
            self.advance(index, questioning, task.result())

    def end(self) -> None:
        """Stop what is still in flight (the batch ended or was cancelled)."""
        multiplexer = self.multiplexer
        for flight in list(self.current.values()):
            if isinstance(flight, _Pending):
                multiplexer.forget(flight)
            else:
                flight.cancel()
        self.current.clear()
        if not multiplexer.waiting:
            multiplexer.close()
        for questioning in self.started:
            questioning.close()
        self.started.clear()

    def answers(self) -> list[Answer]:
        assert all(answer is not None for answer in self.results)
        return self.results  # type: ignore[return-value]
