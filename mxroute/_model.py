"""The value objects: MX records, mail hosts and routes.

All of them are frozen :mod:`attrs` classes: they normalise their input in
converters (lowercase A-label names, :mod:`ipaddress` objects), reject bad
values in validators, compare and hash by value, and turn into plain data
with ``to_dict()`` for JSON. Derive a changed copy with :func:`attrs.evolve`.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from mxroute._checks import attrs_validator, flag, integer, port
from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._findings import Finding
from mxroute._names import IPAddress, format_address, normalize_host, parse_ip
from mxroute._tls import OPPORTUNISTIC, MTASTSPolicy, TLSRequirement

__all__ = [
    "MXRecord",
    "MailHost",
    "MailRoute",
    "RouteKind",
]

if TYPE_CHECKING:
    from mxroute._attempts import DeliveryPlan, UnreachableMemory
    from mxroute._policy import AddressFamily, RoutingPolicy

T = TypeVar("T")


_check_preference = attrs_validator(integer, low=0, high=65535)
# The two checks below run for every answer and route: the common, valid case
# costs one type test, and only a wrong value goes on to the shared check,
# which raises its InvalidInput.


def check_ttl(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: None, or an integer of at least 0 (``invalid-ttl``)."""
    if value is not None and (type(value) is not int or value < 0):
        integer(value, attribute.name, low=0)


