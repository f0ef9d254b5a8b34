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
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import cast

ADDRESS = "127.0.0.1"


class _UpstreamUDP(asyncio.DatagramProtocol):
    """One query's own socket to the upstream server: send, relay the response, close."""

    def __init__(self, proxy: _Proxy, query: bytes, client: tuple[str, int]) -> None:
        self.proxy = proxy
        self.query = query
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.transport.sendto(self.query)
        self.proxy._loop_call_later(self.proxy.upstream_timeout, self.close)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        front = self.proxy._udp_front
        if front is not None:
            front.sendto(data, self.client)
        self.close()

    def error_received(self, exc: Exception) -> None:
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
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
        proxy._loop_call_later(proxy.delay, proxy._forward_udp, data, addr)


class _UpstreamTCP(asyncio.Protocol):
    def __init__(self, front: _FrontTCP) -> None:
        self.front = front

    def data_received(self, data: bytes) -> None:
        if self.front.transport is not None:
            self.front.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
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

    def connection_lost(self, exc: Exception | None) -> None:
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
    ) -> None:
        self.upstream_port = upstream_port
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

    def _forward_udp(self, data: bytes, client: tuple[str, int]) -> None:
        async def connect() -> None:
            protocol = _UpstreamUDP(self, data, client)
            try:
                await self._loop.create_datagram_endpoint(
                    lambda: protocol, remote_addr=(ADDRESS, self.upstream_port)
                )
            except OSError:
                self._in_flight -= 1

        self._spawn(connect())

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
    ) -> None:
        self.args = [
            str(upstream_port),
            str(delay),
            f"--max-queries={max_queries}",
            f"--max-in-flight={max_in_flight}",
            f"--max-seconds={max_seconds}",
            f"--upstream-timeout={upstream_timeout}",
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
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
    args = parser.parse_args(argv)

    async def run() -> None:
        proxy = _Proxy(
            args.upstream_port,
            args.delay,
            max_queries=args.max_queries,
            max_in_flight=args.max_in_flight,
            upstream_timeout=args.upstream_timeout,
        )
        await proxy.serve(args.max_seconds)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
