"""Keeping tests off real DNS: the switch that the fixtures of :mod:`mxroute.testing` turn on.

While a fixture such as ``fake_dns`` runs, :func:`offline` has registered its
fake: mxroute's default resolver (what ``mxroute.resolve()``, ``Router()`` and
``audit()`` use when no ``resolver=`` is given) is that fake, and
:func:`refuse_real_dns`, which :class:`~mxroute.DNSResolver` calls before it
sends a question, raises an error naming the fixture.

Every :class:`~mxroute.DNSResolver` is refused there, one pointed at
``127.0.0.1`` too: the system's own resolver is often on loopback
(``127.0.0.53`` with systemd-resolved), so a loopback address does not mean
that a query stays in the test. The switch is process-wide (not a context
variable), so a thread that a test starts is kept off the network too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mxroute._errors import MXRouteError

if TYPE_CHECKING:
    from mxroute._dns import AnyResolver

__all__ = ["offline", "refuse_real_dns", "stand_in"]

_active: list[tuple[str, AnyResolver]] = []
"""The fixtures running now, innermost last: (fixture name, its fake)."""


@contextlib.contextmanager
def offline(fixture: str, resolver: AnyResolver) -> Iterator[None]:
    """Inside the block, ``resolver`` stands in for real DNS and real DNS is refused.

    Args:
        fixture: The name to give in the error (``"fake_dns"``).
        resolver: The resolver that mxroute's default resolver becomes.
    """
    entry = (fixture, resolver)
    _active.append(entry)
    try:
        yield
    finally:
        _active.remove(entry)


def stand_in() -> AnyResolver | None:
    """The fake that replaces the default resolver now, or None outside the fixtures."""
    return _active[-1][1] if _active else None


def refuse_real_dns(what: str = "DNSResolver") -> None:
    """Raise if a fixture of :mod:`mxroute.testing` is keeping the test off real DNS.

    Raises:
        MXRouteError: Naming the fixture, and what to do instead.
    """
    if _active:
        fixture = _active[-1][0]
        raise MXRouteError(
            f"{what} would send a query to real DNS, but this test uses the {fixture} "
            f"fixture, which keeps tests off the network: ask the fake ({fixture}, or leave "
            "resolver= out to get it), or use a DNSResolver outside that fixture"
        )
