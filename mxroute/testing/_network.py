"""A fake mail network: connections to addresses that behave as a test says.

:class:`FakeNetwork` implements both connector protocols of mxroute
(``open_connection`` and ``open_connection_async``), so :func:`~mxroute.connect`
and :func:`~mxroute.connect_async` use it through their ``connector=``
argument: nothing is patched. Each connection it hands out is a real socket, one end of a
:func:`socket.socketpair`; a thread serves the other end as the address's
behaviour says (an SMTP sink, a 421 greeting, silence, ...). Refused,
unreachable and timed-out addresses raise the :class:`OSError` a real
connect would.

The network records every connection tried (:attr:`FakeNetwork.tried`) and
every message its sinks accepted (:attr:`FakeNetwork.delivered`).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import re
import socket
import threading
from typing import TYPE_CHECKING, BinaryIO

import attrs

from mxroute import _checks
from mxroute._errors import InvalidInput
from mxroute._model import _addresses
from mxroute._names import IPAddress, format_address

if TYPE_CHECKING:
    import asyncio
    from types import TracebackType

__all__ = ["Delivery", "FakeNetwork"]

_MAX_LINE = 65536
_PATH = re.compile(r"^(?:FROM|TO):\s*<([^>]*)>", re.IGNORECASE)
_REPLY = re.compile(r"^[45][0-9][0-9](?: .*)?$")
_EXTENSIONS = ("8BITMIME", "SMTPUTF8")


class _Kind(enum.Enum):
    ACCEPT = "accept"
    REFUSE = "refuse"
    TIME_OUT = "time_out"
    UNREACHABLE = "unreachable"
    DROP = "drop_after_greeting"
    GREET = "greet"


@attrs.frozen
class _Behaviour:
    kind: _Kind
    name: str = ""
    delay: float = 0.0
    greeting: str = ""


_DEFAULTS = {"unreachable": _Kind.UNREACHABLE, "refuse": _Kind.REFUSE, "time_out": _Kind.TIME_OUT}


@attrs.frozen
class Delivery:
    """One message that a sink of a :class:`FakeNetwork` accepted.

    Attributes:
        address: The address the message was delivered to.
        port: The port it was delivered to.
        name: The host name the sink announced (its greeting and EHLO reply).
        helo: The name the client gave in EHLO or HELO.
        mail_from: The reverse path of ``MAIL FROM:<...>`` (``""`` for a bounce).
        rcpt_tos: The forward paths of the ``RCPT TO:<...>`` commands, in order.
        data: The message as the client sent it after ``DATA``, dot-unstuffed,
            line endings as sent, without the terminating ``.`` line.
    """

    address: IPAddress
    port: int
    name: str
    helo: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


def _address(value: IPAddress | str) -> IPAddress:
    return _addresses((value,))[0]  # InvalidInput "invalid-ip-address" if it is none


class FakeNetwork:
    r"""A network of fake mail hosts, for tests: addresses behave as you map them.

    Map addresses (optionally one port of an address) to behaviours with
    :meth:`accept`, :meth:`refuse`, :meth:`time_out`, :meth:`unreachable`,
    :meth:`drop_after_greeting` and :meth:`greet`; the latest mapping of an
    address wins, so a test can bring a host back. Hand the network to
    :func:`~mxroute.connect` or :func:`~mxroute.connect_async` as
    ``connector=``: it is a :class:`~mxroute.Connector` and an
    :class:`~mxroute.AsyncConnector`. Afterwards read :attr:`tried` and
    :attr:`delivered`.
    Close it (or use it as a context manager) to stop its threads; the
    ``fake_network`` pytest fixture does that after each test.

    >>> from mxroute.testing import FakeNetwork
    >>> with FakeNetwork() as network:
    ...     network.accept("192.0.2.20", name="mx2.example.com")
    ...     network.refuse("192.0.2.10")
    ...     sock = network.open_connection("192.0.2.20", 25, timeout=5.0)
    ...     sock.recv(100)
    ...     sock.close()
    b'220 mx2.example.com ESMTP mxroute fake network\r\n'

    Args:
        default: What an address that is not mapped does: ``"unreachable"``
            (the default: :class:`OSError` ``EHOSTUNREACH`` at once, as a
            network without a route there), ``"refuse"`` or ``"time_out"``.

    Raises:
        InvalidInput: ``default`` is none of these.
    """

    def __init__(self, *, default: str = "unreachable") -> None:
        if default not in _DEFAULTS:
            raise InvalidInput(
                "invalid-default-behaviour",
                f"default must be 'unreachable', 'refuse' or 'time_out', not {default!r}",
                repr(default),
            )
        self._default = _Behaviour(_DEFAULTS[default])
        self._map: dict[tuple[IPAddress, int | None], _Behaviour] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._tried: list[tuple[IPAddress, int]] = []
        self._delivered: list[Delivery] = []
        self._servers: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    # -- mapping --------------------------------------------------------------

    def _set(
        self, addresses: tuple[IPAddress | str, ...], port: int | None, behaviour: _Behaviour
    ) -> None:
        if not addresses:
            raise InvalidInput(
                "no-addresses", f"{behaviour.kind.value}() needs at least one address", ""
            )
        where = None if port is None else _checks.port(port)
        keys = [(address, where) for address in _addresses(addresses)]
        with self._lock:
            for key in keys:
                self._map[key] = behaviour

    def accept(
        self,
        *addresses: IPAddress | str,
        port: int | None = None,
        name: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Serve an SMTP sink at these addresses: it greets 220 and accepts every message.

        The sink speaks EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed), RSET,
        NOOP and QUIT; STARTTLS is answered 454 (no TLS here) and not
        advertised. Each accepted message is a :class:`Delivery` in
        :attr:`delivered`.

        Args:
            addresses: IP addresses, as text or ``ipaddress`` objects.
            port: Only this port of the addresses; every port when None.
            name: The host name the sink announces; the address when None.
            delay: Seconds to wait before the greeting: a slow host.
        """
        wait = _checks.seconds(delay, "delay", allow_zero=True)
        self._set(addresses, port, _Behaviour(_Kind.ACCEPT, name or "", wait))

    def refuse(self, *addresses: IPAddress | str, port: int | None = None) -> None:
        """Refuse connections: :class:`ConnectionRefusedError` at once (no listener there)."""
        self._set(addresses, port, _Behaviour(_Kind.REFUSE))

    def time_out(self, *addresses: IPAddress | str, port: int | None = None) -> None:
        """Never answer a connection attempt, as a host behind a firewall that drops packets.

        ``open_connection`` blocks for its ``timeout`` and raises
        :class:`TimeoutError`; ``open_connection_async`` never completes
        (the caller cancels it at its deadline).
        """
        self._set(addresses, port, _Behaviour(_Kind.TIME_OUT))

    def unreachable(self, *addresses: IPAddress | str, port: int | None = None) -> None:
        """Fail at once with :class:`OSError` ``EHOSTUNREACH``, as a network with no route there.

        It is what an address that is not mapped does, unless ``default``
        says otherwise: map it explicitly to bring back a host mapped before.
        """
        self._set(addresses, port, _Behaviour(_Kind.UNREACHABLE))

    def drop_after_greeting(
        self, *addresses: IPAddress | str, port: int | None = None, name: str | None = None
    ) -> None:
        """Connect, greet 220, then close the connection before any command."""
        self._set(addresses, port, _Behaviour(_Kind.DROP, name or ""))

    def greet(
        self,
        *addresses: IPAddress | str,
        reply: str,
        port: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Connect and greet with a 4xx or 5xx reply instead of 220.

        A 4xx greeting (``"421 4.3.2 Too busy"``) is followed by closing the
        connection, as RFC 5321 §3.8 has a server that must shut down do. A
        5xx greeting (``"554 5.7.1 No service"``) keeps the connection open
        and answers every command but QUIT with 503, as §3.1 says.

        Args:
            addresses: IP addresses, as text or ``ipaddress`` objects.
            reply: The greeting line: a 4xx or 5xx code, then a space and text.
            port: Only this port of the addresses; every port when None.
            delay: Seconds to wait before the greeting.

        Raises:
            InvalidInput: ``reply`` is not such a line (``"invalid-greeting"``).
        """
        if not isinstance(reply, str) or not _REPLY.match(reply) or "\n" in reply:
            raise InvalidInput(
                "invalid-greeting",
                f"reply must be a 4xx or 5xx reply line such as '421 4.3.2 Busy', not {reply!r}",
                repr(reply),
            )
        wait = _checks.seconds(delay, "delay", allow_zero=True)
        self._set(addresses, port, _Behaviour(_Kind.GREET, "", wait, reply))

    # -- records --------------------------------------------------------------

    @property
    def tried(self) -> list[tuple[IPAddress, int]]:
        """Every connection attempt as ``(address, port)``, in the order they were made."""
        with self._lock:
            return list(self._tried)

    @property
    def tried_addresses(self) -> list[str]:
        """The addresses of :attr:`tried` as text (``"2001:db8::1"``), for short assertions."""
        return [format_address(address) for address, _ in self.tried]

    @property
    def delivered(self) -> list[Delivery]:
        """Every message the sinks accepted, in the order they were accepted."""
        with self._lock:
            return list(self._delivered)

    def delivered_to(self, address: IPAddress | str, port: int | None = None) -> list[Delivery]:
        """The messages accepted at ``address`` (and ``port``, when given)."""
        where = _address(address)
        return [d for d in self.delivered if d.address == where and port in (None, d.port)]

    # -- the connector protocols ---------------------------------------------

    def _attempt(self, address: IPAddress | str, port: int) -> tuple[IPAddress, int, _Behaviour]:
        where, number = _address(address), _checks.port(port)
        with self._lock:
            if self._stopped.is_set():
                raise OSError(errno.ENETDOWN, "the fake network is closed")
            self._tried.append((where, number))
            behaviour = self._map.get((where, number)) or self._map.get((where, None))
        return where, number, behaviour or self._default

    def _connected(self, address: IPAddress, port: int, behaviour: _Behaviour) -> socket.socket:
        text = f"{format_address(address)} port {port}"
        if behaviour.kind is _Kind.REFUSE:
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"connection refused by {text}")
        if behaviour.kind is _Kind.UNREACHABLE:
            raise OSError(errno.EHOSTUNREACH, f"no route to {text}")
        client, server = socket.socketpair()
        greeted = not behaviour.delay
        if greeted:
            # Into the socket's buffer before the client has it: the greeting,
            # and the end of the stream for a host that closes after it, are
            # there together, whenever the client reads.
            server.sendall(_greeting(address, behaviour))
            if _session(behaviour) is None:
                server.close()
                return client
        thread = threading.Thread(
            target=self._serve,
            args=(server, address, port, behaviour, greeted),
            name=f"FakeNetwork {text}",
            daemon=True,
        )
        with self._lock:
            self._servers.add(server)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return client

    def open_connection(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        """Connect to ``address`` and ``port`` as their behaviour says (the ``Connector`` protocol).

        Returns:
            A connected blocking socket.

        Raises:
            ConnectionRefusedError: The address refuses connections.
            TimeoutError: The address times out: raised after ``timeout`` seconds.
            OSError: The address is unreachable, or the network is closed.
        """
        wait = _checks.seconds(timeout, "timeout")
        where, number, behaviour = self._attempt(address, port)
        if behaviour.kind is _Kind.TIME_OUT:
            self._stopped.wait(wait)
            raise TimeoutError(errno.ETIMEDOUT, f"{format_address(where)} port {number} timed out")
        return self._connected(where, number, behaviour)

    async def open_connection_async(
        self, address: IPAddress, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to ``address`` and ``port`` as their behaviour says (``AsyncConnector``).

        An address that times out never completes: cancel the call at your
        deadline (``connect_async`` does).

        Raises:
            ConnectionRefusedError: The address refuses connections.
            OSError: The address is unreachable, or the network is closed.
        """
        import asyncio

        where, number, behaviour = self._attempt(address, port)
        await asyncio.sleep(0)  # a real connect is never done before the caller runs again
        if behaviour.kind is _Kind.TIME_OUT:
            await asyncio.get_running_loop().create_future()  # until cancelled
        return await asyncio.open_connection(sock=self._connected(where, number, behaviour))

    # -- the hosts ------------------------------------------------------------

    def _serve(
        self,
        conn: socket.socket,
        address: IPAddress,
        port: int,
        behaviour: _Behaviour,
        greeted: bool,
    ) -> None:
        try:
            if not greeted:
                if self._stopped.wait(behaviour.delay):
                    return
                conn.sendall(_greeting(address, behaviour))
            refusing = _session(behaviour)
            if refusing is not None:
                name = behaviour.name or format_address(address)
                _Session(self, conn, address, port, name, refusing=refusing).run()
        except OSError:
            pass  # the client went away, or the network was closed
        finally:
            with self._lock:
                self._servers.discard(conn)
                conn.close()

    def _deliver(self, delivery: Delivery) -> None:
        with self._lock:
            self._delivered.append(delivery)

    def close(self) -> None:
        """Stop every host: close their ends of the connections and wait for their threads.

        Connections tried afterwards fail with :class:`OSError`; the records
        stay readable.
        """
        with self._lock:
            self._stopped.set()
            for conn in self._servers:
                with contextlib.suppress(OSError):  # its thread may be closing it
                    conn.shutdown(socket.SHUT_RDWR)
            threads = list(self._threads)
        for thread in threads:
            thread.join()

    def __enter__(self) -> FakeNetwork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        with self._lock:
            mapped, tried, delivered = len(self._map), len(self._tried), len(self._delivered)
        return (
            f"<FakeNetwork: {mapped} mapped, {tried} tried, {delivered} delivered"
            f"{', closed' if self._stopped.is_set() else ''}>"
        )


def _greeting(address: IPAddress, behaviour: _Behaviour) -> bytes:
    """The greeting line a host with this behaviour sends."""
    if behaviour.kind is _Kind.GREET:
        return behaviour.greeting.encode() + b"\r\n"
    return (
        f"220 {behaviour.name or format_address(address)} ESMTP mxroute fake network\r\n".encode()
    )


def _session(behaviour: _Behaviour) -> bool | None:
    """What follows the greeting: None (the host closes), a session, or a refusing one (True)."""
    if behaviour.kind is _Kind.ACCEPT:
        return False
    if behaviour.kind is _Kind.GREET and behaviour.greeting.startswith("5"):
        return True  # RFC 5321 §3.1: 503 to every command but QUIT
    return None


@attrs.define
class _Session:
    """The SMTP server side of one connection to a sink (after its greeting)."""

    network: FakeNetwork
    conn: socket.socket
    address: IPAddress
    port: int
    name: str
    refusing: bool = attrs.field(default=False, kw_only=True)
    helo: str = ""
    mail_from: str | None = None
    rcpt_tos: list[str] = attrs.Factory(list)
    reader: BinaryIO = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.reader = self.conn.makefile("rb")

    def reply(self, *lines: str) -> None:
        text = "".join(
            f"{line[:3]}{'-' if i < len(lines) - 1 else ' '}{line[4:]}\r\n"
            for i, line in enumerate(lines)
        )
        self.conn.sendall(text.encode())

    def run(self) -> None:
        with self.reader:
            while line := self.reader.readline(_MAX_LINE):
                verb, _, argument = line.rstrip(b"\r\n").decode("utf-8", "replace").partition(" ")
                verb = verb.upper()
                if verb == "QUIT":
                    self.reply("221 2.0.0 Bye")
                    return
                if self.refusing:
                    self.reply("503 5.5.1 No SMTP service here")
                elif not self.command(verb, argument.strip()):
                    return

    def command(self, verb: str, argument: str) -> bool:
        """Answer one command; False when the connection ended (inside DATA)."""
        if verb in ("EHLO", "HELO"):
            if not argument:
                self.reply(f"501 5.5.4 {verb} needs a host name")
                return True
            self.helo, self.mail_from, self.rcpt_tos = argument, None, []
            extensions = _EXTENSIONS if verb == "EHLO" else ()
            self.reply(f"250 {self.name}", *(f"250 {e}" for e in extensions))
        elif verb in ("MAIL", "RCPT"):
            self.envelope(verb, argument)
        elif verb == "DATA":
            if not self.rcpt_tos:
                self.reply("503 5.5.1 No valid recipients")
                return True
            self.reply("354 End data with <CR><LF>.<CR><LF>")
            return self.data()
        elif verb == "RSET":
            self.mail_from, self.rcpt_tos = None, []
            self.reply("250 2.0.0 OK")
        elif verb == "NOOP":
            self.reply("250 2.0.0 OK")
        elif verb == "STARTTLS":
            self.reply("454 4.7.0 TLS not available on the fake network")
        else:
            self.reply("500 5.5.2 Command unrecognized")
        return True

    def envelope(self, verb: str, argument: str) -> None:
        path = _PATH.match(argument)
        keyword = "FROM" if verb == "MAIL" else "TO"
        if not self.helo:
            self.reply("503 5.5.1 Say EHLO first")
        elif verb == "MAIL" and self.mail_from is not None:
            self.reply("503 5.5.1 Nested MAIL command")
        elif verb == "RCPT" and self.mail_from is None:
            self.reply("503 5.5.1 Need MAIL before RCPT")
        elif path is None or not argument.upper().startswith(keyword):
            self.reply(f"501 5.5.4 Syntax: {verb} {keyword}:<address>")
        elif verb == "MAIL":
            self.mail_from = path[1]
            self.reply("250 2.1.0 OK")
        else:
            self.rcpt_tos.append(path[1])
            self.reply("250 2.1.5 OK")

    def data(self) -> bool:
        lines: list[bytes] = []
        while line := self.reader.readline(_MAX_LINE):
            if line in (b".\r\n", b".\n"):
                self.network._deliver(
                    Delivery(
                        self.address,
                        self.port,
                        self.name,
                        self.helo,
                        self.mail_from or "",
                        tuple(self.rcpt_tos),
                        b"".join(lines),
                    )
                )
                self.mail_from, self.rcpt_tos = None, []
                self.reply("250 2.0.0 Queued on the fake network")
                return True
            lines.append(line[1:] if line.startswith(b".") else line)
        return False
