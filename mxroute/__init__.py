"""Mail routing as RFC 5321 §5.1 prescribes.

mxroute answers, for a recipient, which hosts to connect to, in which order,
and what to do when the lookup fails.

>>> import mxroute
>>> fake = mxroute.InMemoryResolver()
>>> fake.add("example.com", "MX", "0 .")
>>> mxroute.resolve("alice@example.com", resolver=fake)
Traceback (most recent call last):
...
mxroute.NullMX: example.com publishes a null MX (RFC 7505): it accepts no mail

``import mxroute`` loads no implementation module: each public name is loaded
from its private module on first use (PEP 562), so that a program that only
validates addresses never pays for the DNS machinery.
"""

from mxroute import _exports

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs start-up time

__version__ = "0.1.0.dev0"
"""The version of mxroute."""

# To add a public name: one line here (the name and the private module that
# defines it), the name in __all__, and its import in the TYPE_CHECKING block
# at the end (what type checkers read); tests/test_exports.py names any of the
# three that is missing. A new private module that defines public classes or
# functions ends with `publish(globals())` (mxroute._exports), so that they
# name `mxroute` as their module however they were reached.
_PUBLIC: dict[str, str] = {
    # name: the private module that defines it (and is imported on first use)
    "ADDRESS_REASONS": "mxroute._names",
    "Address": "mxroute._validate",
    "AddressFamily": "mxroute._policy",
    "AddressScope": "mxroute._policy",
    "Answer": "mxroute._dns",
    "AnswerStatus": "mxroute._dns",
    "AsyncConnection": "mxroute._connect",
    "AsyncConnector": "mxroute._connect",
    "AsyncPolicyFetcher": "mxroute._stsfetch",
    "AsyncResolver": "mxroute._dns",
    "Attempt": "mxroute._attempts",
    "AttemptOutcome": "mxroute._connect",
    "AttemptRecord": "mxroute._connect",
    "AuditReport": "mxroute._audit",
    "Batch": "mxroute._planner",
    "BatchResolver": "mxroute._dns",
    "CacheStats": "mxroute._resolvers.caching",
    "CachingResolver": "mxroute._resolvers.caching",
    "CertificateCheck": "mxroute._verify",
    "ChangeKind": "mxroute._snapshot",
    "Connection": "mxroute._connect",
    "Connector": "mxroute._connect",
    "DEFAULT_CONCURRENCY": "mxroute._bulk",
    "DNSResolver": "mxroute._resolvers.dns",
    "DOMAIN_REASONS": "mxroute._names",
    "DeliveryPlan": "mxroute._attempts",
    "ExpectationResult": "mxroute._expect",
    "FINDING_CODES": "mxroute._findings",
    "Finding": "mxroute._findings",
    "FindingCode": "mxroute._findings",
    "HTTPSPolicyFetcher": "mxroute._stsfetch",
    "HostsUnreachable": "mxroute._errors",
    "IPAddress": "mxroute._names",
    "InMemoryResolver": "mxroute._resolvers.memory",
    "InvalidAddress": "mxroute._errors",
    "InvalidDomain": "mxroute._errors",
    "InvalidInput": "mxroute._errors",
    "InvalidPolicy": "mxroute._errors",
    "MTASTSMode": "mxroute._tls",
    "MTASTSPolicy": "mxroute._tls",
    "MTASTSRecord": "mxroute._tls",
    "MXRecord": "mxroute._model",
    "MXRouteError": "mxroute._errors",
    "MX_PROVIDERS": "mxroute._expect",
    "MailHost": "mxroute._model",
    "MailLoop": "mxroute._errors",
    "MailRoute": "mxroute._model",
    "MailRouteError": "mxroute._errors",
    "MemoryMode": "mxroute._attempts",
    "MemoryPolicyCache": "mxroute._mtasts",
    "MissingDependency": "mxroute._verify",
    "NextHop": "mxroute._policy",
    "NoMailHosts": "mxroute._errors",
    "NoSuchDomain": "mxroute._errors",
    "NullMX": "mxroute._errors",
    "PolicyAnswer": "mxroute._mtasts",
    "PolicyCache": "mxroute._mtasts",
    "PolicyFetcher": "mxroute._stsfetch",
    "PolicyRequest": "mxroute._mtasts",
    "PolicyResponse": "mxroute._stsfetch",
    "Question": "mxroute._dns",
    "RData": "mxroute._dns",
    "RecordingResolver": "mxroute._resolvers.recording",
    "Resolver": "mxroute._dns",
    "RouteKind": "mxroute._model",
    "RoutePlan": "mxroute._planner",
    "Router": "mxroute._router",
    "RoutingPolicy": "mxroute._policy",
    "SQLitePolicyCache": "mxroute._mtasts",
    "Severity": "mxroute._findings",
    "SnapshotChange": "mxroute._snapshot",
    "SnapshotDiff": "mxroute._snapshot",
    "SocketConnector": "mxroute._connect",
    "TLSARecord": "mxroute._tls",
    "TLSFailure": "mxroute._tls",
    "TLSLevel": "mxroute._tls",
    "TLSRPTRecord": "mxroute._tls",
    "TLSRequirement": "mxroute._tls",
    "Target": "mxroute._names",
    "TargetKind": "mxroute._names",
    "TemporaryRouteError": "mxroute._errors",
    "Unreachable": "mxroute._attempts",
    "UnreachableMemory": "mxroute._attempts",
    "UnreachableStore": "mxroute._attempts",
    "UnsupportedEventLoop": "mxroute._errors",
    "audit": "mxroute._audit",
    "audit_async": "mxroute._audit",
    "audit_many": "mxroute._audit",
    "audit_many_async": "mxroute._audit",
    "check_certificate": "mxroute._verify",
    "check_mx_records": "mxroute._validate",
    "connect": "mxroute._connect",
    "connect_async": "mxroute._connect",
    "diff_snapshots": "mxroute._snapshot",
    "expect_mx": "mxroute._expect",
    "make_finding": "mxroute._findings",
    "parse_target": "mxroute._names",
    "plan_route": "mxroute._planner",
    "resolve": "mxroute._router",
    "validate_address": "mxroute._validate",
    "validate_domain": "mxroute._validate",
}

