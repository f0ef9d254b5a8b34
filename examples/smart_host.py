"""A smart host setup: a relayhost for everything, and a transport map for exceptions.

Run it with ``python examples/smart_host.py``; it is offline (an in-memory zone).
The settings use Postfix's next-hop syntax, so a ``main.cf`` like::

    relayhost = [smtp.provider.example]:587
    transport_maps = hash:/etc/postfix/transport   # partner.example  smtp:[192.0.2.77]:2525
                                                   # .corp.example    smtp:mail.corp.example

becomes the :class:`mxroute.RoutingPolicy` below. ``[host]`` means "no MX
lookup: the host's own A/AAAA records"; a bare name means "look up its MX
records"; ``:port`` sets the port; a key that starts with a dot matches the
subdomains of a domain.
"""

from __future__ import annotations

import random
import sys

import mxroute

ZONE = """
$ORIGIN example.
$TTL 3600
@                   SOA  ns.example. hostmaster.example. 1 7200 900 1209600 300
                    NS   ns.example.
ns                  A    192.0.2.53
smtp.provider       A    198.51.100.1
                    AAAA 2001:db8:25::1
corp                MX   10 mail.corp.example.
mail.corp           MX   10 gw1.corp.example.
                    MX   20 gw2.corp.example.
gw1.corp            A    10.0.0.25
gw2.corp            A    10.0.1.25
"""

POLICY = mxroute.RoutingPolicy(
    relayhost="[smtp.provider.example]:587",
    transport_map={
        "partner.example": "[192.0.2.77]:2525",
        ".corp.example": "mail.corp.example",
    },
)

RECIPIENTS = [
    "alice@customer.example",  # no transport map entry: the relayhost
    "bob@partner.example",  # the exact key partner.example: an address, no DNS
    "carol@eu.corp.example",  # the key .corp.example: MX lookup on mail.corp.example
    "dave@corp.example",  # .corp.example matches subdomains only: the relayhost
]


def show(router: mxroute.Router, recipient: str) -> None:
    """Print where mail for one recipient goes."""
    route = router.resolve(recipient)
    print(f"{recipient}: {route.kind.value} via {route.next_hop}")
    for host, address in route.attempts():
        print(f"  {host.name} {address} port {host.port}")


def main() -> int:
    """Route every recipient under the policy; then show a broken relay."""
    resolver = mxroute.InMemoryResolver.from_zone(ZONE)
    router = mxroute.Router(resolver=resolver, policy=POLICY, rng=random.Random(3))
    print("policy:", POLICY.to_dict())
    for recipient in RECIPIENTS:
        show(router, recipient)

    # A relay that cannot be resolved is a configuration problem, not the
    # recipient's: mxroute keeps the mail queued (temporary) and says so.
    broken = mxroute.Router(
        resolver=resolver, policy=mxroute.RoutingPolicy(relayhost="[typo.provider.example]")
    )
    try:
        broken.resolve("alice@customer.example")
    except mxroute.TemporaryRouteError as exc:
        print(f"broken relayhost: {exc.smtp_reply}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
