"""The MTA-STS policy fetcher's vocabulary, its sans-I/O response reader, and the fake."""

from __future__ import annotations

import pytest

import mxroute
from mxroute._stsfetch import FETCH_ERRORS


class TestPolicyResponse:
    def test_a_fetched_policy_has_text_and_no_error(self):
        response = mxroute.PolicyResponse("version: STSv1\n", None)
        assert response.ok
        assert response.error is None

    def test_a_failure_has_an_error_code_and_a_detail(self):
        response = mxroute.PolicyResponse.failure("http-status", "HTTP 404 Not Found")
        assert not response.ok
        assert (response.text, response.error, response.detail) == (
            None,
            "http-status",
            "HTTP 404 Not Found",
        )

    @pytest.mark.parametrize("code", FETCH_ERRORS)
    def test_every_documented_code_is_accepted(self, code):
        assert mxroute.PolicyResponse.failure(code, "x").error == code

    def test_an_unknown_code_is_refused(self):
        with pytest.raises(mxroute.InvalidInput, match="error must be one of") as info:
            mxroute.PolicyResponse(None, "nope")
        assert info.value.reason == "invalid-fetch-error"

    @pytest.mark.parametrize(("text", "error"), [(None, None), ("version: STSv1\n", "tls")])
    def test_text_and_error_are_exclusive(self, text, error):
        with pytest.raises(mxroute.InvalidInput, match="either text or an error"):
            mxroute.PolicyResponse(text, error)
