"""Module-level work functions for tests/test_jobs.py: spawned workers import them by name."""

from __future__ import annotations

import os
from collections.abc import Sequence

_STATE: dict[str, object] = {}


def remember(tag: str) -> None:
    """An initializer: what every chunk of this worker sees."""
    _STATE["tag"] = tag


def square(chunk: Sequence[int]) -> list[tuple[int, int, object]]:
    return [(n, n * n, _STATE.get("tag")) for n in chunk]


def fail_on_seven(chunk: Sequence[int]) -> list[int]:
    if 7 in chunk:
        raise ValueError("seven")
    return list(chunk)


def die_on_seven(chunk: Sequence[int]) -> list[int]:
    if 7 in chunk:
        os._exit(3)
    return list(chunk)


def die_leaving(chunk: Sequence[str]) -> list[str]:
    """Die on a chunk naming a marker file, after creating that file."""
    for item in chunk:
        if item.startswith("die:"):
            with open(item[4:], "w"):
                pass
            os._exit(3)
    return list(chunk)