def check_flag(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: True or False (``invalid-<name>``)."""
    if type(value) is not bool:
        flag(value, attribute.name)


def as_tuple(values: Iterable[T], what: str, reason: str | None = None) -> tuple[T, ...]:
    """*values* as a tuple; a single string (iterable too) or a non-iterable is refused."""
    if type(values) is tuple or type(values) is list:  # the usual cases, at once
        return tuple(values)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInput(
            reason or "invalid-" + what, f"{what} must be a sequence, not {values!r}", repr(values)
        )
    return tuple(values)


def _instance_of(cls: type, optional: bool = False) -> Any:
    """An attrs validator: an instance of *cls* (or None when *optional*), else InvalidInput."""

    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, cls) and not (optional and value is None):
            raise InvalidInput(
                f"invalid-{attribute.name.replace('_', '-')}",
                f"{attribute.name} must be a {cls.__name__}, not {value!r}",
                repr(value),
            )

    return check


def _optional_strings(values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    out = as_tuple(values, "tlsrpt")
    if not all(isinstance(v, str) for v in out):
        raise InvalidInput("invalid-tlsrpt", f"tlsrpt holds strings, not {values!r}", repr(values))
    return out


def _exchange(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(
            "invalid-exchange", f"an MX exchange must be a string, not {value!r}", repr(value)
        )
    if value in (".", ""):
        return "."
    return normalize_host(value)


@attrs.frozen(order=True)
class MXRecord:
    """One MX record: a preference and an exchange (the mail host's name).

    The exchange is stored lowercase without the trailing dot; the null MX
    target (RFC 7505) is stored as ``"."``. Records sort by preference.

    >>> MXRecord.parse("10 MX1.Example.COM.")
    MXRecord(preference=10, exchange='mx1.example.com', ttl=None)
    """

    preference: int = attrs.field(validator=_check_preference)
    exchange: str = attrs.field(converter=_exchange)
    ttl: int | None = attrs.field(default=None, validator=check_ttl, eq=False, order=False)

    @classmethod
    def parse(cls, text: str, ttl: int | None = None) -> MXRecord:
        """Parse an MX record in zone-file form: ``"10 mx1.example.com."``.

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-mx"``.
        """
        parts = text.split() if isinstance(text, str) else []
        if len(parts) != 2 or not parts[0].isdigit():
            raise InvalidInput(
                "invalid-mx",
                f"invalid MX record {text!r}: expected '<preference> <exchange>', "
                "e.g. '10 mx1.example.com.'",
                str(text),
            )
        preference = int(parts[0])
        if preference > 65535:
            raise InvalidInput(
                "invalid-mx",
                f"invalid MX record {text!r}: the preference must be 0 to 65535",
                text,
            )
        return cls(preference, parts[1], ttl)

    @property
    def is_null(self) -> bool:
        """True for a null MX record (RFC 7505): the exchange is the root ``.``."""
        return self.exchange == "."

    def to_text(self) -> str:
        """The record in zone-file form, e.g. ``"10 mx1.example.com."``."""
        return f"{self.preference} {self.exchange if self.is_null else self.exchange + '.'}"

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data, ready for JSON."""
        return {"preference": self.preference, "exchange": self.exchange, "ttl": self.ttl}


_ADDRESS_CLASSES = (ipaddress.IPv4Address, ipaddress.IPv6Address)


def _addresses(values: Iterable[IPAddress | str]) -> tuple[IPAddress, ...]:
    out: list[IPAddress] = []
    for value in as_tuple(values, "addresses", "invalid-address-list"):
        if isinstance(value, _ADDRESS_CLASSES) and type(value) in _ADDRESS_CLASSES:
            out.append(value)  # already an address: ip_address() would reparse its text
            continue
        address = parse_ip(value) if isinstance(value, str) else _from_object(value)
        if address is None:
            raise InvalidInput("invalid-ip-address", f"{value!r} is not an IP address", str(value))
        out.append(address)
    return tuple(out)


def _from_object(value: object) -> IPAddress | None:
    """An address subclass or an integer as a plain address (text goes to ``parse_ip``)."""
    try:
        return ipaddress.ip_address(value)  # type: ignore[arg-type]
    except ValueError:
        return None


@attrs.frozen
class MailHost:
    """A host to deliver to, with its addresses in the order to try them.

    Attributes:
        name: The host name (lowercase A-label), or the literal (``[192.0.2.1]``).
        preference: The MX preference it was listed with (0 for an implicit MX,
            a relay or a literal).
        addresses: :mod:`ipaddress` objects, in the order to try them.
        port: The TCP port to connect to.
        tls: What TLS a client must insist on with this host (DANE, MTA-STS,
            ...); ``TLSLevel.OPPORTUNISTIC`` unless the routing policy asked
            for transport security.
    """

    name: str = attrs.field(converter=normalize_host)
    preference: int = attrs.field(validator=_check_preference)
    addresses: tuple[IPAddress, ...] = attrs.field(converter=_addresses)
    port: int = attrs.field(default=25, validator=attrs_validator(port))
    tls: TLSRequirement = attrs.field(default=OPPORTUNISTIC, validator=_instance_of(TLSRequirement))

    def to_dict(self) -> dict[str, Any]:
        """The host as plain data, ready for JSON."""
        return {
            "name": self.name,
            "preference": self.preference,
            "addresses": [format_address(a) for a in self.addresses],
            "port": self.port,
            "tls": self.tls.to_dict(),
        }


class RouteKind(enum.Enum):
    """How a route was found."""

    MX = "mx"
    """The domain's MX records."""
    IMPLICIT_MX = "implicit-mx"
    """The domain has no MX records: its own A/AAAA records (RFC 5321 §5.1)."""
    RELAY = "relay"
    """A smart host or a transport map entry from the routing policy."""
    LITERAL = "literal"
    """An address literal such as ``[192.0.2.1]``: no DNS."""


def _hosts(values: Iterable[MailHost]) -> tuple[MailHost, ...]:
    return as_tuple(values, "hosts")


def _findings(values: Iterable[Finding]) -> tuple[Finding, ...]:
    return as_tuple(values, "findings")


def _check_kind(_instance: object, _attribute: attrs.Attribute[RouteKind], value: object) -> None:
    if not isinstance(value, RouteKind):
        raise InvalidInput("invalid-kind", f"kind must be a RouteKind, not {value!r}", repr(value))


@attrs.frozen
class MailRoute:
    """Where to deliver mail for a domain: hosts in attempt order, and what was noticed.

    Attributes:
        domain: The domain asked about (A-label), or the bracketed literal.
        kind: How the route was found.
        hosts: The hosts in the order to try them (equal preferences already
            shuffled).
        ttl: How long, in seconds, the route may be cached: the smallest TTL
            of all DNS data used, negative answers included; None for a literal.
        authenticated: True only if DNS answers were used and every one of
            them had the DNSSEC AD bit.
        findings: What was noticed while routing (see :class:`Finding`).
        next_hop: For a relay route, the configured next hop (Postfix syntax).
        mta_sts: The MTA-STS policy applied to the route, or None (none asked
            for, none published, or none usable).
        tlsrpt: The TLS-RPT reporting addresses (RFC 8460 ``rua=`` URIs) of
            the domain when the routing policy asked for them, else None.
    """

    domain: str
    kind: RouteKind = attrs.field(validator=_check_kind)
    hosts: tuple[MailHost, ...] = attrs.field(converter=_hosts)
    ttl: int | None = attrs.field(default=None, validator=check_ttl)
    authenticated: bool = attrs.field(default=False, validator=check_flag)
    findings: tuple[Finding, ...] = attrs.field(default=(), converter=_findings)
    next_hop: str | None = None
    mta_sts: MTASTSPolicy | None = attrs.field(
        default=None, validator=_instance_of(MTASTSPolicy, optional=True)
    )
    tlsrpt: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)

    def attempts(self) -> Iterator[tuple[MailHost, IPAddress]]:
        """Yield ``(host, address)`` in the order a client must try them.

        Each address appears once, at its first position: an address shared
        by two hosts is tried with the first (most preferred) of them.
        """
        seen: set[IPAddress] = set()
        for host in self.hosts:
            for address in host.addresses:
                if address not in seen:
                    seen.add(address)
                    yield host, address

    def plan(
        self,
        policy: RoutingPolicy | None = None,
        *,
        first_family: AddressFamily | str | None = None,
        first_family_count: int = 1,
        address_limit: int = 5,
        session_limit: int = 2,
        memory: UnreachableMemory | None = None,
        message_key: str | None = None,
        rotation: int = 0,
    ) -> DeliveryPlan:
        """The connections to try for this route, in order: a :class:`~mxroute.DeliveryPlan`.

        Pure: no I/O. The order is the route's (RFC 5321 §5.1: by preference,
        equal preferences already shuffled), each address (and port) once at its first
        place; within a run of equal preference the families alternate as
        RFC 8305 §4 says. See the "Connecting" page for every rule.

        Args:
            policy: Gives ``address_families`` (others are left out; the first
                is tried first) and ``address_scope`` (checked again when
                connecting). Default: ``RoutingPolicy()``.
            first_family: The family to start each preference run with;
                default: the policy's first.
            first_family_count: How many addresses of the first family come
                before the families alternate (RFC 8305's "First Address
                Family Count").
            address_limit: The most addresses to try (Postfix's
                ``smtp_mx_address_limit`` is 5, as here). If the cut would
                drop a family entirely, its first address takes the last place.
            session_limit: The most SMTP sessions to open (Postfix's
                ``smtp_mx_session_limit`` is 2, as here).
            memory: Addresses it remembers as failed go last, or are skipped
                (its :class:`~mxroute.MemoryMode`).
            message_key: A key of the message (its Message-ID, a queue id):
                hosts of equal preference are ordered by it instead of the
                route's shuffle, so every retry of the message tries them in
                the same order (greylisting lets a retry in at the same host).
            rotation: Rotate each preference run by this many places; pass the
                retry count to start each retry at another address (and family).

        Raises:
            InvalidInput: An option is wrong (a limit below 1, an unknown family).

        >>> route = MailRoute("example.com", RouteKind.MX, [
        ...     MailHost("mx1.example.com", 10, ["192.0.2.1", "2001:db8::1"]),
        ...     MailHost("mx2.example.com", 20, ["192.0.2.2"])])
        >>> [str(a.address) for a in route.plan()]
        ['2001:db8::1', '192.0.2.1', '192.0.2.2']
        """
        from mxroute._attempts import plan_delivery

        return plan_delivery(
            self,
            policy,
            first_family=first_family,
            first_family_count=first_family_count,
            address_limit=address_limit,
            session_limit=session_limit,
            memory=memory,
            message_key=message_key,
            rotation=rotation,
        )

    def to_dict(self) -> dict[str, Any]:
        """The route as plain data, ready for JSON."""
        return {
            "domain": self.domain,
            "kind": self.kind.value,
            "hosts": [h.to_dict() for h in self.hosts],
            "ttl": self.ttl,
            "authenticated": self.authenticated,
            "findings": [f.to_dict() for f in self.findings],
            "next_hop": self.next_hop,
            "mta_sts": None if self.mta_sts is None else self.mta_sts.to_dict(),
            "tlsrpt": None if self.tlsrpt is None else list(self.tlsrpt),
        }


publish(globals())
