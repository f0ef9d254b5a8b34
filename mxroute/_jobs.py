"""Shard a stream of work over worker processes: ``mxroute route|check --jobs N``.

One process routes a few thousand domains a second before its CPU is the
limit. :func:`run_sharded` cuts the input into chunks and hands them to ``N``
worker processes, each with its own event loop, resolver and cache (built once
per worker by ``initializer``), sharing nothing but the chunks going in and
the results coming out. Memory stays bounded: at most ``2 * jobs`` chunks are
in flight, and the input is read lazily as results are taken.

Results come per chunk, in completion order, or in input order with
``ordered=True`` (then a slow chunk holds back the ones after it; the window
still bounds what is kept). ``jobs=1`` runs in a thread of this process, with
no pool.

Workers start with the ``spawn`` method on every platform: a child forked from
a process that runs threads (a resolver's pool, a loop) can inherit a held
lock; spawning costs a fraction of a second per worker, once per run.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

from mxroute._checks import integer
from mxroute._errors import MXRouteError

__all__ = ["DEFAULT_CHUNK_SIZE", "MAX_JOBS", "WorkerFailed", "check_jobs", "run_sharded"]

_I = TypeVar("_I")
_R = TypeVar("_R")

DEFAULT_CHUNK_SIZE = 200
"""Items per chunk: large enough that sending a chunk costs little next to
routing it, small enough that ``--jobs`` keeps every worker busy on short inputs."""

MAX_JOBS = 256
"""The most worker processes a run may ask for."""


class WorkerFailed(MXRouteError):
    """A worker process died or raised; the run stops (the message says why)."""


def check_jobs(jobs: object) -> int:
    """Return ``jobs`` if it is a usable number of worker processes (1 to :data:`MAX_JOBS`)."""
    return integer(jobs, "jobs", low=1, high=MAX_JOBS)


async def _chunks(items: Iterable[_I] | AsyncIterable[_I], size: int) -> AsyncIterator[list[_I]]:
    chunk: list[_I] = []
    if isinstance(items, AsyncIterable):
        async for item in items:
            chunk.append(item)
            if len(chunk) == size:
                yield chunk
                chunk = []
    else:
        for item in items:
            chunk.append(item)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


async def run_sharded(
    items: Iterable[_I] | AsyncIterable[_I],
    work: Callable[[Sequence[_I]], list[_R]],
    *,
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    ordered: bool = False,
) -> AsyncIterator[_R]:
    """Yield ``work(chunk)``'s results for every chunk of *items*, computed by *jobs* processes.

    An async generator, so that the caller's event loop (reading standard
    input, drawing a progress line) keeps running while the workers work.

    Args:
        items: The input (a sync or an async iterable), read lazily.
        work: Turns one chunk into its results. It and *initializer* must be
            importable module-level functions (they are sent to the workers
            by name), and items and results must pickle.
        jobs: How many worker processes; 1 runs *work* in a thread of this
            process, with no pool.
        initializer: Called once in each worker with *initargs*, e.g. to
            build the worker's resolver (for ``jobs=1``, once in the thread).
        initargs: Its arguments (they must pickle).
        chunk_size: Items per chunk.
        ordered: Yield in input order instead of completion order.

    Raises:
        InvalidInput: ``jobs`` or ``chunk_size`` is not a positive integer.
        WorkerFailed: A worker died (killed, out of memory) or *work* raised.
    """
    import asyncio

    jobs = check_jobs(jobs)
    chunk_size = integer(chunk_size, "chunk_size", low=1)
    chunks = _chunks(items, chunk_size)
    if jobs == 1:
        if initializer is not None:
            await asyncio.to_thread(initializer, *initargs)
        async for chunk in chunks:
            for result in await _result(asyncio.to_thread(work, chunk)):
                yield result
        return
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, context, initializer, initargs)
    pending: dict[asyncio.Future[list[_R]], int] = {}
    done: dict[int, list[_R]] = {}
    submitted = next_out = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) + len(done) < 2 * jobs:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    exhausted = True
                    break
                try:
                    future = loop.run_in_executor(pool, work, chunk)
                except BrokenProcessPool as exc:
                    # A worker died between two submissions: the pool
                    # refuses new work before any pending future says so.
                    raise _died(exc) from None
                pending[future] = submitted
                submitted += 1
            if not pending and not done:
                return
            if pending:
                finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in finished:
                    done[pending.pop(future)] = await _result(future)
            ready = []
            if ordered:
                while next_out in done:
                    ready.append(done.pop(next_out))
                    next_out += 1
            else:
                ready = [done.pop(index) for index in sorted(done)]
            for results in ready:
                for result in results:
                    yield result
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


async def _result(future: Awaitable[list[_R]]) -> list[_R]:
    try:
        return await future
    except BrokenProcessPool as exc:
        raise _died(exc) from None
    except Exception as exc:
        raise WorkerFailed(
            f"a worker process failed: {type(exc).__name__}: {exc}; the run stopped"
        ) from exc


def _died(exc: BrokenProcessPool) -> WorkerFailed:
    return WorkerFailed(f"a worker process died ({exc}); the run stopped")
