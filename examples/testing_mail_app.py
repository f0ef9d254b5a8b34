"""Testing your own mail code with the in-memory resolver: no network, no mocks.

Run it with ``python examples/testing_mail_app.py`` (it runs pytest on itself),
or with ``pytest examples/testing_mail_app.py``.
The "application" is :func:`recipient_status`, the kind of function a signup
form or a mailing-list manager has. The tests inject an
:class:`mxroute.InMemoryResolver` through the ``Router`` the function takes,
so each test states the DNS it needs in one or two lines, and checks which
questions were asked.

``fake_dns`` is the fixture of mxroute's pytest plugin (an empty
``InMemoryResolver`` for every test; the plugin is active wherever mxroute is
installed), and ``assert_queried`` / ``assert_not_queried`` come from
:mod:`mxroute.testing`.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

import mxroute
from mxroute.testing import assert_not_queried, assert_queried

# -- the application code under test ---------------------------------------------


def recipient_status(router: mxroute.Router, address: str) -> str:
    """Whether mail to ``address`` can be sent now: "ok", "retry" or "reject: <why>"."""
    try:
        router.resolve(address)
    except mxroute.InvalidInput as exc:
        return f"reject: {exc.reason}"
    except mxroute.MailRouteError as exc:
        if exc.temporary:
            return "retry"  # never reject an address because DNS had a bad minute
        return f"reject: {exc.enhanced_status}"
    return "ok"


# -- the tests -------------------------------------------------------------------


@pytest.fixture
def router(fake_dns: mxroute.InMemoryResolver) -> mxroute.Router:
    """A router over the plugin's fake, with a seeded random source for stable host order."""
    return mxroute.Router(resolver=fake_dns, rng=random.Random(0))


class TestRecipientStatus:
    def test_domain_with_a_reachable_mx_is_ok(self, fake_dns, router):
        fake_dns.add("example.com", "MX", "10 mx.example.com.")
        fake_dns.add("mx.example.com", "A", "192.0.2.25")
        assert recipient_status(router, "alice@example.com") == "ok"
        assert_queried(fake_dns, "example.com", "MX", times=1)

    def test_null_mx_is_rejected_with_its_status(self, fake_dns, router):
        fake_dns.add("example.com", "MX", "0 .")
        assert recipient_status(router, "alice@example.com") == "reject: 5.1.10"

    def test_unknown_domain_is_rejected(self, router):
        assert recipient_status(router, "alice@nowhere.example") == "reject: 5.1.2"

    @pytest.mark.parametrize("error", ["servfail", "timeout", "refused"])
    def test_dns_trouble_means_retry_not_reject(self, fake_dns, router, error):
        fake_dns.fail("example.com", "MX", error=error)
        assert recipient_status(router, "alice@example.com") == "retry"
        # and no fallback to the domain's A record after a failed MX lookup
        assert_not_queried(fake_dns, "example.com", "A")

    def test_retry_succeeds_once_dns_recovers(self, fake_dns, router):
        fake_dns.add("example.com", "MX", "10 mx.example.com.")
        fake_dns.add("mx.example.com", "A", "192.0.2.25")
        fake_dns.script("example.com", "MX", ["timeout", None])  # fails once, then works
        assert recipient_status(router, "alice@example.com") == "retry"
        assert recipient_status(router, "alice@example.com") == "ok"

    def test_malformed_address_is_rejected_before_any_lookup(self, fake_dns, router):
        assert recipient_status(router, "alice@@example.com").startswith("reject: ")
        assert fake_dns.queries == []


if __name__ == "__main__":
    # pytest in a fresh interpreter: this one has imported mxroute already, too
    # early for pytest to load mxroute's plugin with assertion rewriting.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    sys.exit(subprocess.call(command))
