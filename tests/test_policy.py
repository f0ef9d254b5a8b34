"""RoutingPolicy and NextHop: Postfix syntax, normalisation, typed errors."""

from __future__ import annotations

import ipaddress

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxroute import AddressFamily, AddressScope, InvalidPolicy, NextHop, RoutingPolicy, _policy
from mxroute._policy import is_local_address


class TestNextHop:
    @pytest.mark.parametrize(
        ("text", "host", "port", "mx_lookup"),
        [
            ("relay.example", "relay.example", 25, True),
            ("Relay.Example:587", "relay.example", 587, True),
            ("[relay.example]", "relay.example", 25, False),
            ("[relay.example]:2525", "relay.example", 2525, False),
            ("[192.0.2.7]", "192.0.2.7", 25, False),
            ("[ipv6:2001:db8::7]:2525", "2001:db8::7", 2525, False),
            ("[2001:db8::7]", "2001:db8::7", 25, False),
        ],
    )
    def test_postfix_syntax(self, text, host, port, mx_lookup):
        hop = NextHop.parse(text)
        assert (hop.host, hop.port, hop.mx_lookup) == (host, port, mx_lookup)

    @pytest.mark.parametrize(
        "text",
        ["[relay.example]:587", "relay.example", "[192.0.2.7]", "[ipv6:2001:db8::7]:2525"],
    )
    def test_str_round_trips(self, text):
        assert str(NextHop.parse(text)) == text

    @pytest.mark.parametrize(
        "text",
        ["", "[relay.example", "relay.example:port", "[relay]:0", "[x]:70000", "192.0.2.7",
         "2001:db8::1", "bad host", "[relay.example]587"],
    )  # fmt: skip
    def test_invalid(self, text):
        with pytest.raises(InvalidPolicy) as info:
            NextHop.parse(text)
        assert info.value.reason == "invalid-next-hop"
        assert isinstance(info.value, ValueError)


class TestRoutingPolicy:
    def test_defaults(self):
        policy = RoutingPolicy()
        assert policy.relayhost is None
        assert policy.address_families == (AddressFamily.IPV6, AddressFamily.IPV4)
        assert policy.address_scope is AddressScope.ROUTABLE
        assert policy.max_hosts == 50
        assert policy.next_hop_for("example.com") is None

    def test_strings_are_normalised(self):
        policy = RoutingPolicy(
            relayhost="[Relay.Example]:587",
            transport_map={".Example.ORG": "[192.0.2.1]"},
            local_names=["MX.Example.com."],
            local_addresses=["2001:DB8::1"],
            address_families="ipv4",
            address_scope="global",
        )
        assert str(policy.relayhost) == "[relay.example]:587"
        assert set(policy.transport_map) == {".example.org"}
        assert policy.local_names == frozenset({"mx.example.com"})
        assert policy.local_addresses == frozenset({ipaddress.ip_address("2001:db8::1")})
        assert policy.address_families == (AddressFamily.IPV4,)
        assert policy.address_scope is AddressScope.GLOBAL

    def test_policy_is_a_hashable_value(self):
        a = RoutingPolicy(transport_map={"example.org": "[192.0.2.1]"})
        b = RoutingPolicy(transport_map={"EXAMPLE.org": "[192.0.2.1]"})
        assert a == b
        assert hash(a) == hash(b)
        with pytest.raises(TypeError):
            a.transport_map["x.example"] = NextHop.parse("[192.0.2.2]")  # type: ignore[index]
        assert attrs.evolve(a, max_hosts=3).max_hosts == 3

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({"relayhost": "[x"}, "invalid-next-hop"),
            ({"transport_map": {"bad key": "[192.0.2.1]"}}, "invalid-transport-map"),
            ({"transport_map": ["example.com"]}, "invalid-transport-map"),
            ({"local_names": ["bad name"]}, "invalid-local-name"),
            ({"local_addresses": ["nope"]}, "invalid-local-address"),
            ({"address_families": ["ipv5"]}, "invalid-address-family"),
            ({"address_families": []}, "invalid-address-family"),
            ({"address_families": ["ipv4", "ipv4"]}, "invalid-address-family"),
            ({"address_scope": "public"}, "invalid-address-scope"),
            ({"max_hosts": 0}, "invalid-max-hosts"),
            ({"max_addresses": -1}, "invalid-max-addresses"),
        ],
    )
    def test_bad_settings_are_typed_errors(self, kwargs, reason):
        with pytest.raises(InvalidPolicy) as info:
            RoutingPolicy(**kwargs)
        assert info.value.reason == reason

    @pytest.mark.parametrize(
        ("address", "routable", "global_"),
        [
            ("192.0.2.1", True, False),
            ("8.8.8.8", True, True),
            ("10.1.2.3", True, False),
            ("127.0.0.1", False, False),
            ("0.0.0.0", False, False),
            ("169.254.1.1", False, False),
            ("224.0.0.1", False, False),
            ("240.0.0.1", False, False),
            ("::1", False, False),
            ("fe80::1", False, False),
            ("::ffff:127.0.0.1", False, False),
            ("64:ff9b::808:808", True, True),  # DNS64 for 8.8.8.8
            ("64:ff9b::c000:201", True, False),  # DNS64 for 192.0.2.1
            ("64:ff9b::7f00:1", False, False),  # DNS64 for 127.0.0.1
            ("2001:db8::1", True, False),
            ("2a00:1450::1", True, True),
            ("0.1.2.3", False, False),  # 0.0.0.0/8 is "this network" (RFC 6890)
            ("fec0::1", True, False),  # site-local, deprecated (RFC 3879)
            ("::127.0.0.1", False, False),  # IPv4-compatible
            ("::8.8.8.8", True, True),
            ("64:ff9b:1::7f00:1", False, False),  # NAT64 local-use prefix (RFC 8215)
            ("64:ff9b:1::808:808", True, True),
            ("2002:7f00:1::1", False, False),  # 6to4 of 127.0.0.1
            ("2002:a9fe:a9fe::1", False, False),  # 6to4 of 169.254.169.254
            ("2002:a01:203::1", True, False),  # 6to4 of 10.1.2.3
            ("2002:808:808::1", True, True),  # 6to4 of 8.8.8.8
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", False, False),  # Teredo, client 127.0.0.1
            ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", False, False),  # Teredo, server 127.0.0.1
            ("2001:0:4136:e378:8000:63bf:f5fe:fefc", True, False),  # Teredo, client 10.1.1.3
            ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", True, True),  # Teredo, client 8.8.8.8
        ],
    )
    def test_address_scopes(self, address, routable, global_):
        ip = ipaddress.ip_address(address)
        assert AddressScope.ROUTABLE.allows(ip) is routable
        assert AddressScope.GLOBAL.allows(ip) is global_
        assert AddressScope.ANY.allows(ip) is True

    def test_local_addresses_are_written_the_same_on_every_python(self):
        data = RoutingPolicy(local_addresses=["::ffff:c000:207"]).to_dict()
        assert data["local_addresses"] == ["::ffff:192.0.2.7"]

    @pytest.mark.parametrize("value", ["fe80::1%eth0", "[192.0.2.7", 3232235777])
    def test_a_local_address_must_be_an_address(self, value):
        with pytest.raises(InvalidPolicy) as info:
            RoutingPolicy(local_addresses=[value])
        assert info.value.reason == "invalid-local-address"

    def test_to_dict(self):
        data = RoutingPolicy(relayhost="[192.0.2.1]:26").to_dict()
        assert data["relayhost"] == "[192.0.2.1]:26"
        assert data["address_families"] == ["ipv6", "ipv4"]