__all__ = [
    "ADDRESS_REASONS",
    "Address",
    "AddressFamily",
    "AddressScope",
    "Answer",
    "AnswerStatus",
    "AsyncConnection",
    "AsyncConnector",
    "AsyncPolicyFetcher",
    "AsyncResolver",
    "Attempt",
    "AttemptOutcome",
    "AttemptRecord",
    "AuditReport",
    "Batch",
    "BatchResolver",
    "CacheStats",
    "CachingResolver",
    "CertificateCheck",
    "ChangeKind",
    "Connection",
    "Connector",
    "DEFAULT_CONCURRENCY",
    "DNSResolver",
    "DOMAIN_REASONS",
    "DeliveryPlan",
    "ExpectationResult",
    "FINDING_CODES",
    "Finding",
    "FindingCode",
    "HTTPSPolicyFetcher",
    "HostsUnreachable",
    "IPAddress",
    "InMemoryResolver",
    "InvalidAddress",
    "InvalidDomain",
    "InvalidInput",
    "InvalidPolicy",
    "MTASTSMode",
    "MTASTSPolicy",
    "MTASTSRecord",
    "MXRecord",
    "MXRouteError",
    "MX_PROVIDERS",
    "MailHost",
    "MailLoop",
    "MailRoute",
    "MailRouteError",
    "MemoryMode",
    "MemoryPolicyCache",
    "MissingDependency",
    "NextHop",
    "NoMailHosts",
    "NoSuchDomain",
    "NullMX",
    "PolicyAnswer",
    "PolicyCache",
    "PolicyFetcher",
    "PolicyRequest",
    "PolicyResponse",
    "Question",
    "RData",
    "RecordingResolver",
    "Resolver",
    "RouteKind",
    "RoutePlan",
    "Router",
    "RoutingPolicy",
    "SQLitePolicyCache",
    "Severity",
    "SnapshotChange",
    "SnapshotDiff",
    "SocketConnector",
    "TLSARecord",
    "TLSFailure",
    "TLSLevel",
    "TLSRPTRecord",
    "TLSRequirement",
    "Target",
    "TargetKind",
    "TemporaryRouteError",
    "Unreachable",
    "UnreachableMemory",
    "UnreachableStore",
    "UnsupportedEventLoop",
    "__version__",
    "audit",
    "audit_async",
    "audit_many",
    "audit_many_async",
    "check_certificate",
    "check_mx_records",
    "connect",
    "connect_async",
    "diff_snapshots",
    "expect_mx",
    "make_finding",
    "parse_target",
    "plan_route",
    "resolve",
    "validate_address",
    "validate_domain",
]

