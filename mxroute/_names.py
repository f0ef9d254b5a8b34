"""Names: domains to lowercase A-labels, address literals, and routing targets.

Everything here is pure and raises only :class:`~mxroute.InvalidDomain` or
:class:`~mxroute.InvalidAddress` on bad input, each with a stable ``.reason``
from the one catalogue of reasons, :data:`ADDRESS_REASONS` and
:data:`DOMAIN_REASONS` (:func:`~mxroute.validate_address` raises the same).
"""

from __future__ import annotations

import enum
import ipaddress
import re
import unicodedata

import attrs
import idna

from mxroute._errors import InvalidAddress, InvalidDomain, InvalidInput
from mxroute._exports import publish

__all__ = [
    "ADDRESS_REASONS",
    "ATEXT",
    "DOMAIN_REASONS",
    "HostPort",
    "IPAddress",
    "Target",
    "TargetKind",
    "check_local_part",
    "format_address",
    "format_literal",
    "normalize_host",
    "parse_host_port",
    "parse_ip",
    "parse_literal",
    "parse_target",
    "to_a_label",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
"""An IPv4 or IPv6 address object from :mod:`ipaddress`."""

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
MAX_LOCAL_PART_OCTETS = 64
MAX_ADDRESS_OCTETS = 254
MAX_INPUT_CHARACTERS = 1024
"""Longer input is rejected as too long at once, before any costly conversion."""

_LDH_LABEL = re.compile(r"[a-z0-9-]+\Z")
_LDH_NAME = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z"
)
"""A lowercase name of valid LDH labels: the fast path of :func:`to_a_label`."""
ATEXT = "-A-Za-z0-9!#$%&'*+/=?^_`{|}~"  # '-' first, so it is literal inside [...]
"""The ASCII characters of an atom (RFC 5321 §4.1.2), as a regular expression class."""
_ASCII_DOT_ATOM = re.compile(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*\Z")
# Non-ASCII is spelt [^\x00-\x7f], not as the range \x80-\U0010ffff: the re module
# compiles such a range by walking every BMP code point (about 3 ms each at import).
_ATOM_CHAR = rf"(?:[{ATEXT}]|[^\x00-\x7f])"
_DOT_ATOM = re.compile(rf"{_ATOM_CHAR}+(?:\.{_ATOM_CHAR}+)*\Z")
_QUOTED = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|[^\x00-\x7f]|\\[\x20-\x7e])*"\Z')
_QUOTED_PAIR = re.compile(r"\\([\x20-\x7e])")
_NOT_ATEXT = re.compile(rf"(?![{ATEXT}.])[\x00-\x7f]")


ADDRESS_REASONS: dict[str, str] = {
    "empty": "nothing was given (an empty string, or not a string at all)",
    "whitespace": "the address starts or ends with whitespace",
    "no-at-sign": "there is no '@'",
    "empty-local-part": "there is nothing before the '@' (or only \"\")",
    "invalid-local-part": "the local part is neither a dot-atom nor a quoted string, "
    "or has a character that is not allowed",
    "local-part-too-long": "the local part is longer than 64 octets (UTF-8, as normalised)",
    "quoted-local-part-not-allowed": "the local part needs quotes and allow_quoted is False",
    "smtputf8-not-allowed": "the local part is not ASCII and allow_smtputf8 is False",
    "literal-not-allowed": "the domain is an address literal and allow_literal is False",
    "invalid-literal": "an address literal that is not [IPv4] or [IPv6:...]",
    "invalid-domain": "the domain is not usable; .domain_reason has its own code",
    "address-too-long": "the address is longer than 254 octets (UTF-8, as normalised), "
    f"or the input is longer than {MAX_INPUT_CHARACTERS} characters",
}
"""Every ``.reason`` of the :class:`~mxroute.InvalidAddress` that
:func:`~mxroute.validate_address` and :func:`parse_target` raise, with its meaning."""

DOMAIN_REASONS: dict[str, str] = {
    "empty": "nothing was given",
    "too-long": "the name is longer than 253 characters (255 octets on the wire)",
    "empty-label": "two dots in a row, a leading dot (or, in an address, a trailing dot)",
    "label-too-long": "a label is longer than 63 octets",
    "invalid-character": "a label has a character other than letters, digits and '-'",
    "hyphen-at-label-edge": "a label starts or ends with '-'",
    "invalid-idna": "an internationalised name that IDNA 2008 / UTS 46 rejects",
    "numeric-tld": "the last label is all digits (an IP address is not a domain)",
}
"""Every ``.reason`` of the :class:`~mxroute.InvalidDomain` that
:func:`~mxroute.validate_domain` raises (and every ``.domain_reason`` of an address)."""


