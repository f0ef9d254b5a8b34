"""The one sync<->async adapter: which method answers, worker threads, closing."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mxroute import Answer, AnswerStatus, InMemoryResolver
from mxroute._adapters import aclose, async_query, close, no_query, sync_query


class SyncOnly:
    """Answers in whatever thread calls it, and notes that thread."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def query(self, name: str, rdtype: str) -> Answer:
        self.threads.append(threading.get_ident())
        return Answer(name, rdtype, AnswerStatus.NXDOMAIN, ttl=5)


class AsyncOnly:
    async def query_async(self, name: str, rdtype: str) -> Answer:
        return Answer(name, rdtype, AnswerStatus.NODATA, ttl=5)


class Closing:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def close(self) -> None:
        self.calls.append("close")


class AsyncClosing(Closing):
    async def aclose(self) -> None:
        self.calls.append("aclose")


class TestSyncQuery:
    def test_the_resolvers_own_query(self):
        fake = InMemoryResolver()
        assert sync_query(fake, "query_async()") == fake.query

    def test_an_async_only_resolver_is_a_type_error_saying_what_to_use(self):
        with pytest.raises(TypeError, match=r"^AsyncOnly has no query\(\); use resolve_async\(\)"):
            sync_query(AsyncOnly(), "resolve_async()")

    def test_no_query_is_the_same_error(self):
        error = no_query(AsyncOnly(), "audit_async()")
        assert isinstance(error, TypeError)
        assert str(error) == "AsyncOnly has no query(); use audit_async() with it"


@pytest.mark.asyncio
class TestAsyncQuery:
    async def test_query_async_is_preferred(self):
        resolver = AsyncOnly()
        assert async_query(resolver) == resolver.query_async

    async def test_a_sync_only_resolver_runs_in_a_worker_thread(self):
        resolver = SyncOnly()
        answer = await async_query(resolver)("example.org", "MX")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert resolver.threads != [threading.get_ident()]

    async def test_the_loop_keeps_running_while_a_sync_query_waits(self):
        released = threading.Event()

        class Slow:
            def query(self, name: str, rdtype: str) -> Answer:
                assert released.wait(10), "the event loop was blocked"
                return Answer(name, rdtype, AnswerStatus.NODATA, ttl=1)

        async def release() -> None:
            released.set()

        asking = asyncio.ensure_future(async_query(Slow())("example.org", "A"))
        await asyncio.sleep(0)  # the query starts, and must give the loop back
        await release()
        assert (await asking).status is AnswerStatus.NODATA

    async def test_an_object_with_neither_method_is_a_type_error(self):
        with pytest.raises(TypeError, match="neither query"):
            async_query(object())  # type: ignore[arg-type]


class TestClose:
    def test_close_calls_close(self):
        resolver = Closing()
        close(resolver)
        assert resolver.calls == ["close"]

    @pytest.mark.parametrize("resolver", [object(), InMemoryResolver()])
    def test_close_of_a_resolver_without_close_does_nothing(self, resolver):
        close(resolver)

    def test_a_close_attribute_that_is_not_callable_is_left_alone(self):
        class Odd:
            close = None

        close(Odd())

    def test_aclose_prefers_aclose(self):
        resolver = AsyncClosing()
        asyncio.run(aclose(resolver))
        assert resolver.calls == ["aclose"]

    def test_aclose_falls_back_to_close(self):
        resolver = Closing()
        asyncio.run(aclose(resolver))
        assert resolver.calls == ["close"]

    def test_aclose_of_a_resolver_without_either_does_nothing(self):
        asyncio.run(aclose(object()))
