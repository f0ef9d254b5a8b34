"""RecordingResolver: the trace, both protocols, lifecycle, copies."""

from __future__ import annotations

import asyncio
import copy
import pickle
import threading

import pytest

import mxroute
from mxroute import AnswerStatus, InMemoryResolver, RecordingResolver


@pytest.fixture
def fake() -> InMemoryResolver:
    fake = InMemoryResolver()
    fake.add("example.com", "MX", "10 mx.example.com.")
    fake.add("mx.example.com", "A", "192.0.2.25")
    return fake


class AsyncOnly:
    def __init__(self, fake: InMemoryResolver) -> None:
        self.fake = fake

    async def query_async(self, name: str, rdtype: str) -> mxroute.Answer:
        return self.fake.query(name, rdtype)


class SyncOnly:
    def __init__(self, fake: InMemoryResolver) -> None:
        self.fake = fake
        self.threads: list[int] = []

    def query(self, name: str, rdtype: str) -> mxroute.Answer:
        self.threads.append(threading.get_ident())
        return self.fake.query(name, rdtype)


class Closing(SyncOnly):
    def __init__(self, fake: InMemoryResolver) -> None:
        super().__init__(fake)
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class TestTrace:
    def test_answers_are_recorded_in_order(self, fake):
        recorder = RecordingResolver(fake)
        recorder.query("example.com", "MX")
        recorder.query("nowhere.example", "A")
        assert [(a.question, a.status) for a in recorder.answers] == [
            (("example.com", "MX"), AnswerStatus.RECORDS),
            (("nowhere.example", "A"), AnswerStatus.NXDOMAIN),
        ]

    def test_a_route_in_asyncio_is_recorded(self, fake):
        recorder = RecordingResolver(fake)
        asyncio.run(mxroute.Router(resolver=recorder).resolve_async("example.com"))
        assert sorted(a.question for a in recorder.answers) == [
            ("example.com", "MX"),
            ("mx.example.com", "A"),
            ("mx.example.com", "AAAA"),
        ]


class TestProtocols:
    def test_an_async_only_resolver_cannot_answer_query(self, fake):
        recorder = RecordingResolver(AsyncOnly(fake))
        with pytest.raises(TypeError, match=r"AsyncOnly has no query\(\); use query_async\(\)"):
            recorder.query("example.com", "MX")
        assert recorder.answers == []

    def test_an_async_only_resolver_answers_query_async(self, fake):
        recorder = RecordingResolver(AsyncOnly(fake))
        answer = asyncio.run(recorder.query_async("example.com", "MX"))
        assert recorder.answers == [answer]

    def test_a_sync_only_resolver_answers_query_async_in_a_worker_thread(self, fake):
        inner = SyncOnly(fake)
        recorder = RecordingResolver(inner)
        asyncio.run(recorder.query_async("example.com", "MX"))
        assert inner.threads != [threading.get_ident()]
        assert len(recorder.answers) == 1

    def test_an_object_that_is_no_resolver_is_refused_at_once(self):
        with pytest.raises(TypeError, match="neither query"):
            RecordingResolver(object())  # type: ignore[arg-type]


class TestLifecycle:
    def test_with_closes_the_wrapped_resolver(self, fake):
        inner = Closing(fake)
        with RecordingResolver(inner) as recorder:
            recorder.query("example.com", "MX")
        assert inner.closed == 1
        assert recorder.wrapped is inner

    def test_async_with_closes_the_wrapped_resolver(self, fake):
        inner = Closing(fake)

        async def main() -> None:
            async with RecordingResolver(inner) as recorder:
                await recorder.query_async("example.com", "MX")

        asyncio.run(main())
        assert inner.closed == 1

    def test_closing_a_recorder_over_a_cache_closes_the_resolver_below(self, fake):
        inner = Closing(fake)
        RecordingResolver(mxroute.CachingResolver(inner)).close()
        assert inner.closed == 1


class TestCopies:
    @pytest.mark.parametrize(
        "duplicate",
        [lambda r: pickle.loads(pickle.dumps(r)), copy.deepcopy],
        ids=["pickle", "deepcopy"],
    )
    def test_a_copy_keeps_the_trace_and_answers(self, fake, duplicate):
        recorder = RecordingResolver(fake)
        recorder.query("example.com", "MX")
        twin = duplicate(recorder)
        assert twin.answers == recorder.answers
        assert twin.inner is not fake
        twin.query("mx.example.com", "A")
        assert len(twin.answers) == 2
        assert len(recorder.answers) == 1
