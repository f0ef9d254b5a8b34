"""run_sharded: the process pool behind ``--jobs N``."""

from __future__ import annotations

import itertools

import pytest

from mxroute import InvalidInput
from mxroute._jobs import WorkerFailed, run_sharded
from tests import jobs_workers


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_item_once_with_the_workers_state(jobs):
    results = list(
        run_sharded(
            range(50),
            jobs_workers.square,
            jobs=jobs,
            initializer=jobs_workers.remember,
            initargs=("worker",),
            chunk_size=4,
        )
    )
    assert sorted(results) == [(n, n * n, "worker") for n in range(50)]


def test_ordered_keeps_input_order():
    results = run_sharded(range(40), jobs_workers.square, jobs=2, chunk_size=3, ordered=True)
    assert [n for n, _, _ in results] == list(range(40))


def test_input_is_read_lazily():
    taken = []

    def items():
        for n in itertools.count():
            taken.append(n)
            yield n

    results = run_sharded(items(), jobs_workers.square, jobs=2, chunk_size=5)
    first = next(results)
    assert first[0] < 20
    assert len(taken) <= 2 * 2 * 5 + 5  # the window of chunks, and one being cut
    results.close()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_worker_stops_the_run(jobs):
    results = run_sharded(range(20), jobs_workers.fail_on_seven, jobs=jobs, chunk_size=2)
    with pytest.raises((WorkerFailed, ValueError)) as caught:
        list(results)
    if jobs > 1:
        assert "ValueError: seven" in str(caught.value)


def test_a_dying_worker_stops_the_run():
    with pytest.raises(WorkerFailed, match="died"):
        list(run_sharded(range(20), jobs_workers.die_on_seven, jobs=2, chunk_size=2))


@pytest.mark.parametrize("jobs", [0, -1, True, 1.5, "2", 257])
def test_bad_jobs(jobs):
    with pytest.raises(InvalidInput) as caught:
        list(run_sharded([1], jobs_workers.square, jobs=jobs))
    assert caught.value.reason == "invalid-jobs"


def test_bad_chunk_size():
    with pytest.raises(InvalidInput):
        list(run_sharded([1], jobs_workers.square, jobs=1, chunk_size=0))
