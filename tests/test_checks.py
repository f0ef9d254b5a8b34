"""The one set of checks that settings and values share (mxroute._checks)."""

from __future__ import annotations

import math

import attrs
import pytest

from mxroute import InvalidInput, InvalidPolicy
from mxroute._checks import attrs_validator, flag, integer, port, seconds


class TestInteger:
    def test_in_range_is_returned(self) -> None:
        assert integer(5, "max_hosts", low=1, high=10) == 5

    @pytest.mark.parametrize("value", [True, False, 1.0, "3", None, 0, 11])
    def test_bools_floats_strings_and_out_of_range_are_refused(self, value: object) -> None:
        with pytest.raises(InvalidInput) as info:
            integer(value, "max_hosts", low=1, high=10)
        assert info.value.reason == "invalid-max-hosts"
        assert "max_hosts must be an integer from 1 to 10" in str(info.value)
        assert repr(value) in str(info.value)

    def test_reason_and_error_class_can_be_chosen(self) -> None:
        with pytest.raises(InvalidPolicy) as info:
            integer(-1, "max_hosts", low=0, reason="bad", error=InvalidPolicy)
        assert info.value.reason == "bad"
        assert "of at least 0" in str(info.value)


class TestPortAndFlag:
    @pytest.mark.parametrize("value", [0, 65536, True, "25"])
    def test_ports_outside_1_to_65535_are_refused(self, value: object) -> None:
        with pytest.raises(InvalidInput) as info:
            port(value)
        assert info.value.reason == "invalid-port"

    def test_a_port_is_returned(self) -> None:
        assert port(65535) == 65535

    @pytest.mark.parametrize("value", [0, 1, "yes", None])
    def test_flags_must_be_bools(self, value: object) -> None:
        with pytest.raises(InvalidInput, match="tcp must be True or False"):
            flag(value, "tcp")
        assert flag(False, "tcp") is False


class TestSeconds:
    @pytest.mark.parametrize("value", [math.nan, math.inf, -1, 0, True, "5", None])
    def test_non_finite_non_positive_and_non_numbers_are_refused(self, value: object) -> None:
        with pytest.raises(InvalidInput) as info:
            seconds(value, "timeout")
        assert info.value.reason == "invalid-timeout"

    def test_zero_only_when_allowed_and_the_limit_is_named(self) -> None:
        assert seconds(0, "delay", allow_zero=True) == 0.0
        assert isinstance(seconds(2, "delay"), float)
        with pytest.raises(InvalidInput, match="at most 86400"):
            seconds(1e10, "timeout", high=86400)


def test_attrs_validator_names_the_attribute() -> None:
    @attrs.frozen
    class Setting:
        count: int = attrs.field(validator=attrs_validator(integer, low=1))

    assert Setting(3).count == 3
    with pytest.raises(InvalidInput, match="count must be an integer of at least 1"):
        Setting(0)
