"""Property tests of the validators: only typed errors, round trips, the fast path."""

from __future__ import annotations

from collections.abc import Callable

import idna
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import mxroute
from mxroute import (
    ADDRESS_REASONS,
    DOMAIN_REASONS,
    InvalidAddress,
    InvalidDomain,
    validate_address,
    validate_domain,
)
from mxroute._names import _check_label, parse_target, to_a_label
from mxroute._validate import _validate_slowly

ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"

# Every code point, surrogates and control characters included.
any_text = st.text(st.characters(exclude_categories=()), max_size=80)

# Text made of the characters that matter to the parser, so that many
# examples are valid or nearly valid addresses.
emailish = st.lists(
    st.sampled_from(
        [
            *'aZ09.-_+@"\\[]: ()<>,;xn-',
            *("IPv6:", "xn--", "192.0.2.1", "2001:db8::1", "é", "ß", "用", "\u0301", "\u200d"),
            *("\t", " ", "\x00", "\u00a0", "\u2028", "\ud800", "\uff25", "\u00ad", "."),
        ]
    ),
    max_size=30,
).map("".join)
ascii_emailish = st.lists(
    st.sampled_from([*'aZ09.-_+@"\\[]: (),x', "xn--", "IPv6:", "192.0.2.1"]), max_size=30
).map("".join)

dot_atom = st.from_regex(rf"[{ATEXT}]{{1,12}}(\.[{ATEXT}]{{1,12}}){{0,3}}", fullmatch=True)
ldh_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?", fullmatch=True).filter(
    lambda label: not label.lower().startswith("xn--")
)
tld = st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{1,8}", fullmatch=True)
ldh_domain = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(ldh_label, max_size=4), tld
)
unicode_atom = st.text(
    st.characters(categories=("L", "N"), min_codepoint=0x80, max_codepoint=0x2FFFF),
    min_size=1,
    max_size=10,
)
quoted_content = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
literal = st.one_of(
    st.ip_addresses(v=4).map(lambda a: f"[{a}]"),
    st.ip_addresses(v=6).map(lambda a: f"[IPv6:{a.exploded}]"),
)


def address_reason(text: str, **options: bool) -> str | None:
    """Validate; return None when valid, else the reason (checking domain_reason)."""
    error: InvalidAddress | None = None
    try:
        validate_address(text, **options)
    except InvalidAddress as exc:
        error = exc
    if error is None:
        return None
    if error.reason == "invalid-domain":
        assert error.domain_reason in DOMAIN_REASONS
    else:
        assert error.domain_reason is None
    return error.reason


def quote(content: str) -> str:
    return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TestOnlyTypedErrors:
    @given(st.one_of(any_text, emailish))
    @example("\ud800@example.com")
    @example("a@\ud800.com")
    @example('"\ud800"@example.com')
    def test_validate_address(self, text: str) -> None:
        assert address_reason(text) in {None, *ADDRESS_REASONS}
        strict = address_reason(text, allow_smtputf8=False, allow_quoted=False, allow_literal=False)
        assert strict in {None, *ADDRESS_REASONS}

    @given(st.one_of(any_text, emailish))
    @example("\ud800.example")
    def test_validate_domain(self, text: str) -> None:
        try:
            validate_domain(text)
            reason = None
        except InvalidDomain as exc:
            reason = exc.reason
        assert reason in {None, *DOMAIN_REASONS}

    @given(st.one_of(any_text, emailish))
    @example("\ud800@example.com")
    def test_parse_target(self, text: str) -> None:
        try:
            parse_target(text)
            reason = None
        except (InvalidAddress, InvalidDomain) as exc:
            reason = exc.reason
        assert reason in {None, *ADDRESS_REASONS, *DOMAIN_REASONS}


class TestRoundTrip:
    @given(emailish)
    def test_a_valid_address_round_trips(self, text: str) -> None:
        if address_reason(text) is not None:
            return
        address = validate_address(text)
        again = validate_address(address.normalized)
        assert again == address
        assert again.normalized == address.normalized

    @given(
        st.one_of(dot_atom, unicode_atom, quoted_content.map(quote)), st.one_of(ldh_domain, literal)
    )
    def test_built_addresses_round_trip(self, local: str, domain: str) -> None:
        reason = address_reason(f"{local}@{domain}")
        if reason is not None:
            # Only a local part of quoted nothing, or one too long, is refused.
            assert reason in {"empty-local-part", "local-part-too-long", "address-too-long"}
            return
        address = validate_address(f"{local}@{domain}")
        assert validate_address(address.normalized) == address


