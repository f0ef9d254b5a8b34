"""The CPU of one DNS question, from building the query to the Answer, without sockets.

The bulk workload of ``benchmarks/bulk_dns.py`` (its ``bulk`` zone, served by
BIND 9 with ``minimal-responses yes``) is asked once over UDP to capture the
responses, as mxroute asks them: MX for every domain, then A and AAAA for
every host (an implicit MX's domain, or an exchange). The questions come in
the bulk shapes: MX with two hosts, A, AAAA, NXDOMAIN with the SOA, NODATA
with the SOA.

Then, with no socket and no clock, each question's resolution generator
(``mxroute._resolvers.dns._resolution.resolution``, which every driver runs)
is driven with its captured response: the query is built, the datagram read
(:func:`~mxroute._resolvers.dns._wire.read_datagram`) and the Answer made.
The figure is microseconds of CPU per question, per shape and for the whole
mix: the questions are timed 100 at a time, each batch the best of
``--repeats`` runs (the shortest runs are those no other process
interrupted). Names repeat from one run to the next, as hosts do in bulk
work; ``--cold`` empties mxroute's name caches before each run.

Run ``.venv/bin/python benchmarks/answer_path.py`` (``--smoke`` for tiny
sizes, used by the test that keeps this file from rotting; its figures mean
nothing). ``--json`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import socket
import sys
import time
from typing import NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
# The imports below need the sys.path entries just added (hence noqa: E402).

import dns.message  # noqa: E402
from bulk_dns import workload  # noqa: E402

import mxroute  # noqa: E402
from mxroute._resolvers.dns import _lean, _wire  # noqa: E402
from mxroute._resolvers.dns._config import Settings  # noqa: E402
from mxroute._resolvers.dns._resolution import Reply, resolution  # noqa: E402
from tests.bindserver import BindServer  # noqa: E402

QID = 0x1234


class Case(NamedTuple):
    """One question and the response BIND gave to it."""

    name: str
    rdtype: str
    shape: str
    wire: bytes


def settings(port: int) -> Settings:
    """The settings of ``DNSResolver(["127.0.0.1"], port=port)``."""
    return mxroute.DNSResolver(["127.0.0.1"], port=port)._settings


def _ask(port: int, query: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5.0)
        sock.sendto(query, ("127.0.0.1", port))
        wire, _ = sock.recvfrom(65535)
    return wire


def _shape(rdtype: str, wire: bytes) -> str:
    message = dns.message.from_wire(wire)
    if message.rcode() == dns.rcode.NXDOMAIN:
        return "NXDOMAIN+SOA"
    if not message.answer:
        return "NODATA+SOA"
    if rdtype == "MX":
        count = sum(len(rrset) for rrset in message.answer)
        return f"MX x{count}"
    return rdtype


def capture(domains: int) -> tuple[Settings, list[Case]]:
    """Ask BIND every question of the bulk workload of ``domains`` domains; the responses."""
    zone, shapes = workload(domains)
    cases = []
    with BindServer({"bulk": zone}, minimal_responses=True) as server:
        config = settings(server.port)
        asked: set[tuple[str, str]] = set()

        def ask(name: str, rdtype: str) -> dns.message.Message:
            questioning = resolution(config, name, rdtype, 0.0, lambda: QID)
            wire = _ask(server.port, next(questioning).query.wire)
            if (name, rdtype) not in asked:
                asked.add((name, rdtype))
                cases.append(Case(name, rdtype, _shape(rdtype, wire), wire))
            return dns.message.from_wire(wire)

        for shape in shapes:
            message = ask(shape.name, "MX")
            hosts = [
                rdata.exchange.to_text(omit_final_dot=True)
                for rrset in message.answer
                for rdata in rrset
                if rdata.exchange != dns.name.root
            ]
            if not message.answer and message.rcode() == dns.rcode.NOERROR:
                hosts = [shape.name]
            for host in hosts:
                ask(host, "A")
                ask(host, "AAAA")
    return config, cases


def _clear() -> None:
    """Empty every name cache of the answer path (for ``--cold``)."""
    for module in (_wire, _lean):
        clear = getattr(module, "clear_caches", None)
        if clear is not None:
            clear()
    _wire._parse_name.cache_clear()


def answer(config: Settings, case: Case) -> mxroute.Answer:
    """Drive one question's resolution with its captured response: its Answer."""
    questioning = resolution(config, case.name, case.rdtype, 0.0, lambda: QID)
    attempt = next(questioning)
    result = _wire.read_datagram(case.wire, attempt.query)
    try:
        questioning.send(Reply(result, 0.001))  # type: ignore[arg-type]
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError(f"{case} asked a second try")


CHUNK = 100
"""Questions timed together: the best of many short runs leaves out the moments
another process had the core."""


def _best(config: Settings, cases: list[Case], repeats: int, cold: bool) -> float:
    """The best CPU seconds of ``repeats`` runs over ``cases``, summed over chunks of them."""
    total = 0.0
    for first in range(0, len(cases), CHUNK):
        chunk = cases[first : first + CHUNK]
        best = float("inf")
        for _ in range(repeats):
            if cold:
                _clear()
            start = time.process_time()
            for case in chunk:
                answer(config, case)
            best = min(best, time.process_time() - start)
        total += best
    return total


def measure(config: Settings, cases: list[Case], repeats: int, cold: bool) -> dict[str, float]:
    """Microseconds of CPU per question: ``"all"`` (the workload's mix), then each shape."""
    figures = {}
    total = 0.0
    for shape in sorted({case.shape for case in cases}):
        selected = [case for case in cases if case.shape == shape]
        seconds = _best(config, selected, repeats, cold)
        total += seconds
        figures[shape] = seconds / len(selected) * 1e6
    return {"all": total / len(cases) * 1e6, **figures}


def main(argv: list[str] | None = None) -> int:
    """Capture, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--cold", action="store_true", help="empty the name caches each pass")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (for the test)")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if options.smoke:
        options.domains, options.repeats = 40, 1
    config, cases = capture(options.domains)
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.shape] = counts.get(case.shape, 0) + 1
    figures = measure(config, cases, options.repeats, options.cold)
    if options.json:
        print(json.dumps({"questions": len(cases), "counts": counts, "us_per_question": figures}))
        return 0
    print(f"{len(cases)} questions, best of {options.repeats}{' (cold)' if options.cold else ''}")
    print(f"{'shape':<14} {'questions':>9} {'us/question':>12}")
    for shape, figure in figures.items():
        count = len(cases) if shape == "all" else counts[shape]
        print(f"{shape:<14} {count:>9} {figure:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
