"""Fetching MTA-STS policies (RFC 8461 §3.3): the result value and the fetcher protocols.

The routing side asks a fetcher for the policy of a recipient domain, giving
the addresses of ``mta-sts.<domain>`` that it resolved through mxroute's own
resolver; the fetcher answers with a :class:`PolicyResponse`, the policy text
or a reason code, and never raises for a fetch that failed. It does not parse
the policy: :meth:`MTASTSPolicy.parse <mxroute.MTASTSPolicy.parse>` does.

The HTTP rules are written once, without I/O: :class:`ResponseReader` turns
the bytes of one response into a :class:`PolicyResponse` (bounded at every
step: head, chunk lines, body), and :class:`PolicyFetch` holds one fetch's
checks, addresses, deadline and outcome. :class:`HTTPSPolicyFetcher` only
moves bytes: with blocking sockets and :mod:`ssl` in ``fetch_policy``, with
asyncio streams in ``fetch_policy_async``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import attrs

from mxroute._checks import integer, seconds
from mxroute._checks import port as port_check
from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._names import IPAddress, to_a_label
from mxroute._policy import AddressScope, _scope

__all__ = [
    "FETCH_ERRORS",
    "MAX_POLICY_SIZE",
    "POLICY_PATH",
    "AsyncPolicyFetcher",
    "HTTPSPolicyFetcher",
    "PolicyFetch",
    "PolicyFetcher",
    "PolicyResponse",
    "ResponseReader",
    "tls_failure",
]

MAX_POLICY_SIZE = 65536
"""The largest policy body accepted by default, in bytes (RFC 8461 §3.2: 64 KiB)."""

POLICY_PATH = "/.well-known/mta-sts.txt"
"""Where a policy host serves the policy (RFC 8461 §3.2)."""

MAX_HEAD = 16384
"""Bytes of status lines and header fields read at most, interim responses included."""

MAX_HEADER_FIELDS = 100
"""Header fields accepted at most in one response."""

MAX_INTERIM = 8
"""Interim (1xx) responses skipped at most before the final one."""

MAX_CHUNK_LINE = 1024
"""The longest chunk-size line (with its extensions) accepted, in bytes."""

READ_SIZE = 16384
"""Bytes asked for in one read."""

FETCH_ERRORS = (
    "no-address",
    "connect",
    "timeout",
    "tls",
    "http-status",
    "redirect",
    "content-type",
    "too-large",
    "encoding",
    "protocol",
)
"""The reason codes of a failed fetch (:attr:`PolicyResponse.error`)."""


def _error_code(_instance: object, _attribute: object, value: str | None) -> None:
    if value is not None and value not in FETCH_ERRORS:
        codes = ", ".join(FETCH_ERRORS)
        raise InvalidInput(
            "invalid-fetch-error", f"error must be one of {codes}, not {value!r}", repr(value)
        )


@attrs.frozen
class PolicyResponse:
    """The outcome of one policy fetch: the policy text, or why there is none.

    Exactly one of ``text`` and ``error`` is set.

    Attributes:
        text: The policy body, decoded as UTF-8, when the fetch succeeded and
            the response was acceptable (status 200, ``text/plain``, at most
            the size limit). Not parsed yet.
        error: Otherwise a reason code: ``"no-address"`` (no address to try
            in the allowed scope), ``"connect"`` (no TCP connection),
            ``"timeout"`` (the deadline passed), ``"tls"`` (handshake or
            certificate failure), ``"http-status"`` (a status other than 200),
            ``"redirect"`` (a 3xx: redirects are never followed, RFC 8461
            §3.3), ``"content-type"`` (not ``text/plain``), ``"too-large"``
            (the body exceeds the limit), ``"encoding"`` (not UTF-8) or
            ``"protocol"`` (not a well-formed HTTP/1.x response).
        detail: What a person reads: ``"HTTP 404 Not Found"``,
            ``"certificate has expired"``, ...
    """

    text: str | None
    error: str | None = attrs.field(validator=_error_code)
    detail: str = ""

    def __attrs_post_init__(self) -> None:
        if (self.text is None) == (self.error is None):
            raise InvalidInput(
                "invalid-policy-response",
                "a PolicyResponse has either text or an error, not both or neither",
                repr((self.text, self.error)),
            )

    @property
    def ok(self) -> bool:
        """True when the policy text was fetched."""
        return self.text is not None

    @classmethod
    def failure(cls, error: str, detail: str) -> PolicyResponse:
        """A failed fetch: ``error`` is one of the reason codes of :attr:`error`."""
        return cls(None, error, detail)


@runtime_checkable
class PolicyFetcher(Protocol):
    """Fetches MTA-STS policies synchronously."""

    def fetch_policy(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Fetch ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` from ``addresses``.

        Args:
            domain: The recipient domain (an A-label).
            addresses: The addresses of ``mta-sts.<domain>`` to try, in order;
                no other address is ever contacted, and no name is resolved.
            timeout: The deadline for the whole fetch, in seconds.

        Returns:
            The policy text or the reason there is none. A failed fetch never
            raises.
        """
        ...


