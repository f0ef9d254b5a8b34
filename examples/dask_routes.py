"""Route a long list of domains on a Dask cluster: each worker builds its own router.

Run it with ``python examples/dask_routes.py`` (``--workers N``,
``--domains N``). It starts a :class:`distributed.LocalCluster` of worker
*processes* on this machine and routes a synthetic world of domains (shared
provider MX hosts, implicit MX, NXDOMAIN, null MX) served by an in-memory
resolver, so it needs no network. On a real cluster, pass the scheduler's
address as ``--scheduler tcp://host:8786`` and change :func:`build_router` to
return a router on your recursive resolver, for example
``mxroute.Router(resolver=mxroute.CachingResolver(mxroute.DNSResolver(
nameservers=["10.0.0.53"])))``.

The recipe, in three rules:

* ship *how to build* the router (a small picklable function and its
  arguments), not a router: each worker process builds one on first use and
  keeps it, so its sockets, event loop and cache are its own and the cache
  warms up over every partition the worker routes;
* route a partition with :meth:`mxroute.Router.resolve_many_sync`, the bulk
  engine (bounded concurrency, streaming) inside the worker;
* send back plain data (``route.to_dict()`` or a small summary), never live
  objects.

It prints one line per route kind or error with its count, then
``routed N domains on K workers``.
"""

from __future__ import annotations

import argparse
import collections
import functools
from collections.abc import Iterable, Iterator

import mxroute

PROVIDERS = 20


def world(size: int) -> str:
    """Zone text for ``d0.example`` ... ``d<size-1>.example``: a mix of real-world shapes."""
    lines = ["$ORIGIN example.\n$TTL 3600\n@ SOA ns hostmaster 1 7200 900 1209600 300\n"]
    for k in range(PROVIDERS):
        lines.append(f"mx{k}.provider A 192.0.2.{k + 1}\n")
        lines.append(f"mx{k}.provider AAAA 2001:db8::{k + 1:x}\n")
    for i in range(size):
        shape = i % 10
        if shape == 9:
            continue  # no records at all: NXDOMAIN
        if shape == 8:
            lines.append(f"d{i} MX 0 .\n")  # null MX
        elif shape == 7:
            lines.append(f"d{i} A 198.51.100.{i % 250 + 1}\n")  # implicit MX
        else:
            lines.append(f"d{i} MX 10 mx{i % PROVIDERS}.provider\n")
            lines.append(f"d{i} MX 20 mx{(i + 1) % PROVIDERS}.provider\n")
    return "".join(lines)


@functools.cache
def build_router(size: int) -> mxroute.Router:
    """This worker's router, built once per process (the cache is per process)."""
    resolver = mxroute.InMemoryResolver.from_zone(world(size))
    return mxroute.Router(resolver=mxroute.CachingResolver(resolver))


def route_partition(domains: Iterable[str], size: int) -> list[str]:
    """Route one partition; return one outcome name per domain (plain data)."""
    router = build_router(size)
    outcomes = []
    for _, result in router.resolve_many_sync(list(domains)):
        if isinstance(result, mxroute.MailRoute):
            outcomes.append(result.kind.name)
        else:
            outcomes.append(type(result).__name__)
    return outcomes


def domains(size: int) -> Iterator[str]:
    """The input: in real use, lines of a file (``dask.bag.read_text``)."""
    return (f"d{i}.example" for i in range(size))


def main() -> None:
    """Start (or join) a cluster, route every domain, print the counts."""
    import dask.bag
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--domains", type=int, default=5000)
    parser.add_argument("--scheduler", help="a running scheduler's address (default: local)")
    args = parser.parse_args()

    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
        client = Client(cluster)
    try:
        bag = dask.bag.from_sequence(domains(args.domains), npartitions=4 * args.workers)
        counts = collections.Counter(bag.map_partitions(route_partition, args.domains).compute())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    for outcome, count in sorted(counts.items()):
        print(f"{outcome} {count}")
    print(f"routed {sum(counts.values())} domains on {args.workers} workers")


if __name__ == "__main__":
    main()
