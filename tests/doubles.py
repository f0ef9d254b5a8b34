"""Test doubles shared by the suite: a clock, and resolvers that wrap another one.

The wrapped resolver is usually an :class:`~mxroute.InMemoryResolver` (the
``fake`` fixture) in the unit tests, and a :class:`~mxroute.DNSResolver`
talking to BIND in the integration tests. Each wrapper offers only the
methods its name says, so a test can check what mxroute does with a
resolver that lacks the others:

* :class:`SyncOnly`: ``query`` only.
* :class:`Batching`: ``query`` and ``query_batch``; records each batch.
* :class:`AsyncOnly`: ``query_async`` only; counts the questions in flight.
* :class:`RecordingResolver`: all three; records every question and batch
  (unlike :class:`mxroute.RecordingResolver`, which records the answers).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection, Sequence
from typing import Any

from mxroute import Answer, Question

__all__ = ["AsyncOnly", "Batching", "FakeClock", "RecordingResolver", "SyncOnly"]


class FakeClock:
    """A monotonic clock that moves only when told to (``advance``, or set ``now``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SyncOnly:
    """A resolver with only ``query``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def query(self, name: str, rdtype: str) -> Answer:
        answer: Answer = self.inner.query(name, rdtype)
        return answer


class Batching(SyncOnly):
    """A resolver with ``query`` and ``query_batch``; records the batches it was handed."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.batches: list[list[Question]] = []

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        self.batches.append(list(questions))
        return [self.query(*question) for question in questions]


class AsyncOnly:
    """A resolver with only ``query_async``; counts the most questions in flight at once.

    Args:
        inner: The resolver that answers (its ``query``).
        yields: How many times each counted question lets the event loop run
            other tasks before it is answered.
        rdtypes: Count (and delay) only questions of these types; the others
            are answered at once. ``None``: every question.
    """

    def __init__(
        self, inner: Any, *, yields: int = 1, rdtypes: Collection[str] | None = None
    ) -> None:
        self.inner = inner
        self.yields = yields
        self.rdtypes = rdtypes
        self.in_flight = 0
        self.most_in_flight = 0

    async def query_async(self, name: str, rdtype: str) -> Answer:
        if self.rdtypes is None or rdtype in self.rdtypes:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                for _ in range(self.yields):
                    await asyncio.sleep(0)
            finally:
                self.in_flight -= 1
        answer: Answer = self.inner.query(name, rdtype)
        return answer


class RecordingResolver:
    """Wraps a resolver (all three protocols) and records every question asked.

    A batch is recorded as one round trip in :attr:`batches` (so is a single
    ``query``); each question also goes to :attr:`questions`, in the order
    asked.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.questions: list[tuple[str, str]] = []
        self.batches: list[list[tuple[str, str]]] = []

    def query(self, name: str, rdtype: str) -> Answer:
        self.batches.append([(name, rdtype)])
        self.questions.append((name, rdtype))
        answer: Answer = self.inner.query(name, rdtype)
        return answer

    async def query_async(self, name: str, rdtype: str) -> Answer:
        self.questions.append((name, rdtype))
        answer: Answer = await self.inner.query_async(name, rdtype)
        return answer

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        self.batches.append([(q.name, q.rdtype) for q in questions])
        self.questions.extend((q.name, q.rdtype) for q in questions)
        answers: list[Answer] = self.inner.query_batch(questions)
        return answers


def finishes_within(call: Callable[[], object], seconds: float = 10.0) -> object:
    """Run ``call()`` in a thread; return what it returned or raised, or fail if it hangs.

    A regression that hangs then fails its test instead of stopping the suite.
    """
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it hangs"
    return outcome[0]
