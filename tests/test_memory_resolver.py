"""InMemoryResolver, the fake: records, negative answers, CNAMEs, failures, and the
fault injection (scripts, latency, lifetime) and zone loading that tests rely on."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

import mxroute
from mxroute import Answer, AnswerStatus, InMemoryResolver, MXRecord, Question
from mxroute._resolvers import memory

ZONE = """\
$ORIGIN example.com.
$TTL 3600
@        SOA  ns.example.com. hostmaster.example.com. 1 7200 900 1209600 120
@        MX   10 mx1
@        MX   20 mx2
mx1      A    192.0.2.1
mx1      AAAA 2001:db8::1
mx2      A    192.0.2.2
www      CNAME @
"""

# A second zone whose $TTL (600) differs from add()'s default TTL (3600), and
# which has empty non-terminals more than one label deep (c and b.c above a.b.c).
SMALL_ZONE = """\
$ORIGIN example.com.
$TTL 600
@       SOA ns hostmaster 1 7200 900 1209600 120
@       MX  10 mx
mx      A   192.0.2.1
a.b.c   TXT "deep"
"""


@pytest.fixture
def small_zone() -> InMemoryResolver:
    return InMemoryResolver.from_zone(SMALL_ZONE)


class TestRecords:
    def test_answers_the_records_added(self, fake):
        fake.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com", ttl=60)
        answer = fake.query("example.com", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (MXRecord(10, "mx1.example.com"), MXRecord(20, "mx2.example.com"))
        assert answer.ttl == 60

    def test_addresses_are_ipaddress_objects(self, fake):
        fake.add("mx.example.com", "AAAA", "2001:db8::25")
        assert fake.query("mx.example.com", "AAAA").addresses == (
            ipaddress.IPv6Address("2001:db8::25"),
        )

    def test_names_and_types_are_normalised(self, fake):
        fake.add("Example.COM.", "mx", "10 MX.example.com.")
        answer = fake.query("EXAMPLE.com.", "mx")
        assert answer.records == (MXRecord(10, "mx.example.com"),)
        assert fake.queries == [("example.com", "MX")]

    def test_a_record_added_twice_is_kept_once(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.add("example.com", "A", "192.0.2.1", "192.0.2.2")
        assert len(fake.query("example.com", "A").records) == 2

    def test_other_types_answer_their_zone_file_text(self, fake):
        fake.add("example.com", "TXT", '"v=spf1 -all"')
        assert fake.query("example.com", "TXT").records == ('"v=spf1 -all"',)

    @pytest.mark.parametrize(
        ("args", "reason"),
        [
            (("", "MX", "10 mx."), "invalid-name"),
            (("example.com", "NOPE", "10 mx."), "invalid-rdtype"),
            (("example.com", "MX", "ten mx."), "invalid-rdata"),
            (("example.com", "MX", "mx.example.com"), "invalid-rdata"),
            (("example.com", "A", "192.0.2.300"), "invalid-rdata"),
        ],
    )
    def test_bad_input_raises_invalid_input_with_a_reason(self, fake, args, reason):
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.add(*args)
        assert info.value.reason == reason

    def test_a_negative_ttl_is_refused(self, fake):
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.add("example.com", "A", "192.0.2.1", ttl=-1)
        assert info.value.reason == "invalid-ttl"

    @pytest.mark.parametrize("ttl", [True, 1.5, "60", None])
    def test_a_ttl_that_is_not_an_integer_is_refused(self, fake, ttl):
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.add("example.com", "A", "192.0.2.1", ttl=ttl)
        assert info.value.reason == "invalid-ttl"
        assert fake.query("example.com", "A").status is AnswerStatus.NXDOMAIN

    def test_queries_records_every_question_in_order(self, fake):
        fake.query("a.example", "MX")
        fake.query("b.example", "A")
        fake.query("a.example", "MX")
        assert fake.queries == [("a.example", "MX"), ("b.example", "A"), ("a.example", "MX")]
        assert all(isinstance(q, Question) for q in fake.queries)

    async def _both(self, fake, name, rdtype):
        return fake.query(name, rdtype), await fake.query_async(name, rdtype)

    @pytest.mark.asyncio
    async def test_query_async_answers_like_query(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        sync, async_ = await self._both(fake, "example.com", "MX")
        assert sync == async_
        assert fake.queries == [("example.com", "MX")] * 2

    def test_implements_both_protocols(self, fake):
        assert isinstance(fake, mxroute.Resolver)
        assert isinstance(fake, mxroute.AsyncResolver)


class TestNegativeAnswers:
    def test_an_unknown_name_is_nxdomain(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        assert fake.query("nowhere.example.com", "MX").status is AnswerStatus.NXDOMAIN

    def test_a_name_with_other_types_is_nodata(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        assert fake.query("example.com", "MX").status is AnswerStatus.NODATA

    def test_empty_non_terminal_exists(self, small_zone):
        assert small_zone.query("b.c.example.com", "A").status is AnswerStatus.NODATA
        assert small_zone.query("c.example.com", "A").status is AnswerStatus.NODATA

    def test_negative_ttl_comes_from_the_enclosing_soa(self):
        fake = InMemoryResolver.from_zone(ZONE)
        assert fake.query("nowhere.example.com", "A").ttl == 120
        assert fake.query("mx2.example.com", "AAAA").ttl == 120

    def test_negative_ttl_without_soa_is_the_setting(self):
        fake = InMemoryResolver(negative_ttl=42)
        assert fake.query("nowhere.example", "MX").ttl == 42


class TestCnames:
    def test_a_cname_is_followed_inside_one_answer(self):
        fake = InMemoryResolver.from_zone(ZONE)
        answer = fake.query("www.example.com", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.cnames == ("example.com",)
        assert answer.canonical_name == "example.com"
        assert len(answer.mx_records) == 2

    def test_asking_for_the_cname_itself_does_not_follow_it(self):
        fake = InMemoryResolver.from_zone(ZONE)
        answer = fake.query("www.example.com", "CNAME")
        assert answer.records == ("example.com",)
        assert answer.cnames == ()

    def test_a_cname_loop_answers_servfail(self, fake):
        fake.add("a.example", "CNAME", "b.example.")
        fake.add("b.example", "CNAME", "a.example.")
        answer = fake.query("a.example", "MX")
        assert answer.status is AnswerStatus.SERVFAIL
        assert "loop" in answer.detail

    def test_a_cname_to_nowhere_is_nxdomain_with_the_chain(self, fake):
        fake.add("alias.example", "CNAME", "gone.example.")
        answer = fake.query("alias.example", "A")
        assert answer.status is AnswerStatus.NXDOMAIN
        assert answer.cnames == ("gone.example",)


class TestFail:
    @pytest.mark.parametrize("error", ["servfail", "timeout", "refused", "nxdomain"])
    def test_every_type_of_a_name_fails_as_told(self, fake, error):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.fail("example.com", error=error)
        assert fake.query("example.com", "MX").status is AnswerStatus(error)
        assert fake.query("example.com", "A").status is AnswerStatus(error)

    def test_one_type_fails_alone(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.fail("example.com", "MX")
        assert fake.query("example.com", "MX").status is AnswerStatus.SERVFAIL
        assert fake.query("example.com", "A").status is AnswerStatus.RECORDS

    def test_an_unknown_error_is_refused(self, fake):
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.fail("example.com", error="explode")
        assert info.value.reason == "invalid-error"

    def test_add_and_fail(self, fake):
        fake.add("example.com", "A", "192.0.2.1", ttl=30)
        assert fake.query("example.com", "A").ttl == 30
        fake.fail("example.com", "A", "timeout")
        assert fake.query("example.com", "A").status is AnswerStatus.TIMEOUT
        assert fake.query("example.com", "AAAA").status is AnswerStatus.NODATA
        fake.fail("example.com")
        assert fake.query("example.com", "AAAA").status is AnswerStatus.SERVFAIL


class TestAdditional:
    def test_mx_answers_carry_exchange_addresses_when_asked(self):
        fake = InMemoryResolver(use_additional=True)
        fake.load_zone(ZONE)
        additional = {(a.name, a.rdtype) for a in fake.query("example.com", "MX").additional}
        assert additional == {
            ("mx1.example.com", "A"),
            ("mx1.example.com", "AAAA"),
            ("mx2.example.com", "A"),
        }

    def test_no_additional_section_by_default(self):
        assert InMemoryResolver.from_zone(ZONE).query("example.com", "MX").additional == ()


class TestSettings:
    """Bad settings fail where they are written, as DNSResolver's do."""

    @pytest.mark.parametrize(
        ("setting", "value", "reason"),
        [
            ("negative_ttl", "soon", "invalid-negative-ttl"),
            ("negative_ttl", True, "invalid-negative-ttl"),
            ("negative_ttl", -5, "invalid-negative-ttl"),
            ("authenticated", "yes", "invalid-option"),
            ("authenticated", 1, "invalid-option"),
            ("use_additional", None, "invalid-option"),
            ("latency", -0.5, "invalid-latency"),
            ("lifetime", 0, "invalid-lifetime"),
            ("lifetime", float("inf"), "invalid-lifetime"),
        ],
    )
    def test_refused_in_the_constructor_and_when_set_later(self, setting, value, reason):
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver(**{setting: value})
        assert info.value.reason == reason
        fake = InMemoryResolver()
        before = getattr(fake, setting)
        with pytest.raises(mxroute.InvalidInput) as info:
            setattr(fake, setting, value)
        assert info.value.reason == reason
        assert getattr(fake, setting) == before

    def test_good_settings_are_kept_in_their_canonical_type(self):
        fake = InMemoryResolver(negative_ttl=0, latency=1, lifetime=2)
        assert (fake.negative_ttl, fake.latency, fake.lifetime) == (0, 1.0, 2.0)
        assert isinstance(fake.latency, float)
        fake.lifetime = None
        assert fake.lifetime is None

    def test_the_negative_ttl_set_is_the_one_answered(self):
        fake = InMemoryResolver(negative_ttl=60)
        assert fake.query("example.com", "MX").ttl == 60

    def test_glue_is_called_additional_as_everywhere_else(self):
        with pytest.raises(TypeError):
            InMemoryResolver(glue=True)  # type: ignore[call-arg]
        assert InMemoryResolver(use_additional=True).use_additional is True


