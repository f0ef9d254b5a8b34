"""Shard a stream of work over worker processes: ``mxroute route|check --jobs N``.

One process routes a few thousand domains a second before its CPU is the
limit. :func:`run_sharded` cuts the input into chunks and hands them to ``N``
worker processes, each with its own event loop, resolver and cache (built once
per worker by ``initializer``), sharing nothing but the chunks going in and
the results coming out. Memory stays bounded: at most ``2 * jobs`` chunks are
in flight, and the input is read lazily as results are taken.

Results come per chunk, in completion order, or in input order with
``ordered=True`` (then a slow chunk holds back the ones after it; the window
still bounds what is kept). ``jobs=1`` runs in this process, with no pool.

Workers start with the ``spawn`` method on every platform: a child forked from
a process that runs threads (a resolver's pool, a loop) can inherit a held
lock; spawning costs a fraction of a second per worker, once per run.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

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


def _chunks(items: Iterable[_I], size: int) -> Iterator[list[_I]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def run_sharded(
    items: Iterable[_I],
    work: Callable[[Sequence[_I]], list[_R]],
    *,
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    ordered: bool = False,
) -> Iterator[_R]:
    """Yield ``work(chunk)``'s results for every chunk of *items*, computed by *jobs* processes.

    Args:
        items: The input, read lazily.
        work: Turns one chunk into its results. With ``jobs > 1`` it and
            *initializer* must be importable module-level functions (they are
            sent to the workers by name), and items and results must pickle.
        jobs: How many worker processes; 1 runs here, with no pool.
        initializer: Called once in each worker (and once here for
            ``jobs=1``) with *initargs*, e.g. to build the worker's resolver.
        initargs: Its arguments (they must pickle).
        chunk_size: Items per chunk.
        ordered: Yield in input order instead of completion order.

    Raises:
        InvalidInput: ``jobs`` or ``chunk_size`` is not a positive integer.
        WorkerFailed: A worker died (killed, out of memory) or *work* raised.
    """
    jobs = check_jobs(jobs)
    chunk_size = integer(chunk_size, "chunk_size", low=1)
    if jobs == 1:
        if initializer is not None:
            initializer(*initargs)
        for chunk in _chunks(items, chunk_size):
            yield from work(chunk)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, context, initializer, initargs) as pool:
        try:
            yield from _drive(pool, _chunks(items, chunk_size), work, 2 * jobs, ordered)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _drive(
    pool: ProcessPoolExecutor,
    chunks: Iterator[list[_I]],
    work: Callable[[Sequence[_I]], list[_R]],
    window: int,
    ordered: bool,
) -> Iterator[_R]:
    pending: dict[Future[list[_R]], int] = {}
    done: dict[int, list[_R]] = {}
    submitted = 0
    next_out = 0
    exhausted = False
    while True:
        while not exhausted and len(pending) + len(done) < window:
            chunk = next(chunks, None)
            if chunk is None:
                exhausted = True
                break
            pending[pool.submit(work, chunk)] = submitted
            submitted += 1
        if not pending and not done:
            return
        if pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done[pending.pop(future)] = _result(future)
        if ordered:
            while next_out in done:
                yield from done.pop(next_out)
                next_out += 1
        else:
            for index in sorted(done):
                yield from done.pop(index)


def _result(future: Future[list[_R]]) -> list[_R]:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise WorkerFailed(f"a worker process died ({exc}); the run stopped") from None
    except Exception as exc:
        raise WorkerFailed(
            f"a worker process failed: {type(exc).__name__}: {exc}; the run stopped"
        ) from exc
