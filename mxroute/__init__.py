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
"""

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
from mxroute._exports import adopt
from mxroute._findings import FINDING_CODES, Finding, FindingCode, Severity, make_finding
from mxroute._model import MailHost, MailRoute, MXRecord, RouteKind
from mxroute._mtasts import (
    MemoryPolicyCache,
    PolicyAnswer,
    PolicyCache,
    PolicyRequest,
    SQLitePolicyCache,
)
from mxroute._names import IPAddress, Target, TargetKind, parse_target
from mxroute._planner import Batch, RoutePlan, plan_route
from mxroute._policy import AddressFamily, AddressScope, NextHop, RoutingPolicy
from mxroute._resolvers import (
    Answer,
    AnswerStatus,
    AsyncResolver,
    BatchResolver,
    CacheStats,
    CachingResolver,
    DNSResolver,
    InMemoryResolver,
    Question,
    RData,
    Resolver,
)
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
from mxroute._validate import (
    ADDRESS_REASONS,
    DOMAIN_REASONS,
    Address,
    check_mx_records,
    validate_address,
    validate_domain,
)
from mxroute._verify import CertificateCheck, MissingDependency, check_certificate

__version__ = "0.1.0.dev0"
"""The version of mxroute."""

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


adopt(globals(), __all__)
