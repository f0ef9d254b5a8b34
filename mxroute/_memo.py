"""A bounded memo of a pure function, for the hot paths of bulk work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


class BoundedMemo(dict[_K, _V]):
    """``memo[key]`` is ``make(key)``, made once and kept, up to ``limit`` keys.

    When full it forgets everything and starts again: bulk work meets the
    same provider names and addresses again soon, so the memo refills with
    what matters, and a hit costs one dictionary lookup (no recency to
    track, unlike :func:`functools.lru_cache`). ``make`` must be pure; if
    it raises, nothing is kept and the exception reaches the caller.
    """

    __slots__ = ("_make", "limit")

    def __init__(self, make: Callable[[_K], _V], limit: int) -> None:
        super().__init__()
        self._make = make
        self.limit = limit

    def __missing__(self, key: _K) -> _V:
        value = self._make(key)
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
