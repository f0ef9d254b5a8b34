"""Transport security values: TLS requirements, TLSA records, MTA-STS policies.

These are the frozen values that routing attaches to every
:class:`~mxroute.MailHost` (``host.tls``) and route (``route.mta_sts``):
what TLS a client must insist on when it connects to the host, and why.
They parse the wire and text forms strictly and raise
:class:`~mxroute.InvalidInput` (``reason`` codes below) on anything else.

* :class:`TLSARecord` — RFC 6698 / RFC 7672 §3.1 (``"3 1 1 <hex>"``);
* :class:`MTASTSPolicy` — the RFC 8461 §3.2 policy file, and
  :meth:`MTASTSPolicy.matches` (§4.1: ``*.`` covers exactly one leftmost label);
* :class:`MTASTSRecord` — the RFC 8461 §3.1 ``_mta-sts`` TXT record;
* :class:`TLSRequirement` and :class:`TLSLevel` — the verdict per host.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any

import attrs

from mxroute._checks import attrs_validator, integer
from mxroute._errors import InvalidDomain, InvalidInput
from mxroute._exports import publish
from mxroute._names import matches_pattern, normalize_host, to_a_label

__all__ = [
    "MAX_POLICY_AGE",
    "MTASTSMode",
    "MTASTSPolicy",
    "MTASTSRecord",
    "TLSARecord",
    "TLSFailure",
    "TLSLevel",
    "TLSRPTRecord",
    "TLSRequirement",
    "join_txt",
]

MAX_POLICY_AGE = 31_557_600
"""The longest ``max_age`` an MTA-STS policy may give, in seconds (one year, RFC 8461 §3.2)."""


class TLSLevel(enum.Enum):
    """What TLS a client must insist on for one host, strongest first.

    Compare strength with :attr:`rank` (``DANE`` is the highest).
    """

    DANE = "dane"
    """Authenticated by DANE TLSA records (RFC 7672): TLS required, the
    certificate must match one of ``tls.tlsa``."""
    MTA_STS = "mta-sts"
    """Covered by an MTA-STS policy in ``enforce`` mode (RFC 8461): TLS required,
    a PKIX-valid certificate for one of ``tls.names``."""
    MTA_STS_TESTING = "mta-sts-testing"
    """Covered by an MTA-STS policy in ``testing`` mode: check as for ``MTA_STS``
    and report failures (TLS-RPT), but deliver anyway."""
    ENCRYPT = "encrypt"
    """TLS required, no usable authentication data (RFC 7672 §2.2: secure TLSA
    records exist but none is usable): encrypt, do not authenticate."""
    OPPORTUNISTIC = "opportunistic"
    """No policy: use STARTTLS when offered, deliver in clear text otherwise."""

    @property
    def rank(self) -> int:
        """A number to compare strength by: higher is stronger (``OPPORTUNISTIC`` is 0)."""
        return _RANKS[self]

    @property
    def requires_tls(self) -> bool:
        """True when delivery must fail rather than go without TLS."""
        return self in (TLSLevel.DANE, TLSLevel.MTA_STS, TLSLevel.ENCRYPT)

    @property
    def authenticates(self) -> bool:
        """True when the server's certificate must be checked (DANE or MTA-STS)."""
        return self in (TLSLevel.DANE, TLSLevel.MTA_STS, TLSLevel.MTA_STS_TESTING)


_RANKS = {
    TLSLevel.DANE: 4,
    TLSLevel.MTA_STS: 3,
    TLSLevel.ENCRYPT: 2,
    TLSLevel.MTA_STS_TESTING: 1,
    TLSLevel.OPPORTUNISTIC: 0,
}

_check_octet = attrs_validator(integer, low=0, high=255)
_HEX = re.compile(r"[0-9a-fA-F]*")
_DIGEST_SIZES = {1: 32, 2: 64}  # SHA2-256, SHA2-512 (RFC 6698 §2.1.3)


def _tlsa_data(value: object) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise InvalidInput("invalid-tlsa", f"TLSA data must be bytes, not {value!r}", repr(value))