def _domain_error(reason: str, text: str, why: str) -> InvalidDomain:
    return InvalidDomain(reason, f"invalid domain {text!r}: {why}", text)


def to_a_label(text: str) -> str:
    """Turn a domain name into the form mxroute uses everywhere.

    The result is lowercase, ASCII (internationalised labels become A-labels
    by IDNA 2008 with the UTS 46 mapping) and has no trailing dot.

    Args:
        text: A domain such as ``"Example.COM."`` or ``"bücher.example"``.

    Returns:
        The name as a lowercase A-label, e.g. ``"xn--bcher-kva.example"``.

    Raises:
        InvalidDomain: The name is empty, too long, or not a valid host name;
            ``.reason`` says which rule it breaks.
    """
    if not isinstance(text, str):
        raise InvalidDomain("empty", f"a domain must be a string, not {type(text).__name__}")
    if not text or text == ".":
        raise _domain_error("empty", text, "the name is empty")
    if len(text) > MAX_INPUT_CHARACTERS:  # before idna, whose cost grows with the length
        raise _domain_error(
            "too-long", text[:40] + "...", f"it has {len(text)} characters, at most 253 are allowed"
        )
    name = text[:-1] if text.endswith(".") else text
    ascii_input = name.isascii()
    if ascii_input:
        name = name.lower()
        if (
            len(name) <= MAX_NAME_LENGTH
            and _LDH_NAME.match(name)
            and "xn--" not in name
            and not name.rpartition(".")[2].isdigit()
        ):
            return name  # the common case: plain LDH labels, nothing more to check
    else:
        try:
            name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            detail = str(exc).lower()
            reason = "invalid-idna"
            if "empty" in detail:
                reason = "empty-label"
            elif "too long" in detail:
                reason = "label-too-long" if "label" in detail else "too-long"
            raise _domain_error(reason, text, _idna_message(exc)) from None
    if len(name) > MAX_NAME_LENGTH:
        raise _domain_error(
            "too-long",
            text,
            f"it has {len(name)} characters, at most {MAX_NAME_LENGTH} are allowed",
        )
    labels = name.split(".")
    for label in labels:
        _check_label(label, text, check_a_label=ascii_input)
    if labels[-1].isdigit():
        raise _domain_error(
            "numeric-tld",
            text,
            "the last label is all digits; write an IP address as a literal, e.g. [192.0.2.1]",
        )
    return name


def _idna_message(exc: Exception) -> str:
    detail = str(exc) or type(exc).__name__
    return f"not a valid internationalised domain name ({detail})"


def _check_label(label: str, text: str, check_a_label: bool = True) -> None:
    """Check one LDH label; ``check_a_label=False`` when idna.encode made (and checked) it."""
    if not label:
        raise _domain_error("empty-label", text, "it has an empty label (two dots in a row?)")
    if len(label) > MAX_LABEL_LENGTH:
        raise _domain_error(
            "label-too-long",
            text,
            f"the label {label[:20]!r}... has {len(label)} octets, at most 63 are allowed",
        )
    if not _LDH_LABEL.match(label):
        bad = next(c for c in label if not (c.isascii() and (c.isalnum() or c == "-")))
        raise _domain_error(
            "invalid-character",
            text,
            f"the label {label!r} contains {bad!r}; only letters, digits and '-' are allowed",
        )
    if label[0] == "-" or label[-1] == "-":
        raise _domain_error(
            "hyphen-at-label-edge", text, f"the label {label!r} starts or ends with '-'"
        )
    if check_a_label and label.startswith("xn--"):
        try:
            idna.decode(label)
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise _domain_error("invalid-idna", text, _idna_message(exc)) from None


def normalize_host(name: str) -> str:
    """Normalise a host name that came from DNS (an MX exchange, a CNAME target).

    Names from DNS are not held to the host name rules (an exchange may
    contain ``_``): this only lowercases and drops the trailing dot. An
    address literal (``[IPv6:2001:DB8::1]``) gets its one canonical spelling
    instead, the one :func:`format_literal` writes (``[IPv6:2001:db8::1]``).
    """
    if name.startswith("[") and name.endswith("]"):
        address = parse_ip(name[1:-1])
        if address is not None:
            return format_literal(address)
    return name[:-1].lower() if name.endswith(".") and name != "." else name.lower()


