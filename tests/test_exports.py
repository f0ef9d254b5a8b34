"""The public surface is one explicit, sorted list, pinned here.

As httpx's ``test_exported_members.py`` does, this lists what ``mxroute`` and
``mxroute.testing`` export: adding or removing a public name is a decision.
The implementation modules are private (their names start with ``_``); the
only public submodules are ``mxroute.cli``, ``mxroute.testing`` and its
pytest plugin.
"""

from __future__ import annotations

import pickle
import pkgutil

import mxroute
import mxroute.testing
from mxroute._exports import is_class_or_function

EXPECTED = {
    "FINDING_CODES", "AddressFamily", "AddressScope", "Answer", "AnswerStatus",
    "AsyncResolver", "Batch", "BatchResolver", "CacheStats", "CachingResolver", "DNSResolver",
    "Finding", "FindingCode", "IPAddress",
    "InMemoryResolver", "InvalidAddress", "InvalidDomain", "InvalidInput", "InvalidPolicy",
    "MXRecord", "MXRouteError", "MailHost", "MailLoop", "MailRoute", "MailRouteError",
    "NextHop", "NoMailHosts", "NoSuchDomain", "NullMX", "Question", "RData", "Resolver",
    "RouteKind", "RoutePlan", "Router", "RoutingPolicy", "Severity", "Target", "TargetKind",
    "TemporaryRouteError", "__version__", "make_finding", "parse_target", "plan_route",
    "resolve", "UnsupportedEventLoop",
    # audit and command line
    "AuditReport", "RecordingResolver", "audit", "audit_async",
    # bulk runs
    "DEFAULT_CONCURRENCY", "audit_many", "audit_many_async",
    "ADDRESS_REASONS", "Address", "DOMAIN_REASONS", "check_mx_records", "validate_address",
    "validate_domain",
    # operators: expectations, snapshots
    "ExpectationResult", "MX_PROVIDERS", "expect_mx",
    "ChangeKind", "SnapshotChange", "SnapshotDiff", "diff_snapshots",
    # connecting (issue 12)
    "Attempt", "AsyncConnection", "AsyncConnector", "AttemptOutcome", "AttemptRecord",
    "Connection", "Connector", "DeliveryPlan", "HostsUnreachable", "MemoryMode",
    "SocketConnector", "Unreachable", "UnreachableMemory", "UnreachableStore", "connect",
    "connect_async",
    # transport security
    "MTASTSMode", "MTASTSPolicy", "MTASTSRecord", "TLSARecord", "TLSLevel", "TLSRequirement",
    "TLSFailure", "TLSRPTRecord", "CertificateCheck", "MissingDependency", "check_certificate",
    # MTA-STS policy fetching
    "AsyncPolicyFetcher", "HTTPSPolicyFetcher", "PolicyFetcher", "PolicyResponse",
    # MTA-STS in routing
    "MemoryPolicyCache", "PolicyAnswer", "PolicyCache", "PolicyRequest", "SQLitePolicyCache",
}  # fmt: skip


TESTING = [
    "Delivery",
    "FakeNetwork",
    "FakePolicyFetcher",
    "InMemoryResolver",
    "Outcome",
    "assert_not_queried",
    "assert_queried",
    "patch_dnspython",
]


def test_all_is_exactly_the_public_surface():
    assert set(mxroute.__all__) == EXPECTED


def test_all_is_sorted_and_unique():
    assert mxroute.__all__ == sorted(set(mxroute.__all__))


def test_every_exported_name_exists_and_has_a_docstring():
    for name in mxroute.__all__:
        obj = getattr(mxroute, name)
        if name in {
            "__version__",
            "IPAddress",
            "RData",
            "Batch",
            "RoutePlan",
            "FINDING_CODES",
            "MX_PROVIDERS",
        }:
            continue
        assert (obj.__doc__ or "").strip(), name


def test_version_is_a_pep440_string():
    assert mxroute.__version__.split(".")[0].isdigit()


def test_testing_exports_exactly_the_pinned_names():
    assert sorted(mxroute.testing.__all__) == sorted(TESTING)


def test_every_public_name_exists_and_has_a_docstring():
    for module, names in ((mxroute, mxroute.__all__), (mxroute.testing, TESTING)):
        for name in names:
            obj = getattr(module, name)
            if is_class_or_function(obj):
                assert (obj.__doc__ or "").strip(), f"{module.__name__}.{name}"


def test_public_classes_and_functions_name_the_public_module():
    for name in mxroute.__all__:
        obj = getattr(mxroute, name)
        if is_class_or_function(obj):
            assert obj.__module__ == "mxroute", name
    assert mxroute.NullMX.__module__ == "mxroute"


def test_only_cli_and_testing_are_public_submodules():
    public = sorted(
        info.name
        for info in pkgutil.walk_packages(mxroute.__path__, "mxroute.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
    )
    assert public == ["mxroute.cli", "mxroute.testing", "mxroute.testing.plugin"]


def test_public_errors_pickle_by_their_public_name():
    data = pickle.dumps(mxroute.RouteKind.MX)
    assert b"mxroute._" not in data
    assert pickle.loads(data) is mxroute.RouteKind.MX
