"""CachingResolver: a TTL-aware cache in front of any resolver, with single-flight.

What is cached, and for how long:

* Records (``RECORDS``): for the answer's TTL, clamped to ``[min_ttl, max_ttl]``.
  An answer without a TTL is kept only when ``min_ttl`` is above zero.
* NXDOMAIN and NODATA: for their negative TTL (RFC 2308 §5: the SOA's TTL
  capped by its MINIMUM field, which the resolver put in ``Answer.ttl``),
  clamped to ``[min_ttl, max_negative_ttl]``. A negative answer without a TTL
  (no SOA came with it) is not cached, as RFC 2308 §5 says.
* SERVFAIL, REFUSED and TIMEOUT: for ``failure_ttl`` seconds only (a few
  seconds by default, 0 to disable), never for a TTL; RFC 2308 §7 allows at
  most five minutes.

A cached answer reports the TTL it has left, so a route built from cached
answers expires when its data does. The A and AAAA answers carried in an MX
answer's additional section stay with that answer (with their own TTL left,
dropped once expired) and never answer an A or AAAA question of their own:
additional data ranks below an answer (RFC 2181 §5.4.1).

The cache is an LRU bounded by ``max_entries``. It is safe to share between
threads and between asyncio tasks (even on several event loops), and it sends
at most one query per question at a time: callers asking a question that is
already in flight wait for that query's answer (single-flight).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import attrs

from mxroute._dns import (
    Answer,
    AnswerStatus,
    AsyncResolver,
    BatchResolver,
    Question,
    Resolver,
)
from mxroute._errors import InvalidInput
from mxroute._names import normalize_host

__all__ = ["CacheStats", "CachingResolver"]

_NEGATIVE = frozenset({AnswerStatus.NXDOMAIN, AnswerStatus.NODATA})
_FAILURE_TTL_LIMIT = 300.0
"""RFC 2308 §7.1 and §7.2: a server failure or a dead server is cached for at most five minutes."""


def _key(name: str, rdtype: str) -> Question:
    """The cache key of a question; reuses the caller's strings when they are
    already normalised, so that a key costs no copy of them."""
    host = normalize_host(name)
    if host == name:
        host = name
    kind = _KINDS.get(rdtype)
    return Question(host, kind if kind is not None else rdtype.upper())


_KINDS = {kind: kind for kind in ("MX", "A", "AAAA", "CNAME", "TXT", "SOA", "NS", "PTR")}


@attrs.frozen
class CacheStats:
    """Counters of a :class:`CachingResolver`, taken at one moment.

    Every question a caller asks counts exactly once, as a hit, a miss or a
    coalesced wait, so ``hits + misses + coalesced`` is the number of questions
    asked.

    Attributes:
        hits: Questions answered from the cache.
        misses: Questions sent to the wrapped resolver.
        coalesced: Questions that waited for the same question already in
            flight (single-flight) instead of sending another query.
        evictions: Entries dropped to keep within ``max_entries``.
        entries: Entries held now (expired ones count until they are next
            looked up or evicted).
    """

    hits: int
    misses: int
    coalesced: int
    evictions: int
    entries: int


class _Abandoned(Exception):
    """The query a caller waited for was cancelled: ask again."""


class _Entry:
    """One cached answer: the answer as received, when it was stored, when it expires."""

    __slots__ = ("answer", "expires", "stored")

    def __init__(self, answer: Answer, stored: float, expires: float) -> None:
        self.answer = answer
        self.stored = stored
        self.expires = expires


class _Flight:
    """A query in flight: its future, the thread that sends it, and the event
    loop it is sent from (None for a synchronous query)."""

    __slots__ = ("future", "loop", "thread")

    def __init__(self, thread: int, loop: asyncio.AbstractEventLoop | None) -> None:
        self.future: concurrent.futures.Future[Answer] = concurrent.futures.Future()
        self.thread = thread
        self.loop = loop


def _check_seconds(name: str, value: object, *, limit: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidInput(
            "invalid-cache-setting", f"{name} must be a number of seconds >= 0, not {value!r}"
        )
    if limit is not None and value > limit:
        raise InvalidInput(
            "invalid-cache-setting", f"{name} must be at most {limit:g} seconds, not {value!r}"
        )
    return float(value)


class CachingResolver:
    """A cache in front of any resolver: TTL-aware, negative caching, single-flight.

    >>> from mxroute import CachingResolver, InMemoryResolver
    >>> fake = InMemoryResolver()
    >>> fake.add("example.com", "MX", "10 mx.example.com.", ttl=300)
    >>> now = [0.0]
    >>> cache = CachingResolver(fake, clock=lambda: now[0])
    >>> cache.query("example.com", "MX").ttl
    300
    >>> now[0] = 100.0
    >>> cache.query("example.com", "MX").ttl   # from the cache: the TTL left
    200
    >>> len(fake.queries)
    1

    It has the methods of the resolver it wraps:

    * ``query`` asks the wrapped resolver's ``query`` (a :exc:`TypeError`
      when it has none);
    * ``query_async`` awaits the wrapped resolver's ``query_async``, or runs
      its ``query`` in a worker thread when it has only that;
    * ``query_batch`` sends the questions the cache cannot answer to the
      wrapped resolver's ``query_batch`` in one batch, or one after the other
      through ``query``.

    Args:
        resolver: The resolver to cache.
        max_entries: The most answers kept; the least recently used go first.
        failure_ttl: Seconds to keep a SERVFAIL, REFUSED or TIMEOUT answer
            (at most 300, RFC 2308 §7); 0 never keeps them.
        min_ttl: The shortest time an answer with a TTL is kept, in seconds.
            The default 0 keeps an answer exactly as long as its TTL says.
        max_ttl: The longest time records are kept, whatever their TTL.
        max_negative_ttl: The longest time NXDOMAIN and NODATA answers are
            kept (RFC 2308 §5 suggests one to three hours; default three).
        clock: A monotonic clock in seconds; tests inject one to move time
            without sleeping.

    Raises:
        InvalidInput: A setting is out of range (``.reason`` is
            ``"invalid-cache-setting"``).
        TypeError: ``resolver`` has neither ``query`` nor ``query_async``.
    """

    def __init__(
        self,
        resolver: Resolver | AsyncResolver,
        *,
        max_entries: int = 10_000,
        failure_ttl: float = 5.0,
        min_ttl: float = 0.0,
        max_ttl: float = 86_400.0,
        max_negative_ttl: float = 10_800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise InvalidInput(
                "invalid-cache-setting", f"max_entries must be an integer >= 1, not {max_entries!r}"
            )
        if not isinstance(resolver, (Resolver, AsyncResolver)):
            raise TypeError(f"{type(resolver).__name__} has neither query() nor query_async()")
        self._resolver = resolver
        self._sync = resolver if isinstance(resolver, Resolver) else None
        self._async = resolver if isinstance(resolver, AsyncResolver) else None
        self._batch = resolver if isinstance(resolver, BatchResolver) else None
        self.max_entries = max_entries
        self.failure_ttl = _check_seconds("failure_ttl", failure_ttl, limit=_FAILURE_TTL_LIMIT)
        self.min_ttl = _check_seconds("min_ttl", min_ttl)
        self.max_ttl = _check_seconds("max_ttl", max_ttl)
        self.max_negative_ttl = _check_seconds("max_negative_ttl", max_negative_ttl)
        if self.min_ttl > self.max_ttl or self.min_ttl > self.max_negative_ttl:
            raise InvalidInput(
                "invalid-cache-setting", "min_ttl must not exceed max_ttl nor max_negative_ttl"
            )
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Question, _Entry] = OrderedDict()
        self._flights: dict[Question, _Flight] = {}
        self._hits = 0
        self._misses = 0
        self._coalesced = 0
        self._evictions = 0

    # -- public helpers ----------------------------------------------------

    @property
    def resolver(self) -> Resolver | AsyncResolver:
        """The wrapped resolver."""
        return self._resolver

    @property
    def stats(self) -> CacheStats:
        """The counters now (see :class:`CacheStats`)."""
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                coalesced=self._coalesced,
                evictions=self._evictions,
                entries=len(self._entries),
            )

    def __len__(self) -> int:
        """The number of entries held (expired ones included until looked up)."""
        return len(self._entries)

    def clear(self) -> None:
        """Forget every cached answer (queries in flight still complete)."""
        with self._lock:
            self._entries.clear()

    def lifetime(self, answer: Answer) -> float:
        """Seconds this cache keeps ``answer``; 0 when it does not keep it.

        Args:
            answer: An answer from the wrapped resolver.
        """
        status = answer.status
        if status.temporary:
            return self.failure_ttl
        ttl = answer.ttl
        if ttl is None:
            # RFC 2308 §5: a negative answer without an SOA is not cached.
            return 0.0 if status in _NEGATIVE else self.min_ttl
        cap = self.max_negative_ttl if status in _NEGATIVE else self.max_ttl
        return min(max(float(ttl), self.min_ttl), cap)

    # -- the resolver protocols ---------------------------------------------

    def query(self, name: str, rdtype: str) -> Answer:
        """Answer one question from the cache, or ask the wrapped resolver once.

        Raises:
            TypeError: The wrapped resolver has no synchronous ``query``.
        """
        inner = self._sync
        if inner is None:
            raise TypeError(
                f"{type(self._resolver).__name__} has no query(); use query_async() with it"
            )
        key = _key(name, rdtype)
        while True:
            now = self._clock()
            entry, flight, leader = self._begin(key, now, None)
            if entry is not None:
                return _aged(entry, now)
            assert flight is not None
            if leader:
                try:
                    answer = inner.query(key.name, key.rdtype)
                except BaseException as exc:
                    self._fail(key, flight, exc)
                    raise
                return self._finish(key, flight, answer)
            if flight.thread == threading.get_ident():
                # Only a coroutine of an event loop of this thread can be sending
                # it, and it cannot finish while this thread blocks: do not wait.
                return inner.query(key.name, key.rdtype)
            try:
                return flight.future.result()
            except _Abandoned:
                continue

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """Answer one question in asyncio, from the cache or with one query.

        Concurrent tasks asking the same question await the same query; when
        the task that sent it is cancelled, the others ask again.
        """
        key = _key(name, rdtype)
        loop = asyncio.get_running_loop()
        while True:
            now = self._clock()
            entry, flight, leader = self._begin(key, now, loop)
            if entry is not None:
                return _aged(entry, now)
            assert flight is not None
            if leader:
                try:
                    answer = await self._ask_async(key)
                except BaseException as exc:
                    self._fail(key, flight, exc)
                    raise
                return self._finish(key, flight, answer)
            if flight.loop is not loop and flight.thread == threading.get_ident():
                # Sent from another event loop of this thread, which does not
                # run while this one does: waiting could last forever.
                return await self._ask_async(key)
            try:
                return await _wait(flight.future)
            except _Abandoned:
                continue

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Answer every question: cached ones at once, the others in one batch.

        The answers come back in the questions' order. A question asked twice
        in the batch is sent once.

        Raises:
            TypeError: The wrapped resolver has no synchronous ``query``.
        """
        inner = self._sync
        if inner is None:
            raise TypeError(
                f"{type(self._resolver).__name__} has no query(); use query_async() with it"
            )
        me = threading.get_ident()
        keys = [_key(n, t) for n, t in questions]
        results: dict[Question, Answer] = {}
        mine: dict[Question, _Flight | None] = {}
        waits: dict[Question, _Flight] = {}
        now = self._clock()
        for key in keys:
            if key in results or key in mine or key in waits:
                continue
            entry, flight, leader = self._begin(key, now, None)
            if entry is not None:
                results[key] = _aged(entry, now)
            elif leader:
                mine[key] = flight
            else:
                assert flight is not None
                if flight.thread == me:
                    mine[key] = None  # see query(): never wait on this thread
                else:
                    waits[key] = flight
        if mine:
            asked = list(mine)
            try:
                if len(asked) > 1 and self._batch is not None:
                    answers = self._batch.query_batch(asked)
                else:
                    answers = [inner.query(k.name, k.rdtype) for k in asked]
            except BaseException as exc:
                for key, own in mine.items():
                    if own is not None:
                        self._fail(key, own, exc)
                raise
            for key, answer in zip(asked, answers, strict=True):
                own = mine[key]
                results[key] = answer if own is None else self._finish(key, own, answer)
        for key, flight in waits.items():
            try:
                results[key] = flight.future.result()
            except _Abandoned:
                results[key] = self.query(key.name, key.rdtype)
        return [results[key] for key in keys]

    # -- internals -----------------------------------------------------------

    async def _ask_async(self, key: Question) -> Answer:
        if self._async is not None:
            return await self._async.query_async(key.name, key.rdtype)
        assert self._sync is not None
        return await asyncio.to_thread(self._sync.query, key.name, key.rdtype)

    def _begin(
        self, key: Question, now: float, loop: asyncio.AbstractEventLoop | None
    ) -> tuple[_Entry | None, _Flight | None, bool]:
        """Look ``key`` up: (entry, None, False) on a hit, else the flight to
        wait for and whether this caller (on ``loop``) must send the query."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.expires > now:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    return entry, None, False
                del self._entries[key]
            flight = self._flights.get(key)
            if flight is not None:
                self._coalesced += 1
                return None, flight, False
            flight = self._flights[key] = _Flight(threading.get_ident(), loop)
            self._misses += 1
            return None, flight, True

    def _finish(self, key: Question, flight: _Flight, answer: Answer) -> Answer:
        """Store the answer the leader got, and hand it to every waiter."""
        keep = self.lifetime(answer)
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if keep > 0:
                now = self._clock()
                self._entries[key] = _Entry(answer, now, now + keep)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                    self._evictions += 1
        flight.future.set_result(answer)
        return answer

    def _fail(self, key: Question, flight: _Flight, exc: BaseException) -> None:
        """The leader's query raised: nothing is cached; waiters get the error
        (or ask again when the leader was cancelled)."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if isinstance(exc, Exception):
            flight.future.set_exception(exc)
        else:
            flight.future.set_exception(_Abandoned())


