"""Testing your own mail code with the in-memory resolver: no network, no mocks.

Run it with ``python examples/testing_mail_app.py``: it runs pytest on itself.
The "application" is :func:`recipient_status`, the kind of function a signup
form or a mailing-list manager has. The tests inject an
:class:`mxroute.InMemoryResolver` through the ``Router`` the function takes,
so each test states the DNS it needs in one or two lines, and can check
which questions were asked (``fake.queries``).

(The ``fake_dns`` pytest fixture of ``mxroute.testing`` packages the same
fixture; this file builds it by hand so that it shows every piece.)
"""

from __future__ import annotations

import random
import sys

import pytest

import mxroute

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
def fake() -> mxroute.InMemoryResolver:
    """An empty in-memory resolver; each test adds the records it needs."""
    return mxroute.InMemoryResolver()


@pytest.fixture
def router(fake: mxroute.InMemoryResolver) -> mxroute.Router:
    """A router over the fake, with a seeded random source for stable host order."""
    return mxroute.Router(resolver=fake, rng=random.Random(0))


class TestRecipientStatus:
    def test_domain_with_a_reachable_mx_is_ok(self, fake, router):
        fake.add("example.com", "MX", "10 mx.example.com.")
        fake.add("mx.example.com", "A", "192.0.2.25")
        assert recipient_status(router, "alice@example.com") == "ok"
        assert fake.queries[0] == ("example.com", "MX")

    def test_null_mx_is_rejected_with_its_status(self, fake, router):
        fake.add("example.com", "MX", "0 .")
        assert recipient_status(router, "alice@example.com") == "reject: 5.1.10"

    def test_unknown_domain_is_rejected(self, router):
        assert recipient_status(router, "alice@nowhere.example") == "reject: 5.1.2"

    @pytest.mark.parametrize("error", ["servfail", "timeout", "refused"])
    def test_dns_trouble_means_retry_not_reject(self, fake, router, error):
        fake.fail("example.com", "MX", error=error)
        assert recipient_status(router, "alice@example.com") == "retry"
        # and no fallback to the domain's A record after a failed MX lookup
        assert fake.queries == [("example.com", "MX")]

    def test_malformed_address_is_rejected_before_any_lookup(self, fake, router):
        assert recipient_status(router, "alice@@example.com").startswith("reject: ")
        assert fake.queries == []


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
