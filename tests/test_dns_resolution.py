"""The resolution loop of DNSResolver, driven without sockets, clocks or randomness.

Each test plays the driver: it answers every :class:`Try` the loop yields
with a made-up response (or exception) and a made-up time, and checks the
tries asked and the answer given, as dnspython's ``tests/test_resolution.py``
drives its ``_Resolution``: retries, lifetime, TC→TCP, FORMERR without EDNS,
CNAME chasing, server rotation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

import mxroute
from mxroute import AnswerStatus
from mxroute._resolvers.dns._config import Settings
from mxroute._resolvers.dns._resolution import Reply, Result, Try, resolution

START = 1000.0
"""The made-up start time: far from any real clock, so a clock read would show."""

Script = Callable[[Try], "tuple[Result, float]"]


def _settings(servers: int = 2, **options: object) -> Settings:
    options.setdefault("timeout", 1.0)
    options.setdefault("lifetime", 3.0)
    addresses = [f"192.0.2.{n}" for n in range(1, servers + 1)]
    return mxroute.DNSResolver(addresses, **options)._settings


def _run(
    settings: Settings, script: Script, name: str = "x.example", rdtype: str = "MX"
) -> tuple[mxroute.Answer, list[Try]]:
    """Drive one resolution: ``script(try)`` gives each try's result and its duration."""
    ids = itertools.count(1)
    questioning = resolution(settings, name, rdtype, START, lambda: next(ids))
    tries: list[Try] = []
    now = START
    try:
        attempt = next(questioning)
        while True:
            tries.append(attempt)
            result, took = script(attempt)
            now += took
            attempt = questioning.send(Reply(result, now))
    except StopIteration as done:
        return done.value, tries


def _response(attempt: Try, rcode: int = dns.rcode.NOERROR, *records: str) -> dns.message.Message:
    """A response to the try's query; each record is ``"name ttl type rdata"``."""
    response = dns.message.make_response(attempt.query.message())
    response.set_rcode(rcode)
    for record in records:
        owner, ttl, rdtype, *rdata = record.split()
        response.answer.append(dns.rrset.from_text(owner, int(ttl), "IN", rdtype, " ".join(rdata)))
    return response


def _mx(attempt: Try) -> dns.message.Message:
    name = attempt.query.name.to_text()
    return _response(attempt, dns.rcode.NOERROR, f"{name} 300 MX 10 mx.example.")


def _timeout() -> Exception:
    return dns.exception.Timeout()


def _servers(tries: list[Try]) -> list[str]:
    return [t.server.address for t in tries]


