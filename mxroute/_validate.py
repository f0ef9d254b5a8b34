r"""Validators for mailbox addresses, domains and MX record sets: pure, no DNS, no I/O.

:func:`validate_address` checks a mailbox address the way an SMTP server
reads it (RFC 5321 §4.1.2 syntax, RFC 6531 UTF-8 local parts, IDNA 2008 /
UTS 46 domains, the length limits of RFC 5321 §4.5.3.1) and returns an
:class:`Address` with its normalised form. :func:`validate_domain` checks a
domain alone. :func:`check_mx_records` reports what is wrong with a set of MX
records without looking anything up. None of them touches the network: they
say whether an address *can* be used, not whether mail to it is delivered
(for that, route it with :func:`mxroute.resolve`).

Every rejection raises :class:`~mxroute.InvalidAddress` or
:class:`~mxroute.InvalidDomain` with a stable ``.reason`` code from
:data:`ADDRESS_REASONS` / :data:`DOMAIN_REASONS`, and a message that says
what to fix. When the domain of an address is the problem, ``.reason`` is
``"invalid-domain"`` and ``.domain_reason`` holds the domain's own code.

Normalisation, decided once:

* The local part is kept as given: local parts are case-sensitive (RFC 5321
  §2.4), and no Unicode normalisation is applied to it. The one exception is
  ``postmaster``, which RFC 5321 §4.5.1 makes case-insensitive: any spelling
  (``PostMaster``) becomes ``postmaster``.
* A quoted local part that can be written as a dot-atom loses its quotes
  (``"john"@example.com`` becomes ``john@example.com``); one that needs them
  keeps them with the minimum quoting (RFC 5321 §4.1.2: only ``"`` and ``\``
  are escaped).
* The domain becomes a lowercase A-label; an address literal its canonical
  form (``[IPv6:2001:db8::1]``).
* Whitespace around the address is an error (reason ``whitespace``), never
  silently stripped: strip it yourself if your form allows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from mxroute._checks import integer
from mxroute._errors import InvalidAddress, InvalidDomain, InvalidInput, InvalidPolicy
from mxroute._exports import publish
from mxroute._findings import Finding, make_finding
from mxroute._model import MXRecord
from mxroute._names import (
    ADDRESS_REASONS,
    ATEXT,
    DOMAIN_REASONS,
    MAX_ADDRESS_OCTETS,
    MAX_INPUT_CHARACTERS,
    MAX_LOCAL_PART_OCTETS,
    IPAddress,
    check_local_part,
    format_address,
    format_literal,
    parse_literal,
    to_a_label,
)
from mxroute._policy import DEFAULT_MAX_HOSTS

__all__ = [
    "ADDRESS_REASONS",
    "DOMAIN_REASONS",
    "Address",
    "check_mx_records",
    "validate_address",
    "validate_domain",
]

_LDH = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_FAST_ADDRESS = re.compile(rf"([{ATEXT}]+(?:\.[{ATEXT}]+)*)@((?:{_LDH}\.)*{_LDH})\Z")
"""A plain ASCII address: dot-atom local part, LDH domain. Most input takes this path."""


@attrs.frozen
class Address:
    """A valid mailbox address, as :func:`validate_address` returns it.

    Build it with :func:`validate_address`; the constructor does not check.

    Attributes:
        local_part: The local part, normalised: as given (case kept, except
            that ``postmaster`` is lowercased), without quotes when it can be
            written as a dot-atom, else quoted with the minimum escaping.
        domain: The domain as a lowercase A-label (``xn--bcher-kva.example``),
            or the address literal in canonical form (``[192.0.2.1]``).
        unicode_domain: The domain with U-labels (``bücher.example``); the
            literal for a literal.
        literal: The :mod:`ipaddress` object of an address literal, else None.
        normalized: ``local_part@domain``: the form to store, compare and send.
        smtputf8: True when sending to it needs the SMTPUTF8 extension
            (RFC 6531): the local part is not ASCII. The domain never needs
            it, since it can be sent as an A-label.
    """

    local_part: str
    domain: str
    unicode_domain: str
    literal: IPAddress | None
    normalized: str
    smtputf8: bool

    def __str__(self) -> str:
        return self.normalized

    def to_dict(self) -> dict[str, Any]:
        """The address as plain data, ready for JSON."""
        return {
            "local_part": self.local_part,
            "domain": self.domain,
            "unicode_domain": self.unicode_domain,
            "literal": None if self.literal is None else format_address(self.literal),
            "normalized": self.normalized,
            "smtputf8": self.smtputf8,
        }


def _error(reason: str, text: str, why: str, domain_reason: str | None = None) -> InvalidAddress:
    return InvalidAddress(reason, f"invalid address {text!r}: {why}", text, domain_reason)


def validate_address(
    text: str,
    *,
    allow_smtputf8: bool = True,
    allow_quoted: bool = True,
    allow_literal: bool = True,
) -> Address:
    """Check a mailbox address (``local@domain``) and return it normalised.

    Pure syntax: no DNS. ``validate_address(a.normalized)`` gives ``a`` back.

    >>> validate_address("Alice@Bücher.Example").normalized
    'Alice@xn--bcher-kva.example'
    >>> validate_address('"john"@example.com').normalized
    'john@example.com'

    Args:
        text: The address, e.g. ``"alice@example.com"``, ``'"john smith"@example.com'``,
            ``"用户@例子.广告"`` or ``"postmaster@[192.0.2.1]"``.
        allow_smtputf8: Accept a non-ASCII local part (RFC 6531); False
            rejects it with ``smtputf8-not-allowed``. A non-ASCII domain is
            always accepted: it is sent as an A-label.
        allow_quoted: Accept a local part that needs quotes; False rejects it
            with ``quoted-local-part-not-allowed`` (needless quotes such as
            ``"john"`` are still accepted, and dropped).
        allow_literal: Accept an address literal as the domain; False rejects
            it with ``literal-not-allowed``.

    Returns:
        The address, normalised (see :class:`Address`).

    Raises:
        InvalidAddress: ``.reason`` is one of :data:`ADDRESS_REASONS`; for
            ``invalid-domain``, ``.domain_reason`` is one of :data:`DOMAIN_REASONS`.
    """
    if not isinstance(text, str):
        raise InvalidAddress("empty", f"an address must be a string, not {type(text).__name__}")
    if text.isascii():
        match = _FAST_ADDRESS.match(text)
        if match is not None:
            local, domain = match.group(1, 2)
            domain = domain.lower()
            if (
                len(local) <= MAX_LOCAL_PART_OCTETS
                and len(text) <= MAX_ADDRESS_OCTETS
                and "xn--" not in domain
                and not domain.rpartition(".")[2].isdigit()
            ):
                if len(local) == 10 and local.lower() == "postmaster":
                    local = "postmaster"
                return Address(local, domain, domain, None, f"{local}@{domain}", False)
    return _validate_slowly(text, allow_smtputf8, allow_quoted, allow_literal)


def _validate_slowly(
    text: str, allow_smtputf8: bool, allow_quoted: bool, allow_literal: bool
) -> Address:
    if not text:
        raise _error("empty", text, "the address is empty")
    if len(text) > MAX_INPUT_CHARACTERS:
        raise InvalidAddress(
            "address-too-long",
            f"invalid address {text[:40]!r}...: it has {len(text)} characters, "
            f"at most {MAX_ADDRESS_OCTETS} octets are allowed",
            text,
        )
    if text[0].isspace() or text[-1].isspace():
        raise _error("whitespace", text, "remove the whitespace before and after the address")
    local, at, domain = text.rpartition("@")
    if not at:
        raise _error(
            "no-at-sign", text, "an address needs an '@' between the local part and domain"
        )
    local = check_local_part(local, text, allow_smtputf8=allow_smtputf8, allow_quoted=allow_quoted)
    literal: IPAddress | None = None
    if domain.startswith("["):
        if not allow_literal:
            raise _error(
                "literal-not-allowed", text, "an address literal is not accepted here: use a domain"
            )
        try:
            literal = parse_literal(domain)
        except InvalidAddress as exc:
            raise _error("invalid-literal", text, str(exc)) from None
        a_label = unicode_domain = format_literal(literal)
    else:
        a_label = _check_domain(domain, text)
        unicode_domain = _to_unicode(a_label)
    normalized = f"{local}@{a_label}"
    octets = len(normalized) if normalized.isascii() else len(normalized.encode("utf-8"))
    if octets > MAX_ADDRESS_OCTETS:
        raise _error(
            "address-too-long",
            text,
            f"it has {octets} octets, at most {MAX_ADDRESS_OCTETS} are allowed "
            "(RFC 5321 §4.5.3.1.3)",
        )
    return Address(local, a_label, unicode_domain, literal, normalized, not local.isascii())


def _check_domain(domain: str, text: str) -> str:
    if not domain:
        raise _error(
            "invalid-domain", text, "there is no domain after the '@'", domain_reason="empty"
        )
    if domain.endswith("."):
        raise _error(
            "invalid-domain",
            text,
            "the domain ends with a dot; remove it",
            domain_reason="empty-label",
        )
    try:
        return to_a_label(domain)
    except InvalidDomain as exc:
        raise _error("invalid-domain", text, str(exc), domain_reason=exc.reason) from None


def _to_unicode(a_label: str) -> str:
    """The U-label form of a name that :func:`~mxroute._names.to_a_label` accepted.

    Its A-labels are already checked against IDNA 2008, so plain Punycode
    decoding gives the U-labels (much faster than a second pass through idna).
    """
    if "xn--" not in a_label:
        return a_label
    return ".".join(
        label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label
        for label in a_label.split(".")
    )


def validate_domain(text: str) -> str:
    """Check a mail domain and return it as a lowercase A-label.

    A trailing dot (the absolute form) is accepted and dropped. Pure syntax:
    no DNS.

    >>> validate_domain("Bücher.Example.")
    'xn--bcher-kva.example'

    Raises:
        InvalidDomain: ``.reason`` is one of :data:`DOMAIN_REASONS`.
    """
    return to_a_label(text)


def check_mx_records(
    records: Iterable[MXRecord | str],
    *,
    domain: str = "",
    max_hosts: int = DEFAULT_MAX_HOSTS,
) -> tuple[Finding, ...]:
    """Report the static problems of a set of MX records, without any lookup.

    The codes are the ones the planner emits for the same situations
    (``null-mx-mixed``, ``null-mx-nonzero-preference``, ``duplicate-mx-host``,
    ``mx-target-ip-literal``, ``single-mx``, ``implicit-mx`` for an empty set,
    ``max-hosts-exceeded``), plus two the planner cannot see: ``null-mx`` (the
    set is a null MX: the domain takes no mail) and ``mx-target-invalid-name``
    (an exchange that is not a valid host name).

    >>> [f.code for f in check_mx_records(["10 mx1.example.com.", "20 mx1.example.com."])]
    ['duplicate-mx-host', 'single-mx']

    Args:
        records: :class:`~mxroute.MXRecord` objects or zone-file strings
            such as ``"10 mx1.example.com."``.
        domain: The domain the records belong to; the subject of the findings
            about the whole set.
        max_hosts: The most MX hosts a route considers, as
            :attr:`RoutingPolicy.max_hosts <mxroute.RoutingPolicy>`.

    Returns:
        The findings, most severe first (in order of discovery within a severity).

    Raises:
        InvalidInput: A string is not an MX record (``.reason`` ``"invalid-mx"``),
            or ``records`` is a single string.
        InvalidPolicy: ``max_hosts`` is not a positive integer (``"invalid-max-hosts"``).
    """
    if isinstance(records, (str, bytes)):
        raise InvalidInput(
            "invalid-mx",
            "records must be an iterable of MX records, not a single string",
            str(records),
        )
    # Here, not at the top: validate_address (a web form's check) needs no planner.
    from mxroute._planner import cap_hosts, examine_exchange, examine_mx_set

    integer(max_hosts, "max_hosts", low=1, error=InvalidPolicy)
    parsed = [r if isinstance(r, MXRecord) else MXRecord.parse(r) for r in records]
    where = domain or "the domain"
    ordered, findings = examine_mx_set(parsed, subject=domain, where=where)
    findings += cap_hosts(ordered, max_hosts, subject=domain, where=where)[1]
    for record in ordered:
        exchange = record.exchange
        address, literal = examine_exchange(exchange, skipped=False)
        findings += literal
        if address is not None:
            continue
        try:
            to_a_label(exchange)
        except InvalidDomain as exc:
            findings.append(
                make_finding(
                    "mx-target-invalid-name",
                    exchange,
                    f"the MX exchange {exchange} is not a valid host name: {exc}",
                )
            )
    findings.sort(key=lambda finding: finding.severity.rank)
    return tuple(findings)


publish(globals())
