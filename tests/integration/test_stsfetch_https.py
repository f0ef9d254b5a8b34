"""HTTPSPolicyFetcher against a real HTTPS server on 127.0.0.1 (tests/policyserver.py).

Each behaviour is checked through both doors, ``fetch_policy`` and
``fetch_policy_async``; the fake's faults are checked against the same server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from collections.abc import Iterator

import pytest

import mxroute
from mxroute.testing import FakePolicyFetcher
from tests.doubles import finishes_within
from tests.policyserver import POLICY, PolicyServer

pytestmark = pytest.mark.integration

LOOPBACK = ipaddress.ip_address("127.0.0.1")
ELSEWHERE = ipaddress.ip_address("127.0.0.2")  # loopback too, where the server does not listen


@pytest.fixture(scope="module")
def server() -> Iterator[PolicyServer]:
    with PolicyServer() as running:
        yield running


@pytest.fixture(params=["sync", "async"])
def door(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fetcher(server: PolicyServer, **options: object) -> mxroute.HTTPSPolicyFetcher:
    options.setdefault("ssl_context", server.client_context())
    options.setdefault("port", server.port)
    options.setdefault("address_scope", "any")
    return mxroute.HTTPSPolicyFetcher(**options)  # type: ignore[arg-type]


def fetch(
    door: str,
    fetcher: mxroute.HTTPSPolicyFetcher,
    domain: str,
    addresses: list[ipaddress.IPv4Address] | None = None,
    timeout: float = 5.0,
) -> mxroute.PolicyResponse:
    addresses = [LOOPBACK] if addresses is None else addresses

    def call() -> object:
        if door == "sync":
            return fetcher.fetch_policy(domain, addresses, timeout)
        return asyncio.run(fetcher.fetch_policy_async(domain, addresses, timeout))

    response = finishes_within(call, timeout + 5.0)
    assert isinstance(response, mxroute.PolicyResponse), response
    return response


class TestPolicies:
    @pytest.mark.parametrize("domain", ["valid.test", "chunked.test", "close.test"])
    def test_a_policy_is_fetched(self, server, door, domain):
        assert fetch(door, fetcher(server), domain) == mxroute.PolicyResponse(POLICY, None)

    def test_the_request_names_the_policy_host(self, server, door):
        fetch(door, fetcher(server), "valid.test")
        assert server.hosts[-1] == f"mta-sts.valid.test:{server.port}"

    def test_the_fetched_text_is_a_policy_the_parser_takes(self, server, door):
        response = fetch(door, fetcher(server), "valid.test")
        assert response.text is not None
        policy = mxroute.MTASTSPolicy.parse(response.text, id="1")
        assert policy.matches("mx.valid.test")


class TestRefusedAnswers:
    @pytest.mark.parametrize(
        ("domain", "error", "words"),
        [
            ("missing.test", "http-status", "HTTP 404 Not Found"),
            ("redirect.test", "redirect", "https://mta-sts.elsewhere.test/"),
            ("html.test", "content-type", "text/html"),
            ("oversize.test", "too-large", "Content-Length 100000"),
            ("endless.test", "too-large", "the body exceeds"),
            ("bigchunks.test", "too-large", "the chunked body exceeds"),
            ("latin1.test", "encoding", "not UTF-8"),
        ],
    )
    def test_unacceptable_answers_are_refused(self, server, door, domain, error, words):
        response = fetch(door, fetcher(server), domain)
        assert response.error == error
        assert words in response.detail

    def test_a_redirect_is_not_followed(self, server, door):
        before = len(server.hosts)
        fetch(door, fetcher(server), "redirect.test")
        assert server.hosts[before:] == [f"mta-sts.redirect.test:{server.port}"]


class TestCertificates:
    @pytest.mark.parametrize(
        ("domain", "words"),
        [("expired.test", "certificate has expired"), ("wrongname.test", "Hostname mismatch")],
    )
    def test_a_bad_certificate_is_a_tls_failure(self, server, door, domain, words):
        response = fetch(door, fetcher(server), domain)
        assert response.error == "tls"
        assert words in response.detail

    def test_by_default_only_the_system_trust_store_is_trusted(self, server, door):
        response = fetch(door, fetcher(server, ssl_context=None), "valid.test")
        assert response.error == "tls"
        assert "certificate" in response.detail


class TestDeadline:
    def test_a_slow_server_is_a_timeout_at_the_deadline(self, server, door):
        response = fetch(door, fetcher(server), "slow.test", timeout=0.5)
        assert response.error == "timeout"

    @pytest.mark.parametrize(
        ("port", "domain", "words"),
        [
            # The policy, one byte every 50 ms: each read is quick, the whole takes seconds.
            ("port", "drip.test", "no complete response within the 0.5 s deadline"),
            # Accepts the connection, never answers the ClientHello.
            ("silent_port", "valid.test", "no TLS handshake within the 0.5 s deadline"),
            # Answers the ClientHello one byte every 50 ms.
            ("drip_tls_port", "valid.test", "no TLS handshake within the 0.5 s deadline"),
        ],
    )
    def test_the_total_deadline_holds_against_a_slow_peer(self, server, door, port, domain, words):
        slow = fetcher(server, port=getattr(server, port))
        response = finishes_within(lambda: fetch(door, slow, domain, timeout=0.5), 2.0)
        assert isinstance(response, mxroute.PolicyResponse)
        assert response.error == "timeout"
        assert words in response.detail


class TestAddresses:
    def test_a_refused_connection_is_a_connect_failure(self, server, door):
        response = fetch(door, fetcher(server), "valid.test", [ELSEWHERE])
        assert response.error == "connect"
        assert response.detail.startswith("127.0.0.2: ")

    def test_the_next_address_is_tried_after_a_refusal(self, server, door):
        response = fetch(door, fetcher(server), "valid.test", [ELSEWHERE, LOOPBACK])
        assert response.text == POLICY

    def test_a_silent_first_address_leaves_time_for_the_next(self, server, door):
        # The silent port on 127.0.0.1 accepts and never answers: it gets half
        # of the second, and 127.0.0.2 (which refuses at once) is tried after it.
        silent = fetcher(server, port=server.silent_port)
        response = fetch(door, silent, "valid.test", [LOOPBACK, ELSEWHERE], timeout=1.0)
        assert response.error == "connect"  # the last address's failure
        assert response.detail.startswith("127.0.0.1: no TLS handshake within the 1 s deadline; ")
        assert "; 127.0.0.2: " in response.detail

    def test_loopback_is_not_contacted_in_the_default_scope(self, server, door):
        before = server.connections
        response = fetch(door, fetcher(server, address_scope="routable"), "valid.test")
        assert response.error == "no-address"
        assert server.connections == before

    def test_no_name_is_ever_resolved(self, server, door):
        with resolutions() as seen:
            response = fetch(door, fetcher(server), "valid.test", [ELSEWHERE, LOOPBACK])
        assert response.ok
        assert seen == []


_WATCHING: list[list[str]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _WATCHING and event in ("socket.getaddrinfo", "socket.gethostbyname"):
        _WATCHING[-1].append(f"{event}{args[:1]}")


_HOOKED: list[bool] = []


class resolutions:
    """Collect the name resolutions this process makes (audit events: nothing is patched)."""

    def __enter__(self) -> list[str]:
        if not _HOOKED:
            sys.addaudithook(_audit)
            _HOOKED.append(True)
        _WATCHING.append([])
        return _WATCHING[-1]

    def __exit__(self, *exc_info: object) -> None:
        _WATCHING.pop()


def test_the_resolution_probe_sees_a_resolution():
    with resolutions() as seen:
        socket.getaddrinfo("127.0.0.1", 443)
    assert seen == ["socket.getaddrinfo('127.0.0.1',)"]


FAULT_SCENARIOS = {
    "404": "missing.test",
    "redirect": "redirect.test",
    "content-type": "html.test",
    "oversize": "oversize.test",
    "timeout": "slow.test",
    "bad-certificate": "expired.test",
    "slow-drip": "drip.test",
}


@pytest.mark.parametrize(("kind", "domain"), sorted(FAULT_SCENARIOS.items()))
def test_the_fake_fails_as_the_real_server_does(server, door, kind, domain):
    fake = FakePolicyFetcher(address_scope="any")
    fake.fault(domain, kind)
    faked = fake.fetch_policy(domain, [LOOPBACK], 0.5)
    real = fetch(door, fetcher(server), domain, timeout=0.5)
    assert faked.error == real.error
    if kind in ("404", "content-type"):
        assert faked.detail == real.detail


def test_the_fake_serves_a_policy_as_the_real_server_does(server, door):
    fake = FakePolicyFetcher(address_scope="any")
    fake.publish("valid.test", POLICY)
    assert fake.fetch_policy("valid.test", [LOOPBACK], 5) == fetch(
        door, fetcher(server), "valid.test"
    )
