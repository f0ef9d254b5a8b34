"""DANE against a real validating BIND: signed zones with MX, A and TLSA records
(usable, unusable, missing), an unsigned one, and one whose TLSA signature is broken
so validation fails (SERVFAIL), all signed at module start with dnssec-signzone."""

from __future__ import annotations

import json
import pathlib
import random
from collections.abc import Iterator

import attrs
import pytest

import mxroute
from mxroute import AnswerStatus, RoutingPolicy, TemporaryRouteError, TLSARecord, TLSLevel
from tests.bindserver import BindServer, sign_zone
from tests.doubles import RecordingResolver
from tests.integration.conftest import CHECKS_OFF
from tests.integration.servers import ZONES

pytestmark = pytest.mark.integration

USABLE = TLSARecord.parse("3 1 1 " + "ab" * 32)
UNUSABLE = TLSARecord.parse("0 0 1 " + "cd" * 32)
DANE = RoutingPolicy(dane=True)


def _break_tlsa(signed: str) -> str:
    """Change the TLSA data of the signed bogus.mxtest zone, leaving its old signature."""
    broken = signed.replace("BABABABA", "CACACACA")
    assert broken != signed, "the TLSA data was not found in the signed zone"
    return broken


@pytest.fixture(scope="module")
def dane_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a validating recursive named trusting dane.mxtest and bogus.mxtest."""
    zones: dict[str, str | pathlib.Path] = {
        "mxtest": ZONES / "mxtest.zone",
        "insecure.mxtest": ZONES / "insecure.zone",
    }
    anchors = []
    for origin, file in (("dane.mxtest", "dane.zone"), ("bogus.mxtest", "bogus.zone")):
        signed, anchor = sign_zone(
            (ZONES / file).read_text(encoding="utf-8"), origin, tmp_path_factory.mktemp(origin)
        )
        zones[origin] = _break_tlsa(signed) if origin == "bogus.mxtest" else signed
        anchors.append(anchor)
    with (
        BindServer(zones, options=CHECKS_OFF) as authoritative,
        BindServer(
            {},
            recursion=True,
            dnssec_validation=True,
            forward_to=authoritative.port,
            config="\n".join(anchors),
        ) as recursive,
    ):
        yield recursive.port


def _resolver(port: int, **options: object) -> mxroute.DNSResolver:
    return mxroute.DNSResolver(
        ["127.0.0.1"], port=port, dnssec=True, timeout=2.0, lifetime=4.0, **options
    )


def _route(port: int, domain: str, **options: object) -> mxroute.MailRoute:
    router = mxroute.Router(resolver=_resolver(port, **options), policy=DANE, rng=random.Random(1))
    return router.resolve(domain)


def _levels(route: mxroute.MailRoute) -> dict[str, tuple[TLSLevel, str | None]]:
    return {host.name: (host.tls.level, host.tls.reason) for host in route.hosts}


class TestSignedZone:
    def test_usable_unusable_and_missing_tlsa(self, dane_port):
        route = _route(dane_port, "dane.mxtest")
        assert _levels(route) == {
            "mx1.dane.mxtest": (TLSLevel.DANE, "dane-usable"),
            "mx2.dane.mxtest": (TLSLevel.ENCRYPT, "tlsa-unusable"),
            "mx3.dane.mxtest": (TLSLevel.OPPORTUNISTIC, "dane-no-tlsa"),
        }
        mx1, mx2, _ = route.hosts
        assert mx1.tls.tlsa == (USABLE,)
        assert mx2.tls.tlsa == (UNUSABLE,)
        assert route.authenticated is True

    @pytest.mark.asyncio
    async def test_async_gives_the_same_route(self, dane_port):
        router = mxroute.Router(resolver=_resolver(dane_port), policy=DANE, rng=random.Random(1))
        from_async = await router.resolve_async("dane.mxtest")
        from_sync = _route(dane_port, "dane.mxtest")
        # The validating resolver counts cached TTLs down, so the two may differ
        # by the second that passed between them; everything else is the same.
        assert from_async.ttl is not None
        assert from_sync.ttl is not None
        assert 0 <= from_async.ttl - from_sync.ttl <= 1
        assert attrs.evolve(from_async, ttl=from_sync.ttl) == from_sync

    def test_tlsa_joins_the_address_batch(self, dane_port):
        recording = RecordingResolver(_resolver(dane_port))
        mxroute.Router(resolver=recording, policy=DANE).resolve("dane.mxtest")
        assert len(recording.batches) == 2
        assert ("_25._tcp.mx1.dane.mxtest", "TLSA") in recording.batches[1]

    def test_a_cname_host_uses_the_expanded_names_tlsa(self, dane_port):
        (host,) = _route(dane_port, "cname.dane.mxtest").hosts
        assert host.tls.level is TLSLevel.DANE
        assert host.tls.names == ("alias.dane.mxtest", "mx1.dane.mxtest")
        assert host.tls.tlsa == (USABLE,)

    def test_the_fake_with_the_same_zone_agrees(self, dane_port):
        fake = mxroute.InMemoryResolver.from_zone(
            (ZONES / "dane.zone").read_text(encoding="utf-8"), authenticated=True
        )
        router = mxroute.Router(resolver=fake, policy=DANE, rng=random.Random(1))
        real = _route(dane_port, "dane.mxtest")
        assert [h.tls for h in router.resolve("dane.mxtest").hosts] == [h.tls for h in real.hosts]


class TestInsecure:
    def test_unsigned_domain_asks_no_tlsa(self, dane_port):
        recording = RecordingResolver(_resolver(dane_port))
        route = mxroute.Router(resolver=recording, policy=DANE).resolve("insecure.mxtest")
        assert _levels(route) == {
            "mx.insecure.mxtest": (TLSLevel.OPPORTUNISTIC, "dane-mx-insecure")
        }
        assert all(rdtype != "TLSA" for _, rdtype in recording.questions)

    def test_unsigned_host_with_tlsa_is_reported(self, dane_port):
        route = _route(dane_port, "insecure-host.dane.mxtest")
        assert _levels(route) == {"mx.insecure.mxtest": (TLSLevel.OPPORTUNISTIC, "tlsa-insecure")}
        assert "tlsa-insecure" in [f.code for f in route.findings]

    def test_an_untrusted_server_is_not_believed(self, dane_port):
        route = _route(dane_port, "dane.mxtest", trusted=False)
        assert route.authenticated is False
        assert {level for level, _ in _levels(route).values()} == {TLSLevel.OPPORTUNISTIC}

    def test_the_audit_reports_tlsa_under_an_unsigned_mx_set(self, dane_port):
        report = mxroute.audit("insecure.mxtest", _resolver(dane_port), DANE)
        assert "tlsa-insecure" in [f.code for f in report.findings]


class TestBrokenSignatures:
    def test_the_broken_tlsa_is_servfail_and_the_address_validates(self, dane_port):
        resolver = _resolver(dane_port)
        assert resolver.query("_25._tcp.mx.bogus.mxtest", "TLSA").status is AnswerStatus.SERVFAIL
        address = resolver.query("mx.bogus.mxtest", "A")
        assert (address.status, address.authenticated) == (AnswerStatus.RECORDS, True)

    def test_the_only_host_unusable_is_a_temporary_error(self, dane_port):
        with pytest.raises(TemporaryRouteError) as caught:
            _route(dane_port, "bogus.dane.mxtest")
        assert "mx.bogus.mxtest" in str(caught.value)
        assert "tlsa-lookup-failed" in [f.code for f in caught.value.findings]

    def test_a_broken_host_is_dropped_never_downgraded(self, dane_port):
        route = _route(dane_port, "mixed.dane.mxtest")
        assert _levels(route) == {"mx1.dane.mxtest": (TLSLevel.DANE, "dane-usable")}
        assert route.ttl is not None
        assert route.ttl <= 60


class TestCommandLine:
    def test_route_dane_asks_with_dnssec(self, dane_port, capsys):
        from mxroute.cli import main

        main(["route", "--dane", "--json", "--nameserver", f"127.0.0.1:{dane_port}", "dane.mxtest"])
        (line,) = capsys.readouterr().out.splitlines()
        hosts = json.loads(line)["route"]["hosts"]
        assert [h["tls"]["level"] for h in hosts] == ["dane", "encrypt", "opportunistic"]
