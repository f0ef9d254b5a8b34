"""DNSResolver's settings: one frozen value, checked once, at construction.

:class:`Settings` holds what a :class:`~mxroute.DNSResolver` was built with
(the servers, timeouts, transport and EDNS options) after the system
configuration was read; every check is one of :mod:`mxroute._checks`, so a
wrong setting gets the same :class:`~mxroute.InvalidInput` as everywhere else.
Being frozen and made of plain values, it pickles: a resolver is re-created
from it on the other side of a pickle or a :func:`copy.deepcopy`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Sequence
from typing import NamedTuple

import attrs
import dns.exception
import dns.flags
import dns.inet

from mxroute import _checks
from mxroute._checks import attrs_validator
from mxroute._errors import InvalidInput
from mxroute._names import format_address, parse_ip

DEFAULT_EDNS_PAYLOAD = 1232
"""The EDNS UDP buffer size advertised by default (the DNS Flag Day 2020 value)."""

DEFAULT_TIMEOUT = 2.0
"""Seconds to wait for one server's answer, unless the system configuration says otherwise."""

DEFAULT_LIFETIME = 5.0
"""Seconds allowed for one question, over all servers and tries."""

MAX_TIMEOUT = 3600.0
"""The longest ``timeout`` accepted: one hour."""

MAX_LIFETIME = 3600.0
"""The longest ``lifetime`` accepted: one hour."""

MAX_WORKERS = 1000
"""The most questions of one batch in flight at once (threads with ``tcp=True``)."""


class Server(NamedTuple):
    """One name server, with what the transport needs to reach and recognise it."""

    address: str
    port: int
    label: str
    family: int
    destination: tuple[object, ...]
    """The socket address to send to (as :func:`dns.inet.low_level_address_tuple` gives it)."""
    packed: bytes
    """The address in binary, to recognise the source of a response."""
    trusted: bool = False
    """Whether its AD bit is believed (see :attr:`Settings.trusted`)."""


def _address(address: object) -> str:
    """``address`` as the text of an IP address, or InvalidInput."""
    if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return format_address(address)
    if not isinstance(address, str):
        raise InvalidInput(
            "invalid-nameserver",
            f"a name server must be an IP address, not {address!r}",
            repr(address),
        )
    parsed = parse_ip(address)
    if parsed is None:
        raise InvalidInput(
            "invalid-nameserver", f"a name server must be an IP address, not {address!r}", address
        )
    return format_address(parsed)


def _nameservers(value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidInput(
            "invalid-nameserver",
            f"nameservers must be a list of IP addresses, not {value!r}",
            repr(value),
        )
    if not value:
        raise InvalidInput("no-nameservers", "at least one name server is needed")
    return tuple(_address(address) for address in value)


def _server(text: str, port_number: int, trusted: bool | tuple[str, ...]) -> Server:
    parsed = parse_ip(text)
    assert parsed is not None  # checked by _address
    label = f"[{text}]:{port_number}" if parsed.version == 6 else f"{text}:{port_number}"
    family = socket.AF_INET6 if parsed.version == 6 else socket.AF_INET
    destination = dns.inet.low_level_address_tuple((text, port_number), family)
    believed = trusted if isinstance(trusted, bool) else parsed.is_loopback or text in trusted
    return Server(text, port_number, label, family, destination, parsed.packed, believed)


def _trusted(value: object) -> bool | tuple[str, ...]:
    """``trusted``: True, False, or the addresses of the servers whose AD bit is believed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidInput(
            "invalid-trusted",
            f"trusted must be True, False or a list of name server addresses, not {value!r}",
            repr(value),
        )
    return tuple(_address(address) for address in value)


def _edns_payload(value: object, what: str) -> None:
    if value is not None:
        _checks.integer(value, what, low=512, high=65535, reason="invalid-edns-payload")


_OPTION = attrs_validator(_checks.flag, reason="invalid-option")


@attrs.frozen
class Settings:
    """The settings of one :class:`~mxroute.DNSResolver`, checked.

    Raises:
        InvalidInput: ``invalid-nameserver``, ``no-nameservers``,
            ``invalid-port``, ``invalid-timeout``, ``invalid-lifetime``,
            ``invalid-edns-payload``, ``dnssec-needs-edns``,
            ``invalid-option``, ``invalid-workers`` or ``invalid-trusted``.
    """

    nameservers: tuple[str, ...] = attrs.field(converter=_nameservers)
    port: int = attrs.field(validator=attrs_validator(_checks.port))
    timeout: float = attrs.field(validator=attrs_validator(_checks.seconds, high=MAX_TIMEOUT))
    lifetime: float = attrs.field(validator=attrs_validator(_checks.seconds, high=MAX_LIFETIME))
    tcp: bool = attrs.field(validator=_OPTION)
    edns_payload: int | None = attrs.field(validator=attrs_validator(_edns_payload))
    dnssec: bool = attrs.field(validator=_OPTION)
    use_additional: bool = attrs.field(validator=_OPTION)
    max_workers: int = attrs.field(
        validator=attrs_validator(
            _checks.integer, low=1, high=MAX_WORKERS, reason="invalid-workers"
        )
    )
    trusted: bool | tuple[str, ...] = attrs.field(default=(), converter=_trusted)
    """Whose AD bit is believed: loopback servers and these addresses (as
    Postfix trusts a validating resolver on the host, or one the
    administrator vouches for); True: every server; False: none."""
    lean: bool = attrs.field(default=True, validator=_OPTION)
    """Read responses with the lean reader (:mod:`._lean`) when it can; False: dnspython only."""
    servers: tuple[Server, ...] = attrs.field(init=False, eq=False, repr=False)
    """The name servers as the transport reaches them."""
    flags: int = attrs.field(init=False, eq=False, repr=False)
    """The header flags of a query: RD, and AD with ``dnssec`` (RFC 6840 §5.7)."""

    def __attrs_post_init__(self) -> None:
        if self.dnssec and self.edns_payload is None:
            raise InvalidInput(
                "dnssec-needs-edns", "dnssec=True needs EDNS: give an edns_payload, not None"
            )
        servers = tuple(_server(a, self.port, self.trusted) for a in self.nameservers)
        object.__setattr__(self, "servers", servers)
        object.__setattr__(self, "flags", int(dns.flags.RD | (dns.flags.AD if self.dnssec else 0)))


def system_configuration(
    resolv_conf: str | os.PathLike[str] | None,
) -> tuple[list[str], int, float]:
    """The system's name servers, port and timeout (never its search list).

    :mod:`dns.resolver` is imported here, not at the top: it loads
    :mod:`dns.asyncquery`, which ``import mxroute`` must not.
    """
    import dns.resolver

    try:
        if resolv_conf is None:
            system = dns.resolver.Resolver(configure=True)
        else:
            system = dns.resolver.Resolver(configure=False)
            system.read_resolv_conf(os.fspath(resolv_conf))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise InvalidInput(
            "no-nameservers", f"the system resolver configuration names no server: {exc}"
        ) from None
    addresses = []
    for entry in system.nameservers:
        text = entry if isinstance(entry, str) else getattr(entry, "address", None)
        parsed = parse_ip(text) if isinstance(text, str) else None
        if parsed is not None:
            addresses.append(format_address(parsed))
    return addresses, system.port, float(system.timeout)
