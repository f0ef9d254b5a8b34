"""The routing policy: smart hosts, transport maps, this host's identity, scopes and limits."""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from mxroute._checks import attrs_validator, flag, integer
from mxroute._errors import InvalidDomain, InvalidInput, InvalidPolicy
from mxroute._exports import publish
from mxroute._memo import BoundedMemo
from mxroute._names import IPAddress, format_address, parse_host_port, parse_ip, to_a_label

__all__ = [
    "DEFAULT_MAX_ADDRESSES",
    "DEFAULT_MAX_HOSTS",
    "AddressFamily",
    "AddressScope",
    "NextHop",
    "RoutingPolicy",
    "address_allowed",
    "carried_ipv4",
    "is_local_address",
    "judged_addresses",
]

DEFAULT_MAX_HOSTS = 50
"""MX hosts a route considers at most.

Each host costs two queries (A and AAAA), so 50 hosts bound a route to about
a hundred queries however many MX records a hostile zone publishes, while
staying far above what real domains use (rarely more than 10).
"""

DEFAULT_MAX_ADDRESSES = 100
"""Addresses a route holds at most, over all its hosts.

A client rarely tries more than a handful; the cap keeps a zone that
publishes thousands of A records from making a route large.
"""


class AddressFamily(enum.Enum):
    """An IP address family, for :attr:`RoutingPolicy.address_families`."""

    IPV4 = "ipv4"
    """IPv4: A records."""
    IPV6 = "ipv6"
    """IPv6: AAAA records."""

    @property
    def rdtype(self) -> str:
        """The DNS record type that holds this family's addresses."""
        return "A" if self is AddressFamily.IPV4 else "AAAA"


class AddressScope(enum.Enum):
    """Which addresses learned from DNS a route may contain."""

    ROUTABLE = "routable"
    """Refuse loopback, unspecified, link-local, multicast and reserved addresses,
    and 0.0.0.0/8 ("this network", RFC 6890: never a destination).

    Private ranges and documentation ranges (192.0.2.0/24, 2001:db8::/32) are
    allowed. This is the default.
    """
    GLOBAL = "global"
    """Also refuse private and every other non-global range, and the deprecated
    site-local fec0::/10 (RFC 3879): for public-facing validation, where a
    hostile domain must not point you at your own network."""
    ANY = "any"
    """Allow every address."""

    def allows(self, address: IPAddress) -> bool:
        """True if the scope allows connecting to ``address``.

        An IPv6 address that carries IPv4 addresses is judged by what it
        carries (see :func:`judged_addresses`): ``::ffff:127.0.0.1`` and the
        6to4 address ``2002:7f00:1::1`` are refused as 127.0.0.1 is, and a
        DNS64 address such as ``64:ff9b::c000:201`` is allowed as 192.0.2.1 is.
        """
        return address_allowed(address, self)


_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
"""RFC 6890: "this network", a source address only, never a destination."""
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_LOW_32 = 0xFFFFFFFF


