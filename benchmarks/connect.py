"""Time to the first connected, greeted socket when the first address is dead.

Real sockets on loopback (``tests/mailservers.py``): an aiosmtpd sink on
127.0.0.2 takes the mail; the first address of each route is dead in one
way:

* *refused*: nothing listens there (127.0.0.4): the kernel answers RST;
* *silent*: a listener that accepts TCP and never greets (127.0.0.5);
* *blackhole*: SYNs are dropped (127.0.0.6), as a firewall that drops packets;
* *silent IPv6 first*: one host with a blackholed ``::1`` and the sink's IPv4
  address, the broken-IPv6 case Happy Eyeballs is for. (On a machine without
  ``::1`` this row runs on :class:`mxroute.testing.FakeNetwork` instead,
  with ``time_out`` for the IPv6 address, and says so.)

Side by side in one run: :func:`mxroute.connect` and the baseline, a naive
sequential loop that tries ``route.attempts()`` one after the other with
``smtplib.SMTP(address, port, timeout=T)`` (connect and read the greeting).
Both get the same per-attempt timeout ``T`` for the TCP connect and for the
greeting. The routes come from an :class:`~mxroute.InMemoryResolver` (no
DNS); the sinks listen on one free port, which a transport map gives every
host (port 25 needs root).

Each figure is the median of ``--repeat`` runs. ``--smoke`` uses a short
timeout and one run, for the test that keeps this file from rotting; its
figures mean nothing. ``--json`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mxroute  # noqa: E402
from mxroute.testing import FakeNetwork  # noqa: E402
from tests.mailservers import (  # noqa: E402
    Blackhole,
    Silent,
    Sink,
    common_port,
    has_ipv6_loopback,
)

SINK, REFUSED, SILENT, BLACKHOLE = "127.0.0.2", "127.0.0.4", "127.0.0.5", "127.0.0.6"
ZONE = f"""
$ORIGIN bench.example.
$TTL 300
@            SOA  ns hostmaster 1 7200 900 1209600 60
refused      MX   10 mx1.refused
             MX   20 mx2
silent       MX   10 mx1.silent
             MX   20 mx2
blackhole    MX   10 mx1.blackhole
             MX   20 mx2
six          MX   10 mx.six
mx1.refused  A    {REFUSED}
mx1.silent   A    {SILENT}
mx1.blackhole A   {BLACKHOLE}
mx2          A    {SINK}
mx.six       AAAA ::1
mx.six       A    {SINK}
"""
STAGGER = 0.25
"""RFC 8305's Connection Attempt Delay, connect's default, given explicitly."""
CASES = [
    ("refused", "refused.bench.example"),
    ("silent", "silent.bench.example"),
    ("blackhole", "blackhole.bench.example"),
    ("silent IPv6 first", "six.bench.example"),
]


def routes(port: int) -> dict[str, mxroute.MailRoute]:
    """The route of each case; every host on ``port`` (a transport map), loopback allowed."""
    domains = [domain for _, domain in CASES]
    policy = mxroute.RoutingPolicy(
        address_scope="any", transport_map={d: f"{d}:{port}" for d in domains}
    )
    router = mxroute.Router(resolver=mxroute.InMemoryResolver.from_zone(ZONE), policy=policy)
    return {domain: router.resolve(domain) for domain in domains}


def naive(route: mxroute.MailRoute, timeout: float, network: FakeNetwork | None = None) -> str:
    """The baseline: each attempt in turn, smtplib connecting and reading the greeting."""
    for host, address in route.attempts():
        try:
            if network is None:
                client = smtplib.SMTP(str(address), host.port, timeout=timeout)
            else:  # the same over the fake network: connect, then read the greeting
                client = smtplib.SMTP(timeout=timeout)
                client.sock = network.open_connection(address, host.port, timeout)
                code, text = client.getreply()
                if code != 220:
                    client.close()
                    raise smtplib.SMTPConnectError(code, text)
        except (OSError, smtplib.SMTPException):
            continue
        client.close()
        return str(address)
    raise RuntimeError("every attempt failed")


def with_connect(
    route: mxroute.MailRoute, timeout: float, network: FakeNetwork | None = None
) -> str:
    """mxroute.connect: the plan, Happy Eyeballs within a tier, the greeting checked."""
    with mxroute.connect(
        route,
        connector=network,
        attempt_timeout=timeout,
        greeting_timeout=timeout,
        stagger=STAGGER,
    ) as connection:
        return str(connection.address)


def median_seconds(
    run: Callable[..., str], args: tuple[Any, ...], repeat: int
) -> tuple[float, str]:
    """The median wall time of ``repeat`` calls ``run(*args)``, and what the last one reached."""
    times = []
    reached = ""
    for _ in range(repeat):
        started = time.perf_counter()
        reached = run(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times), reached


def round_trip(port: int, repeat: int = 20) -> float:
    """The median time of a TCP connect to the sink: one round trip on loopback."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        socket.create_connection((SINK, port), timeout=5).close()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def lab(port: int, six: bool) -> Iterator[None]:
    """The servers on loopback: the sink, the silent listener, the blackholes."""
    with ExitStack() as stack:
        stack.enter_context(Sink(SINK, port, "mx2.bench.example"))
        stack.enter_context(Silent(SILENT, port))
        stack.enter_context(Blackhole(BLACKHOLE, port))
        if six:
            stack.enter_context(Blackhole("::1", port))
        yield


def measure(timeout: float, repeat: int) -> list[dict[str, Any]]:
    """One row per case: mxroute.connect and the naive loop, side by side."""
    six = has_ipv6_loopback()
    port = common_port([SINK, REFUSED, SILENT, BLACKHOLE] + (["::1"] if six else []))
    by_domain = routes(port)
    rows = []
    with lab(port, six), FakeNetwork() as fake:
        fake.time_out("::1")  # for the IPv6 case on a machine without ::1
        fake.accept(SINK)
        for case, domain in CASES:
            route = by_domain[domain]
            network = fake if case.startswith("silent IPv6") and not six else None
            ours, reached = median_seconds(with_connect, (route, timeout, network), repeat)
            base, base_reached = median_seconds(naive, (route, timeout, network), repeat)
            rows.append(
                {
                    "case": case + (" (FakeNetwork: no ::1 here)" if network else ""),
                    "timeout_s": timeout,
                    "connect_s": round(ours, 4),
                    "naive_s": round(base, 4),
                    "ratio": round(ours / base, 3),
                    "connect_reached": reached,
                    "naive_reached": base_reached,
                }
            )
        rtt = round_trip(port)
    rows[-1]["happy_eyeballs_target_s"] = round(STAGGER + rtt, 4)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure, then print a Markdown table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="short timeout; figures mean nothing")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--timeout", type=float, default=2.0, help="per-attempt timeout T (s)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    args = parser.parse_args(argv)
    timeout, repeat = (0.4, 1) if args.smoke else (args.timeout, args.repeat)
    rows = measure(timeout, repeat)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"per-attempt timeout T = {timeout:g} s, stagger {STAGGER:g} s, median of {repeat} run(s)"
    )
    print()
    print("| first address | mxroute.connect (s) | naive smtplib loop (s) | ratio | reached |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['case']} | {row['connect_s']:.4f} | {row['naive_s']:.4f} "
            f"| {row['ratio']:.3f} | {row['connect_reached']} |"
        )
    he = rows[-1]
    print()
    print(
        f"Happy Eyeballs, silent IPv6 first: connected after {he['connect_s']:.3f} s; "
        f"target 1 stagger + 1 RTT = {he['happy_eyeballs_target_s']:.4f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
