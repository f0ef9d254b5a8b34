"""Every public value and error pickles and deep-copies, its attributes intact.

The list is taken from ``mxroute.__all__``: a new public class must get a
sample here (or a reason why it is not a value), so none can be forgotten.
"""

from __future__ import annotations

import copy
import enum
import inspect
import ipaddress
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import mxroute
from mxroute import InMemoryResolver
from mxroute._exports import is_class_or_function

ZONE = """
$ORIGIN example.com.
$TTL 300
@   SOA ns hostmaster 1 7200 900 1209600 60
@   MX  10 mx
mx  A   192.0.2.25
"""


def _fake() -> InMemoryResolver:
    fake = InMemoryResolver.from_zone(ZONE)
    fake.fail("broken.example", "MX", error="timeout")
    fake.script("example.com", "A", ["servfail", None])
    fake.delay("slow.example", 0.5)
    fake.use_additional = True
    return fake


def _finding() -> mxroute.Finding:
    return mxroute.make_finding("single-mx", "example.com")


def _route() -> mxroute.MailRoute:
    return mxroute.resolve("alice@example.com", resolver=_fake())


def _route_report() -> mxroute.AuditReport:
    return mxroute.audit("example.com", resolver=_fake())


def _record() -> mxroute.AttemptRecord:
    outcome = mxroute.AttemptOutcome.REFUSED
    return mxroute.AttemptRecord("mx.example.com", _route().hosts[0].addresses[0], 25, outcome,
                                 "Connection refused", 0.001, 0.0005)  # fmt: skip


_POLICY = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n"

SAMPLES: dict[str, Callable[[], object]] = {
    # values
    "Address": lambda: mxroute.validate_address("Alice@Example.COM"),
    "Answer": lambda: _fake().query("example.com", "MX"),
    "AuditReport": lambda: mxroute.audit("example.com", resolver=_fake()),
    "CacheStats": lambda: mxroute.CachingResolver(_fake()).stats,
    "Finding": _finding,
    "FindingCode": lambda: mxroute.FINDING_CODES["single-mx"],
    "InMemoryResolver": _fake,
    "MXRecord": lambda: mxroute.MXRecord(10, "mx.example.com", ttl=300),
    "MailHost": lambda: mxroute.MailHost("mx.example.com", 10, ["192.0.2.25"], 587),
    "MailRoute": _route,
    "MTASTSPolicy": lambda: mxroute.MTASTSPolicy("abc", "enforce", ["*.example.net"], 86400),
    "MTASTSRecord": lambda: mxroute.MTASTSRecord.parse("v=STSv1; id=abc;"),
    "TLSRPTRecord": lambda: mxroute.TLSRPTRecord.parse("v=TLSRPTv1; rua=mailto:r@example.com"),
    "CertificateCheck": lambda: mxroute.CertificateCheck(
        False, mxroute.TLSLevel.DANE, "tlsa-no-match", "no match", mxroute.TLSFailure.TLSA_INVALID
    ),
    "TLSARecord": lambda: mxroute.TLSARecord.parse("3 1 1 " + "ab" * 32),
    "TLSRequirement": lambda: mxroute.TLSRequirement(
        "dane", [mxroute.TLSARecord(3, 1, 1, b"\x01" * 32)], ["mx.example.net"], "dane"
    ),
    "NextHop": lambda: mxroute.NextHop.parse("[relay.example]:587"),
    "PolicyResponse": lambda: mxroute.PolicyResponse.failure("http-status", "HTTP 404 Not Found"),
    "PolicyRequest": lambda: mxroute.PolicyRequest(
        "example.com", "abc", [ipaddress.ip_address("192.0.2.80")], refresh=True
    ),
    "PolicyAnswer": lambda: mxroute.PolicyAnswer(
        "example.com", mxroute.MTASTSPolicy.parse(_POLICY, id="abc"), error="tls", detail="expired"
    ),
    "Question": lambda: mxroute.Question("example.com", "MX"),
    "RoutingPolicy": lambda: mxroute.RoutingPolicy(
        relayhost="[relay.example]:587", local_names=["mx.example.com"], max_hosts=5
    ),
    "Target": lambda: mxroute.parse_target("alice@example.com"),
    "ExpectationResult": lambda: mxroute.expect_mx(_route(), "mx.example.com,mx2.example.com"),
    "SnapshotChange": lambda: mxroute.SnapshotChange(
        mxroute.ChangeKind.ADDRESSES_CHANGED, "example.com", "mx.example.com", ("192.0.2.1",)
    ),
    "SnapshotDiff": lambda: mxroute.diff_snapshots([], _route_report()),
    "DeliveryPlan": lambda: _route().plan(),
    "Attempt": lambda: _route().plan().attempts[0],
    "AttemptRecord": lambda: _record(),
    "Unreachable": lambda: mxroute.UnreachableMemory().record_failure(
        _route().hosts[0].addresses[0], 25, "refused"
    ),
    # errors
    "MXRouteError": lambda: mxroute.MXRouteError("something went wrong"),
    "InvalidInput": lambda: mxroute.InvalidInput("invalid-ttl", "ttl must be ...", "-1"),
    "InvalidDomain": lambda: mxroute.InvalidDomain("empty-label", "an empty label", "a..b"),
    "InvalidAddress": lambda: mxroute.InvalidAddress(
        "invalid-domain", "bad domain", "a@b..c", "empty-label"
    ),
    "InvalidPolicy": lambda: mxroute.InvalidPolicy("invalid-next-hop", "bad hop", "[x"),
    "MailRouteError": lambda: mxroute.MailRouteError("example.com", "failed", [_finding()]),
    "TemporaryRouteError": lambda: mxroute.TemporaryRouteError(
        "example.com", "SERVFAIL", [_finding()]
    ),
    "NoSuchDomain": lambda: mxroute.NoSuchDomain("nowhere.example", "NXDOMAIN"),
    "MissingDependency": lambda: mxroute.MissingDependency("needs the 'cryptography' package"),
    "NullMX": lambda: mxroute.NullMX("example.com", "null MX", [_finding()]),
    "UnsupportedEventLoop": lambda: mxroute.UnsupportedEventLoop("resolve_async() needs asyncio"),
    "NoMailHosts": lambda: mxroute.NoMailHosts("example.com", "no host"),
    "MailLoop": lambda: mxroute.MailLoop("example.com", "loop", [_finding()]),
    "HostsUnreachable": lambda: mxroute.HostsUnreachable(
        "example.com", "no host took a connection", [_finding()], [_record()]
    ),
}