@attrs.frozen
class TLSARecord:
    """One TLSA record (RFC 6698): certificate usage, selector, matching type, data.

    >>> record = TLSARecord.parse("3 1 1 " + "ab" * 32)
    >>> record.usage, record.selector, record.mtype, record.usable
    (3, 1, 1, True)

    Attributes:
        usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
        selector: 0 the full certificate, 1 its SubjectPublicKeyInfo.
        mtype: 0 the exact data, 1 SHA2-256, 2 SHA2-512.
        data: The certificate association data (bytes).
    """

    usage: int = attrs.field(validator=_check_octet)
    selector: int = attrs.field(validator=_check_octet)
    mtype: int = attrs.field(validator=_check_octet)
    data: bytes = attrs.field(converter=_tlsa_data)

    @classmethod
    def parse(cls, text: str) -> TLSARecord:
        """Parse a TLSA record in zone-file form: ``"3 1 1 <hex>"`` (the hex may contain spaces).

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-tlsa"``.
        """
        parts = text.split() if isinstance(text, str) else []
        hexdata = "".join(parts[3:])
        if (
            len(parts) < 4
            or not all(p.isdigit() and p.isascii() for p in parts[:3])
            or not _HEX.fullmatch(hexdata)
            or len(hexdata) % 2
            or any(int(p) > 255 for p in parts[:3])
        ):
            raise InvalidInput(
                "invalid-tlsa",
                f"invalid TLSA record {text!r}: expected '<usage> <selector> <mtype> <hex>', "
                "e.g. '3 1 1 0c72ac70...'",
                str(text),
            )
        return cls(int(parts[0]), int(parts[1]), int(parts[2]), bytes.fromhex(hexdata))

    @property
    def usable(self) -> bool:
        """True if an SMTP client may use this record (RFC 7672 §3.1).

        Usages 0 and 1 (PKIX-TA, PKIX-EE) are not for SMTP; unknown usages,
        selectors and matching types are unusable, and so is a digest of the
        wrong length for its matching type.
        """
        if self.usage not in (2, 3) or self.selector not in (0, 1) or self.mtype not in (0, 1, 2):
            return False
        size = _DIGEST_SIZES.get(self.mtype)
        return bool(self.data) and (size is None or len(self.data) == size)

    def to_text(self) -> str:
        """The record in zone-file form, e.g. ``"3 1 1 0c72..."``."""
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data, ready for JSON (``data`` as lowercase hex)."""
        return {
            "usage": self.usage,
            "selector": self.selector,
            "mtype": self.mtype,
            "data": self.data.hex(),
        }


class MTASTSMode(enum.Enum):
    """The ``mode`` of an MTA-STS policy (RFC 8461 §5)."""

    ENFORCE = "enforce"
    """Deliver only to matching hosts, over TLS with a valid certificate."""
    TESTING = "testing"
    """Check and report, deliver anyway."""
    NONE = "none"
    """The domain withdrew its policy: behave as if there were none."""


def _policy_error(text: str, why: str) -> InvalidInput:
    return InvalidInput("invalid-mta-sts-policy", f"invalid MTA-STS policy: {why}", text[:200])


def _pattern(value: str) -> str:
    """An ``mx`` pattern, normalised: a host name, or ``*.`` and a host name."""
    if not isinstance(value, str):
        raise InvalidInput(
            "invalid-mta-sts-policy", f"an mx pattern must be a string, not {value!r}", repr(value)
        )
    wildcard = value.startswith("*.")
    try:
        name = to_a_label(value[2:] if wildcard else value)
    except InvalidDomain as exc:
        raise InvalidInput(
            "invalid-mta-sts-policy", f"invalid mx pattern {value!r}: {exc}", value
        ) from None
    if not name or "*" in name or name.startswith("["):
        raise InvalidInput("invalid-mta-sts-policy", f"invalid mx pattern {value!r}", value)
    return "*." + name if wildcard else name


def _patterns(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidInput(
            "invalid-mta-sts-policy",
            f"mx must be a sequence of patterns, not {values!r}",
            repr(values),
        )
    return tuple(_pattern(v) for v in values)


def _mode(value: object) -> MTASTSMode:
    if isinstance(value, MTASTSMode):
        return value
    try:
        return MTASTSMode(value)
    except ValueError:
        raise InvalidInput(
            "invalid-mta-sts-policy",
            f"mode must be 'enforce', 'testing' or 'none', not {value!r}",
            repr(value),
        ) from None


def _check_policy_mx(
    policy: MTASTSPolicy, _attribute: attrs.Attribute[Any], value: tuple[str, ...]
) -> None:
    if not value and policy.mode is not MTASTSMode.NONE:
        raise InvalidInput(
            "invalid-mta-sts-policy",
            f"a policy in mode {policy.mode.value!r} needs at least one mx pattern",
            "",
        )


_ID = re.compile(r"[A-Za-z0-9]{1,32}")


def _check_id(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not (isinstance(value, str) and _ID.fullmatch(value)):
        raise InvalidInput(
            "invalid-mta-sts-id",
            f"an MTA-STS id is 1 to 32 letters and digits, not {value!r}",
            repr(value),
        )


_FIELD = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*")
# Visible ASCII and all of non-ASCII, spelt so that it compiles fast (see _names.py).
_VALUE = re.compile(r"[^\x00-\x20\x7f]+(?:[ \t]+[^\x00-\x20\x7f]+)*")
_REQUIRED = ("version", "mode", "max_age")


@attrs.frozen
class MTASTSPolicy:
    r"""An MTA-STS policy (RFC 8461 §3.2) and the TXT ``id`` it was fetched under.

    >>> policy = MTASTSPolicy.parse(
    ...     "version: STSv1\nmode: enforce\nmx: *.example.net\nmax_age: 86400\n", id="20261202"
    ... )
    >>> policy.matches("mx1.example.net"), policy.matches("a.mx1.example.net")
    (True, False)

    Attributes:
        id: The ``id=`` of the ``_mta-sts`` TXT record the policy belongs to,
            or None when not known.
        mode: ``enforce``, ``testing`` or ``none``.
        mx: The ``mx`` patterns, normalised (lowercase A-labels, ``*.`` kept).
        max_age: How long the policy may be cached, in seconds (at most one year).
    """

    id: str | None = attrs.field(validator=_check_id)
    mode: MTASTSMode = attrs.field(converter=_mode)
    mx: tuple[str, ...] = attrs.field(converter=_patterns, validator=_check_policy_mx)
    max_age: int = attrs.field(validator=attrs_validator(integer, low=0, high=MAX_POLICY_AGE))

    @classmethod
    def parse(cls, text: str, id: str | None = None) -> MTASTSPolicy:
        """Parse a policy file's text strictly, per the RFC 8461 §3.2 grammar.

        Lines end with LF or CRLF; ``version: STSv1``, ``mode`` and ``max_age``
        must each appear exactly once, ``mx`` at least once unless the mode
        is ``none``; unknown fields (extensions) are ignored when well formed.
        One leniency, because many published files have it: any number of
        empty lines at the very end.

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-mta-sts-policy"``.
        """
        if not isinstance(text, str):
            raise InvalidInput(
                "invalid-mta-sts-policy", f"a policy must be text, not {text!r}", repr(text)
            )
        lines = text.replace("\r\n", "\n").split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            raise _policy_error(text, "the policy is empty")
        fields: dict[str, str] = {}
        mx: list[str] = []
        for number, line in enumerate(lines, 1):
            match = _FIELD.fullmatch(line)
            if match is None or "\r" in line:
                raise _policy_error(text, f"line {number} is not 'name: value': {line[:80]!r}")
            name, value = match.groups()
            if not _VALUE.fullmatch(value):
                raise _policy_error(text, f"line {number} has no valid value: {line[:80]!r}")
            if name == "mx":
                mx.append(value)
            elif name in _REQUIRED:
                if name in fields:
                    raise _policy_error(text, f"{name!r} appears more than once")
                fields[name] = value
        missing = [name for name in _REQUIRED if name not in fields]
        if missing:
            raise _policy_error(text, f"{', '.join(missing)} missing")
        if fields["version"] != "STSv1":
            raise _policy_error(text, f"version must be STSv1, not {fields['version']!r}")
        age = fields["max_age"]
        if not (age.isascii() and age.isdigit() and len(age) <= 10):
            raise _policy_error(text, f"max_age must be a number of seconds, not {age!r}")
        if int(age) > MAX_POLICY_AGE:
            raise _policy_error(text, f"max_age {age} is over one year ({MAX_POLICY_AGE})")
        if fields["mode"] not in ("enforce", "testing", "none"):
            raise _policy_error(text, f"mode must be enforce, testing or none: {fields['mode']!r}")
        return cls(id, fields["mode"], mx, int(age))

    def matches(self, host: str) -> bool:
        """True if *host* is covered by one of the ``mx`` patterns (RFC 8461 §4.1).

        Names compare case-insensitively as A-labels; ``*.example.net``
        covers exactly one label in front (``mx1.example.net``), neither
        ``example.net`` nor ``a.mx1.example.net``. A name that is not a valid
        host name matches nothing.
        """
        try:
            name = to_a_label(host)
        except InvalidInput:
            return False
        return any(matches_pattern(pattern, name) for pattern in self.mx)

    def to_text(self) -> str:
        """The policy as a policy file (CRLF line ends, as RFC 8461 §3.2 publishes them)."""
        lines = ["version: STSv1", f"mode: {self.mode.value}"]
        lines += [f"mx: {pattern}" for pattern in self.mx]
        lines.append(f"max_age: {self.max_age}")
        return "\r\n".join(lines) + "\r\n"

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data, ready for JSON."""
        return {
            "id": self.id,
            "mode": self.mode.value,
            "mx": list(self.mx),
            "max_age": self.max_age,
        }


