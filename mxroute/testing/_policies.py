"""A fake MTA-STS policy fetcher: published policies and faults, no network."""

from __future__ import annotations

from collections.abc import Sequence

from mxroute._checks import integer
from mxroute._errors import InvalidInput
from mxroute._names import IPAddress, to_a_label
from mxroute._policy import AddressScope, _scope
from mxroute._stsfetch import MAX_POLICY_SIZE, PolicyFetch, PolicyResponse, tls_failure

__all__ = ["FAULTS", "FakePolicyFetcher"]

_REDIRECT = (
    b"HTTP/1.1 301 Moved Permanently\r\n"
    b"Location: https://mta-sts.elsewhere.example/.well-known/mta-sts.txt\r\n"
    b"Content-Length: 0\r\n\r\n"
)

_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"

_WIRE = {
    "404": b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
    "redirect": _REDIRECT,
    "content-type": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n",
}
"""Faults that are an HTTP answer: the bytes a server sends, read by the real reader."""

FAULTS = ("404", "redirect", "content-type", "oversize", "timeout", "bad-certificate", "slow-drip")
"""The faults :meth:`FakePolicyFetcher.fault` can inject."""


class FakePolicyFetcher:
    r"""A policy fetcher for tests: answers from policies you publish, or fails as told.

    It implements :class:`~mxroute.PolicyFetcher` and
    :class:`~mxroute.AsyncPolicyFetcher` and gives the very
    :class:`~mxroute.PolicyResponse` that :class:`~mxroute.HTTPSPolicyFetcher`
    gives for the same situation (the suite checks them against a real HTTPS
    server): the HTTP answers go through the real fetcher's response reader,
    the addresses through the same scope check, and the arguments through the
    same checks. A domain with neither a policy nor a fault answers as a host
    with no HTTPS server: ``"connect"``.

    >>> import ipaddress
    >>> fake = FakePolicyFetcher()
    >>> fake.publish("example.com", "version: STSv1\nmode: enforce\nmx: mx.example.com\n")
    >>> fake.fault("example.net", "404")
    >>> address = [ipaddress.ip_address("192.0.2.80")]
    >>> fake.fetch_policy("example.com", address, timeout=5).ok
    True
    >>> fake.fetch_policy("example.net", address, timeout=5).detail
    'HTTP 404 Not Found'
    >>> fake.fetches[0]
    ('example.com', (IPv4Address('192.0.2.80'),))

    Args:
        address_scope: The addresses it agrees to "contact", as
            :class:`~mxroute.HTTPSPolicyFetcher`'s (default ``"routable"``).
        max_size: The largest policy accepted, in bytes.

    Attributes:
        fetches: Every ``(domain, addresses)`` asked, in order (the domain as
            an A-label, the addresses as a tuple).
    """

    def __init__(
        self,
        *,
        address_scope: AddressScope | str = AddressScope.ROUTABLE,
        max_size: int = MAX_POLICY_SIZE,
    ) -> None:
        self.address_scope = _scope(address_scope)
        self.max_size = integer(max_size, "max_size", low=1)
        self.fetches: list[tuple[str, tuple[IPAddress, ...]]] = []
        self._answers: dict[str, tuple[str, str]] = {}

    def publish(self, domain: str, text: str) -> None:
        """Serve ``text`` as the policy of ``domain`` (replacing a policy or a fault)."""
        if not isinstance(text, str):
            raise InvalidInput("invalid-policy-text", f"text must be a string, not {text!r}")
        self._answers[to_a_label(domain)] = ("policy", text)

    def fault(self, domain: str, kind: str) -> None:
        """Make fetches of ``domain``'s policy fail with ``kind``, one of those below.

        ``"404"``, ``"redirect"`` and ``"content-type"`` are the server's
        answers (``"http-status"``, ``"redirect"``, ``"content-type"``);
        ``"oversize"`` a body over the limit (``"too-large"``);
        ``"bad-certificate"`` a certificate that does not verify (``"tls"``);
        ``"timeout"`` (a server that never answers) and ``"slow-drip"`` (one
        that answers too slowly) both end at the deadline (``"timeout"``),
        at once: the fake does not wait.
        """
        if kind not in FAULTS:
            raise InvalidInput(
                "invalid-fault", f"fault must be one of {', '.join(FAULTS)}, not {kind!r}", kind
            )
        self._answers[to_a_label(domain)] = ("fault", kind)

    def fetch_policy(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Answer as :meth:`HTTPSPolicyFetcher.fetch_policy <mxroute.HTTPSPolicyFetcher.fetch_policy>` would."""  # noqa: E501
        fetch = PolicyFetch(
            domain, addresses, timeout, scope=self.address_scope, max_size=self.max_size
        )
        self.fetches.append((fetch.domain, fetch.addresses))
        if not fetch.candidates:
            return fetch.result()
        address = fetch.candidates[0]
        how, value = self._answers.get(fetch.domain, ("none", ""))
        if how == "policy":
            body = value.encode("utf-8")
            return fetch.reader().read(_OK % len(body) + body)
        if how == "none":
            return fetch.failure(address, ConnectionRefusedError("Connection refused"), "connect")
        if value in _WIRE:
            return fetch.reader().read(_WIRE[value])
        if value == "oversize":
            return fetch.reader().read(_OK % (self.max_size + 1))
        if value == "bad-certificate":
            return tls_failure(fetch.host, address, "certificate verify failed (fake)")
        phase = "tls" if value == "timeout" else "http"
        return fetch.failure(address, TimeoutError(), phase)

    async def fetch_policy_async(
        self, domain: str, addresses: Sequence[IPAddress], timeout: float
    ) -> PolicyResponse:
        """Answer as :meth:`fetch_policy` does."""
        return self.fetch_policy(domain, addresses, timeout)
