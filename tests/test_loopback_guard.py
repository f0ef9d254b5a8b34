"""The suite's guard refuses traffic beyond loopback (tests/conftest.py)."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkEscape


def test_udp_beyond_loopback_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(NetworkEscape):
        sock.sendto(b"x", ("192.0.2.1", 53))


def test_tcp_beyond_loopback_is_refused():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock, pytest.raises(NetworkEscape):
        sock.connect(("2001:db8::1", 53))


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"x", ("127.0.0.1", 9))
