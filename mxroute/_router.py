"""The drivers: run the planner against a resolver, synchronously or in asyncio.

They are deliberately thin. All the RFC logic lives in :mod:`mxroute._planner`;
a driver only asks each batch of questions (concurrently where it can) and
sends the answers back, so the sync and the async paths cannot drift apart.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Sequence,
)
from typing import TypeVar, cast

from mxroute import _bulk as bulk
from mxroute._bulk import DEFAULT_CONCURRENCY, BulkResult, T
from mxroute._dns import Answer, AnyResolver, Resolver
from mxroute._model import MailRoute
from mxroute._names import Target
from mxroute._planner import Batch, RoutePlan, plan_route
from mxroute._policy import RoutingPolicy
from mxroute._resolvers.caching import CachingResolver

__all__ = ["Router", "resolve"]

_R = TypeVar("_R")

"""A resolver with ``query``, ``query_async``, or both."""


def _default_resolver() -> AnyResolver:
    from mxroute._resolvers.dns import DNSResolver

    return DNSResolver()


class Router:
    """Routes mail: a resolver, a policy and a random source, used for many routes.

    >>> from mxroute import InMemoryResolver, Router
    >>> fake = InMemoryResolver()
    >>> fake.add("example.com", "MX", "10 mx.example.com.")
    >>> fake.add("mx.example.com", "A", "192.0.2.25")
    >>> route = Router(resolver=fake).resolve("alice@example.com")
    >>> [(host.name, str(address)) for host, address in route.attempts()]
    [('mx.example.com', '192.0.2.25')]

    Args:
        resolver: Where answers come from; a :class:`~mxroute.DNSResolver`
            with the system configuration when None.
        policy: The routing policy; the default when None.
        rng: The random source that orders hosts of equal preference. Give a
            seeded :class:`random.Random` for reproducible routes.
    """

    def __init__(
        self,
        resolver: AnyResolver | None = None,
        policy: RoutingPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.resolver: AnyResolver = resolver if resolver is not None else _default_resolver()
        self.policy = policy if policy is not None else RoutingPolicy()
        self.rng = rng if rng is not None else random.Random()

    def plan(self, target: str | Target) -> RoutePlan:
        """The planner for one target with this router's policy and random source."""
        return plan_route(target, self.policy, self.rng)

    def resolve(self, target: str | Target) -> MailRoute:
        """Route a domain, a mailbox address or an address literal.

        Returns:
            The route, hosts in the order to try them.

        Raises:
            MailRouteError: Routing failed; ``.temporary`` says whether to
                retry or bounce.
            InvalidDomain: The domain is not usable.
            InvalidAddress: The address or literal is malformed.
            TypeError: The resolver has no synchronous ``query``.
        """
        return drive(self.plan(target), self.resolver)

    async def resolve_async(self, target: str | Target) -> MailRoute:
        """Route a target in asyncio; each batch of questions is asked concurrently.

        A resolver with only a synchronous ``query`` is run in worker threads.
        Returns and raises as :meth:`resolve`.
        """
        return await drive_async(self.plan(target), self.resolver)

    def resolve_many(
        self,
        targets: Iterable[T] | AsyncIterable[T],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        ordered: bool = False,
    ) -> AsyncIterator[BulkResult[T]]:
        """Route many targets concurrently; yield ``(target, result)`` as each completes.

        ``result`` is the :class:`~mxroute.MailRoute`, or the
        :class:`~mxroute.MXRouteError` that routing raised: a
        :class:`~mxroute.MailRouteError` for a failed route, an
        :class:`~mxroute.InvalidInput` for a target that is not valid input.
        Neither stops the run. Results come in completion order (one slow
        target delays no other), or in input order with ``ordered=True``.
        Any other exception, from the resolver or from ``targets`` (even a
        :class:`BaseException` such as :class:`asyncio.CancelledError`),
        stops the run and is raised.

        ``concurrency`` worker tasks pull targets from ``targets`` (a sync or
        an async iterable) lazily, so memory stays bounded for any number of
        targets; ``concurrency`` defaults to
        :data:`mxroute.DEFAULT_CONCURRENCY`. Every route of the run shares one cache: this router's
        resolver when it is a :class:`~mxroute.CachingResolver`, else a new
        one wrapped around it for the run (see :mod:`mxroute._bulk`).

        >>> import asyncio
        >>> from mxroute import InMemoryResolver, Router
        >>> fake = InMemoryResolver()
        >>> fake.add("example.com", "MX", "10 mx.example.com.")
        >>> fake.add("mx.example.com", "A", "192.0.2.25")
        >>> async def main():
        ...     router = Router(resolver=fake)
        ...     return {t: type(r).__name__ async for t, r in router.resolve_many(
        ...         ["example.com", "nowhere.example", "bad..name"], concurrency=8)}
        >>> for target, kind in sorted(asyncio.run(main()).items()):
        ...     print(target, kind)
        bad..name InvalidDomain
        example.com MailRoute
        nowhere.example NoSuchDomain

        Raises:
            InvalidInput: ``concurrency`` is not an integer >= 1 (at once).
        """
        return bulk.run(
            self._cached().resolve_async, targets, concurrency=concurrency, ordered=ordered
        )

    def resolve_many_sync(
        self,
        targets: Iterable[T],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        ordered: bool = False,
    ) -> Iterator[BulkResult[T]]:
        """:meth:`resolve_many` as a plain iterator, for code without an event loop.

        It runs its own event loop while you wait for the next result, so it
        must not be called from a coroutine. Takes the arguments of
        :meth:`resolve_many`; an exception that stops the run is raised from
        the iterator, and the loop is closed.

        >>> from mxroute import InMemoryResolver, Router
        >>> fake = InMemoryResolver()
        >>> fake.add("example.com", "MX", "0 .")
        >>> for target, result in Router(resolver=fake).resolve_many_sync(["example.com"]):
        ...     print(target, type(result).__name__, result.reply_code)
        example.com NullMX 556

        Raises:
            InvalidInput: ``concurrency`` is not an integer >= 1 (at once).
        """
        return bulk.run_sync(
            self._cached().resolve_async, targets, concurrency=concurrency, ordered=ordered
        )

    def _cached(self) -> Router:
        """This router if its resolver caches, else a copy over a new CachingResolver."""
        if isinstance(self.resolver, CachingResolver):
            return self
        return Router(resolver=CachingResolver(self.resolver), policy=self.policy, rng=self.rng)


