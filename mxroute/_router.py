"""The drivers: run the planner against a resolver, synchronously or in asyncio.

They are deliberately thin. All the RFC logic lives in :mod:`mxroute._planner`;
a driver (:func:`run_plan`, :func:`run_plan_async`) only asks each batch of
questions (concurrently where it can) and sends the answers back, so the sync
and the async paths cannot drift apart.

A route may have a deadline (``Router(deadline=...)``): the whole route, every
batch included, must finish within that many seconds, or it fails with a
:class:`~mxroute.TemporaryRouteError` that names the deadline. A resolver's
``lifetime`` bounds one question; a route asks two rounds of questions one
after the other (the MX question, then the batch of A and AAAA questions), so
without a deadline a route can take twice the lifetime.

* In asyncio, each batch is awaited with the time left
  (:func:`asyncio.wait_for`), and the questions still in flight at the
  deadline are cancelled.
* In sync code, a batch runs in a short-lived worker thread and the caller
  waits for it no longer than the time left. The resolver protocols have no
  per-call time budget, so a batch that misses the deadline is abandoned,
  not stopped: it finishes in its thread (within the resolver's own
  ``lifetime``) and its answers are dropped. A route with no deadline asks in
  the calling thread.

The async entry points run under asyncio only: under another event loop
(trio, curio) they raise :class:`~mxroute.UnsupportedEventLoop` when they
start, before any question is asked, whatever the target (see
:func:`require_asyncio`).

A :class:`Router` pickles (for :class:`concurrent.futures.ProcessPoolExecutor`
and other worker processes): see :meth:`Router.__reduce__` for what is kept.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import threading
import time
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
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mxroute import _adapters as adapters
from mxroute import _bulk as bulk
from mxroute._bulk import DEFAULT_CONCURRENCY, BulkResult, T
from mxroute._checks import seconds
from mxroute._dns import Answer, AnyResolver, Question, Resolver
from mxroute._errors import TemporaryRouteError, UnsupportedEventLoop
from mxroute._exports import publish
from mxroute._guard import stand_in
from mxroute._model import MailRoute
from mxroute._mtasts import (
    FETCH_TIMEOUT,
    MemoryPolicyCache,
    PolicyAnswer,
    PolicyCache,
    PolicyRequest,
    PolicyService,
)
from mxroute._names import Target, parse_target
from mxroute._planner import Batch, RoutePlan, plan_route
from mxroute._policy import RoutingPolicy
from mxroute._resolvers.caching import CachingResolver

if TYPE_CHECKING:  # the fetcher module loads ssl: only when a policy is fetched
    from mxroute._stsfetch import AsyncPolicyFetcher, PolicyFetcher, PolicyResponse

__all__ = ["Router", "resolve"]

_R = TypeVar("_R")


def _default_resolver() -> AnyResolver:
    fake = stand_in()  # the fake_dns fixture's, while it runs (mxroute.testing)
    if fake is not None:
        return fake
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
        deadline: Seconds one route may take in all, every lookup included;
            None (the default) sets no limit beyond the resolver's own per
            question. A route still unfinished at its deadline raises
            :class:`~mxroute.TemporaryRouteError` (451 4.4.3), in sync and
            async code alike. In sync code, a batch of questions still
            unanswered then is left to finish in a worker thread (within
            the resolver's lifetime) and its answers are dropped.
        policy_fetcher: With ``RoutingPolicy(mta_sts=True)``: fetches MTA-STS
            policies (a :class:`~mxroute.PolicyFetcher` and/or
            :class:`~mxroute.AsyncPolicyFetcher`); an
            :class:`~mxroute.HTTPSPolicyFetcher` (system trust store) when
            None, made on the first fetch.
        policy_cache: Keeps MTA-STS policies between routes (a
            :class:`~mxroute.PolicyCache`); a :class:`~mxroute.MemoryPolicyCache`
            of this router when None. Give a :class:`~mxroute.SQLitePolicyCache`
            to keep policies across restarts, or one cache to several routers
            to share it.

    Raises:
        InvalidInput: ``deadline`` is not a positive, finite number of
            seconds (``.reason`` is ``"invalid-deadline"``).
    """

    def __init__(
        self,
        resolver: AnyResolver | None = None,
        policy: RoutingPolicy | None = None,
        rng: random.Random | None = None,
        *,
        deadline: float | None = None,
        policy_fetcher: PolicyFetcher | AsyncPolicyFetcher | None = None,
        policy_cache: PolicyCache | None = None,
    ) -> None:
        self.resolver: AnyResolver = resolver if resolver is not None else _default_resolver()
        self.policy = policy if policy is not None else RoutingPolicy()
        self.policies = PolicyService(
            policy_cache if policy_cache is not None else MemoryPolicyCache(),
            policy_fetcher,
            self.policy.address_scope,
        )
        """The MTA-STS policy cache and fetcher of this router's routes."""
        self.rng = rng if rng is not None else random.Random()
        self.deadline: float | None = None if deadline is None else seconds(deadline, "deadline")
        """Seconds one route may take in all, or None for no limit."""
        # What this router made itself; a pickled copy makes its own (__reduce__).
        self._made = (
            self.resolver if resolver is None else None,
            self.rng if rng is None else None,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the router (and copy it) with its policy, deadline, resolver and rng.

        So a router can go to a :class:`~concurrent.futures.ProcessPoolExecutor`
        or another worker process:

        * a resolver you gave goes along and must pickle
          (:class:`~mxroute.InMemoryResolver` does); with none given, the copy
          makes its own from the system DNS configuration where it is
          unpickled, as this router did here;
        * a random source you gave goes along with its state, so a seeded
          router routes in a worker exactly as it would have here (and every
          copy of it shuffles alike); with none given, the copy gets a fresh
          one, so worker processes do not all order hosts of equal
          preference the same way.
        """
        made_resolver, made_rng = self._made
        resolver = None if self.resolver is made_resolver else self.resolver
        rng = None if self.rng is made_rng else self.rng
        return (
            type(self),
            (resolver, self.policy, rng),
            {"deadline": self.deadline, "policies": self.policies.portable()},
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.deadline = state["deadline"]
        self.policies = state.get("policies", self.policies)

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
        plan, deadline = self._start(target)
        return run_plan(plan, self.resolver, deadline=deadline, policies=self.policies)

    async def resolve_async(self, target: str | Target) -> MailRoute:
        """Route a target in asyncio; each batch of questions is asked concurrently.

        A resolver with only a synchronous ``query`` is run in worker threads.
        Returns and raises as :meth:`resolve`, and also:

        Raises:
            UnsupportedEventLoop: No asyncio event loop runs this coroutine
                (trio, say); raised before the target is looked at.
        """
        require_asyncio("Router.resolve_async()")
        plan, deadline = self._start(target)
        return await _run_plan_async(plan, self.resolver, deadline, self.policies)

    def _start(self, target: str | Target) -> tuple[RoutePlan, Deadline | None]:
        """The plan for ``target`` and, when this router has one, its deadline (from now)."""
        parsed = target if isinstance(target, Target) else parse_target(target)
        deadline = None if self.deadline is None else Deadline(self.deadline, parsed.domain)
        return self.plan(parsed), deadline

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
        one wrapped around it for the run.

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
            UnsupportedEventLoop: The iteration does not run in asyncio (at
                the first result asked for).
        """
        results = bulk.run(
            self._cached().resolve_async, targets, concurrency=concurrency, ordered=ordered
        )
        return under_asyncio(results, "Router.resolve_many()")

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
        return Router(
            CachingResolver(self.resolver),
            self.policy,
            self.rng,
            deadline=self.deadline,
            policy_fetcher=self.policies.fetcher,
            policy_cache=self.policies.cache,
        )


def require_asyncio(api: str) -> None:
    """Raise :class:`~mxroute.UnsupportedEventLoop` unless an asyncio loop runs the caller.

    Every async entry point calls it first, so under trio (or with no event
    loop at all) the caller gets this one error, whatever the target and the
    DNS data, instead of a ``RuntimeError`` or a ``TypeError`` from deep in
    asyncio. Detected without sniffio: :func:`asyncio.get_running_loop` finds
    no loop. anyio's asyncio backend is asyncio, and works.

    Args:
        api: The entry point to name in the message, e.g. ``"audit_async()"``.
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise UnsupportedEventLoop(
            f"{api} runs under asyncio only, and no asyncio event loop is running "
            "(trio and other event loops are not supported): call it from asyncio.run(), "
            "or call the synchronous API in a worker thread (trio.to_thread.run_sync)"
        ) from None


async def under_asyncio(results: AsyncIterator[_R], api: str) -> AsyncIterator[_R]:
    """``results``, once :func:`require_asyncio` passed; closed when this is."""
    require_asyncio(api)
    try:
        async for item in results:
            yield item
    finally:
        aclose: Callable[[], Awaitable[None]] | None = getattr(results, "aclose", None)
        if aclose is not None:
            await aclose()


class Deadline:
    """The end of one route's time budget, ``seconds`` from its creation (monotonic clock).

    Attributes:
        seconds: The budget, as configured.
        domain: The domain (or literal) routed, for the error.
    """

    __slots__ = ("domain", "end", "seconds")

    def __init__(self, seconds: float, domain: str) -> None:
        self.seconds = seconds
        self.domain = domain
        self.end = time.monotonic() + seconds

    def left(self, batch: Batch) -> float:
        """The seconds left to answer ``batch``.

        Raises:
            TemporaryRouteError: None are left.
        """
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.passed(batch)
        return left

    def passed(self, batch: Batch) -> TemporaryRouteError:
        """The error for a route whose deadline passed while ``batch`` was unanswered."""
        asked = ", ".join(
            item.describe() if isinstance(item, PolicyRequest) else f"{item.rdtype} {item.name}"
            for item in batch[:3]
        )
        if len(batch) > 3:
            asked += f" and {len(batch) - 3} more"
        return TemporaryRouteError(
            self.domain,
            f"the route to {self.domain} did not finish within its deadline of "
            f"{self.seconds:g} s (still waiting for {asked}); "
            "keep the message queued and retry later",
        )


Plan = Generator[Batch, Sequence[Answer | PolicyAnswer], _R]
"""A sans-I/O plan such as :func:`~mxroute.plan_route` returns."""

DNSPlan = Generator[tuple[Question, ...], Sequence[Answer], _R]
"""A plan that asks DNS questions only (the audit's authoritative check): it is
only ever sent DNS answers, since it never yields a policy request."""


def run_plan(
    plan: Plan[_R] | DNSPlan[_R],
    resolver: AnyResolver,
    async_api: str = "resolve_async()",
    *,
    deadline: Deadline | None = None,
    policies: PolicyService | None = None,
) -> _R:
    """Run a sans-I/O plan to its end with a synchronous resolver.

    Each batch's questions go to ``query_batch`` when the resolver has it
    (asked concurrently), else to ``query`` one question after the other. A
    :class:`~mxroute.PolicyRequest` in a batch is answered through
    ``policies`` (the cache, else a fetch in a worker thread while the
    questions are asked). The plan's return value is returned; what it
    raises propagates.

    Args:
        plan: A generator such as :func:`~mxroute.plan_route` returns.
        resolver: The resolver that answers the batches.
        async_api: The coroutine to name in the TypeError when the resolver
            is async-only.
        deadline: When the plan must be done; None for no limit. With one,
            each batch is asked in a worker thread that the caller waits for
            no longer than the time left (see the module documentation).
        policies: Answers policy requests; a default one when None.

    Raises:
        TypeError: The resolver has no synchronous ``query`` (or the policy
            fetcher no ``fetch_policy``).
        TemporaryRouteError: The deadline passed.
    """
    if not isinstance(resolver, Resolver):
        raise adapters.no_query(resolver, async_api)
    steps = cast("Plan[_R]", plan)  # a DNSPlan yields no policy request: sent Answers only
    try:
        batch = next(steps)
        while True:
            batch = steps.send(_answer(resolver, batch, deadline, policies, async_api))
    except StopIteration as done:
        result: _R = done.value
        return result


async def run_plan_async(
    plan: Plan[_R] | DNSPlan[_R],
    resolver: AnyResolver,
    api: str = "this coroutine",
    *,
    deadline: Deadline | None = None,
    policies: PolicyService | None = None,
) -> _R:
    """Run a sans-I/O plan to its end in asyncio; each batch is asked concurrently.

    A resolver with only a synchronous ``query`` is run in worker threads,
    and so is a policy fetcher with only ``fetch_policy``.
    With a ``deadline``, each batch is awaited no longer than the time left.

    Raises:
        UnsupportedEventLoop: Not running in asyncio (``api`` names the caller).
        TemporaryRouteError: The deadline passed.
    """
    require_asyncio(api)
    return await _run_plan_async(plan, resolver, deadline, policies)


async def _run_plan_async(
    plan: Plan[_R] | DNSPlan[_R],
    resolver: AnyResolver,
    deadline: Deadline | None,
    policies: PolicyService | None = None,
) -> _R:
    steps = cast("Plan[_R]", plan)  # a DNSPlan yields no policy request: sent Answers only
    try:
        batch = next(steps)
        while True:
            batch = steps.send(await _answer_async(resolver, batch, deadline, policies))
    except StopIteration as done:
        result: _R = done.value
        return result


def _split(batch: Batch) -> tuple[tuple[Question, ...], list[PolicyRequest]]:
    """A batch's DNS questions, and its policy requests."""
    questions = tuple(item for item in batch if not isinstance(item, PolicyRequest))
    return questions, [item for item in batch if isinstance(item, PolicyRequest)]


def _merge(
    batch: Batch, answers: Sequence[Answer], policies: Sequence[PolicyAnswer]
) -> list[Answer | PolicyAnswer]:
    """The answers in the batch's order: each policy answer at its request's position."""
    dns, sts = iter(answers), iter(policies)
    return [next(sts) if isinstance(item, PolicyRequest) else next(dns) for item in batch]


def _fetch_timeout(deadline: Deadline | None, batch: Batch) -> float:
    """How long a policy fetch may take: ``FETCH_TIMEOUT``, or less when the deadline is near."""
    return FETCH_TIMEOUT if deadline is None else min(FETCH_TIMEOUT, deadline.left(batch))


def _answer(
    resolver: Resolver,
    batch: Batch,
    deadline: Deadline | None,
    policies: PolicyService | None,
    async_api: str,
) -> Sequence[Answer | PolicyAnswer]:
    questions, requests = _split(batch)
    if not requests:
        return (
            _ask(resolver, questions)
            if deadline is None
            else _ask_in_time(resolver, questions, deadline)
        )
    service = policies if policies is not None else PolicyService()
    waits = [
        _fetch_policy(service, r, _fetch_timeout(deadline, batch), async_api) for r in requests
    ]
    answers: Sequence[Answer] = ()
    if questions:
        answers = (
            _ask(resolver, questions)
            if deadline is None
            else _ask_in_time(resolver, questions, deadline)
        )
    return _merge(batch, answers, [wait() for wait in waits])


def _fetch_policy(
    service: PolicyService, request: PolicyRequest, timeout: float, async_api: str
) -> Callable[[], PolicyAnswer]:
    """Start answering ``request``; call the result to wait for the answer.

    A cached policy answers at once; else the fetch runs in a worker thread
    (so it overlaps the DNS questions), waited for ``timeout`` seconds at most.
    """
    ready = service.lookup(request)
    if ready is not None:
        return lambda: ready
    fetcher = service.the_fetcher()
    fetch: Callable[..., Any] | None = getattr(fetcher, "fetch_policy", None)
    if fetch is None:
        raise TypeError(
            f"the policy fetcher {fetcher!r} has no synchronous fetch_policy(); "
            f"use {async_api} with it"
        )
    end = time.monotonic() + timeout
    wait = _in_thread(lambda: fetch(request.domain, request.addresses, timeout), "mxroute-sts")

    def answer() -> PolicyAnswer:
        outcome = wait(max(0.0, end - time.monotonic()))
        if outcome is None:
            return service.settle(request, None, "timeout", f"no policy within {timeout:g} s")
        ok, response = outcome
        if not ok:
            raise response
        return service.settle(request, response.text, response.error, response.detail)

    return answer


async def _answer_async(
    resolver: AnyResolver, batch: Batch, deadline: Deadline | None, policies: PolicyService | None
) -> Sequence[Answer | PolicyAnswer]:
    import asyncio

    questions, requests = _split(batch)
    asked = (
        _ask_async(resolver, questions)
        if deadline is None
        else _in_time(lambda: _ask_async(resolver, questions), deadline, batch)
    )
    if not requests:
        return await asked
    service = policies if policies is not None else PolicyService()
    timeout = _fetch_timeout(deadline, batch)  # ends by the deadline: not under _in_time
    answers, fetched = await asyncio.gather(
        asked,
        asyncio.gather(*(_fetch_policy_async(service, request, timeout) for request in requests)),
    )
    return _merge(batch, answers, fetched)


async def _in_time(ask: Callable[[], Awaitable[_R]], deadline: Deadline, batch: Batch) -> _R:
    """``ask()`` awaited for the time left at most; the questions in flight then are cancelled."""
    import asyncio

    left = deadline.left(batch)
    try:
        return await asyncio.wait_for(ask(), left)
    except asyncio.TimeoutError:
        raise deadline.passed(batch) from None


async def _fetch_policy_async(
    service: PolicyService, request: PolicyRequest, timeout: float
) -> PolicyAnswer:
    """Answer ``request`` from the cache, else fetch it within ``timeout`` seconds."""
    import asyncio

    from mxroute._stsfetch import PolicyFetcher

    ready = service.lookup(request)
    if ready is not None:
        return ready
    fetcher = service.the_fetcher()
    fetch_async: Callable[..., Awaitable[Any]] | None = getattr(fetcher, "fetch_policy_async", None)
    if fetch_async is not None:
        pending = fetch_async(request.domain, request.addresses, timeout)
    elif isinstance(fetcher, PolicyFetcher):
        fetch = fetcher.fetch_policy
        pending = _in_daemon_thread(lambda: fetch(request.domain, request.addresses, timeout))
    else:
        raise TypeError(
            f"the policy fetcher {fetcher!r} has no fetch_policy_async() or fetch_policy()"
        )
    try:
        response: PolicyResponse = await asyncio.wait_for(pending, timeout)
    except asyncio.TimeoutError:
        return service.settle(request, None, "timeout", f"no policy within {timeout:g} s")
    return service.settle(request, response.text, response.error, response.detail)


async def _in_daemon_thread(work: Callable[[], Any]) -> Any:
    """``work()`` in a daemon thread, awaited.

    Not :func:`asyncio.to_thread`: a fetch that ignores its timeout would
    keep :func:`asyncio.run` waiting for the default executor at its end;
    a daemon thread is left behind instead (its result dropped).
    """
    import asyncio

    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[bool, Any]] = loop.create_future()

    def deliver(outcome: tuple[bool, Any]) -> None:
        if not future.done():
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome: tuple[bool, Any] = (True, work())
        except BaseException as exc:  # raised again in the awaiting task
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(deliver, outcome)

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name="mxroute-sts", daemon=True).start()
    ok, value = await future
    if not ok:
        raise value
    return value


