"""DANE in routing (RFC 7672 §2) on the in-memory backend: every row of the decision table,
sync and async, the batches it costs, and the fake's per-name AD marks."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random

import dns.flags
import pytest

import mxroute
from mxroute import (
    AnswerStatus,
    InMemoryResolver,
    InvalidInput,
    MailRoute,
    RoutingPolicy,
    TemporaryRouteError,
    TLSARecord,
    TLSLevel,
)
from mxroute._planner import plan_route
from mxroute._tls import join_txt

USABLE = "3 1 1 " + "ab" * 32
USABLE_TA = "2 0 1 " + "cd" * 32
PKIX = "1 1 1 " + "ef" * 32  # usage 1 is not for SMTP
SHORT = "3 2 0 abcd"  # selector 2 is unknown

SIGNED = f"""
$ORIGIN example.com.
@        3600 SOA ns hostmaster 1 3600 600 86400 300
@        MX   10 mx1
@        MX   20 mx2
mx1      A    192.0.2.1
mx2      A    192.0.2.2
_25._tcp.mx1 TLSA {USABLE}
_25._tcp.mx1 TLSA {PKIX}
"""


def signed(extra: str = "") -> InMemoryResolver:
    """example.com, signed: mx1 has a usable TLSA record, mx2 none."""
    return InMemoryResolver.from_zone(SIGNED + extra, authenticated=True)


def run(
    fake: InMemoryResolver, target: str = "example.com", **policy: object
) -> tuple[MailRoute, int]:
    """Drive the planner by hand: the route and the number of batches it asked."""
    plan = plan_route(target, RoutingPolicy(**policy), random.Random(1))
    batches = 0
    try:
        batch = next(plan)
        while True:
            batches += 1
            batch = plan.send([fake.query(name, rdtype) for name, rdtype in batch])
    except StopIteration as done:
        return done.value, batches


def route(fake: InMemoryResolver, target: str = "example.com", **policy: object) -> MailRoute:
    return run(fake, target, dane=True, **policy)[0]


def tls(r: MailRoute) -> dict[str, tuple[TLSLevel, str | None]]:
    return {h.name: (h.tls.level, h.tls.reason) for h in r.hosts}


def codes(r: MailRoute | TemporaryRouteError) -> list[str]:
    return [f.code for f in r.findings]


def tlsa_questions(fake: InMemoryResolver) -> list[str]:
    return [name for name, rdtype in fake.queries if rdtype == "TLSA"]


class TestDecisionTable:
    def test_usable_records_require_dane_with_only_the_usable_ones(self):
        r = route(signed())
        mx1 = r.hosts[0]
        assert mx1.name == "mx1.example.com"
        assert mx1.tls.level is TLSLevel.DANE
        assert mx1.tls.tlsa == (TLSARecord.parse(USABLE),)
        assert mx1.tls.names == ("mx1.example.com",)
        assert mx1.tls.reason == "dane-usable"
        assert "dane-usable" in codes(r)

    def test_dane_ta_records_are_usable_too(self):
        fake = signed(f"_25._tcp.mx2 TLSA {USABLE_TA}\n")
        assert tls(route(fake))["mx2.example.com"] == (TLSLevel.DANE, "dane-usable")

    def test_secure_records_none_usable_require_encryption(self):
        fake = signed(f"_25._tcp.mx2 TLSA {PKIX}\n_25._tcp.mx2 TLSA {SHORT}\n")
        mx2 = route(fake).hosts[1]
        assert mx2.tls.level is TLSLevel.ENCRYPT
        assert mx2.tls.reason == "tlsa-unusable"
        assert set(mx2.tls.tlsa) == {TLSARecord.parse(PKIX), TLSARecord.parse(SHORT)}
        assert mx2.tls.level.requires_tls
        assert not mx2.tls.level.authenticates

    def test_secure_nodata_leaves_the_host_without_dane(self):
        r = route(signed())
        assert tls(r)["mx2.example.com"] == (TLSLevel.OPPORTUNISTIC, "dane-no-tlsa")
        assert r.hosts[1].tls.tlsa == ()

    def test_secure_nxdomain_leaves_the_host_without_dane(self):
        fake = signed()
        fake.fail("_25._tcp.mx2.example.com", "TLSA", "nxdomain")
        assert fake.query("_25._tcp.mx2.example.com", "TLSA").authenticated is True
        assert tls(route(fake))["mx2.example.com"] == (TLSLevel.OPPORTUNISTIC, "dane-no-tlsa")

    def test_insecure_tlsa_answer_is_ignored(self):
        fake = signed()
        fake.mark_authenticated("_25._tcp.mx1.example.com", authenticated=False)
        r = route(fake)
        assert tls(r)["mx1.example.com"] == (TLSLevel.OPPORTUNISTIC, "tlsa-insecure")
        assert "tlsa-insecure" in codes(r)

    def test_insecure_host_with_tlsa_records_is_reported_and_ignored(self):
        fake = signed()
        fake.mark_authenticated("mx1.example.com", authenticated=False)
        fake.mark_authenticated("_25._tcp.mx1.example.com", authenticated=True)
        r = route(fake)
        assert tls(r)["mx1.example.com"] == (TLSLevel.OPPORTUNISTIC, "tlsa-insecure")
        assert r.hosts[0].tls.tlsa == ()

    def test_insecure_host_without_tlsa_says_dane_does_not_apply(self):
        fake = signed()
        fake.mark_authenticated("mx2.example.com", authenticated=False)
        assert tls(route(fake))["mx2.example.com"] == (TLSLevel.OPPORTUNISTIC, "dane-host-insecure")

    def test_host_with_one_insecure_address_answer_is_insecure(self):
        fake = signed()
        unsigned = mxroute.Answer(
            "mx1.example.com", "AAAA", AnswerStatus.RECORDS, [ipaddress.ip_address("2001:db8::1")]
        )
        fake.script("mx1.example.com", "AAAA", [unsigned])
        assert tls(route(fake))["mx1.example.com"][1] == "tlsa-insecure"

    def test_insecure_mx_asks_no_tlsa(self):
        fake = signed()
        fake.mark_authenticated("example.com", authenticated=False)
        fake.mark_authenticated("mx1.example.com", "mx2.example.com")
        r = route(fake)
        assert tlsa_questions(fake) == []
        assert set(tls(r).values()) == {(TLSLevel.OPPORTUNISTIC, "dane-mx-insecure")}
        assert codes(r).count("dane-mx-insecure") == 1

    @pytest.mark.parametrize("error", ["servfail", "timeout", "refused"])
    def test_failed_tlsa_lookup_drops_the_host_never_downgrades(self, error):
        fake = signed()
        fake.fail("_25._tcp.mx1.example.com", "TLSA", error)
        r = route(fake)
        assert [h.name for h in r.hosts] == ["mx2.example.com"]
        assert "tlsa-lookup-failed" in codes(r)
        assert r.ttl is not None
        assert r.ttl <= mxroute._planner.DEGRADED_TTL

    def test_every_host_failing_its_tlsa_lookup_is_a_temporary_error(self):
        fake = signed()
        fake.fail("_25._tcp.mx1.example.com", "TLSA", "servfail")
        fake.fail("_25._tcp.mx2.example.com", "TLSA", "timeout")
        with pytest.raises(TemporaryRouteError) as caught:
            route(fake)
        message = str(caught.value)
        assert "TLSA" in message
        assert "mx1.example.com" in message
        assert "mx2.example.com" in message
        assert codes(caught.value).count("tlsa-lookup-failed") == 2
        assert caught.value.reply_code == 451

    def test_a_failed_tlsa_lookup_on_an_insecure_host_does_not_matter(self):
        fake = signed()
        fake.mark_authenticated("mx1.example.com", authenticated=False)
        fake.fail("_25._tcp.mx1.example.com", "TLSA", "servfail")
        r = route(fake)
        assert tls(r)["mx1.example.com"] == (TLSLevel.OPPORTUNISTIC, "dane-host-insecure")

    def test_unparsable_tlsa_records_count_as_unusable(self):
        fake = signed()
        fake.script(
            "_25._tcp.mx2.example.com",
            "TLSA",
            [
                mxroute.Answer(
                    "_25._tcp.mx2.example.com",
                    "TLSA",
                    AnswerStatus.RECORDS,
                    ["not a tlsa record"],
                    authenticated=True,
                )
            ],
        )
        mx2 = route(fake).hosts[1]
        assert (mx2.tls.level, mx2.tls.tlsa) == (TLSLevel.ENCRYPT, ())

    def test_dane_off_asks_nothing_and_changes_nothing(self):
        fake = signed()
        r, _ = run(fake)
        assert tlsa_questions(fake) == []
        assert set(tls(r).values()) == {(TLSLevel.OPPORTUNISTIC, None)}
        assert not any(c.startswith(("dane", "tlsa")) for c in codes(r))

    def test_authenticated_keeps_its_meaning(self):
        assert route(signed()).authenticated is True
        fake = signed()
        fake.mark_authenticated("_25._tcp.mx1.example.com", authenticated=False)
        assert route(fake).authenticated is False  # an answer used had no AD

    def test_route_to_dict_carries_the_requirement(self):
        data = route(signed()).to_dict()
        assert data["hosts"][0]["tls"] == {
            "level": "dane",
            "tlsa": [TLSARecord.parse(USABLE).to_dict()],
            "names": ["mx1.example.com"],
            "reason": "dane-usable",
        }


class TestOtherRoutes:
    def test_implicit_mx_needs_the_domains_own_addresses_secure(self):
        fake = InMemoryResolver.from_zone(
            f"""
            $ORIGIN example.org.
            $TTL 3600
            @ 3600 SOA ns hostmaster 1 3600 600 86400 300
            @ A 192.0.2.9
            _25._tcp TLSA {USABLE}
            """,
            authenticated=True,
        )
        r, batches = run(fake, "example.org", dane=True)
        assert tls(r) == {"example.org": (TLSLevel.DANE, "dane-usable")}
        assert batches == 2
        fake.mark_authenticated("example.org", authenticated=False)
        fake.mark_authenticated("_25._tcp.example.org")
        assert tls(route(fake, "example.org"))["example.org"][1] == "tlsa-insecure"

    def test_bracketed_relay_uses_its_port_and_secure_addresses(self):
        fake = InMemoryResolver(authenticated=True)
        fake.add("relay.example.net", "A", "192.0.2.50")
        fake.add("_587._tcp.relay.example.net", "TLSA", USABLE)
        r = route(fake, relayhost="[relay.example.net]:587")
        assert ("_587._tcp.relay.example.net", "TLSA") in fake.queries
        assert tls(r) == {"relay.example.net": (TLSLevel.DANE, "dane-usable")}

    def test_relay_by_name_follows_its_mx_answer(self):
        fake = signed()
        fake.mark_authenticated("example.com", authenticated=False)
        r = route(fake, "other.example", relayhost="example.com")
        assert set(tls(r).values()) == {(TLSLevel.OPPORTUNISTIC, "dane-mx-insecure")}

    def test_address_literal_has_no_dane(self):
        r, batches = run(InMemoryResolver(authenticated=True), "[192.0.2.7]", dane=True)
        assert (batches, r.hosts[0].tls.level, r.hosts[0].tls.reason) == (
            0,
            TLSLevel.OPPORTUNISTIC,
            None,
        )

    def test_ip_literal_exchange_gets_no_tlsa_question(self):
        fake = signed()
        fake.add("example.com", "MX", "30 [192.0.2.3]")
        r = route(fake, allow_ip_literal_mx=True)
        assert all("192" not in name for name in tlsa_questions(fake))
        assert any(h.tls.reason is None for h in r.hosts)


class TestCnameExpansion:
    ZONE = "mx1      CNAME real.example.com.\nreal     A    192.0.2.5\n"

    def zone(self, extra: str = "") -> InMemoryResolver:
        text = SIGNED.replace("mx1      A    192.0.2.1\n", "") + self.ZONE + extra
        return InMemoryResolver.from_zone(text, authenticated=True)

    def test_expanded_name_first_with_both_names(self):
        fake = self.zone(f"_25._tcp.real TLSA {USABLE_TA}\n")
        r, batches = run(fake, dane=True)
        mx1 = r.hosts[0]
        assert mx1.tls.level is TLSLevel.DANE
        assert mx1.tls.tlsa == (TLSARecord.parse(USABLE_TA),)
        assert mx1.tls.names == ("mx1.example.com", "real.example.com")
        assert batches == 3  # the rare extra round trip, documented

    def test_no_tlsa_at_the_expanded_name_falls_back_to_the_initial_name(self):
        r = route(self.zone())
        assert r.hosts[0].tls.tlsa == (TLSARecord.parse(USABLE),)
        assert r.hosts[0].tls.names == ("mx1.example.com", "real.example.com")

    def test_failing_expanded_lookup_drops_the_host(self):
        fake = self.zone()
        fake.fail("_25._tcp.real.example.com", "TLSA", "servfail")
        r = route(fake)
        assert [h.name for h in r.hosts] == ["mx2.example.com"]
        assert "tlsa-lookup-failed" in codes(r)

    def test_insecure_cname_makes_the_host_insecure(self):
        fake = self.zone()
        fake.mark_authenticated("real.example.com", authenticated=False)
        assert tls(route(fake))["mx1.example.com"][1] == "tlsa-insecure"
        assert "_25._tcp.real.example.com" not in tlsa_questions(fake)


class TestBatches:
    @pytest.mark.parametrize("target", ["example.com", "example.org"])
    def test_dane_costs_no_extra_batch(self, target):
        fake = signed()
        fake.load_zone("$ORIGIN example.org.\n@ 300 A 192.0.2.9\n", authenticated=True)
        without = run(fake, target)[1]
        with_dane = run(fake, target, dane=True)[1]
        assert with_dane == without == 2

    def test_tlsa_is_asked_in_the_address_batch(self):
        plan = plan_route("example.com", RoutingPolicy(dane=True), random.Random(1))
        fake = signed()
        (mx,) = next(plan)
        batch = plan.send([fake.query(*mx)])
        assert set(batch) == {
            ("mx1.example.com", "A"),
            ("mx1.example.com", "AAAA"),
            ("_25._tcp.mx1.example.com", "TLSA"),
            ("mx2.example.com", "A"),
            ("mx2.example.com", "AAAA"),
            ("_25._tcp.mx2.example.com", "TLSA"),
        }

    def test_glue_is_not_trusted_for_dane(self):
        fake = signed("mx1 AAAA 2001:db8::1\nmx2 AAAA 2001:db8::2\n")
        fake.use_additional = True
        assert run(fake)[1] == 1
        _r, batches = run(fake, dane=True)
        assert batches == 2  # the additional section is not covered by the AD bit
        assert ("mx1.example.com", "A") in fake.queries


class TestDrivers:
    def test_sync_and_async_agree(self):
        fake = signed(f"_25._tcp.mx2 TLSA {PKIX}\n")
        router = mxroute.Router(
            resolver=fake, policy=RoutingPolicy(dane=True), rng=random.Random(3)
        )
        sync = router.resolve("example.com")
        router.rng = random.Random(3)
        assert asyncio.run(router.resolve_async("example.com")) == sync
        assert tls(sync) == {
            "mx1.example.com": (TLSLevel.DANE, "dane-usable"),
            "mx2.example.com": (TLSLevel.ENCRYPT, "tlsa-unusable"),
        }

    @pytest.mark.asyncio
    async def test_async_temporary_error(self):
        fake = signed()
        fake.fail("_25._tcp.mx1.example.com", "TLSA", "servfail")
        fake.fail("_25._tcp.mx2.example.com", "TLSA", "servfail")
        router = mxroute.Router(resolver=fake, policy=RoutingPolicy(dane=True))
        with pytest.raises(TemporaryRouteError):
            await router.resolve_async("example.com")


class TestInMemoryAuthenticated:
    def test_off_by_default(self):
        fake = InMemoryResolver()
        fake.add("example.com", "A", "192.0.2.1")
        assert fake.query("example.com", "A").authenticated is False

    def test_a_collection_of_names_marks_them_and_below(self):
        fake = InMemoryResolver(authenticated={"example.com"})
        fake.add("mx.example.com", "A", "192.0.2.1")
        fake.add("example.net", "A", "192.0.2.2")
        assert fake.authenticated is False
        assert fake.query("mx.example.com", "A").authenticated is True
        assert fake.query("missing.example.com", "A").authenticated is True  # NXDOMAIN
        assert fake.query("example.net", "A").authenticated is False

    def test_add_marks_the_name(self):
        fake = InMemoryResolver()
        fake.add("mx.example.com", "A", "192.0.2.1", authenticated=True)
        fake.add("other.example.com", "A", "192.0.2.2")
        assert fake.query("mx.example.com", "A").authenticated is True
        assert fake.query("other.example.com", "A").authenticated is False

    def test_the_nearest_mark_wins(self):
        fake = InMemoryResolver(authenticated=True)
        fake.add("_25._tcp.mx.example.com", "TLSA", USABLE, authenticated=False)
        fake.add("mx.example.com", "A", "192.0.2.1")
        assert fake.query("mx.example.com", "A").authenticated is True
        assert fake.query("_25._tcp.mx.example.com", "TLSA").authenticated is False

    def test_a_cname_chain_is_authenticated_only_if_every_name_is(self):
        fake = InMemoryResolver(authenticated={"example.com"})
        fake.add("mx.example.com", "CNAME", "host.example.net.")
        fake.add("host.example.net", "A", "192.0.2.1")
        assert fake.query("mx.example.com", "A").authenticated is False
        fake.mark_authenticated("example.net")
        assert fake.query("mx.example.com", "A").authenticated is True

    def test_failures_are_never_authenticated(self):
        fake = InMemoryResolver(authenticated=True)
        fake.fail("example.com", "A", "servfail")
        assert fake.query("example.com", "A").authenticated is False

    def test_from_zone_serves_txt_and_tlsa(self):
        fake = InMemoryResolver.from_zone(
            f"""
            $ORIGIN example.com.
            $TTL 300
            _mta-sts TXT "v=STSv1; " "id=1;"
            _25._tcp.mx TLSA {USABLE}
            """,
            authenticated=True,
        )
        txt = fake.query("_mta-sts.example.com", "TXT")
        assert join_txt(str(txt.records[0])) == "v=STSv1; id=1;"
        tlsa = fake.query("_25._tcp.mx.example.com", "TLSA")
        assert TLSARecord.parse(str(tlsa.records[0])) == TLSARecord.parse(USABLE)
        assert tlsa.authenticated is True

    def test_clear_forgets_the_marks(self):
        fake = InMemoryResolver(authenticated={"example.com"})
        fake.clear()
        fake.add("example.com", "A", "192.0.2.1")
        assert fake.query("example.com", "A").authenticated is False

    @pytest.mark.parametrize(
        "make",
        [
            lambda: InMemoryResolver(authenticated="yes"),  # type: ignore[arg-type]
            lambda: InMemoryResolver().mark_authenticated("x.example", authenticated=1),  # type: ignore[arg-type]
            lambda: InMemoryResolver().add("x.example", "A", "192.0.2.1", authenticated="no"),  # type: ignore[arg-type]
            lambda: InMemoryResolver.from_zone("@ A 192.0.2.1", "x.example", authenticated=0),  # type: ignore[arg-type]
            lambda: InMemoryResolver(authenticated={"not a name.."}),
        ],
    )
    def test_bad_marks_are_invalid_input(self, make):
        with pytest.raises(InvalidInput):
            make()

    def test_repr_counts_the_marks(self):
        assert "1 AD mark" in repr(InMemoryResolver(authenticated={"example.com"}))


class TestTrustedResolver:
    """DNSResolver believes the AD bit only from trusted servers (Postfix's rule)."""

    @staticmethod
    def ad_answer(settings: object, server: int = 0) -> bool:
        from tests.test_dns_resolution import _mx, _run

        def script(t):  # every server answers with AD
            response = _mx(t)
            response.flags |= dns.flags.AD
            return response, 0.0

        answer, _ = _run(settings, script)
        return answer.authenticated

    @staticmethod
    def settings(addresses, **options):
        return mxroute.DNSResolver(addresses, dnssec=True, timeout=1.0, **options)._settings

    def test_loopback_is_trusted_by_default(self):
        assert self.ad_answer(self.settings(["127.0.0.1"])) is True
        assert self.ad_answer(self.settings(["::1"])) is True

    def test_a_remote_server_is_not_trusted_by_default(self):
        assert self.ad_answer(self.settings(["192.0.2.53"])) is False

    def test_listed_servers_are_trusted(self):
        assert self.ad_answer(self.settings(["192.0.2.53"], trusted=["192.0.2.53"])) is True
        assert self.ad_answer(self.settings(["192.0.2.54"], trusted=["192.0.2.53"])) is False

    def test_true_trusts_every_server_and_false_none(self):
        assert self.ad_answer(self.settings(["192.0.2.53"], trusted=True)) is True
        assert self.ad_answer(self.settings(["127.0.0.1"], trusted=False)) is False

    def test_trusted_is_kept_and_checked(self):
        resolver = mxroute.DNSResolver(["192.0.2.53"], trusted=["2001:DB8::1"])
        assert resolver.trusted == ("2001:db8::1",)
        for bad in ("192.0.2.53", ["not an address"], 5):
            with pytest.raises(InvalidInput):
                mxroute.DNSResolver(["192.0.2.53"], trusted=bad)

    def test_trust_survives_a_pickle(self):
        import pickle

        resolver = mxroute.DNSResolver(["192.0.2.53"], dnssec=True, trusted=True)
        copy = pickle.loads(pickle.dumps(resolver))
        assert copy.trusted is True
        assert self.ad_answer(copy._settings) is True


# The audit's scenarios for the DANE codes (tests/test_audit.py runs them with the
# others): zone records, the names marked authenticated, and TLSA lookups that fail.
_TWO = "d MX 10 mx1.d\nd MX 20 mx2.d\nmx1.d A 192.0.2.1\nmx2.d A 192.0.2.2\n"
DANE_AUDIT: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "dane-usable": (
        f"d MX 10 mx1.d\nmx1.d A 192.0.2.1\n_25._tcp.mx1.d TLSA {USABLE}",
        ("d",),
        (),
    ),
    "tlsa-unusable": (f"{_TWO}_25._tcp.mx1.d TLSA {PKIX}", ("d",), ()),
    "tlsa-lookup-failed": (_TWO, ("d",), ("_25._tcp.mx1.d",)),
    "tlsa-insecure": (f"{_TWO}_25._tcp.mx1.d TLSA {USABLE}", (), ()),
    "dane-no-tlsa": ("d MX 10 mx1.d\nmx1.d A 192.0.2.1", ("d",), ()),
    "dane-host-insecure": ("d MX 10 mx.other\nmx.other A 192.0.2.1", ("d",), ()),
    "dane-mx-insecure": (_TWO, (), ()),
    "backup-mx-weaker-tls": (f"{_TWO}_25._tcp.mx1.d TLSA {USABLE}", ("d",), ()),
}