@runtime_checkable
class AsyncPolicyFetcher(Protocol):
    """Fetches MTA-STS policies in :mod:`asyncio`."""

    async def fetch_policy_async(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Fetch the policy as :meth:`PolicyFetcher.fetch_policy` does, without blocking."""
        ...


# --- the response reader: bytes in, a PolicyResponse out, no I/O --------------------------

_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?")
_DIGITS = re.compile(r"[0-9]{1,20}")


class _Refused(Exception):
    """Raised inside the reader to stop with ``response``; never leaves it."""

    def __init__(self, response: PolicyResponse) -> None:
        self.response = response


def _refuse(error: str, detail: str) -> _Refused:
    return _Refused(PolicyResponse.failure(error, detail))


def _shown(text: str, limit: int = 80) -> str:
    """``text`` made safe to show a person: printable ASCII, at most ``limit`` characters."""
    clean = "".join(c if " " <= c <= "~" else "?" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


class ResponseReader:
    """Reads one HTTP/1.x response to the policy request, fed bytes by the caller.

    Feed it what the connection delivers; it answers None while it needs
    more, and the final :class:`PolicyResponse` once it has decided (often
    before the end of the body: a 404 is decided at the end of its header
    fields, an oversize body as soon as its length is known). Feed ``b""``
    when the peer closed the connection: the answer is then always final.
    It never raises and never holds more than the head limit
    (:data:`MAX_HEAD`) plus the body limit, whatever it is fed.

    Args:
        max_size: The largest body accepted, in bytes.
    """

    def __init__(self, max_size: int = MAX_POLICY_SIZE) -> None:
        self.max_size = max_size
        self.result: PolicyResponse | None = None
        self._buffer = bytearray()
        self._state = "status"
        self._head = 0
        self._interim = 0
        self._status = 0
        self._reason = ""
        self._fields: list[tuple[str, str]] = []
        self._body = bytearray()
        self._left = 0
        self._length = 0

    def feed(self, data: bytes) -> PolicyResponse | None:
        """Take the next bytes (``b""``: the connection closed); the response once decided."""
        if self.result is None:
            try:
                self.result = self._advance(data)
            except _Refused as refused:
                self.result = refused.response
        return self.result

    def read(self, data: bytes) -> PolicyResponse:
        """The response in ``data``: every byte of a connection, which then closed."""
        self.feed(data)
        final = self.feed(b"")
        assert final is not None  # the end of the connection always decides
        return final

    # The states: "status", "fields", "length", "close", "chunk-size", "chunk-data",
    # "chunk-end", "trailers".

    def _advance(self, data: bytes) -> PolicyResponse | None:
        if not data:
            return self._closed()
        self._buffer += data
        while True:
            if self._state in ("length", "chunk-data"):
                take = min(self._left, len(self._buffer))
                self._body += self._buffer[:take]
                del self._buffer[:take]
                self._left -= take
                if self._left:
                    return None
                if self._state == "length":
                    return self._finish()
                self._state = "chunk-end"
            elif self._state == "close":
                if len(self._body) + len(self._buffer) > self.max_size:
                    raise self._too_large("the body")
                self._body += self._buffer
                self._buffer.clear()
                return None
            else:
                line = self._line()
                if line is None:
                    return None
                done = self._on_line(line)
                if done is not None:
                    return done

    def _line(self) -> bytes | None:
        head = self._state in ("status", "fields", "trailers")
        limit = MAX_HEAD - self._head if head else MAX_CHUNK_LINE
        end = self._buffer.find(b"\n", 0, limit + 1)
        if end < 0:
            if len(self._buffer) > limit:
                what = "the response head is" if head else "a chunk-size line is"
                raise _refuse("protocol", f"{what} longer than {limit} bytes")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        if head:
            self._head += end + 1
        return line[:-1] if line.endswith(b"\r") else line

    def _on_line(self, line: bytes) -> PolicyResponse | None:
        if self._state == "status":
            self._on_status(line)
        elif self._state in ("fields", "trailers"):
            if line:
                self._on_field(line)
            elif self._state == "trailers":
                return self._finish()
            else:
                return self._on_head()
        elif self._state == "chunk-size":
            self._on_chunk_size(line)
        else:  # "chunk-end"
            if line:
                raise _refuse("protocol", "a chunk's data is not followed by CRLF")
            self._state = "chunk-size"
        return None

    def _on_status(self, line: bytes) -> None:
        match = _STATUS_LINE.fullmatch(line)
        if match is None:
            raise _refuse("protocol", f"not an HTTP/1.x status line: {_shown(repr(line))}")
        self._status = int(match[1])
        self._reason = _shown((match[2] or b"").decode("latin-1").strip(), 40)
        self._fields = []
        self._state = "fields"

    def _on_field(self, line: bytes) -> None:
        if line[:1] in (b" ", b"\t"):
            raise _refuse("protocol", "a header field uses obsolete line folding")
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            raise _refuse("protocol", f"not a header field: {_shown(repr(line))}")
        if len(self._fields) >= MAX_HEADER_FIELDS:
            raise _refuse("protocol", f"more than {MAX_HEADER_FIELDS} header fields")
        if self._state == "fields":
            text = value.strip(b" \t").decode("latin-1")
            self._fields.append((name.decode("ascii").lower(), text))

    def _values(self, name: str) -> list[str]:
        return [value for field, value in self._fields if field == name]

    def _on_head(self) -> PolicyResponse | None:
        status = self._status
        shown = f"HTTP {status}" + (f" {self._reason}" if self._reason else "")
        if 100 <= status < 200 and status != 101:
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise _refuse("protocol", f"more than {MAX_INTERIM} interim (1xx) responses")
            self._state = "status"
            return None
        if 300 <= status < 400:
            location = self._values("location")
            where = f" to {_shown(location[0])}" if location else ""
            raise _refuse("redirect", f"{shown}{where}: redirects are not followed (RFC 8461 §3.3)")
        if status != 200:
            raise _refuse("http-status", shown)
        self._check_content_type()
        encodings = [v.strip().lower() for v in self._values("content-encoding")]
        if any(e not in ("", "identity") for e in encodings):
            raise _refuse("protocol", f"unsupported Content-Encoding {_shown(encodings[0])}")
        codings = [
            c.strip().lower() for v in self._values("transfer-encoding") for c in v.split(",")
        ]
        if codings:
            if codings != ["chunked"]:
                raise _refuse(
                    "protocol", f"unsupported Transfer-Encoding {_shown(', '.join(codings))}"
                )
            self._state = "chunk-size"
            return None
        lengths = set(self._values("content-length"))
        if not lengths:
            self._state = "close"
            return None
        if len(lengths) > 1 or _DIGITS.fullmatch(next(iter(lengths))) is None:
            raise _refuse("protocol", f"invalid Content-Length {_shown(', '.join(lengths))}")
        self._length = self._left = int(lengths.pop())
        if self._length > self.max_size:
            raise self._too_large(f"Content-Length {self._length}")
        self._state = "length"
        return self._finish() if self._left == 0 else None

    def _check_content_type(self) -> None:
        types = self._values("content-type")
        if not types:
            raise _refuse("content-type", "no Content-Type; a policy must be text/plain")
        for value in types:
            if value.partition(";")[0].strip().lower() != "text/plain":
                raise _refuse(
                    "content-type", f"Content-Type {_shown(value)}; a policy must be text/plain"
                )

    def _on_chunk_size(self, line: bytes) -> None:
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            raise _refuse("protocol", f"not a chunk-size line: {_shown(repr(line))}")
        size = int(match[1], 16)
        if size == 0:
            self._state = "trailers"
        elif len(self._body) + size > self.max_size:
            raise self._too_large("the chunked body")
        else:
            self._left = size
            self._state = "chunk-data"

    def _too_large(self, what: str) -> _Refused:
        return _refuse("too-large", f"{what} exceeds the limit of {self.max_size} bytes")

    def _closed(self) -> PolicyResponse:
        if self._state == "close":
            return self._finish()
        if self._state == "status" and not self._buffer and not self._head:
            raise _refuse("protocol", "the connection closed without a response")
        if self._state == "length":
            got = self._length - self._left
            raise _refuse(
                "protocol", f"the connection closed after {got} of {self._length} body bytes"
            )
        where = "headers" if self._state in ("status", "fields") else "chunked body"
        raise _refuse("protocol", f"the connection closed inside the response {where}")

    def _finish(self) -> PolicyResponse:
        try:
            text = bytes(self._body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refuse(
                "encoding", f"the policy is not UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        return PolicyResponse(text, None)


# --- one fetch: its checks, addresses, deadline and outcome, no I/O -------------------------


def tls_failure(host: str, address: IPAddress, why: str) -> PolicyResponse:
    """The response for a TLS failure at ``address``: ``why`` the handshake failed."""
    return PolicyResponse.failure("tls", f"{address}: TLS with {host} failed: {why}")


_PHASES = {
    "connect": "no connection",
    "tls": "no TLS handshake",
    "http": "no complete response",
}
_RETRIED = ("connect", "tls", "timeout")


class PolicyFetch:
    """One policy fetch, as both drivers and the fake run it: everything but the I/O.

    It checks the arguments (a bad one raises :class:`~mxroute.InvalidInput`:
    that is a caller's mistake, not a failed fetch), keeps the addresses the
    scope allows, builds the request, holds the deadline and turns each
    attempt's failure into a :class:`PolicyResponse`.

    Args:
        domain: The recipient domain.
        addresses: The policy host's addresses, in the order to try them.
        timeout: Seconds for the whole fetch.
        scope: The addresses that may be contacted.
        max_size: The largest body accepted.
        port: The TCP port (443; another one only in tests).
        clock: A monotonic clock.
    """

    def __init__(
        self,
        domain: str,
        addresses: Sequence[IPAddress],
        timeout: float,
        *,
        scope: AddressScope,
        max_size: int,
        port: int = 443,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.domain = to_a_label(domain)
        self.host = to_a_label("mta-sts." + self.domain)
        self.timeout = seconds(timeout, "timeout")
        given: object = addresses
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise InvalidInput(
                "invalid-addresses", "addresses must be a sequence of IP addresses", repr(addresses)
            )
        for address in addresses:
            if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                raise InvalidInput(
                    "invalid-addresses",
                    f"addresses must be ipaddress objects, not {address!r}",
                    repr(address),
                )
        self.addresses = tuple(addresses)
        self.scope = scope
        self.candidates = tuple(a for a in self.addresses if scope.allows(a))
        self.max_size = max_size
        self.port = port
        self.clock = clock
        self.deadline = clock() + self.timeout
        authority = self.host if port == 443 else f"{self.host}:{port}"
        self.request = (
            f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: mxroute\r\n"
            "Accept: text/plain\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
        ).encode("ascii")
        self._failures: list[tuple[str, str]] = []
        self._final: PolicyResponse | None = None

    def reader(self) -> ResponseReader:
        """A new reader for one response to :attr:`request`."""
        return ResponseReader(self.max_size)

    def remaining(self) -> float:
        """Seconds left before the deadline (0 once it passed)."""
        return max(0.0, self.deadline - self.clock())

    def left(self, until: float | None = None) -> float:
        """Seconds left for the next wait; raises :class:`TimeoutError` once none is.

        Args:
            until: An earlier time to stop at (see :meth:`setup_deadline`).
        """
        end = self.deadline if until is None else min(until, self.deadline)
        remaining = end - self.clock()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    def setup_deadline(self, index: int) -> float:
        """When connecting and the TLS handshake with candidate ``index`` must be done.

        The time left is split fairly between the candidates not tried yet,
        so an address that never answers, or accepts and then stays silent,
        leaves time for the next ones. Once the handshake is done, the
        response may use all the time left.
        """
        now = self.clock()
        share = (self.deadline - now) / (len(self.candidates) - index)
        if share <= 0:
            raise TimeoutError
        return now + share

    def sockaddr(self, address: IPAddress) -> tuple[int, tuple[str, int]]:
        """The socket family and address to connect to (numeric: nothing is resolved)."""
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return family, (str(address), self.port)

    def failure(self, address: IPAddress, exc: BaseException, phase: str) -> PolicyResponse:
        """The response for ``exc``, raised at ``address`` while in ``phase``."""
        if isinstance(exc, TimeoutError) or self.remaining() <= 0:
            return PolicyResponse.failure(
                "timeout",
                f"{address}: {_PHASES[phase]} within the {self.timeout:g} s deadline",
            )
        if isinstance(exc, ssl.SSLError):  # the verification message, else OpenSSL's reason
            why = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
            return tls_failure(self.host, address, str(why))
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if phase == "connect":
            return PolicyResponse.failure("connect", f"{address}: {why}")
        if phase == "tls":
            return tls_failure(self.host, address, why)
        return PolicyResponse.failure("protocol", f"{address}: connection lost: {why}")

    def record(self, response: PolicyResponse) -> bool:
        """Take one address's outcome; True when the fetch is decided (stop trying).

        A policy, or an answer from the server (a status, a type, a size), is
        the outcome; a failure to connect, a TLS failure or a timeout moves
        on to the next address while time is left.
        """
        if response.ok or response.error not in _RETRIED:
            self._final = response
            return True
        assert response.error is not None
        self._failures.append((response.error, response.detail))
        return self.remaining() <= 0

    def result(self) -> PolicyResponse:
        """The outcome: the deciding response, or every attempt's failure together."""
        if self._final is not None:
            return self._final
        if not self._failures:
            shown = ", ".join(str(a) for a in self.addresses)
            skipped = f" ({shown}: outside the scope {self.scope.value!r})" if shown else ""
            return PolicyResponse.failure(
                "no-address", f"no address of {self.host} to connect to{skipped}"
            )
        error = "timeout" if self.remaining() <= 0 else self._failures[-1][0]
        return PolicyResponse.failure(error, "; ".join(detail for _, detail in self._failures))


# --- the fetcher: the same fetch over blocking sockets or asyncio streams --------------------


def _context(context: ssl.SSLContext | None) -> ssl.SSLContext | None:
    if context is None:
        return None
    if not isinstance(context, ssl.SSLContext):
        raise InvalidInput(
            "invalid-ssl-context", f"ssl_context must be an ssl.SSLContext, not {context!r}"
        )
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise InvalidInput(
            "invalid-ssl-context",
            "ssl_context must verify certificates and host names (RFC 8461 §3.3): "
            "verify_mode CERT_REQUIRED and check_hostname True",
        )
    if context.minimum_version < ssl.TLSVersion.TLSv1_2:
        raise InvalidInput(
            "invalid-ssl-context", "ssl_context must require TLS 1.2 or later (minimum_version)"
        )
    return context


class HTTPSPolicyFetcher:
    """Fetches MTA-STS policies over HTTPS with the standard library, sync and async.

    It implements :class:`~mxroute.PolicyFetcher` and
    :class:`~mxroute.AsyncPolicyFetcher`. Per RFC 8461 §3.3 it connects only
    to the addresses it is given (never resolving a name), checks the
    certificate against ``mta-sts.<domain>`` (system trust store, TLS 1.2 or
    later), asks ``GET /.well-known/mta-sts.txt`` over HTTP/1.1, follows no
    redirect, accepts status 200 with ``text/plain`` only, and reads at most
    ``max_size`` bytes of body, all within the ``timeout`` of the call.

    Args:
        ssl_context: The TLS settings; default: the system trust store
            (:func:`ssl.create_default_context`). A context you give must
            verify certificates and host names and require TLS 1.2 or later.
        port: The HTTPS port; 443 except in tests.
        max_size: The largest policy body accepted, in bytes (64 KiB).
        address_scope: The addresses that may be contacted (``"routable"``
            by default, as :class:`~mxroute.RoutingPolicy`'s): a policy host
            that resolves to loopback or link-local is not contacted, so a
            domain cannot aim the fetch at your own services.

    Raises:
        InvalidInput: A setting is wrong (``reason`` ``"invalid-ssl-context"``,
            ``"invalid-port"``, ``"invalid-max-size"``,
            ``"invalid-address-scope"``).
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 443,
        max_size: int = MAX_POLICY_SIZE,
        address_scope: AddressScope | str = AddressScope.ROUTABLE,
    ) -> None:
        self._ssl_context = _context(ssl_context)
        self.port = port_check(port)
        self.max_size = integer(max_size, "max_size", low=1)
        self.address_scope = _scope(address_scope)

    def __repr__(self) -> str:
        return (
            f"HTTPSPolicyFetcher(port={self.port}, max_size={self.max_size}, "
            f"address_scope={self.address_scope.value!r})"
        )

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS settings in use (the system default is made on first use)."""
        if self._ssl_context is None:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._ssl_context = context
        return self._ssl_context

    def _fetch(self, domain: str, addresses: Sequence[IPAddress], timeout: float) -> PolicyFetch:
        return PolicyFetch(
            domain,
            addresses,
            timeout,
            scope=self.address_scope,
            max_size=self.max_size,
            port=self.port,
        )

    def fetch_policy(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Fetch the policy of ``domain`` from ``addresses`` (see :class:`~mxroute.PolicyFetcher`).

        Raises:
            InvalidInput: An argument is wrong (a failed fetch never raises).
        """
        fetch = self._fetch(domain, addresses, timeout)
        for index, address in enumerate(fetch.candidates):
            if fetch.record(self._attempt(fetch, index, address)):
                break
        return fetch.result()

    def _attempt(self, fetch: PolicyFetch, index: int, address: IPAddress) -> PolicyResponse:
        phase = "connect"
        try:
            family, where = fetch.sockaddr(address)
            with socket.socket(family, socket.SOCK_STREAM) as raw:
                until = fetch.setup_deadline(index)
                raw.settimeout(fetch.left(until))
                raw.connect(where)
                phase = "tls"
                raw.settimeout(fetch.left(until))  # CPython bounds the whole handshake by it
                with self.ssl_context.wrap_socket(raw, server_hostname=fetch.host) as tls:
                    phase = "http"
                    tls.settimeout(fetch.left())
                    tls.sendall(fetch.request)
                    reader = fetch.reader()
                    while True:
                        tls.settimeout(fetch.left())  # one deadline for every read
                        response = reader.feed(tls.recv(READ_SIZE))
                        if response is not None:
                            return response
        except OSError as exc:  # ssl.SSLError and TimeoutError are OSErrors
            return fetch.failure(address, exc, phase)

    async def fetch_policy_async(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Fetch the policy as :meth:`fetch_policy` does, in asyncio.

        Raises:
            InvalidInput: An argument is wrong (a failed fetch never raises).
            UnsupportedEventLoop: No asyncio event loop runs the call.
        """
        from mxroute._router import require_asyncio

        require_asyncio("fetch_policy_async()")
        fetch = self._fetch(domain, addresses, timeout)
        for index, address in enumerate(fetch.candidates):
            if fetch.record(await self._attempt_async(fetch, index, address)):
                break
        return fetch.result()

    async def _attempt_async(
        self, fetch: PolicyFetch, index: int, address: IPAddress
    ) -> PolicyResponse:
        import asyncio

        loop = asyncio.get_running_loop()
        phase = "connect"
        raw: socket.socket | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            family, where = fetch.sockaddr(address)
            raw = socket.socket(family, socket.SOCK_STREAM)
            raw.setblocking(False)
            until = fetch.setup_deadline(index)
            await asyncio.wait_for(loop.sock_connect(raw, where), fetch.left(until))
            phase = "tls"
            left = fetch.left(until)
            stream, opened = await asyncio.wait_for(
                asyncio.open_connection(
                    sock=raw,
                    ssl=self.ssl_context,
                    server_hostname=fetch.host,
                    ssl_handshake_timeout=left,
                ),
                left,
            )
            writer = opened
            phase = "http"
            opened.write(fetch.request)
            await asyncio.wait_for(opened.drain(), fetch.left())
            reader = fetch.reader()
            while True:
                data = await asyncio.wait_for(stream.read(READ_SIZE), fetch.left())
                response = reader.feed(data)
                if response is not None:
                    return response
        except asyncio.TimeoutError:  # not the builtin TimeoutError on Python 3.10
            return fetch.failure(address, TimeoutError(), phase)
        except OSError as exc:
            return fetch.failure(address, exc, phase)
        finally:
            if writer is not None:
                writer.transport.abort()
            if raw is not None:
                raw.close()


publish(globals())
