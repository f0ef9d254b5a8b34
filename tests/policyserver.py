"""A real HTTPS MTA-STS policy server on 127.0.0.1, with certificates from a trustme CA.

The fetcher asks ``mta-sts.<domain>``; the server picks its behaviour by
that name (the SNI for the certificate, the ``Host`` header for the answer),
so one server plays every scenario:

==================  ===========================================================
domain              answer
==================  ===========================================================
``valid.test``      the policy, ``Content-Length``, ``text/plain; charset=utf-8``
``chunked.test``    the policy, chunked transfer encoding
``close.test``      the policy, delimited by closing the connection
``redirect.test``   ``301`` to another host
``missing.test``    ``404``
``html.test``       the policy as ``text/html``
``oversize.test``   ``Content-Length: 100000`` and that many bytes
``endless.test``    ``text/plain`` without a length, bytes until the client hangs up
``bigchunks.test``  chunks without end
``latin1.test``     a body that is not UTF-8
``slow.test``       nothing for 30 s, then the policy
``drip.test``       the policy, one byte every 50 ms (several seconds in all)
``expired.test``    the policy, behind a certificate that expired yesterday
``wrongname.test``  the policy, behind a certificate for ``mta-sts.elsewhere.test``
==================  ===========================================================

Beside it, :attr:`PolicyServer.silent_port` listens and never accepts (a
client connects, then waits forever for the TLS handshake), and
:attr:`PolicyServer.drip_tls_port` answers the TLS ClientHello with the
header of a 16 KiB handshake record, then one byte of it every 50 ms (a
client that bounds each read, but not the handshake, waits 13 minutes).
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Callable

import trustme

ADDRESS = "127.0.0.1"

POLICY = "version: STSv1\nmode: enforce\nmx: mx.valid.test\nmax_age: 86400\n"
"""The policy every scenario that serves one serves."""


def _head(status: str, *fields: str) -> bytes:
    return ("HTTP/1.1 " + status + "\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n").encode()


def _plain(body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    return _head("200 OK", f"Content-Type: {content_type}", f"Content-Length: {len(body)}") + body


def _chunked(body: bytes) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:]) if p)
    return _head("200 OK", "Content-Type: text/plain", "Transfer-Encoding: chunked") + (
        chunks + b"0\r\n\r\n"
    )


FIXED: dict[str, bytes] = {
    "valid.test": _plain(POLICY.encode()),
    "expired.test": _plain(POLICY.encode()),
    "wrongname.test": _plain(POLICY.encode()),
    "chunked.test": _chunked(POLICY.encode()),
    "redirect.test": _head(
        "301 Moved Permanently",
        "Location: https://mta-sts.elsewhere.test/.well-known/mta-sts.txt",
        "Content-Length: 0",
    ),
    "missing.test": _head("404 Not Found", "Content-Type: text/plain", "Content-Length: 0"),
    "html.test": _plain(POLICY.encode(), "text/html"),
    "oversize.test": _plain(b"x" * 100_000),
    "latin1.test": _plain("mx: bücher.test\n".encode("latin-1")),
}
"""Scenarios that send one fixed response, then close."""

DOMAINS = (*FIXED, "close.test", "endless.test", "bigchunks.test", "slow.test", "drip.test")


class PolicyServer:
    """The server (a context manager): a thread that accepts, a thread per connection.

    Attributes:
        port: The HTTPS port on 127.0.0.1.
        silent_port: A port that accepts TCP connections and never answers.
        ca: The test CA; :meth:`client_context` trusts it.
        hosts: The ``Host`` header of every request received, in order.
        connections: How many TCP connections the HTTPS port accepted.
    """

    def __init__(self) -> None:
        self.ca = trustme.CA()
        now = datetime.datetime.now(datetime.timezone.utc)
        self._contexts = {
            "good": self._server_context(self.ca.issue_cert(*(f"mta-sts.{d}" for d in DOMAINS))),
            "mta-sts.expired.test": self._server_context(
                self.ca.issue_cert(
                    "mta-sts.expired.test",
                    not_before=now - datetime.timedelta(days=30),
                    not_after=now - datetime.timedelta(days=1),
                )
            ),
            "mta-sts.wrongname.test": self._server_context(
                self.ca.issue_cert("mta-sts.elsewhere.test")
            ),
        }
        self._contexts["good"].sni_callback = self._pick_certificate
        self.hosts: list[str] = []
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((ADDRESS, 0))
        self._listener.settimeout(0.05)
        self._silent = socket.create_server((ADDRESS, 0), backlog=64)
        self._drip_tls = socket.create_server((ADDRESS, 0))
        self._drip_tls.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.silent_port: int = self._silent.getsockname()[1]
        self.drip_tls_port: int = self._drip_tls.getsockname()[1]

    @staticmethod
    def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        return context

    def _pick_certificate(
        self, tls: ssl.SSLObject | ssl.SSLSocket, name: str | None, _context: ssl.SSLContext
    ) -> None:
        if name in self._contexts:
            tls.context = self._contexts[name]

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA only (as the system store would a real one)."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def __enter__(self) -> PolicyServer:
        self._spawn(self._accept, self._listener, self._serve)
        self._spawn(self._accept, self._drip_tls, self._drip_handshake)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()
        self._silent.close()
        self._drip_tls.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket, serve: Callable[[socket.socket], None]) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if listener is self._listener:
                self.connections += 1
            self._spawn(serve, raw)

    def _drip_handshake(self, raw: socket.socket) -> None:
        try:
            with raw:
                raw.settimeout(5)
                raw.recv(4096)  # the ClientHello
                raw.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16384 bytes...
                while not self._stop.wait(0.05):
                    raw.sendall(b"\x00")  # ...that never completes
        except OSError:
            pass

    def _serve(self, raw: socket.socket) -> None:
        try:
            with raw:
                raw.settimeout(5)
                with self._contexts["good"].wrap_socket(raw, server_side=True) as tls:
                    host = self._read_host(tls)
                    self.hosts.append(host)
                    self._answer(tls, host.partition(":")[0].removeprefix("mta-sts."))
        except OSError:  # the client gave up, or refused the certificate: expected here
            pass

    @staticmethod
    def _read_host(tls: ssl.SSLSocket) -> str:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 8192:
            data = tls.recv(4096)
            if not data:
                break
            request += data
        for line in request.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "host":
                return value.strip()
        return ""

    def _answer(self, tls: ssl.SSLSocket, domain: str) -> None:
        if domain in FIXED:
            tls.sendall(FIXED[domain])
        elif domain == "close.test":
            tls.sendall(_head("200 OK", "Content-Type: text/plain") + POLICY.encode())
        elif domain == "slow.test":
            if not self._stop.wait(30):
                tls.sendall(FIXED["valid.test"])
        elif domain == "drip.test":
            for byte in FIXED["valid.test"]:
                if self._stop.wait(0.05):
                    return
                tls.sendall(bytes([byte]))
        elif domain in ("endless.test", "bigchunks.test"):
            chunked = domain == "bigchunks.test"
            fields = ("Transfer-Encoding: chunked",) if chunked else ()
            tls.sendall(_head("200 OK", "Content-Type: text/plain", *fields))
            piece = b"1000\r\n" + b"x" * 4096 + b"\r\n" if chunked else b"x" * 4096
            while not self._stop.is_set():
                tls.sendall(piece)
        else:
            tls.sendall(_head("404 Not Found", "Content-Length: 0"))
