"""One set of checks for the numbers and flags that settings and values take.

Every setting of mxroute (a policy's limits, a resolver's timeouts, a fake's
TTLs, a port) is checked by one of these, so the same mistake gets the same
:class:`~mxroute.InvalidInput` everywhere: a ``reason`` code, a message naming
the setting, its allowed range and the value given. ``bool`` is never taken
for a number (``ttl=True`` is refused), and ``NaN`` and infinities are never
taken for seconds.

Each check is a plain function (``integer(value, "max_hosts", low=1)``) that
returns the value in its canonical type; :func:`attrs_validator` turns one into
an attrs validator that names the attribute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mxroute._errors import InvalidInput

ErrorType = type[InvalidInput]


def _reason(what: str, reason: str | None) -> str:
    return reason or "invalid-" + what.replace("_", "-").replace(" ", "-")


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}"
    if low is not None:
        return "of at least 0" if low == 0 else f"of at least {low:g}"
    if high is not None:
        return f"of at most {high:g}"
    return ""


def integer(
    value: object,
    what: str,
    *,
    low: int | None = None,
    high: int | None = None,
    reason: str | None = None,
    error: ErrorType = InvalidInput,
) -> int:
    """Return *value* if it is an ``int`` (not a ``bool``) in ``[low, high]``.

    Raises:
        InvalidInput: (or *error*) with ``reason`` ``"invalid-<what>"`` unless
            *reason* is given.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        bounds = _range(low, high)
        raise error(
            _reason(what, reason),
            f"{what} must be an integer{' ' + bounds if bounds else ''}, not {value!r}",
            repr(value),
        )
    return value


def port(value: object, what: str = "port", *, error: ErrorType = InvalidInput) -> int:
    """Return *value* if it is a TCP/UDP port number, 1 to 65535."""
    return integer(value, what, low=1, high=65535, reason="invalid-port", error=error)


def seconds(
    value: object,
    what: str,
    *,
    allow_zero: bool = False,
    high: float | None = None,
    reason: str | None = None,
    error: ErrorType = InvalidInput,
) -> float:
    """Return *value* as a float if it is a finite number of seconds.

    The number must be positive (or zero, with *allow_zero*) and at most
    *high* when a limit is given; the message names the limit.
    """
    ok = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
        and (high is None or value <= high)
    )
    if not ok:
        kind = "a non-negative" if allow_zero else "a positive"
        limit = f" of at most {high:g}" if high is not None else ""
        raise error(
            _reason(what, reason),
            f"{what} must be {kind}, finite number of seconds{limit}, not {value!r}",
            repr(value),
        )
    return float(value)  # type: ignore[arg-type]


def flag(
    value: object, what: str, *, reason: str | None = None, error: ErrorType = InvalidInput
) -> bool:
    """Return *value* if it is ``True`` or ``False`` (not a truthy stand-in)."""
    if not isinstance(value, bool):
        raise error(
            _reason(what, reason), f"{what} must be True or False, not {value!r}", repr(value)
        )
    return value


def attrs_validator(check: Callable[..., object], **options: Any) -> Callable[..., None]:
    """An attrs validator that runs *check* on the value, naming the attribute."""

    def validate(_instance: object, attribute: Any, value: object) -> None:
        check(value, attribute.name, **options)

    return validate
