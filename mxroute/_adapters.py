"""The one bridge between synchronous and asynchronous resolvers, and their lifecycles.

A resolver has ``query``, ``query_async``, or both (:data:`~mxroute.AnyResolver`).
Every place that must ask a resolver the other way round, or close one it was
given, goes through this module, so the rules are written once:

* :func:`sync_query`: the resolver's ``query``; an async-only resolver cannot
  answer synchronously (a :exc:`TypeError` naming the coroutine to use
  instead: running an event loop inside a synchronous call would fail under a
  running loop and hide the caller's mistake).
* :func:`async_query`: the resolver's ``query_async``; for a sync-only
  resolver, its ``query`` run in a worker thread (:func:`asyncio.to_thread`),
  so a slow synchronous resolver never blocks the event loop.
* :func:`close` and :func:`aclose`: the resolver's ``close()`` (``aclose()``
  first in asyncio), when it has one; a resolver without them holds nothing
  to release.

:mod:`asyncio` is imported only by the coroutines that need it, so that
``import mxroute`` does not load it on their account.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mxroute._dns import Answer, AnyResolver

__all__ = ["Wrapper", "aclose", "async_query", "close", "no_query", "sync_query"]

_W = TypeVar("_W", bound="Wrapper")

SyncQuery = Callable[[str, str], Answer]
"""A resolver's ``query``: ``(name, rdtype) -> Answer``."""

AsyncQuery = Callable[[str, str], Awaitable[Answer]]
"""A resolver's ``query_async``: ``(name, rdtype) -> awaitable Answer``."""


def no_query(resolver: object, instead: str) -> TypeError:
    """The error for a synchronous call on a resolver that has no ``query``.

    Args:
        resolver: The async-only resolver.
        instead: What the caller should use instead, e.g. ``"resolve_async()"``.
    """
    return TypeError(f"{type(resolver).__name__} has no query(); use {instead} with it")


def sync_query(resolver: AnyResolver, instead: str) -> SyncQuery:
    """The resolver's ``query``.

    Args:
        resolver: Any resolver.
        instead: What to use instead when it has no ``query``, for the error.

    Raises:
        TypeError: The resolver has no ``query`` (:func:`no_query`).
    """
    query: SyncQuery | None = getattr(resolver, "query", None)
    if query is None:
        raise no_query(resolver, instead)
    return query


def async_query(resolver: AnyResolver) -> AsyncQuery:
    """The resolver's ``query_async``, or its ``query`` run in a worker thread.

    The attribute is looked up once, here: call this once per resolver (or per
    batch) and reuse what it returns.

    Raises:
        TypeError: The resolver has neither ``query`` nor ``query_async``.
    """
    query_async: AsyncQuery | None = getattr(resolver, "query_async", None)
    if query_async is not None:
        return query_async
    query: SyncQuery | None = getattr(resolver, "query", None)
    if query is None:
        raise TypeError(f"{type(resolver).__name__} has neither query() nor query_async()")

    async def in_thread(name: str, rdtype: str) -> Answer:
        import asyncio

        return await asyncio.to_thread(query, name, rdtype)

    return in_thread


def close(resolver: object) -> None:
    """Call the resolver's ``close()``, if it has one."""
    method: Callable[[], Any] | None = getattr(resolver, "close", None)
    if callable(method):
        method()


async def aclose(resolver: object) -> None:
    """Await the resolver's ``aclose()``; without one, call its ``close()``, if any.

    A ``close()`` is called directly, on the event loop: closing is expected
    to release resources promptly, not to wait for the network.
    """
    method: Callable[[], Awaitable[Any]] | None = getattr(resolver, "aclose", None)
    if callable(method):
        await method()
    else:
        close(resolver)


class Wrapper:
    """The lifecycle of a resolver that wraps another: it forwards to the wrapped one.

    :meth:`close` and :meth:`aclose` close the wrapped resolver (see
    :func:`close` and :func:`aclose`), and the wrapper is a context manager
    for ``with`` and ``async with`` that closes it on exit. A subclass names
    the wrapped resolver with :attr:`wrapped`.
    """

    __slots__ = ()

    @property
    def wrapped(self) -> object:
        """The resolver this one wraps."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the wrapped resolver: call its ``close()``, if it has one."""
        close(self.wrapped)

    async def aclose(self) -> None:
        """Close the wrapped resolver in asyncio: await its ``aclose()``, else its ``close()``."""
        await aclose(self.wrapped)

    def __enter__(self: _W) -> _W:
        """``with Wrapper(...) as resolver:`` closes it on exit."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close it: :meth:`close`."""
        self.close()

    async def __aenter__(self: _W) -> _W:
        """``async with Wrapper(...) as resolver:`` closes it on exit."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close it: :meth:`aclose`."""
        await self.aclose()
