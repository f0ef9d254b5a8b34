"""Transport security costs no sequential DNS round trip: counted at the latency proxy.

A route to a domain with two MX hosts, DANE TLSA records and an MTA-STS
policy, through :class:`~latency_proxy.LatencyProxy` in front of a real
validating BIND 9 (a recursive ``named`` forwarding to an authoritative one
that serves the zone signed; minimal responses, so no glue: two batches).
Cases: transport security off; DANE; MTA-STS with a cold policy cache (the
policy is fetched) and with a warm one; both together. The policy fetch is
simulated by a fetcher that sleeps ``2 * delay`` (no network): it shows
whether the fetch overlaps the address batch.

For each case the table gives the sequential DNS round trips the proxy saw
(the longest chain of dependent queries, :func:`sequential_round_trips`),
the fetches, the hosts' TLS levels (so the case is seen to apply), and the
median time of one route against the same route with everything off.

Usage: ``python benchmarks/transport_rtt.py [--smoke]``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
# The imports below need the sys.path entries just added (hence noqa: E402).

from latency_proxy import LatencyProxy, sequential_round_trips  # noqa: E402

import mxroute  # noqa: E402
from tests.bindserver import BindServer, sign_zone  # noqa: E402

ZONE = """\
$ORIGIN rtt.bench.
$TTL 3600
@        SOA ns hostmaster 1 7200 900 1209600 300
@        NS  ns
ns       A   192.0.2.53
@        MX  10 mx1
@        MX  20 mx2
mx1      A   192.0.2.1
mx2      A   192.0.2.2
_25._tcp.mx1 TLSA 3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6
_25._tcp.mx2 TLSA 3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6
_mta-sts TXT "v=STSv1; id=20261202;"
mta-sts  A   192.0.2.80
"""
DOMAIN = "rtt.bench"
POLICY = "version: STSv1\nmode: enforce\nmx: *.rtt.bench\nmax_age: 86400\n"


class SleepingFetcher:
    """A policy fetcher that takes ``seconds`` (as an HTTPS fetch would) and counts fetches."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fetches = 0

    def fetch_policy(
        self,
        domain: str,  # noqa: ARG002 - the protocol's arguments; one policy for all
        addresses: Sequence[object],  # noqa: ARG002 - nothing is contacted
        timeout: float,  # noqa: ARG002 - the sleep is shorter than any timeout here
    ) -> mxroute.PolicyResponse:
        """Sleep as a fetch over HTTPS would take, then return the policy."""
        self.fetches += 1
        time.sleep(self.seconds)
        return mxroute.PolicyResponse(POLICY, None)


def _counted(
    log: pathlib.Path, route: Callable[[], mxroute.MailRoute]
) -> tuple[int, float, mxroute.MailRoute]:
    """The sequential round trips the proxy logged for one ``route()``, its time, the route."""
    start = log.stat().st_size
    began = time.perf_counter()
    result = route()
    took = time.perf_counter() - began
    with log.open() as lines:
        lines.seek(start)
        return sequential_round_trips(lines.readlines()), took, result


CASES = (
    ("off", {}, False),
    ("DANE", {"dane": True}, False),
    ("MTA-STS, policy fetched", {"mta_sts": True}, False),
    ("MTA-STS, policy cached", {"mta_sts": True}, True),
    ("MTA-STS + DANE, policy fetched", {"mta_sts": True, "dane": True}, False),
    ("MTA-STS + DANE, policy cached", {"mta_sts": True, "dane": True}, True),
)
"""Each case: its name, the RoutingPolicy options, whether the policy cache starts warm."""


def measure(delay: float, repeats: int) -> list[tuple[str, int, float, int, str]]:
    """Each case: (name, sequential round trips, median seconds, fetches, TLS levels)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="mxroute-rtt-") as scratch:
        signed, anchor = sign_zone(ZONE, DOMAIN, scratch)
        with (
            BindServer({DOMAIN: signed}, minimal_responses=True) as authoritative,
            BindServer(
                {},
                recursion=True,
                dnssec_validation=True,
                forward_to=authoritative.port,
                config=anchor,
                minimal_responses=True,
            ) as recursive,
            LatencyProxy(
                recursive.port, delay, max_seconds=300, log=os.path.join(scratch, "proxy.log")
            ) as proxy,
        ):
            log = pathlib.Path(scratch, "proxy.log")
            log.touch()
            resolver = mxroute.DNSResolver(["127.0.0.1"], port=proxy.port, dnssec=True)
            mxroute.Router(resolver, mxroute.RoutingPolicy(dane=True)).resolve(DOMAIN)  # warm
            for name, options, warm in CASES:
                policy = mxroute.RoutingPolicy(**options)  # type: ignore[arg-type]
                trips, times, fetches, levels = 0, [], 0, ""
                warm_cache = mxroute.MemoryPolicyCache()
                for _ in range(repeats):
                    fetcher = SleepingFetcher(2 * delay)
                    cache = warm_cache if warm else mxroute.MemoryPolicyCache()
                    router = mxroute.Router(
                        resolver, policy, policy_fetcher=fetcher, policy_cache=cache
                    )
                    if warm:
                        router.resolve(DOMAIN)
                        fetcher.fetches = 0
                    count, took, route = _counted(log, lambda r=router: r.resolve(DOMAIN))
                    trips = max(trips, count)
                    times.append(took)
                    fetches = max(fetches, fetcher.fetches)
                    levels = ", ".join(sorted({h.tls.level.value for h in route.hosts}))
                rows.append((name, trips, statistics.median(times), fetches, levels))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, figures meaningless")
    args = parser.parse_args(argv)
    # The smoke run keeps a real delay: with less, the questions of one batch
    # may reach the proxy further apart than the delay on a loaded machine,
    # and the count splits a batch in two.
    delay, repeats = (0.05, 1) if args.smoke else (0.05, 7)
    rows = measure(delay, repeats)
    base = rows[0][2]
    print(
        f"latency injected per DNS query: {delay * 1000:.0f} ms; "
        f"policy fetch simulated: {2 * delay * 1000:.0f} ms"
    )
    print()
    print("| case | sequential DNS round trips | fetches | TLS levels | median time | vs off |")
    print("|---|---|---|---|---|---|")
    for name, trips, took, fetches, levels in rows:
        print(
            f"| {name} | {trips} | {fetches} | {levels} | {took * 1000:.0f} ms "
            f"| {took / base:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