# The drivers test for the optional methods as isinstance() with the
# runtime-checkable BatchResolver / AsyncResolver would (the attribute exists
# and is not None), without that check's cost on every batch.


def _ask(resolver: Resolver, batch: Sequence[Question]) -> Sequence[Answer]:
    if len(batch) > 1:
        query_batch: Callable[[Sequence[Question]], Sequence[Answer]] | None = getattr(
            resolver, "query_batch", None
        )
        if query_batch is not None:
            return query_batch(batch)
    return [resolver.query(name, rdtype) for name, rdtype in batch]


def _in_thread(
    work: Callable[[], Any], name: str
) -> Callable[[float | None], tuple[bool, Any] | None]:
    """Run ``work`` in a daemon thread; the result waits for ``(ok, value)``, None if not done.

    A daemon thread (not a pool) so work that misses its time never delays
    the interpreter's exit; it runs in a copy of the caller's context.
    """
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # raised again in the caller's thread
            outcome.append((False, exc))

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(run,), name=name, daemon=True)
    worker.start()

    def wait(timeout: float | None) -> tuple[bool, Any] | None:
        worker.join(timeout)
        return outcome[0] if outcome else None

    return wait


def _ask_in_time(
    resolver: Resolver, batch: tuple[Question, ...], deadline: Deadline
) -> Sequence[Answer]:
    """:func:`_ask` in a daemon thread, waited for until the deadline at most.

    The resolver protocols give no way to stop a call, so a batch that misses
    the deadline is left to finish in its thread, its answers dropped.
    """
    outcome = _in_thread(lambda: _ask(resolver, batch), "mxroute-batch")(deadline.left(batch))
    if outcome is None:
        raise deadline.passed(batch)
    ok, value = outcome
    if not ok:
        raise value
    answers: Sequence[Answer] = value
    return answers


