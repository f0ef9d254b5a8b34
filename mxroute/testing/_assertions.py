"""Assertions over the questions a fake resolver was asked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mxroute._checks import integer
from mxroute._names import normalize_host

__all__ = ["assert_not_queried", "assert_queried"]


class _Recorder(Protocol):
    @property
    def queries(self) -> Sequence[tuple[str, str]]: ...


def _what(name: str, rdtype: str | None) -> str:
    return f"{name} {rdtype}" if rdtype is not None else f"{name} (any type)"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _asked(queries: Sequence[tuple[str, str]]) -> str:
    if not queries:
        return "No question was asked."
    lines = [f"Questions asked ({len(queries)}):"]
    lines += [f"  {number}. {name} {rdtype}" for number, (name, rdtype) in enumerate(queries, 1)]
    return "\n".join(lines)


def _count(resolver: _Recorder, name: str, rdtype: str | None) -> tuple[str, str | None, int]:
    wanted = normalize_host(name)
    kind = None if rdtype is None else rdtype.upper()
    count = sum(
        1
        for asked, asked_type in resolver.queries
        if normalize_host(asked) == wanted and (kind is None or asked_type.upper() == kind)
    )
    return wanted, kind, count


def assert_queried(
    resolver: _Recorder, name: str, rdtype: str | None = None, *, times: int | None = None
) -> None:
    """Assert that a fake resolver was asked about ``name``.

    ``assert_queried(fake, "example.com", "MX")`` passes when ``example.com MX``
    was asked at least once; with ``times=2``, exactly twice. Without
    ``rdtype`` any type counts. Names compare as DNS names do (case and the
    trailing dot do not matter).

    Args:
        resolver: The fake (anything with a ``queries`` list of
            ``(name, rdtype)`` tuples, such as :class:`~mxroute.InMemoryResolver`).
        name: The name.
        rdtype: The record type; any type when None.
        times: How many times exactly; at least once when None.

    Raises:
        AssertionError: It was not asked (that often); the message lists every
            question that was asked, in order.
        InvalidInput: ``times`` is not a non-negative integer (``.reason``
            is ``invalid-times``).
    """
    __tracebackhide__ = True  # pytest shows the test's line and the message, not this body
    if times is not None:
        integer(times, "times", low=0)
    wanted, kind, count = _count(resolver, name, rdtype)
    what = _what(wanted, kind)
    happened = f"asked {_times(count)}" if count else "never asked"
    if times is None:
        if count:
            return
        expected = f"expected {what} to be asked"
    elif count == times:
        return
    elif times == 0:
        expected = f"expected {what} never to be asked"
    else:
        expected = f"expected {what} to be asked {_times(times)}"
    raise AssertionError(f"{expected}, but it was {happened}.\n{_asked(resolver.queries)}")


def assert_not_queried(resolver: _Recorder, name: str, rdtype: str | None = None) -> None:
    """Assert that a fake resolver was never asked about ``name``.

    Args:
        resolver: The fake (anything with a ``queries`` list).
        name: The name.
        rdtype: The record type; any type when None.

    Raises:
        AssertionError: It was asked; the message lists every question asked.
    """
    __tracebackhide__ = True
    assert_queried(resolver, name, rdtype, times=0)
