"""Snapshots and diffs: diff_snapshots, read_snapshots and the watch loop."""

from __future__ import annotations

import asyncio
import copy
import json

import attrs
import pytest

from mxroute import (
    ChangeKind,
    InMemoryResolver,
    InvalidInput,
    MailHost,
    MailRoute,
    RouteKind,
    SnapshotChange,
    SnapshotDiff,
    TLSLevel,
    TLSRequirement,
    audit,
    diff_snapshots,
)
from mxroute._snapshot import read_snapshots, watch


def world() -> InMemoryResolver:
    fake = InMemoryResolver()
    fake.add("example.com", "MX", "10 mx1.example.com.", "10 mx2.example.com.", ttl=3600)
    fake.add("mx1.example.com", "A", "192.0.2.1")
    fake.add("mx1.example.com", "AAAA", "2001:db8::1")
    fake.add("mx2.example.com", "A", "198.51.100.2")
    return fake


def snapshot(fake: InMemoryResolver, domain: str = "example.com") -> dict:
    """A check --json style object (target, status) built from the audit's dict."""
    data = audit(domain, fake).to_dict()
    data.update(schema=1, command="check", target=domain, status="deliverable")
    return data


def kinds(diff: SnapshotDiff) -> list[tuple[str, str]]:
    return [(c.kind.value, c.subject) for c in diff.changes]


class TestDiff:
    def test_the_same_snapshot_is_unchanged(self):
        fake = world()
        diff = diff_snapshots(snapshot(fake), snapshot(fake))
        assert not diff.changed
        assert diff.changes == ()

    def test_host_order_within_a_preference_is_not_a_change(self):
        old = snapshot(world())
        new = copy.deepcopy(old)
        new["route"]["hosts"].reverse()
        new["route"]["hosts"][0]["addresses"].reverse()
        assert not diff_snapshots(old, new).changed

    def test_a_host_added_and_one_removed(self):
        old = world()
        new = InMemoryResolver()
        new.add("example.com", "MX", "10 mx1.example.com.", "20 mx3.example.com.", ttl=3600)
        new.add("mx1.example.com", "A", "192.0.2.1")
        new.add("mx1.example.com", "AAAA", "2001:db8::1")
        new.add("mx3.example.com", "A", "192.0.2.3")
        diff = diff_snapshots(snapshot(old), snapshot(new))
        assert ("host-added", "mx3.example.com") in kinds(diff)
        assert ("host-removed", "mx2.example.com") in kinds(diff)
        added = next(c for c in diff.changes if c.kind is ChangeKind.HOST_ADDED)
        assert added.new == 20
        assert added.describe() == "example.com: host-added mx3.example.com (20)"

    def test_preference_addresses_and_ttl(self):
        old = snapshot(world())
        new = InMemoryResolver()
        new.add("example.com", "MX", "10 mx1.example.com.", "30 mx2.example.com.")
        new.add("mx1.example.com", "A", "192.0.2.1")
        new.add("mx1.example.com", "AAAA", "2001:db8::1")
        new.add("mx2.example.com", "A", "198.51.100.9")
        diff = diff_snapshots(old, snapshot(new))
        by_kind = {c.kind: c for c in diff.changes}
        assert (
            by_kind[ChangeKind.PREFERENCE_CHANGED].old,
            by_kind[ChangeKind.PREFERENCE_CHANGED].new,
        ) == (10, 30)
        addresses = by_kind[ChangeKind.ADDRESSES_CHANGED]
        assert (addresses.subject, addresses.old, addresses.new) == (
            "mx2.example.com",
            ("198.51.100.2",),
            ("198.51.100.9",),
        )
        assert ChangeKind.TTL_CHANGED not in by_kind  # the smallest TTL is a negative 300

    def test_the_route_ttl(self):
        old = snapshot(world())
        new = copy.deepcopy(old)
        new["route"]["ttl"] = 60
        (change,) = diff_snapshots(old, new).changes
        assert (change.kind, change.old, change.new) == (ChangeKind.TTL_CHANGED, 300, 60)

    def test_findings_appear_and_clear_by_code_and_subject(self):
        old = snapshot(world())
        fake = world()
        fake.add("example.com", "MX", "20 gone.example.com.", ttl=3600)
        diff = diff_snapshots(old, snapshot(fake))
        assert ("finding-appeared", "mx-target-unresolvable gone.example.com") in kinds(diff)
        back = diff_snapshots(snapshot(fake), old)
        assert ("finding-cleared", "mx-target-unresolvable gone.example.com") in kinds(back)

    def test_a_reworded_message_is_not_a_change(self):
        old = snapshot(world())
        new = copy.deepcopy(old)
        for finding in new["findings"]:
            finding["message"] = "said differently"
        assert not diff_snapshots(old, new).changed

    def test_status_error_and_kind(self):
        old = snapshot(world())
        fake = InMemoryResolver()
        fake.add("example.com", "MX", "0 .")
        new = snapshot(fake)
        new["status"] = "undeliverable"
        diff = diff_snapshots(old, new)
        assert kinds(diff)[:3] == [
            ("status-changed", "example.com"),
            ("error-changed", "example.com"),
            ("kind-changed", "example.com"),
        ]
        assert diff.changes[1].new == "NullMX"
        assert (
            diff.changes[0].describe()
            == "example.com: status-changed: deliverable -> undeliverable"
        )

    def test_tls_level_is_compared_when_present(self):
        old = snapshot(world())
        for host in old["route"]["hosts"]:
            host["tls"] = {"level": "mta-sts"}
        new = copy.deepcopy(old)
        new["route"]["hosts"][0]["tls"] = {"level": "opportunistic"}
        (change,) = diff_snapshots(old, new).changes
        assert change.kind is ChangeKind.TLS_CHANGED
        assert (change.old, change.new) == ("mta-sts", "opportunistic")

    def test_routes_with_real_tls_requirements(self):
        host = MailHost("mx.example.com", 10, ["192.0.2.1"])
        before = MailRoute("example.com", RouteKind.MX, [host], ttl=300)
        secured = attrs.evolve(host, tls=TLSRequirement(TLSLevel.MTA_STS, names=["mx.example.com"]))
        after = attrs.evolve(before, hosts=[secured])
        (change,) = diff_snapshots(before, after).changes
        assert (change.kind, change.subject) == (ChangeKind.TLS_CHANGED, "mx.example.com")
        assert (change.old, change.new) == ("opportunistic", "mta-sts")
        assert not diff_snapshots(before, before).changed

    def test_many_targets_diff_per_target(self):
        fake = world()
        fake.add("other.example", "MX", "10 mx1.example.com.")
        fake.add("new.example", "MX", "10 mx1.example.com.")
        old = [snapshot(fake, "example.com"), snapshot(fake, "other.example")]
        new = [snapshot(fake, "new.example"), snapshot(fake, "example.com")]
        assert kinds(diff_snapshots(old, new)) == [
            ("target-added", "new.example"),
            ("target-removed", "other.example"),
        ]

    def test_a_target_given_twice_the_last_counts(self):
        fake = world()
        first, second = snapshot(fake), snapshot(fake)
        second["status"] = "temporary"
        assert not diff_snapshots([first, second], [second]).changed

    def test_audit_reports_diff_directly(self):
        fake = world()
        before = audit("example.com", fake)
        fake.add("mx2.example.com", "AAAA", "2001:db8::2")
        diff = diff_snapshots(before, audit("example.com", fake))
        assert ("addresses-changed", "mx2.example.com") in kinds(diff)
        assert ("finding-cleared", "mx-ipv4-only example.com") not in kinds(diff)  # had v6

    @pytest.mark.parametrize(
        "bad",
        [
            {"schema": 2, "target": "example.com"},
            {"schema": 1},
            {"schema": 1, "target": "example.com", "route": "mx"},
            {"schema": 1, "target": "example.com", "findings": {}},
            {"schema": 1, "target": "x", "route": {"hosts": [{"preference": 1}]}},
            "example.com",
            42,
        ],
    )
    def test_something_else_is_invalid_input(self, bad):
        with pytest.raises(InvalidInput) as caught:
            diff_snapshots(bad, [])
        assert caught.value.reason == "invalid-snapshot"

    def test_values_are_frozen_and_plain_data(self):
        change = SnapshotChange(ChangeKind.ADDRESSES_CHANGED, "t", "h", ["192.0.2.1"], None)
        assert change.old == ("192.0.2.1",)
        with pytest.raises(AttributeError):
            change.new = "x"  # type: ignore[misc]
        diff = SnapshotDiff([change])
        assert json.loads(json.dumps(diff.to_dict())) == {
            "schema": 1,
            "changed": True,
            "changes": [
                {
                    "kind": "addresses-changed",
                    "target": "t",
                    "subject": "h",
                    "old": ["192.0.2.1"],
                    "new": None,
                }
            ],
        }