class TestRetries:
    def test_first_server_answers(self):
        answer, tries = _run(_settings(), lambda t: (_mx(t), 0.01))
        assert answer.status is AnswerStatus.RECORDS
        assert _servers(tries) == ["192.0.2.1"]
        assert tries[0].timeout == 1.0
        assert not tries[0].tcp

    def test_a_timeout_moves_to_the_next_server_and_comes_back_next_round(self):
        timeouts = iter([(_timeout(), 1.0)] * 3)
        script = lambda t: next(timeouts, (_mx(t), 0.1))  # noqa: E731 -- a one-line callable, clearer inline than a def
        answer, tries = _run(_settings(lifetime=5.0), script)
        assert _servers(tries) == ["192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.2"]
        assert answer.status is AnswerStatus.RECORDS
        assert answer.detail.count("no answer within 1 s") == 3

    def test_a_failing_server_is_not_asked_again(self):
        def script(t: Try) -> tuple[Result, float]:
            if t.server.address == "192.0.2.1":
                return _response(t, dns.rcode.SERVFAIL), 0.01
            return _timeout(), 1.0

        answer, tries = _run(_settings(lifetime=3.0), script)
        assert _servers(tries) == ["192.0.2.1", "192.0.2.2", "192.0.2.2", "192.0.2.2"]
        assert answer.status is AnswerStatus.SERVFAIL

    def test_servfail_then_the_next_server_answers(self):
        def script(t: Try) -> tuple[Result, float]:
            if t.server.address == "192.0.2.1":
                return _response(t, dns.rcode.SERVFAIL), 0.01
            return _mx(t), 0.01

        answer, _ = _run(_settings(), script)
        assert answer.status is AnswerStatus.RECORDS
        assert answer.detail == "192.0.2.1:53 answered SERVFAIL; 192.0.2.2:53 answered NOERROR"

    @pytest.mark.parametrize(
        ("codes", "status"),
        [
            ((dns.rcode.REFUSED, dns.rcode.REFUSED), AnswerStatus.REFUSED),
            ((dns.rcode.REFUSED, dns.rcode.SERVFAIL), AnswerStatus.SERVFAIL),
            ((dns.rcode.NOTIMP, dns.rcode.REFUSED), AnswerStatus.SERVFAIL),
        ],
    )
    def test_status_when_every_server_fails(self, codes, status):
        by_server = dict(zip(("192.0.2.1", "192.0.2.2"), codes, strict=True))
        answer, tries = _run(_settings(), lambda t: (_response(t, by_server[t.server.address]), 0))
        assert answer.status is status
        assert len(tries) == 2

    def test_an_unreachable_server_is_dropped_without_a_failure(self):
        answer, tries = _run(_settings(servers=1), lambda t: (OSError("unreachable"), 0.0))
        assert answer.status is AnswerStatus.TIMEOUT
        assert len(tries) == 1
        assert "no answer (OSError: unreachable)" in answer.detail

    def test_an_unusable_answer_is_servfail(self):
        answer, _ = _run(_settings(servers=1), lambda t: (dns.exception.FormError("bad"), 0.0))
        assert answer.status is AnswerStatus.SERVFAIL
        assert "unusable answer (FormError: bad)" in answer.detail


class TestLifetime:
    def test_tries_stop_when_the_lifetime_is_used_up(self):
        answer, tries = _run(_settings(servers=1, lifetime=2.5), lambda t: (_timeout(), t.timeout))
        assert answer.status is AnswerStatus.TIMEOUT
        assert [t.timeout for t in tries] == [1.0, 1.0, 0.5]
        assert answer.detail.endswith("lifetime of 2.5 s used up")

    def test_the_last_try_gets_what_is_left(self):
        _, tries = _run(_settings(servers=1, lifetime=1.5), lambda t: (_timeout(), 1.25))
        assert [t.timeout for t in tries] == [1.0, 0.25]

    def test_the_clock_is_the_drivers(self):
        # The replies say a whole hour passed: no real clock would, so the
        # loop must take its time from the replies only.
        answer, tries = _run(_settings(servers=2, lifetime=3.0), lambda t: (_timeout(), 3600.0))
        assert len(tries) == 1
        assert answer.status is AnswerStatus.TIMEOUT


class TestTruncation:
    def test_tc_over_udp_is_asked_again_over_tcp_from_the_same_server(self):
        def script(t: Try) -> tuple[Result, float]:
            if not t.tcp:
                return dns.message.Truncated(message=_response(t)), 0.1
            return _mx(t), 0.1

        answer, tries = _run(_settings(), script)
        assert [(t.server.address, t.tcp) for t in tries] == [
            ("192.0.2.1", False),
            ("192.0.2.1", True),
        ]
        assert tries[1].query == tries[0].query
        assert answer.status is AnswerStatus.RECORDS
        assert answer.detail.startswith(
            "192.0.2.1:53 truncated the UDP answer; asked again over TCP"
        )

    def test_no_tcp_when_no_time_is_left(self):
        answer, tries = _run(
            _settings(servers=1, lifetime=1.0),
            lambda t: (dns.message.Truncated(message=_response(t)), 1.0),
        )
        assert len(tries) == 1
        assert answer.status is AnswerStatus.TIMEOUT
        assert "no time left for TCP" in answer.detail

    def test_tc_over_tcp_is_servfail_never_nodata(self):
        def script(t: Try) -> tuple[Result, float]:
            response = _response(t)
            response.flags |= dns.flags.TC
            return response, 0.01

        answer, _ = _run(_settings(servers=1, tcp=True), script)
        assert answer.status is AnswerStatus.SERVFAIL
        assert answer.detail == "192.0.2.1:53 truncated the TCP answer"


