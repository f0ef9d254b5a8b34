"""RecordingResolver: wraps any resolver and keeps every answer, for a trace."""

from __future__ import annotations

import asyncio

from mxroute._dns import Answer, AsyncResolver, Resolver

__all__ = ["RecordingResolver"]


class RecordingResolver:
    """Wraps a resolver and records each answer it gives, in the order given.

    Each :class:`~mxroute.Answer` names its question (``name``, ``rdtype``),
    so :attr:`answers` is a complete trace of a route: what was asked and
    what came back. ``mxroute route --explain`` prints it with
    :meth:`Answer.describe() <mxroute.Answer.describe>`.

    >>> from mxroute import InMemoryResolver, RecordingResolver, Router
    >>> fake = InMemoryResolver()
    >>> fake.add("example.com", "MX", "10 mx.example.com.")
    >>> fake.add("mx.example.com", "A", "192.0.2.25")
    >>> recorder = RecordingResolver(fake)
    >>> _ = Router(resolver=recorder).resolve("example.com")
    >>> for answer in recorder.answers:
    ...     print(answer.describe())
    example.com MX -> 10 mx.example.com. (ttl 3600)
    mx.example.com AAAA -> NODATA (ttl 300)
    mx.example.com A -> 192.0.2.25 (ttl 3600)

    It implements :class:`~mxroute.Resolver` and
    :class:`~mxroute.AsyncResolver` whichever of them the wrapped resolver
    has: a synchronous resolver is run in a worker thread for
    :meth:`query_async`, and an asynchronous-only one cannot answer
    :meth:`query` (:class:`TypeError`). Concurrent questions are recorded in
    the order their answers arrive.

    Args:
        inner: The resolver that answers.
    """

    def __init__(self, inner: Resolver | AsyncResolver) -> None:
        self.inner = inner
        self.answers: list[Answer] = []
        """Every answer given, in order."""

    def query(self, name: str, rdtype: str) -> Answer:
        """Ask the wrapped resolver and record its answer.

        Raises:
            TypeError: The wrapped resolver has no synchronous ``query``.
        """
        inner = self.inner
        if not isinstance(inner, Resolver):
            raise TypeError(f"{type(inner).__name__} has no query(); use query_async()")
        answer = inner.query(name, rdtype)
        self.answers.append(answer)
        return answer

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """Ask the wrapped resolver in asyncio and record its answer."""
        inner = self.inner
        if isinstance(inner, AsyncResolver):
            answer = await inner.query_async(name, rdtype)
        else:
            answer = await asyncio.to_thread(inner.query, name, rdtype)
        self.answers.append(answer)
        return answer
