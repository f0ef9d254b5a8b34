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
* An exception, or a value that is not an :class:`~mxroute.Answer` (or a
  ``query_batch`` reply of the wrong length): never cached.

A cached answer reports the TTL it has left, so a route built from cached
answers expires when its data does. The A and AAAA answers carried in an MX
answer's additional section stay with that answer (with their own TTL left,
dropped once expired) and never answer an A or AAAA question of their own:
additional data ranks below an answer (RFC 2181 §5.4.1).

The cache is an LRU bounded by ``max_entries``. It is safe to share between
threads and between asyncio tasks (even on several event loops), and it sends
at most one query per question at a time: callers asking a question that is
already in flight wait for that query's outcome (single-flight). What a
caller does is decided in one place, :meth:`CachingResolver._decide`: answer
from the cache (hit), send the query (lead), wait for the query in flight
(wait), or ask directly when waiting could never end (bypass).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mxroute import _adapters as adapters
from mxroute._checks import integer, seconds
from mxroute._dns import Answer, AnswerStatus, AnyResolver, Question
from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._names import normalize_host

if TYPE_CHECKING:
    import asyncio

__all__ = ["CacheStats", "CachingResolver"]

_NEGATIVE = frozenset({AnswerStatus.NXDOMAIN, AnswerStatus.NODATA})
_FAILURE_TTL_LIMIT = 300.0
"""RFC 2308 §7.1 and §7.2: a server failure or a dead server is cached for at most five minutes."""

_SETTING = "invalid-cache-setting"
"""The ``reason`` of every bad setting."""

INVALID_ANSWER = "invalid-resolver-answer"
"""The ``reason`` of the error for a wrapped resolver that broke its contract."""


def _key(name: str, rdtype: str) -> Question:
    """The cache key of a question.

    It reuses the caller's strings when they are already normalised, so that
    a key costs no copy of them.
    """
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

    __slots__ = ("aged", "answer", "expires", "stored")

    def __init__(self, answer: Answer, stored: float, expires: float) -> None:
        self.answer = answer
        self.stored = stored
        self.expires = expires
        self.aged: tuple[int, Answer] | None = None
        """The answer last given out with a shorter TTL, and that TTL (one tuple: thread-safe)."""


class _Flight:
    """A query in flight.

    It holds the thread that sends it, the event loop it is sent from (None
    for a synchronous query) and, once a caller waits for it, its future:
    most queries have no waiter, and a future (with its lock and condition)
    is made only for those that do, under the cache's lock.
    """

    __slots__ = ("future", "loop", "thread")

    def __init__(self, thread: int, loop: asyncio.AbstractEventLoop | None) -> None:
        self.future: concurrent.futures.Future[Answer] | None = None
        self.thread = thread
        self.loop = loop

    def waited(self) -> concurrent.futures.Future[Answer]:
        """The future a waiter waits on (made by the first; call under the cache's lock)."""
        future = self.future
        if future is None:
            future = self.future = concurrent.futures.Future()
        return future


class _Action(enum.Enum):
    """What a caller asking one question does (see :meth:`CachingResolver._decide`)."""

    HIT = "hit"
    """The cache has a live answer: return it."""
    LEAD = "lead"
    """Nobody is asking: send the query, then store the answer and hand it to the waiters."""
    WAIT = "wait"
    """Another caller's query is in flight: wait for its outcome."""
    BYPASS = "bypass"
    """A query is in flight on this very thread, from a caller that cannot go on
    while this one waits (a paused event loop of this thread): ask the wrapped
    resolver directly, and neither wait nor store."""


_HIT, _LEAD, _WAIT, _BYPASS = _Action.HIT, _Action.LEAD, _Action.WAIT, _Action.BYPASS

_Decision = tuple[_Action, Answer | None, _Flight | None]
"""``(HIT, answer, None)``, ``(LEAD, None, flight)``, ``(WAIT, None, flight)``
or ``(BYPASS, None, None)``."""