def matches_pattern(pattern: str, name: str) -> bool:
    """Whether host *name* matches *pattern*: a name, or ``*`` labels in front of one.

    Each leading ``*`` label stands for exactly one whole, non-empty label:
    ``*.example.net`` matches ``mx1.example.net`` but neither ``example.net``
    nor ``a.mx1.example.net`` (RFC 8461 §4.1 for MTA-STS ``mx`` patterns,
    RFC 6125 §6.4.3 as RFC 7672 §3.2.3 applies it to certificate names, and
    the expectations of ``mxroute check --expect-mx``). Both are compared as
    given: pass normalised names (lowercase A-labels, no trailing dot).
    """
    labels = pattern.split(".")
    stars = 0
    while stars < len(labels) and labels[stars] == "*":
        stars += 1
    if not stars:
        return pattern == name
    given = name.split(".")
    return len(given) == len(labels) and all(given[:stars]) and given[stars:] == labels[stars:]


def parse_ip(text: str) -> IPAddress | None:
    """The IP address ``text`` spells, or None when it spells none.

    The one place where mxroute reads an IP address from text: an MX
    exchange written as an address (``192.0.2.1.``, which RFC 5321 §5.1
    forbids but some zones publish), the inside of an address literal or of a
    bracketed next hop, a name server. ``192.0.2.1``, ``2001:db8::1``, the
    RFC 5321 tag ``IPv6:`` in any case, and one pair of brackets around any
    of them are accepted; so is the trailing dot of a name from DNS. A zone
    index (``fe80::1%eth0``) is refused: it names an interface of one host, never
    a mail destination.

    >>> parse_ip("[IPv6:2001:DB8::1]")
    IPv6Address('2001:db8::1')
    >>> parse_ip("mx1.example.com") is None
    True
    """
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    elif text.endswith(".") and ":" not in text:
        text = text[:-1]
    if text[:5].lower() == "ipv6:":
        text = text[5:]
    if not text or not (text[-1].isdigit() or ":" in text) or "%" in text:
        return None  # the fast path for host names, and no zone index
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@attrs.frozen
class HostPort:
    """A host and an optional port, as :func:`parse_host_port` reads them.

    Attributes:
        host: The host as written, without brackets and port.
        address: The IP address ``host`` spells (see :func:`parse_ip`), else None.
        port: The port, when one was given.
        bracketed: Whether the host was written in brackets.
    """

    host: str
    address: IPAddress | None
    port: int | None
    bracketed: bool


def parse_host_port(text: str) -> HostPort:
    """Split ``host``, ``host:port``, ``[host]``, ``[host]:port`` (and a bare IPv6 address).

    The one reader of a host with a port (next hops, name servers). Whether a
    bare IPv6 address or an unbracketed address is acceptable is the caller's
    to say; this only reads.

    Raises:
        InvalidInput: ``.reason`` ``"invalid-host-port"``; the message says
            what is wrong (without the input, for the caller to prefix).
    """
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidInput("invalid-host-port", "a '[' has no closing ']'", text)
        host, tail, bracketed = text[1:end], text[end + 1 :], True
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        tail, bracketed = ":" + port_text, False
    else:
        host, tail, bracketed = text, "", False
    port: int | None = None
    if tail:
        digits = tail[1:]
        if not tail.startswith(":") or not (digits.isascii() and digits.isdigit()):
            raise InvalidInput(
                "invalid-host-port", f"{tail!r} is not ':' followed by a port number", text
            )
        port = int(digits)
        if not 1 <= port <= 65535:
            raise InvalidInput("invalid-host-port", f"port {port} is outside 1..65535", text)
    return HostPort(host, parse_ip(f"[{host}]"), port, bracketed)


