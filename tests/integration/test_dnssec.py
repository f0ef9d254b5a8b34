"""The DNSSEC AD bit end to end: a validating recursive BIND with a trust anchor for
secure.mxtest (signed at session start with dnssec-signzone), forwarding to an
authoritative BIND. ``Answer.authenticated`` and ``MailRoute.authenticated``."""

from __future__ import annotations

import random

import pytest

import mxroute
from mxroute import AnswerStatus
from tests.bindserver import BindServer
from tests.doubles import RecordingResolver

pytestmark = pytest.mark.integration


def _resolver(port: int, dnssec: bool = True) -> mxroute.DNSResolver:
    return mxroute.DNSResolver(["127.0.0.1"], port=port, dnssec=dnssec, timeout=2.0, lifetime=4.0)


class TestAuthenticated:
    def test_validated_answer_has_ad(self, dnssec_resolver_port):
        answer = _resolver(dnssec_resolver_port).query("secure.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.authenticated is True

    def test_validated_nxdomain_has_ad(self, dnssec_resolver_port):
        answer = _resolver(dnssec_resolver_port).query("missing.secure.mxtest", "MX")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert answer.authenticated is True
        assert answer.ttl == 120

    def test_unsigned_zone_has_no_ad(self, dnssec_resolver_port):
        answer = _resolver(dnssec_resolver_port).query("two-mx.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.authenticated is False

    def test_without_dnssec_option_no_ad(self, dnssec_resolver_port):
        answer = _resolver(dnssec_resolver_port, dnssec=False).query("secure.mxtest", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.authenticated is False

    def test_authoritative_server_sets_no_ad(self, bind: BindServer):
        resolver = mxroute.DNSResolver([bind.address], port=bind.port, dnssec=True)
        assert resolver.query("two-mx.mxtest", "MX").authenticated is False


class TestRoutes:
    def test_route_is_authenticated_when_every_answer_had_ad(self, dnssec_resolver_port):
        recording = RecordingResolver(_resolver(dnssec_resolver_port))
        route = mxroute.Router(resolver=recording, rng=random.Random(1)).resolve(
            "alice@secure.mxtest"
        )
        assert [str(a) for _, a in route.attempts()] == ["192.0.2.70"]
        assert route.authenticated is True
        assert recording.questions[0] == ("secure.mxtest", "MX")

    @pytest.mark.asyncio
    async def test_async_route_is_authenticated_too(self, dnssec_resolver_port):
        router = mxroute.Router(resolver=_resolver(dnssec_resolver_port), rng=random.Random(1))
        route = await router.resolve_async("secure.mxtest")
        assert route.authenticated is True

    def test_route_through_an_unsigned_zone_is_not_authenticated(self, dnssec_resolver_port):
        route = mxroute.Router(resolver=_resolver(dnssec_resolver_port)).resolve("two-mx.mxtest")
        assert route.authenticated is False
        assert len(route.hosts) == 2