class TestRead:
    def test_json_lines(self):
        text = '{"schema": 1, "target": "a.example"}\n\n{"schema": 1, "target": "b.example"}\n'
        assert [s["target"] for s in read_snapshots(text)] == ["a.example", "b.example"]

    def test_one_pretty_printed_object_or_an_array(self):
        one = json.dumps({"schema": 1, "target": "a.example"}, indent=2)
        assert [s["target"] for s in read_snapshots(one)] == ["a.example"]
        many = json.dumps([{"schema": 1, "target": "a.example"}, {"target": "b.example"}], indent=1)
        assert len(read_snapshots(many)) == 2

    def test_not_json_names_the_source_and_line(self):
        with pytest.raises(InvalidInput, match=r"old\.json, line 2: not JSON"):
            read_snapshots('{"schema": 1, "target": "a"}\n{oops\n', "old.json")


class FakeTime:
    """A clock and a sleep that never wait."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def run_watch(take, fake: FakeTime, **bounds) -> list:
    async def collect():
        return [
            item async for item in watch(take, 60.0, clock=fake.clock, sleep=fake.sleep, **bounds)
        ]

    return asyncio.run(collect())


class TestWatch:
    @staticmethod
    def taker(states: list[list[dict]], fake: FakeTime, cost: float = 0.0):
        calls = iter(states)

        async def take():
            fake.now += cost
            return next(calls)

        return take

    def test_count_bounds_the_checks_and_the_first_has_no_diff(self):
        fake = FakeTime()
        a = {"schema": 1, "target": "example.com", "status": "deliverable"}
        b = {**a, "status": "temporary"}
        seen = run_watch(self.taker([[a], [a], [b]], fake), fake, count=3)
        assert [d if d is None else d.changed for _, d in seen] == [None, False, True]
        assert fake.slept == [60.0, 60.0]

    def test_the_interval_counts_from_the_start_of_each_check(self):
        fake = FakeTime()
        a = {"schema": 1, "target": "example.com"}
        run_watch(self.taker([[a]] * 3, fake, cost=15.0), fake, count=3)
        assert fake.slept == [45.0, 45.0]

    def test_duration_starts_no_check_after_it(self):
        fake = FakeTime()
        a = {"schema": 1, "target": "example.com"}
        seen = run_watch(self.taker([[a]] * 10, fake), fake, duration=150.0)
        assert len(seen) == 3  # at 0, 60 and 120 seconds; 180 is past 150
