"""The pytest plugin: registered by its entry point, fixtures reset for every test."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import dns.resolver
import pytest

import mxroute
import mxroute.testing.plugin

pytest_plugins = ["pytester"]

# The inner runs need only this plugin: leave out the slow or noisy others.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:asyncio")


class TestRegistration:
    def test_the_plugin_is_loaded_in_this_very_suite(self, request):
        assert request.config.pluginmanager.get_plugin("mxroute") is mxroute.testing.plugin

    def test_fake_dns_is_an_empty_in_memory_resolver(self, fake_dns):
        assert isinstance(fake_dns, mxroute.InMemoryResolver)
        assert fake_dns.queries == []
        assert fake_dns.query("example.com", "MX").status is mxroute.AnswerStatus.NXDOMAIN

    def test_patched_dnspython_is_the_fake_dns_fixture(self, fake_dns, patched_dnspython):
        assert patched_dnspython is fake_dns
        fake_dns.add("example.com", "A", "192.0.2.1")
        assert dns.resolver.resolve("example.com", "A")[0].address == "192.0.2.1"


@pytest.fixture
def silent_server() -> Iterator[socket.socket]:
    """A UDP socket on 127.0.0.1 that never answers: what a query sent to it would reach."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.setblocking(False)
        yield server


def _received(server: socket.socket) -> bool:
    try:
        server.recvfrom(4096)
    except BlockingIOError:
        return False
    return True


def _pointed_at(server: socket.socket) -> mxroute.DNSResolver:
    port = server.getsockname()[1]
    return mxroute.DNSResolver(["127.0.0.1"], port=port, timeout=0.05, lifetime=0.05)


class TestOffline:
    """Inside the fixtures the default resolver is the fake, and real DNS is refused."""

    def test_resolve_without_a_resolver_answers_from_the_fake(self, fake_dns):
        fake_dns.add("example.com", "MX", "10 mx.example.com.")
        fake_dns.add("mx.example.com", "A", "192.0.2.25")
        route = mxroute.resolve("alice@example.com")
        assert [str(address) for _, address in route.attempts()] == ["192.0.2.25"]
        assert fake_dns.queries[0] == ("example.com", "MX")
        assert mxroute.Router().resolver is fake_dns
        assert asyncio.run(mxroute.Router().resolve_async("example.com")).hosts == route.hosts
        assert mxroute.audit("example.com").route is not None

    def test_a_dns_resolver_is_refused_and_sends_nothing(self, fake_dns, silent_server):
        resolver = _pointed_at(silent_server)
        with pytest.raises(mxroute.MXRouteError, match="uses the fake_dns fixture"):
            resolver.query("example.com", "MX")
        with pytest.raises(mxroute.MXRouteError, match="fake_dns"):
            resolver.query_batch([("example.com", "A"), ("example.com", "AAAA")])
        with pytest.raises(mxroute.MXRouteError, match="fake_dns"):
            asyncio.run(resolver.query_async("example.com", "MX"))
        with pytest.raises(mxroute.MXRouteError, match="fake_dns"):
            mxroute.resolve("alice@example.com", resolver=resolver)
        assert not _received(silent_server)

    def test_patched_dnspython_names_itself(self, patched_dnspython, silent_server):
        with pytest.raises(mxroute.MXRouteError, match="uses the patched_dnspython fixture"):
            _pointed_at(silent_server).query("example.com", "MX")
        assert not _received(silent_server)
        assert mxroute.Router().resolver is patched_dnspython

    def test_without_the_fixtures_a_dns_resolver_sends_its_query(self, silent_server):
        # The guard is lifted once the fixture ends: the same query reaches the socket.
        answer = _pointed_at(silent_server).query("example.com", "MX")
        assert answer.status is mxroute.AnswerStatus.TIMEOUT
        assert _received(silent_server)


