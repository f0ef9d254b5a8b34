"""Run a real BIND 9 ``named`` on 127.0.0.1 for tests and benchmarks.

A plain module (no pytest import) so that ``benchmarks/`` can reuse it::

    from tests.bindserver import BindServer

    with BindServer({"mxtest": ZONES / "mxtest.zone"}) as server:
        resolver = DNSResolver([server.address], port=server.port)

:class:`BindServer` writes a ``named.conf`` into a temporary directory, picks
a free port (UDP and TCP) on 127.0.0.1, starts ``named -g`` as the current
user, waits until it answers, and stops it on exit. :class:`SilentServer`
listens on UDP and TCP and never answers, for timeout tests.
:func:`sign_zone` signs a zone with ``dnssec-signzone`` for DNSSEC tests.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from types import TracebackType

import dns.exception
import dns.message
import dns.query
import dns.rcode

__all__ = ["BindServer", "SilentServer", "find_named", "sign_zone"]

ADDRESS = "127.0.0.1"
"""The loopback address every server here listens on."""


def _find_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
        candidate = pathlib.Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise FileNotFoundError(f"{name} (BIND 9) is not installed; scripts/test installs it")


def find_named() -> str:
    """The path of BIND's ``named``: on PATH, else in the usual sbin folders."""
    return _find_tool("named")


