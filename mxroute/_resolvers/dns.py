"""DNSResolver: the real DNS, through dnspython, synchronously and in asyncio.

:class:`DNSResolver` is a stub resolver: it sends each question to the
configured recursive name servers (by default those of ``/etc/resolv.conf``)
and turns the response into one :class:`~mxroute.Answer`. It never raises for
a DNS outcome: every response, missing response or unusable response becomes
an :class:`~mxroute.AnswerStatus`, with :attr:`~mxroute.Answer.detail` saying
which server answered what.

It is built on dnspython's message parser (:func:`dns.message.from_wire`
reads every response) and its TCP functions (:func:`dns.query.tcp`,
:func:`dns.asyncquery.tcp`), with queries it writes itself (byte for byte
what :func:`dns.message.make_query` would make) and UDP sockets of its own,
rather than on ``dns.resolver.Resolver``, for two reasons:

* exact outcomes: the high-level resolver folds SERVFAIL, REFUSED, malformed
  answers and unreachable servers into one ``NoNameservers`` exception, while
  here each server's response code is read directly, so SERVFAIL stays apart
  from REFUSED and from a timeout;
* low overhead: one query is written per name asked (and sent to every
  server, on every try), one response parsed per try, with no resolver
  cache, no search list and no retry machinery beyond what is written here.
  A UDP try is one socket: blocking with a timeout in
  :meth:`~DNSResolver.query`, watched by the event loop in
  :meth:`~DNSResolver.query_async`, multiplexed with a selector in
  :meth:`~DNSResolver.query_batch`. Each reads responses as
  :func:`dns.query.udp` does with ``ignore_unexpected``: a datagram from
  another address or port than the server's is ignored.

The retry logic (servers in order, ``timeout`` per try, ``lifetime`` per
question, TCP after a truncated UDP answer, CNAME chains) is one generator,
:meth:`DNSResolver._resolution`, shared by the sync and the async paths, so the
two cannot drift apart.

Names are always absolute: the search list and ``ndots`` of ``resolv.conf``
are never used, because a mail domain is a fully qualified name and a search
list would turn a typo into a delivery to the wrong host.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
import ipaddress
import math
import os
import secrets
import selectors
import socket
import struct
import threading
import time
from collections.abc import Generator, Sequence
from typing import NamedTuple, cast

import dns.asyncquery
import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

from mxroute._dns import Answer, AnswerStatus, Question, RData, rdata_value
from mxroute._errors import InvalidInput
from mxroute._guard import refuse_real_dns
from mxroute._names import normalize_host

__all__ = ["DNSResolver"]

MAX_CNAME_CHAIN = 16
"""The longest CNAME chain followed for one question; a longer one is SERVFAIL."""

DEFAULT_EDNS_PAYLOAD = 1232
"""The EDNS UDP buffer size advertised by default (the DNS Flag Day 2020 value)."""

DEFAULT_TIMEOUT = 2.0
"""Seconds to wait for one server's answer, unless the system configuration says otherwise."""

DEFAULT_LIFETIME = 5.0
"""Seconds allowed for one question, over all servers and tries."""

_IN = dns.rdataclass.IN
_CNAME = dns.rdatatype.CNAME
_SOA = dns.rdatatype.SOA
_NS = dns.rdatatype.NS
_MX = dns.rdatatype.MX
_A = dns.rdatatype.A
_AAAA = dns.rdatatype.AAAA
_ADDRESS_TYPES = {_A: "A", _AAAA: "AAAA"}
_NONE = dns.rdatatype.NONE
_FINAL_RCODES = {dns.rcode.NOERROR: "NOERROR", dns.rcode.NXDOMAIN: "NXDOMAIN"}


_HEADER = struct.Struct("!HHHHHH")
"""ID, flags, and the counts of the question, answer, authority and additional sections."""
_QUESTION = struct.Struct("!HH")
"""QTYPE and QCLASS, after the QNAME."""
_OPT = struct.Struct("!HHBBHH")
"""TYPE, CLASS (the UDP buffer size), extended RCODE, version, flags, RDLENGTH of an OPT record."""
_CHECKED_QUESTION_RCODES = frozenset(
    {dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED}
)


class _Server(NamedTuple):
    address: str
    port: int
    label: str
    family: int
    destination: tuple[object, ...]
    """The socket address to send to (as :func:`dns.inet.low_level_address_tuple` gives it)."""
    packed: bytes
    """The address in binary, to recognise the source of a response."""