def parse_literal(text: str) -> IPAddress:
    """Parse an RFC 5321 address literal: ``[192.0.2.1]`` or ``[IPv6:2001:db8::1]``.

    Raises:
        InvalidAddress: ``.reason`` is ``"invalid-literal"``.
    """
    if not (text.startswith("[") and text.endswith("]")):
        raise InvalidAddress(
            "invalid-literal", f"invalid address literal {text!r}: it must be in brackets", text
        )
    inner = text[1:-1]
    tag, sep, rest = inner.partition(":")
    if sep and tag.lower() == "ipv6":
        candidate, want6 = rest, True
    elif not sep and "." in inner:
        candidate, want6 = inner, False
    else:
        raise InvalidAddress(
            "invalid-literal",
            f"invalid address literal {text!r}: write [192.0.2.1] for IPv4 "
            "or [IPv6:2001:db8::1] for IPv6 (RFC 5321 §4.1.3)",
            text,
        )
    address = parse_ip(text)
    if address is None:
        raise InvalidAddress(
            "invalid-literal",
            f"invalid address literal {text!r}: {candidate!r} is not an IP address",
            text,
        )
    if (address.version == 6) != want6:
        raise InvalidAddress(
            "invalid-literal",
            f"invalid address literal {text!r}: an IPv6 address needs the IPv6: tag "
            "and an IPv4 address must not have it",
            text,
        )
    return address


def format_address(address: IPAddress) -> str:
    """Write an IP address as text, the same on every supported Python.

    IPv6 in the compressed form of RFC 5952, and an IPv4-mapped address with
    its IPv4 part in dotted decimal (``::ffff:192.0.2.1``, RFC 5952 §5), as
    Python 3.13 writes it; earlier Pythons write ``::ffff:c000:201``. Every
    address text mxroute produces (literals, ``to_dict()``, messages) is
    written by this function.

    >>> format_address(ipaddress.ip_address("::ffff:c000:201"))
    '::ffff:192.0.2.1'
    """
    if address.version == 6:
        mapped = address.ipv4_mapped
        if mapped is not None:
            return f"::ffff:{mapped}"
        return address.compressed
    return str(address)


def format_literal(address: IPAddress) -> str:
    """Write an address as an RFC 5321 literal: ``[192.0.2.1]`` or ``[IPv6:2001:db8::1]``.

    This is the one spelling of a literal: a literal route's ``domain`` and
    its host's ``name`` are both written so.
    """
    text = format_address(address)
    return f"[IPv6:{text}]" if address.version == 6 else f"[{text}]"


class TargetKind(enum.Enum):
    """What a routing target names."""

    DOMAIN = "domain"
    """A domain name: route by its MX records."""
    LITERAL = "literal"
    """An address literal such as ``[192.0.2.1]``: route there, without DNS."""


@attrs.frozen
class Target:
    """A parsed routing target: a domain or an address literal, and the mailbox if given.

    Attributes:
        kind: Whether this is a domain or an address literal.
        domain: The A-label domain, or the literal in canonical form (``[192.0.2.1]``).
        literal: The address of a literal target, else None.
        local_part: The local part when the target was a mailbox address, else None.
    """

    kind: TargetKind
    domain: str
    literal: IPAddress | None = None
    local_part: str | None = None


def _address_error(reason: str, text: str, why: str) -> InvalidAddress:
    return InvalidAddress(reason, f"invalid address {text!r}: {why}", text)


def check_local_part(
    local: str, text: str, *, allow_smtputf8: bool = True, allow_quoted: bool = True
) -> str:
    """Check a local part and return it normalised: the one local-part grammar.

    RFC 5321 §4.1.2 (a dot-atom or a quoted string) with the UTF-8 of RFC 6531
    and the Unicode rules of :func:`_check_unicode`; routing
    (:func:`parse_target`) and :func:`~mxroute.validate_address` both use it,
    so what one accepts the other does. A quoted local part that can be a
    dot-atom loses its quotes; ``postmaster`` is lowercased.

    Args:
        local: The local part (before the last ``@``).
        text: The whole address, for the messages.
        allow_smtputf8: False refuses a non-ASCII local part (``smtputf8-not-allowed``).
        allow_quoted: False refuses one that needs quotes (``quoted-local-part-not-allowed``).

    Raises:
        InvalidAddress: ``.reason`` from :data:`ADDRESS_REASONS`.
    """
    if not local:
        raise _address_error("empty-local-part", text, "there is nothing before the '@'")
    if local[0] == '"' and len(local) > 1:
        if not _QUOTED.match(local):
            raise _address_error(
                "invalid-local-part",
                text,
                "a quoted local part must end with '\"' right before the '@', and may contain "
                "'\"' and '\\' only escaped with a backslash, and no control characters",
            )
        content = local[1:-1]
        if "\\" in content:
            content = _QUOTED_PAIR.sub(r"\1", content)
        if not content:
            raise _address_error("empty-local-part", text, 'the local part "" is empty')
        _check_unicode(content, text)
        if _DOT_ATOM.match(content):
            local = content
        else:
            if not allow_quoted:
                raise _address_error(
                    "quoted-local-part-not-allowed",
                    text,
                    "a local part that needs quotes is not accepted here",
                )
            local = '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif local.isascii() and _ASCII_DOT_ATOM.match(local):
        pass
    elif _DOT_ATOM.match(local):
        _check_unicode(local, text)
    else:
        raise _address_error("invalid-local-part", text, _dot_atom_problem(local))
    if local.isascii():
        octets = len(local)
    else:
        if not allow_smtputf8:
            raise _address_error(
                "smtputf8-not-allowed",
                text,
                "the local part has non-ASCII characters, which are not accepted here",
            )
        octets = len(local.encode("utf-8"))
    if octets > MAX_LOCAL_PART_OCTETS:
        raise _address_error(
            "local-part-too-long",
            text,
            f"the local part has {octets} octets, at most {MAX_LOCAL_PART_OCTETS} are allowed",
        )
    if len(local) == 10 and local.lower() == "postmaster":
        return "postmaster"  # the one case-insensitive local part (RFC 5321 §4.5.1)
    return local


