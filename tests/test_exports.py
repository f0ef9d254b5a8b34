"""The public surface is one explicit, sorted list, pinned here."""

from __future__ import annotations

import mxroute

EXPECTED = {
    "FINDING_CODES", "AddressFamily", "AddressScope", "Answer", "AnswerStatus",
    "AsyncResolver", "Batch", "BatchResolver", "CacheStats", "CachingResolver", "DNSResolver",
    "Finding", "FindingCode", "IPAddress",
    "InMemoryResolver", "InvalidAddress", "InvalidDomain", "InvalidInput", "InvalidPolicy",
    "MXRecord", "MXRouteError", "MailHost", "MailLoop", "MailRoute", "MailRouteError",
    "NextHop", "NoMailHosts", "NoSuchDomain", "NullMX", "Question", "RData", "Resolver",
    "RouteKind", "RoutePlan", "Router", "RoutingPolicy", "Severity", "Target", "TargetKind",
    "TemporaryRouteError", "__version__", "make_finding", "parse_target", "plan_route",
    "resolve", "to_a_label",
    # audit and command line
    "AuditReport", "RecordingResolver", "audit", "audit_async",
    "ADDRESS_REASONS", "Address", "DOMAIN_REASONS", "check_mx_records", "validate_address",
    "validate_domain",
}  # fmt: skip


def test_all_is_exactly_the_public_surface():
    assert set(mxroute.__all__) == EXPECTED


def test_all_is_sorted_and_unique():
    assert mxroute.__all__ == sorted(set(mxroute.__all__))


def test_every_exported_name_exists_and_has_a_docstring():
    for name in mxroute.__all__:
        obj = getattr(mxroute, name)
        if name in {"__version__", "IPAddress", "RData", "Batch", "RoutePlan", "FINDING_CODES"}:
            continue
        assert (obj.__doc__ or "").strip(), name


def test_version_is_a_pep440_string():
    assert mxroute.__version__.split(".")[0].isdigit()