class _Query(NamedTuple):
    """One query, in wire format, and what a response to it must echo."""

    wire: bytes
    id: int
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType

    def message(self) -> dns.message.Message:
        """The query as a dnspython message (for :func:`dns.query.tcp`)."""
        return dns.message.from_wire(self.wire)


class _Try(NamedTuple):
    """One message to send to one server, as the resolution generator asks it."""

    query: _Query
    server: _Server
    tcp: bool
    timeout: float


_Result = dns.message.Message | Exception
_Resolution = Generator[_Try, _Result, Answer]


class _Final(NamedTuple):
    """A NOERROR or NXDOMAIN response, interpreted."""

    status: AnswerStatus
    rrset: dns.rrset.RRset | None
    cnames: list[str]
    targets: list[dns.name.Name]
    ttls: list[int]
    negative_ttl: int | None = None
    follow: dns.name.Name | None = None
    """A CNAME target the response did not resolve: ask it next."""
    problem: str = ""
    """Why the response cannot be used (the server then counts as failed)."""


class _Failure(NamedTuple):
    """No server gave a usable answer."""

    status: AnswerStatus
    cnames: list[str]
    """The CNAMEs of the last unusable answer, up to the problem (a loop)."""


def _config_error(reason: str, message: str, value: object = "") -> InvalidInput:
    return InvalidInput(reason, message, str(value))


def _seconds(value: object, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise _config_error(
            f"invalid-{what}", f"{what} must be a positive number of seconds, not {value!r}", value
        )
    return float(value)


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise _config_error("invalid-option", f"{what} must be True or False, not {value!r}", value)
    return value


def _port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise _config_error(
            "invalid-port", f"port must be an integer 1 to 65535, not {value!r}", value
        )
    return value


def _server(address: object, port: int) -> _Server:
    text = (
        str(address)
        if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address))
        else address
    )
    if not isinstance(text, str):
        raise _config_error(
            "invalid-nameserver", f"a name server must be an IP address, not {address!r}", address
        )
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        raise _config_error(
            "invalid-nameserver", f"a name server must be an IP address, not {text!r}", text
        ) from None
    label = f"[{text}]:{port}" if parsed.version == 6 else f"{text}:{port}"
    family = socket.AF_INET6 if parsed.version == 6 else socket.AF_INET
    destination = dns.inet.low_level_address_tuple((text, port), family)
    return _Server(text, port, label, family, destination, parsed.packed)


def _qname(name: str) -> dns.name.Name:
    if not isinstance(name, str) or not name.strip(".") or name.startswith("."):
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name", str(name))
    return _parse_name(name)


@functools.lru_cache(maxsize=4096)
def _parse_name(name: str) -> dns.name.Name:
    try:
        return dns.name.from_text(name, origin=dns.name.root)
    except (dns.exception.DNSException, ValueError) as exc:
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name: {exc}", name) from None


def _qtype(rdtype: str) -> tuple[dns.rdatatype.RdataType, str]:
    if not isinstance(rdtype, str):
        raise InvalidInput("invalid-rdtype", f"{rdtype!r} is not a DNS record type", str(rdtype))
    return _parse_type(rdtype)


@functools.lru_cache(maxsize=64)
def _parse_type(rdtype: str) -> tuple[dns.rdatatype.RdataType, str]:
    try:
        value = dns.rdatatype.from_text(rdtype)
    except (dns.exception.DNSException, ValueError, TypeError, AttributeError):
        raise InvalidInput(
            "invalid-rdtype", f"{rdtype!r} is not a DNS record type", str(rdtype)
        ) from None
    return value, dns.rdatatype.to_text(value)


def _values(rrset: dns.rrset.RRset) -> list[RData]:
    """The records as :func:`~mxroute._resolvers.memory.rdata_value` gives them.

    A and AAAA take a shortcut to the same values (the address class is known
    from the type, so :func:`ipaddress.ip_address` need not guess it).
    """
    if rrset.rdtype == _A:
        return [ipaddress.IPv4Address(rdata.address) for rdata in rrset]
    if rrset.rdtype == _AAAA:
        return [ipaddress.IPv6Address(rdata.address) for rdata in rrset]
    return [rdata_value(rdata) for rdata in rrset]


def _host(name: dns.name.Name) -> str:
    return normalize_host(name.to_text())


def _negative_ttl(response: dns.message.Message) -> int | None:
    """RFC 2308 §5: the smaller of the SOA record's TTL and its MINIMUM field."""
    for rrset in response.authority:
        if rrset.rdtype == _SOA and rrset:
            return min(rrset.ttl, rrset[0].minimum)  # type: ignore[no-any-return]
    return None


def _is_referral(response: dns.message.Message) -> bool:
    return not response.flags & dns.flags.AA and any(r.rdtype == _NS for r in response.authority)