if TYPE_CHECKING:
    # What type checkers see: the same names, imported for real.
    from mxroute._attempts import (
        Attempt,
        DeliveryPlan,
        MemoryMode,
        Unreachable,
        UnreachableMemory,
        UnreachableStore,
    )
    from mxroute._audit import AuditReport, audit, audit_async, audit_many, audit_many_async
    from mxroute._bulk import DEFAULT_CONCURRENCY
    from mxroute._connect import (
        AsyncConnection,
        AsyncConnector,
        AttemptOutcome,
        AttemptRecord,
        Connection,
        Connector,
        SocketConnector,
        connect,
        connect_async,
    )
    from mxroute._dns import (
        Answer,
        AnswerStatus,
        AsyncResolver,
        BatchResolver,
        Question,
        RData,
        Resolver,
    )
    from mxroute._errors import (
        HostsUnreachable,
        InvalidAddress,
        InvalidDomain,
        InvalidInput,
        InvalidPolicy,
        MailLoop,
        MailRouteError,
        MXRouteError,
        NoMailHosts,
        NoSuchDomain,
        NullMX,
        TemporaryRouteError,
        UnsupportedEventLoop,
    )
    from mxroute._expect import MX_PROVIDERS, ExpectationResult, expect_mx
    from mxroute._findings import FINDING_CODES, Finding, FindingCode, Severity, make_finding
    from mxroute._model import MailHost, MailRoute, MXRecord, RouteKind
    from mxroute._mtasts import (
        MemoryPolicyCache,
        PolicyAnswer,
        PolicyCache,
        PolicyRequest,
        SQLitePolicyCache,
    )
    from mxroute._names import (
        ADDRESS_REASONS,
        DOMAIN_REASONS,
        IPAddress,
        Target,
        TargetKind,
        parse_target,
    )
    from mxroute._planner import Batch, RoutePlan, plan_route
    from mxroute._policy import AddressFamily, AddressScope, NextHop, RoutingPolicy
    from mxroute._resolvers.caching import CacheStats, CachingResolver
    from mxroute._resolvers.dns import DNSResolver
    from mxroute._resolvers.memory import InMemoryResolver
    from mxroute._resolvers.recording import RecordingResolver
    from mxroute._router import Router, resolve
    from mxroute._snapshot import ChangeKind, SnapshotChange, SnapshotDiff, diff_snapshots
    from mxroute._stsfetch import (
        AsyncPolicyFetcher,
        HTTPSPolicyFetcher,
        PolicyFetcher,
        PolicyResponse,
    )
    from mxroute._tls import (
        MTASTSMode,
        MTASTSPolicy,
        MTASTSRecord,
        TLSARecord,
        TLSFailure,
        TLSLevel,
        TLSRequirement,
        TLSRPTRecord,
    )
    from mxroute._validate import Address, check_mx_records, validate_address, validate_domain
    from mxroute._verify import CertificateCheck, MissingDependency, check_certificate
else:
    # Hidden from type checkers, so that a misspelt name stays an error for them.
    __getattr__, __dir__ = _exports.lazy(globals(), _PUBLIC)