def drive(
    plan: Generator[Batch, Sequence[Answer], _R],
    resolver: AnyResolver,
    async_api: str = "resolve_async()",
) -> _R:
    """Run a sans-I/O plan to its end with a synchronous resolver.

    Each batch goes to ``query_batch`` when the resolver has it (asked
    concurrently), else to ``query`` one question after the other. The
    plan's return value is returned; what it raises propagates.

    Args:
        plan: A generator such as :func:`~mxroute.plan_route` returns.
        resolver: The resolver that answers the batches.
        async_api: The coroutine to name in the TypeError when the resolver
            is async-only.

    Raises:
        TypeError: The resolver has no synchronous ``query``.
    """
    if not isinstance(resolver, Resolver):
        raise TypeError(f"{type(resolver).__name__} has no query(); use {async_api} with it")
    try:
        batch = next(plan)
        while True:
            batch = plan.send(_ask(resolver, batch))
    except StopIteration as done:
        result: _R = done.value
        return result


async def drive_async(plan: Generator[Batch, Sequence[Answer], _R], resolver: AnyResolver) -> _R:
    """Run a sans-I/O plan to its end in asyncio; each batch is asked concurrently.

    A resolver with only a synchronous ``query`` is run in worker threads.
    """
    try:
        batch = next(plan)
        while True:
            batch = plan.send(await _ask_async(resolver, batch))
    except StopIteration as done:
        result: _R = done.value
        return result


# The drivers test for the optional methods as isinstance() with the
# runtime-checkable BatchResolver / AsyncResolver would (the attribute exists
# and is not None), without that check's cost on every batch.


def _ask(resolver: Resolver, batch: Batch) -> Sequence[Answer]:
    if len(batch) > 1:
        query_batch: Callable[[Batch], Sequence[Answer]] | None = getattr(
            resolver, "query_batch", None
        )
        if query_batch is not None:
            return query_batch(batch)
    return [resolver.query(name, rdtype) for name, rdtype in batch]


async def _ask_async(resolver: AnyResolver, batch: Batch) -> Sequence[Answer]:
    query_async: Callable[[str, str], Awaitable[Answer]] | None = getattr(
        resolver, "query_async", None
    )
    if query_async is not None:
        if len(batch) == 1:
            return [await query_async(*batch[0])]
        return await asyncio.gather(*(query_async(n, t) for n, t in batch))
    query = cast(Resolver, resolver).query
    return await asyncio.gather(*(asyncio.to_thread(query, n, t) for n, t in batch))


def resolve(
    target: str | Target,
    *,
    resolver: AnyResolver | None = None,
    policy: RoutingPolicy | None = None,
    rng: random.Random | None = None,
) -> MailRoute:
    """Route one target: ``mxroute.resolve("alice@example.com")``.

    A shortcut for ``Router(resolver, policy, rng).resolve(target)``; with no
    resolver it uses the system's DNS configuration.
    """
    return Router(resolver=resolver, policy=policy, rng=rng).resolve(target)
