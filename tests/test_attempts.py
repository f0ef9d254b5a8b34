"""The delivery attempt plan (``MailRoute.plan``) and the unreachable-host memory: pure, no I/O."""

from __future__ import annotations

import inspect
import ipaddress
import pickle
import threading

import attrs
import pytest

import mxroute
from mxroute import (
    Attempt,
    DeliveryPlan,
    InvalidInput,
    MailHost,
    MailRoute,
    MemoryMode,
    RouteKind,
    RoutingPolicy,
    TLSLevel,
    TLSRequirement,
    UnreachableMemory,
)
from mxroute._attempts import (
    DEFAULT_ADDRESS_LIMIT,
    DEFAULT_SESSION_LIMIT,
    Unreachable,
    plan_delivery,
)
from mxroute._tls import OPPORTUNISTIC
from tests.doubles import FakeClock


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def route_of(*hosts: MailHost, kind: RouteKind = RouteKind.MX) -> MailRoute:
    return MailRoute("example.com", kind, list(hosts))


def addresses(plan: DeliveryPlan) -> list[str]:
    return [str(a.address) for a in plan]


MX1 = MailHost("mx1.example.com", 10, ["192.0.2.1", "2001:db8::1", "192.0.2.11"])
MX2 = MailHost("mx2.example.com", 10, ["2001:db8::2", "192.0.2.2"])
MX3 = MailHost("mx3.example.com", 20, ["192.0.2.3", "2001:db8::3"])


class TestOrder:
    def test_preference_order_and_each_address_once(self):
        shared = MailHost("backup.example.com", 20, ["192.0.2.1", "192.0.2.9"])
        plan = route_of(MailHost("mx.example.com", 10, ["192.0.2.1"]), shared).plan()
        assert addresses(plan) == ["192.0.2.1", "192.0.2.9"]
        assert plan.attempts[0].host.name == "mx.example.com"

    def test_a_shared_address_on_another_port_is_another_attempt(self):
        first = MailHost("a.example.com", 0, ["192.0.2.1"], port=25)
        second = MailHost("b.example.com", 0, ["192.0.2.1"], port=2525)
        plan = route_of(first, second).plan()
        assert [(str(a.address), a.port) for a in plan] == [("192.0.2.1", 25), ("192.0.2.1", 2525)]

    def test_families_alternate_within_a_tier_ipv6_first_by_default(self):
        plan = route_of(MX1, MX2, MX3).plan(address_limit=10)
        assert addresses(plan) == [
            # tier 10: IPv6 of mx1 then mx2, IPv4 of mx1 then mx2, interleaved
            "2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.11", "192.0.2.2",
            # tier 20 only after tier 10, interleaved on its own
            "2001:db8::3", "192.0.2.3",
        ]  # fmt: skip

    def test_first_family_can_be_ipv4(self):
        plan = route_of(MX1, MX2).plan(first_family="ipv4", address_limit=10)
        assert addresses(plan) == [
            "192.0.2.1", "2001:db8::1", "192.0.2.11", "2001:db8::2", "192.0.2.2",
        ]  # fmt: skip

    def test_the_policy_first_family_leads(self):
        policy = RoutingPolicy(address_families=("ipv4", "ipv6"))
        assert addresses(route_of(MX3).plan(policy)) == ["192.0.2.3", "2001:db8::3"]

    def test_first_family_count(self):
        plan = route_of(MX1, MX2).plan(first_family="ipv4", first_family_count=2, address_limit=10)
        assert addresses(plan) == [
            "192.0.2.1", "192.0.2.11", "2001:db8::1", "192.0.2.2", "2001:db8::2",
        ]  # fmt: skip

    def test_a_family_the_policy_leaves_out_is_never_planned(self):
        plan = route_of(MX1, MX2, MX3).plan(RoutingPolicy(address_families=["ipv4"]))
        assert addresses(plan) == ["192.0.2.1", "192.0.2.11", "192.0.2.2", "192.0.2.3"]

    def test_tiers_are_runs_of_equal_preference(self):
        plan = route_of(MX1, MX2, MX3).plan(address_limit=10)
        assert [len(t) for t in plan.tiers()] == [5, 2]
        assert {a.host.preference for a in plan.tiers()[1]} == {20}

    def test_rotation_starts_a_retry_at_the_next_address_and_family(self):
        plain = route_of(MX3).plan()
        rotated = route_of(MX3).plan(rotation=1)
        assert addresses(plain) == ["2001:db8::3", "192.0.2.3"]
        assert addresses(rotated) == ["192.0.2.3", "2001:db8::3"]
        assert addresses(route_of(MX3).plan(rotation=2)) == addresses(plain)

    def test_rotation_stays_inside_a_tier(self):
        plan = route_of(MX2, MX3).plan(rotation=1)
        assert [a.host.preference for a in plan] == [10, 10, 20, 20]

    def test_a_message_key_gives_every_retry_the_same_host_order(self):
        hosts = [MailHost(f"mx{i}.example.com", 10, [f"192.0.2.{i}"]) for i in range(1, 9)]
        shuffled = [hosts, hosts[::-1], hosts[3:] + hosts[:3]]  # the router's shuffle differs
        key = "<m1@example.org>"
        plans = [route_of(*h).plan(message_key=key, address_limit=8) for h in shuffled]
        assert addresses(plans[0]) == addresses(plans[1]) == addresses(plans[2])
        others = {
            tuple(addresses(route_of(*hosts).plan(message_key=f"<m{i}@x>", address_limit=8)))
            for i in range(10)
        }
        assert len(others) > 1  # the order depends on the key, not on the names alone

    def test_without_a_key_the_route_order_is_kept(self):
        hosts = [MailHost(f"mx{i}.example.com", 10, [f"192.0.2.{i}"]) for i in range(1, 4)]
        assert addresses(route_of(*hosts[::-1]).plan()) == ["192.0.2.3", "192.0.2.2", "192.0.2.1"]


