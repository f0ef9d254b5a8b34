"""mxroute.testing.FakeNetwork: a fake mail network behind the connector seam.

The network is checked alone first, with the standard library's and
aiosmtplib's SMTP clients talking to its sinks over the sockets it hands out.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import smtplib
import socket
import threading
import time

import aiosmtplib
import pytest

import mxroute
from mxroute.testing import Delivery, FakeNetwork

pytest_plugins = ["pytester"]

MX1, MX2, MX6 = "192.0.2.10", "192.0.2.20", "2001:db8::20"
MESSAGE = b"Subject: hi\r\n\r\n.leading dot\r\n..two dots\r\nend\r\n"


def smtp_over(sock: socket.socket) -> smtplib.SMTP:
    """An smtplib client on a connected socket, its greeting read."""
    client = smtplib.SMTP(local_hostname="client.example")
    client.sock = sock
    code, _ = client.getreply()
    assert code == 220
    return client


def read_line(sock: socket.socket) -> bytes:
    with sock.makefile("rb") as reader:
        return reader.readline()


class TestMapping:
    def test_an_unmapped_address_is_unreachable(self, fake_network):
        with pytest.raises(OSError, match="no route") as info:
            fake_network.open_connection(ipaddress.ip_address(MX1), 25, 1.0)
        assert info.value.errno == errno.EHOSTUNREACH
        assert not isinstance(info.value, (ConnectionRefusedError, TimeoutError))

    def test_refuse_raises_connection_refused(self, fake_network):
        fake_network.refuse(MX1)
        with pytest.raises(ConnectionRefusedError):
            fake_network.open_connection(MX1, 25, 1.0)

    @pytest.mark.parametrize(("default", "error"), [("refuse", ConnectionRefusedError)])
    def test_the_default_behaviour_is_configurable(self, default, error):
        with FakeNetwork(default=default) as network, pytest.raises(error):
            network.open_connection(MX1, 25, 1.0)

    def test_the_latest_mapping_wins(self, fake_network):
        fake_network.refuse(MX1)
        fake_network.accept(MX1)
        sock = fake_network.open_connection(MX1, 25, 1.0)
        with sock:
            assert read_line(sock).startswith(b"220 192.0.2.10 ")
        fake_network.unreachable(MX1)
        with pytest.raises(OSError, match="no route"):
            fake_network.open_connection(MX1, 25, 1.0)

    def test_a_port_mapping_beats_the_address_mapping(self, fake_network):
        fake_network.accept(MX1)
        fake_network.refuse(MX1, port=587)
        with pytest.raises(ConnectionRefusedError):
            fake_network.open_connection(MX1, 587, 1.0)
        fake_network.open_connection(MX1, 25, 1.0).close()

    def test_addresses_are_compared_as_addresses(self, fake_network):
        fake_network.accept("2001:DB8:0::20", "[192.0.2.20]")
        fake_network.open_connection(ipaddress.ip_address(MX6), 25, 1.0).close()
        fake_network.open_connection(ipaddress.ip_address(MX2), 25, 1.0).close()
        assert fake_network.tried_addresses == [MX6, MX2]

    @pytest.mark.parametrize(
        ("call", "reason"),
        [
            (lambda n: n.accept("mx.example.com"), "invalid-ip-address"),
            (lambda n: n.accept(None), "invalid-ip-address"),
            (lambda n: n.accept(), "no-addresses"),
            (lambda n: n.refuse(MX1, port=0), "invalid-port"),
            (lambda n: n.accept(MX1, port=True), "invalid-port"),
            (lambda n: n.accept(MX1, delay=-1), "invalid-delay"),
            (lambda n: n.greet(MX1, reply="220 ok"), "invalid-greeting"),
            (lambda n: n.greet(MX1, reply="421 a\r\n250 b"), "invalid-greeting"),
            (lambda n: n.open_connection(MX1, 25, 0), "invalid-timeout"),
            (lambda n: n.open_connection(MX1, 70000, 1.0), "invalid-port"),
            (lambda n: n.open_connection("fe80::1%eth0", 25, 1.0), "invalid-ip-address"),
        ],
    )
    def test_bad_input_is_invalid_input(self, fake_network, call, reason):
        with pytest.raises(mxroute.InvalidInput) as info:
            call(fake_network)
        assert info.value.reason == reason
        assert fake_network.tried == []

    def test_an_unknown_default_is_invalid_input(self):
        with pytest.raises(mxroute.InvalidInput, match="'refuse'") as info:
            FakeNetwork(default="drop")
        assert info.value.reason == "invalid-default-behaviour"

    def test_attempts_from_many_threads_are_all_recorded(self, fake_network):
        fake_network.refuse(MX1)

        def attempt() -> None:
            with pytest.raises(ConnectionRefusedError):
                fake_network.open_connection(MX1, 25, 1.0)

        threads = [threading.Thread(target=attempt) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert fake_network.tried == [(ipaddress.ip_address(MX1), 25)] * 20


class TestTimeOut:
    def test_sync_blocks_for_the_timeout_then_raises_timeout_error(self, fake_network):
        fake_network.time_out(MX1)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            fake_network.open_connection(MX1, 25, 0.2)
        assert time.monotonic() - started >= 0.2

    def test_close_ends_a_blocked_sync_attempt(self):
        network = FakeNetwork()
        network.time_out(MX1)
        errors: list[BaseException] = []

        def attempt() -> None:
            try:
                network.open_connection(MX1, 25, 60.0)
            except OSError as exc:
                errors.append(exc)

        thread = threading.Thread(target=attempt)
        thread.start()
        while not network.tried:
            time.sleep(0.01)
        network.close()
        thread.join(5)
        assert not thread.is_alive()
        assert isinstance(errors[0], TimeoutError)

    @pytest.mark.asyncio
    async def test_async_never_completes_until_cancelled(self, fake_network):
        fake_network.time_out(MX6)
        task = asyncio.ensure_future(fake_network.open_connection_async(MX6, 25))
        done, _ = await asyncio.wait([task], timeout=0.2)
        assert not done
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert fake_network.tried_addresses == [MX6]


class TestGreetings:
    def test_drop_after_greeting_closes_after_220(self, fake_network):
        fake_network.drop_after_greeting(MX1, name="mx1.example.com")
        with fake_network.open_connection(MX1, 25, 1.0) as sock:
            assert sock.recv(1000).startswith(b"220 mx1.example.com ")
            assert sock.recv(1000) == b""

    def test_a_421_greeting_is_followed_by_closing(self, fake_network):
        fake_network.greet(MX1, reply="421 4.3.2 Too busy")
        with fake_network.open_connection(MX1, 25, 1.0) as sock:
            assert sock.makefile("rb").read() == b"421 4.3.2 Too busy\r\n"

    def test_a_554_greeting_answers_503_until_quit(self, fake_network):
        fake_network.greet(MX1, reply="554 5.7.1 No service")
        with fake_network.open_connection(MX1, 25, 1.0) as sock, sock.makefile("rwb") as f:
            assert f.readline() == b"554 5.7.1 No service\r\n"
            f.write(b"EHLO client.example\r\n")
            f.flush()
            assert f.readline().startswith(b"503 ")
            f.write(b"QUIT\r\n")
            f.flush()
            assert f.readline().startswith(b"221 ")
            assert f.read() == b""

    def test_a_slow_greeting_waits_its_delay(self, fake_network):
        fake_network.accept(MX1, delay=0.3)
        with fake_network.open_connection(MX1, 25, 1.0) as sock:
            sock.settimeout(0.1)
            with pytest.raises(TimeoutError):
                sock.recv(100)
            sock.settimeout(2.0)
            assert sock.recv(100).startswith(b"220 ")

    def test_a_connection_is_a_real_socket(self, fake_network):
        fake_network.accept(MX1)
        with fake_network.open_connection(MX1, 25, 1.0) as sock:
            assert isinstance(sock, socket.socket)
            assert sock.gettimeout() is None  # blocking


class TestSink:
    def test_smtplib_delivers_and_the_delivery_is_recorded(self, fake_network):
        fake_network.accept(MX2, name="mx2.example.com")
        with smtp_over(fake_network.open_connection(MX2, 25, 1.0)) as client:
            refused = client.sendmail(
                "a@sender.example", ["b@example.com", "c@example.com"], MESSAGE
            )
        assert refused == {}
        assert fake_network.delivered == [
            Delivery(
                address=ipaddress.ip_address(MX2),
                port=25,
                name="mx2.example.com",
                helo="client.example",
                mail_from="a@sender.example",
                rcpt_tos=("b@example.com", "c@example.com"),
                data=b"Subject: hi\r\n\r\n.leading dot\r\n..two dots\r\nend\r\n",
            )
        ]
        assert fake_network.delivered_to(MX2) == fake_network.delivered
        assert fake_network.delivered_to(MX2, port=587) == []
        assert fake_network.delivered_to(MX1) == []

    def test_ehlo_names_the_host_and_offers_no_starttls(self, fake_network):
        fake_network.accept(MX2, name="mx2.example.com")
        with smtp_over(fake_network.open_connection(MX2, 25, 1.0)) as client:
            code, text = client.ehlo()
            assert code == 250
            assert text.splitlines()[0] == b"mx2.example.com"
            assert client.has_extn("8bitmime")
            assert not client.has_extn("starttls")
            assert client.docmd("STARTTLS")[0] == 454

    def test_commands_out_of_order_are_refused_with_503(self, fake_network):
        fake_network.accept(MX2)
        with smtp_over(fake_network.open_connection(MX2, 25, 1.0)) as client:
            assert client.docmd("MAIL", "FROM:<a@b.example>")[0] == 503
            client.helo()
            assert client.docmd("RCPT", "TO:<a@b.example>")[0] == 503
            assert client.docmd("DATA")[0] == 503
            assert client.docmd("MAIL", "FROM:a@b.example")[0] == 501
            assert client.docmd("MAIL", "FROM:<>")[0] == 250
            assert client.docmd("MAIL", "FROM:<x@b.example>")[0] == 503
            assert client.docmd("RSET")[0] == 250
            assert client.docmd("NOOP")[0] == 250
            assert client.docmd("VRFY", "a")[0] == 500
        assert fake_network.delivered == []

    def test_rset_drops_the_envelope(self, fake_network):
        fake_network.accept(MX2)
        with smtp_over(fake_network.open_connection(MX2, 25, 1.0)) as client:
            client.ehlo()
            client.mail("first@sender.example")
            client.rcpt("lost@example.com")
            client.rset()
            client.sendmail("", ["kept@example.com"], b"x\r\n")
        [delivery] = fake_network.delivered
        assert (delivery.mail_from, delivery.rcpt_tos) == ("", ("kept@example.com",))

    @pytest.mark.asyncio
    async def test_aiosmtplib_delivers_over_a_socket_of_the_network(self, fake_network):
        fake_network.accept(MX6, name="mx6.example.com")
        sock = fake_network.open_connection(ipaddress.ip_address(MX6), 25, 1.0)
        client = aiosmtplib.SMTP(sock=sock, hostname=None, local_hostname="client.example")
        await client.connect()
        await client.sendmail("a@sender.example", ["b@example.com"], MESSAGE)
        await client.quit()
        [delivery] = fake_network.delivered_to(MX6)
        assert delivery.data == MESSAGE
        assert delivery.name == "mx6.example.com"

    @pytest.mark.asyncio
    async def test_stream_reader_and_writer_speak_smtp(self, fake_network):
        fake_network.accept(MX2, name="mx2.example.com")
        reader, writer = await fake_network.open_connection_async(MX2, 25)
        assert (await reader.readline()).startswith(b"220 mx2.example.com ")
        writer.write(b"HELO client.example\r\nQUIT\r\n")
        assert await reader.readline() == b"250 mx2.example.com\r\n"
        assert (await reader.readline()).startswith(b"221 ")
        writer.close()
        await writer.wait_closed()

    @pytest.mark.asyncio
    async def test_async_refused_and_unreachable_raise_os_errors(self, fake_network):
        fake_network.refuse(MX1)
        with pytest.raises(ConnectionRefusedError):
            await fake_network.open_connection_async(MX1, 25)
        with pytest.raises(OSError, match="no route"):
            await fake_network.open_connection_async(MX6, 25)
        assert fake_network.tried_addresses == [MX1, MX6]


class TestClose:
    def test_close_stops_every_host_thread(self):
        network = FakeNetwork()
        network.accept(MX1)
        network.accept(MX2, delay=60)
        before = threading.active_count()
        socks = [network.open_connection(a, 25, 1.0) for a in (MX1, MX2)]
        assert threading.active_count() == before + 2
        network.close()
        assert threading.active_count() == before
        for sock in socks:
            sock.settimeout(1.0)
            assert sock.makefile("rb").read().startswith((b"", b"220 "))
            sock.close()

    def test_a_closed_network_refuses_new_attempts_and_keeps_its_records(self):
        with FakeNetwork() as network:
            network.accept(MX1)
            network.open_connection(MX1, 25, 1.0).close()
        with pytest.raises(OSError, match="closed"):
            network.open_connection(MX1, 25, 1.0)
        assert network.tried_addresses == [MX1]
        assert repr(network) == "<FakeNetwork: 1 mapped, 1 tried, 0 delivered, closed>"

    def test_the_fixture_closes_the_network_after_the_test(self, pytester):
        pytester.makepyfile(
            """
            kept = []

            def test_one(fake_network):
                fake_network.accept("192.0.2.1")
                kept.append(fake_network)

            def test_two(fake_network):
                assert fake_network is not kept[0]
                assert repr(kept[0]).endswith(", closed>")
            """
        )
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio")
        result.assert_outcomes(passed=2)


ZONE = """
$ORIGIN example.com.
$TTL 300
@      SOA  ns hostmaster 1 7200 900 1209600 60
@      MX   10 mx1
@      MX   20 mx2
mx1    A    192.0.2.10
mx2    A    192.0.2.20
dual   MX   10 mx.dual
mx.dual AAAA 2001:db8::30
mx.dual A    192.0.2.30
"""
FAST = {"attempt_timeout": 0.5, "greeting_timeout": 0.5, "stagger": 0.05}


@pytest.fixture
def routes(fake_dns):
    """Routes over a zone of two MX hosts (example.com) and a dual-stack host (dual)."""
    fake_dns.load_zone(ZONE)
    router = mxroute.Router(resolver=fake_dns)
    return lambda domain: router.resolve(domain)


def outcomes(attempts) -> list[tuple[str, mxroute.AttemptOutcome]]:
    return [(str(a.address), a.outcome) for a in attempts]


async def connect_async(route, **options):
    """connect_async's connection, read through to the same fields as connect's."""
    connection = await mxroute.connect_async(route, **options)
    await connection.aclose()
    return connection


def connect_sync(route, **options):
    with mxroute.connect(route, **options) as connection:
        return connection


def run(driver, route, **options):
    if driver == "sync":
        return connect_sync(route, **options)
    return asyncio.run(connect_async(route, **options))


DRIVERS = pytest.mark.parametrize("driver", ["sync", "async"])


class TestWithConnect:
    """connect and connect_async through the network: the cases the fake is for."""

    @DRIVERS
    def test_mx1_down_mx2_takes_the_mail(self, fake_network, routes, driver):
        fake_network.refuse(MX1)
        fake_network.accept(MX2, name="mx2.example.com")
        connection = run(driver, routes("example.com"), connector=fake_network, **FAST)
        assert (connection.host.name, str(connection.address)) == ("mx2.example.com", MX2)
        assert connection.greeting == "mx2.example.com ESMTP mxroute fake network"
        assert outcomes(connection.attempts) == [
            (MX1, mxroute.AttemptOutcome.REFUSED),
            (MX2, mxroute.AttemptOutcome.CONNECTED),
        ]
        assert fake_network.tried == [
            (ipaddress.ip_address(MX1), 25),
            (ipaddress.ip_address(MX2), 25),
        ]

    @DRIVERS
    @pytest.mark.parametrize("broken", ["unreachable", "time_out"])
    def test_ipv6_broken_ipv4_takes_over(self, fake_network, routes, driver, broken):
        getattr(fake_network, broken)("2001:db8::30")
        fake_network.accept("192.0.2.30")
        connection = run(driver, routes("dual.example.com"), connector=fake_network, **FAST)
        assert str(connection.address) == "192.0.2.30"
        assert fake_network.tried_addresses == ["2001:db8::30", "192.0.2.30"]
        expected = {
            "unreachable": mxroute.AttemptOutcome.UNREACHABLE,
            "time_out": mxroute.AttemptOutcome.CANCELLED,  # IPv4 won the race
        }[broken]
        assert outcomes(connection.attempts) == [
            ("2001:db8::30", expected),
            ("192.0.2.30", mxroute.AttemptOutcome.CONNECTED),
        ]

    @DRIVERS
    def test_a_421_greeting_sends_the_walk_to_the_next_host(self, fake_network, routes, driver):
        fake_network.greet(MX1, reply="421 4.3.2 Too busy")
        fake_network.accept(MX2)
        connection = run(driver, routes("example.com"), connector=fake_network, **FAST)
        assert str(connection.address) == MX2
        [first, _] = connection.attempts
        assert first.outcome is mxroute.AttemptOutcome.GREETING_REJECTED
        assert "421 4.3.2 Too busy" in first.detail

    @DRIVERS
    def test_all_hosts_temp_fail_raise_with_the_attempt_log(self, fake_network, routes, driver):
        fake_network.greet(MX1, reply="421 4.3.2 Too busy")
        fake_network.drop_after_greeting(MX2)
        with pytest.raises(mxroute.HostsUnreachable) as info:
            run(driver, routes("example.com"), connector=fake_network, **FAST)
        error = info.value
        assert isinstance(error, mxroute.TemporaryRouteError)
        assert (error.reply_code, error.enhanced_status) == (451, "4.4.1")
        assert outcomes(error.attempts) == [
            (MX1, mxroute.AttemptOutcome.GREETING_REJECTED),
            (MX2, mxroute.AttemptOutcome.DROPPED),
        ]
        assert fake_network.delivered == []

    @DRIVERS
    def test_a_silent_host_times_out_its_greeting(self, fake_network, routes, driver):
        fake_network.accept(MX1, delay=30)  # greets far too late
        fake_network.accept(MX2)
        connection = run(driver, routes("example.com"), connector=fake_network, **FAST)
        assert outcomes(connection.attempts)[0] == (MX1, mxroute.AttemptOutcome.GREETING_TIMEOUT)
        assert str(connection.address) == MX2

    def test_smtplib_delivers_over_the_connection(self, fake_network, routes):
        fake_network.unreachable(MX1)
        fake_network.accept(MX2, name="mx2.example.com")
        with mxroute.connect(routes("example.com"), connector=fake_network, **FAST) as conn:
            client = smtplib.SMTP(local_hostname="client.example")
            client.sock = conn.socket  # the greeting is read already
            client.sendmail("a@sender.example", ["alice@example.com"], b"Hello\r\n")
            client.quit()
        assert [(str(d.address), d.rcpt_tos) for d in fake_network.delivered] == [
            (MX2, ("alice@example.com",))
        ]
