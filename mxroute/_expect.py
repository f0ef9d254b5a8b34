"""Expectations: does a domain's mail go where you expect it to?

For a migration between mail providers you know the hosts the domain must
end up with; :func:`expect_mx` compares them with the hosts of a route (or of
an audit's route) and returns an :class:`ExpectationResult` that lists what
differs. ``mxroute check --expect-mx`` and ``--expect-provider`` are this
function on the command line.

An expectation is a list of *entries*; an entry is a set of alternatives:

* an exact host name (``mx1.provider.net``): that host must be among the
  route's hosts;
* a pattern whose leftmost labels are ``*`` (``*.mail.protection.outlook.com``):
  each ``*`` stands for exactly one label, so the pattern matches
  ``contoso-com.mail.protection.outlook.com`` but neither
  ``mail.protection.outlook.com`` nor ``a.b.mail.protection.outlook.com``
  (the MTA-STS rule of RFC 8461 §4.1, for as many labels as there are ``*``);
* a provider of :data:`MX_PROVIDERS` (``google``): any of its patterns.

The expectation holds when every entry matches at least one host (else the
entry is *missing*) and every host matches some entry (else it is
*unexpected*). The hosts are those the route delivers to: an MX host without
a usable address is not one (it shows up as missing; the audit's findings
say why), and a failed route has none.

A TLS expectation (``tls=TLSLevel.DANE``, ``--expect-tls dane|mta-sts``) is
one more check on the same route: every host must require at least that
level (``DANE`` satisfies an ``MTA_STS`` expectation; compared by
:attr:`TLSLevel.rank <mxroute.TLSLevel.rank>`); the hosts below it are listed
in ``tls_missing``. Route with transport security on
(``RoutingPolicy(dane=True)`` / ``mta_sts=True``) for the levels to be known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from mxroute._audit import AuditReport
from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._model import MailRoute
from mxroute._names import matches_pattern, to_a_label
from mxroute._tls import TLSLevel, TLSRequirement

__all__ = ["MX_PROVIDERS", "Expectation", "ExpectationResult", "expect_mx"]

MX_PROVIDERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "fastmail": ("*.messagingengine.com",),
        "google": (
            "aspmx.l.google.com",
            "*.aspmx.l.google.com",
            "*.googlemail.com",
            "smtp.google.com",
        ),
        "icloud": ("*.mail.icloud.com",),
        "microsoft": ("*.mail.protection.outlook.com", "*.*.mx.microsoft"),
        "proton": ("*.protonmail.ch",),
        "zoho": ("*.zoho.com", "*.zoho.eu", "*.zoho.in", "*.zoho.com.au"),
    }
)
"""Well-known mail providers and the MX host names they tell customers to publish.

Taken from each provider's published setup instructions; a provider can
change them, so for anything not listed (or to be stricter) give the hosts
or patterns yourself. ``microsoft`` is Exchange Online / Microsoft 365 (the
classic ``*.mail.protection.outlook.com`` and the DNSSEC-capable
``*.*.mx.microsoft``).
"""


def _pattern(text: str) -> str:
    """An exact host name or a ``*.`` pattern, normalised; InvalidInput if neither."""
    if not isinstance(text, str):
        raise InvalidInput(
            "invalid-expectation", f"an expected host must be a string, not {text!r}", repr(text)
        )
    labels = text.strip().rstrip(".").split(".")
    stars = 0
    while stars < len(labels) and labels[stars] == "*":
        stars += 1
    rest = ".".join(labels[stars:])
    if "*" in rest or not rest or (stars and "." not in rest):
        raise InvalidInput(
            "invalid-expectation",
            f"{text!r} is not a host name or a pattern: '*' stands for one whole leftmost "
            "label (as in *.mail.protection.outlook.com), above at least two fixed labels",
            text,
        )
    return ".".join(["*"] * stars + [to_a_label(rest)])


@attrs.frozen
class _Entry:
    """One expected entry: its name, and the patterns any of which satisfies it."""

    name: str
    patterns: tuple[str, ...]

    def matches(self, host: str) -> bool:
        return any(matches_pattern(p, host) for p in self.patterns)


def _entries(
    expected: str | Iterable[str], provider: str | None, tls: TLSLevel | None = None
) -> tuple[_Entry, ...]:
    texts = expected.split(",") if isinstance(expected, str) else list(expected)
    entries = [_Entry(p, (p,)) for p in (_pattern(t) for t in texts if t.strip())]
    if provider is not None:
        key = provider.strip().lower() if isinstance(provider, str) else provider
        patterns = MX_PROVIDERS.get(key) if isinstance(key, str) else None
        if patterns is None:
            known = ", ".join(MX_PROVIDERS)
            raise InvalidInput(
                "unknown-provider",
                f"{provider!r} is not a known mail provider (known: {known}); "
                "give its MX hosts or patterns instead",
                str(provider),
            )
        entries.append(_Entry(key, patterns))
    if not entries and tls is None:
        raise InvalidInput(
            "invalid-expectation", "no host, pattern, provider or TLS level is expected", ""
        )
    return tuple(entries)


@attrs.frozen
class ExpectationResult:
    """Whether a domain's mail hosts are the ones expected, and what differs.

    Attributes:
        domain: The domain the route is for.
        expected: The expected entries: host names, patterns and provider
            names, normalised (A-labels, lowercase), in the order given.
        hosts: The hosts the route delivers to, in attempt order.
        missing: The expected entries that no host matches.
        unexpected: The hosts that match no expected entry.
        tls: The TLS level every host must require at least, or None.
        tls_missing: The hosts whose level is below ``tls``.
    """

    domain: str
    expected: tuple[str, ...]
    hosts: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    tls: TLSLevel | None = None
    tls_missing: tuple[str, ...] = ()

    @property
    def holds(self) -> bool:
        """True when nothing is missing, nothing is unexpected and every host has the TLS level."""
        no_hosts = self.tls is not None and not self.hosts  # nothing to require TLS of
        return not self.missing and not self.unexpected and not self.tls_missing and not no_hosts

    def describe(self) -> str:
        """One line: ``holds``, or what is missing and what is unexpected."""
        if self.holds:
            return "holds"
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.unexpected:
            parts.append("unexpected " + ", ".join(self.unexpected))
        if self.tls is not None and not self.hosts:
            parts.append("no mail host to require TLS of")
        if self.tls_missing and self.tls is not None:
            parts.append(f"below TLS {self.tls.value} " + ", ".join(self.tls_missing))
        return "FAILS: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data, ready for JSON."""
        return {
            "holds": self.holds,
            "expected": list(self.expected),
            "hosts": list(self.hosts),
            "missing": list(self.missing),
            "unexpected": list(self.unexpected),
            "tls": None if self.tls is None else self.tls.value,
            "tls_missing": list(self.tls_missing),
        }