class TestClear:
    def test_clear_forgets_everything_but_the_settings(self, sleeps):
        fake = InMemoryResolver(latency=0.5, use_additional=True)
        fake.load_zone(ZONE)
        fake.fail("example.com", "A")
        fake.script("example.com", "MX", ["servfail"])
        fake.delay("example.com", 1)
        fake.query("example.com", "MX")
        fake.clear()
        assert fake.queries == []
        assert fake.latency == 0.5
        assert fake.use_additional
        fake.latency = 0
        assert fake.query("example.com", "MX").status is AnswerStatus.NXDOMAIN
        assert fake.query("example.com", "A").status is AnswerStatus.NXDOMAIN


class TestScript:
    def test_outcomes_come_in_order_then_the_records(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.script("example.com", "MX", ["timeout", "servfail", None, "refused"])
        statuses = [fake.query("example.com", "MX").status for _ in range(6)]
        assert statuses == [
            AnswerStatus.TIMEOUT,
            AnswerStatus.SERVFAIL,
            AnswerStatus.RECORDS,
            AnswerStatus.REFUSED,
            AnswerStatus.RECORDS,
            AnswerStatus.RECORDS,
        ]

    def test_after_the_script_fail_rules_still_apply(self, fake):
        fake.fail("example.com", "MX", error="refused")
        fake.script("example.com", "MX", ["timeout"])
        assert fake.query("example.com", "MX").status is AnswerStatus.TIMEOUT
        assert fake.query("example.com", "MX").status is AnswerStatus.REFUSED

    def test_a_script_only_affects_its_question(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.script("example.com", "MX", ["servfail"])
        assert fake.query("example.com", "A").status is AnswerStatus.RECORDS
        assert fake.query("example.com", "MX").status is AnswerStatus.SERVFAIL

    def test_a_script_for_any_type_is_shared_and_the_exact_one_goes_first(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.script("example.com", None, ["timeout", "refused"])
        fake.script("example.com", "MX", ["servfail"])
        assert fake.query("example.com", "MX").status is AnswerStatus.SERVFAIL
        assert fake.query("example.com", "A").status is AnswerStatus.TIMEOUT
        assert fake.query("example.com", "MX").status is AnswerStatus.REFUSED
        assert fake.query("example.com", "A").status is AnswerStatus.RECORDS

    def test_scripting_again_replaces_the_remaining_steps(self, fake):
        fake.script("example.com", "MX", ["timeout", "timeout"])
        fake.query("example.com", "MX")
        fake.script("example.com", "MX", ["refused"])
        assert fake.query("example.com", "MX").status is AnswerStatus.REFUSED
        assert fake.query("example.com", "MX").status is AnswerStatus.NXDOMAIN

    def test_a_script_matches_the_name_as_asked_not_the_cname_target(self):
        fake = InMemoryResolver.from_zone(ZONE)
        fake.script("example.com", "MX", ["servfail"])
        assert fake.query("www.example.com", "MX").status is AnswerStatus.RECORDS
        assert fake.query("example.com", "MX").status is AnswerStatus.SERVFAIL

    def test_scripted_negative_answers_carry_the_negative_ttl(self):
        fake = InMemoryResolver.from_zone(ZONE)
        fake.script("example.com", "MX", ["nxdomain", AnswerStatus.NODATA])
        first, second = fake.query("example.com", "MX"), fake.query("example.com", "MX")
        assert (first.status, first.ttl) == (AnswerStatus.NXDOMAIN, 120)
        assert (second.status, second.ttl) == (AnswerStatus.NODATA, 120)

    def test_outcome_names_and_statuses_are_accepted(self, fake):
        fake.add("example.com", "A", "192.0.2.1")
        fake.script("example.com", "A", ["SERVFAIL", AnswerStatus.RECORDS])
        assert fake.query("example.com", "A").status is AnswerStatus.SERVFAIL
        assert fake.query("example.com", "A").status is AnswerStatus.RECORDS

    def test_a_scripted_answer_is_given_back_as_it_is(self, fake):
        canned = Answer(
            "example.com", "MX", AnswerStatus.RECORDS, records=[MXRecord(5, "x.example")]
        )
        fake.script("example.com", "MX", [canned])
        assert fake.query("example.com", "MX") == canned

    def test_a_scripted_answer_for_another_question_is_refused(self, fake):
        other = Answer("example.net", "MX", AnswerStatus.NODATA)
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.script("example.com", "MX", [other])
        assert info.value.reason == "invalid-outcome"

    @pytest.mark.parametrize("outcome", ["explode", 3, object()])
    def test_an_unknown_outcome_is_refused(self, fake, outcome):
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.script("example.com", "MX", [None, outcome])
        assert info.value.reason == "invalid-outcome"
        assert "servfail" in str(info.value)

    def test_a_scripted_retry_succeeds_through_the_router(self, fake):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.25")
        fake.script("example.com", "MX", ["timeout"])
        router = mxroute.Router(resolver=fake)
        with pytest.raises(mxroute.TemporaryRouteError):
            router.resolve("example.com")
        assert router.resolve("example.com").hosts[0].name == "mx.example.com"


class _Sleeps:
    """Records the waits asked of time.sleep / asyncio.sleep instead of waiting."""

    def __init__(self) -> None:
        self.sync: list[float] = []
        self.async_: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sync.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.async_.append(seconds)


@pytest.fixture
def sleeps(monkeypatch):
    recorder = _Sleeps()
    monkeypatch.setattr(memory.time, "sleep", recorder.sleep)
    monkeypatch.setattr(asyncio, "sleep", recorder.async_sleep)
    return recorder


class TestLatency:
    def test_no_latency_means_no_wait(self, fake, sleeps):
        fake.query("example.com", "MX")
        assert sleeps.sync == []

    def test_global_latency_sleeps_in_query(self, sleeps):
        fake = InMemoryResolver(latency=0.25)
        fake.query("example.com", "MX")
        assert sleeps.sync == [0.25]

    @pytest.mark.asyncio
    async def test_global_latency_awaits_asyncio_sleep_in_query_async(self, sleeps):
        fake = InMemoryResolver(latency=0.25)
        await fake.query_async("example.com", "MX")
        assert sleeps.async_ == [0.25]
        assert sleeps.sync == []

    def test_a_name_delay_overrides_the_global_latency(self, sleeps):
        fake = InMemoryResolver(latency=0.25)
        fake.delay("slow.example", 2)
        fake.delay("slow.example", 3, "MX")
        fake.delay("fast.example", 0)
        for name, rdtype in [("slow.example", "A"), ("slow.example", "MX"), ("fast.example", "A")]:
            fake.query(name, rdtype)
        fake.query("other.example", "A")
        assert sleeps.sync == [2, 3, 0.25]

    def test_the_question_is_recorded_even_when_the_answer_is_slow(self, sleeps):
        fake = InMemoryResolver(latency=1)
        fake.query("example.com", "MX")
        assert fake.queries == [("example.com", "MX")]

    def test_an_answer_slower_than_the_lifetime_is_a_timeout_after_the_lifetime(self, sleeps):
        fake = InMemoryResolver(lifetime=1.5)
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.delay("example.com", 5)
        answer = fake.query("example.com", "MX")
        assert answer.status is AnswerStatus.TIMEOUT
        assert "lifetime" in answer.detail
        assert sleeps.sync == [1.5]

    def test_an_answer_within_the_lifetime_is_unchanged(self, sleeps):
        fake = InMemoryResolver(latency=0.5, lifetime=1.5)
        fake.add("example.com", "MX", "10 mx.example.com.")
        assert fake.query("example.com", "MX").status is AnswerStatus.RECORDS
        assert sleeps.sync == [0.5]

    def test_a_timeout_takes_the_whole_lifetime(self, sleeps):
        fake = InMemoryResolver(latency=0.1, lifetime=2)
        fake.fail("example.com", error="timeout")
        fake.script("example.net", "MX", ["timeout"])
        fake.query("example.com", "MX")
        fake.query("example.net", "MX")
        assert sleeps.sync == [2, 2]

    def test_without_a_lifetime_a_timeout_answers_after_the_latency(self, sleeps):
        fake = InMemoryResolver()
        fake.fail("example.com", error="timeout")
        assert fake.query("example.com", "MX").status is AnswerStatus.TIMEOUT
        assert sleeps.sync == []

    @pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "1", True])
    def test_bad_latency_and_lifetime_are_refused(self, fake, value):
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver(latency=value)
        assert info.value.reason == "invalid-latency"
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.lifetime = value
        assert info.value.reason == "invalid-lifetime"
        with pytest.raises(mxroute.InvalidInput):
            fake.delay("example.com", value)

    def test_a_real_short_lifetime_times_out(self):
        # Real sleeps, tiny ones; the outcome is asserted, never the time taken.
        fake = InMemoryResolver(latency=0.02, lifetime=0.01)
        fake.add("example.com", "A", "192.0.2.1")
        assert fake.query("example.com", "A").status is AnswerStatus.TIMEOUT
        assert asyncio.run(fake.query_async("example.com", "A")).status is AnswerStatus.TIMEOUT

    def test_the_async_driver_routes_through_a_slow_fake(self):
        fake = InMemoryResolver(latency=0.01)
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.25")
        route = asyncio.run(mxroute.Router(resolver=fake).resolve_async("example.com"))
        assert route.hosts[0].addresses == (ipaddress.IPv4Address("192.0.2.25"),)


class TestZoneDirectory:
    def write(self, path, name, text):
        (path / name).write_text(text, encoding="utf-8")

    def test_origin_from_the_file_name_or_origin_directive(self, tmp_path):
        self.write(tmp_path, "example.com.zone", "$TTL 60\n@ MX 10 mx\nmx A 192.0.2.1\n")
        self.write(tmp_path, "db.example.net", "@ 60 MX 0 .\n")
        self.write(tmp_path, "example.org.db", "@ 60 A 192.0.2.9\n")
        self.write(
            tmp_path, "primary.zone", "; comment\n$TTL 60\n$ORIGIN Example.EDU.\n@ MX 5 mail\n"
        )
        fake = InMemoryResolver.from_directory(tmp_path)
        assert fake.query("example.com", "MX").records == (MXRecord(10, "mx.example.com"),)
        assert fake.query("mx.example.com", "A").status is AnswerStatus.RECORDS
        assert fake.query("example.net", "MX").mx_records[0].is_null
        assert fake.query("example.org", "A").status is AnswerStatus.RECORDS
        assert fake.query("example.edu", "MX").records == (MXRecord(5, "mail.example.edu"),)
        assert fake.query("primary", "MX").status is AnswerStatus.NXDOMAIN

    def test_load_directory_returns_the_origins_in_name_order(self, tmp_path):
        self.write(tmp_path, "db.b.example", "@ 60 A 192.0.2.2\n")
        self.write(tmp_path, "a.example.zone", "@ 60 A 192.0.2.1\n")
        fake = InMemoryResolver()
        fake.add("c.example", "A", "192.0.2.3")
        assert fake.load_directory(str(tmp_path)) == ["a.example", "b.example"]
        assert fake.query("c.example", "A").status is AnswerStatus.RECORDS

    def test_other_files_hidden_files_and_directories_are_ignored(self, tmp_path):
        self.write(tmp_path, "README", "not a zone\n")
        self.write(tmp_path, "notes.txt", "not a zone\n")
        self.write(tmp_path, ".swap.zone", "garbage\n")
        (tmp_path / "sub.zone").mkdir()
        self.write(tmp_path / "sub.zone", "x.example.zone", "@ 60 A 192.0.2.1\n")
        fake = InMemoryResolver()
        assert fake.load_directory(tmp_path) == []
        assert fake.query("x.example", "A").status is AnswerStatus.NXDOMAIN

    def test_a_bad_zone_file_is_named_in_the_error(self, tmp_path):
        self.write(tmp_path, "good.example.zone", "@ 60 A 192.0.2.1\n")
        self.write(tmp_path, "bad.example.zone", "@ 60 MX ten mx\n")
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver.from_directory(tmp_path)
        assert info.value.reason == "invalid-zone"
        assert "bad.example.zone" in str(info.value)

    def test_a_missing_directory_is_refused(self, tmp_path):
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver.from_directory(tmp_path / "missing")
        assert info.value.reason == "invalid-zone-directory"

    def test_negative_ttl_comes_from_each_zones_soa(self, tmp_path):
        self.write(tmp_path, "example.com.zone", "$TTL 60\n@ SOA ns hm 1 2 3 4 30\n")
        self.write(tmp_path, "example.net.zone", "$TTL 60\n@ SOA ns hm 1 2 3 4 90\n")
        fake = InMemoryResolver.from_directory(tmp_path)
        assert fake.query("nowhere.example.com", "A").ttl == 30
        assert fake.query("nowhere.example.net", "A").ttl == 60


class TestFromZone:
    def test_records_answer_with_the_zone_ttl(self, small_zone):
        answer = small_zone.query("example.com", "MX")
        assert answer.status is AnswerStatus.RECORDS
        assert answer.records == (MXRecord(10, "mx.example.com"),)
        assert answer.ttl == 600

    def test_a_zone_with_origin_given(self):
        fake = InMemoryResolver.from_zone("@ 300 MX 10 mx\nmx 300 A 192.0.2.1\n", "example.com")
        assert fake.query("example.com", "MX").records == (MXRecord(10, "mx.example.com"),)

    def test_an_unreadable_zone_is_invalid_input(self):
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver.from_zone("@ 300 MX\n", "example.com")
        assert info.value.reason == "invalid-zone"

    def test_zone_without_origin_needs_one(self):
        with pytest.raises(mxroute.InvalidInput):
            InMemoryResolver.from_zone("@ 300 IN A 192.0.2.1\n")
        fake = InMemoryResolver.from_zone("@ 300 IN A 192.0.2.1\n", origin="example.net")
        assert fake.query("example.net", "A").status is AnswerStatus.RECORDS

    def test_indented_zone_text_is_read_as_if_flush(self):
        fake = InMemoryResolver.from_zone(
            """
            $ORIGIN example.com.
            $TTL 300
            @     MX  10 mx
                  MX  20 backup
            mx    A   192.0.2.1
            """
        )
        assert [r.preference for r in fake.query("example.com", "MX").mx_records] == [10, 20]
        assert fake.query("mx.example.com", "A").status is AnswerStatus.RECORDS


class _RdataSpy:
    """Counts the records dnspython's zone reader makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import dns.rdata
        import dns.zonefile

        self.made = 0
        original = dns.rdata.from_text

        def from_text(*args, **kwargs):
            self.made += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(dns.zonefile.dns.rdata, "from_text", from_text)


@pytest.fixture
def rdata_spy(monkeypatch):
    return _RdataSpy(monkeypatch)


GENERATE = "$ORIGIN example.com.\n$TTL 300\n$GENERATE 1-100000 host$ A 192.0.2.1\n"


class TestZoneLimit:
    """A zone holds at most max_records records (10,000 by default), refused before expanding."""

    def test_a_78_byte_generate_of_100000_records_is_refused_before_any_is_made(self, rdata_spy):
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver.from_zone(GENERATE)
        assert info.value.reason == "zone-too-large"
        assert "more than 10,000 records" in str(info.value)
        assert "$GENERATE ranges alone make 100,000" in str(info.value)
        assert rdata_spy.made == 0

    def test_generate_ranges_count_together_and_with_their_step(self, rdata_spy):
        text = "$TTL 300\n$GENERATE 1-6 a$ A 192.0.2.1\n$generate 1-10/2 b$ A 192.0.2.2\n"
        fake = InMemoryResolver.from_zone(text, "example.com", max_records=11)
        assert fake.query("b9.example.com", "A").status is AnswerStatus.RECORDS
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver.from_zone(text, "example.com", max_records=10)
        assert info.value.reason == "zone-too-large"

    def test_reading_stops_at_the_first_record_past_the_limit(self, rdata_spy):
        text = "$TTL 300\n" + "".join(f"h{i} A 192.0.2.1\n" for i in range(50))
        fake = InMemoryResolver()
        with pytest.raises(mxroute.InvalidInput) as info:
            fake.load_zone(text, "example.com", max_records=5)
        assert info.value.reason == "zone-too-large"
        assert "reading stopped at record 6" in str(info.value)
        assert rdata_spy.made == 6
        assert fake.query("h0.example.com", "A").status is AnswerStatus.NXDOMAIN  # nothing added

    def test_a_zone_of_exactly_the_limit_loads(self):
        text = "$TTL 300\n" + "".join(f"h{i} A 192.0.2.1\n" for i in range(5))
        fake = InMemoryResolver.from_zone(text, "example.com", max_records=5)
        assert fake.query("h4.example.com", "A").status is AnswerStatus.RECORDS

    @pytest.mark.parametrize("limit", [0, -1, True, 1.5, None])
    def test_max_records_must_be_a_positive_integer(self, limit):
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver.from_zone("@ 60 A 192.0.2.1\n", "example.com", max_records=limit)
        assert info.value.reason == "invalid-max-records"

    def test_each_zone_of_a_directory_is_bounded_and_the_file_named(self, tmp_path, rdata_spy):
        (tmp_path / "big.example.zone").write_text(GENERATE.replace("example.com.", "big.example."))
        with pytest.raises(mxroute.InvalidInput) as info:
            InMemoryResolver.from_directory(tmp_path)
        assert info.value.reason == "zone-too-large"
        assert "big.example.zone" in str(info.value)
        assert rdata_spy.made == 0
        (tmp_path / "big.example.zone").write_text("$TTL 60\n$GENERATE 1-20 h$ A 192.0.2.1\n")
        with pytest.raises(mxroute.InvalidInput, match=r"big\.example\.zone"):
            InMemoryResolver.from_directory(tmp_path, max_records=19)
        fake = InMemoryResolver.from_directory(tmp_path, max_records=20)
        assert fake.query("h20.big.example", "A").status is AnswerStatus.RECORDS

    def test_mxroute_check_zone_refuses_it_with_a_clear_error(self, tmp_path, capsys, rdata_spy):
        from mxroute.cli import main

        zone = tmp_path / "example.com.zone"
        zone.write_text(GENERATE, encoding="utf-8")
        assert main(["check", "--zone", str(zone), "example.com"]) != 0
        assert "more than 10,000 records" in capsys.readouterr().err
        assert rdata_spy.made == 0


class TestRepr:
    def test_a_short_readable_summary(self):
        fake = InMemoryResolver()
        assert repr(fake) == "<InMemoryResolver: 0 record sets, 0 queries>"
        fake.load_zone(ZONE)
        fake.fail("example.net")
        fake.script("example.com", "MX", ["timeout"])
        fake.query("example.com", "MX")
        fake.use_additional = True
        fake.latency = 0.25
        assert repr(fake) == (
            "<InMemoryResolver: 6 record sets, 1 query, 1 failure, 1 script, "
            "use_additional=True, latency=0.25>"
        )
