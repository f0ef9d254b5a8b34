"""The pytest plugin: registered by its entry point, fixtures reset for every test."""

from __future__ import annotations

import re
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

    @pytest.mark.parametrize("fixture", ["fake_dns", "patched_dnspython"])
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