class TestLimits:
    def test_defaults_are_postfix_defaults(self):
        assert (DEFAULT_ADDRESS_LIMIT, DEFAULT_SESSION_LIMIT) == (5, 2)
        params = inspect.signature(MailRoute.plan).parameters
        delegate = inspect.signature(plan_delivery).parameters
        for name in ("address_limit", "session_limit", "first_family_count", "rotation"):
            assert params[name].default == delegate[name].default, name

    def test_the_address_limit_cuts_the_plan(self):
        hosts = [MailHost(f"mx{i}.example.com", i, [f"192.0.2.{i}"]) for i in range(1, 9)]
        assert addresses(route_of(*hosts).plan()) == [f"192.0.2.{i}" for i in range(1, 6)]
        assert len(route_of(*hosts).plan(address_limit=2)) == 2

    def test_both_families_stay_inside_the_limit(self):
        many_v6 = MailHost("mx1.example.com", 10, [f"2001:db8::{i}" for i in range(1, 9)])
        v4 = MailHost("mx2.example.com", 20, ["192.0.2.2"])
        plan = route_of(many_v6, v4).plan(address_limit=3)
        assert addresses(plan) == ["2001:db8::1", "2001:db8::2", "192.0.2.2"]

    def test_a_limit_of_one_keeps_only_the_first(self):
        assert addresses(route_of(MX1).plan(address_limit=1)) == ["2001:db8::1"]

    def test_the_session_limit_is_carried(self):
        assert route_of(MX1).plan().session_limit == 2
        assert route_of(MX1).plan(session_limit=1).session_limit == 1

    @pytest.mark.parametrize(
        ("options", "reason"),
        [
            ({"address_limit": -1}, "invalid-address-limit"),
            ({"address_limit": 0}, "invalid-address-limit"),
            ({"address_limit": True}, "invalid-address-limit"),
            ({"session_limit": -2}, "invalid-session-limit"),
            ({"session_limit": 1.5}, "invalid-session-limit"),
            ({"first_family": "ipv5"}, "invalid-address-family"),
            ({"first_family_count": 0}, "invalid-first-family-count"),
            ({"rotation": -1}, "invalid-rotation"),
            ({"message_key": 7}, "invalid-message-key"),
            ({"memory": {}}, "invalid-memory"),
            ({"policy": "strict"}, "invalid-policy"),
        ],
    )
    def test_bad_options_are_invalid_input(self, options, reason):
        with pytest.raises(InvalidInput) as caught:
            route_of(MX1).plan(**options)
        assert caught.value.reason == reason

    def test_a_first_family_the_policy_leaves_out_is_refused(self):
        with pytest.raises(InvalidInput, match="not among the policy's address_families"):
            route_of(MX1).plan(RoutingPolicy(address_families=["ipv4"]), first_family="ipv6")


