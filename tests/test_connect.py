"""connect() and connect_async(): walking the plan, Happy Eyeballs, greetings, deadlines, scope.

Two kinds of peers, never a patched socket:

* real listeners on 127.0.0.1 started by the test (:class:`Listener`), reached
  through the default :class:`~mxroute.SocketConnector`;
* :class:`Scripted`, a connector double: each address has a script
  (``"greet"``, ``"refuse"``, ``"hang"``, ...); a connection is one end of a
  socket pair whose other end a thread plays.

Most behaviours are checked through both drivers (the ``run`` fixture), so
the sync and async walks cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import pickle
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mxroute
from mxroute import (
    Attempt,
    AttemptOutcome,
    DeliveryPlan,
    HostsUnreachable,
    InvalidInput,
    MailHost,
    MailRoute,
    RouteKind,
    RoutingPolicy,
    UnreachableMemory,
)
from mxroute._connect import _BadGreeting, _Greeting
from tests.doubles import FakeClock, finishes_within
from tests.test_imports import loaded_after

ANY = RoutingPolicy(address_scope="any")
GREETING = b"220 mx.example.com ESMTP ready\r\n"


# -- peers


def play(server: socket.socket, script: str, release: threading.Event) -> None:
    """Play the server side of one connection (the client may hang up at any time)."""
    with server, contextlib.suppress(OSError):
        _play(server, script)


def _play(server: socket.socket, script: str) -> None:
    if script == "greet":
        server.sendall(GREETING)
    elif script == "greet-multi":
        server.sendall(b"220-mx.example.com ESMTP\r\n220-no UCE\r\n220 ready\r\n")
    elif script in ("421", "554"):
        server.sendall(script.encode() + b" 4.3.2 go away\r\n")
        return
    elif script == "greet-drop":
        server.sendall(GREETING)
        return
    elif script == "drop":
        return
    elif script == "trickle":  # a greeting that never ends, a byte at a time
        server.sendall(b"220-")
        while True:
            time.sleep(0.02)
            server.sendall(b"x")
    elif script == "slow-greet":
        time.sleep(0.2)
        server.sendall(GREETING)
    # "silent" and the others: wait for the client to hang up
    while server.recv(4096):
        pass


class Scripted:
    """A connector double (both protocols): each address follows its script.

    Scripts: ``greet``, ``greet-multi``, ``421``, ``554``, ``drop`` (closes at
    once), ``greet-drop``, ``silent`` (connects, never greets), ``slow-greet``,
    ``refuse``, ``unreachable``, ``hang`` (no answer until the timeout, or
    until :meth:`release`), ``stuck`` (ignores the timeout).
    """

    def __init__(self, scripts: dict[str, str]) -> None:
        self.scripts = scripts
        self.calls: list[str] = []
        self.timeouts: list[float] = []
        self.in_flight = 0
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()

    def _pair(self, script: str) -> socket.socket:
        client, server = socket.socketpair()
        if script == "greet-drop":  # played at once: the close is there with the greeting
            play(server, script, self.released)
        else:
            threading.Thread(target=play, args=(server, script, self.released), daemon=True).start()
        return client

    def open_connection(self, address: Any, port: int, timeout: float) -> socket.socket:
        self.calls.append(str(address))
        self.timeouts.append(timeout)
        script = self.scripts[str(address)]
        if script == "refuse":
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        if script == "unreachable":
            raise OSError(errno.ENETUNREACH, "Network is unreachable")
        if script == "hang":
            self.released.wait(timeout)
            raise TimeoutError("timed out")
        if script == "stuck":
            self.released.wait(30)
            raise TimeoutError("timed out")
        if script == "late":  # connects just as the caller gives up
            time.sleep(timeout)
            script = "greet"
        return self._pair(script)

    async def open_connection_async(
        self, address: Any, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.calls.append(str(address))
        script = self.scripts[str(address)]
        self.in_flight += 1
        try:
            if script == "refuse":
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
            if script == "unreachable":
                raise OSError(errno.ENETUNREACH, "Network is unreachable")
            if script in ("hang", "stuck"):
                await asyncio.sleep(3600)
            return await asyncio.open_connection(sock=self._pair(script))
        finally:
            self.in_flight -= 1


class Listener:
    """A real TCP listener on 127.0.0.1 whose connections follow one script."""

    def __init__(self, script: str) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.released = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                target = self._smtp if self.script == "smtp" else play
                args = (conn,) if self.script == "smtp" else (conn, self.script, self.released)
                threading.Thread(target=target, args=args, daemon=True).start()

    def _smtp(self, conn: socket.socket) -> None:
        """Just enough SMTP for smtplib: a greeting, EHLO, QUIT."""
        with conn, conn.makefile("rb") as lines:
            conn.sendall(GREETING)
            for line in lines:
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-mx.example.com\r\n250 8BITMIME\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"502 no\r\n")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listeners() -> Iterator[Callable[[str], Listener]]:
    made: list[Listener] = []

    def make(script: str) -> Listener:
        made.append(Listener(script))
        return made[-1]

    yield make
    for listener in made:
        listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 with no listener: connecting is refused."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def route(*hosts: MailHost, kind: RouteKind = RouteKind.MX) -> MailRoute:
    return MailRoute("example.com", kind, list(hosts))


def host(name: str, preference: int, *addresses: str, port: int = 25) -> MailHost:
    return MailHost(f"{name}.example.com", preference, list(addresses), port)


# -- both drivers


class Result:
    """What a connect call gave, driver-independent (the connection is closed)."""

    def __init__(self, connection: mxroute.Connection | mxroute.AsyncConnection) -> None:
        self.host = connection.host.name
        self.address = str(connection.address)
        self.greeting = connection.greeting
        self.attempts = connection.attempts
        self.log = [(str(r.address), r.outcome.value) for r in connection.attempts]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Callable[..., Result]:
    def call(target: Any, **options: Any) -> Result:
        if request.param == "sync":
            with mxroute.connect(target, **options) as connection:
                return Result(connection)

        async def main() -> Result:
            async with await mxroute.connect_async(target, **options) as connection:
                return Result(connection)

        return asyncio.run(main())

    return call


def log_of(exc: HostsUnreachable) -> list[tuple[str, str]]:
    return [(str(r.address), r.outcome.value) for r in exc.attempts]


class TestWalk:
    def test_refused_then_the_next_host(self, run):
        net = Scripted({"192.0.2.1": "refuse", "192.0.2.2": "greet"})
        result = run(
            route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2")), connector=net
        )
        assert result.log == [("192.0.2.1", "refused"), ("192.0.2.2", "connected")]
        assert (result.host, result.address) == ("mx2.example.com", "192.0.2.2")
        assert result.greeting == "mx.example.com ESMTP ready"

    @pytest.mark.parametrize("script", ["421", "554"])
    def test_a_4xx_or_5xx_greeting_fails_the_host(self, run, script):
        net = Scripted({"192.0.2.1": script, "192.0.2.2": "greet"})
        result = run(
            route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2")), connector=net
        )
        assert result.log == [("192.0.2.1", "greeting-rejected"), ("192.0.2.2", "connected")]
        assert f"greeted with {script} 4.3.2 go away" in result.attempts[0].detail

    def test_silence_is_a_greeting_timeout(self, run):
        net = Scripted({"192.0.2.1": "silent", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        result = run(two, connector=net, greeting_timeout=0.5)
        assert result.log == [("192.0.2.1", "greeting-timeout"), ("192.0.2.2", "connected")]

    @pytest.mark.parametrize("script", ["drop", "greet-drop"])
    def test_a_dropped_connection_fails_the_host(self, run, script):
        net = Scripted({"192.0.2.1": script, "192.0.2.2": "greet"})
        result = run(
            route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2")), connector=net
        )
        assert result.log == [("192.0.2.1", "dropped"), ("192.0.2.2", "connected")]

    def test_a_multi_line_greeting(self, run):
        net = Scripted({"192.0.2.1": "greet-multi"})
        result = run(route(host("mx1", 10, "192.0.2.1")), connector=net)
        assert result.greeting == "mx.example.com ESMTP\nno UCE\nready"

    def test_a_slow_greeting_within_the_timeout_is_fine(self, run):
        net = Scripted({"192.0.2.1": "slow-greet"})
        result = run(route(host("mx1", 10, "192.0.2.1")), connector=net, greeting_timeout=5)
        assert result.log == [("192.0.2.1", "connected")]

    def test_without_the_greeting_check_it_returns_after_tcp(self, run):
        net = Scripted({"192.0.2.1": "silent"})
        result = run(route(host("mx1", 10, "192.0.2.1")), connector=net, greeting=False)
        assert result.greeting is None
        assert result.log == [("192.0.2.1", "connected")]
        assert result.attempts[0].detail == "TCP connected"

    def test_unreachable(self, run):
        net = Scripted({"192.0.2.1": "unreachable", "192.0.2.2": "greet"})
        result = run(
            route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2")), connector=net
        )
        assert result.log[0] == ("192.0.2.1", "unreachable")
        assert "Network is unreachable" in result.attempts[0].detail

    def test_all_failing_raises_hosts_unreachable_with_the_log(self, run):
        net = Scripted({"192.0.2.1": "refuse", "192.0.2.2": "421"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        with pytest.raises(HostsUnreachable) as caught:
            run(two, connector=net)
        error = caught.value
        assert log_of(error) == [("192.0.2.1", "refused"), ("192.0.2.2", "greeting-rejected")]
        assert isinstance(error, mxroute.TemporaryRouteError)
        assert (error.temporary, error.reply_code, error.enhanced_status) == (True, 451, "4.4.1")
        assert error.domain == "example.com"
        assert str(error).startswith("no mail host of example.com took a connection")
        assert error.smtp_reply.startswith("451 4.4.1 ")
        data = error.to_dict()
        assert data["error"] == "HostsUnreachable"
        assert [a["outcome"] for a in data["attempts"]] == ["refused", "greeting-rejected"]
        copied = pickle.loads(pickle.dumps(error))
        assert copied.attempts == error.attempts
        assert str(copied) == str(error)

    def test_the_session_limit_stops_the_walk(self, run):
        net = Scripted({f"192.0.2.{i}": "421" for i in range(1, 4)})
        three = route(*(host(f"mx{i}", i, f"192.0.2.{i}") for i in range(1, 4)))
        with pytest.raises(HostsUnreachable, match="session limit of 2") as caught:
            run(three, connector=net)
        assert len(caught.value.attempts) == 2
        assert net.calls == ["192.0.2.1", "192.0.2.2"]

    def test_refusals_do_not_use_up_sessions(self, run):
        scripts = {f"192.0.2.{i}": "refuse" for i in range(1, 5)}
        net = Scripted({**scripts, "192.0.2.5": "greet"})
        five = route(*(host(f"mx{i}", i, f"192.0.2.{i}") for i in range(1, 6)))
        assert run(five, connector=net).address == "192.0.2.5"

    def test_the_plan_options_of_the_route_are_used(self, run):
        net = Scripted({"2001:db8::1": "greet", "192.0.2.1": "greet"})
        dual = route(host("mx1", 10, "2001:db8::1", "192.0.2.1"))
        assert run(dual, connector=net, stagger=5).address == "2001:db8::1"
        ipv4_first = dual.plan(first_family="ipv4")
        assert run(ipv4_first, connector=net, stagger=5).address == "192.0.2.1"


class TestHappyEyeballs:
    def test_a_silent_ipv6_loses_to_ipv4_after_one_stagger(self, run):
        net = Scripted({"2001:db8::1": "hang", "192.0.2.1": "greet"})
        dual = route(host("mx1", 10, "2001:db8::1", "192.0.2.1"))
        try:
            result = finishes_within(lambda: run(dual, connector=net, stagger=0.05), 10)
        finally:
            net.release()
        assert isinstance(result, Result)
        assert result.address == "192.0.2.1"
        assert result.log == [("2001:db8::1", "cancelled"), ("192.0.2.1", "connected")]
        ipv6, ipv4 = sorted(result.attempts, key=lambda r: r.started)
        assert ipv4.started - ipv6.started >= 0.05  # it waited its stagger, no more is asserted

    def test_a_failure_starts_the_next_attempt_at_once(self, run):
        net = Scripted({"2001:db8::1": "refuse", "192.0.2.1": "greet"})
        dual = route(host("mx1", 10, "2001:db8::1", "192.0.2.1"))
        result = finishes_within(lambda: run(dual, connector=net, stagger=60), 10)
        assert isinstance(result, Result)
        assert result.log == [("2001:db8::1", "refused"), ("192.0.2.1", "connected")]

    def test_a_lower_tier_waits_for_the_whole_tier_above(self, run):
        net = Scripted({"192.0.2.1": "refuse", "192.0.2.2": "refuse", "192.0.2.3": "greet"})
        plan = route(host("mx1", 10, "192.0.2.1", "192.0.2.2"), host("mx2", 20, "192.0.2.3"))
        result = run(plan, connector=net, stagger=0)
        assert result.log == [
            ("192.0.2.1", "refused"),
            ("192.0.2.2", "refused"),
            ("192.0.2.3", "connected"),
        ]

    def test_the_async_race_cancels_the_losers(self):
        net = Scripted({"2001:db8::1": "hang", "192.0.2.1": "greet"})
        dual = route(host("mx1", 10, "2001:db8::1", "192.0.2.1"))

        async def main() -> int:
            async with await mxroute.connect_async(dual, connector=net, stagger=0.01):
                await asyncio.sleep(0)  # the cancelled attempt finishes cancelling
                return net.in_flight

        assert asyncio.run(main()) == 0

    def test_cancelling_connect_async_cancels_every_attempt(self):
        net = Scripted({"2001:db8::1": "hang", "192.0.2.1": "hang"})
        dual = route(host("mx1", 10, "2001:db8::1", "192.0.2.1"))

        async def main() -> int:
            task = asyncio.ensure_future(mxroute.connect_async(dual, connector=net, stagger=0))
            while len(net.calls) < 2:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0)
            return net.in_flight

        assert asyncio.run(main()) == 0


class TestDeadlines:
    def test_the_attempt_timeout_is_passed_to_the_connector(self):
        net = Scripted({"192.0.2.1": "hang", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        result = finishes_within(lambda: mxroute.connect(two, connector=net, attempt_timeout=0.3))
        assert isinstance(result, mxroute.Connection)
        result.close()
        assert net.timeouts[0] == pytest.approx(0.3)
        assert [r.outcome for r in result.attempts] == [
            AttemptOutcome.TIMEOUT,
            AttemptOutcome.CONNECTED,
        ]

    def test_a_connector_that_ignores_its_timeout_is_given_up(self, run):
        net = Scripted({"192.0.2.1": "stuck", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        try:
            result = finishes_within(lambda: run(two, connector=net, attempt_timeout=0.3), 10)
        finally:
            net.release()
        assert isinstance(result, Result)
        assert result.log == [("192.0.2.1", "timeout"), ("192.0.2.2", "connected")]

    @pytest.mark.parametrize("attempt", range(5))
    def test_a_connection_made_as_it_is_given_up_is_closed(self, attempt):
        net = Scripted({"192.0.2.1": "late", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        with mxroute.connect(two, connector=net, attempt_timeout=0.3) as connection:
            assert connection.attempts[-1].outcome is AttemptOutcome.CONNECTED
        # either may win; a socket left open by the one given up fails as a ResourceWarning

    def test_a_greeting_that_never_ends_times_out(self, run):
        net = Scripted({"192.0.2.1": "trickle", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        result = finishes_within(lambda: run(two, connector=net, greeting_timeout=0.5), 10)
        assert isinstance(result, Result)
        assert result.log == [("192.0.2.1", "greeting-timeout"), ("192.0.2.2", "connected")]

    def test_the_deadline_bounds_the_whole_call(self, run):
        net = Scripted({f"192.0.2.{i}": "silent" for i in range(1, 4)})
        three = route(*(host(f"mx{i}", i, f"192.0.2.{i}") for i in range(1, 4)))
        outcome = finishes_within(lambda: run(three, connector=net, deadline=0.3), 10)
        assert isinstance(outcome, HostsUnreachable)
        assert "the deadline of 0.3 s passed" in str(outcome)
        assert log_of(outcome) == [("192.0.2.1", "greeting-timeout")]

    def test_the_deadline_stops_attempts_in_flight(self, run):
        net = Scripted({"192.0.2.1": "stuck", "192.0.2.2": "stuck"})
        plan = route(host("mx1", 10, "192.0.2.1", "192.0.2.2"))
        try:
            outcome = finishes_within(
                lambda: run(plan, connector=net, deadline=0.2, stagger=0.05), 10
            )
        finally:
            net.release()
        assert isinstance(outcome, HostsUnreachable)
        assert [o for _, o in log_of(outcome)] == ["timeout", "timeout"]


class TestScope:
    def test_a_hand_made_plan_to_loopback_is_refused(self, run):
        net = Scripted({"127.0.0.1": "greet"})
        loop = host("lo", 0, "127.0.0.1")
        plan = DeliveryPlan("example.com", [Attempt(loop, "127.0.0.1")])
        with pytest.raises(HostsUnreachable) as caught:
            run(plan, connector=net)
        assert log_of(caught.value) == [("127.0.0.1", "out-of-scope")]
        assert net.calls == []

    @pytest.mark.parametrize(
        "address", ["127.0.0.1", "::1", "::ffff:127.0.0.1", "169.254.1.1", "0.0.0.0", "fe80::1"]
    )
    def test_no_spelling_of_a_non_destination_is_connected_to(self, run, address):
        net = Scripted({address: "greet"})
        with pytest.raises(HostsUnreachable):
            run(route(host("mx", 10, address)), connector=net)
        assert net.calls == []

    def test_the_policy_can_allow_it(self, run):
        net = Scripted({"127.0.0.1": "greet"})
        plan = DeliveryPlan("example.com", [Attempt(host("lo", 0, "127.0.0.1"), "127.0.0.1")])
        assert run(plan, connector=net, policy=ANY).address == "127.0.0.1"
        assert run(plan.__class__("example.com", plan.attempts, address_scope="any"), connector=net)

    def test_a_policy_scope_narrows_a_plan(self, run):
        net = Scripted({"10.0.0.1": "greet"})
        plan = route(host("mx", 10, "10.0.0.1")).plan()
        strict = RoutingPolicy(address_scope="global")
        with pytest.raises(HostsUnreachable):
            run(plan, connector=net, policy=strict)

    def test_a_relay_route_is_trusted_as_routing_trusts_it(self, run):
        net = Scripted({"127.0.0.1": "greet"})
        relay = route(host("relay", 0, "127.0.0.1", port=10025), kind=RouteKind.RELAY)
        assert run(relay, connector=net).address == "127.0.0.1"


class TestMemory:
    def test_failures_are_remembered_and_a_success_forgets(self, run):
        clock = FakeClock()
        memory = UnreachableMemory(clock=clock)
        memory.record_failure(ipaddress.ip_address("192.0.2.2"), 25, "refused")
        net = Scripted({"192.0.2.1": "refuse", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        run(two, connector=net, memory=memory)
        refused = memory.lookup(ipaddress.ip_address("192.0.2.1"), 25)
        assert refused is not None
        assert refused.outcome == "refused"
        assert memory.lookup(ipaddress.ip_address("192.0.2.2"), 25) is None

    def test_the_next_delivery_tries_a_failed_address_last(self, run):
        memory = UnreachableMemory(clock=FakeClock())
        net = Scripted({"2001:db8::1": "refuse", "192.0.2.1": "greet"})
        dual = route(host("mx1", 10, "2001:db8::1", "192.0.2.1"))
        assert run(dual, connector=net, memory=memory).log[0] == ("2001:db8::1", "refused")
        assert run(dual, connector=net, memory=memory).log == [("192.0.2.1", "connected")]

    def test_skipped_addresses_are_logged(self, run):
        memory = UnreachableMemory(mode="skip", clock=FakeClock())
        memory.record_failure(ipaddress.ip_address("192.0.2.1"), 25, "refused")
        net = Scripted({"192.0.2.1": "greet", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        result = run(two, connector=net, memory=memory)
        assert result.log == [("192.0.2.1", "skipped"), ("192.0.2.2", "connected")]
        assert net.calls == ["192.0.2.2"]

    def test_all_skipped_raises(self, run):
        memory = UnreachableMemory(mode="skip", clock=FakeClock())
        memory.record_failure(ipaddress.ip_address("192.0.2.1"), 25, "refused")
        with pytest.raises(HostsUnreachable) as caught:
            run(route(host("mx1", 10, "192.0.2.1")), connector=Scripted({}), memory=memory)
        assert log_of(caught.value) == [("192.0.2.1", "skipped")]


class TestRealSockets:
    def test_refused_listener_then_a_real_greeting(self, run, listeners):
        good = listeners("greet")
        two = route(
            host("mx1", 10, "127.0.0.1", port=closed_port()),
            host("mx2", 20, "127.0.0.1", port=good.port),
        )
        result = run(two, policy=ANY)
        assert result.log == [("127.0.0.1", "refused"), ("127.0.0.1", "connected")]
        assert result.greeting == "mx.example.com ESMTP ready"

    def test_silent_and_421_listeners_then_a_good_one(self, run, listeners):
        silent, busy, good = listeners("silent"), listeners("421"), listeners("greet")
        three = route(
            host("mx1", 10, "127.0.0.1", port=silent.port),
            host("mx2", 20, "127.0.0.1", port=busy.port),
            host("mx3", 30, "127.0.0.1", port=good.port),
        )
        plan = three.plan(ANY, session_limit=3)  # two failed sessions, then the third
        result = run(plan, greeting_timeout=0.5, attempt_timeout=5)
        assert [o for _, o in result.log] == ["greeting-timeout", "greeting-rejected", "connected"]
        assert result.attempts[-1].port == good.port

    def test_the_socket_goes_on_to_smtplib(self, listeners):
        server = listeners("smtp")
        one = route(host("mx", 10, "127.0.0.1", port=server.port))
        connection = mxroute.connect(one, policy=ANY)
        client = smtplib.SMTP()
        client.sock = connection.socket  # the greeting was read by connect
        code, _ = client.ehlo("client.example.org")
        assert code == 250
        assert client.has_extn("8bitmime")
        assert client.quit()[0] == 221

    def test_with_greeting_false_the_greeting_is_still_there(self, listeners):
        server = listeners("greet")
        one = route(host("mx", 10, "127.0.0.1", port=server.port))
        with mxroute.connect(one, policy=ANY, greeting=False) as connection:
            connection.socket.settimeout(5)
            assert connection.socket.recv(100) == GREETING


class TestInput:
    @pytest.mark.parametrize(
        ("options", "reason"),
        [
            ({"greeting_timeout": 0}, "invalid-greeting-timeout"),
            ({"attempt_timeout": -1}, "invalid-attempt-timeout"),
            ({"deadline": float("inf")}, "invalid-deadline"),
            ({"stagger": True}, "invalid-stagger"),
            ({"stagger": -0.1}, "invalid-stagger"),
            ({"greeting": "yes"}, "invalid-greeting"),
            ({"memory": "none"}, "invalid-memory"),
            ({"policy": {}}, "invalid-policy"),
        ],
    )
    def test_bad_options_are_invalid_input(self, run, options, reason):
        with pytest.raises(InvalidInput) as caught:
            run(route(host("mx", 10, "192.0.2.1")), connector=Scripted({}), **options)
        assert caught.value.reason == reason

    def test_a_connector_without_the_method_is_refused(self, run):
        class SyncOnly:
            def open_connection(self, address: Any, port: int, timeout: float) -> socket.socket:
                raise AssertionError("never called")

        class AsyncOnly:
            async def open_connection_async(self, address: Any, port: int) -> Any:
                raise AssertionError("never called")

        one = route(host("mx", 10, "192.0.2.1"))
        with pytest.raises(InvalidInput, match="connector must have an open_connection") as caught:
            run(one, connector=object())
        assert caught.value.reason == "invalid-connector"
        with pytest.raises(InvalidInput, match="open_connection"):
            mxroute.connect(one, connector=AsyncOnly())  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="open_connection_async"):
            asyncio.run(mxroute.connect_async(one, connector=SyncOnly()))  # type: ignore[arg-type]

    def test_a_target_that_is_no_route_is_refused(self, run):
        with pytest.raises(InvalidInput, match="MailRoute or a DeliveryPlan") as caught:
            run("example.com")
        assert caught.value.reason == "invalid-route"

    def test_an_empty_plan(self, run):
        with pytest.raises(HostsUnreachable, match="the plan has no attempts"):
            run(DeliveryPlan("example.com", []))

    def test_connect_async_needs_asyncio(self):
        coroutine = mxroute.connect_async(route(host("mx", 10, "192.0.2.1")))
        with pytest.raises(mxroute.UnsupportedEventLoop):
            coroutine.send(None)
        coroutine.close()


class TestValues:
    def test_records_and_connections_to_dict(self):
        net = Scripted({"192.0.2.1": "refuse", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        with mxroute.connect(two, connector=net) as connection:
            data = connection.to_dict()
        assert data["address"] == "192.0.2.2"
        assert data["host"]["name"] == "mx2.example.com"
        assert data["greeting"] == "mx.example.com ESMTP ready"
        first = data["attempts"][0]
        assert set(first) == {"host", "address", "port", "outcome", "detail", "started", "elapsed"}
        assert (first["address"], first["outcome"]) == ("192.0.2.1", "refused")
        record = connection.attempts[0]
        assert pickle.loads(pickle.dumps(record)) == record

    def test_a_rejected_greeting_closes_the_socket(self):
        sockets: list[socket.socket] = []

        class Keep(Scripted):
            def open_connection(self, address: Any, port: int, timeout: float) -> socket.socket:
                sockets.append(super().open_connection(address, port, timeout))
                return sockets[-1]

        net = Keep({"192.0.2.1": "421", "192.0.2.2": "greet"})
        two = route(host("mx1", 10, "192.0.2.1"), host("mx2", 20, "192.0.2.2"))
        with mxroute.connect(two, connector=net):
            assert sockets[0].fileno() == -1  # closed
            assert sockets[1].fileno() != -1


class TestGreetingParser:
    @pytest.mark.parametrize(
        ("lines", "why"),
        [
            ([b"hello\r\n"], "malformed"),
            ([b"22 short\r\n"], "malformed"),
            ([b"220-one\r\n", b"250 two\r\n"], "different codes"),
            ([b"250 not a greeting\r\n"], "greeted with 250"),
            ([b"220-" + b"x" * 20_000 + b"\r\n"], "over"),
        ],
    )
    def test_bad_greetings(self, lines, why):
        parser = _Greeting()
        for line in lines[:-1]:
            assert not parser.feed(line)
        with pytest.raises(_BadGreeting, match=why) as caught:
            parser.feed(lines[-1])
        assert caught.value.outcome is AttemptOutcome.GREETING_REJECTED

    def test_a_bare_code_and_lf_line_endings(self):
        parser = _Greeting()
        assert parser.feed(b"220\n")
        assert parser.text == ""


class TestStops:
    def test_the_session_limit_is_named_when_it_ends_the_last_tier(self, run):
        net = Scripted({"192.0.2.1": "421", "192.0.2.2": "421"})
        plan = route(host("mx1", 10, "192.0.2.1", "192.0.2.2")).plan(session_limit=1)
        with pytest.raises(HostsUnreachable, match="the session limit of 1 was reached") as caught:
            run(plan, connector=net, stagger=5)  # the first connects long before the second
        assert log_of(caught.value) == [("192.0.2.1", "greeting-rejected")]
        assert net.calls == ["192.0.2.1"]

    def test_an_attempt_cut_short_by_the_deadline_is_not_remembered(self, run):
        memory = UnreachableMemory(clock=FakeClock())
        net = Scripted({"192.0.2.1": "stuck"})
        try:
            outcome = finishes_within(
                lambda: run(route(host("mx1", 10, "192.0.2.1")), connector=net, memory=memory,
                            deadline=0.1),
                10,
            )  # fmt: skip
        finally:
            net.release()
        assert isinstance(outcome, HostsUnreachable)
        assert log_of(outcome) == [("192.0.2.1", "timeout")]
        assert "the deadline of 0.1 s passed" in outcome.attempts[0].detail
        assert memory.lookup(ipaddress.ip_address("192.0.2.1"), 25) is None


def test_sync_connect_loads_no_asyncio():
    code = (
        "import mxroute, socket\n"
        "class Net:\n"
        "    def open_connection(self, address, port, timeout):\n"
        "        client, server = socket.socketpair()\n"
        "        server.sendall(b'220 ok\\r\\n')\n"
        "        Net.peer = server\n"
        "        return client\n"
        "h = mxroute.MailHost('mx.example.com', 10, ['192.0.2.1', '2001:db8::1'])\n"
        "r = mxroute.MailRoute('example.com', mxroute.RouteKind.MX, [h])\n"
        "mxroute.connect(r, connector=Net(), memory=mxroute.UnreachableMemory()).close()"
    )
    assert loaded_after(code) == []