def expect_mx(
    subject: MailRoute | AuditReport,
    expected: str | Iterable[str] = (),
    *,
    provider: str | None = None,
    tls: TLSLevel | str | None = None,
) -> ExpectationResult:
    """Compare the mail hosts of a route with the ones expected.

    >>> from mxroute import InMemoryResolver, audit, expect_mx
    >>> fake = InMemoryResolver()
    >>> fake.add("example.com", "MX", "10 mx1.provider.net.", "20 old.example.com.")
    >>> fake.add("mx1.provider.net", "A", "192.0.2.1")
    >>> fake.add("old.example.com", "A", "192.0.2.9")
    >>> result = expect_mx(audit("example.com", fake), "mx1.provider.net,mx2.provider.net")
    >>> result.holds, result.missing, result.unexpected
    (False, ('mx2.provider.net',), ('old.example.com',))

    Args:
        subject: A route, or an audit report (its route; none when routing
            failed, so every entry is missing).
        expected: Host names and ``*.`` patterns, as a comma-separated
            string or an iterable of strings.
        provider: A key of :data:`MX_PROVIDERS`; one more entry, satisfied
            by a host matching any of its patterns.
        tls: A :class:`~mxroute.TLSLevel` (or its value, ``"dane"``) every
            host must require at least; None checks no TLS.

    Returns:
        The result, with what is missing and what is unexpected.

    Raises:
        InvalidInput: An entry is neither a host name nor a pattern, the
            provider is unknown (``.reason`` ``"unknown-provider"``), the
            TLS level is unknown (``"invalid-tls-level"``), or nothing is
            expected (``"invalid-expectation"``).
    """
    return Expectation.parse(expected, provider, tls).check(subject)


@attrs.frozen
class Expectation:
    """Expected entries, checked once, to compare with many routes (the command's)."""

    entries: tuple[_Entry, ...]
    tls: TLSLevel | None = None

    @classmethod
    def parse(
        cls,
        expected: str | Iterable[str] = (),
        provider: str | None = None,
        tls: TLSLevel | str | None = None,
    ) -> Expectation:
        """Check and normalise what is expected, as :func:`expect_mx` takes it."""
        level = None if tls is None else TLSRequirement(tls).level
        return cls(_entries(expected, provider, level), level)

    def check(self, subject: MailRoute | AuditReport) -> ExpectationResult:
        """Compare the hosts of a route or report with the entries."""
        if isinstance(subject, AuditReport):
            domain, route = subject.domain, subject.route
        elif isinstance(subject, MailRoute):
            domain, route = subject.domain, subject
        else:
            raise TypeError(f"expect_mx() takes a MailRoute or an AuditReport, not {subject!r}")
        hosts = tuple(dict.fromkeys(h.name for h in route.hosts)) if route is not None else ()
        entries = self.entries
        return ExpectationResult(
            domain=domain,
            expected=tuple(e.name for e in entries),
            hosts=hosts,
            missing=tuple(e.name for e in entries if not any(e.matches(h) for h in hosts)),
            unexpected=tuple(h for h in hosts if not any(e.matches(h) for e in entries))
            if entries
            else (),
            tls=self.tls,
            tls_missing=self._below(route),
        )

    def _below(self, route: MailRoute | None) -> tuple[str, ...]:
        if self.tls is None or route is None:
            return ()
        rank = self.tls.rank
        return tuple(dict.fromkeys(h.name for h in route.hosts if h.tls.level.rank < rank))


publish(globals())
