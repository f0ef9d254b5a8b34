"""Resolvers: where the planner's answers come from.

* :class:`InMemoryResolver`: answers from records you add; the test fake.
* :class:`DNSResolver`: the real DNS, on dnspython (sync and async).
* :class:`CachingResolver`: a TTL-aware cache in front of any resolver.

Any object with ``query(name, rdtype) -> Answer`` (and/or ``query_async``)
is a resolver: see :class:`Resolver` and :class:`AsyncResolver`.
"""

from mxroute import _PUBLIC, _exports

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


# Loaded on first use, as mxroute's own names are: the DNS backend and the fake
# pull in much of dnspython, which a program may never need.
__getattr__, __dir__ = _exports.lazy(globals(), {name: _PUBLIC[name] for name in __all__})
