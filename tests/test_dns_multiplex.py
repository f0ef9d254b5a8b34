"""DNSResolver's async multiplexing: a few long-lived sockets, retired, closed when idle.

Against a scripted UDP server on 127.0.0.1 that records the source port of
every query and answers each with one MX record (or, for ``slow.``, never).
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import socket
import threading
from collections.abc import Iterator

import dns.message
import dns.rrset
import pytest

import mxroute
from mxroute import AnswerStatus, MXRecord, Question
from mxroute._resolvers.dns import _transport

pytestmark = pytest.mark.integration


class PortsServer:
    """A UDP DNS server that answers MX questions and records each query's source port."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.ports: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.ports.append(peer[1])
            query = dns.message.from_wire(wire)
            name = query.question[0].name
            if name.labels[0] == b"slow":
                continue
            response = dns.message.make_response(query)
            response.answer.append(
                dns.rrset.from_text(name, 300, "IN", "MX", f"10 mx.{name.to_text()}")
            )
            self.sock.sendto(response.to_wire(), peer)

    def __enter__(self) -> PortsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def server() -> Iterator[PortsServer]:
    with PortsServer() as running:
        yield running


def _resolver(server: PortsServer, **options: object) -> mxroute.DNSResolver:
    return mxroute.DNSResolver(["127.0.0.1"], port=server.port, **options)  # type: ignore[arg-type]


QUESTIONS = [Question(f"d{i}.example", "MX") for i in range(60)]


def test_a_batch_is_answered_in_order_like_the_sync_batch(server):
    resolver = _resolver(server)
    answers = asyncio.run(resolver.query_batch_async(QUESTIONS))
    assert answers == resolver.query_batch(QUESTIONS)
    assert [a.records for a in answers] == [
        (MXRecord(10, f"mx.d{i}.example"),) for i in range(len(QUESTIONS))
    ]


def test_a_batch_uses_a_few_sockets_not_one_per_query(server):
    resolver = _resolver(server)
    asyncio.run(resolver.query_batch_async(QUESTIONS))
    assert len(server.ports) == len(QUESTIONS)
    assert len(set(server.ports)) <= _transport.SOCKETS_PER_SERVER


def test_single_async_queries_in_flight_together_share_the_sockets(server):
    resolver = _resolver(server)

    async def main() -> list[mxroute.Answer]:
        return await asyncio.gather(*(resolver.query_async(n, t) for n, t in QUESTIONS))

    answers = asyncio.run(main())
    assert all(a.status is AnswerStatus.RECORDS for a in answers)
    assert len(set(server.ports)) <= _transport.SOCKETS_PER_SERVER


def test_sockets_are_retired_so_the_source_port_keeps_changing(server, monkeypatch):
    monkeypatch.setattr(_transport, "RETIRE_AFTER", 5)
    resolver = _resolver(server)
    answers = asyncio.run(resolver.query_batch_async(QUESTIONS))
    assert all(a.status is AnswerStatus.RECORDS for a in answers)
    counts = {port: server.ports.count(port) for port in set(server.ports)}
    assert max(counts.values()) <= 5
    assert len(counts) >= len(QUESTIONS) // 5


def test_no_socket_stays_open_when_no_query_waits(server):
    resolver = _resolver(server)

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        watched = len(loop._selector.get_map())  # type: ignore[attr-defined]
        await resolver.query_batch_async(QUESTIONS)
        multiplexer = resolver._multiplexers[loop]
        assert multiplexer is not None
        return len(multiplexer.every), len(loop._selector.get_map()) - watched  # type: ignore[attr-defined]

    assert asyncio.run(main()) == (0, 0)


def test_a_cancelled_batch_leaves_no_socket(server):
    resolver = _resolver(server, timeout=5.0, lifetime=5.0)
    questions = [Question("slow.example", "MX"), *QUESTIONS[:5]]

    async def main() -> int:
        loop = asyncio.get_running_loop()
        watched = len(loop._selector.get_map())  # type: ignore[attr-defined]
        task = asyncio.ensure_future(resolver.query_batch_async(questions))
        await asyncio.sleep(0.2)
        assert len(loop._selector.get_map()) > watched  # type: ignore[attr-defined]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return len(loop._selector.get_map()) - watched  # type: ignore[attr-defined]

    assert asyncio.run(main()) == 0


