"""Test helpers for the integration tests: a scripted DNS server.

:class:`ScriptedServer` is a real DNS server on 127.0.0.1 (UDP and TCP) whose
answers a test writes with dnspython, for the outcomes BIND will not produce
on demand (FORMERR, garbage, CNAME loops in one answer, referrals).
(The resolver that records the questions asked, to count round trips, is
``tests.doubles.RecordingResolver``.)
"""

from __future__ import annotations

import pathlib
import socket
import struct
import threading
from collections.abc import Callable

import dns.message

from tests.bindserver import ADDRESS, bind_udp_tcp

ZONES = pathlib.Path(__file__).parent / "zones"
"""The zone files of the integration tests."""


class RawTCP(bytes):
    """A reply sent over TCP exactly as given, without the two-octet length prefix.

    With a prefix that promises more octets than follow, the connection
    closes in the middle of a message.
    """


Reply = bytes | dns.message.Message | None
Handler = Callable[[dns.message.Message, bool], Reply]


class ScriptedServer:
    """A DNS server on 127.0.0.1 that answers each query with ``handler(query, tcp)``.

    The handler returns a message, raw bytes, or None for no answer. Every
    query received is kept in :attr:`received` as ``(message, tcp)``.

    ``decoy``, when given, answers each UDP query first from another socket
    (another port of the same address), as an off-path attacker would, before
    the handler's answer comes from the server's own.
    """

    def __init__(
        self,
        handler: Handler,
        address: str = ADDRESS,
        port: int = 0,
        decoy: Handler | None = None,
        spoof: Handler | None = None,
    ) -> None:
        self.handler = handler
        self.decoy = decoy
        self.spoof = spoof
        self.address = address
        self.port = port
        self.received: list[tuple[dns.message.Message, bool]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None

    def __enter__(self) -> ScriptedServer:
        udp, tcp = bind_udp_tcp(self.address, self.port)
        self.port = udp.getsockname()[1]
        udp.settimeout(0.05)
        tcp.settimeout(0.05)
        self._udp, self._tcp = udp, tcp
        for target in (self._serve_udp, self._serve_tcp):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()

    def _reply(self, wire: bytes, tcp: bool) -> bytes | None:
        query = dns.message.from_wire(wire)
        self.received.append((query, tcp))
        reply = self.handler(query, tcp)
        if isinstance(reply, dns.message.Message):
            return reply.to_wire(max_size=65535)
        return reply

    def _serve_udp(self) -> None:
        assert self._udp is not None
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            if self.decoy is not None:
                self._send_decoy(wire, peer)
            if self.spoof is not None:
                spoof = self.spoof(dns.message.from_wire(wire), False)
                if isinstance(spoof, dns.message.Message):
                    spoof = spoof.to_wire()
                if spoof is not None:
                    self._udp.sendto(spoof, peer)
            reply = self._reply(wire, tcp=False)
            if reply is not None:
                self._udp.sendto(reply, peer)

    def _send_decoy(self, wire: bytes, peer: tuple[str, int]) -> None:
        assert self.decoy is not None
        decoy = self.decoy(dns.message.from_wire(wire), False)
        if isinstance(decoy, dns.message.Message):
            decoy = decoy.to_wire()
        if decoy is not None:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                other.bind((self.address, 0))
                other.sendto(decoy, peer)

    def _serve_tcp(self) -> None:
        assert self._tcp is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    (length,) = struct.unpack("!H", _read(conn, 2))
                    reply = self._reply(_read(conn, length), tcp=True)
                    if isinstance(reply, RawTCP):
                        conn.sendall(reply)
                    elif reply is not None:
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
                except (OSError, struct.error):
                    continue


def _read(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data