def _why(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _answer_rrset(
    response: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> dns.rrset.RRset | None:
    """The answer section's ``(name, IN, rdtype)`` record set, as ``get_rrset`` finds it.

    A plain scan: an answer holds a few record sets, and comparing the type
    first is cheaper than building and hashing ``find_rrset``'s key.
    """
    for rrset in response.answer:
        if (
            rrset.rdtype == rdtype
            and rrset.name == name
            and rrset.rdclass == _IN
            and rrset.covers == _NONE
            and rrset.deleting is None
        ):
            return rrset
    return None


def _interpret(
    response: dns.message.Message,
    rcode: dns.rcode.Rcode,
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    seen: set[dns.name.Name],
    chain: int,
) -> _Final:
    """Read a NOERROR or NXDOMAIN (``rcode``) response to the question ``(qname, qtype)``.

    ``seen`` holds the names already on the CNAME chain and ``chain`` its
    length; neither is changed.
    """
    cnames: list[str] = []
    targets: list[dns.name.Name] = []
    ttls: list[int] = []
    current = qname
    while True:
        rrset = _answer_rrset(response, current, qtype)
        if rrset:
            ttls.append(rrset.ttl)
            return _Final(AnswerStatus.RECORDS, rrset, cnames, targets, ttls)
        alias = _answer_rrset(response, current, _CNAME) if qtype != _CNAME else None
        if not alias:
            break
        target: dns.name.Name = alias[0].target
        if target in seen or target in targets:
            problem = f"a CNAME loop at {_host(target)}"
            return _Final(AnswerStatus.SERVFAIL, None, cnames, targets, ttls, problem=problem)
        if chain + len(cnames) >= MAX_CNAME_CHAIN:
            problem = f"a CNAME chain longer than {MAX_CNAME_CHAIN}"
            return _Final(AnswerStatus.SERVFAIL, None, cnames, targets, ttls, problem=problem)
        targets.append(target)
        cnames.append(_host(target))
        ttls.append(alias.ttl)
        current = target
    negative = _negative_ttl(response)
    if rcode == dns.rcode.NXDOMAIN:
        return _Final(AnswerStatus.NXDOMAIN, None, cnames, targets, ttls, negative)
    if negative is None and cnames:
        # The chain stops at a name the server did not resolve (an
        # authoritative server whose zones do not hold the target).
        return _Final(AnswerStatus.NODATA, None, cnames, targets, ttls, follow=current)
    if negative is None and _is_referral(response):
        problem = "a referral: it does not resolve names recursively"
        return _Final(AnswerStatus.SERVFAIL, None, cnames, targets, ttls, problem=problem)
    return _Final(AnswerStatus.NODATA, None, cnames, targets, ttls, negative)


class DNSResolver:
    """Answers questions from the real DNS, with dnspython; sync, batched and async.

    >>> resolver = DNSResolver(["192.0.2.53"], timeout=1.0, lifetime=3.0)
    >>> resolver.nameservers
    ('192.0.2.53',)

    With no ``nameservers`` it uses the system's configuration (on Unix,
    ``/etc/resolv.conf`` read by dnspython): its name servers, and its
    ``timeout`` option unless one is given here. Its ``search``, ``domain``
    and ``ndots`` settings are ignored: every name is asked as an absolute
    name.

    Each question goes to the name servers in order. A server that answers
    NOERROR or NXDOMAIN ends the question; one that answers SERVFAIL,
    REFUSED or something unusable is not asked that question again, and the
    next server is asked; one that does not answer within ``timeout`` is
    asked again in the next round, until ``lifetime`` runs out. A UDP answer
    with the TC bit is asked again over TCP.

    It implements :class:`~mxroute.Resolver`, :class:`~mxroute.BatchResolver`
    (UDP questions multiplexed in the calling thread; with ``tcp=True`` a
    small thread pool, created on first use, that :meth:`close` stops) and
    :class:`~mxroute.AsyncResolver`.

    Args:
        nameservers: IP addresses of recursive name servers (strings or
            :mod:`ipaddress` objects); the system's when None.
        port: The servers' port; 53 (or the system's) when None.
        timeout: Seconds to wait for one server's answer to one try.
        lifetime: Seconds allowed for one question over every try.
        tcp: Ask over TCP only.
        edns_payload: The EDNS UDP buffer size to advertise (512 to 65535);
            None sends no EDNS (plain 512-octet DNS).
        dnssec: Set the DNSSEC OK (DO) bit, and the AD bit on queries, so a
            validating resolver says whether it validated the answer; the AD
            bit of a response becomes :attr:`~mxroute.Answer.authenticated`.
            Needs EDNS.
        use_additional: Carry the A and AAAA records of MX exchanges found in
            an MX response's additional section in
            :attr:`~mxroute.Answer.additional`, so those questions are not asked.
        resolv_conf: Read the system configuration from this file instead
            of the platform's default (only when ``nameservers`` is None).
        max_workers: The most questions of one :meth:`query_batch` in flight
            at once (the threads of its pool with ``tcp=True``). The default,
            100, is the largest batch the default policy asks (50 hosts, A and
            AAAA), so a route waits for two round trips whatever its size.

    Raises:
        InvalidInput: An argument is wrong, or the system configuration names
            no server. ``.reason`` is one of ``invalid-nameserver``,
            ``no-nameservers``, ``invalid-port``, ``invalid-timeout``,
            ``invalid-lifetime``, ``invalid-edns-payload``,
            ``dnssec-needs-edns``, ``invalid-option`` or ``invalid-workers``.
    """

    def __init__(
        self,
        nameservers: Sequence[str | ipaddress.IPv4Address | ipaddress.IPv6Address] | None = None,
        *,
        port: int | None = None,
        timeout: float | None = None,
        lifetime: float | None = None,
        tcp: bool = False,
        edns_payload: int | None = DEFAULT_EDNS_PAYLOAD,
        dnssec: bool = False,
        use_additional: bool = True,
        resolv_conf: str | os.PathLike[str] | None = None,
        max_workers: int = 100,
    ) -> None:
        system_timeout = DEFAULT_TIMEOUT
        system_port = 53
        addresses: list[object]
        if nameservers is None:
            system, system_port, system_timeout = _system_configuration(resolv_conf)
            addresses = list(system)
        elif isinstance(nameservers, (str, bytes)) or not isinstance(nameservers, Sequence):
            raise _config_error(
                "invalid-nameserver",
                f"nameservers must be a list of IP addresses, not {nameservers!r}",
                nameservers,
            )
        else:
            addresses = list(nameservers)
        if not addresses:
            raise _config_error("no-nameservers", "at least one name server is needed")
        self.port = _port(system_port if port is None else port)
        """The servers' port."""
        self._servers = tuple(_server(a, self.port) for a in addresses)
        self.timeout = _seconds(system_timeout if timeout is None else timeout, "timeout")
        """Seconds to wait for one server's answer to one try."""
        self.lifetime = _seconds(DEFAULT_LIFETIME if lifetime is None else lifetime, "lifetime")
        """Seconds allowed for one question."""
        self.tcp = _flag(tcp, "tcp")
        """Whether every question goes over TCP."""
        self.dnssec = _flag(dnssec, "dnssec")
        """Whether queries set the DO bit."""
        self.use_additional = _flag(use_additional, "use_additional")
        """Whether address records of MX exchanges are taken from the additional section."""
        if edns_payload is not None and (
            isinstance(edns_payload, bool)
            or not isinstance(edns_payload, int)
            or not 512 <= edns_payload <= 65535
        ):
            raise _config_error(
                "invalid-edns-payload",
                f"edns_payload must be None or an integer 512 to 65535, not {edns_payload!r}",
                edns_payload,
            )
        if dnssec and edns_payload is None:
            raise _config_error(
                "dnssec-needs-edns", "dnssec=True needs EDNS: give an edns_payload, not None"
            )
        self.edns_payload = edns_payload
        """The EDNS UDP buffer size advertised, or None for no EDNS."""
        self._flags = dns.flags.RD | (dns.flags.AD if dnssec else 0)
        # The OPT pseudo-record (RFC 6891 §6.1.2): the root name, type OPT,
        # the buffer size as its class, extended RCODE 0, version 0, DO.
        self._opt = (
            b""
            if edns_payload is None
            else b"\x00"
            + _OPT.pack(dns.rdatatype.OPT, edns_payload, 0, 0, dns.flags.DO if dnssec else 0, 0)
        )
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise _config_error(
                "invalid-workers", f"max_workers must be a positive integer, not {max_workers!r}"
            )
        self.max_workers = max_workers
        """Questions of one :meth:`query_batch` in flight at once (threads with ``tcp=True``)."""
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def nameservers(self) -> tuple[str, ...]:
        """The name servers asked, in order."""
        return tuple(s.address for s in self._servers)

    def __repr__(self) -> str:
        return (
            f"DNSResolver({list(self.nameservers)!r}, port={self.port}, timeout={self.timeout}, "
            f"lifetime={self.lifetime}, tcp={self.tcp}, edns_payload={self.edns_payload}, "
            f"dnssec={self.dnssec}, use_additional={self.use_additional})"
        )

    # -- the three protocols -----------------------------------------------

    def query(self, name: str, rdtype: str) -> Answer:
        """Ask one question and wait for its answer.

        Args:
            name: An absolute name, e.g. ``"example.com"`` (a final dot is allowed).
            rdtype: A record type mnemonic, e.g. ``"MX"``.

        Returns:
            The answer; never raises for a DNS outcome.

        Raises:
            InvalidInput: ``name`` is not a DNS name (``invalid-name``) or
                ``rdtype`` is not a record type (``invalid-rdtype``).
        """
        resolution = self._resolution(name, rdtype)
        try:
            attempt = next(resolution)
            while True:
                attempt = resolution.send(_ask_tcp(attempt) if attempt.tcp else _ask_udp(attempt))
        except StopIteration as done:
            answer: Answer = done.value
            return answer

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """Ask one question in asyncio; the same as :meth:`query` otherwise."""
        resolution = self._resolution(name, rdtype)
        try:
            attempt = next(resolution)
            while True:
                ask = _ask_asyncquery if attempt.tcp else _ask_udp_async
                attempt = resolution.send(await ask(attempt))
        except StopIteration as done:
            answer: Answer = done.value
            return answer

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Ask several questions concurrently.

        Over UDP the questions are multiplexed in the calling thread: each
        one is sent as soon as it may start (at most :attr:`max_workers` at
        once), and the answers are read as they arrive, with the same
        servers, tries, timeouts, lifetime and TCP fallback as :meth:`query`.
        With ``tcp=True`` the questions run in a small thread pool.

        Returns:
            The answers in the questions' order.
        """
        if len(questions) <= 1:
            return [self.query(name, rdtype) for name, rdtype in questions]
        for name, rdtype in questions:  # bad input raises here, before anything is sent
            _qname(name)
            _qtype(rdtype)
        if not self.tcp:
            return self._multiplex(questions)
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = concurrent.futures.ThreadPoolExecutor(
                        max_workers=self.max_workers, thread_name_prefix="mxroute-dns"
                    )
                executor = self._executor
        futures = [executor.submit(self.query, name, rdtype) for name, rdtype in questions]
        return [future.result() for future in futures]

    def _multiplex(self, questions: Sequence[Question]) -> list[Answer]:
        """Resolve the questions in this thread, their UDP tries in flight together.

        Each question is one :meth:`_resolution` generator. A UDP try gets a
        socket of its own, registered with a selector until its answer comes
        or its timeout passes; a TCP try (after a truncated answer) is made
        at once, blocking, as :meth:`query` makes it.
        """
        answers: list[Answer | None] = [None] * len(questions)
        waiting = collections.deque(enumerate(questions))
        selector = selectors.DefaultSelector()
        flying: dict[socket.socket, _InFlight] = {}
        started: list[_Resolution] = []
        try:

            def advance(index: int, resolution: _Resolution, result: _Result | None) -> None:
                """Feed ``result`` in; send the next UDP try, or store the answer."""
                try:
                    attempt = next(resolution) if result is None else resolution.send(result)
                    while True:
                        if attempt.tcp:
                            attempt = resolution.send(_ask_tcp(attempt))
                            continue
                        server = attempt.server
                        sock = socket.socket(server.family, socket.SOCK_DGRAM)
                        try:
                            sock.setblocking(False)
                            sock.sendto(attempt.query.wire, server.destination)
                        except Exception as exc:
                            sock.close()
                            attempt = resolution.send(exc)
                            continue
                        expires = time.monotonic() + attempt.timeout
                        flying[sock] = _InFlight(index, resolution, attempt, expires)
                        selector.register(sock, selectors.EVENT_READ, sock)
                        return
                except StopIteration as done:
                    answers[index] = done.value

            while waiting or flying:
                while waiting and len(flying) < self.max_workers:
                    index, (name, rdtype) = waiting.popleft()
                    resolution = self._resolution(name, rdtype)
                    started.append(resolution)
                    advance(index, resolution, None)
                if not flying:
                    continue
                now = time.monotonic()
                wait = min(f.expires for f in flying.values()) - now
                for key, _ in selector.select(max(wait, 0.0)):
                    sock = key.data
                    result = _receive(sock, flying[sock].attempt)
                    if result is not None:
                        selector.unregister(sock)
                        sock.close()
                        landed = flying.pop(sock)
                        advance(landed.position, landed.resolution, result)
                now = time.monotonic()
                for sock, late in list(flying.items()):
                    if late.expires <= now:
                        # An answer that came while a TCP try blocked still counts.
                        result = _receive(sock, late.attempt)
                        if result is None:
                            result = _timeout()
                        selector.unregister(sock)
                        sock.close()
                        del flying[sock]
                        advance(late.position, late.resolution, result)
        finally:
            for sock in flying:
                sock.close()
            selector.close()
            for resolution in started:
                resolution.close()
        assert all(answer is not None for answer in answers)
        return answers  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the thread pool of :meth:`query_batch`, if it was started.

        The resolver stays usable; a later batch starts a new pool.
        """
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def __enter__(self) -> DNSResolver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the logic shared by the sync and the async paths ------------------

    def _make_query(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> _Query:
        """The query for ``(qname, qtype)``: RFC 1035 §4.1, with RFC 6891's OPT record.

        Written here rather than with :func:`dns.message.make_query` and
        ``to_wire``, which take several times longer to build the same few
        octets: the header (a random ID, RD, and AD with ``dnssec``), the
        question, and the OPT record made once in the constructor.
        """
        qid = secrets.randbits(16)
        header = _HEADER.pack(qid, self._flags, 1, 0, 0, 1 if self._opt else 0)
        name = cast(bytes, qname.to_wire())  # bytes when no file is given
        wire = b"".join((header, name, _QUESTION.pack(qtype, _IN), self._opt))
        return _Query(wire, qid, qname, qtype)

    def _resolution(self, name: str, rdtype: str) -> _Resolution:
        """Resolve one question: yields the messages to send, returns the answer.

        Each value sent back is the response to the last :class:`_Try`, or
        the exception sending it raised.
        """
        refuse_real_dns()  # inside the fake_dns fixture (mxroute.testing) nothing is sent
        qname = _qname(name)
        qtype, type_text = _qtype(rdtype)
        owner = normalize_host(name)
        deadline = time.monotonic() + self.lifetime
        cnames: list[str] = []
        ttls: list[int] = []
        seen = {qname}
        authenticated = True
        notes: list[str] = []
        current = qname
        while True:
            outcome = yield from self._ask(current, qtype, deadline, notes, seen, len(cnames))
            if isinstance(outcome, _Failure):
                return Answer(
                    owner,
                    type_text,
                    outcome.status,
                    cnames=[*cnames, *outcome.cnames],
                    detail="; ".join(notes),
                )
            final, response, server_label, rcode_text = outcome
            authenticated = authenticated and bool(response.flags & dns.flags.AD)
            cnames.extend(final.cnames)
            ttls.extend(final.ttls)
            seen.update(final.targets)
            if final.follow is not None:
                # The answer stops at a CNAME whose target the server did not
                # resolve (an authoritative server outside its zones): ask it.
                notes.append(f"{server_label} answered CNAME {cnames[-1]}")
                current = final.follow
                continue
            notes.append(f"{server_label} answered {rcode_text}")
            detail = "; ".join(notes)
            if final.status is AnswerStatus.RECORDS:
                assert final.rrset is not None
                return Answer(
                    owner,
                    type_text,
                    AnswerStatus.RECORDS,
                    records=_values(final.rrset),
                    ttl=min(ttls) if ttls else None,
                    cnames=cnames,
                    authenticated=authenticated,
                    additional=self._glue(response, final.rrset, authenticated)
                    if qtype == _MX and self.use_additional
                    else (),
                    detail=detail,
                )
            negative = [*ttls, final.negative_ttl] if final.negative_ttl is not None else ttls
            return Answer(
                owner,
                type_text,
                final.status,
                ttl=min(negative) if negative else None,
                cnames=cnames,
                authenticated=authenticated,
                detail=detail,
            )

    def _ask(
        self,
        qname: dns.name.Name,
        qtype: dns.rdatatype.RdataType,
        deadline: float,
        notes: list[str],
        seen: set[dns.name.Name],
        chain: int,
    ) -> Generator[_Try, _Result, tuple[_Final, dns.message.Message, str, str] | _Failure]:
        """Ask the servers in turn until one gives a usable NOERROR or NXDOMAIN answer.

        Returns that answer interpreted, the response, the server's label and
        the response code's mnemonic;
        or, when no server gave a usable answer, a :class:`_Failure`. Appends
        what each server did to ``notes``.
        """
        query = self._make_query(qname, qtype)
        servers = list(self._servers)
        failures: list[AnswerStatus] = []
        partial: list[str] = []
        while servers:
            for server in tuple(servers):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                timeout = min(self.timeout, remaining)
                result = yield _Try(query, server, self.tcp, timeout)
                if isinstance(result, dns.message.Truncated):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        notes.append(
                            f"{server.label} truncated the UDP answer; no time left for TCP"
                        )
                        break
                    notes.append(f"{server.label} truncated the UDP answer; asked again over TCP")
                    timeout = min(self.timeout, remaining)
                    result = yield _Try(query, server, True, timeout)
                if isinstance(result, dns.message.Message):
                    rcode = result.rcode()
                    rcode_text = _FINAL_RCODES.get(rcode)
                    if rcode_text is not None:
                        final = _interpret(result, rcode, qname, qtype, seen, chain)
                        if not final.problem:
                            return final, result, server.label, rcode_text
                        failures.append(AnswerStatus.SERVFAIL)
                        partial = final.cnames
                        notes.append(f"{server.label} answered with {final.problem}")
                    else:
                        failures.append(
                            AnswerStatus.REFUSED
                            if rcode == dns.rcode.REFUSED
                            else AnswerStatus.SERVFAIL
                        )
                        notes.append(f"{server.label} answered {dns.rcode.to_text(rcode)}")
                    servers.remove(server)
                elif isinstance(result, dns.exception.Timeout):
                    notes.append(f"{server.label}: no answer within {timeout:.3g} s")
                elif isinstance(result, (OSError, EOFError)):
                    # Unreachable, or the connection closed: no answer, and no
                    # point in asking this server again at once.
                    notes.append(f"{server.label}: no answer ({_why(result)})")
                    servers.remove(server)
                else:
                    failures.append(AnswerStatus.SERVFAIL)
                    notes.append(f"{server.label} sent an unusable answer ({_why(result)})")
                    servers.remove(server)
            else:
                continue
            break  # the lifetime ran out
        if AnswerStatus.SERVFAIL in failures:
            return _Failure(AnswerStatus.SERVFAIL, partial)
        if failures:
            return _Failure(AnswerStatus.REFUSED, [])
        if servers:
            notes.append(f"lifetime of {self.lifetime:.3g} s used up")
        return _Failure(AnswerStatus.TIMEOUT, [])

    def _glue(
        self, response: dns.message.Message, rrset: dns.rrset.RRset, authenticated: bool
    ) -> list[Answer]:
        exchanges = {rdata.exchange for rdata in rrset if rdata.exchange != dns.name.root}
        glue = []
        for extra in response.additional:
            kind = _ADDRESS_TYPES.get(extra.rdtype)
            if kind is not None and extra.rdclass == _IN and extra.name in exchanges and extra:
                glue.append(
                    Answer(
                        _host(extra.name),
                        kind,
                        AnswerStatus.RECORDS,
                        records=_values(extra),
                        ttl=extra.ttl,
                        authenticated=authenticated,
                    )
                )
        return glue


class _InFlight(NamedTuple):
    """A UDP try of :meth:`DNSResolver.query_batch` waiting for its answer."""

    position: int
    """The question's position in the batch."""
    resolution: _Resolution
    attempt: _Try
    expires: float
    """The :func:`time.monotonic` time at which the try has timed out."""


def _receive(sock: socket.socket, attempt: _Try) -> _Result | None:
    """Read one datagram from a non-blocking socket, as :func:`dns.query.udp` reads it.

    Returns the response (or the exception reading it raised), or None when
    there is nothing to read yet or the datagram came from another address
    (``ignore_unexpected``).
    """
    try:
        wire, source = sock.recvfrom(65535)
    except BlockingIOError:
        return None
    except Exception as exc:
        return exc
    return _response(wire, source, attempt)


def _response(wire: bytes, source: tuple[object, ...], attempt: _Try) -> _Result | None:
    """The datagram ``wire`` from ``source`` as the response to ``attempt``.

    None when it came from another address than the server's (it is ignored,
    as ``ignore_unexpected`` ignores it); the exception for a datagram that
    is not a well-formed response to the query (``Truncated`` for the TC bit).
    """
    server = attempt.server
    if source[1] != server.port or socket.inet_pton(server.family, str(source[0])) != server.packed:
        return None
    try:
        response = dns.message.from_wire(wire, raise_on_truncation=True)
    except Exception as exc:
        return exc
    if not _is_response(attempt.query, response):
        return dns.query.BadResponse()  # type: ignore[no-untyped-call]
    return response


def _is_response(query: _Query, response: dns.message.Message) -> bool:
    """Whether ``response`` answers ``query``, as :meth:`dns.message.Message.is_response` says.

    The QR bit, the same ID, opcode QUERY, and the question echoed (which an
    error response may leave out).
    """
    if (
        not response.flags & dns.flags.QR
        or response.id != query.id
        or dns.opcode.from_flags(response.flags) != dns.opcode.QUERY
    ):
        return False
    question = response.question
    if not question:
        return response.rcode() in _CHECKED_QUESTION_RCODES
    return all(
        asked.rdtype == query.rdtype
        and asked.rdclass == _IN
        and asked.name == query.name  # absolute, compared without case
        for asked in question
    )


def _ask_udp(attempt: _Try) -> _Result:
    """Make one UDP try, blocking: send the query, wait for the server's response.

    A socket of its own with a plain timeout, rather than :func:`dns.query.udp`,
    which costs a selector per wait; dnspython parses the response all the same.
    """
    server = attempt.server
    expires = time.monotonic() + attempt.timeout
    try:
        sock = socket.socket(server.family, socket.SOCK_DGRAM)
    except Exception as exc:
        return exc
    with sock:
        try:
            sock.settimeout(attempt.timeout)
            sock.sendto(attempt.query.wire, server.destination)
            while True:
                remaining = expires - time.monotonic()
                if remaining <= 0:
                    return _timeout()
                sock.settimeout(remaining)
                try:
                    wire, source = sock.recvfrom(65535)
                except TimeoutError:
                    return _timeout()
                result = _response(wire, source, attempt)
                if result is not None:
                    return result
        except Exception as exc:
            return exc


async def _ask_udp_async(attempt: _Try) -> _Result:
    """Make one UDP try in asyncio: the socket is watched by the event loop.

    A plain non-blocking socket, a reader callback and a timer, rather than
    :func:`dns.asyncquery.udp`, which builds a datagram transport per query.
    An event loop that cannot watch sockets (the proactor loop of Windows)
    gets :func:`dns.asyncquery.udp`.
    """
    loop = asyncio.get_running_loop()
    server = attempt.server
    try:
        sock = socket.socket(server.family, socket.SOCK_DGRAM)
    except Exception as exc:
        return exc
    with sock:
        try:
            sock.setblocking(False)
            landed: asyncio.Future[_Result] = loop.create_future()

            def readable() -> None:
                result = _receive(sock, attempt)
                if result is not None and not landed.done():
                    landed.set_result(result)

            def late() -> None:
                if not landed.done():
                    landed.set_result(_timeout())

            fd = sock.fileno()  # not the socket: asyncio would format its repr in a KeyError
            try:
                loop.add_reader(fd, readable)
            except NotImplementedError:
                return await _ask_asyncquery(attempt)
            timer = loop.call_later(attempt.timeout, late)
            try:
                sock.sendto(attempt.query.wire, server.destination)
                return await landed
            finally:
                timer.cancel()
                loop.remove_reader(fd)
        except Exception as exc:
            return exc


async def _ask_asyncquery(attempt: _Try) -> _Result:
    """Make one try with :mod:`dns.asyncquery`: every TCP try, and UDP tries on
    event loops that cannot watch sockets."""
    query, server = attempt.query.message(), attempt.server
    try:
        if attempt.tcp:
            return await dns.asyncquery.tcp(
                query, server.address, timeout=attempt.timeout, port=server.port
            )
        return await dns.asyncquery.udp(
            query,
            server.address,
            timeout=attempt.timeout,
            port=server.port,
            ignore_unexpected=True,
            raise_on_truncation=True,
        )
    except Exception as exc:
        return exc


def _timeout() -> Exception:
    return dns.exception.Timeout()  # type: ignore[no-untyped-call]


def _ask_tcp(attempt: _Try) -> _Result:
    """Make one TCP try, as :meth:`DNSResolver.query` makes it."""
    try:
        return dns.query.tcp(
            attempt.query.message(),
            attempt.server.address,
            timeout=attempt.timeout,
            port=attempt.server.port,
        )
    except Exception as exc:
        return exc


def _system_configuration(
    resolv_conf: str | os.PathLike[str] | None,
) -> tuple[list[str], int, float]:
    """The system's name servers, port and timeout (never its search list)."""
    try:
        if resolv_conf is None:
            system = dns.resolver.Resolver(configure=True)
        else:
            system = dns.resolver.Resolver(configure=False)
            system.read_resolv_conf(os.fspath(resolv_conf))
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise _config_error(
            "no-nameservers", f"the system resolver configuration names no server: {exc}"
        ) from None
    addresses = []
    for server in system.nameservers:
        text = server if isinstance(server, str) else getattr(server, "address", None)
        if isinstance(text, str):
            try:
                ipaddress.ip_address(text)
            except ValueError:
                continue
            addresses.append(text)
    return addresses, system.port, float(system.timeout)