def test_a_slow_question_does_not_hold_back_the_others(server):
    resolver = _resolver(server, timeout=0.3, lifetime=0.5, max_workers=2)
    questions = [Question("slow.example", "MX"), *QUESTIONS[:6]]
    answers = asyncio.run(resolver.query_batch_async(questions))
    assert answers[0].status is AnswerStatus.TIMEOUT
    assert all(a.status is AnswerStatus.RECORDS for a in answers[1:])


def test_bad_input_raises_before_anything_is_sent(server):
    resolver = _resolver(server)
    with pytest.raises(mxroute.InvalidInput):
        asyncio.run(resolver.query_batch_async([QUESTIONS[0], Question("a..b", "MX")]))
    assert server.ports == []


def test_an_unreachable_server_is_an_answer_not_a_recursion(server):
    # A socket cannot reach port 0 (connecting or sending fails at once, as
    # EINVAL or ECONNREFUSED by platform) for every query: each failure
    # comes back through the event loop, so a big batch cannot recurse
    # through its callbacks. (No setting makes port 0; the server is edited.)
    resolver = _resolver(server, timeout=0.2, lifetime=0.3)
    settings = resolver._settings
    unusable = settings.servers[0]._replace(destination=("127.0.0.1", 0))
    object.__setattr__(settings, "servers", (unusable,))
    answers = asyncio.run(resolver.query_batch_async([Question("x.example", "MX")] * 400))
    assert {a.status for a in answers} == {AnswerStatus.TIMEOUT}
    assert re.search(r"no answer \((OSError|ConnectionRefusedError)", answers[-1].detail)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_draws_other_ids_than_its_parent():
    _transport.new_id()  # the parent's buffer is filled
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.write(write, b"".join(_transport.new_id().to_bytes(2, "big") for _ in range(4)))
        os._exit(0)
    os.close(write)
    theirs = os.read(read, 8)
    os.close(read)
    os.waitpid(child, 0)
    ours = b"".join(_transport.new_id().to_bytes(2, "big") for _ in range(4))
    assert len(theirs) == 8
    assert theirs != ours  # equal by chance: once in 2**64


def test_a_result_that_lands_after_its_query_was_cancelled_is_dropped():
    async def main() -> bool:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        landed = _transport._settle(future)  # type: ignore[arg-type]
        future.cancel()
        landed(_transport._timeout())  # no InvalidStateError in the loop's callback
        return future.cancelled()

    assert asyncio.run(main())


def test_sequential_async_queries_leave_no_socket(server):
    resolver = _resolver(server)

    async def main() -> int:
        for name, rdtype in QUESTIONS[:5]:
            assert (await resolver.query_async(name, rdtype)).records
        multiplexer = resolver._multiplexers[asyncio.get_running_loop()]
        assert multiplexer is not None
        return len(multiplexer.every)

    assert asyncio.run(main()) == 0