class CachingResolver(adapters.Wrapper):
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
    * ``query_batch_async`` sends them to the wrapped resolver's
      ``query_batch_async`` in one batch, or concurrently through
      ``query_async``; a resolver with only ``query`` and ``query_batch``
      gets the batch in one worker thread (the router's async driver uses
      it for each batch).

    When the query that other callers wait for fails, they all get the same
    exception, nothing is cached, and the next call asks again. A wrapped
    resolver that returns something other than an :class:`~mxroute.Answer`
    (or a ``query_batch`` reply with one answer too few or too many) has broken
    its contract: the caller and every waiter get one :class:`~mxroute.InvalidInput`
    (``.reason`` ``"invalid-resolver-answer"``) naming the resolver's method
    and the question.

    It is a context manager (``with`` and ``async with``): :meth:`close` and
    :meth:`aclose` close the wrapped resolver. A pickled or deep-copied cache
    (for a :class:`~concurrent.futures.ProcessPoolExecutor`, say) has the
    same settings and a copy of the wrapped resolver, and starts empty: an
    entry's expiry is a reading of this process's monotonic clock.

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
        resolver: AnyResolver,
        *,
        max_entries: int = 10_000,
        failure_ttl: float = 5.0,
        min_ttl: float = 0.0,
        max_ttl: float = 86_400.0,
        max_negative_ttl: float = 10_800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = integer(max_entries, "max_entries", low=1, reason=_SETTING)
        self.failure_ttl = seconds(
            failure_ttl, "failure_ttl", allow_zero=True, high=_FAILURE_TTL_LIMIT, reason=_SETTING
        )
        self.min_ttl = seconds(min_ttl, "min_ttl", allow_zero=True, reason=_SETTING)
        self.max_ttl = seconds(max_ttl, "max_ttl", allow_zero=True, reason=_SETTING)
        self.max_negative_ttl = seconds(
            max_negative_ttl, "max_negative_ttl", allow_zero=True, reason=_SETTING
        )
        if self.min_ttl > self.max_ttl or self.min_ttl > self.max_negative_ttl:
            raise InvalidInput(_SETTING, "min_ttl must not exceed max_ttl nor max_negative_ttl")
        self._resolver = resolver
        self._ask_async = adapters.async_query(resolver)  # TypeError for a non-resolver
        self._async_method = "query_async" if hasattr(resolver, "query_async") else "query"
        self._query: adapters.SyncQuery | None = getattr(resolver, "query", None)
        self._query_batch: Callable[[Sequence[Question]], Sequence[Answer]] | None = getattr(
            resolver, "query_batch", None
        )
        self._query_batch_async: (
            Callable[[Sequence[Question]], Awaitable[Sequence[Answer]]] | None
        ) = getattr(resolver, "query_batch_async", None)
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
    def resolver(self) -> AnyResolver:
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

    def cache_duration(self, answer: Answer) -> float:
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

    # Named here, not only inherited, so that the API reference lists them.
    close = adapters.Wrapper.close
    aclose = adapters.Wrapper.aclose

    @property
    def wrapped(self) -> AnyResolver:
        """The wrapped resolver (the same as :attr:`resolver`).

        :meth:`close`, :meth:`aclose`, ``with`` and ``async with`` close it.
        """
        return self._resolver

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and :func:`copy.deepcopy` support: the settings and the wrapped resolver.

        The copy starts empty, with new counters, lock and in-flight table:
        an entry's expiry is a reading of this process's monotonic clock,
        which means nothing in another process, and a worker of a
        :class:`~concurrent.futures.ProcessPoolExecutor` fills its own cache.
        The wrapped resolver and ``clock`` must pickle (the default
        :func:`time.monotonic` does; a lambda does not).
        """
        settings = {
            "max_entries": self.max_entries,
            "failure_ttl": self.failure_ttl,
            "min_ttl": self.min_ttl,
            "max_ttl": self.max_ttl,
            "max_negative_ttl": self.max_negative_ttl,
            "clock": self._clock,
        }
        return (_restore, (type(self), self._resolver, settings))

    # -- the resolver protocols ---------------------------------------------

    def query(self, name: str, rdtype: str) -> Answer:
        """Answer one question from the cache, or ask the wrapped resolver once.

        Raises:
            TypeError: The wrapped resolver has no synchronous ``query``.
            InvalidInput: The wrapped resolver returned no
                :class:`~mxroute.Answer` (``"invalid-resolver-answer"``).
        """
        query = self._query
        if query is None:
            raise adapters.no_query(self._resolver, "query_async()")
        key = _key(name, rdtype)
        while True:
            action, answer, flight = self._decide(key, self._clock(), None)
            if answer is not None:
                return answer
            if action is not _WAIT:
                return self._lead(key, flight, query)
            answer = _outcome(flight)
            if answer is not None:
                return answer

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """Answer one question in asyncio, from the cache or with one query.

        Concurrent tasks asking the same question await the same query; when
        the task that sent it is cancelled, the others ask again.

        Raises:
            InvalidInput: The wrapped resolver returned no
                :class:`~mxroute.Answer` (``"invalid-resolver-answer"``).
        """
        import asyncio

        key = _key(name, rdtype)
        loop = asyncio.get_running_loop()
        while True:
            action, answer, flight = self._decide(key, self._clock(), loop)
            if answer is None and action is _WAIT:
                answer = await _wait(flight)
            elif answer is None:
                try:
                    got: object = await self._ask_async(key.name, key.rdtype)
                except BaseException as exc:
                    self._fail(key, flight, exc)
                    raise
                return self._settle(key, flight, got, self._async_method)
            if answer is not None:
                return answer

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Answer every question: cached ones at once, the others in one batch.

        The answers come back in the questions' order. A question asked twice
        in the batch is sent once.

        Raises:
            TypeError: The wrapped resolver has no synchronous ``query``.
            InvalidInput: The wrapped resolver returned no
                :class:`~mxroute.Answer`, or ``query_batch`` a reply of
                another length than the questions sent
                (``"invalid-resolver-answer"``).
        """
        query = self._query
        if query is None:
            raise adapters.no_query(self._resolver, "query_async()")
        keys = [_key(n, t) for n, t in questions]
        results, asks, waits = self._sort_batch(keys, None)
        if asks:
            results.update(self._ask_batch(asks, query))
        for key, flight in waits.items():
            answer = _outcome(flight)
            results[key] = answer if answer is not None else self.query(key.name, key.rdtype)
        return [results[key] for key in keys]

    async def query_batch_async(self, questions: Sequence[Question]) -> list[Answer]:
        """Answer every question in asyncio: cached ones at once, the others in one batch.

        The questions the cache cannot answer, and that no other caller is
        asking already, go to the wrapped resolver's ``query_batch_async`` in
        one batch when it has it (a :class:`~mxroute.DNSResolver` multiplexes
        them without a task per question), else concurrently through
        ``query_async``. A question asked twice in the batch is sent once;
        one in flight for another caller is waited for, as with
        :meth:`query_async`. The answers come back in the questions' order.

        Raises:
            InvalidInput: The wrapped resolver returned no
                :class:`~mxroute.Answer`, or ``query_batch_async`` a reply of
                another length than the questions sent
                (``"invalid-resolver-answer"``).
        """
        import asyncio

        keys = [_key(n, t) for n, t in questions]
        results, asks, waits = self._sort_batch(keys, asyncio.get_running_loop())
        if asks:
            results.update(await self._ask_batch_async(asks))
        for key, flight in waits.items():
            answer = await _wait(flight)
            results[key] = (
                answer if answer is not None else await self.query_async(key.name, key.rdtype)
            )
        return [results[key] for key in keys]

    # -- internals -----------------------------------------------------------

    def _decide(
        self, key: Question, now: float, loop: asyncio.AbstractEventLoop | None
    ) -> _Decision:
        """What the caller asking ``key`` at ``now`` does: the one place that decides it.

        ``loop`` is the caller's event loop, or None for a synchronous call.

        Returns:
            ``(HIT, answer, None)``: the cached answer, aged to ``now``;
            ``(LEAD, None, flight)``: send the query, settle ``flight``;
            ``(WAIT, None, flight)``: wait for ``flight``;
            ``(BYPASS, None, None)``: send the query, settle nothing. Waiting
            for a query sent from this very thread can only end if it was
            sent by a coroutine of the same running event loop (which runs
            while this caller awaits); a synchronous caller would block the
            loop it waits for, and another loop of this thread is paused.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires > now:
                self._entries.move_to_end(key)
                self._hits += 1
            else:
                if entry is not None:
                    del self._entries[key]
                me = threading.get_ident()
                flight = self._flights.get(key)
                if flight is None:
                    flight = self._flights[key] = _Flight(me, loop)
                    self._misses += 1
                    return _LEAD, None, flight
                if flight.thread == me and (loop is None or flight.loop is not loop):
                    self._misses += 1
                    return _BYPASS, None, None
                self._coalesced += 1
                flight.waited()
                return _WAIT, None, flight
        return _HIT, _aged(entry, now), None  # aged outside the lock

    def _sort_batch(
        self, keys: Sequence[Question], loop: asyncio.AbstractEventLoop | None
    ) -> tuple[dict[Question, Answer], dict[Question, _Flight | None], dict[Question, _Flight]]:
        """:meth:`_decide` for each distinct question of a batch, at one time.

        Returns the answers from the cache (hits), the questions to send
        (LEAD with its flight, BYPASS with None) and those to wait for.
        """
        results: dict[Question, Answer] = {}
        asks: dict[Question, _Flight | None] = {}
        waits: dict[Question, _Flight] = {}
        now = self._clock()
        for key in keys:
            if key in results or key in asks or key in waits:
                continue
            action, answer, flight = self._decide(key, now, loop)
            if answer is not None:
                results[key] = answer
            elif action is _WAIT:
                assert flight is not None
                waits[key] = flight
            else:
                asks[key] = flight
        return results, asks, waits

    def _checked_reply(
        self, method: str, got: object, asked: Sequence[Question]
    ) -> Sequence[object]:
        """``got`` when it is a sequence of one reply per question; else the contract error."""
        if not isinstance(got, Sequence) or len(got) != len(asked):
            count = f"{len(got)} answers" if isinstance(got, Sequence) else repr(got)
            raise self._invalid(method, f"returned {count} for {len(asked)} questions", asked[0])
        return got

    def _ask_batch(
        self, asks: dict[Question, _Flight | None], query: adapters.SyncQuery
    ) -> dict[Question, Answer]:
        """Send the questions of ``asks`` and settle their flights.

        They go in one ``query_batch`` when there are several and the wrapped
        resolver has it.

        Whatever goes wrong, no flight of ``asks`` is left unsettled: those not
        settled yet get the error.
        """
        answers: dict[Question, Answer] = {}
        pending = dict(asks)
        asked = list(asks)
        try:
            if len(asked) > 1 and self._query_batch is not None:
                got = self._checked_reply("query_batch", self._query_batch(asked), asked)
                for key, answer in zip(asked, got, strict=True):
                    answers[key] = self._settle(key, pending.pop(key), answer, "query_batch")
            else:
                for key in asked:
                    answers[key] = self._lead(key, pending.pop(key), query)
        except BaseException as exc:
            for key, flight in pending.items():
                self._fail(key, flight, exc)
            raise
        return answers

    async def _ask_batch_async(
        self, asks: dict[Question, _Flight | None]
    ) -> dict[Question, Answer]:
        """:meth:`_ask_batch` in asyncio: one ``query_batch_async`` if the resolver has it.

        Whatever goes wrong (cancellation included), no flight of ``asks`` is
        left unsettled.
        """
        import asyncio

        answers: dict[Question, Answer] = {}
        pending = dict(asks)
        asked = list(asks)
        batch = self._query_batch_async
        sync_batch = self._query_batch if self._async_method == "query" else None
        try:
            if len(asked) > 1 and (batch is not None or sync_batch is not None):
                if batch is not None:
                    reply: object = await batch(asked)
                    method = "query_batch_async"
                else:  # a sync-only resolver: its whole batch in one worker thread
                    assert sync_batch is not None
                    reply = await asyncio.to_thread(sync_batch, asked)
                    method = "query_batch"
                got = self._checked_reply(method, reply, asked)
            else:
                got = await asyncio.gather(*(self._ask_async(k.name, k.rdtype) for k in asked))
                method = self._async_method
            for key, answer in zip(asked, got, strict=True):
                answers[key] = self._settle(key, pending.pop(key), answer, method)
        except BaseException as exc:
            for key, flight in pending.items():
                self._fail(key, flight, exc)
            raise
        return answers

    def _lead(self, key: Question, flight: _Flight | None, query: adapters.SyncQuery) -> Answer:
        """Send the query for ``key`` and settle ``flight`` with its outcome."""
        try:
            got: object = query(key.name, key.rdtype)
        except BaseException as exc:
            self._fail(key, flight, exc)
            raise
        return self._settle(key, flight, got, "query")

    def _invalid(self, method: str, what: str, key: Question) -> InvalidInput:
        """The error for a wrapped resolver that broke its contract."""
        return InvalidInput(
            INVALID_ANSWER,
            f"{type(self._resolver).__name__}.{method}() {what} "
            f"(asked {key.name} {key.rdtype}); a resolver must return an Answer per question",
        )

    def _settle(self, key: Question, flight: _Flight | None, got: object, method: str) -> Answer:
        """Check what the wrapped resolver returned.

        Store it and hand it to the waiters (when this caller leads ``flight``),
        or fail them all.
        """
        if not isinstance(got, Answer):
            error = self._invalid(method, f"returned {_short(got)}, not an Answer", key)
            self._fail(key, flight, error)
            raise error
        if flight is None:
            return got
        try:
            keep = self.cache_duration(got)
            stored = self._clock() if keep > 0 else 0.0
        except BaseException as exc:
            self._fail(key, flight, exc)
            raise
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if keep > 0:
                self._entries[key] = _Entry(got, stored, stored + keep)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                    self._evictions += 1
        # The flight left the table under the lock: no waiter comes after this.
        if flight.future is not None:
            flight.future.set_result(got)
        return got

    def _fail(self, key: Question, flight: _Flight | None, exc: BaseException) -> None:
        """The leader's query failed: nothing is cached; waiters get the error.

        They ask again instead when the leader was cancelled or interrupted.
        """
        if flight is None:
            return
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        future = flight.future
        if future is None:
            return  # nobody waits
        if isinstance(exc, Exception):
            future.set_exception(exc)
        else:
            future.set_exception(_Abandoned())


def _restore(
    cls: type[CachingResolver], resolver: AnyResolver, settings: dict[str, Any]
) -> CachingResolver:
    """Unpickle a :class:`CachingResolver` (see ``CachingResolver.__reduce__``)."""
    return cls(resolver, **settings)


def _short(value: object) -> str:
    """A repr of ``value`` short enough for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    aged = entry.aged
    if aged is not None and aged[0] == left:
        return aged[1]  # the hits of one second share one answer: no new object each time
    answer = attrs.evolve(answer, ttl=left)
    entry.aged = (left, answer)
    return answer


def _outcome(flight: _Flight | None) -> Answer | None:
    """Wait for a query sent by another caller, and return its answer.

    Returns None when that caller was cancelled or interrupted (ask again).
    Its exception is raised.
    """
    assert flight is not None
    assert flight.future is not None  # made by _decide for every waiter
    try:
        return flight.future.result()
    except _Abandoned:
        return None


async def _wait(flight: _Flight | None) -> Answer | None:
    """:func:`_outcome` in asyncio: the query may be sent on another thread or loop.

    The caller's cancellation never cancels the shared query.
    """
    import asyncio

    assert flight is not None
    future = flight.future
    assert future is not None  # made by _decide for every waiter
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
    try:
        return await waiter
    except _Abandoned:
        return None


publish(globals())
