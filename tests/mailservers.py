"""Real mail servers on loopback for the connect tests and benchmarks.

A plain module (no pytest import), like :mod:`tests.bindserver`, so that
``benchmarks/connect.py`` can reuse it. Every server is a context manager
listening on one ``(address, port)`` of loopback:

* :class:`Sink`: an aiosmtpd SMTP server that accepts every message and keeps it;
* :class:`Greeter`: accepts, sends one greeting line (``421 ...``), closes;
* :class:`Silent`: the kernel completes the TCP handshake, nothing is ever said;
* :class:`Blackhole`: connection attempts get no answer at all (their SYNs
  are dropped), as a firewall that drops packets: a connect waits for its
  timeout. It listens with a backlog of 0 and fills that one place itself,
  after which Linux drops further SYNs.

No listener at all is the refused case: :func:`common_port` finds a port free
on every address used, so an address without a server there refuses.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from types import TracebackType
from typing import Any

__all__ = ["Blackhole", "Greeter", "Silent", "Sink", "common_port", "has_ipv6_loopback"]


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def _listener(address: str, port: int, backlog: int = 16) -> socket.socket:
    sock = socket.socket(_family(address), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def has_ipv6_loopback() -> bool:
    """Whether this machine has ``::1`` (a TCP socket can listen there)."""
    try:
        _listener("::1", 0).close()
    except OSError:
        return False
    return True


def common_port(addresses: list[str]) -> int:
    """A TCP port free on every one of ``addresses`` right now."""
    for _ in range(50):
        with socket.socket(_family(addresses[0]), socket.SOCK_STREAM) as first:
            first.bind((addresses[0], 0))
            port = int(first.getsockname()[1])
            try:
                for address in addresses[1:]:
                    _listener(address, port).close()
            except OSError:
                continue
            return port
    raise OSError(f"no port free on all of {addresses}")


class _Server:
    def __init__(self, address: str, port: int) -> None:
        self.address = address
        self.port = port
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._sockets.append(_listener(self.address, self.port))

    def stop(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []


class Silent(_Server):
    """A TCP listener that never accepts: connections are made, no greeting ever comes."""


class Blackhole(_Server):
    """A listener whose connection attempts get no answer: connect waits for its timeout."""

    def start(self) -> None:
        listener = _listener(self.address, self.port, backlog=0)
        filler = socket.socket(listener.family, socket.SOCK_STREAM)
        filler.connect((self.address, self.port))  # takes the one place in the queue
        self._sockets += [listener, filler]


class Greeter(_Server):
    """Accepts each connection, sends ``reply`` (e.g. ``421 4.3.2 Busy``) and closes it."""

    def __init__(self, address: str, port: int, reply: str = "421 4.3.2 Too busy") -> None:
        super().__init__(address, port)
        self.reply = reply
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        super().start()
        self._thread = threading.Thread(target=self._serve, args=(self._sockets[0],), daemon=True)
        self._thread.start()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            with conn:
                conn.sendall(self.reply.encode() + b"\r\n")

    def stop(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread's accept()
        super().stop()
        if self._thread is not None:
            self._thread.join(5)


class Sink:
    """An aiosmtpd SMTP server on ``(address, port)`` that accepts and keeps every message.

    Attributes:
        messages: ``(mail_from, rcpt_tos, content)`` of each message, in order.
    """

    def __init__(self, address: str, port: int, name: str = "sink.test") -> None:
        self.address = address
        self.port = port
        self.name = name
        self.messages: list[tuple[str, list[str], bytes]] = []
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the message."""
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Kept"

    def __enter__(self) -> Sink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(
            self, hostname=self.address, port=self.port, server_hostname=self.name
        )
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()
