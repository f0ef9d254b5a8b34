"""A DNS proxy on 127.0.0.1 that delays every query by a fixed time: injected latency.

It listens on one port for UDP and TCP and forwards to a server on another
port of 127.0.0.1 (the benchmark's BIND), holding each UDP query, and each
chunk of TCP data sent by a client, for ``delay`` seconds first. Responses go
back at once. So every query any client sends through it pays ``delay`` once,
as a round trip to a distant resolver would, and concurrent queries are
delayed concurrently.

It runs in a child process of its own (so its work does not compete with the
measured code for the interpreter lock). It is bounded and stops by itself:
it forwards at most ``max_queries`` UDP queries and TCP connections, holds
at most ``max_in_flight`` UDP queries at once (more are dropped, as a loaded
server would), shuts down after ``max_seconds`` even if nobody stops it, and
gives up on an upstream answer after ``upstream_timeout``. It never talks to anything but 127.0.0.1.

With ``log``, it appends a line ``<arrival> <release>`` to that file for
every UDP query it answers: the :func:`time.monotonic` times (the clock is
the same in every process of the machine) at which the query came in and
at which its response went back to the client. :func:`sequential_round_trips`
reads the chain of round trips off such lines.

Usage::

    with LatencyProxy(upstream_port=bind.port, delay=0.02) as proxy:
        resolver = DNSResolver(["127.0.0.1"], port=proxy.port)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import TextIO, cast

ADDRESS = "127.0.0.1"


class _UpstreamUDP:
    """One query's own socket to the upstream server: send, relay the response, close.

    A plain non-blocking socket watched with ``add_reader``: far cheaper than
    a datagram transport per query, so that the proxy's own work, done on the
    other core, adds as little as possible to a batch of many queries.
    """

    def __init__(
        self, proxy: _Proxy, query: bytes, client: tuple[str, int], arrival: float
    ) -> None:
        self.proxy = proxy
        self.client = client
        self.arrival = arrival
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.fd = self.sock.fileno()
        loop = proxy._loop
        loop.add_reader(self.fd, self.readable)
        self.timer = loop.call_later(proxy.upstream_timeout, self.close)
        try:
            self.sock.sendto(query, (ADDRESS, proxy.upstream_port))
        except OSError:
            self.close()

    def readable(self) -> None:
        try:
            data, addr = self.sock.recvfrom(65535)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        if addr[1] != self.proxy.upstream_port:
            return
        front = self.proxy._udp_front
        if front is not None:
            log = self.proxy.log
            if log is not None:
                log.write(f"{self.arrival} {time.monotonic()}\n")
                log.flush()
            front.sendto(data, self.client)
        self.close()

    def close(self) -> None:
        if self.sock.fileno() < 0:
            return
        self.timer.cancel()
        self.proxy._loop.remove_reader(self.fd)
        self.sock.close()
        self.proxy._in_flight -= 1


class _FrontUDP(asyncio.DatagramProtocol):
    """The UDP port clients send to."""

    def __init__(self, proxy: _Proxy) -> None:
        self.proxy = proxy

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        proxy = self.proxy
        if proxy.forwarded >= proxy.max_queries or proxy._in_flight >= proxy.max_in_flight:
            proxy.dropped += 1
            return
        proxy.forwarded += 1
        proxy._in_flight += 1
        proxy._loop_call_later(proxy.delay, proxy._forward_udp, data, addr, time.monotonic())


class _UpstreamTCP(asyncio.Protocol):
    def __init__(self, front: _FrontTCP) -> None:
        self.front = front

    def data_received(self, data: bytes) -> None:
        if self.front.transport is not None:
            self.front.transport.write(data)

    # asyncio.Protocol's signature; the reason the connection ended does not matter here.
    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        if self.front.transport is not None:
            self.front.transport.close()


class _FrontTCP(asyncio.Protocol):
    """One client's TCP connection: each chunk it sends is delayed, then forwarded."""

    def __init__(self, proxy: _Proxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        proxy = self.proxy
        if proxy.forwarded >= proxy.max_queries:
            proxy.dropped += 1
            self.transport.close()
            return
        proxy.forwarded += 1
        proxy._spawn(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            upstream, _ = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _UpstreamTCP(self), ADDRESS, self.proxy.upstream_port
                ),
                self.proxy.upstream_timeout,
            )
        except (OSError, asyncio.TimeoutError):
            if self.transport is not None:
                self.transport.close()
            return
        self.upstream = upstream
        for chunk in self.pending:
            upstream.write(chunk)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        self.proxy._loop_call_later(self.proxy.delay, self._send, data)

    def _send(self, data: bytes) -> None:
        if self.upstream is None:
            self.pending.append(data)
        elif not self.upstream.is_closing():
            self.upstream.write(data)

    # asyncio.Protocol's signature; the reason the connection ended does not matter here.
    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        if self.upstream is not None:
            self.upstream.close()