def spellings(v4: ipaddress.IPv4Address) -> dict[str, ipaddress.IPv6Address]:
    """Every IPv6 form that carries ``v4`` as the address it reaches."""
    value = int(v4)
    return {
        "mapped": ipaddress.IPv6Address(0xFFFF << 32 | value),
        "compatible": ipaddress.IPv6Address(value),
        "nat64": ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | value),
        "nat64-local": ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b:1::")) | value),
        "6to4": ipaddress.IPv6Address(0x2002 << 112 | value << 80 | 1),
        # Teredo with a public server (65.54.227.120): the client is what it reaches.
        "teredo": ipaddress.IPv6Address(
            0x20010000 << 96 | 0x4136E378 << 64 | 0x8000_63BF << 32 | (value ^ 0xFFFFFFFF)
        ),
    }


class TestEverySpellingIsOneAddress:
    """One judgement: an embedded form is judged, and matched, as the IPv4 it carries."""

    @settings(max_examples=300, deadline=None)
    @given(st.ip_addresses(v=4).filter(lambda a: int(a) > 1))
    def test_scopes_judge_the_carried_address(self, v4):
        for form, address in spellings(v4).items():
            for scope in AddressScope:
                assert scope.allows(address) is scope.allows(v4), (form, str(address), scope)

    @settings(max_examples=300, deadline=None)
    @given(st.ip_addresses(v=4).filter(lambda a: int(a) > 1))
    def test_every_spelling_of_a_local_address_is_this_host(self, v4):
        for form, address in spellings(v4).items():
            assert is_local_address(address, frozenset({v4})), form
            assert is_local_address(v4, frozenset({address})), form

    @given(st.ip_addresses(v=4), st.ip_addresses(v=4))
    def test_a_teredo_server_is_judged_but_is_not_this_host(self, server, client):
        value = 0x20010000 << 96 | int(server) << 64 | (int(client) ^ 0xFFFFFFFF)
        teredo = ipaddress.IPv6Address(value)
        for scope in AddressScope:
            assert scope.allows(teredo) is (scope.allows(server) and scope.allows(client))
        if server != client:
            assert not is_local_address(teredo, frozenset({server}))


class TestRememberedVerdicts:
    """address_allowed remembers its verdicts (bulk work meets the same addresses again)."""

    @staticmethod
    def fresh(address, scope, documentation):
        return all(
            _policy._plain_allowed(a, scope, documentation)
            for a in _policy.judged_addresses(address)
        )

    @given(
        value=st.one_of(
            st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
            st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
            st.sampled_from(
                [
                    "127.0.0.1",
                    "::ffff:127.0.0.1",
                    "2002:7f00:1::1",
                    "64:ff9b::7f00:1",
                    "::1",
                    "fe80::1",
                    "169.254.1.1",
                    "10.1.2.3",
                    "192.0.2.1",
                    "2001:db8::1",
                    "0.1.2.3",
                    "fec0::1",
                    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                ]
            ).map(ipaddress.ip_address),
        ),
        scope=st.sampled_from([AddressScope.ROUTABLE, AddressScope.GLOBAL]),
        documentation=st.booleans(),
    )
    def test_a_remembered_verdict_is_the_fresh_one(self, value, scope, documentation):
        expected = self.fresh(value, scope, documentation)
        assert _policy.address_allowed(value, scope, documentation=documentation) is expected
        assert _policy.address_allowed(value, scope, documentation=documentation) is expected

    def test_the_memory_is_bounded(self):
        for i in range(_policy._VERDICTS_KEPT + 10):
            AddressScope.ROUTABLE.allows(ipaddress.IPv4Address(0x0A000000 + i))
        assert 0 < len(_policy._VERDICTS[0][0]) <= _policy._VERDICTS_KEPT
        assert AddressScope.ROUTABLE.allows(ipaddress.ip_address("::ffff:127.0.0.1")) is False
