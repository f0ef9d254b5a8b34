"""Audit many domains concurrently and write one CSV row per domain.

Run it with ``python examples/bulk_audit.py`` to audit the domains of
``examples/example.zone`` offline, or give domains (or ``--domains FILE``, one
per line, ``#`` starts a comment) and ``--zone FILE``. The CSV goes to
standard output, or to ``--output FILE``.

Every domain is routed with :meth:`mxroute.Router.resolve_async`; at most
``--concurrency`` routes are in flight at once (an :class:`asyncio.Semaphore`),
so a list of a hundred thousand domains does not open a hundred thousand
sockets against a real resolver. Rows come out in the order of the input.
"""

from __future__ import annotations

import argparse
import asyncio
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
    "kind",
    "reply",
    "hosts",
    "addresses",
    "ttl",
    "errors",
    "warnings",
    "findings",
]


def row_for_route(domain: str, route: mxroute.MailRoute) -> dict[str, object]:
    """One CSV row for a domain that routes."""
    severities = [f.severity for f in route.findings]
    return {
        "domain": domain,
        "status": "ok",
        "kind": route.kind.value,
        "reply": "",
        "hosts": " ".join(f"{h.preference}:{h.name}" for h in route.hosts),
        "addresses": sum(1 for _ in route.attempts()),
        "ttl": route.ttl,
        "errors": severities.count(mxroute.Severity.ERROR),
        "warnings": severities.count(mxroute.Severity.WARNING),
        "findings": " ".join(f.code for f in route.findings),
    }


def row_for_error(domain: str, exc: mxroute.MailRouteError) -> dict[str, object]:
    """One CSV row for a domain whose route failed."""
    severities = [f.severity for f in exc.findings]
    return {
        "domain": domain,
        "status": "temporary" if exc.temporary else "permanent",
        "kind": type(exc).__name__,
        "reply": f"{exc.reply_code} {exc.enhanced_status}",
        "hosts": "",
        "addresses": 0,
        "ttl": "",
        "errors": severities.count(mxroute.Severity.ERROR),
        "warnings": severities.count(mxroute.Severity.WARNING),
        "findings": " ".join(f.code for f in exc.findings),
    }


async def audit_one(
    router: mxroute.Router, domain: str, limit: asyncio.Semaphore
) -> dict[str, object]:
    """Route one domain (waiting for a free slot first) and turn the outcome into a row."""
    async with limit:
        try:
            route = await router.resolve_async(domain)
        except mxroute.MailRouteError as exc:
            return row_for_error(domain, exc)
        except mxroute.InvalidInput as exc:
            return {"domain": domain, "status": "invalid", "kind": exc.reason, "reply": str(exc)}
    return row_for_route(domain, route)


async def audit(
    router: mxroute.Router, domains: Sequence[str], concurrency: int
) -> list[dict[str, object]]:
    """Audit every domain, at most ``concurrency`` at once; rows in input order."""
    limit = asyncio.Semaphore(concurrency)
    return list(await asyncio.gather(*(audit_one(router, d, limit) for d in domains)))


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
    parser.add_argument("--concurrency", type=int, default=20, help="routes in flight at most")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")

    domains = list(args.domains)
    if args.domain_file is not None:
        domains.extend(read_domains(args.domain_file))
    resolver = mxroute.InMemoryResolver.from_zone(args.zone.read_text(encoding="utf-8"))
    router = mxroute.Router(resolver=resolver, rng=random.Random(1))
    rows = asyncio.run(audit(router, domains or DEFAULT_DOMAINS, args.concurrency))
    if args.output is None:
        write_csv(rows, sys.stdout)
    else:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            write_csv(rows, out)
        print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