class TestPlanValues:
    def test_scope_and_trust_come_from_the_policy_and_the_route(self):
        plan = route_of(MX1).plan(RoutingPolicy(address_scope="global"))
        assert plan.address_scope is mxroute.AddressScope.GLOBAL
        assert not plan.trusted
        assert route_of(MX1, kind=RouteKind.RELAY).plan().trusted

    def test_a_hand_made_plan_defaults_to_the_routable_scope(self):
        host = MailHost("[127.0.0.1]", 0, ["127.0.0.1"])
        plan = DeliveryPlan("[127.0.0.1]", [Attempt(host, "127.0.0.1")])
        assert plan.address_scope is mxroute.AddressScope.ROUTABLE
        assert plan.attempts[0].port == 25
        assert plan.attempts[0].address == ip("127.0.0.1")

    def test_each_attempt_carries_its_host_tls_requirement(self):
        dane = TLSRequirement(TLSLevel.DANE, names=["mx.example.com"], reason="dane")
        secure = MailHost("mx.example.com", 10, ["192.0.2.1", "2001:db8::1"], tls=dane)
        plain = MailHost("backup.example.com", 20, ["192.0.2.2"])
        plan = route_of(secure, plain).plan()
        assert [a.tls.level for a in plan] == [TLSLevel.DANE, TLSLevel.DANE, TLSLevel.OPPORTUNISTIC]
        assert plan.to_dict()["attempts"][0]["tls"]["level"] == "dane"

    def test_bad_attempt_fields_are_invalid_input(self):
        with pytest.raises(InvalidInput) as caught:
            Attempt(MX1, "192.0.2.1", tls="dane")  # type: ignore[arg-type]
        assert caught.value.reason == "invalid-tls"
        with pytest.raises(InvalidInput) as caught:
            Attempt("mx1.example.com", "192.0.2.1")  # type: ignore[arg-type]
        assert caught.value.reason == "invalid-host"

    def test_an_attempt_must_use_an_address_of_its_host(self):
        with pytest.raises(InvalidInput, match="not an address of the host"):
            Attempt(MX1, "192.0.2.99")

    def test_bad_plan_fields_are_invalid_input(self):
        with pytest.raises(InvalidInput):
            DeliveryPlan("example.com", ["192.0.2.1"])  # type: ignore[list-item]
        with pytest.raises(InvalidInput):
            DeliveryPlan("example.com", [], address_scope="everywhere")
        with pytest.raises(InvalidInput):
            DeliveryPlan("example.com", [], session_limit=0)

    def test_plans_are_values(self):
        plan = route_of(MX1, MX2).plan()
        assert plan == route_of(MX1, MX2).plan()
        assert hash(plan) == hash(route_of(MX1, MX2).plan())
        assert pickle.loads(pickle.dumps(plan)) == plan
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            plan.session_limit = 3  # type: ignore[misc]

    def test_to_dict(self):
        plan = route_of(MX3).plan()
        assert plan.to_dict() == {
            "domain": "example.com",
            "attempts": [
                {
                    "host": "mx3.example.com",
                    "preference": 20,
                    "address": "2001:db8::3",
                    "port": 25,
                    "tls": OPPORTUNISTIC.to_dict(),
                },
                {
                    "host": "mx3.example.com",
                    "preference": 20,
                    "address": "192.0.2.3",
                    "port": 25,
                    "tls": OPPORTUNISTIC.to_dict(),
                },
            ],
            "skipped": [],
            "session_limit": 2,
            "address_scope": "routable",
            "trusted": False,
        }


