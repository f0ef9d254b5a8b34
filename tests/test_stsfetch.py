"""The MTA-STS policy fetcher's vocabulary, its sans-I/O response reader, and the fake."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

import mxroute
from mxroute._stsfetch import FETCH_ERRORS, MAX_POLICY_SIZE, PolicyFetch, ResponseReader
from mxroute.testing import FakePolicyFetcher
from mxroute.testing._policies import FAULTS
from tests.doubles import FakeClock


class TestPolicyResponse:
    def test_a_fetched_policy_has_text_and_no_error(self):
        response = mxroute.PolicyResponse("version: STSv1\n", None)
        assert response.ok
        assert response.error is None

    def test_a_failure_has_an_error_code_and_a_detail(self):
        response = mxroute.PolicyResponse.failure("http-status", "HTTP 404 Not Found")
        assert not response.ok
        assert (response.text, response.error, response.detail) == (
            None,
            "http-status",
            "HTTP 404 Not Found",
        )

    @pytest.mark.parametrize("code", FETCH_ERRORS)
    def test_every_documented_code_is_accepted(self, code):
        assert mxroute.PolicyResponse.failure(code, "x").error == code

    def test_an_unknown_code_is_refused(self):
        with pytest.raises(mxroute.InvalidInput, match="error must be one of") as info:
            mxroute.PolicyResponse(None, "nope")
        assert info.value.reason == "invalid-fetch-error"

    @pytest.mark.parametrize(("text", "error"), [(None, None), ("version: STSv1\n", "tls")])
    def test_text_and_error_are_exclusive(self, text, error):
        with pytest.raises(mxroute.InvalidInput, match="either text or an error"):
            mxroute.PolicyResponse(text, error)


# --- the response reader -------------------------------------------------------------------

POLICY = b"version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n"


def ok(body: bytes = POLICY, *fields: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Type: text/plain", *fields]
    if not any(f.lower().startswith((b"content-length", b"transfer-encoding")) for f in fields):
        head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def chunked(*pieces: bytes, trailer: bytes = b"") -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return ok(body + b"0\r\n" + trailer + b"\r\n", b"Transfer-Encoding: chunked")


def read(data: bytes, max_size: int = MAX_POLICY_SIZE) -> mxroute.PolicyResponse:
    return ResponseReader(max_size).read(data)


def read_bytewise(data: bytes) -> mxroute.PolicyResponse:
    reader = ResponseReader()
    for i in range(len(data)):
        response = reader.feed(data[i : i + 1])
        if response is not None:
            return response
    return reader.read(b"")


class TestResponseReader:
    @pytest.mark.parametrize(
        "raw",
        [
            ok(),
            ok(POLICY, b"Content-Type: text/plain; charset=utf-8"),
            ok(POLICY).replace(b"text/plain", b"TEXT/Plain ; charset=UTF-8"),
            chunked(POLICY[:7], POLICY[7:]),
            chunked(POLICY, trailer=b"X-Trailer: yes\r\n"),
            ok(POLICY).replace(b"\r\n", b"\n", 3),  # bare LF line ends are tolerated
            b"HTTP/1.1 100 Continue\r\n\r\n" + ok(),
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + POLICY,  # until close
        ],
    )
    def test_acceptable_responses_give_the_body(self, raw):
        assert read(raw) == mxroute.PolicyResponse(POLICY.decode(), None)
        assert read_bytewise(raw) == read(raw)

    def test_chunk_extensions_are_ignored(self):
        raw = ok(b"5;name=value\r\nhello\r\n0\r\n\r\n", b"Transfer-Encoding: chunked")
        assert read(raw).text == "hello"

    def test_an_empty_body_is_a_response_the_policy_parser_judges(self):
        assert read(ok(b"")).text == ""

    def test_the_response_is_decided_at_the_end_of_its_body_not_at_close(self):
        reader = ResponseReader()
        assert reader.feed(ok()) == mxroute.PolicyResponse(POLICY.decode(), None)
        assert reader.feed(b"ignored") is reader.result

    @pytest.mark.parametrize(
        ("status", "error", "detail"),
        [
            (b"404 Not Found", "http-status", "HTTP 404 Not Found"),
            (b"500 Internal Server Error", "http-status", "HTTP 500 Internal Server Error"),
            (b"204 No Content", "http-status", "HTTP 204 No Content"),
            (b"201", "http-status", "HTTP 201"),
            (b"301 Moved Permanently", "redirect", "HTTP 301 Moved Permanently"),
            (b"302 Found", "redirect", "HTTP 302 Found"),
            (b"307 Temporary Redirect", "redirect", "HTTP 307"),
            (b"308 Permanent Redirect", "redirect", "HTTP 308"),
            (b"101 Switching Protocols", "http-status", "HTTP 101"),
        ],
    )
    def test_other_statuses_are_refused_at_the_head(self, status, error, detail):
        reader = ResponseReader()
        response = reader.feed(b"HTTP/1.1 " + status + b"\r\nContent-Length: 5\r\n\r\n")
        assert response is not None  # decided before any body byte
        assert response.error == error
        assert response.detail.startswith(detail)

    def test_a_redirect_names_where_it_points_and_the_rule(self):
        raw = b"HTTP/1.1 301 Moved\r\nLocation: https://evil.example/x\r\n\r\n"
        detail = read(raw).detail
        assert "https://evil.example/x" in detail
        assert "RFC 8461 §3.3" in detail

    @pytest.mark.parametrize(
        "fields",
        [
            [],
            [b"Content-Type: text/html"],
            [b"Content-Type: text/plain-ish"],
            [b"Content-Type: application/octet-stream"],
            [b"Content-Type: text/plain", b"Content-Type: text/html"],
        ],
    )
    def test_only_text_plain_is_accepted(self, fields):
        raw = b"\r\n".join([b"HTTP/1.1 200 OK", *fields, b"Content-Length: 0", b"", b""])
        assert read(raw).error == "content-type"

    def test_content_length_over_the_limit_is_refused_before_the_body(self):
        reader = ResponseReader(max_size=100)
        response = reader.feed(ok(b"", b"Content-Length: 101"))
        assert response == mxroute.PolicyResponse.failure(
            "too-large", "Content-Length 101 exceeds the limit of 100 bytes"
        )

    def test_a_body_at_the_limit_is_accepted(self):
        assert read(ok(b"x" * 100), max_size=100).text == "x" * 100

    def test_chunks_over_the_limit_are_refused_at_the_chunk_size(self):
        reader = ResponseReader(max_size=100)
        head = ok(b"", b"Transfer-Encoding: chunked")
        assert reader.feed(head + b"60\r\n" + b"x" * 96 + b"\r\n") is None
        response = reader.feed(b"5\r\n")
        assert response is not None
        assert response.error == "too-large"

    def test_a_huge_chunk_size_is_refused_without_reading_it(self):
        reader = ResponseReader()
        response = reader.feed(ok(b"", b"Transfer-Encoding: chunked") + b"f" * 200 + b"\r\n")
        assert response is not None
        assert response.error == "too-large"

    def test_a_body_until_close_stops_at_the_limit(self):
        reader = ResponseReader(max_size=1000)
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        fed = 0
        while reader.result is None:
            reader.feed(b"x" * 300)
            fed += 300
        assert reader.result.error == "too-large"
        assert fed <= 1200

    @pytest.mark.parametrize(
        ("raw", "words"),
        [
            (b"", "closed without a response"),
            (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", "inside the response headers"),
            (ok(POLICY)[:-5], "after"),
            (ok(b"3\r\nabc\r\n", b"Transfer-Encoding: chunked"), "inside the response chunked"),
            (b"SMTP 220 hello\r\n", "not an HTTP/1.x status line"),
            (b"HTTP/2 200\r\n", "not an HTTP/1.x status line"),
            (b"HTTP/1.1 2000 OK\r\n", "not an HTTP/1.x status line"),
            (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "not a header field"),
            (b"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n", "not a header field"),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", "obsolete line folding"),
            (ok(b"", b"Content-Length: 5", b"Content-Length: 6"), "invalid Content-Length"),
            (ok(b"", b"Content-Length: -1"), "invalid Content-Length"),
            (ok(b"", b"Content-Length: 0x10"), "invalid Content-Length"),
            (ok(b"", b"Transfer-Encoding: gzip"), "unsupported Transfer-Encoding"),
            (ok(b"", b"Transfer-Encoding: gzip, chunked"), "unsupported Transfer-Encoding"),
            (ok(b"", b"Content-Encoding: gzip"), "unsupported Content-Encoding"),
            (ok(b"zz\r\n", b"Transfer-Encoding: chunked"), "not a chunk-size line"),
            (ok(b"3\r\nabcX\r\n", b"Transfer-Encoding: chunked"), "not followed by CRLF"),
            (ok(b"1" * 2000, b"Transfer-Encoding: chunked"), "chunk-size line is longer"),
            (b"HTTP/1.1 200 OK\r\n" + b"A" * 20000, "head is longer than"),
            (b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 101 + b"\r\n", "more than 100 header"),
            (b"HTTP/1.1 100 Continue\r\n\r\n" * 9 + ok(), "more than 8 interim"),
        ],
    )
    def test_malformed_responses_are_protocol_errors(self, raw, words):
        response = read(raw)
        assert response.error == "protocol"
        assert words in response.detail

    def test_a_body_that_is_not_utf8_is_an_encoding_error(self):
        response = read(ok("mx: bücher.example\n".encode("latin-1")))
        assert response.error == "encoding"
        assert "not UTF-8" in response.detail

    def test_details_show_hostile_text_safely_and_briefly(self):
        raw = b"HTTP/1.1 301 \x1b[31mred\r\nLocation: " + b"\xff" * 500 + b"\r\n\r\n"
        detail = read(raw).detail
        assert detail.isprintable()
        assert "\x1b" not in detail
        assert len(detail) < 200


class TestHostileResponses:
    @given(st.binary(max_size=3000), st.lists(st.integers(1, 64), max_size=50))
    def test_any_bytes_in_any_pieces_give_a_response(self, data, cuts):
        reader = ResponseReader(max_size=500)
        at = 0
        for cut in cuts:
            reader.feed(data[at : at + cut])
            at += cut
        response = reader.read(data[at:])
        assert isinstance(response, mxroute.PolicyResponse)
        assert response.error in (None, *FETCH_ERRORS)
        assert response.text is None or len(response.text.encode()) <= 500

    @given(
        status=st.binary(max_size=40),
        fields=st.lists(
            st.tuples(
                st.sampled_from([b"Content-Type", b"Content-Length", b"Transfer-Encoding", b"X"]),
                st.binary(max_size=30),
            ),
            max_size=6,
        ),
        body=st.binary(max_size=300),
    )
    def test_malformed_status_lines_and_fields_never_raise(self, status, fields, body):
        head = (
            b"HTTP/1.1 " + status + b"\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in fields)
        )
        response = read(head + b"\r\n" + body, max_size=200)
        assert response.error in (None, *FETCH_ERRORS)

    @given(
        sizes=st.lists(st.one_of(st.binary(max_size=12), st.integers(0, 2**70).map(b"%x".__mod__))),
        data=st.binary(max_size=100),
    )
    def test_malformed_chunk_sizes_never_raise(self, sizes, data):
        body = b"".join(size + b"\r\n" + data[:20] + b"\r\n" for size in sizes)
        response = read(ok(body, b"Transfer-Encoding: chunked"), max_size=200)
        assert response.error in (None, *FETCH_ERRORS)

    @given(st.lists(st.integers(1, 40), min_size=1, max_size=30))
    def test_a_valid_response_reads_the_same_in_any_pieces(self, cuts):
        raw = chunked(POLICY[:20], POLICY[20:])
        reader = ResponseReader()
        at = 0
        for cut in cuts:
            reader.feed(raw[at : at + cut])
            at += cut
        assert reader.read(raw[at:]).text == POLICY.decode()


# --- one fetch, without I/O ----------------------------------------------------------------

DOC = ipaddress.ip_address("192.0.2.80")
DOC6 = ipaddress.ip_address("2001:db8::80")
LOOPBACK = ipaddress.ip_address("127.0.0.1")


def fetch(domain="example.com", addresses=(DOC,), timeout=10.0, **options):
    options.setdefault("scope", mxroute.AddressScope.ROUTABLE)
    options.setdefault("max_size", MAX_POLICY_SIZE)
    return PolicyFetch(domain, list(addresses), timeout, **options)


class TestPolicyFetch:
    def test_the_policy_host_is_mta_sts_under_the_a_label_domain(self):
        one = fetch("Bücher.Example.")
        assert (one.domain, one.host) == ("xn--bcher-kva.example", "mta-sts.xn--bcher-kva.example")

    def test_the_request_is_one_http11_get_of_the_well_known_path(self):
        assert fetch().request == (
            b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\n"
            b"User-Agent: mxroute\r\nAccept: text/plain\r\nAccept-Encoding: identity\r\n"
            b"Connection: close\r\n\r\n"
        )

    def test_the_host_field_names_a_port_other_than_443(self):
        assert b"Host: mta-sts.example.com:8443\r\n" in fetch(port=8443).request

    @pytest.mark.parametrize(
        "address", ["127.0.0.1", "::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1"]
    )
    def test_addresses_outside_the_routable_scope_are_never_candidates(self, address):
        one = fetch(addresses=[ipaddress.ip_address(address), DOC])
        assert one.candidates == (DOC,)

    def test_the_any_scope_allows_loopback(self):
        assert fetch(addresses=[LOOPBACK], scope=mxroute.AddressScope.ANY).candidates == (LOOPBACK,)

    def test_no_candidate_is_no_address_naming_the_refused_ones(self):
        response = fetch(addresses=[LOOPBACK]).result()
        assert response.error == "no-address"
        assert "127.0.0.1: outside the scope 'routable'" in response.detail

    def test_no_address_at_all_is_no_address(self):
        assert fetch(addresses=[]).result() == mxroute.PolicyResponse.failure(
            "no-address", "no address of mta-sts.example.com to connect to"
        )

    @pytest.mark.parametrize(
        ("arguments", "reason"),
        [
            ({"domain": "exa mple.com"}, None),
            ({"domain": 7}, None),
            ({"timeout": 0}, "invalid-timeout"),
            ({"timeout": -1}, "invalid-timeout"),
            ({"timeout": float("nan")}, "invalid-timeout"),
            ({"timeout": True}, "invalid-timeout"),
        ],
    )
    def test_bad_arguments_raise_invalid_input(self, arguments, reason):
        with pytest.raises(mxroute.InvalidInput) as info:
            fetch(**arguments)
        assert reason is None or info.value.reason == reason

    @pytest.mark.parametrize("addresses", ["192.0.2.1", ["192.0.2.1"], [b"\xc0\x00\x02\x01"], 5])
    def test_addresses_must_be_ip_address_objects(self, addresses):
        with pytest.raises(mxroute.InvalidInput) as info:
            PolicyFetch("example.com", addresses, 1.0, scope=mxroute.AddressScope.ANY, max_size=9)
        assert info.value.reason == "invalid-addresses"

    def test_each_address_gets_a_fair_share_of_the_time_left(self):
        clock = FakeClock()
        one = fetch(addresses=[DOC, DOC6], timeout=10.0, clock=clock)
        until = one.setup_deadline(0)
        assert until == clock.now + 5.0
        assert one.left(until) == 5.0
        assert one.left() == 10.0
        clock.advance(5.0)
        with pytest.raises(TimeoutError):
            one.left(until)
        assert one.setup_deadline(1) == clock.now + 5.0

    def test_no_time_left_is_a_timeout(self):
        clock = FakeClock()
        one = fetch(timeout=1.0, clock=clock)
        clock.advance(1.0)
        assert one.remaining() == 0
        with pytest.raises(TimeoutError):
            one.left()
        with pytest.raises(TimeoutError):
            one.setup_deadline(0)

    @pytest.mark.parametrize(
        ("exc", "phase", "error", "words"),
        [
            (ConnectionRefusedError(111, "Connection refused"), "connect", "connect", "refused"),
            (OSError(113, "No route to host"), "connect", "connect", "No route"),
            (TimeoutError(), "connect", "timeout", "no connection within the 10 s"),
            (TimeoutError(), "tls", "timeout", "no TLS handshake within"),
            (TimeoutError(), "http", "timeout", "no complete response within"),
            (ssl.SSLError(1, "handshake failure"), "tls", "tls", "failed"),
            (ConnectionResetError(104, "Connection reset by peer"), "tls", "tls", "reset"),
            (ConnectionResetError(104, "Connection reset by peer"), "http", "protocol", "lost"),
        ],
    )
    def test_io_failures_become_responses(self, exc, phase, error, words):
        response = fetch().failure(DOC, exc, phase)
        assert response.error == error
        assert words in response.detail
        assert response.detail.startswith("192.0.2.80: ")

    def test_a_certificate_failure_says_what_is_wrong_with_the_certificate(self):
        exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
        exc.verify_message = "certificate has expired"
        response = fetch().failure(DOC, exc, "tls")
        assert response == mxroute.PolicyResponse.failure(
            "tls", "192.0.2.80: TLS with mta-sts.example.com failed: certificate has expired"
        )

    def test_a_failed_address_moves_on_and_the_next_answer_decides(self):
        one = fetch(addresses=[DOC, DOC6])
        assert not one.record(mxroute.PolicyResponse.failure("connect", "192.0.2.80: refused"))
        assert one.record(mxroute.PolicyResponse("policy", None))
        assert one.result().text == "policy"

    @pytest.mark.parametrize("error", ["http-status", "redirect", "content-type", "too-large"])
    def test_an_answer_from_the_server_decides_at_once(self, error):
        one = fetch(addresses=[DOC, DOC6])
        assert one.record(mxroute.PolicyResponse.failure(error, "x"))
        assert one.result().error == error

    def test_when_every_address_failed_the_result_names_each_failure(self):
        one = fetch(addresses=[DOC, DOC6])
        one.record(mxroute.PolicyResponse.failure("connect", "192.0.2.80: refused"))
        one.record(mxroute.PolicyResponse.failure("tls", "2001:db8::80: bad certificate"))
        assert one.result() == mxroute.PolicyResponse.failure(
            "tls", "192.0.2.80: refused; 2001:db8::80: bad certificate"
        )

    def test_failures_that_used_up_the_deadline_are_a_timeout(self):
        clock = FakeClock()
        one = fetch(addresses=[DOC, DOC6], timeout=1.0, clock=clock)
        clock.advance(2.0)
        assert one.record(mxroute.PolicyResponse.failure("connect", "192.0.2.80: refused"))
        assert one.result().error == "timeout"


# --- the HTTPS fetcher's settings ------------------------------------------------------------


class TestHTTPSPolicyFetcherSettings:
    def test_it_implements_both_protocols(self):
        fetcher = mxroute.HTTPSPolicyFetcher()
        assert isinstance(fetcher, mxroute.PolicyFetcher)
        assert isinstance(fetcher, mxroute.AsyncPolicyFetcher)

    def test_the_default_context_verifies_with_tls_12_or_later(self):
        context = mxroute.HTTPSPolicyFetcher().ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2

    def test_a_given_context_is_used_as_it_is(self):
        context = ssl.create_default_context()
        assert mxroute.HTTPSPolicyFetcher(context).ssl_context is context

    def test_defaults_are_port_443_64_kib_and_the_routable_scope(self):
        fetcher = mxroute.HTTPSPolicyFetcher()
        assert (fetcher.port, fetcher.max_size, fetcher.address_scope) == (
            443,
            65536,
            mxroute.AddressScope.ROUTABLE,
        )
        assert repr(fetcher) == (
            "HTTPSPolicyFetcher(port=443, max_size=65536, address_scope='routable')"
        )

    @staticmethod
    def _unverified() -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    @staticmethod
    def _no_names() -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.check_hostname = False
        return context

    @staticmethod
    def _old_tls() -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        return context

    @pytest.mark.parametrize("make", ["_unverified", "_no_names", "_old_tls"])
    def test_a_context_that_would_weaken_the_check_is_refused(self, make):
        with pytest.raises(mxroute.InvalidInput) as info:
            mxroute.HTTPSPolicyFetcher(getattr(self, make)())
        assert info.value.reason == "invalid-ssl-context"

    @pytest.mark.parametrize(
        ("options", "reason"),
        [
            ({"ssl_context": "default"}, "invalid-ssl-context"),
            ({"port": 0}, "invalid-port"),
            ({"port": 70000}, "invalid-port"),
            ({"max_size": 0}, "invalid-max-size"),
            ({"max_size": True}, "invalid-max-size"),
            ({"address_scope": "nearby"}, "invalid-address-scope"),
        ],
    )
    def test_bad_settings_raise_invalid_input(self, options, reason):
        with pytest.raises(mxroute.InvalidInput) as info:
            mxroute.HTTPSPolicyFetcher(**options)
        assert info.value.reason == reason

    def test_loopback_is_not_contacted_by_default(self):
        fetcher = mxroute.HTTPSPolicyFetcher()
        assert fetcher.fetch_policy("example.com", [LOOPBACK], 1.0).error == "no-address"
        response = asyncio.run(fetcher.fetch_policy_async("example.com", [LOOPBACK], 1.0))
        assert response.error == "no-address"

    def test_bad_arguments_raise_rather_than_fetch(self):
        with pytest.raises(mxroute.InvalidInput):
            mxroute.HTTPSPolicyFetcher().fetch_policy("example.com", ["192.0.2.1"], 1.0)

    def test_the_async_fetch_refuses_trio(self):
        fetcher = mxroute.HTTPSPolicyFetcher()
        with pytest.raises(mxroute.UnsupportedEventLoop, match="fetch_policy_async"):
            trio.run(fetcher.fetch_policy_async, "example.com", [DOC], 1.0)


# --- the fake ------------------------------------------------------------------------------

FAULT_ERRORS = {
    "404": "http-status",
    "redirect": "redirect",
    "content-type": "content-type",
    "oversize": "too-large",
    "timeout": "timeout",
    "bad-certificate": "tls",
    "slow-drip": "timeout",
}


class TestFakePolicyFetcher:
    def test_it_implements_both_protocols(self, fake_policies):
        assert isinstance(fake_policies, mxroute.PolicyFetcher)
        assert isinstance(fake_policies, mxroute.AsyncPolicyFetcher)

    def test_a_published_policy_is_served_and_the_fetch_recorded(self, fake_policies):
        fake_policies.publish("Example.COM", POLICY.decode())
        response = fake_policies.fetch_policy("example.com", [DOC, DOC6], 5)
        assert response == mxroute.PolicyResponse(POLICY.decode(), None)
        assert fake_policies.fetches == [("example.com", (DOC, DOC6))]

    def test_it_answers_async_too(self, fake_policies):
        fake_policies.publish("example.com", POLICY.decode())
        response = asyncio.run(fake_policies.fetch_policy_async("example.com", [DOC], 5))
        assert response.text == POLICY.decode()

    @pytest.mark.parametrize(("kind", "error"), sorted(FAULT_ERRORS.items()))
    def test_each_fault_gives_its_error(self, fake_policies, kind, error):
        fake_policies.fault("example.com", kind)
        response = fake_policies.fetch_policy("example.com", [DOC], 5)
        assert response.error == error
        assert response.detail

    def test_the_faults_are_the_documented_ones(self):
        assert set(FAULTS) == set(FAULT_ERRORS)

    def test_a_domain_without_a_server_is_a_connect_failure(self, fake_policies):
        response = fake_policies.fetch_policy("example.com", [DOC], 5)
        assert response == mxroute.PolicyResponse.failure(
            "connect", "192.0.2.80: Connection refused"
        )

    def test_addresses_outside_the_scope_are_no_address(self, fake_policies):
        fake_policies.publish("example.com", POLICY.decode())
        assert fake_policies.fetch_policy("example.com", [LOOPBACK], 5).error == "no-address"
        assert fake_policies.fetches == [("example.com", (LOOPBACK,))]

    def test_the_any_scope_serves_loopback(self):
        fake = FakePolicyFetcher(address_scope="any")
        fake.publish("example.com", POLICY.decode())
        assert fake.fetch_policy("example.com", [LOOPBACK], 5).ok

    def test_publish_replaces_a_fault_and_fault_replaces_a_policy(self, fake_policies):
        fake_policies.fault("example.com", "404")
        fake_policies.publish("example.com", POLICY.decode())
        assert fake_policies.fetch_policy("example.com", [DOC], 5).ok
        fake_policies.fault("example.com", "timeout")
        assert fake_policies.fetch_policy("example.com", [DOC], 5).error == "timeout"

    def test_a_policy_over_the_size_limit_is_too_large(self):
        fake = FakePolicyFetcher(max_size=10)
        fake.publish("example.com", POLICY.decode())
        assert fake.fetch_policy("example.com", [DOC], 5).error == "too-large"

    def test_bad_use_raises_invalid_input(self, fake_policies):
        with pytest.raises(mxroute.InvalidInput, match="fault must be one of") as info:
            fake_policies.fault("example.com", "teapot")
        assert info.value.reason == "invalid-fault"
        with pytest.raises(mxroute.InvalidInput):
            fake_policies.publish("example.com", POLICY)
        with pytest.raises(mxroute.InvalidInput):
            fake_policies.fetch_policy("example.com", [DOC], 0)

    def test_the_fixture_is_new_for_every_test(self, fake_policies):
        assert fake_policies.fetches == []
        fake_policies.fetch_policy("example.com", [DOC], 5)
