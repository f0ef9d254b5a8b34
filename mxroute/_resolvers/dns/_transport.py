"""The transport: the only code of DNSResolver that opens sockets or reads the clock.

Three drivers run :func:`~._resolution.resolution` generators: :func:`ask`
(blocking, one question), :func:`ask_async` (asyncio) and :func:`ask_many`
(a batch, its UDP tries multiplexed with a selector in the calling thread).
Each makes the tries the resolution yields and sends back each result with
the time it came, and draws the query IDs (16 random bits, RFC 5452 §9.2).

A UDP try is one socket of its own: blocking with a timeout, watched by the
event loop, or registered with the selector. Each reads datagrams as
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
import secrets
import selectors
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import dns.exception
import dns.message
import dns.query

from mxroute._dns import Answer, Question
from mxroute._resolvers.dns._config import Settings
from mxroute._resolvers.dns._resolution import Reply, Resolution, Result, Try, resolution
from mxroute._resolvers.dns._wire import read_datagram

if TYPE_CHECKING:
    import asyncio


def new_id() -> int:
    """A random query ID."""
    return secrets.randbits(16)


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


async def ask_async(settings: Settings, name: str, rdtype: str) -> Answer:
    """Resolve one question in asyncio."""
    questioning = resolution(settings, name, rdtype, time.monotonic(), new_id)
    try:
        attempt = next(questioning)
        while True:
            ask_one = _ask_asyncquery if attempt.tcp else _ask_udp_async
            result = await ask_one(attempt)
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


async def _ask_udp_async(attempt: Try) -> Result:
    """Make one UDP try in asyncio: the socket is watched by the event loop.

    A plain non-blocking socket, a reader callback and a timer, rather than
    :func:`dns.asyncquery.udp`, which builds a datagram transport per query.
    An event loop that cannot watch sockets (the proactor loop of Windows)
    gets :func:`dns.asyncquery.udp`.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    server = attempt.server
    sock = _udp_socket(attempt)
    if isinstance(sock, Exception):
        return sock
    with sock:
        try:
            sock.setblocking(False)
            landed: asyncio.Future[Result] = loop.create_future()

            def readable() -> None:
                result = _receive(sock, attempt)
                if result is not None and not landed.done():
                    landed.set_result(result)

            def late() -> None:
                if not landed.done():
                    landed.set_result(_timeout())

            fd = sock.fileno()  # not the socket: asyncio would format its repr in a KeyError
            try:
                loop.add_reader(fd, readable)
            except NotImplementedError:
                return await _ask_asyncquery(attempt)
            timer = loop.call_later(attempt.timeout, late)
            try:
                sock.sendto(attempt.query.wire, server.destination)
                return await landed
            finally:
                timer.cancel()
                loop.remove_reader(fd)
        except Exception as exc:
            return exc


async def _ask_asyncquery(attempt: Try) -> Result:
    """Make one try with :mod:`dns.asyncquery`.

    It makes every TCP try, and UDP tries on event loops that cannot watch sockets.

    Such a UDP try ignores every datagram that does not answer the query, as
    the others do; it also ignores one that does not parse (dnspython's
    ``ignore_errors`` does not tell the two apart), where the others end
    the try as SERVFAIL.
    """
    import dns.asyncquery

    query, server = attempt.query.message(), attempt.server
    try:
        if attempt.tcp:
            return await dns.asyncquery.tcp(
                query, server.address, timeout=attempt.timeout, port=server.port
            )
        return await dns.asyncquery.udp(
            query,
            server.address,
            timeout=attempt.timeout,
            port=server.port,
            ignore_unexpected=True,
            # and a datagram that does not answer the query (RFC 5452 §9.1);
            # on this path one that does not parse is ignored too.
            ignore_errors=True,
            raise_on_truncation=True,
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
