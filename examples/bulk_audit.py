"""Audit many domains concurrently and write one CSV row per domain.

Run it with ``python examples/bulk_audit.py`` to audit the domains of
``examples/example.zone`` offline, or give domains (or ``--domains FILE``, one
per line, ``#`` starts a comment) and ``--zone FILE``. The CSV goes to
standard output, or to ``--output FILE``.

The domains go through :func:`mxroute.audit_many`, mxroute's bulk engine: at
most ``--concurrency`` audits are in flight at once (default
:data:`mxroute.DEFAULT_CONCURRENCY`), the domains are read lazily, and all
the audits share one :class:`mxroute.CachingResolver`, so MX hosts that many
domains share are looked up once. Rows come out in the order of the input
(``ordered=True``), each written as soon as it and the rows before it are done.
"""

from __future__ import annotations

import argparse
import collections
import csv
import itertools
import sys
from collections.abc import Iterable, Iterator
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


def audit_rows(
    resolver: mxroute.CachingResolver, domains: Iterable[str], concurrency: int
) -> Iterator[dict[str, object]]:
    """One row per domain, in input order, at most ``concurrency`` audits at once."""
    results = mxroute.audit_many(domains, resolver, concurrency=concurrency, ordered=True)
    for domain, report in results:
        if isinstance(report, mxroute.AuditReport):
            yield row_for_report(domain, report)
        else:  # not a domain (an InvalidInput): nothing was asked
            yield {"domain": domain, "status": "invalid", "findings": report.reason}


def write_csv(rows: Iterable[dict[str, object]], out: TextIO) -> int:
    """Write the rows with a header line, each as it comes; return how many."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def read_domains(path: Path) -> Iterator[str]:
    """Domains from a file, read lazily, one per line.

    Blank lines and ``#`` comments are skipped.
    """
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            domain = line.split("#", 1)[0].strip()
            if domain:
                yield domain


def main(argv: list[str] | None = None) -> int:
    """Audit the domains given (or the default ones) against a zone file; write CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("domains", nargs="*", help="domains to audit")
    parser.add_argument("--domains", dest="domain_file", type=Path, help="a file of domains")
    parser.add_argument("--zone", type=Path, default=HERE / "example.zone")
    parser.add_argument("--output", type=Path, help="write the CSV here instead of stdout")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=mxroute.DEFAULT_CONCURRENCY,
        help=f"audits in flight at most (default {mxroute.DEFAULT_CONCURRENCY})",
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")

    domains: Iterable[str] = args.domains
    if args.domain_file is not None:
        domains = itertools.chain(args.domains, read_domains(args.domain_file))
    zone = mxroute.InMemoryResolver.from_zone(args.zone.read_text(encoding="utf-8"))
    resolver = mxroute.CachingResolver(zone)  # against real DNS: wrap mxroute.DNSResolver()
    if not args.domains and args.domain_file is None:
        domains = DEFAULT_DOMAINS
    rows = audit_rows(resolver, domains, args.concurrency)
    stats = resolver.stats
    if args.output is None:
        write_csv(rows, sys.stdout)
    else:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            count = write_csv(rows, out)
        print(f"wrote {count} rows to {args.output}", file=sys.stderr)
    asked = stats.hits + stats.misses + stats.coalesced
    print(f"{asked} DNS questions asked, {stats.misses} sent to DNS", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