_STS_EXTENSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}=[\x21-\x3a\x3c\x3e-\x7e]+")


@attrs.frozen
class MTASTSRecord:
    """The ``_mta-sts.<domain>`` TXT record (RFC 8461 §3.1): ``v=STSv1; id=...;``.

    >>> MTASTSRecord.parse("v=STSv1; id=20261202T1200;").id
    '20261202T1200'
    """

    id: str = attrs.field(validator=_check_id)

    @classmethod
    def parse(cls, text: str) -> MTASTSRecord:
        """Parse the record's text (the TXT strings already joined, see :func:`join_txt`).

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-mta-sts-record"``.
        """

        def error(why: str) -> InvalidInput:
            return InvalidInput(
                "invalid-mta-sts-record", f"invalid _mta-sts record {text!r}: {why}", str(text)
            )

        if not isinstance(text, str) or not text.startswith("v=STSv1"):
            raise error("it must start with 'v=STSv1'")
        fields = [field.strip(" \t") for field in text.split(";")]
        if fields[0] != "v=STSv1":
            raise error("it must start with 'v=STSv1;'")
        if fields[-1] == "":
            fields.pop()  # the optional trailing ';'
        ids = []
        for field in fields[1:]:
            if field.startswith("id="):
                ids.append(field[3:])
            elif not _STS_EXTENSION.fullmatch(field):
                raise error(f"{field!r} is not a 'name=value' field")
        if len(ids) != 1:
            raise error("it must have exactly one id= field")
        if not _ID.fullmatch(ids[0]):
            raise error(f"the id must be 1 to 32 letters and digits, not {ids[0]!r}")
        return cls(ids[0])


