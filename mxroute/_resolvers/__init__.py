"""Resolvers: where the planner's answers come from.

* :class:`InMemoryResolver`: answers from records you add; the test fake.
* :class:`DNSResolver`: the real DNS, on dnspython (sync and async).
* :class:`CachingResolver`: a TTL-aware cache in front of any resolver.

Any object with ``query(name, rdtype) -> Answer`` (and/or ``query_async``)
is a resolver: see :class:`Resolver` and :class:`AsyncResolver`.
"""

from mxroute._dns import (
    Answer,
    AnswerStatus,
    AsyncResolver,
    BatchResolver,
    Question,
    RData,
    Resolver,
)
from mxroute._resolvers.caching import CacheStats, CachingResolver
from mxroute._resolvers.dns import DNSResolver
from mxroute._resolvers.memory import InMemoryResolver

__all__ = [
    "Answer",
    "AnswerStatus",
    "AsyncResolver",
    "BatchResolver",
    "CacheStats",
    "CachingResolver",
    "DNSResolver",
    "InMemoryResolver",
    "Question",
    "RData",
    "Resolver",
]
