"""The pytest plugin of mxroute: the ``fake_dns`` and ``patched_dnspython`` fixtures.

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

To turn it off, run pytest with ``-p no:mxroute``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mxroute._resolvers.memory import InMemoryResolver

__all__ = ["fake_dns", "patched_dnspython"]


@pytest.fixture
def fake_dns() -> InMemoryResolver:
    """An empty :class:`~mxroute.InMemoryResolver`, new for every test.

    Fill it with ``add()``, ``load_zone()`` or ``load_directory()``; make it
    misbehave with ``fail()``, ``script()``, ``delay()``, ``latency`` and
    ``lifetime``; read what was asked in ``queries``.
    """
    from mxroute._resolvers.memory import InMemoryResolver

    return InMemoryResolver()


@pytest.fixture
def patched_dnspython(fake_dns: InMemoryResolver) -> Iterator[InMemoryResolver]:
    """``fake_dns``, answering every dnspython lookup made during the test.

    It is :func:`mxroute.testing.patch_dnspython` around the test: the same
    resolver object as ``fake_dns``, and dnspython is restored afterwards.
    """
    from mxroute.testing import patch_dnspython

    with patch_dnspython(fake_dns) as fake:
        yield fake