def join_txt(record: str) -> str:
    r"""The text of one TXT record: its character-strings joined (RFC 7208 §3.3, RFC 8461 §3.1).

    *record* is the presentation form a TXT :class:`~mxroute.Answer` holds
    (``'"v=STSv1; " "id=1;"'``); escapes (``\"``, ``\\``, ``\DDD``) are
    decoded; bytes that are not UTF-8 become U+FFFD, so they fail any
    grammar checked afterwards.

    >>> join_txt('"v=STSv1; " "id=1;"')
    'v=STSv1; id=1;'
    """
    out = bytearray()
    i, n = 0, len(record)
    while i < n:
        char = record[i]
        if char in " \t":
            i += 1
            continue
        quoted = char == '"'
        if quoted:
            i += 1
        while i < n:
            char = record[i]
            if quoted and char == '"':
                i += 1
                break
            if not quoted and char in " \t":
                break
            if char == "\\" and i + 1 < n:
                digits = record[i + 1 : i + 4]
                if len(digits) == 3 and digits.isdigit() and digits.isascii():
                    out.append(int(digits) & 0xFF)
                    i += 4
                    continue
                out += record[i + 1].encode()
                i += 2
                continue
            out += char.encode()
            i += 1
    return out.decode("utf-8", "replace")


def _tlsa_records(values: Iterable[TLSARecord]) -> tuple[TLSARecord, ...]:
    records = tuple(values)
    for record in records:
        if not isinstance(record, TLSARecord):
            raise InvalidInput(
                "invalid-tlsa", f"tlsa holds TLSARecord objects, not {record!r}", repr(record)
            )
    return records


