"""Audit many domains concurrently and write one CSV row per domain.

Run it with ``python examples/bulk_audit.py`` to audit the domains of
``examples/example.zone`` offline, or give domains (or ``--domains FILE``, one
per line, ``#`` starts a comment) and ``--zone FILE``. The CSV goes to
standard output, or to ``--output FILE``.

Every domain is audited with :func:`mxroute.audit_async`; at most
``--concurrency`` audits are in flight at once (an :class:`asyncio.Semaphore`),
and all of them share one :class:`mxroute.CachingResolver`, so MX hosts that
many domains share are looked up once. Rows come out in the order of the input.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import mxroute

HERE = Path(__file__).resolve().parent
DEFAULT_DOMAINS = [
    "shop.example",
    "blog.example",
    "parked.example",
    "legacy.example",
    "internal.example",
    "nowhere.example",
    "not a domain",
]
COLUMNS = [
    "domain",
    "status",
    "route",
    "reply",
    "hosts",
    "addresses",
    "ttl",
    "errors",
    "warnings",
    "findings",
]


def row_for_report(domain: str, report: mxroute.AuditReport) -> dict[str, object]:
    """One CSV row: the audit's verdict, the route (or its failure), the findings."""
    route, error = report.route, report.error
    counts = collections.Counter(f.severity for f in report.findings)
    return {
        "domain": domain,
        "status": "ok" if report.ok else "errors" if report.complete else "incomplete",
        "route": route.kind.value if route is not None else type(error).__name__,
        "reply": "" if error is None else f"{error.reply_code} {error.enhanced_status}",
        "hosts": "" if route is None else " ".join(f"{h.preference}:{h.name}" for h in route.hosts),
        "addresses": 0 if route is None else sum(1 for _ in route.attempts()),
        "ttl": "" if route is None else route.ttl,
        "errors": counts[mxroute.Severity.ERROR],
        "warnings": counts[mxroute.Severity.WARNING],
        "findings": " ".join(f.code for f in report.findings),
    }


async def audit_one(
    resolver: mxroute.CachingResolver, domain: str, limit: asyncio.Semaphore
) -> dict[str, object]:
    """Audit one domain (waiting for a free slot first) and turn the report into a row."""
    async with limit:
        try:
            report = await mxroute.audit_async(domain, resolver, rng=random.Random(1))
        except mxroute.InvalidInput as exc:  # not a domain: nothing was asked
            return {"domain": domain, "status": "invalid", "findings": exc.reason}
    return row_for_report(domain, report)


async def audit_all(
    resolver: mxroute.CachingResolver, domains: Sequence[str], concurrency: int
) -> list[dict[str, object]]:
    """Audit every domain, at most ``concurrency`` at once; rows in input order."""
    limit = asyncio.Semaphore(concurrency)
    return list(await asyncio.gather(*(audit_one(resolver, d, limit) for d in domains)))


def write_csv(rows: Sequence[dict[str, object]], out: TextIO) -> None:
    """Write the rows with a header line."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def read_domains(path: Path) -> list[str]:
    """Domains from a file: one per line; blank lines and ``#`` comments are skipped."""
    lines = (
        line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
    )
    return [line for line in lines if line]


def main(argv: list[str] | None = None) -> int:
    """Audit the domains given (or the default ones) against a zone file; write CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("domains", nargs="*", help="domains to audit")
    parser.add_argument("--domains", dest="domain_file", type=Path, help="a file of domains")
    parser.add_argument("--zone", type=Path, default=HERE / "example.zone")
    parser.add_argument("--output", type=Path, help="write the CSV here instead of stdout")
    parser.add_argument("--concurrency", type=int, default=20, help="audits in flight at most")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")

    domains = list(args.domains)
    if args.domain_file is not None:
        domains.extend(read_domains(args.domain_file))
    zone = mxroute.InMemoryResolver.from_zone(args.zone.read_text(encoding="utf-8"))
    resolver = mxroute.CachingResolver(zone)  # against real DNS: wrap mxroute.DNSResolver()
    rows = asyncio.run(audit_all(resolver, domains or DEFAULT_DOMAINS, args.concurrency))
    stats = resolver.stats
    if args.output is None:
        write_csv(rows, sys.stdout)
    else:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            write_csv(rows, out)
        print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    asked = stats.hits + stats.misses + stats.coalesced
    print(f"{asked} DNS questions asked, {stats.misses} sent to DNS", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