class TestInAnotherProject:
    """Runs pytest on a user's test file, as in a project that installed mxroute."""

    def test_fake_dns_is_reset_for_every_test(self, pytester):
        pytester.makepyfile(
            """
            import mxroute
            from mxroute.testing import assert_queried

            def test_first(fake_dns):
                fake_dns.add("example.com", "MX", "10 mx.example.com.")
                fake_dns.script("example.com", "MX", ["servfail"])
                fake_dns.query("example.com", "MX")
                assert_queried(fake_dns, "example.com", "MX", times=1)

            def test_second(fake_dns):
                assert fake_dns.queries == []
                answer = fake_dns.query("example.com", "MX")
                assert answer.status is mxroute.AnswerStatus.NXDOMAIN
            """
        )
        pytester.runpytest(*QUIET).assert_outcomes(passed=2)

    def test_a_zone_text_fills_the_fixture(self, pytester):
        pytester.makepyfile(
            """
            import mxroute

            ZONE = '''
            $ORIGIN example.com.
            $TTL 300
            @   MX 10 mx
            mx  A  192.0.2.25
            '''

            def test_route(fake_dns):
                fake_dns.load_zone(ZONE)
                route = mxroute.resolve("alice@example.com", resolver=fake_dns)
                assert [h.name for h in route.hosts] == ["mx.example.com"]
            """
        )
        pytester.runpytest(*QUIET).assert_outcomes(passed=1)

    def test_patched_dnspython_is_restored_after_each_test(self, pytester):
        pytester.makepyfile(
            """
            import dns.resolver

            ORIGINAL = dns.resolver.Resolver.resolve

            def test_patched(patched_dnspython):
                patched_dnspython.add("example.com", "MX", "0 .")
                assert dns.resolver.Resolver.resolve is not ORIGINAL
                assert dns.resolver.resolve("example.com", "MX")[0].preference == 0

            def test_restored_afterwards():
                assert dns.resolver.Resolver.resolve is ORIGINAL
            """
        )
        pytester.runpytest(*QUIET).assert_outcomes(passed=2)

    def test_a_failed_assertion_shows_what_was_asked(self, pytester):
        pytester.makepyfile(
            """
            from mxroute.testing import assert_queried

            def test_forgot_the_mx(fake_dns):
                fake_dns.query("example.com", "A")
                assert_queried(fake_dns, "example.com", "MX")
            """
        )
        result = pytester.runpytest(*QUIET)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*expected example.com MX to be asked, but it was never asked.*",
                "*Questions asked (1):*",
                "*1. example.com A*",
            ]
        )
        # The test's own line is shown, not the helper's body.
        result.stdout.fnmatch_lines(['*assert_queried(fake_dns, "example.com", "MX")*'])
        result.stdout.no_fnmatch_line("*raise AssertionError*")
        result.stdout.no_fnmatch_line("*_assertions.py*")

    def test_the_fixtures_are_lifted_after_each_test(self, pytester):
        pytester.makepyfile(
            """
            import mxroute
            from mxroute import _guard

            def test_inside(fake_dns):
                assert mxroute.Router().resolver is fake_dns

            def test_outside():
                assert _guard.stand_in() is None
            """
        )
        pytester.runpytest(*QUIET).assert_outcomes(passed=2)

    def test_the_plugin_can_be_turned_off(self, pytester):
        pytester.makepyfile(
            """
            def test_uses_it(fake_dns):
                pass
            """
        )
        result = pytester.runpytest("-p", "no:mxroute", *QUIET)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*fixture 'fake_dns' not found*"])

    @pytest.mark.parametrize("fixture", ["fake_dns", "patched_dnspython", "fake_policies"])
    def test_fixtures_are_listed_with_their_documentation(self, pytester, fixture):
        result = pytester.runpytest("--fixtures", *QUIET)
        result.stdout.fnmatch_lines([f"*{fixture}*mxroute*"])


class TestDocumentation:
    def test_the_examples_of_the_testing_page_pass(self, pytester):
        page = (Path(__file__).parent.parent / "docs" / "testing.md").read_text("utf-8")
        blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
        runnable = [b for b in blocks if "def test_" in b or "@pytest.fixture" in b]
        tests = sum(b.count("def test_") for b in runnable)
        assert tests >= 6
        pytester.makepyfile(test_page="import mxroute\nimport pytest\n\n" + "\n\n".join(runnable))
        pytester.runpytest(*QUIET).assert_outcomes(passed=tests)