NOT_VALUES = {
    # Behaviour, not data: they hold sockets, thread pools, locks or a cache in use.
    "Router": "holds a resolver and a random source in use",
    "DNSResolver": "holds sockets and a thread pool",
    "CachingResolver": "holds a lock and a live cache",
    "RecordingResolver": "wraps a live resolver",
    "UnreachableMemory": "holds a lock and a live store",
    "Connection": "holds a connected socket",
    "AsyncConnection": "holds connected streams",
    "SocketConnector": "behaviour: it opens connections",
    "HTTPSPolicyFetcher": "holds an SSL context",
    # Protocols: nothing to instantiate.
    "Resolver": "a protocol",
    "AsyncResolver": "a protocol",
    "BatchResolver": "a protocol",
    "UnreachableStore": "a protocol",
    "Connector": "a protocol",
    "AsyncConnector": "a protocol",
    "PolicyFetcher": "a protocol",
    "AsyncPolicyFetcher": "a protocol",
    "PolicyCache": "a protocol",
    "MemoryPolicyCache": "holds a lock and a live cache",
    "SQLitePolicyCache": "stands for a file in use",
}


def _public_classes() -> list[str]:
    return [
        name
        for name in mxroute.__all__
        if is_class_or_function(getattr(mxroute, name))
        and inspect.isclass(getattr(mxroute, name))
        and not issubclass(getattr(mxroute, name), enum.Enum)
    ]


def _state(value: object) -> Any:
    """What must survive a copy: the value itself, or an object's attributes."""
    if isinstance(value, BaseException):
        return (type(value), value.args, str(value), vars(value))
    if isinstance(value, InMemoryResolver):
        return (
            repr(value),
            value.queries,
            value.query("example.com", "MX"),
            value.query("broken.example", "MX").status,
            value.query("example.com", "A").status,  # the script's first step
            value.query("example.com", "A").status,  # then the records
        )
    return value


def test_every_public_class_has_a_sample_or_a_reason():
    missing = [n for n in _public_classes() if n not in SAMPLES and n not in NOT_VALUES]
    assert missing == [], f"add a sample to SAMPLES (or a reason to NOT_VALUES) for {missing}"
    assert sorted(set(SAMPLES) & set(NOT_VALUES)) == []


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_values_and_errors_survive_pickle_and_deepcopy(name, how):
    original = SAMPLES[name]()
    assert type(original) is getattr(mxroute, name)
    if how == "pickle":
        copied = pickle.loads(pickle.dumps(original, protocol=pickle.HIGHEST_PROTOCOL))
    else:
        copied = copy.deepcopy(original)
    assert type(copied) is type(original)
    assert _state(copied) == _state(original)


def test_a_copied_fake_is_independent_of_the_original():
    fake = _fake()
    copied = pickle.loads(pickle.dumps(fake))
    copied.add("new.example", "A", "192.0.2.9")
    copied.query("new.example", "A")
    assert fake.query("new.example", "A").status is mxroute.AnswerStatus.NXDOMAIN
    assert ("new.example", "A") in copied.queries
    with pytest.raises(mxroute.InvalidInput):
        copied.latency = -1  # a copy checks its settings too


@pytest.mark.parametrize(
    "member",
    [m for name in mxroute.__all__ if isinstance(getattr(mxroute, name), enum.EnumMeta)
     for m in getattr(mxroute, name)],
    ids=str,
)  # fmt: skip
def test_enum_members_stay_themselves(member):
    assert pickle.loads(pickle.dumps(member)) is member
    assert copy.deepcopy(member) is member