async def _ask_async(resolver: AnyResolver, batch: Sequence[Question]) -> Sequence[Answer]:
    import asyncio

    if not batch:
        return []
    if len(batch) > 1:
        query_batch_async: Callable[[Sequence[Question]], Awaitable[Sequence[Answer]]] | None = (
            getattr(resolver, "query_batch_async", None)
        )
        if query_batch_async is not None:
            return await query_batch_async(batch)
    query_async = adapters.async_query(resolver)
    if len(batch) == 1:
        return [await query_async(*batch[0])]
    return await asyncio.gather(*(query_async(n, t) for n, t in batch))


def resolve(
    target: str | Target,
    *,
    resolver: AnyResolver | None = None,
    policy: RoutingPolicy | None = None,
    rng: random.Random | None = None,
    deadline: float | None = None,
    policy_fetcher: PolicyFetcher | AsyncPolicyFetcher | None = None,
    policy_cache: PolicyCache | None = None,
) -> MailRoute:
    """Route one target: ``mxroute.resolve("alice@example.com")``.

    A shortcut for ``Router(resolver, policy, rng, deadline=deadline,
    policy_fetcher=policy_fetcher, policy_cache=policy_cache).resolve(target)``;
    with no resolver it uses the system's DNS configuration. Each call has
    its own MTA-STS policy cache unless ``policy_cache`` is given: routing
    many messages, keep one :class:`~mxroute.Router` (or one cache).
    """
    return Router(
        resolver,
        policy,
        rng,
        deadline=deadline,
        policy_fetcher=policy_fetcher,
        policy_cache=policy_cache,
    ).resolve(target)


publish(globals())