def _names(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise InvalidInput(
            "invalid-tls-names", f"names must be a sequence, not {values!r}", repr(values)
        )
    return tuple(normalize_host(v) for v in values)


def _level(value: object) -> TLSLevel:
    if isinstance(value, TLSLevel):
        return value
    try:
        return TLSLevel(value)
    except ValueError:
        raise InvalidInput(
            "invalid-tls-level",
            f"level must be a TLSLevel ({', '.join(m.value for m in TLSLevel)}), not {value!r}",
            repr(value),
        ) from None


@attrs.frozen
class TLSRequirement:
    """What TLS a client must insist on when it connects to one host, and why.

    Attributes:
        level: The requirement (see :class:`TLSLevel`).
        tlsa: For ``DANE`` and ``ENCRYPT``: the host's TLSA records (the
            usable ones for ``DANE``).
        names: The names the server's certificate may match: the MX host
            name, and for DANE also the CNAME-expanded names (RFC 7672
            §3.2.2). Empty for ``OPPORTUNISTIC``.
        reason: A finding code saying why this level was chosen, or None for
            the default (no transport security asked for).
    """

    level: TLSLevel = attrs.field(default=TLSLevel.OPPORTUNISTIC, converter=_level)
    tlsa: tuple[TLSARecord, ...] = attrs.field(default=(), converter=_tlsa_records)
    names: tuple[str, ...] = attrs.field(default=(), converter=_names)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The requirement as plain data, ready for JSON."""
        return {
            "level": self.level.value,
            "tlsa": [record.to_dict() for record in self.tlsa],
            "names": list(self.names),
            "reason": self.reason,
        }


OPPORTUNISTIC = TLSRequirement()
"""The requirement of a host when no transport security is asked for."""


class TLSFailure(enum.Enum):
    """Why a TLS session failed, as TLS-RPT reports it (RFC 8460 §4.3 result types)."""

    STARTTLS_NOT_SUPPORTED = "starttls-not-supported"
    """The server did not offer STARTTLS."""
    CERTIFICATE_HOST_MISMATCH = "certificate-host-mismatch"
    """The certificate names none of the names it must match."""
    CERTIFICATE_EXPIRED = "certificate-expired"
    """The certificate (or one in its chain) is outside its validity period."""
    CERTIFICATE_NOT_TRUSTED = "certificate-not-trusted"
    """The chain does not lead to a trusted root (PKIX) or a TLSA trust anchor."""
    VALIDATION_FAILURE = "validation-failure"
    """Any other failure to validate the certificate or the TLSA match."""
    TLSA_INVALID = "tlsa-invalid"
    """The TLSA records are unusable or malformed."""
    DNSSEC_INVALID = "dnssec-invalid"
    """The TLSA lookup failed DNSSEC validation (bogus answers)."""
    DANE_REQUIRED = "dane-required"
    """DANE was required but the client could not use it."""
    STS_POLICY_FETCH_ERROR = "sts-policy-fetch-error"
    """The MTA-STS policy could not be fetched."""
    STS_POLICY_INVALID = "sts-policy-invalid"
    """The MTA-STS policy was not valid."""
    STS_WEBPKI_INVALID = "sts-webpki-invalid"
    """The MTA-STS policy host's certificate was not valid."""


def _rua(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise InvalidInput("invalid-tlsrpt-record", f"rua holds URIs, not {values!r}", repr(values))
    return tuple(values)


_RUA = re.compile(r"(mailto:[^,;\s]+|https://[^,;\s/]+(/[^,;\s]*)?)", re.IGNORECASE)


@attrs.frozen
class TLSRPTRecord:
    """The ``_smtp._tls.<domain>`` TXT record (RFC 8460 §3): where to send TLS reports.

    >>> TLSRPTRecord.parse("v=TLSRPTv1; rua=mailto:tlsrpt@example.com").rua
    ('mailto:tlsrpt@example.com',)

    Attributes:
        rua: The reporting URIs (``mailto:`` or ``https:``), in published order.
    """

    rua: tuple[str, ...] = attrs.field(converter=_rua)

    @classmethod
    def parse(cls, text: str) -> TLSRPTRecord:
        """Parse the record's text (the TXT strings already joined, see :func:`join_txt`).

        ``v=TLSRPTv1`` first, exactly one ``rua=`` with one or more
        comma-separated ``mailto:`` or ``https:`` URIs (commas inside a URI
        must be percent-encoded); other well-formed fields are ignored.

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-tlsrpt-record"``.
        """

        def error(why: str) -> InvalidInput:
            return InvalidInput(
                "invalid-tlsrpt-record", f"invalid _smtp._tls record {text!r}: {why}", str(text)
            )

        if not isinstance(text, str):
            raise error("it must be text")
        fields = [field.strip(" \t") for field in text.split(";")]
        if not text.startswith("v=TLSRPTv1") or fields[0] != "v=TLSRPTv1":
            raise error("it must start with 'v=TLSRPTv1;'")
        if fields[-1] == "":
            fields.pop()
        rua: list[str] | None = None
        for field in fields[1:]:
            name, _, value = field.partition("=")
            if name != "rua" and not _STS_EXTENSION.fullmatch(field):
                raise error(f"{field!r} is not a 'name=value' field")
            if name == "rua":
                if rua is not None:
                    raise error("it must have exactly one rua= field")
                uris = [uri.strip(" \t") for uri in value.split(",")]
                if not all(_RUA.fullmatch(uri) for uri in uris):
                    raise error(f"rua= takes mailto: or https: URIs, not {value!r}")
                rua = uris
        if rua is None:
            raise error("it has no rua= field")
        return cls(rua)


publish(globals())