def free_port() -> int:
    """A port that is free on 127.0.0.1 for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((ADDRESS, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((ADDRESS, port))
                except OSError:
                    continue
                return port
    raise OSError("no free port for UDP and TCP on 127.0.0.1")


def bind_udp_tcp(address: str, port: int = 0) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on one port of ``address``: ``port``, or a free one.

    A free UDP port may be taken for TCP (by a connection of another
    process): then another port is tried.
    """
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((address, port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((address, udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            if port:
                raise
            continue
        tcp.listen(16)
        return udp, tcp
    raise OSError(f"no port free for both UDP and TCP on {address}")


class BindServer:
    """A ``named`` on 127.0.0.1 serving the zones given, as a context manager.

    Args:
        zones: Zone name (``"mxtest"``) to zone file text or a path to one.
        recursion: Let the server recurse (off by default: an authoritative
            server, which answers REFUSED for names outside its zones).
        minimal_responses: Set ``minimal-responses yes`` (no additional
            section); off by default, so MX answers carry the addresses of
            in-zone exchanges.
        forward_to: Forward every question (``forward only``) to the
            server on this port of 127.0.0.1; for a recursive server.
        dnssec_validation: Validate with the trust anchors given in
            ``config`` (``dnssec-validation yes``); for a recursive server.
        zone_options: Extra statements per zone name, e.g.
            ``{"refused.mxtest": "allow-query { none; };"}``.
        options: Extra text inside the ``options { }`` block.
        config: Extra top-level ``named.conf`` text (e.g. ``trust-anchors``,
            forward zones).
        start_timeout: Seconds to wait for the server to answer.

    Attributes:
        address: ``"127.0.0.1"``.
        port: The UDP and TCP port, once started.
        directory: The temporary directory with ``named.conf``, the zone
            files and ``named.log``.
    """

    def __init__(
        self,
        zones: Mapping[str, str | os.PathLike[str]],
        *,
        recursion: bool = False,
        minimal_responses: bool = False,
        dnssec_validation: bool = False,
        forward_to: int | None = None,
        zone_options: Mapping[str, str] | None = None,
        options: str = "",
        config: str = "",
        start_timeout: float = 20.0,
    ) -> None:
        self.zones = dict(zones)
        self.recursion = recursion
        self.minimal_responses = minimal_responses
        self.dnssec_validation = dnssec_validation
        self.forward_to = forward_to
        self.zone_options = dict(zone_options or {})
        self.options = options
        self.config = config
        self.start_timeout = start_timeout
        self.address = ADDRESS
        self.port = 0
        self.directory: pathlib.Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: pathlib.Path | None = None

    # -- configuration -------------------------------------------------------

    def _write(self, directory: pathlib.Path) -> pathlib.Path:
        zone_blocks = []
        for index, (name, source) in enumerate(sorted(self.zones.items())):
            origin = name.rstrip(".") or "."
            text = (
                pathlib.Path(source).read_text(encoding="utf-8")
                if isinstance(source, os.PathLike)
                else source
            )
            file = directory / f"zone{index}.db"
            file.write_text(text, encoding="utf-8")
            extra = self.zone_options.get(name, self.zone_options.get(origin, ""))
            zone_blocks.append(
                f'zone "{origin}" {{\n  type primary;\n  file "{file}";\n  {extra}\n}};\n'
            )
        recursion = "yes" if self.recursion else "no"
        forwarding = ""
        if self.forward_to is not None:
            forwarding = f"forward only; forwarders {{ {ADDRESS} port {self.forward_to}; }};"
        if self.recursion:
            # Root hints on loopback: a recursive test server never leaves 127.0.0.1.
            (directory / "root.hints").write_text(
                f". 3600000 NS ns.root.invalid.\nns.root.invalid. 3600000 A {ADDRESS}\n",
                encoding="utf-8",
            )
            zone_blocks.append(
                f'zone "." {{\n  type hint;\n  file "{directory}/root.hints";\n}};\n'
            )
        minimal = "yes" if self.minimal_responses else "no"
        conf = f"""
options {{
  directory "{directory}";
  pid-file none;
  session-keyfile none;
  managed-keys-directory "{directory}";
  dump-file "{directory}/named_dump.db";
  statistics-file "{directory}/named.stats";
  listen-on port {self.port} {{ {ADDRESS}; }};
  listen-on-v6 {{ none; }};
  recursion {recursion};
  allow-query {{ any; }};
  allow-recursion {{ {"127.0.0.1;" if self.recursion else "none;"} }};
  minimal-responses {minimal};
  dnssec-validation {"yes" if self.dnssec_validation else "no"};
  notify no;
  querylog no;
  {forwarding}
  {self.options}
}};
controls {{ }};
{self.config}
{"".join(zone_blocks)}
"""
        path = directory / "named.conf"
        path.write_text(conf, encoding="utf-8")
        return path

    # -- life cycle ------------------------------------------------------------

    def start(self) -> BindServer:
        """Start ``named`` and wait until it answers; raise with its log if it does not."""
        named = find_named()
        self._tmp = tempfile.TemporaryDirectory(prefix="mxroute-named-")
        self.directory = pathlib.Path(self._tmp.name)
        self._log = self.directory / "named.log"
        last_error = ""
        for _ in range(3):
            self.port = free_port()
            conf = self._write(self.directory)
            with self._log.open("wb") as log:
                self._process = subprocess.Popen(
                    [named, "-g", "-4", "-n", "1", "-c", str(conf), "-p", str(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_ready():
                return self
            last_error = self.log()
            self._terminate()
        self.stop()
        raise RuntimeError(f"named did not start; its log:\n{last_error}")

    def _wait_ready(self) -> bool:
        assert self._process is not None
        probe = dns.message.make_query(".", "SOA")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                dns.query.udp(probe, self.address, timeout=0.2, port=self.port)
            except (dns.exception.Timeout, OSError):
                continue
            except dns.exception.DNSException:
                pass
            # Any response (REFUSED for the root here) means named is serving;
            # the log says when every zone has been loaded.
            if "running" in self.log():
                return True
            time.sleep(0.02)
        return False

    def log(self) -> str:
        """The server's log so far (``named -g`` output)."""
        if self._log is None or not self._log.exists():
            return ""
        return self._log.read_text(encoding="utf-8", errors="replace")

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop ``named`` and remove its directory."""
        self._terminate()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> BindServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SilentServer:
    """UDP and TCP sockets on 127.0.0.1 that accept queries and never answer.

    Args:
        address: Another loopback address (``127.0.0.2``) to sit beside a
            server on 127.0.0.1 with the same port.
        port: A fixed port; a free one when 0.

    The UDP socket is never read; the TCP socket listens (the kernel completes
    the handshake) but never accepts. A client waits until its timeout.
    """

    def __init__(self, address: str = ADDRESS, port: int = 0) -> None:
        self.address = address
        self.port = port
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> SilentServer:
        udp, tcp = bind_udp_tcp(self.address, self.port)
        self.port = udp.getsockname()[1]
        self._sockets = [udp, tcp]
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []


def sign_zone(text: str, origin: str, directory: str | os.PathLike[str]) -> tuple[str, str]:
    """Sign a zone with a fresh ECDSA P-256 key (``dnssec-keygen``, ``dnssec-signzone``).

    Args:
        text: The unsigned zone file text.
        origin: The zone's name, e.g. ``"secure.mxtest"``.
        directory: Where the key and the files go.

    Returns:
        The signed zone's text, and a ``trust-anchors`` clause for
        ``named.conf`` that trusts the key (a ``static-key``).
    """
    folder = pathlib.Path(directory)
    origin = origin.rstrip(".")
    unsigned = folder / f"{origin}.zone"
    unsigned.write_text(text, encoding="utf-8")
    key = subprocess.run(
        [
            _find_tool("dnssec-keygen"),
            "-q",
            "-K",
            str(folder),
            "-a",
            "ECDSAP256SHA256",
            "-f",
            "KSK",
            origin,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    signed = folder / f"{origin}.signed"
    subprocess.run(
        [
            _find_tool("dnssec-signzone"),
            "-q",
            "-S",
            "-z",
            "-d",
            str(folder),
            "-K",
            str(folder),
            "-o",
            origin,
            "-f",
            str(signed),
            str(unsigned),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    record = ""
    for line in (folder / f"{key}.key").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(";"):
            record = line
    fields = record.split()
    index = fields.index("DNSKEY")
    flags, protocol, algorithm = fields[index + 1 : index + 4]
    public_key = "".join(fields[index + 4 :])
    key_text = f'{flags} {protocol} {algorithm} "{public_key}"'
    anchor = f'trust-anchors {{ "{origin}." static-key {key_text}; }};'
    return signed.read_text(encoding="utf-8"), anchor
