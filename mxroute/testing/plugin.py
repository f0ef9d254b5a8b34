"""The pytest plugin of mxroute: fake DNS, dnspython, MTA-STS policies and mail network.

pytest loads it by itself wherever mxroute is installed (through the
``pytest11`` entry point); there is nothing to configure. In a test:

.. code-block:: python

    import mxroute
    from mxroute.testing import assert_queried

    def test_mail_to_a_parked_domain_bounces(fake_dns):
        fake_dns.add("parked.example", "MX", "0 .")
        with pytest.raises(mxroute.NullMX):
            mxroute.resolve("alice@parked.example", resolver=fake_dns)
        assert_queried(fake_dns, "parked.example", "MX", times=1)

Inside both fixtures no test reaches real DNS by mistake: mxroute's default
resolver (what ``mxroute.resolve()``, ``Router()`` and ``audit()`` use without
``resolver=``) is the fixture's fake, and a :class:`~mxroute.DNSResolver`
asked a question raises an :class:`~mxroute.MXRouteError` that names the
fixture. Every DNSResolver is refused, one pointed at loopback too (the
system's resolver is often on loopback); use one outside these fixtures.

``fake_network`` is a :class:`~mxroute.testing.FakeNetwork`, closed after the
test: hand it to ``mxroute.connect(..., connector=fake_network)``.

To turn it off, run pytest with ``-p no:mxroute``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mxroute._resolvers.memory import InMemoryResolver
    from mxroute.testing._network import FakeNetwork
    from mxroute.testing._policies import FakePolicyFetcher

__all__ = ["fake_dns", "fake_network", "fake_policies", "patched_dnspython"]


@pytest.fixture
def fake_dns() -> Iterator[InMemoryResolver]:
    """An empty :class:`~mxroute.InMemoryResolver`, new for every test.

    Fill it with ``add()``, ``load_zone()`` or ``load_directory()``; make it
    misbehave with ``fail()``, ``script()``, ``delay()``, ``latency`` and
    ``lifetime``; read what was asked in ``queries``. During the test it is
    mxroute's default resolver too, and real DNS is refused.
    """
    from mxroute._guard import offline
    from mxroute._resolvers.memory import InMemoryResolver

    fake = InMemoryResolver()
    with offline("fake_dns", fake):
        yield fake


@pytest.fixture
def patched_dnspython(fake_dns: InMemoryResolver) -> Iterator[InMemoryResolver]:
    """``fake_dns``, answering every dnspython lookup made during the test.

    It is :func:`mxroute.testing.patch_dnspython` around the test: the same
    resolver object as ``fake_dns``, and dnspython is restored afterwards.
    """
    from mxroute._guard import offline
    from mxroute.testing import patch_dnspython

    with offline("patched_dnspython", fake_dns), patch_dnspython(fake_dns) as fake:
        yield fake


@pytest.fixture
def fake_policies() -> FakePolicyFetcher:
    """An empty :class:`~mxroute.testing.FakePolicyFetcher`, new for every test.

    Serve policies with ``publish()``, inject failures with ``fault()``, and
    read what was fetched in ``fetches``.
    """
    from mxroute.testing._policies import FakePolicyFetcher

    return FakePolicyFetcher()


@pytest.fixture
def fake_network() -> Iterator[FakeNetwork]:
    """An empty :class:`~mxroute.testing.FakeNetwork`, new for every test, closed after it.

    Map addresses with ``accept()``, ``refuse()``, ``time_out()``,
    ``unreachable()``, ``drop_after_greeting()`` and ``greet()`` (an address
    not mapped is unreachable); pass it as ``connector=``; read ``tried`` and
    ``delivered`` afterwards.
    """
    from mxroute.testing._network import FakeNetwork

    with FakeNetwork() as network:
        yield network
