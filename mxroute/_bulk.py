"""The one bulk engine: a coroutine function run over many items.

It runs with bounded concurrency and bounded memory.

:meth:`Router.resolve_many <mxroute.Router.resolve_many>`,
:func:`~mxroute.audit_many` and the ``mxroute`` command all run on it.

``concurrency`` worker tasks pull items from the input lazily, one at a time
(a sync or an async iterable; a generator over millions of lines is fine),
call the coroutine function on each and hand ``(item, result)`` pairs to the
consumer. A worker takes a new item only while fewer than a fixed window of
items (``2 * concurrency``, or ``4 * concurrency`` with ``ordered=True``)
are started and not yet handed over, so however long the input, memory stays
bounded and a slow consumer slows the workers down instead of piling results
up.

By default results come in the order they complete: one slow item delays no
other. With ``ordered=True`` they come in input order; then a slow item holds
back the results after it (at most the window of them are kept waiting).

An :class:`~mxroute.MXRouteError` raised for one item (a failed route, an
invalid target) is that item's result, so one bad line never aborts a run.
Anything else raised, by the coroutine function or by the input, including a
:class:`BaseException` that is not an :class:`Exception` (such as
:class:`asyncio.CancelledError` raised by a resolver), stops the run: the
workers are cancelled and the consumer gets the exception.

This module holds no RFC logic: it only schedules calls. It imports asyncio
only when a run starts, so ``import mxroute`` does not load it.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Generic, TypeVar

from mxroute._checks import integer
from mxroute._errors import MXRouteError
from mxroute._model import MailRoute
from mxroute._names import Target

__all__ = ["DEFAULT_CONCURRENCY", "BulkResult", "check_concurrency", "run", "run_sync"]

DEFAULT_CONCURRENCY = 32
"""How many items a bulk run (:meth:`~mxroute.Router.resolve_many`,
:func:`~mxroute.audit_many`, the ``mxroute`` command) works on at once by
default.

Why 32: a route waits on the network for most of its time (one MX round trip,
then one batch of address questions), so with 50 ms round trips 32 routes in
flight give several hundred routes a second, while the DNS questions sent
(about a thousand a second at that latency) stay within what a public
recursive resolver accepts from one client before it throttles it (Google
Public DNS documents a default limit of about 1,000 to 1,500 queries a
second per client address). Against your own resolver, raise it: 128 routes
in flight more than triple the rate at 20 ms per query, at no cost in memory
worth counting (about 6 KB per route in flight).
"""

_I = TypeVar("_I")
"""An item of a bulk run."""
R = TypeVar("R")
"""What the coroutine function of a bulk run returns for one item."""
T = TypeVar("T", bound="str | Target")
"""A routing target of :meth:`~mxroute.Router.resolve_many`."""

BulkResult = tuple[T, "MailRoute | MXRouteError"]
"""What a routing run yields: the target as given, and its route or its error."""


def check_concurrency(concurrency: object) -> int:
    """Return ``concurrency`` if it is a usable number of workers.

    Raises:
        InvalidInput: It is not an integer >= 1 (``.reason`` is
            ``"invalid-concurrency"``).
    """
    return integer(concurrency, "concurrency", low=1)


class _Result(Generic[_I, R]):
    """One item's result, with its position in the input."""

    __slots__ = ("index", "item", "value")

    def __init__(self, index: int, item: _I, value: R | MXRouteError) -> None:
        self.index = index
        self.item = item
        self.value = value