class TestGeneratedValidAddresses:
    @given(dot_atom, ldh_domain)
    def test_dot_atom_addresses_are_accepted(self, local: str, domain: str) -> None:
        address = validate_address(f"{local}@{domain}")
        assert address.local_part == local
        assert address.domain == domain.lower()
        assert address.normalized == f"{local}@{domain.lower()}"
        assert not address.smtputf8

    @given(st.lists(unicode_atom, min_size=1, max_size=3).map(".".join), ldh_domain)
    def test_unicode_local_parts_are_accepted(self, local: str, domain: str) -> None:
        if len(local.encode("utf-8")) > 64:
            return
        address = validate_address(f"{local}@{domain}")
        assert address.local_part == local
        assert address.smtputf8

    @given(quoted_content.filter(bool))
    def test_quoted_local_parts_keep_their_content(self, content: str) -> None:
        address = validate_address(f"{quote(content)}@example.com")
        local = address.local_part
        if local.startswith('"'):
            assert local[1:-1].replace('\\"', '"').replace("\\\\", "\\") == content
        else:
            assert local == content

    @given(literal)
    def test_literals_are_accepted(self, text: str) -> None:
        address = validate_address(f"postmaster@{text}")
        assert address.literal is not None
        assert validate_address(address.normalized).literal == address.literal


unicode_label = st.text(
    st.characters(categories=("Ll", "Lo"), min_codepoint=0xC0, max_codepoint=0x9FFF),
    min_size=1,
    max_size=8,
)


class TestUnicodeDomains:
    @given(st.lists(st.one_of(unicode_label, ldh_label), min_size=1, max_size=3), tld)
    def test_unicode_domain_is_what_idna_decodes(self, labels: list[str], top: str) -> None:
        domain = ".".join([*labels, top])
        try:
            a_label = validate_domain(domain)
        except InvalidDomain:
            return
        address = validate_address(f"a@{domain}")
        assert address.domain == a_label
        assert address.unicode_domain == idna.decode(a_label)


ascii_name = st.lists(st.sampled_from([*"aZ09.-_", "xn--", "a" * 30, "123"]), max_size=12).map(
    "".join
)


def reference_a_label(text: str) -> str:
    """to_a_label for ASCII input, without its fast path: the label-by-label rules."""
    name = (text[:-1] if text.endswith(".") else text).lower()
    if not text or text == ".":
        raise InvalidDomain("empty", "empty")
    if len(name) > 253:
        raise InvalidDomain("too-long", "too long")
    labels = name.split(".")
    for label in labels:
        _check_label(label, text)
    if labels[-1].isdigit():
        raise InvalidDomain("numeric-tld", "numeric")
    return name


class TestFastPaths:
    """The fast paths answer exactly as the general code would."""

    @given(st.one_of(ascii_emailish, st.builds("{}@{}".format, dot_atom, ldh_domain)))
    @example("a@1.2.3.4")
    @example("a@xn--bcher-kva.example")
    @example("a@xn--a.example")
    def test_address_fast_path(self, text: str) -> None:
        def outcome(function: object) -> object:
            try:
                return function()  # type: ignore[operator]
            except InvalidAddress as exc:
                return ("error", exc.reason, exc.domain_reason)

        fast = outcome(lambda: validate_address(text))
        slow = outcome(lambda: _validate_slowly(text, True, True, True))
        assert fast == slow

    @given(st.one_of(ldh_domain, ascii_name))
    @example("a.xn--bcher-kva")
    @example("a.123")
    @example("a" * 64 + ".example")
    def test_to_a_label_fast_path(self, name: str) -> None:
        def outcome(function: Callable[[], str]) -> str:
            try:
                return function()
            except InvalidDomain as exc:
                return f"error: {exc.reason}"

        assert outcome(lambda: to_a_label(name)) == outcome(lambda: reference_a_label(name))

    @given(ldh_domain)
    def test_plain_names_are_lowercased(self, name: str) -> None:
        assert to_a_label(name) == name.lower()
        assert to_a_label(name + ".") == name.lower()


def routing_reason(text: str) -> str | None:
    """Parse for routing; return None when accepted, else the reason."""
    try:
        parse_target(text)
    except InvalidAddress as exc:
        return exc.reason
    return None


local_parts = st.one_of(
    any_text.filter(lambda t: "@" not in t),
    emailish.filter(lambda t: "@" not in t),
    st.builds(lambda a, b: f"{a}{b}", dot_atom, st.sampled_from(["\u200b", "\u0301", "\ud800"])),
)


class TestOneLocalPartGrammar:
    """Routing and validation read local parts with one grammar."""

    @given(local_parts)
    @example("a\u200b")  # a zero-width space: a format character
    @example("\u0301a")  # a combining mark with nothing to combine with
    @example('""')
    @example('"a\ud800"')
    def test_routing_and_validation_agree(self, local: str) -> None:
        text = f"{local}@example.com"
        routed, validated = routing_reason(text), address_reason(text)
        if validated == "whitespace":  # validation refuses it before reading the local part
            assert routed is not None
        else:
            assert routed == validated

    def test_resolve_refuses_what_validation_refuses(self) -> None:
        fake = mxroute.InMemoryResolver()
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.1")
        with pytest.raises(InvalidAddress) as info:
            mxroute.resolve("a\u200b@example.com", resolver=fake)
        assert info.value.reason == "invalid-local-part"
        assert fake.queries == []
