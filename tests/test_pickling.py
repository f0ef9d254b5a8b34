"""Policies and routers pickle and copy, so they go to worker processes."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

import pytest

import mxroute
from mxroute import RoutingPolicy

ROUND_TRIPS: dict[str, Callable[[object], object]] = {
    **{
        f"pickle-{protocol}": lambda value, p=protocol: pickle.loads(pickle.dumps(value, p))
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    },
    "deepcopy": copy.deepcopy,
    "copy": copy.copy,
}


@pytest.fixture(params=sorted(ROUND_TRIPS))
def round_trip(request: pytest.FixtureRequest) -> Callable[[object], object]:
    return ROUND_TRIPS[request.param]


def _policy() -> RoutingPolicy:
    return RoutingPolicy(
        relayhost="[relay.example]:587",
        transport_map={"example.org": "[192.0.2.7]:2525", ".example.net": "mx.example.net"},
        local_names=["mail.example.com"],
        local_addresses=["192.0.2.25", "2001:db8::25"],
        address_scope="global",
        max_hosts=5,
    )


class TestRoutingPolicy:
    def test_a_policy_with_every_kind_of_setting_round_trips_equal(self, round_trip):
        policy = _policy()
        copied = round_trip(policy)
        assert copied == policy
        assert hash(copied) == hash(policy)
        assert copied.next_hop_for("example.org") == policy.next_hop_for("example.org")
        assert copied.to_dict() == policy.to_dict()

    def test_the_copy_of_the_transport_map_is_still_frozen(self, round_trip):
        copied = round_trip(_policy())
        assert isinstance(copied, RoutingPolicy)
        with pytest.raises(TypeError, match="cannot be changed"):
            copied.transport_map["example.com"] = mxroute.NextHop.parse("[192.0.2.1]")  # type: ignore[index]

    def test_the_default_policy_round_trips(self, round_trip):
        assert round_trip(RoutingPolicy()) == RoutingPolicy()
