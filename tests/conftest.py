"""Shared fixtures, the one Hypothesis profile, and the guard that keeps tests on loopback."""

from __future__ import annotations

import ipaddress
import os
import random
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings

import mxroute

# The one Hypothesis profile of the suite (no test sets its own): no deadline,
# since the machine is shared and timing is not what the properties check;
# fewer examples locally; in CI (CI set) more, and derandomized, so that a
# failure there is the same on every run and can be repeated at home with CI=1.
IN_CI = bool(os.environ.get("CI"))
settings.register_profile(
    "mxroute",
    deadline=None,
    max_examples=200 if IN_CI else 100,
    derandomize=IN_CI,
    print_blob=True,
)
settings.load_profile("mxroute")

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", ""}


class NetworkEscape(AssertionError):
    """A test tried to reach an address beyond loopback."""


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if str(host).lower() in LOOPBACK_NAMES:
        return
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        raise NetworkEscape(f"a test tried to reach {address!r}, a name, not loopback") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_loopback:
        raise NetworkEscape(f"a test tried to reach {address!r}, beyond loopback")


def _guard(method: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(self: socket.socket, *args: Any) -> Any:
        _check(self, args[-1])
        return method(self, *args)

    return guarded


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    """Refuse, in this process, every connect or sendto to an address beyond loopback.

    Subprocesses started by tests (the CLI, examples) are pointed at zone files
    or at the loopback BIND servers by the tests themselves.
    """
    saved = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto")}
    for name, method in saved.items():
        setattr(socket.socket, name, _guard(method))
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(socket.socket, name, method)


@pytest.fixture
def fake(fake_dns: mxroute.InMemoryResolver) -> mxroute.InMemoryResolver:
    """The shipped ``fake_dns`` fixture (``mxroute.testing.plugin``), by its short name here.

    The same object as ``fake_dns`` in a test that asks for both, so the
    suite exercises the fixture its users get rather than a copy.
    """
    return fake_dns


@pytest.fixture
def router(fake: mxroute.InMemoryResolver) -> mxroute.Router:
    """A router over ``fake`` with a seeded random source."""
    return mxroute.Router(resolver=fake, rng=random.Random(1))