def _dot_atom_problem(local: str) -> str:
    """Say what keeps an unquoted local part from being a dot-atom."""
    if local.startswith("."):
        return "the local part starts with a dot"
    if local.endswith("."):
        return "the local part ends with a dot"
    if ".." in local:
        return "the local part has two dots in a row"
    bad = _NOT_ATEXT.search(local)
    char = bad.group() if bad else local[0]
    return (
        f"the local part contains {_describe(char)}, which is allowed only in a quoted "
        'local part such as "john smith"@example.com'
    )


def _describe(char: str) -> str:
    if char == " ":
        return "a space"
    if char.isprintable():
        return repr(char)
    return f"the character U+{ord(char):04X}"


def _check_unicode(local: str, text: str) -> None:
    """Refuse non-ASCII characters that cannot be safely shown or compared.

    Letters, marks, numbers, punctuation and symbols are allowed; spaces,
    separators, control and format characters, surrogates, private-use and
    unassigned code points are not, and nor is a combining mark at the start
    of the local part or right after a dot.
    """
    if local.isascii():
        return
    previous = "."
    for char in local:
        if char >= "\x80":
            category = unicodedata.category(char)
            kind = category[0]
            if kind == "M" and previous == ".":
                raise _address_error(
                    "invalid-local-part",
                    text,
                    f"the local part has the combining mark U+{ord(char):04X} with nothing "
                    "before it to combine with",
                )
            if kind not in "LMNPS":
                raise _address_error(
                    "invalid-local-part",
                    text,
                    f"the local part contains the character U+{ord(char):04X} (Unicode "
                    f"category {category}), which is not allowed in an address",
                )
        previous = char


def parse_target(text: str) -> Target:
    """Parse what a caller wants routed: a domain, a mailbox address, or a literal.

    >>> parse_target("Alice@Example.COM").domain
    'example.com'
    >>> parse_target("[192.0.2.1]").domain
    '[192.0.2.1]'

    Raises:
        InvalidDomain: The domain part is not a usable domain.
        InvalidAddress: The mailbox or the address literal is malformed.
    """
    if not isinstance(text, str):
        raise InvalidDomain("empty", f"a target must be a string, not {type(text).__name__}")
    local: str | None = None
    rest = text
    if "@" in text:
        local, _, rest = text.rpartition("@")
        check_local_part(local, text)
        octets = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if octets > MAX_ADDRESS_OCTETS:
            raise _address_error(
                "address-too-long",
                text,
                f"it has {octets} octets, at most {MAX_ADDRESS_OCTETS} are allowed",
            )
        if not rest:
            raise InvalidAddress(
                "invalid-domain",
                f"invalid address {text!r}: there is no domain after the '@'",
                text,
                domain_reason="empty",
            )
    if rest.startswith("["):
        address = parse_literal(rest)
        return Target(TargetKind.LITERAL, format_literal(address), address, local)
    try:
        domain = to_a_label(rest)
    except InvalidDomain as exc:
        if local is None:
            raise
        raise InvalidAddress(
            "invalid-domain", f"invalid address {text!r}: {exc}", text, domain_reason=exc.reason
        ) from None
    return Target(TargetKind.DOMAIN, domain, None, local)


publish(globals())
