"""The benchmark's zones and its baselines: what mxroute is measured against.

* :func:`fanout_zone`: ``h1.bench``, ``h5.bench`` and ``h30.bench`` with 1, 5
  and 30 MX hosts, each host with one A and one AAAA record.
* :func:`bulk_zone`: ``d0.bulk`` ... with 1 to 3 MX hosts each (a fixed
  pseudo-random mix), each host with an A and an AAAA record, all names
  distinct so that no cache can share work between domains.
* :func:`naive_route`: the baseline a careful script would write with
  dnspython's stub resolver: ask MX, then A and AAAA host by host, in order.
* :func:`raw_replay` / :func:`raw_replay_async`: send a given list of
  questions with dnspython's message-level functions and nothing else.
* :func:`bare_replay`: the floor under both: pre-built queries, one blocking
  socket each, the response parsed by dnspython.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
from collections.abc import Sequence

import dns.asyncquery
import dns.message
import dns.query
import dns.rdatatype
import dns.resolver

ADDRESS = "127.0.0.1"
EDNS_PAYLOAD = 1232
SOA = (
    "@ 3600 IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 300\n"
    "@ IN NS ns\n"
    "ns IN A 127.0.0.1\n"
)

V4_BASE = ipaddress.IPv4Address("198.18.0.0")  # RFC 2544 benchmarking range
V6_BASE = ipaddress.IPv6Address("2001:db8::")  # RFC 3849 documentation range

FANOUTS = (1, 5, 30)


def _host_lines(owner: str, index: int) -> str:
    return f"{owner} IN A {V4_BASE + index}\n{owner} IN AAAA {V6_BASE + index}\n"


def fanout_zone(fanouts: Sequence[int] = FANOUTS) -> str:
    """The ``bench`` zone: ``h<n>.bench`` with n MX hosts ``m<i>.h<n>.bench``."""
    lines = ["$TTL 3600\n", SOA.format(origin="bench")]
    index = 1
    for n in fanouts:
        for i in range(1, n + 1):
            lines.append(f"h{n} IN MX {10 * i} m{i}.h{n}\n")
            lines.append(_host_lines(f"m{i}.h{n}", index))
            index += 1
    return "".join(lines)


def bulk_domains(count: int) -> list[str]:
    """``d0.bulk`` ... ``d<count-1>.bulk``."""
    return [f"d{i}.bulk" for i in range(count)]


def bulk_hosts(count: int, seed: int = 2026) -> list[int]:
    """How many MX hosts each bulk domain has (1 to 3, fixed by ``seed``)."""
    rng = random.Random(seed)
    return [rng.randint(1, 3) for _ in range(count)]


def bulk_zone(count: int) -> str:
    """The ``bulk`` zone: ``count`` domains with 1 to 3 distinct MX hosts each."""
    lines = ["$TTL 3600\n", SOA.format(origin="bulk")]
    index = 1
    for i, hosts in enumerate(bulk_hosts(count)):
        for h in range(1, hosts + 1):
            lines.append(f"d{i} IN MX {10 * h} mx{h}.d{i}\n")
            lines.append(_host_lines(f"mx{h}.d{i}", index))
            index += 1
    return "".join(lines)


def naive_resolver(port: int) -> dns.resolver.Resolver:
    """The baseline: dnspython's stub resolver on 127.0.0.1:``port``.

    It has no cache, and sends EDNS as mxroute does.
    """
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [ADDRESS]
    resolver.port = port
    resolver.use_edns(0, 0, EDNS_PAYLOAD)
    resolver.timeout = 2.0
    resolver.lifetime = 5.0
    return resolver


def naive_route(resolver: dns.resolver.Resolver, domain: str) -> list[tuple[str, list[str]]]:
    """MX, then A and AAAA host by host: ``[(host, [addresses])]`` in preference order."""
    answer = resolver.resolve(domain + ".", "MX", search=False)
    hosts = sorted(answer, key=lambda mx: mx.preference)
    route = []
    for mx in hosts:
        addresses = []
        for rdtype in ("A", "AAAA"):
            with contextlib.suppress(dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
                addresses += [r.address for r in resolver.resolve(mx.exchange, rdtype)]
        route.append((mx.exchange.to_text(), addresses))
    return route


def _query(name: str, rdtype: str) -> dns.message.Message:
    return dns.message.make_query(
        name + ".", dns.rdatatype.from_text(rdtype), use_edns=0, payload=EDNS_PAYLOAD
    )


def raw_replay(questions: Sequence[tuple[str, str]], port: int) -> int:
    """Send each question in turn with :func:`dns.query.udp`; the number of answers."""
    answered = 0
    for name, rdtype in questions:
        response = dns.query.udp(
            _query(name, rdtype),
            ADDRESS,
            timeout=2.0,
            port=port,
            ignore_unexpected=True,
            raise_on_truncation=True,
        )
        answered += len(response.answer) > 0
    return answered


def wires(questions: Sequence[tuple[str, str]]) -> list[bytes]:
    """The questions as queries in wire format, built once (for :func:`bare_replay`)."""
    return [_query(name, rdtype).to_wire() for name, rdtype in questions]


def bare_replay(queries: Sequence[bytes], port: int) -> int:
    """The least a program can do for these queries; returns how many were answered.

    Each pre-built query is sent from a blocking socket of its own, one datagram
    is read, and dnspython parses it.
    """
    answered = 0
    for wire in queries:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(2.0)
            sock.sendto(wire, (ADDRESS, port))
            response = dns.message.from_wire(sock.recv(65535), raise_on_truncation=True)
        answered += len(response.answer) > 0
    return answered


async def raw_replay_async(
    questions: Sequence[tuple[str, str]], port: int, concurrency: int
) -> int:
    """Send the questions with :func:`dns.asyncquery.udp`, ``concurrency`` at a time."""
    pending = iter(questions)
    answered = 0

    async def work() -> None:
        nonlocal answered
        for name, rdtype in pending:
            response = await dns.asyncquery.udp(
                _query(name, rdtype),
                ADDRESS,
                timeout=2.0,
                port=port,
                ignore_unexpected=True,
                raise_on_truncation=True,
            )
            answered += len(response.answer) > 0

    await asyncio.gather(*(work() for _ in range(concurrency)))
    return answered