class _Crash:
    """What a worker sends when something other than an MXRouteError was raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()
"""What a worker sends when it found the input exhausted."""


def run(
    work: Callable[[_I], Awaitable[R]],
    items: Iterable[_I] | AsyncIterable[_I],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = False,
) -> AsyncIterator[tuple[_I, R | MXRouteError]]:
    """Call ``work`` on every item, at most ``concurrency`` at a time.

    Args:
        work: The coroutine function that handles one item.
        items: The items, pulled lazily; a sync or an async iterable.
        concurrency: The number of worker tasks.
        ordered: Yield in input order instead of completion order.

    Returns:
        An async iterator of ``(item, result)`` pairs, ``result`` being what
        ``work`` returned or the :class:`~mxroute.MXRouteError` it raised.
        Whatever else ``work`` or the input raises stops the run and is
        raised from the iterator.

    Raises:
        InvalidInput: ``concurrency`` is not an integer >= 1 (at once).
    """
    workers = check_concurrency(concurrency)
    return _run(work, items, workers, ordered)


async def _run(
    work: Callable[[_I], Awaitable[R]],
    items: Iterable[_I] | AsyncIterable[_I],
    workers: int,
    ordered: bool,
) -> AsyncIterator[tuple[_I, R | MXRouteError]]:
    import asyncio

    # Items started and not yet handed to the consumer; bounds the memory.
    window = asyncio.Semaphore((4 if ordered else 2) * workers)
    done: asyncio.Queue[_Result[_I, R] | _Crash | object] = asyncio.Queue()
    pull = _puller(items)

    async def worker() -> None:
        try:
            while True:
                await window.acquire()
                got = await pull()
                if got is None:
                    break
                index, item = got
                try:
                    value: R | MXRouteError = await work(item)
                except MXRouteError as error:
                    value = error
                done.put_nowait(_Result(index, item, value))
        except BaseException as error:  # handed to the consumer, who raises it
            done.put_nowait(_Crash(error))
            return
        done.put_nowait(_DONE)

    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    waiting: dict[int, _Result[_I, R]] = {}  # ordered: results ahead of the next one
    following = 0
    try:
        running = workers
        while running:
            message = await done.get()
            if message is _DONE:
                running -= 1
                continue
            if isinstance(message, _Crash):
                raise message.error
            assert isinstance(message, _Result)
            if not ordered:
                window.release()
                yield message.item, message.value
                continue
            waiting[message.index] = message
            while following in waiting:
                result = waiting.pop(following)
                following += 1
                window.release()
                yield result.item, result.value
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _puller(
    items: Iterable[_I] | AsyncIterable[_I],
) -> Callable[[], Awaitable[tuple[int, _I] | None]]:
    """A coroutine function that takes the next item with its index.

    It returns None once the input is exhausted.
    """
    import asyncio

    count = 0
    if isinstance(items, AsyncIterable):
        aiterator = aiter(items)
        lock = asyncio.Lock()  # an async generator cannot be advanced twice at once
        exhausted = False

        async def pull_async() -> tuple[int, _I] | None:
            nonlocal exhausted, count
            async with lock:
                if exhausted:
                    return None
                try:
                    item = await anext(aiterator)
                except StopAsyncIteration:
                    exhausted = True
                    return None
                count += 1
                return count - 1, item

        return pull_async

    iterator = iter(items)

    async def pull_sync() -> tuple[int, _I] | None:
        nonlocal count
        for item in iterator:
            count += 1
            return count - 1, item
        return None

    return pull_sync


def run_sync(
    work: Callable[[_I], Awaitable[R]],
    items: Iterable[_I],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ordered: bool = False,
) -> Iterator[tuple[_I, R | MXRouteError]]:
    """:func:`run` as a plain iterator, on an event loop of its own.

    The loop runs only while the caller waits for the next result; it is
    closed when the iterator is exhausted or closed, or when the run raises.
    Call it from code that is not already running in an event loop.

    Raises:
        InvalidInput: ``concurrency`` is not an integer >= 1 (at once).
    """
    return _drive(run(work, items, concurrency=concurrency, ordered=ordered))


def _drive(results: AsyncIterator[tuple[_I, R]]) -> Iterator[tuple[_I, R]]:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                item = loop.run_until_complete(anext(results))
            except StopAsyncIteration:
                return
            yield item
    finally:
        try:
            aclose = getattr(results, "aclose", None)
            if aclose is not None:
                loop.run_until_complete(aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
