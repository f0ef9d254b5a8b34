"""Test your own mail code without a network: fakes, fault injection and assertions.

Everything here is for tests. The building block is
:class:`~mxroute.InMemoryResolver`, a resolver that answers from records you
add, and can time out, fail, or be slow on purpose. Around it:

* a pytest plugin (installed with mxroute, no configuration needed) with the
  fixtures ``fake_dns`` (an empty :class:`~mxroute.InMemoryResolver`, new for
  every test) and ``patched_dnspython`` (the same fake, answering every
  dnspython lookup made during the test); inside both, mxroute's default
  resolver is the fake and real DNS is refused: see :mod:`mxroute.testing.plugin`;
* :class:`FakePolicyFetcher`, an MTA-STS policy fetcher that serves the
  policies you publish and fails as told (404, redirect, wrong type,
  oversize, timeout, bad certificate, slow drip); the plugin's
  ``fake_policies`` fixture is a new one for every test;
* :func:`assert_queried` and :func:`assert_not_queried`, assertions over the
  questions a fake was asked, with failure messages that list them;
* :func:`patch_dnspython`, which makes code that calls dnspython directly
  (``dns.resolver.resolve``, ``dns.asyncresolver.resolve``, their
  ``Resolver`` classes) answer from an mxroute resolver;
* :class:`FakeNetwork`, a fake mail network for code that connects: addresses
  that accept mail (recorded as a :class:`Delivery`), refuse, time out or
  greet 421, behind the connector seam of ``mxroute.connect`` (the
  ``fake_network`` fixture).

>>> from mxroute.testing import InMemoryResolver, assert_queried
>>> fake = InMemoryResolver()
>>> fake.add("example.com", "MX", "10 mx.example.com.")
>>> fake.script("example.com", "MX", ["timeout", None])
>>> fake.query("example.com", "MX").status
<AnswerStatus.TIMEOUT: 'timeout'>
>>> fake.query("example.com", "MX").status
<AnswerStatus.RECORDS: 'records'>
>>> assert_queried(fake, "example.com", "MX", times=2)

This module does not import pytest; only :mod:`mxroute.testing.plugin` does.
"""

from mxroute._exports import adopt
from mxroute._resolvers.memory import InMemoryResolver, Outcome
from mxroute.testing._assertions import assert_not_queried, assert_queried
from mxroute.testing._dnspython import patch_dnspython
from mxroute.testing._network import Delivery, FakeNetwork
from mxroute.testing._policies import FakePolicyFetcher

__all__ = [
    "Delivery",
    "FakeNetwork",
    "FakePolicyFetcher",
    "InMemoryResolver",
    "Outcome",
    "assert_not_queried",
    "assert_queried",
    "patch_dnspython",
]

adopt(globals(), __all__)