def prepare_audit_scenario(code: str, fake: InMemoryResolver) -> None:
    """Mark and break what a DANE scenario of tests/test_audit.py needs (nothing for others)."""
    _, signed_names, failing = DANE_AUDIT.get(code, ("", (), ()))
    fake.mark_authenticated(*(f"{name}.example" for name in signed_names))
    for name in failing:
        fake.fail(f"{name}.example", "TLSA", "servfail")


class TestAudit:
    def test_tlsa_under_an_unsigned_mx_set_is_reported(self):
        fake = signed()
        fake.mark_authenticated("example.com", authenticated=False)
        report = mxroute.audit("example.com", fake, RoutingPolicy(dane=True))
        (finding,) = [f for f in report.findings if f.code == "tlsa-insecure"]
        assert finding.subject == "mx1.example.com"
        assert "MX records are not DNSSEC-authenticated" in finding.message

    def test_a_backup_without_dane_is_weaker(self):
        report = mxroute.audit("example.com", signed(), RoutingPolicy(dane=True))
        (finding,) = [f for f in report.findings if f.code == "backup-mx-weaker-tls"]
        assert finding.subject == "mx2.example.com"

    def test_without_dane_the_audit_asks_no_tlsa(self):
        fake = signed()
        report = mxroute.audit("example.com", fake)
        assert tlsa_questions(fake) == []
        assert not any(f.code.startswith(("dane", "tlsa")) for f in report.findings)


