"""Route addresses against a zone file, offline: the hosts to try, in order, and why.

Run it with ``python examples/route_zone.py``; it is the Python side of what
``scripts/demo`` shows with the ``mxroute route`` command. With no arguments
it routes one address for every case in ``examples/example.zone``; give
addresses or domains to route those instead, and ``--zone FILE`` to use
another zone file.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import mxroute

HERE = Path(__file__).resolve().parent
DEFAULT_TARGETS = [
    "alice@shop.example",
    "bob@blog.example",
    "carol@parked.example",
    "dave@legacy.example",
    "erin@internal.example",
    "frank@nowhere.example",
    "grace@[192.0.2.99]",
]


def describe(router: mxroute.Router, target: str) -> str:
    """Route one target and describe the outcome in a few lines."""
    try:
        route = router.resolve(target)
    except mxroute.MailRouteError as exc:
        action = "retry later" if exc.temporary else "bounce"
        return f"{target}: {exc.reply_code} {exc.enhanced_status} ({action}): {exc}"
    lines = [f"{target}: {route.kind.value} route for {route.domain}, ttl {route.ttl}"]
    for number, (host, address) in enumerate(route.attempts(), 1):
        lines.append(
            f"  {number}. {host.name} (preference {host.preference}) {address} port {host.port}"
        )
    lines.extend(f"  - {f.severity.value}: {f.code}: {f.message}" for f in route.findings)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Route the targets given (or the default ones) against a zone file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="addresses or domains to route")
    parser.add_argument("--zone", type=Path, default=HERE / "example.zone")
    parser.add_argument("--seed", type=int, default=7, help="orders equal preferences")
    args = parser.parse_args(argv)
    resolver = mxroute.InMemoryResolver.from_zone(args.zone.read_text(encoding="utf-8"))
    router = mxroute.Router(resolver=resolver, rng=random.Random(args.seed))
    for target in args.targets or DEFAULT_TARGETS:
        try:
            print(describe(router, target))
        except mxroute.InvalidInput as exc:
            print(f"{target}: invalid input ({exc.reason}): {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
