"""Route many targets concurrently, with bounded memory: the engine of
:meth:`Router.resolve_many <mxroute.Router.resolve_many>`.

A fixed pool of ``concurrency`` worker tasks pulls targets from the input
lazily, one at a time, routes each with a coroutine function (the router's
``resolve_async``), and hands ``(target, result)`` pairs to the consumer
through a queue of at most ``concurrency`` items. So however many targets the
input holds (a generator over millions of lines is fine), at most
``2 * concurrency`` of them are in memory at once, plus the one the consumer
holds, and a slow consumer slows the workers down instead of piling results up.

Results come in the order they complete, not the input order. A target that
cannot be routed gives its :class:`~mxroute.MailRouteError`, and a target
that is not valid input gives its :class:`~mxroute.InvalidInput` error (both
are :class:`~mxroute.MXRouteError`), as the result instead of an exception, so
one bad line never aborts a run. Any other exception (a bug, a resolver that
breaks its contract, an input iterator that raises) stops the run and is
raised to the consumer.

This module holds no RFC logic: it only schedules calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

from mxroute._errors import InvalidInput, MXRouteError
from mxroute._model import MailRoute
from mxroute._names import Target

__all__ = ["DEFAULT_CONCURRENCY", "BulkResult", "check_concurrency", "run", "run_sync"]

DEFAULT_CONCURRENCY = 32
"""How many targets :meth:`~mxroute.Router.resolve_many` routes at once by
default. Each route asks up to two batches of questions after its MX
question, so the number of DNS queries in flight can reach a few times this."""

T = TypeVar("T", bound="str | Target")

BulkResult = tuple[T, "MailRoute | MXRouteError"]
"""What a bulk run yields: the target as given, and its route or its error."""


def check_concurrency(concurrency: object) -> int:
    """Return ``concurrency`` if it is a usable number of workers.

    Raises:
        InvalidInput: It is not an integer >= 1 (``.reason`` is
            ``"invalid-concurrency"``).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInput(
            "invalid-concurrency",
            f"concurrency must be an integer >= 1, not {concurrency!r}",
            str(concurrency),
        )
    return concurrency


class _Done:
    """A worker's last message: it found the input exhausted."""


class _Crash:
    """A worker's last message when something other than a routing error went wrong."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def run(
    resolve: Callable[[T], Awaitable[MailRoute]],
    targets: Iterable[T] | AsyncIterable[T],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> AsyncIterator[BulkResult[T]]:
    """Route every target with ``resolve``, at most ``concurrency`` at a time.

    Args:
        resolve: The coroutine function that routes one target.
        targets: The targets, pulled lazily; a sync or an async iterable.
        concurrency: The number of worker tasks.

    Yields:
        ``(target, route_or_error)`` pairs, as they complete.

    Raises:
        InvalidInput: ``concurrency`` is not an integer >= 1.
        Exception: Whatever other exception a worker or the input raised;
            the run stops.
    """
    workers = check_concurrency(concurrency)
    queue: asyncio.Queue[BulkResult[T] | _Done | _Crash] = asyncio.Queue(maxsize=workers)
    pull = _puller(targets)

    async def work() -> None:
        try:
            while True:
                got = await pull()
                if got is None:
                    break
                (target,) = got
                try:
                    result: MailRoute | MXRouteError = await resolve(target)
                except MXRouteError as error:
                    result = error
                await queue.put((target, result))
        except Exception as error:
            await queue.put(_Crash(error))
            return
        await queue.put(_Done())

    tasks = [asyncio.ensure_future(work()) for _ in range(workers)]
    try:
        running = workers
        while running:
            item = await queue.get()
            if isinstance(item, _Done):
                running -= 1
            elif isinstance(item, _Crash):
                raise item.error
            else:
                yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _puller(targets: Iterable[T] | AsyncIterable[T]) -> Callable[[], Awaitable[tuple[T] | None]]:
    """A coroutine function that takes the next target: ``(target,)``, or
    None once the input is exhausted."""
    if isinstance(targets, AsyncIterable):
        aiterator = aiter(targets)
        lock = asyncio.Lock()  # an async generator cannot be advanced twice at once
        exhausted = False

        async def pull_async() -> tuple[T] | None:
            nonlocal exhausted
            async with lock:
                if exhausted:
                    return None
                try:
                    return (await anext(aiterator),)
                except StopAsyncIteration:
                    exhausted = True
                    return None

        return pull_async

    iterator = iter(targets)

    async def pull_sync() -> tuple[T] | None:
        try:
            return (next(iterator),)
        except StopIteration:
            return None

    return pull_sync


def run_sync(
    resolve: Callable[[T], Awaitable[MailRoute]],
    targets: Iterable[T],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Iterator[BulkResult[T]]:
    """:func:`run` as a plain iterator, on an event loop of its own.

    The loop runs only while the caller waits for the next result; it is
    closed when the iterator is exhausted or closed. Call it from code that
    is not already running in an event loop.

    Raises:
        InvalidInput: ``concurrency`` is not an integer >= 1 (at once).
    """
    check_concurrency(concurrency)
    return _drive(run(resolve, targets, concurrency=concurrency))


def _drive(results: AsyncIterator[BulkResult[T]]) -> Iterator[BulkResult[T]]:
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