class _Proxy:
    """The proxy's state, in its own process and event loop."""

    def __init__(
        self,
        upstream_port: int,
        delay: float,
        *,
        max_queries: int,
        max_in_flight: int,
        upstream_timeout: float,
        log: TextIO | None = None,
    ) -> None:
        self.upstream_port = upstream_port
        self.log = log
        self.delay = delay
        self.max_queries = max_queries
        self.max_in_flight = max_in_flight
        self.upstream_timeout = upstream_timeout
        self.forwarded = 0
        self.dropped = 0
        self._in_flight = 0
        self._loop = asyncio.get_running_loop()
        self._udp_front: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _loop_call_later(
        self, delay: float, callback: Callable[..., object], *args: object
    ) -> None:
        self._loop.call_later(delay, callback, *args)

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forward_udp(self, data: bytes, client: tuple[str, int], arrival: float) -> None:
        try:
            _UpstreamUDP(self, data, client, arrival)
        except OSError:
            self._in_flight -= 1

    async def serve(self, max_seconds: float) -> None:
        """Listen on a free port (UDP and TCP), print it, serve until ``max_seconds`` pass."""
        loop = self._loop
        for _ in range(50):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _FrontUDP(self), local_addr=(ADDRESS, 0)
            )
            port = udp.get_extra_info("sockname")[1]
            try:
                server = await loop.create_server(
                    lambda: _FrontTCP(self), ADDRESS, port, family=socket.AF_INET
                )
            except OSError:
                udp.close()
                continue
            break
        else:
            raise OSError("no free port for the latency proxy")
        self._udp_front = cast(asyncio.DatagramTransport, udp)
        print(port, flush=True)
        try:
            await asyncio.sleep(max_seconds)
        finally:
            udp.close()
            server.close()
            for task in list(self._tasks):
                task.cancel()


class LatencyProxy:
    """Delay every DNS query to ``127.0.0.1:upstream_port`` by ``delay`` seconds.

    The proxy runs in a child process (so that its work does not compete with
    the measured code for the interpreter lock); use it as a context manager,
    which stops the child on exit. ``port`` is where it listens.

    Args:
        upstream_port: The port of the real server on 127.0.0.1.
        delay: Seconds each query (each TCP chunk from a client) is held.
        max_queries: The most UDP queries and TCP connections forwarded.
        max_in_flight: The most UDP queries held or awaiting an answer at once.
        max_seconds: The proxy stops by itself after this long.
        upstream_timeout: Seconds to wait for the upstream's answer.
        log: A file to append ``<arrival> <release>`` lines to, one per UDP query.
    """

    def __init__(
        self,
        upstream_port: int,
        delay: float,
        *,
        max_queries: int = 200_000,
        max_in_flight: int = 2_000,
        max_seconds: float = 600.0,
        upstream_timeout: float = 5.0,
        log: str | None = None,
    ) -> None:
        self.log = log
        self.args = [
            str(upstream_port),
            str(delay),
            f"--max-queries={max_queries}",
            f"--max-in-flight={max_in_flight}",
            f"--max-seconds={max_seconds}",
            f"--upstream-timeout={upstream_timeout}",
            *([f"--log={log}"] if log is not None else []),
        ]
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> LatencyProxy:
        """Start the child process and wait until it listens."""
        self._process = subprocess.Popen(
            [sys.executable, __file__, *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the latency proxy did not start")
        self.port = int(line)
        return self

    def stop(self) -> None:
        """Stop the child process."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> LatencyProxy:
        """Start the proxy (see :meth:`start`)."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the proxy (see :meth:`stop`)."""
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the proxy in this process; it prints its port, then serves."""
    parser = argparse.ArgumentParser(description="A delaying DNS proxy on 127.0.0.1.")
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("delay", type=float)
    parser.add_argument("--max-queries", type=int, default=200_000)
    parser.add_argument("--max-in-flight", type=int, default=2_000)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--upstream-timeout", type=float, default=5.0)
    parser.add_argument("--log", default=None)
    args = parser.parse_args(argv)

    async def run(log: TextIO | None) -> None:
        proxy = _Proxy(
            args.upstream_port,
            args.delay,
            max_queries=args.max_queries,
            max_in_flight=args.max_in_flight,
            upstream_timeout=args.upstream_timeout,
            log=log,
        )
        await proxy.serve(args.max_seconds)

    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(args.log, "a")) if args.log else None
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(log))
    return 0


def sequential_round_trips(lines: Sequence[str]) -> int:
    """The longest chain of round trips in a proxy log: how many a client waited for.

    A query depends on every query whose response had gone back before it
    came in; its depth is one more than the deepest of those (1 when there
    is none). A route that asks MX, then every address question at once, has
    depth 2; one that asks the address questions one after the other has
    depth 1 + their number. Timing can only merge a query into a later step
    (never an earlier one), so the count never flatters.
    """
    queries = sorted(tuple(map(float, line.split())) for line in lines if line.strip())
    depths: list[tuple[float, int]] = []  # (release, depth) of the queries seen so far
    deepest = 0
    for arrival, release in queries:
        depth = 1 + max((d for r, d in depths if r <= arrival), default=0)
        depths.append((release, depth))
        deepest = max(deepest, depth)
    return deepest


if __name__ == "__main__":
    sys.exit(main())