def carried_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries, the one it reaches first.

    * IPv4-mapped ``::ffff:192.0.2.1`` (RFC 4291): the last 32 bits;
    * IPv4-compatible ``::192.0.2.1`` (RFC 4291, deprecated; not ``::`` or
      ``::1``): the last 32 bits;
    * NAT64 ``64:ff9b::c000:201`` and the local-use ``64:ff9b:1::/48``
      (RFC 6052, RFC 8215): the last 32 bits, where DNS64 with a /96 prefix
      puts them;
    * 6to4 ``2002:c000:201::1`` (RFC 3056): bits 16 to 47;
    * Teredo ``2001:0::/32`` (RFC 4380): the client (the last 32 bits,
      inverted), then the server (bits 32 to 63).

    An IPv4 address, and an IPv6 address of no such form, carry nothing: ``()``.
    """
    if address.version == 4:
        return ()
    assert isinstance(address, ipaddress.IPv6Address)
    value = int(address)
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if (value >> 32 == 0 and value > 1) or any(address in prefix for prefix in _NAT64):
        return (ipaddress.IPv4Address(value & _LOW_32),)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        server, client = address.teredo
        return (client, server)
    return ()


def judged_addresses(address: IPAddress) -> tuple[IPAddress, ...]:
    """The addresses a scope judges for ``address``: those it carries, else itself.

    An embedded-IPv4 form (see :func:`carried_ipv4`) is a way to reach the
    IPv4 addresses it carries, so they are what is judged, all of them: a
    Teredo address is refused when its client *or* its server is, since a
    relay talks to both to deliver. Its IPv6 prefix says nothing about where
    the packets end up (and Python's verdict on those prefixes differs from
    version to version), so it is not judged.
    """
    return carried_ipv4(address) or (address,)


def address_allowed(
    address: IPAddress, scope: AddressScope, *, documentation: bool = False
) -> bool:
    """The one judgement of an address's scope: routing, literals and the audit use it.

    Args:
        address: The address to judge (see :func:`judged_addresses`).
        scope: The scope to judge it by.
        documentation: Also accept the documentation ranges (192.0.2.0/24,
            198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) under
            :attr:`AddressScope.GLOBAL`; the audit does, so examples audit clean.
    """
    if scope is AddressScope.ANY:
        return True
    return _VERDICTS[scope is AddressScope.GLOBAL][documentation][address]


_VERDICTS_KEPT = 4096
"""The most verdicts :func:`address_allowed` keeps per scope (each is a pure function)."""


def _verdicts(scope: AddressScope, documentation: bool) -> BoundedMemo[IPAddress, bool]:
    return BoundedMemo(
        lambda address: all(
            _plain_allowed(a, scope, documentation) for a in judged_addresses(address)
        ),
        _VERDICTS_KEPT,
    )


_VERDICTS = (
    (_verdicts(AddressScope.ROUTABLE, False), _verdicts(AddressScope.ROUTABLE, True)),
    (_verdicts(AddressScope.GLOBAL, False), _verdicts(AddressScope.GLOBAL, True)),
)
"""Indexed by ``scope is GLOBAL``, then by ``documentation``."""


def _plain_allowed(address: IPAddress, scope: AddressScope, documentation: bool) -> bool:
    if (
        address.is_loopback
        or address.is_unspecified
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address in _THIS_NETWORK
    ):
        return False
    if scope is AddressScope.ROUTABLE:
        return True
    if documentation and any(address in network for network in _DOCUMENTATION):
        return True
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return address.is_global and not site_local


def is_local_address(address: IPAddress, local_addresses: frozenset[IPAddress]) -> bool:
    """True when ``address`` is this host: one of ``local_addresses`` in any spelling.

    An address and the IPv4 address it reaches (see :func:`carried_ipv4`:
    ``::ffff:192.0.2.7`` and ``64:ff9b::c000:207`` reach 192.0.2.7) are the
    same host, whichever of the two is listed. A Teredo server is only a
    helper on the way: an address whose Teredo server is this host is not
    this host.
    """
    if not local_addresses:
        return False
    mine = {_reached(a) for a in local_addresses}
    return _reached(address) in mine


def _reached(address: IPAddress) -> IPAddress:
    carried = carried_ipv4(address)
    return carried[0] if carried else address


@attrs.frozen
class NextHop:
    """A configured next hop, in Postfix syntax.

    ============================  ==========================================
    text                          meaning
    ============================  ==========================================
    ``relay.example``             MX lookup on relay.example, port 25
    ``relay.example:587``         MX lookup on relay.example, port 587
    ``[relay.example]``           no MX lookup: relay.example's A/AAAA
    ``[relay.example]:587``       the same, port 587
    ``[192.0.2.7]``               that address, no DNS
    ``[ipv6:2001:db8::7]:2525``   that IPv6 address (``[2001:db8::7]`` works too)
    ============================  ==========================================

    Attributes:
        host: The host name (A-label), or the address as text.
        port: The TCP port.
        mx_lookup: Whether to look up the host's MX records (no brackets).
        address: The IP address when the next hop is one, else None.
    """

    host: str
    port: int = 25
    mx_lookup: bool = True
    address: IPAddress | None = None

    @classmethod
    def parse(cls, text: str) -> NextHop:
        """Parse a next hop in Postfix syntax.

        Raises:
            InvalidPolicy: ``.reason`` is ``"invalid-next-hop"``; the message
                says what is wrong.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidPolicy("invalid-next-hop", "a next hop must be a non-empty string", "")
        try:
            parsed = parse_host_port(text.strip())
        except InvalidInput as exc:
            raise _hop_error(text, str(exc)) from None
        port = 25 if parsed.port is None else parsed.port
        address = parsed.address
        if address is not None:
            if not parsed.bracketed:
                if address.version == 6:
                    raise _hop_error(text, "write an IPv6 address in brackets: [ipv6:2001:db8::1]")
                raise _hop_error(text, "write an IP address in brackets, e.g. [192.0.2.7]")
            return cls(format_address(address), port, False, address)
        if not parsed.bracketed and ":" in parsed.host:
            raise _hop_error(text, "write an IPv6 address in brackets: [ipv6:2001:db8::1]")
        try:
            host = to_a_label(parsed.host)
        except InvalidDomain as exc:
            raise _hop_error(text, str(exc)) from None
        return cls(host, port, not parsed.bracketed, None)

    def __str__(self) -> str:
        if self.address is not None:
            text = format_address(self.address)  # Postfix writes the tag in lowercase
            host = f"[ipv6:{text}]" if self.address.version == 6 else f"[{text}]"
        else:
            host = self.host if self.mx_lookup else f"[{self.host}]"
        return host if self.port == 25 else f"{host}:{self.port}"