class TestFormerr:
    def test_formerr_to_edns_is_asked_once_more_without_edns(self):
        def script(t: Try) -> tuple[Result, float]:
            if t.query.edns:
                return _response(t, dns.rcode.FORMERR), 0.01
            return _mx(t), 0.01

        answer, tries = _run(_settings(), script)
        assert [(t.server.address, t.query.edns) for t in tries] == [
            ("192.0.2.1", True),
            ("192.0.2.1", False),
        ]
        assert tries[1].query.message().edns == -1
        assert tries[1].query.id != tries[0].query.id  # a new query, a new ID
        assert answer.status is AnswerStatus.RECORDS

    def test_formerr_without_edns_ends_that_server(self):
        answer, tries = _run(_settings(), lambda t: (_response(t, dns.rcode.FORMERR), 0.01))
        assert [(t.server.address, t.query.edns) for t in tries] == [
            ("192.0.2.1", True),
            ("192.0.2.1", False),
            ("192.0.2.2", True),
            ("192.0.2.2", False),
        ]
        assert answer.status is AnswerStatus.SERVFAIL

    def test_no_edns_configured_means_no_fallback(self):
        _, tries = _run(
            _settings(servers=1, edns_payload=None),
            lambda t: (_response(t, dns.rcode.FORMERR), 0.01),
        )
        assert len(tries) == 1


class TestQueryIds:
    def test_ids_come_from_the_driver(self):
        _, tries = _run(_settings(), lambda t: (_response(t, dns.rcode.SERVFAIL), 0.0))
        assert [t.query.id for t in tries] == [1, 1]  # one query per name, to every server


class TestCNAMEs:
    def test_a_chain_inside_the_answer(self):
        def script(t: Try) -> tuple[Result, float]:
            return _response(
                t,
                dns.rcode.NOERROR,
                "x.example. 600 CNAME y.example.",
                "y.example. 300 MX 10 mx.example.",
            ), 0.0

        answer, tries = _run(_settings(), script)
        assert answer.cnames == ("y.example",)
        assert answer.ttl == 300
        assert len(tries) == 1

    def test_a_chain_that_stops_short_is_chased_with_a_new_query(self):
        def script(t: Try) -> tuple[Result, float]:
            if t.query.name.to_text() == "x.example.":
                return _response(t, dns.rcode.NOERROR, "x.example. 60 CNAME y.example."), 0.0
            return _mx(t), 0.0

        answer, tries = _run(_settings(), script)
        assert [t.query.name.to_text() for t in tries] == ["x.example.", "y.example."]
        assert [t.query.id for t in tries] == [1, 2]
        assert answer.status is AnswerStatus.RECORDS
        assert answer.cnames == ("y.example",)
        assert answer.ttl == 60
        assert (
            answer.detail == "192.0.2.1:53 answered CNAME y.example; 192.0.2.1:53 answered NOERROR"
        )

    def test_a_loop_across_queries_is_servfail(self):
        def script(t: Try) -> tuple[Result, float]:
            if t.query.name.to_text() == "x.example.":
                return _response(t, dns.rcode.NOERROR, "x.example. 60 CNAME y.example."), 0.0
            return _response(t, dns.rcode.NOERROR, "y.example. 60 CNAME x.example."), 0.0

        answer, _ = _run(_settings(servers=1), script)
        assert answer.status is AnswerStatus.SERVFAIL
        assert "a CNAME loop at x.example" in answer.detail


class TestAuthenticated:
    @staticmethod
    def _ad(t: Try) -> tuple[Result, float]:
        response = _mx(t)
        response.flags |= dns.flags.AD
        return response, 0.0

    def test_ad_counts_when_dnssec_was_asked(self):
        answer, _ = _run(_settings(dnssec=True, trusted=True), self._ad)
        assert answer.authenticated is True

    def test_ad_never_counts_without_dnssec(self):
        answer, _ = _run(_settings(dnssec=False), self._ad)
        assert answer.authenticated is False
