"""Quickstart: route a few addresses offline, against the zone bundled with the examples.

Run it with ``python examples/quickstart.py``. It needs no network: the DNS
answers come from ``examples/example.zone`` through an
:class:`mxroute.InMemoryResolver`. With a real resolver the code is the same,
minus the ``resolver=`` argument.
"""

from __future__ import annotations

import random
from pathlib import Path

import mxroute

ZONE = Path(__file__).resolve().with_name("example.zone")


def main() -> int:
    """Route one deliverable address, then two that fail, and say what to do."""
    resolver = mxroute.InMemoryResolver.from_zone(ZONE.read_text(encoding="utf-8"))
    # A seeded random source makes the order of equal-preference hosts reproducible.
    router = mxroute.Router(resolver=resolver, rng=random.Random(7))

    route = router.resolve("alice@shop.example")
    print(f"{route.domain}: {route.kind.value} route, cacheable for {route.ttl} s")
    for host, address in route.attempts():
        print(f"  try {host.name} (preference {host.preference}) at {address} port {host.port}")

    for recipient in ("carol@parked.example", "frank@nowhere.example"):
        try:
            router.resolve(recipient)
        except mxroute.MailRouteError as exc:
            action = "queue and retry" if exc.temporary else "bounce"
            print(f"{recipient}: {action}: {exc.smtp_reply}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
