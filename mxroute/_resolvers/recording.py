"""RecordingResolver: wraps any resolver and keeps every answer, for a trace."""

from __future__ import annotations

from mxroute import _adapters as adapters
from mxroute._dns import Answer, AnyResolver
from mxroute._exports import publish

__all__ = ["RecordingResolver"]


class RecordingResolver(adapters.Wrapper):
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

    It is a context manager (``with`` and ``async with``): :meth:`close` and
    :meth:`aclose` close the wrapped resolver. It pickles and deep-copies
    with its wrapped resolver and the answers recorded so far (a trace is
    data, valid anywhere).

    Args:
        inner: The resolver that answers.

    Raises:
        TypeError: ``inner`` has neither ``query`` nor ``query_async``.
    """

    def __init__(self, inner: AnyResolver) -> None:
        adapters.async_query(inner)  # a TypeError now rather than at the first query
        self.inner = inner
        self.answers: list[Answer] = []
        """Every answer given, in order."""

    def query(self, name: str, rdtype: str) -> Answer:
        """Ask the wrapped resolver and record its answer.

        Raises:
            TypeError: The wrapped resolver has no synchronous ``query``.
        """
        answer = adapters.sync_query(self.inner, "query_async()")(name, rdtype)
        self.answers.append(answer)
        return answer

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """Ask the wrapped resolver in asyncio and record its answer."""
        answer = await adapters.async_query(self.inner)(name, rdtype)
        self.answers.append(answer)
        return answer

    # Named here, not only inherited, so that the API reference lists them.
    close = adapters.Wrapper.close
    aclose = adapters.Wrapper.aclose

    @property
    def wrapped(self) -> AnyResolver:
        """The wrapped resolver: :attr:`inner`."""
        return self.inner


publish(globals())