def _aged(entry: _Entry, now: float) -> Answer:
    """The cached answer as it stands at ``now``: its TTL is the time it has left."""
    answer = entry.answer
    if answer.status.temporary:
        return answer
    left = math.ceil(entry.expires - now)
    extra = answer.additional
    if extra:
        elapsed = now - entry.stored
        kept = []
        for add in extra:
            if add.ttl is None:
                kept.append(add)
                continue
            add_left = math.ceil(add.ttl - elapsed)
            if add_left > 0:
                kept.append(add if add_left == add.ttl else attrs.evolve(add, ttl=add_left))
        if len(kept) != len(extra) or any(a is not b for a, b in zip(kept, extra, strict=False)):
            return attrs.evolve(answer, ttl=left, additional=kept)
    if left == answer.ttl:
        return answer
    return attrs.evolve(answer, ttl=left)


async def _wait(future: concurrent.futures.Future[Answer]) -> Answer:
    """Await a query sent by another caller, possibly on another thread or loop.

    The caller's cancellation never cancels the shared query.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[Answer] = loop.create_future()
    thread = threading.get_ident()

    def transfer(done: concurrent.futures.Future[Answer]) -> None:
        if waiter.done():
            return
        exc = done.exception()
        if exc is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(done.result())

    def on_done(done: concurrent.futures.Future[Answer]) -> None:
        if threading.get_ident() == thread:
            transfer(done)  # set by a coroutine of this very loop
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits
                loop.call_soon_threadsafe(transfer, done)

    future.add_done_callback(on_done)
    return await waiter
