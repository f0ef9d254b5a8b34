"""Fetching MTA-STS policies (RFC 8461 §3.3): the result value and the fetcher protocols.

The routing side asks a fetcher for the policy of a recipient domain, giving
the addresses of ``mta-sts.<domain>`` that it resolved through mxroute's own
resolver; the fetcher answers with a :class:`PolicyResponse`, the policy text
or a reason code, and never raises for a fetch that failed. It does not parse
the policy: :meth:`MTASTSPolicy.parse <mxroute.MTASTSPolicy.parse>` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

from mxroute._errors import InvalidInput
from mxroute._names import IPAddress

__all__ = [
    "FETCH_ERRORS",
    "AsyncPolicyFetcher",
    "PolicyFetcher",
    "PolicyResponse",
]

FETCH_ERRORS = (
    "no-address",
    "connect",
    "timeout",
    "tls",
    "http-status",
    "redirect",
    "content-type",
    "too-large",
    "encoding",
    "protocol",
)
"""The reason codes of a failed fetch (:attr:`PolicyResponse.error`)."""


def _error_code(_instance: object, _attribute: object, value: str | None) -> None:
    if value is not None and value not in FETCH_ERRORS:
        codes = ", ".join(FETCH_ERRORS)
        raise InvalidInput(
            "invalid-fetch-error", f"error must be one of {codes}, not {value!r}", repr(value)
        )


@attrs.frozen
class PolicyResponse:
    """The outcome of one policy fetch: the policy text, or why there is none.

    Exactly one of ``text`` and ``error`` is set.

    Attributes:
        text: The policy body, decoded as UTF-8, when the fetch succeeded and
            the response was acceptable (status 200, ``text/plain``, at most
            the size limit). Not parsed yet.
        error: Otherwise a reason code: ``"no-address"`` (no address to try
            in the allowed scope), ``"connect"`` (no TCP connection),
            ``"timeout"`` (the deadline passed), ``"tls"`` (handshake or
            certificate failure), ``"http-status"`` (a status other than 200),
            ``"redirect"`` (a 3xx: redirects are never followed, RFC 8461
            §3.3), ``"content-type"`` (not ``text/plain``), ``"too-large"``
            (the body exceeds the limit), ``"encoding"`` (not UTF-8) or
            ``"protocol"`` (not a well-formed HTTP/1.x response).
        detail: What a person reads: ``"HTTP 404 Not Found"``,
            ``"certificate has expired"``, ...
    """

    text: str | None
    error: str | None = attrs.field(validator=_error_code)
    detail: str = ""

    def __attrs_post_init__(self) -> None:
        if (self.text is None) == (self.error is None):
            raise InvalidInput(
                "invalid-policy-response",
                "a PolicyResponse has either text or an error, not both or neither",
                repr((self.text, self.error)),
            )

    @property
    def ok(self) -> bool:
        """True when the policy text was fetched."""
        return self.text is not None

    @classmethod
    def failure(cls, error: str, detail: str) -> PolicyResponse:
        """A failed fetch with reason code ``error`` (one of :data:`FETCH_ERRORS`)."""
        return cls(None, error, detail)


@runtime_checkable
class PolicyFetcher(Protocol):
    """Fetches MTA-STS policies synchronously."""

    def fetch_policy(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Fetch ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` from ``addresses``.

        Args:
            domain: The recipient domain (an A-label).
            addresses: The addresses of ``mta-sts.<domain>`` to try, in order;
                no other address is ever contacted, and no name is resolved.
            timeout: The deadline for the whole fetch, in seconds.

        Returns:
            The policy text or the reason there is none. A failed fetch never
            raises.
        """
        ...


@runtime_checkable
class AsyncPolicyFetcher(Protocol):
    """Fetches MTA-STS policies in :mod:`asyncio`."""

    async def fetch_policy_async(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Fetch the policy as :meth:`PolicyFetcher.fetch_policy` does, without blocking."""
        ...
