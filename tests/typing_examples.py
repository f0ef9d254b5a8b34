"""Public API used the way users write it; type-checked by ``mypy --strict`` in CI.

If a public signature forced users to ``cast`` or ``# type: ignore``, this file
would stop type-checking. It also runs as a test (tests/test_typing_examples.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random

import mxroute
from mxroute import Answer, AnswerStatus, InMemoryResolver, MailRoute, Router, RoutingPolicy


def route_with_fake() -> list[tuple[str, str]]:
    fake = InMemoryResolver()
    fake.add("example.com", "MX", "10 mx.example.com.")
    fake.add("mx.example.com", "A", "192.0.2.1")
    policy = RoutingPolicy(address_families=["ipv4"], local_names=["me.example.org"])
    route: MailRoute = mxroute.resolve("alice@example.com", resolver=fake, policy=policy)
    pairs: list[tuple[str, str]] = []
    for host, address in route.attempts():
        port: int = host.port
        pairs.append((f"{host.name}:{port}", address.exploded))
    return pairs


def handle_failure(router: Router, target: str) -> str:
    try:
        router.resolve(target)
    except mxroute.MailRouteError as exc:
        status: str = exc.enhanced_status
        code: int = exc.reply_code
        return f"{'defer' if exc.temporary else 'bounce'} {code} {status}"
    except mxroute.InvalidInput as exc:
        reason: str = exc.reason
        return reason
    return "ok"


class CountingResolver:
    """A user-written resolver: any class with query() fits the protocol."""

    def __init__(self) -> None:
        self.count = 0

    def query(self, name: str, rdtype: str) -> Answer:
        self.count += 1
        return Answer(name, rdtype, AnswerStatus.NXDOMAIN, ttl=60)


async def route_async() -> MailRoute:
    fake = InMemoryResolver()
    fake.add("example.com", "A", "192.0.2.1")
    return await Router(resolver=fake, rng=random.Random(1)).resolve_async("example.com")


def connect_through_the_fake_network() -> str:
    """FakeNetwork is a Connector (and an AsyncConnector) without a cast."""
    from mxroute.testing import FakeNetwork

    route = MailRoute(
        "example.com", mxroute.RouteKind.MX, [mxroute.MailHost("mx.example.com", 10, ["192.0.2.1"])]
    )
    with FakeNetwork() as network:
        network.accept("192.0.2.1")
        connector: mxroute.Connector = network
        async_connector: mxroute.AsyncConnector = network
        assert async_connector is network
        with mxroute.connect(route, connector=connector) as connection:
            return connection.host.name


def main() -> None:
    assert route_with_fake() == [("mx.example.com:25", "192.0.2.1")]
    assert handle_failure(Router(resolver=CountingResolver()), "x@example.com") == (
        "bounce 550 5.1.2"
    )
    assert handle_failure(Router(resolver=CountingResolver()), "bad name") == "invalid-character"
    route = asyncio.run(route_async())
    assert route.hosts[0].addresses == (ipaddress.ip_address("192.0.2.1"),)
    assert connect_through_the_fake_network() == "mx.example.com"


if __name__ == "__main__":
    main()
