"""DNSResolver's answers against a real BIND 9: statuses, TTLs, CNAMEs, glue, transports."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import ipaddress
import pickle
import threading

import attrs
import dns.flags
import dns.message
import dns.query
import pytest

import mxroute
from mxroute import AnswerStatus, MXRecord
from tests.bindserver import BindServer, SilentServer

pytestmark = pytest.mark.integration

ip = ipaddress.ip_address


def _unordered(answer: mxroute.Answer) -> mxroute.Answer:
    return attrs.evolve(
        answer,
        records=sorted(answer.records, key=str),
        additional=sorted(map(_unordered, answer.additional), key=repr),
    )


class TestStatuses:
    def test_records_are_converted_like_the_in_memory_resolver(self, resolver):
        answer = resolver.query("two-mx.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert sorted(answer.records) == [
            MXRecord(10, "mx1.two-mx.mxtest"),
            MXRecord(20, "mx2.two-mx.mxtest"),
        ]
        assert answer.ttl == 300
        assert answer.name == "two-mx.mxtest"
        assert answer.rdtype == "MX"
        assert answer.detail == f"127.0.0.1:{resolver.port} answered NOERROR"

    def test_addresses_are_ipaddress_objects(self, resolver):
        assert resolver.query("mx1.two-mx.mxtest", "A").records == (ip("192.0.2.1"),)
        assert resolver.query("mx1.two-mx.mxtest", "AAAA").records == (ip("2001:db8::1"),)

    def test_other_types_are_zone_file_text(self, resolver):
        assert resolver.query("empty.mxtest", "TXT").records == ('"v=spf1 -all"',)

    def test_nxdomain_has_the_soa_negative_ttl(self, resolver):
        answer = resolver.query("missing.mxtest", "MX")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert answer.ttl == 120  # min(SOA TTL 3600, SOA MINIMUM 120)
        assert "NXDOMAIN" in answer.detail

    def test_nodata_has_the_soa_negative_ttl(self, resolver):
        answer = resolver.query("a-only.mxtest", "MX")
        assert answer.status is AnswerStatus.NODATA
        assert answer.ttl == 120
        assert answer.records == ()

    def test_a_name_with_other_types_only_is_nodata(self, resolver):
        assert resolver.query("cname-target.mxtest", "A").status is AnswerStatus.NODATA

    def test_servfail_from_a_zone_that_did_not_load(self, resolver):
        answer = resolver.query("broken.mxtest", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert answer.detail == f"127.0.0.1:{resolver.port} answered SERVFAIL"
        assert answer.ttl is None

    def test_refused_by_allow_query(self, resolver):
        answer = resolver.query("refused.mxtest", "MX")
        assert answer.status is AnswerStatus.REFUSED
        assert "REFUSED" in answer.detail

    def test_refused_outside_every_zone(self, resolver):
        assert resolver.query("example.invalid", "MX").status is AnswerStatus.REFUSED

    def test_silent_server_times_out(self, silent: SilentServer):
        resolver = mxroute.DNSResolver(
            [silent.address], port=silent.port, timeout=0.2, lifetime=0.5
        )
        answer = resolver.query("two-mx.mxtest", "MX")
        assert answer.status is AnswerStatus.TIMEOUT
        assert "no answer within" in answer.detail
        assert "lifetime" in answer.detail

    def test_silent_server_over_tcp_times_out(self, silent: SilentServer):
        resolver = mxroute.DNSResolver(
            [silent.address], port=silent.port, timeout=0.2, lifetime=0.4, tcp=True
        )
        assert resolver.query("two-mx.mxtest", "MX").status is AnswerStatus.TIMEOUT

    def test_a_silent_server_is_skipped_for_the_next_one(self, bind: BindServer):
        with SilentServer("127.0.0.2", bind.port) as silent:
            resolver = mxroute.DNSResolver(
                [silent.address, bind.address], port=bind.port, timeout=0.2, lifetime=3.0
            )
            answer = resolver.query("two-mx.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.detail == (
            f"127.0.0.2:{bind.port}: no answer within 0.2 s; 127.0.0.1:{bind.port} answered NOERROR"
        )


class TestCNAMEs:
    def test_cname_chain_is_followed_and_reported(self, resolver):
        answer = resolver.query("alias.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.cnames == ("two-mx.mxtest",)
        assert answer.canonical_name == "two-mx.mxtest"
        assert answer.ttl == 200  # the CNAME's TTL is below the MX's 300

    def test_cname_to_a_missing_name_is_nxdomain_with_the_chain(self, resolver):
        answer = resolver.query("alias-nx.mxtest", "MX")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert answer.cnames == ("nothing.mxtest",)
        assert answer.ttl == 120

    def test_asking_for_the_cname_itself_returns_it(self, resolver):
        answer = resolver.query("alias.mxtest", "CNAME")
        assert answer.records == ("two-mx.mxtest",)
        assert answer.cnames == ()


class TestGlue:
    def test_mx_answer_carries_addresses_of_in_zone_exchanges(self, resolver):
        answer = resolver.query("two-mx.mxtest", "MX")
        glue = {(a.name, a.rdtype): a.records for a in answer.additional}
        assert glue == {
            ("mx1.two-mx.mxtest", "A"): (ip("192.0.2.1"),),
            ("mx1.two-mx.mxtest", "AAAA"): (ip("2001:db8::1"),),
            ("mx2.two-mx.mxtest", "A"): (ip("192.0.2.2"),),
            ("mx2.two-mx.mxtest", "AAAA"): (ip("2001:db8::2"),),
        }
        assert all(a.status is AnswerStatus.RECORDS for a in answer.additional)
        assert {a.ttl for a in answer.additional} == {600, 3600}

    def test_use_additional_false_carries_nothing(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, use_additional=False)
        assert resolver.query("two-mx.mxtest", "MX").additional == ()

    def test_minimal_responses_carry_nothing(self, bind_minimal: BindServer):
        resolver = mxroute.DNSResolver([bind_minimal.address], port=bind_minimal.port)
        assert resolver.query("two-mx.mxtest", "MX").additional == ()

    def test_only_mx_answers_carry_glue(self, resolver):
        assert resolver.query("mx1.two-mx.mxtest", "A").additional == ()


class TestTransports:
    def test_udp_answer_without_edns_is_truncated(self, bind: BindServer):
        # The fixture itself: 30 MX records do not fit in 512 octets.
        query = dns.message.make_query("many.mxtest.", "MX", use_edns=False)
        response = dns.query.udp(query, bind.address, port=bind.port, timeout=2)
        assert response.flags & dns.flags.TC

    def test_truncated_udp_answer_is_asked_again_over_tcp(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, edns_payload=None)
        answer = resolver.query("many.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert len(answer.records) == 30
        assert "truncated the UDP answer; asked again over TCP" in answer.detail

    def test_a_large_edns_buffer_needs_no_tcp(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, edns_payload=4096)
        answer = resolver.query("many.mxtest", "MX")
        assert len(answer.records) == 30
        assert "truncated" not in answer.detail

    def test_tcp_only(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, tcp=True, edns_payload=None)
        answer = resolver.query("many.mxtest", "MX")
        assert len(answer.records) == 30
        assert "truncated" not in answer.detail

    def test_async_answers_equal_sync_answers(self, resolver):
        questions = [
            ("two-mx.mxtest", "MX"),
            ("missing.mxtest", "MX"),
            ("alias.mxtest", "MX"),
            ("broken.mxtest", "MX"),
            ("refused.mxtest", "MX"),
        ]

        async def ask_all():
            return await asyncio.gather(*(resolver.query_async(n, t) for n, t in questions))

        # named rotates the order of records between answers: compare as sets
        assert [_unordered(a) for a in asyncio.run(ask_all())] == [
            _unordered(resolver.query(n, t)) for n, t in questions
        ]

    def test_async_truncation_falls_back_to_tcp(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, edns_payload=None)
        answer = asyncio.run(resolver.query_async("many.mxtest", "MX"))
        assert len(answer.records) == 30
        assert "over TCP" in answer.detail

    def test_batch_answers_come_back_in_question_order(self, resolver):
        questions = [
            mxroute.Question(f"mail-exchanger-{i:02d}.many.mxtest", "A") for i in range(1, 31)
        ]
        answers = resolver.query_batch(questions)
        assert [a.name for a in answers] == [q.name for q in questions]
        assert [a.records for a in answers] == [(ip(f"198.51.100.{i}"),) for i in range(1, 31)]

    @pytest.mark.parametrize("max_workers", [1, 3, 8])
    def test_batch_answers_equal_one_by_one_answers(self, bind: BindServer, max_workers):
        resolver = mxroute.DNSResolver(
            [bind.address], port=bind.port, edns_payload=None, max_workers=max_workers
        )
        questions = [
            mxroute.Question(name, rdtype)
            for name, rdtype in [
                ("two-mx.mxtest", "MX"),
                ("many.mxtest", "MX"),  # truncated over UDP: asked again over TCP
                ("missing.mxtest", "MX"),
                ("a-only.mxtest", "MX"),
                ("alias.mxtest", "MX"),
                ("alias-nx.mxtest", "MX"),
                ("broken.mxtest", "MX"),
                ("refused.mxtest", "MX"),
                ("mx1.two-mx.mxtest", "AAAA"),
            ]
        ]
        batch = resolver.query_batch(questions)
        # named rotates the order of records between answers: compare as sets
        assert [_unordered(a) for a in batch] == [
            _unordered(resolver.query(n, t)) for n, t in questions
        ]
        assert "asked again over TCP" in batch[1].detail

    def test_batch_skips_a_silent_server_for_every_question(self, bind: BindServer):
        with SilentServer("127.0.0.2", bind.port) as silent:
            resolver = mxroute.DNSResolver(
                [silent.address, bind.address],
                port=bind.port,
                timeout=0.2,
                lifetime=3.0,
                max_workers=2,
            )
            answers = resolver.query_batch(
                [mxroute.Question("mx1.two-mx.mxtest", "A")] * 3
                + [mxroute.Question("missing.mxtest", "MX")]
            )
        assert [a.status for a in answers] == [AnswerStatus.RECORDS] * 3 + [AnswerStatus.NXDOMAIN]
        for answer in answers:
            assert answer.detail.startswith(f"127.0.0.2:{bind.port}: no answer within 0.2 s; ")
        assert answers[0].records == (ip("192.0.2.1"),)

    def test_batch_to_a_silent_server_times_out_every_question(self, silent: SilentServer):
        resolver = mxroute.DNSResolver(
            [silent.address], port=silent.port, timeout=0.2, lifetime=0.5
        )
        answers = resolver.query_batch(
            [mxroute.Question("two-mx.mxtest", "MX"), mxroute.Question("x.mxtest", "A")]
        )
        assert [a.status for a in answers] == [AnswerStatus.TIMEOUT] * 2
        for answer in answers:
            assert "no answer within" in answer.detail
            assert "lifetime" in answer.detail

    def test_close_stops_the_pool_and_the_resolver_stays_usable(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port)
        questions = [mxroute.Question("mx1.two-mx.mxtest", "A")] * 3
        assert len(resolver.query_batch(questions)) == 3
        resolver.close()
        assert resolver.query_batch(questions)[2].records == (ip("192.0.2.1"),)
        resolver.close()


class TestSystemConfiguration:
    def test_search_list_is_never_used(self, bind: BindServer, tmp_path):
        conf = tmp_path / "resolv.conf"
        conf.write_text("search mxtest\ndomain mxtest\noptions ndots:5\nnameserver 127.0.0.1\n")
        resolver = mxroute.DNSResolver(resolv_conf=conf, port=bind.port)
        assert resolver.nameservers == ("127.0.0.1",)
        # "two-mx" would be two-mx.mxtest. with the search list; asked as the
        # absolute name two-mx. it is outside every zone of the server.
        assert resolver.query("two-mx", "MX").status is AnswerStatus.REFUSED
        assert resolver.query("two-mx.mxtest", "MX").status is AnswerStatus.RECORDS


class TestCloseUnderThreads:
    """close() while other threads route: the resolver stays usable (docs/dns.md)."""

    def test_close_while_threads_ask_batches_never_raises(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, tcp=True, max_workers=4)
        questions = [mxroute.Question("mx1.two-mx.mxtest", "A")] * 3
        errors: list[BaseException] = []
        statuses: list[AnswerStatus] = []
        done = threading.Event()

        def ask() -> None:
            try:
                for _ in range(20):
                    statuses.extend(a.status for a in resolver.query_batch(questions))
            except BaseException as exc:  # the test counts every kind
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(6)]
        for thread in threads:
            thread.start()

        def closer() -> None:
            while not done.is_set():
                resolver.close()

        closing = threading.Thread(target=closer)
        closing.start()
        for thread in threads:
            thread.join()
        done.set()
        closing.join()
        resolver.close()
        assert errors == []
        assert statuses == [AnswerStatus.RECORDS] * (6 * 20 * 3)

    def test_every_protocol_works_after_close(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, tcp=True)
        questions = [mxroute.Question("mx1.two-mx.mxtest", "A")] * 2
        resolver.query_batch(questions)
        resolver.close()
        assert resolver.query("two-mx.mxtest", "MX").status is AnswerStatus.RECORDS
        assert asyncio.run(resolver.query_async("two-mx.mxtest", "MX")).records
        assert [a.status for a in resolver.query_batch(questions)] == [AnswerStatus.RECORDS] * 2
        resolver.close()


def _route_in_another_process(resolver: mxroute.DNSResolver) -> list[str]:
    return [
        str(host) for host in mxroute.Router(resolver=resolver).resolve("a@two-mx.mxtest").hosts
    ]


class TestPickling:
    """A DNSResolver pickles and deep-copies with its settings; its pool and lock are new."""

    @pytest.mark.parametrize("tcp", [False, True])
    def test_pickle_round_trip_answers_queries(self, bind: BindServer, tcp):
        resolver = mxroute.DNSResolver(
            [bind.address], port=bind.port, timeout=1.5, lifetime=3.0, tcp=tcp, max_workers=3
        )
        questions = [mxroute.Question("mx1.two-mx.mxtest", "A")] * 2
        resolver.query_batch(questions)  # with tcp=True, starts the thread pool
        for copy_ in (pickle.loads(pickle.dumps(resolver)), copy.deepcopy(resolver)):
            assert copy_ is not resolver
            assert repr(copy_) == repr(resolver)
            assert copy_.max_workers == 3
            assert copy_.query("two-mx.mxtest", "MX").status is AnswerStatus.RECORDS
            assert [a.records for a in copy_.query_batch(questions)] == [(ip("192.0.2.1"),)] * 2
            copy_.close()
        resolver.close()

    def test_works_in_a_process_pool(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, tcp=True)
        resolver.query_batch([mxroute.Question("mx1.two-mx.mxtest", "A")] * 2)
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            hosts = pool.submit(_route_in_another_process, resolver).result(timeout=30)
        assert hosts == _route_in_another_process(resolver)
        resolver.close()
