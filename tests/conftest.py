"""Shared fixtures, and the guard that keeps every test on loopback."""

from __future__ import annotations

import ipaddress
import random
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mxroute

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
def fake() -> mxroute.InMemoryResolver:
    """An empty in-memory resolver."""
    return mxroute.InMemoryResolver()


@pytest.fixture
def router(fake: mxroute.InMemoryResolver) -> mxroute.Router:
    """A router over ``fake`` with a seeded random source."""
    return mxroute.Router(resolver=fake, rng=random.Random(1))
