"""DNSResolver against a scripted DNS server on 127.0.0.1: the outcomes BIND will not produce.

The server is real (UDP and TCP sockets); only its answers are written here,
with dnspython, to cover FORMERR, unparsable answers, CNAME loops and long
chains inside one answer, referrals, exact RFC 2308 TTLs and the query flags.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import struct

import attrs
import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import mxroute
from mxroute import AnswerStatus
from tests.bindserver import SilentServer
from tests.integration.servers import RawTCP, ScriptedServer

pytestmark = pytest.mark.integration

SOA = "ns.mxtest. hostmaster.mxtest. 1 3600 600 86400 {minimum}"


def _response(query: dns.message.Message, rcode: int = dns.rcode.NOERROR, aa: bool = True):
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if aa:
        response.flags |= dns.flags.AA
    return response


def _add(section: list[dns.rrset.RRset], name: str, ttl: int, rdtype: str, *texts: str) -> None:
    section.append(dns.rrset.from_text(name, ttl, "IN", rdtype, *texts))


def _qname(query: dns.message.Message) -> str:
    return query.question[0].name.to_text()


def _resolver(server, **options) -> mxroute.DNSResolver:
    options.setdefault("timeout", 1.0)
    options.setdefault("lifetime", 2.0)
    return mxroute.DNSResolver([server.address], port=server.port, **options)


def _both(resolver: mxroute.DNSResolver, name: str, rdtype: str) -> mxroute.Answer:
    """Ask sync, async and in a batch; all must give the same answer, which is returned."""
    sync = resolver.query(name, rdtype)
    async_ = asyncio.run(resolver.query_async(name, rdtype))
    # a batch of two is multiplexed on UDP sockets in this thread, not sent by query()
    batch = resolver.query_batch([mxroute.Question(name, rdtype)] * 2)
    # dnspython shuffles records on the wire: compare them as sets
    for other in (async_, *batch):
        assert attrs.evolve(other, records=sync.records) == sync
        assert set(other.records) == set(sync.records)
    return sync


class TestServerFailures:
    @pytest.mark.parametrize(
        ("rcode", "status"),
        [
            (dns.rcode.SERVFAIL, AnswerStatus.SERVFAIL),
            (dns.rcode.REFUSED, AnswerStatus.REFUSED),
            (dns.rcode.FORMERR, AnswerStatus.SERVFAIL),
            (dns.rcode.NOTIMP, AnswerStatus.SERVFAIL),
        ],
    )
    def test_rcode_maps_to_a_status_with_detail(self, rcode, status):
        with ScriptedServer(lambda q, tcp: _response(q, rcode, aa=False)) as server:
            answer = _both(_resolver(server), "example.mxtest", "MX")
        assert answer.status is status
        answered = f"127.0.0.1:{server.port} answered {dns.rcode.to_text(rcode)}"
        if rcode == dns.rcode.FORMERR:  # asked once more without EDNS (TestFormerrFallback)
            answered = f"{answered} to EDNS; asked again without EDNS; {answered}"
        assert answer.detail == answered
        assert answer.ttl is None
        assert answer.records == ()

    def test_a_failing_server_is_asked_once_per_question(self):
        with ScriptedServer(lambda q, tcp: _response(q, dns.rcode.SERVFAIL)) as server:
            _resolver(server).query("example.mxtest", "MX")
        assert len(server.received) == 1

    def test_unparsable_answer_is_servfail(self):
        def garbage(query, tcp):
            return query.id.to_bytes(2, "big") + b"\x81\x80\x00\x01\x00\x01"  # header cut short

        with ScriptedServer(garbage) as server:
            answer = _both(_resolver(server), "example.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "unusable answer" in answer.detail

    def test_referral_from_a_non_recursive_server_is_servfail(self):
        def referral(query, tcp):
            response = _response(query, aa=False)
            _add(response.authority, "mxtest.", 3600, "NS", "ns.elsewhere.")
            return response

        with ScriptedServer(referral) as server:
            answer = _both(_resolver(server), "example.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "referral" in answer.detail

    def test_referral_then_a_recursive_server_answers(self):
        def referral(query, tcp):
            response = _response(query, aa=False)
            _add(response.authority, "mxtest.", 3600, "NS", "ns.elsewhere.")
            return response

        def good(query, tcp):
            response = _response(query)
            _add(response.answer, _qname(query), 300, "MX", "10 mx.example.mxtest.")
            return response

        with (
            ScriptedServer(referral) as first,
            ScriptedServer(good, address="127.0.0.2", port=first.port),
        ):
            resolver = mxroute.DNSResolver(["127.0.0.1", "127.0.0.2"], port=first.port)
            answer = _both(resolver, "example.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.detail == (
            f"127.0.0.1:{first.port} answered with a referral: it does not resolve names "
            f"recursively; 127.0.0.2:{first.port} answered NOERROR"
        )

    def test_servfail_then_records_from_the_next_server(self):
        with ScriptedServer(lambda q, tcp: _response(q, dns.rcode.SERVFAIL)) as failing:

            def good(query, tcp):
                response = _response(query)
                _add(response.answer, _qname(query), 300, "MX", "10 mx.example.mxtest.")
                return response

            with ScriptedServer(good, address="127.0.0.2", port=failing.port) as working:
                resolver = mxroute.DNSResolver(
                    [failing.address, working.address], port=failing.port
                )
                answer = _both(resolver, "example.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (mxroute.MXRecord(10, "mx.example.mxtest"),)
        assert answer.detail == (
            f"127.0.0.1:{failing.port} answered SERVFAIL; 127.0.0.2:{failing.port} answered NOERROR"
        )

    def test_servfail_beats_refused_and_timeout_when_no_server_answers(self):
        with (
            ScriptedServer(lambda q, tcp: _response(q, dns.rcode.REFUSED)) as refusing,
            ScriptedServer(
                lambda q, tcp: _response(q, dns.rcode.SERVFAIL),
                address="127.0.0.2",
                port=refusing.port,
            ),
            SilentServer("127.0.0.3", refusing.port),
        ):
            resolver = mxroute.DNSResolver(
                ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
                port=refusing.port,
                timeout=0.2,
                lifetime=0.5,
            )
            answer = resolver.query("example.mxtest", "MX")
            only_refused = mxroute.DNSResolver(
                ["127.0.0.1", "127.0.0.3"], port=refusing.port, timeout=0.2, lifetime=0.5
            ).query("example.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "REFUSED" in answer.detail
        assert "SERVFAIL" in answer.detail
        assert "no answer within" in answer.detail
        assert only_refused.status is AnswerStatus.REFUSED

    def test_dropped_answer_times_out(self):
        with ScriptedServer(lambda q, tcp: None) as server:
            answer = _resolver(server, timeout=0.2, lifetime=0.5).query("example.mxtest", "MX")
        assert answer.status is AnswerStatus.TIMEOUT
        assert len(server.received) >= 2  # asked again while the lifetime lasted


class TestAnswers:
    def test_cname_loop_inside_one_answer_is_servfail(self):
        def loop(query, tcp):
            response = _response(query)
            _add(response.answer, "a.mxtest.", 300, "CNAME", "b.mxtest.")
            _add(response.answer, "b.mxtest.", 300, "CNAME", "a.mxtest.")
            return response

        with ScriptedServer(loop) as server:
            answer = _both(_resolver(server), "a.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "CNAME loop at a.mxtest" in answer.detail
        assert answer.cnames == ("b.mxtest",)  # the chain up to the loop, as InMemoryResolver

    def test_cname_chain_longer_than_the_limit_is_servfail(self):
        def chain(query, tcp):
            response = _response(query)
            for i in range(20):
                _add(response.answer, f"c{i}.mxtest.", 300, "CNAME", f"c{i + 1}.mxtest.")
            _add(response.answer, "c20.mxtest.", 300, "MX", "10 mx.mxtest.")
            return response

        with ScriptedServer(chain) as server:
            answer = _resolver(server).query("c0.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "longer than 16" in answer.detail

    def test_ttl_is_the_smallest_over_the_chain(self):
        def chain(query, tcp):
            response = _response(query)
            _add(response.answer, "a.mxtest.", 900, "CNAME", "b.mxtest.")
            _add(response.answer, "b.mxtest.", 45, "CNAME", "c.mxtest.")
            _add(response.answer, "c.mxtest.", 600, "MX", "10 mx.mxtest.")
            return response

        with ScriptedServer(chain) as server:
            answer = _both(_resolver(server), "a.mxtest", "MX")
        assert answer.cnames == ("b.mxtest", "c.mxtest")
        assert answer.ttl == 45

    @pytest.mark.parametrize(("soa_ttl", "minimum", "expected"), [(50, 300, 50), (600, 30, 30)])
    @pytest.mark.parametrize("rcode", [dns.rcode.NXDOMAIN, dns.rcode.NOERROR])
    def test_negative_ttl_is_min_of_soa_ttl_and_minimum(self, soa_ttl, minimum, expected, rcode):
        def negative(query, tcp):
            response = _response(query, rcode)
            _add(response.authority, "mxtest.", soa_ttl, "SOA", SOA.format(minimum=minimum))
            return response

        with ScriptedServer(negative) as server:
            answer = _both(_resolver(server), "x.mxtest", "MX")
        status = AnswerStatus.NXDOMAIN if rcode == dns.rcode.NXDOMAIN else AnswerStatus.NODATA
        assert answer.status is status
        assert answer.ttl == expected

    def test_negative_answer_without_soa_has_no_ttl(self):
        with ScriptedServer(lambda q, tcp: _response(q, dns.rcode.NXDOMAIN)) as server:
            answer = _resolver(server).query("x.mxtest", "MX")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert answer.ttl is None

    def test_nxdomain_after_a_cname_counts_the_cname_ttl(self):
        def dangling(query, tcp):
            response = _response(query, dns.rcode.NXDOMAIN)
            _add(response.answer, "a.mxtest.", 20, "CNAME", "gone.mxtest.")
            _add(response.authority, "mxtest.", 300, "SOA", SOA.format(minimum=300))
            return response

        with ScriptedServer(dangling) as server:
            answer = _resolver(server).query("a.mxtest", "MX")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert answer.cnames == ("gone.mxtest",)
        assert answer.ttl == 20

    def test_chain_that_stops_short_is_followed_with_a_new_question(self):
        # An authoritative server answers the CNAME only when the target is
        # outside its zones; the resolver then asks for the target.
        def partial(query, tcp):
            response = _response(query)
            if _qname(query) == "a.mxtest.":
                _add(response.answer, "a.mxtest.", 300, "CNAME", "b.other.")
            else:
                _add(response.answer, "b.other.", 100, "A", "192.0.2.9")
            return response

        with ScriptedServer(partial) as server:
            answer = _both(_resolver(server), "a.mxtest", "A")
        names = [_qname(q) for q, _ in server.received]
        # sync, then async; then the batch of two, whose questions interleave
        assert names[:4] == ["a.mxtest.", "b.other.", "a.mxtest.", "b.other."]
        assert sorted(names[4:]) == ["a.mxtest.", "a.mxtest.", "b.other.", "b.other."]
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (ipaddress.ip_address("192.0.2.9"),)
        assert answer.cnames == ("b.other",)
        assert answer.ttl == 100
        assert "answered CNAME b.other" in answer.detail

    def test_records_and_names_are_normalised(self):
        def upper(query, tcp):
            response = _response(query)
            _add(response.answer, "A.MXTEST.", 300, "CNAME", "B.MXTest.")
            _add(response.answer, "b.mxtest.", 300, "MX", "10 MX.Example.MXTEST.")
            return response

        with ScriptedServer(upper) as server:
            answer = _resolver(server).query("A.MXTEST.", "mx")
        assert answer.name == "a.mxtest"
        assert answer.rdtype == "MX"
        assert answer.cnames == ("b.mxtest",)
        assert answer.records == (mxroute.MXRecord(10, "mx.example.mxtest"),)

    def test_glue_only_for_exchanges_of_the_answer(self):
        def glue(query, tcp):
            response = _response(query)
            _add(response.answer, "d.mxtest.", 300, "MX", "10 mx.d.mxtest.", "0 .")
            _add(response.additional, "mx.d.mxtest.", 60, "A", "192.0.2.5")
            _add(response.additional, "stranger.mxtest.", 60, "A", "192.0.2.6")
            _add(response.additional, "mx.d.mxtest.", 60, "TXT", '"not an address"')
            return response

        with ScriptedServer(glue) as server:
            answer = _both(_resolver(server), "d.mxtest", "MX")
        assert [(a.name, a.rdtype, a.records, a.ttl) for a in answer.additional] == [
            ("mx.d.mxtest", "A", (ipaddress.ip_address("192.0.2.5"),), 60)
        ]


class TestQueries:
    @staticmethod
    def _empty(query, tcp):
        return _response(query)

    def test_default_query_has_rd_and_edns_1232_without_do(self):
        with ScriptedServer(self._empty) as server:
            _resolver(server).query("x.mxtest", "MX")
        query, tcp = server.received[0]
        assert not tcp
        assert query.flags & dns.flags.RD
        assert query.edns == 0
        assert query.payload == 1232
        assert not query.ednsflags & dns.flags.DO

    def test_no_edns(self):
        with ScriptedServer(self._empty) as server:
            _resolver(server, edns_payload=None).query("x.mxtest", "MX")
        assert server.received[0][0].edns == -1

    def test_dnssec_sets_do_and_ad(self):
        with ScriptedServer(self._empty) as server:
            _resolver(server, dnssec=True, edns_payload=4096).query("x.mxtest", "MX")
        query = server.received[0][0]
        assert query.ednsflags & dns.flags.DO
        assert query.flags & dns.flags.AD
        assert query.payload == 4096

    @pytest.mark.parametrize("ad", [True, False])
    def test_ad_bit_of_the_response_is_authenticated(self, ad):
        def answer(query, tcp):
            response = _response(query, aa=False)
            if ad:
                response.flags |= dns.flags.AD
            _add(response.answer, "x.mxtest.", 300, "MX", "10 mx.x.mxtest.")
            _add(response.additional, "mx.x.mxtest.", 300, "A", "192.0.2.7")
            return response

        with ScriptedServer(answer) as server:
            result = _both(_resolver(server, dnssec=True), "x.mxtest", "MX")
        assert result.authenticated is ad
        assert result.additional[0].authenticated is ad

    @pytest.mark.parametrize("tcp_only", [False, True])
    def test_ad_bit_is_not_authenticated_unless_dnssec_was_asked(self, tcp_only):
        def answer(query, tcp):
            response = _records(query, tcp)
            response.flags |= dns.flags.AD
            _add(response.additional, "mx.x.mxtest.", 300, "A", "192.0.2.7")
            return response

        with ScriptedServer(answer) as server:
            result = _both(_resolver(server, tcp=tcp_only), "x.mxtest", "MX")
        assert result.authenticated is False
        assert result.additional[0].authenticated is False

    def test_tcp_only_never_uses_udp(self):
        with ScriptedServer(self._empty) as server:
            _both(_resolver(server, tcp=True), "x.mxtest", "MX")
        assert [tcp for _, tcp in server.received] == [True] * 4  # sync, async, batch of two

    def test_truncated_udp_answer_is_asked_again_over_tcp(self):
        def truncate(query, tcp):
            response = _response(query)
            if not tcp:
                response.flags |= dns.flags.TC
                return response
            _add(response.answer, "x.mxtest.", 300, "MX", "10 mx.x.mxtest.")
            return response

        with ScriptedServer(truncate) as server:
            answer = _both(_resolver(server), "x.mxtest", "MX")
        transports = [tcp for _, tcp in server.received]
        # sync, then async; then the batch of two, whose questions interleave
        assert transports[:4] == [False, True, False, True]
        assert sorted(transports[4:]) == [False, False, True, True]
        assert answer.records == (mxroute.MXRecord(10, "mx.x.mxtest"),)
        assert answer.detail.startswith(f"127.0.0.1:{server.port} truncated the UDP answer")


class _NoReaderLoop(asyncio.SelectorEventLoop):
    """An event loop that cannot watch sockets, as the proactor loop of Windows."""

    def add_reader(self, *args, **kwargs):
        raise NotImplementedError


def _records(query, tcp):
    response = _response(query)
    _add(response.answer, _qname(query), 300, "MX", "10 mx.x.mxtest.")
    return response


class TestSockets:
    """DNSResolver's own socket handling (sync, async and batched UDP tries)."""

    def test_an_answer_from_another_port_is_ignored(self):
        def decoy(query, tcp):
            return _response(query, dns.rcode.SERVFAIL)

        with ScriptedServer(_records, decoy=decoy) as server:
            answer = _both(_resolver(server), "x.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.detail == f"127.0.0.1:{server.port} answered NOERROR"

    def test_only_answers_from_another_port_time_out(self):
        def decoy(query, tcp):
            return _records(query, tcp)

        with ScriptedServer(lambda q, tcp: None, decoy=decoy) as server:
            resolver = _resolver(server, timeout=0.2, lifetime=0.3)
            answers = [
                resolver.query("x.mxtest", "MX"),
                asyncio.run(resolver.query_async("x.mxtest", "MX")),
                *resolver.query_batch([mxroute.Question("x.mxtest", "MX")] * 2),
            ]
        assert [a.status for a in answers] == [AnswerStatus.TIMEOUT] * 4
        assert all(a.records == () for a in answers)

    def test_async_dropped_answer_times_out_and_is_asked_again(self):
        with ScriptedServer(lambda q, tcp: None) as server:
            resolver = _resolver(server, timeout=0.2, lifetime=0.5)
            answer = asyncio.run(resolver.query_async("example.mxtest", "MX"))
        assert answer.status is AnswerStatus.TIMEOUT
        assert len(server.received) >= 2

    def test_loop_without_add_reader_uses_dnspython_transports(self):
        loop = _NoReaderLoop()
        try:
            with ScriptedServer(_records) as server:
                resolver = _resolver(server, timeout=0.2, lifetime=0.5)
                answer = loop.run_until_complete(resolver.query_async("x.mxtest", "MX"))
                with pytest.raises(NotImplementedError):
                    loop.add_reader(0, print)
            with ScriptedServer(lambda q, tcp: None) as silent:
                resolver = _resolver(silent, timeout=0.2, lifetime=0.3)
                late = loop.run_until_complete(resolver.query_async("x.mxtest", "MX"))
        finally:
            loop.close()
        assert answer.records == (mxroute.MXRecord(10, "mx.x.mxtest"),)
        assert late.status is AnswerStatus.TIMEOUT

    def test_cancelled_async_query_leaves_no_socket_or_reader(self):
        def open_fds() -> int:
            return len(os.listdir("/proc/self/fd"))

        async def cancel_one(resolver: mxroute.DNSResolver) -> int:
            loop = asyncio.get_running_loop()
            before = len(loop._selector.get_map())  # type: ignore[attr-defined]
            task = asyncio.ensure_future(resolver.query_async("x.mxtest", "MX"))
            await asyncio.sleep(0.1)
            assert len(loop._selector.get_map()) == before + 1  # type: ignore[attr-defined]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return len(loop._selector.get_map()) - before  # type: ignore[attr-defined]

        with ScriptedServer(lambda q, tcp: None) as server:
            resolver = _resolver(server, timeout=5.0, lifetime=5.0)
            asyncio.run(cancel_one(resolver))  # warm up: the first run opens the loop's own fds
            before = open_fds()
            assert asyncio.run(cancel_one(resolver)) == 0
            assert open_fds() == before


def _another_id(query, tcp):
    response = _records(query, tcp)
    response.id = (query.id + 1) % 65536
    return response


def _another_question(query, tcp):
    other = dns.message.make_query("other.mxtest.", "MX")
    other.id = query.id
    response = dns.message.make_response(other)
    response.set_rcode(dns.rcode.SERVFAIL)
    return response


def _reflected(query, tcp):
    return query


class TestIgnoredDatagrams:
    """RFC 5452 §9.1: a datagram that does not answer the query is ignored, not a failure."""

    @pytest.mark.parametrize("spoof", [_another_id, _another_question, _reflected])
    def test_the_real_answer_after_a_stray_datagram_counts(self, spoof):
        with ScriptedServer(_records, spoof=spoof) as server:
            answer = _both(_resolver(server), "x.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (mxroute.MXRecord(10, "mx.x.mxtest"),)
        assert answer.detail == f"127.0.0.1:{server.port} answered NOERROR"

    @pytest.mark.parametrize("spoof", [_another_id, _another_question, _reflected])
    def test_also_on_a_loop_that_cannot_watch_sockets(self, spoof):
        loop = _NoReaderLoop()
        try:
            with ScriptedServer(_records, spoof=spoof) as server:
                answer = loop.run_until_complete(_resolver(server).query_async("x.mxtest", "MX"))
        finally:
            loop.close()
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (mxroute.MXRecord(10, "mx.x.mxtest"),)

    @pytest.mark.parametrize("spoof", [_another_id, _another_question, _reflected])
    def test_only_stray_datagrams_time_out(self, spoof):
        with ScriptedServer(lambda q, tcp: None, spoof=spoof) as server:
            resolver = _resolver(server, timeout=0.2, lifetime=0.3)
            answers = [
                resolver.query("x.mxtest", "MX"),
                asyncio.run(resolver.query_async("x.mxtest", "MX")),
                *resolver.query_batch([mxroute.Question("x.mxtest", "MX")] * 2),
            ]
        assert [a.status for a in answers] == [AnswerStatus.TIMEOUT] * 4


def _cut_short(wire: bytes) -> RawTCP:
    """A TCP answer whose length prefix promises more than is sent before the close."""
    return RawTCP(struct.pack("!H", len(wire) + 40) + wire)


class TestIncompleteAnswers:
    """An answer that is incomplete or does not parse is a temporary failure, never NODATA."""

    @staticmethod
    def _truncating(tcp_reply):
        def handler(query, tcp):
            if not tcp:
                response = _response(query)
                response.flags |= dns.flags.TC
                return response
            return tcp_reply(query)

        return handler

    @pytest.mark.parametrize(
        "tcp_reply",
        [
            pytest.param(lambda q: _cut_short(_response(q).to_wire()), id="closed-mid-message"),
            pytest.param(
                lambda q: _cut_short(_records(q, True).to_wire()[:-10]), id="cut-in-a-record"
            ),
            pytest.param(
                lambda q: _response(q).to_wire()[:-11], id="length-prefix-of-the-cut-message"
            ),
        ],
    )
    @pytest.mark.parametrize("tcp_only", [False, True])
    def test_a_tcp_answer_cut_short_is_a_temporary_failure(self, tcp_reply, tcp_only):
        with ScriptedServer(self._truncating(tcp_reply)) as server:
            answer = _both(_resolver(server, tcp=tcp_only), "x.mxtest", "MX")
        assert answer.status in (AnswerStatus.SERVFAIL, AnswerStatus.TIMEOUT)
        assert answer.status is not AnswerStatus.NODATA

    @pytest.mark.parametrize("tcp_only", [False, True])
    def test_a_tcp_answer_with_the_tc_bit_is_servfail(self, tcp_only):
        def handler(query, tcp):
            response = _response(query)
            response.flags |= dns.flags.TC
            return response

        with ScriptedServer(handler) as server:
            answer = _both(_resolver(server, tcp=tcp_only), "x.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "truncated the TCP answer" in answer.detail

    def test_an_incomplete_mx_answer_never_routes_to_the_implicit_mx(self):
        def handler(query, tcp):
            response = _response(query)
            response.flags |= dns.flags.TC
            if query.question[0].rdtype == dns.rdatatype.A:
                _add(response.answer, _qname(query), 300, "A", "192.0.2.1")
                response.flags &= ~dns.flags.TC
            return response

        with ScriptedServer(handler) as server:
            router = mxroute.Router(resolver=_resolver(server))
            with pytest.raises(mxroute.TemporaryRouteError):
                router.resolve("alice@x.mxtest")


class TestFormerrFallback:
    """RFC 6891 §7: a server that answers FORMERR to EDNS is asked once more without it."""

    @staticmethod
    def _no_edns(query, tcp):
        if query.edns >= 0:
            return _response(query, dns.rcode.FORMERR, aa=False)
        return _records(query, tcp)

    @pytest.mark.parametrize("tcp_only", [False, True])
    def test_formerr_to_edns_is_asked_again_without_edns(self, tcp_only):
        with ScriptedServer(self._no_edns) as server:
            answer = _both(_resolver(server, tcp=tcp_only), "x.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (mxroute.MXRecord(10, "mx.x.mxtest"),)
        label = f"127.0.0.1:{server.port}"
        assert answer.detail == (
            f"{label} answered FORMERR to EDNS; asked again without EDNS; {label} answered NOERROR"
        )
        assert [query.edns for query, _ in server.received][:2] == [0, -1]

    def test_the_retry_without_edns_is_made_once(self):
        with ScriptedServer(lambda q, tcp: _response(q, dns.rcode.FORMERR)) as server:
            answer = _resolver(server).query("x.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert [query.edns for query, _ in server.received] == [0, -1]

    def test_formerr_without_edns_is_not_asked_again(self):
        with ScriptedServer(lambda q, tcp: _response(q, dns.rcode.FORMERR)) as server:
            answer = _resolver(server, edns_payload=None).query("x.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert len(server.received) == 1

    def test_an_answer_without_edns_is_never_authenticated(self):
        def no_edns_ad(query, tcp):
            response = self._no_edns(query, tcp)
            response.flags |= dns.flags.AD
            return response

        with ScriptedServer(no_edns_ad) as server:
            answer = _resolver(server, dnssec=True).query("x.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.authenticated is False