class TestCommandLine:
    def run(self, capsys, *argv: str) -> list[dict[str, object]]:
        from mxroute.cli import main

        main([*argv, "--json", "example.com"], resolver=signed())
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    def test_route_dane_gives_each_host_its_level(self, capsys):
        (out,) = self.run(capsys, "route", "--dane")
        hosts = out["route"]["hosts"]  # type: ignore[index]
        assert [h["tls"]["level"] for h in hosts] == ["dane", "opportunistic"]

    def test_route_without_dane_asks_no_tlsa(self, capsys):
        (out,) = self.run(capsys, "route")
        assert {h["tls"]["reason"] for h in out["route"]["hosts"]} == {None}  # type: ignore[index]

    def test_check_dane_reports_the_findings(self, capsys):
        (out,) = self.run(capsys, "check", "--dane")
        found = {f["code"] for f in out["findings"]}  # type: ignore[attr-defined]
        assert {"dane-usable", "dane-no-tlsa", "backup-mx-weaker-tls"} <= found
        (plain,) = self.run(capsys, "check")
        assert not any(f["code"].startswith(("dane", "tlsa")) for f in plain["findings"])  # type: ignore[attr-defined]


class TestCnameSharing:
    def test_hosts_sharing_an_expanded_name_ask_it_once(self):
        zone = SIGNED.replace("mx1      A    192.0.2.1\n", "mx1 CNAME real.example.com.\n")
        zone = zone.replace("mx2      A    192.0.2.2\n", "mx2 CNAME real.example.com.\n")
        fake = InMemoryResolver.from_zone(zone + "real A 192.0.2.5\n", authenticated=True)
        r, batches = run(fake, dane=True)
        assert batches == 3
        assert tlsa_questions(fake).count("_25._tcp.real.example.com") == 1
        assert {h.name: (h.tls.reason, h.tls.names) for h in r.hosts} == {
            "mx1.example.com": ("dane-usable", ("mx1.example.com", "real.example.com")),
            "mx2.example.com": ("dane-no-tlsa", ()),  # no TLSA at either name
        }

    def test_an_expanded_name_that_is_another_host_costs_no_batch(self):
        zone = SIGNED.replace("mx2      A    192.0.2.2\n", "mx2 CNAME mx1.example.com.\n")
        r, batches = run(InMemoryResolver.from_zone(zone, authenticated=True), dane=True)
        assert batches == 2
        mx2 = next(h for h in r.hosts if h.name == "mx2.example.com")
        assert (mx2.tls.level, mx2.tls.names) == (
            TLSLevel.DANE,
            ("mx2.example.com", "mx1.example.com"),
        )