def _hop_error(text: str, why: str) -> InvalidPolicy:
    return InvalidPolicy("invalid-next-hop", f"invalid next hop {text!r}: {why}", str(text))


def _next_hop(value: NextHop | str | None) -> NextHop | None:
    if value is None or isinstance(value, NextHop):
        return value
    return NextHop.parse(value)


def _transport_map(value: Mapping[str, NextHop | str]) -> Mapping[str, NextHop]:
    if not isinstance(value, Mapping):
        raise InvalidPolicy("invalid-transport-map", "transport_map must be a mapping", "")
    out: dict[str, NextHop] = {}
    for key, hop in value.items():
        if not isinstance(key, str):
            raise InvalidPolicy(
                "invalid-transport-map", f"transport_map key {key!r} is not a string", repr(key)
            )
        dot = key.startswith(".")
        try:
            name = to_a_label(key[1:] if dot else key)
        except InvalidDomain as exc:
            raise InvalidPolicy(
                "invalid-transport-map", f"transport_map key {key!r}: {exc}", key
            ) from None
        parsed = _next_hop(hop)
        assert parsed is not None
        out["." + name if dot else name] = parsed
    return _FrozenMap(out)


class _FrozenMap(dict[str, NextHop]):
    """A dict that refuses changes and hashes, so the policy stays a value.

    It pickles and copies (``copy.deepcopy``) as a new map built from its
    items, since the default way for a dict subclass, filling an empty one
    item by item, is a change it refuses.
    """

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def _refuse(self, *_args: Any, **_kwargs: Any) -> None:
        raise TypeError("a RoutingPolicy's transport_map cannot be changed; use attrs.evolve")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]