class _BrokenSocket:
    """Stands for a socket whose receive fails (a fake, not a patched socket)."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real

    def recv(self, size: int) -> bytes:
        raise ConnectionResetError("gone")

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_a_socket_that_fails_to_receive_is_retired(server, monkeypatch):
    monkeypatch.setattr(_transport, "SOCKETS_PER_SERVER", 2)
    resolver = _resolver(server, timeout=1.0, lifetime=1.0)

    async def main() -> tuple[mxroute.Answer, list[mxroute.Answer]]:
        loop = asyncio.get_running_loop()
        slow = [asyncio.ensure_future(resolver.query_async("slow.example", "MX")) for _ in "ab"]
        await asyncio.sleep(0.1)
        multiplexer = resolver._multiplexers[loop]
        assert multiplexer is not None
        broken = multiplexer.every[0]
        real = broken.sock
        broken.sock = _BrokenSocket(real)  # type: ignore[assignment]
        try:
            multiplexer._readable(broken)
            # The next questions go out from the other socket and a new one.
            answers = await asyncio.gather(
                resolver.query_async("d1.example", "MX"), resolver.query_async("d2.example", "MX")
            )
        finally:
            broken.sock = real
        return await slow[0], answers

    first, answers = asyncio.run(main())
    assert "ConnectionResetError" in first.detail
    assert [a.records for a in answers] == [
        (MXRecord(10, "mx.d1.example"),),
        (MXRecord(10, "mx.d2.example"),),
    ]


def test_a_closed_port_fails_the_async_question_without_waiting_out_the_timeout():
    # The multiplexed sockets are connected to their server, so the kernel
    # reports the ICMP port unreachable to them: the try ends at once, as an
    # unreachable server (a temporary failure), not after the timeout.
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    resolver = mxroute.DNSResolver(["127.0.0.1"], port=port, timeout=30.0, lifetime=30.0)
    answers = asyncio.run(resolver.query_batch_async([Question("x.example", "MX")] * 3))
    assert {a.status for a in answers} == {AnswerStatus.TIMEOUT}
    assert all("ConnectionRefusedError" in a.detail for a in answers)


def test_datagrams_from_another_port_of_the_server_address_never_reach_a_try(server):
    # Connected sockets: the kernel drops what does not come from the server's
    # own address and port, before any parsing.
    resolver = _resolver(server, timeout=0.3, lifetime=0.3)

    async def main() -> mxroute.Answer:
        task = asyncio.ensure_future(resolver.query_async("slow.example", "MX"))
        await asyncio.sleep(0.05)
        (port,) = resolver._multiplexers[asyncio.get_running_loop()].every
        query = dns.message.make_query("slow.example.", "MX")
        for pending in port.waiting.values():
            query.id = pending[0].attempt.query.id
        answer = dns.message.make_response(query)
        answer.answer.append(dns.rrset.from_text("slow.example.", 300, "IN", "MX", "10 evil."))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", 0))
            other.sendto(answer.to_wire(), port.sock.getsockname())
        return await task

    answer = asyncio.run(main())
    assert answer.status is AnswerStatus.TIMEOUT


def test_one_timer_serves_every_try_and_none_is_left_when_idle(server):
    resolver = _resolver(server, timeout=0.2, lifetime=0.2)

    async def main() -> tuple[list[mxroute.Answer], _transport.Multiplexer]:
        questions = [Question("slow.example", "MX")] * 30 + QUESTIONS[:30]
        answers = await resolver.query_batch_async(questions)
        multiplexer = resolver._multiplexers[asyncio.get_running_loop()]
        assert multiplexer is not None
        return answers, multiplexer

    answers, multiplexer = asyncio.run(main())
    assert [a.status for a in answers] == [AnswerStatus.TIMEOUT] * 30 + [AnswerStatus.RECORDS] * 30
    assert all("no answer within 0.2 s" in a.detail for a in answers[:30])
    assert (multiplexer.timeouts, multiplexer.timer, multiplexer.every) == ([], None, [])


def test_a_finished_batch_leaves_nothing_for_the_garbage_collector(server):
    # A bulk run makes hundreds of batches a second: each must be freed by
    # reference counting, not left in reference cycles.
    resolver = _resolver(server, timeout=2.0, lifetime=2.0)

    async def main() -> int:
        await resolver.query_batch_async(QUESTIONS[:4])  # the sockets and loop warmed up
        gc.collect()
        gc.disable()
        try:
            for _ in range(5):
                answers = await resolver.query_batch_async(QUESTIONS[:10])
                assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 10
            return gc.collect()
        finally:
            gc.enable()

    assert asyncio.run(main()) == 0


def test_ended_tries_neither_pile_up_in_the_timeout_heap_nor_keep_their_batch(server):
    # One unanswered question keeps the multiplexer busy while 600 others are
    # answered: their heap entries are swept out, and hold no callback.
    resolver = _resolver(server, timeout=5.0, lifetime=5.0)

    async def main() -> tuple[int, list[object]]:
        slow = asyncio.ensure_future(resolver.query_async("slow.example", "MX"))
        await asyncio.sleep(0.05)
        for _ in range(3):
            answers = await resolver.query_batch_async(QUESTIONS[:50] * 4)
            assert {a.status for a in answers} == {AnswerStatus.RECORDS}
        multiplexer = resolver._multiplexers[asyncio.get_running_loop()]
        assert multiplexer is not None
        heap = list(multiplexer.timeouts)
        slow.cancel()
        return len(heap), [entry[2].landed for entry in heap if not entry[2].live]

    size, callbacks = asyncio.run(main())
    assert size <= _transport._COMPACT_ABOVE + 1
    assert set(callbacks) <= {_transport._ended}
