"""run_sharded: the process pool behind ``--jobs N``."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mxroute import InvalidInput
from mxroute._jobs import WorkerFailed, run_sharded
from tests import jobs_workers


def collect(results, limit=None):
    async def take():
        out = []
        async for result in results:
            out.append(result)
            if limit is not None and len(out) == limit:
                await results.aclose()
                break
        return out

    return asyncio.run(take())


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_item_once_with_the_workers_state(jobs):
    results = run_sharded(
        range(50),
        jobs_workers.square,
        jobs=jobs,
        initializer=jobs_workers.remember,
        initargs=("worker",),
        chunk_size=4,
    )
    assert sorted(collect(results)) == [(n, n * n, "worker") for n in range(50)]


def test_async_input_and_ordered_output():
    async def items():
        for n in range(40):
            yield n

    results = run_sharded(items(), jobs_workers.square, jobs=2, chunk_size=3, ordered=True)
    assert [n for n, _, _ in collect(results)] == list(range(40))


def test_input_is_read_lazily():
    taken = []

    def items():
        for n in itertools.count():
            taken.append(n)
            yield n

    first = collect(run_sharded(items(), jobs_workers.square, jobs=2, chunk_size=5), limit=1)
    assert first[0][0] < 20
    assert len(taken) <= 2 * 2 * 5 + 5  # the window of chunks, and one being cut


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_worker_stops_the_run(jobs):
    results = run_sharded(range(20), jobs_workers.fail_on_seven, jobs=jobs, chunk_size=2)
    with pytest.raises(WorkerFailed, match="ValueError: seven"):
        collect(results)


def test_a_dying_worker_stops_the_run():
    with pytest.raises(WorkerFailed, match="died"):
        collect(run_sharded(range(20), jobs_workers.die_on_seven, jobs=2, chunk_size=2))


def test_a_worker_dying_before_the_next_submission_stops_the_run(tmp_path):
    # The input waits until the worker has died, so the next chunk is
    # submitted to a pool that is already broken: that refusal is a
    # WorkerFailed too, not a BrokenProcessPool.
    marker = tmp_path / "died"

    async def items():
        yield f"die:{marker}"
        for _ in range(1000):
            if marker.exists():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # the pool's manager notices the death
        yield "next"

    with pytest.raises(WorkerFailed, match="died"):
        collect(run_sharded(items(), jobs_workers.die_leaving, jobs=2, chunk_size=1))
    assert marker.exists()


@pytest.mark.parametrize("jobs", [0, -1, True, 1.5, "2", 257])
def test_bad_jobs(jobs):
    with pytest.raises(InvalidInput) as caught:
        collect(run_sharded([1], jobs_workers.square, jobs=jobs))
    assert caught.value.reason == "invalid-jobs"


def test_bad_chunk_size():
    with pytest.raises(InvalidInput):
        collect(run_sharded([1], jobs_workers.square, jobs=1, chunk_size=0))