class TestMemory:
    def test_a_failed_address_is_tried_last_by_default(self):
        memory = UnreachableMemory(clock=FakeClock())
        memory.record_failure(ip("2001:db8::1"), 25, "refused")
        plan = route_of(MX1, MX3).plan(memory=memory, address_limit=10)
        assert addresses(plan)[-1] == "2001:db8::1"
        assert plan.skipped == ()

    def test_skip_mode_leaves_it_out_until_its_retry_time(self):
        clock = FakeClock()
        memory = UnreachableMemory(mode="skip", retry_after=60, clock=clock)
        memory.record_failure(ip("192.0.2.3"), 25, "timeout")
        plan = route_of(MX3).plan(memory=memory)
        assert addresses(plan) == ["2001:db8::3"]
        assert [str(a.address) for a in plan.skipped] == ["192.0.2.3"]
        clock.advance(60)
        assert addresses(route_of(MX3).plan(memory=memory)) == ["2001:db8::3", "192.0.2.3"]

    def test_the_memory_is_per_port(self):
        memory = UnreachableMemory(mode=MemoryMode.SKIP, clock=FakeClock())
        memory.record_failure(ip("192.0.2.3"), 587, "refused")
        assert len(route_of(MX3).plan(memory=memory)) == 2

    def test_the_retry_time_doubles_up_to_the_most(self):
        clock = FakeClock(now=0.0)
        memory = UnreachableMemory(retry_after=10, max_retry_after=35, clock=clock)
        waits = [memory.record_failure(ip("192.0.2.1"), 25, "refused").until for _ in range(4)]
        assert waits == [10, 20, 35, 35]
        entry = memory.lookup(ip("192.0.2.1"), 25)
        assert entry == Unreachable(ip("192.0.2.1"), 25, 35.0, 4, "refused")
        assert entry.to_dict()["address"] == "192.0.2.1"

    def test_a_success_forgets_the_address(self):
        memory = UnreachableMemory(clock=FakeClock())
        memory.record_failure(ip("192.0.2.1"), 25, "refused")
        memory.record_success(ip("192.0.2.1"), 25)
        assert memory.lookup(ip("192.0.2.1"), 25) is None
        assert memory.record_failure(ip("192.0.2.1"), 25, "refused").failures == 1

    def test_a_pluggable_store_holds_the_entries(self):
        class Store:
            def __init__(self):
                self.data = {}

            def get(self, key):
                return self.data.get(key)

            def put(self, key, entry):
                self.data[key] = entry

            def remove(self, key):
                self.data.pop(key, None)

        store = Store()
        memory = UnreachableMemory(store=store, clock=FakeClock())
        memory.record_failure(ip("2001:db8::1"), 25, "refused")
        assert list(store.data) == ["[2001:db8::1]:25"]

    def test_the_default_store_is_bounded(self):
        memory = UnreachableMemory(clock=FakeClock())
        for i in range(10_050):
            memory.record_failure(ipaddress.IPv4Address(0x0A000000 + i), 25, "refused")
        assert memory.lookup(ipaddress.IPv4Address(0x0A000000), 25) is None
        assert memory.lookup(ipaddress.IPv4Address(0x0A000000 + 10_049), 25) is not None

    def test_it_is_thread_safe(self):
        memory = UnreachableMemory(clock=FakeClock())
        start = threading.Barrier(8)

        def fail() -> None:
            start.wait()
            for _ in range(200):
                memory.record_failure(ip("192.0.2.1"), 25, "refused")

        threads = [threading.Thread(target=fail) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entry = memory.lookup(ip("192.0.2.1"), 25)
        assert entry is not None
        assert entry.failures == 1600

    @pytest.mark.parametrize(
        ("options", "reason"),
        [
            ({"mode": "forget"}, "invalid-memory-mode"),
            ({"retry_after": -1}, "invalid-retry-after"),
            ({"retry_after": float("nan")}, "invalid-retry-after"),
            ({"max_retry_after": 0}, "invalid-max-retry-after"),
            ({"retry_after": 100, "max_retry_after": 10}, "invalid-max-retry-after"),
        ],
    )
    def test_bad_settings_are_invalid_input(self, options, reason):
        with pytest.raises(InvalidInput) as caught:
            UnreachableMemory(**options)
        assert caught.value.reason == reason
