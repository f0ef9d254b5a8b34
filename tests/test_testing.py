"""mxroute.testing: its public surface and the assertions over the query log."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mxroute
import mxroute.testing
from mxroute.testing import assert_not_queried, assert_queried

EXPECTED = {
    "Delivery",
    "FakeNetwork",
    "FakePolicyFetcher",
    "InMemoryResolver",
    "Outcome",
    "assert_not_queried",
    "assert_queried",
    "patch_dnspython",
}


class TestSurface:
    def test_all_is_exactly_the_public_surface(self):
        assert set(mxroute.testing.__all__) == EXPECTED

    def test_all_is_sorted_and_unique(self):
        assert mxroute.testing.__all__ == sorted(set(mxroute.testing.__all__))

    def test_every_exported_name_exists_and_has_a_docstring(self):
        for name in mxroute.testing.__all__:
            obj = getattr(mxroute.testing, name)
            if name == "Outcome":
                continue
            assert (obj.__doc__ or "").strip(), name

    def test_the_fake_is_the_same_class_as_mxroutes(self):
        assert mxroute.testing.InMemoryResolver is mxroute.InMemoryResolver

    def test_importing_it_does_not_import_pytest(self):
        code = "import sys, mxroute.testing; print('pytest' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "False"


@pytest.fixture
def asked():
    fake = mxroute.InMemoryResolver()
    fake.query("example.com", "MX")
    fake.query("mx.example.com", "A")
    fake.query("example.com", "MX")
    return fake


class TestAssertQueried:
    def test_passes_when_the_question_was_asked(self, asked):
        assert_queried(asked, "example.com", "MX")
        assert_queried(asked, "mx.example.com")
        assert_queried(asked, "example.com", "MX", times=2)
        assert_queried(asked, "mx.example.com", "A", times=1)

    def test_names_and_types_compare_like_dns(self, asked):
        assert_queried(asked, "EXAMPLE.com.", "mx", times=2)

    def test_without_a_type_every_type_counts(self, asked):
        asked.query("example.com", "A")
        assert_queried(asked, "example.com", times=3)

    def test_fails_with_the_list_of_questions_asked(self, asked):
        with pytest.raises(AssertionError) as info:
            assert_queried(asked, "example.net", "MX")
        assert str(info.value) == (
            "expected example.net MX to be asked, but it was never asked.\n"
            "Questions asked (3):\n"
            "  1. example.com MX\n"
            "  2. mx.example.com A\n"
            "  3. example.com MX"
        )

    def test_fails_when_asked_a_different_number_of_times(self, asked):
        with pytest.raises(AssertionError, match="to be asked once, but it was asked 2 times"):
            assert_queried(asked, "example.com", "MX", times=1)
        with pytest.raises(AssertionError, match=r"example.com \(any type\) to be asked 3 times"):
            assert_queried(asked, "example.com", times=3)

    def test_another_type_of_the_name_does_not_count(self, asked):
        with pytest.raises(AssertionError, match=r"mx\.example\.com AAAA"):
            assert_queried(asked, "mx.example.com", "AAAA")

    def test_says_so_when_nothing_was_asked(self):
        with pytest.raises(AssertionError, match="No question was asked"):
            assert_queried(mxroute.InMemoryResolver(), "example.com")

    @pytest.mark.parametrize("times", [-1, 1.5, True, "2"])
    def test_times_must_be_a_count(self, asked, times):
        with pytest.raises(mxroute.InvalidInput) as info:
            assert_queried(asked, "example.com", times=times)
        assert info.value.reason == "invalid-times"

    def test_works_on_anything_with_a_queries_list(self):
        class Recorder:
            def __init__(self):
                self.queries = [("example.com", "MX")]

        assert_queried(Recorder(), "example.com", "MX", times=1)


class TestAssertNotQueried:
    def test_passes_when_never_asked(self, asked):
        assert_not_queried(asked, "example.net")
        assert_not_queried(asked, "example.com", "AAAA")

    def test_fails_with_the_list_of_questions_asked(self, asked):
        with pytest.raises(AssertionError) as info:
            assert_not_queried(asked, "mx.example.com")
        message = str(info.value)
        assert message.startswith(
            "expected mx.example.com (any type) never to be asked, but it was asked once."
        )
        assert "  2. mx.example.com A" in message