def _local_names(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        values = (values,)
    out = set()
    for value in values:
        try:
            out.add(to_a_label(value))
        except InvalidDomain as exc:
            raise InvalidPolicy("invalid-local-name", f"local_names: {exc}", value) from None
    return frozenset(out)


def _local_addresses(values: Iterable[IPAddress | str]) -> frozenset[IPAddress]:
    if isinstance(values, str):
        values = (values,)
    out = set()
    for value in values:
        if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            out.add(value)
            continue
        address = parse_ip(value) if isinstance(value, str) else None
        if address is None:
            raise InvalidPolicy(
                "invalid-local-address",
                f"local_addresses: {value!r} is not an IP address",
                str(value),
            )
        out.add(address)
    return frozenset(out)


def _families(values: Iterable[AddressFamily | str]) -> tuple[AddressFamily, ...]:
    if isinstance(values, (str, AddressFamily)):
        values = (values,)
    out: list[AddressFamily] = []
    for value in values:
        try:
            family = AddressFamily(value)
        except ValueError:
            raise InvalidPolicy(
                "invalid-address-family",
                f"address_families: {value!r} is not 'ipv4' or 'ipv6'",
                str(value),
            ) from None
        if family in out:
            raise InvalidPolicy(
                "invalid-address-family", f"address_families lists {value!r} twice", str(value)
            )
        out.append(family)
    if not out:
        raise InvalidPolicy("invalid-address-family", "address_families is empty", "")
    return tuple(out)


def _scope(value: AddressScope | str) -> AddressScope:
    try:
        return AddressScope(value)
    except ValueError:
        raise InvalidPolicy(
            "invalid-address-scope",
            f"address_scope: {value!r} is not 'routable', 'global' or 'any'",
            str(value),
        ) from None


_POSITIVE = attrs_validator(integer, low=1, error=InvalidPolicy)


@attrs.frozen
class RoutingPolicy:
    """How to route: overrides of MX routing, this host's identity, scopes and limits.

    Attributes:
        relayhost: Send all mail through this smart host (Postfix syntax, see
            :class:`NextHop`). Routes become :attr:`RouteKind.RELAY`.
        transport_map: Per-destination next hops. A key ``example.org``
            matches that domain; ``.example.org`` matches its subdomains.
            The most specific key wins, and the map wins over ``relayhost``.
        local_names: This host's names, for MX-to-self pruning (RFC 5321 §5.1).
        local_addresses: This host's addresses, for the same, and to refuse an
            address literal that is this host. An address matches in every
            spelling (``::ffff:192.0.2.7`` is 192.0.2.7; see :func:`is_local_address`).
        address_families: The families to use, in the order to try them.
            Default: IPv6 first, then IPv4. Leave one out to never query it.
        allow_ip_literal_mx: Use MX exchanges that are IP addresses written
            as names (RFC 5321 forbids them; default False skips them).
        address_scope: Which addresses learned from DNS may be routed to.
            A configured next hop (relayhost, transport map) is trusted as
            written: its literal, or the addresses of the name it gives, are
            not checked. The hosts named by the MX records of a next hop
            written without brackets are learned from DNS, and are checked.
        max_hosts: The most MX hosts a route considers, after sorting.
        max_addresses: The most addresses a route holds, over all hosts.
        mta_sts: Apply the domain's MTA-STS policy (RFC 8461): fetch it
            (HTTPS), cache it, and set each host's ``tls`` from it; hosts an
            ``enforce`` policy does not cover are dropped. Off by default:
            no extra lookups.
        dane: Apply DANE (RFC 7672): look up TLSA records of hosts whose
            MX and address answers are DNSSEC-authenticated, and set each
            host's ``tls`` from them. Needs a resolver that validates and is
            trusted (see the DNS page). Off by default.
        tlsrpt: Also look up the domain's TLS-RPT record (RFC 8460) and give
            its reporting addresses as ``route.tlsrpt``. Off by default.
    """

    relayhost: NextHop | None = attrs.field(default=None, converter=_next_hop)
    transport_map: Mapping[str, NextHop] = attrs.field(factory=dict, converter=_transport_map)
    local_names: frozenset[str] = attrs.field(default=(), converter=_local_names)
    local_addresses: frozenset[IPAddress] = attrs.field(default=(), converter=_local_addresses)
    address_families: tuple[AddressFamily, ...] = attrs.field(
        default=(AddressFamily.IPV6, AddressFamily.IPV4), converter=_families
    )
    allow_ip_literal_mx: bool = False
    address_scope: AddressScope = attrs.field(default=AddressScope.ROUTABLE, converter=_scope)
    max_hosts: int = attrs.field(default=DEFAULT_MAX_HOSTS, validator=_POSITIVE)
    max_addresses: int = attrs.field(default=DEFAULT_MAX_ADDRESSES, validator=_POSITIVE)
    mta_sts: bool = attrs.field(default=False, validator=attrs_validator(flag, error=InvalidPolicy))
    dane: bool = attrs.field(default=False, validator=attrs_validator(flag, error=InvalidPolicy))
    tlsrpt: bool = attrs.field(default=False, validator=attrs_validator(flag, error=InvalidPolicy))

    def next_hop_for(self, domain: str) -> tuple[str, NextHop] | None:
        """The configured next hop for a domain, and the key that chose it.

        The transport map is searched first (the exact domain, then
        ``.parent`` keys from the most specific), then ``relayhost``
        (key ``"relayhost"``). None means: route by MX.
        """
        exact = self.transport_map.get(domain)
        if exact is not None:
            return domain, exact
        labels = domain.split(".")
        for i in range(1, len(labels)):
            key = "." + ".".join(labels[i:])
            hop = self.transport_map.get(key)
            if hop is not None:
                return key, hop
        if self.relayhost is not None:
            return "relayhost", self.relayhost
        return None

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data, ready for JSON."""
        return {
            "relayhost": None if self.relayhost is None else str(self.relayhost),
            "transport_map": {k: str(v) for k, v in sorted(self.transport_map.items())},
            "local_names": sorted(self.local_names),
            "local_addresses": sorted(format_address(a) for a in self.local_addresses),
            "address_families": [f.value for f in self.address_families],
            "allow_ip_literal_mx": self.allow_ip_literal_mx,
            "address_scope": self.address_scope.value,
            "max_hosts": self.max_hosts,
            "max_addresses": self.max_addresses,
            "mta_sts": self.mta_sts,
            "dane": self.dane,
            "tlsrpt": self.tlsrpt,
        }


publish(globals())
