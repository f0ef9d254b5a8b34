"""The public surface is one explicit, sorted list, pinned here.

As httpx's ``test_exported_members.py`` does, this lists what ``mxroute`` and
``mxroute.testing`` export: adding or removing a public name is a decision.
The implementation modules are private (their names start with ``_``); the
only public submodules are ``mxroute.cli``, ``mxroute.testing`` and its
pytest plugin.
"""

from __future__ import annotations

import ast
import importlib
import json
import pathlib
import pickle
import pkgutil
import subprocess
import sys

import pytest

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


class TestLazySurface:
    """``import mxroute`` loads each name on first use, from the module its table names."""

    def test_the_table_and_all_list_the_same_names(self):
        assert sorted([*mxroute._PUBLIC, "__version__"]) == mxroute.__all__

    def test_type_checkers_import_every_name_from_the_module_the_table_names(self):
        # The TYPE_CHECKING imports of mxroute/__init__.py, read as the source says them.
        tree = ast.parse(pathlib.Path(mxroute.__file__).read_text(encoding="utf-8"))
        block = next(
            node
            for node in tree.body
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        )
        imported = {
            alias.name: node.module
            for node in block.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert imported == mxroute._PUBLIC

    def test_each_name_is_the_object_its_module_defines(self):
        for name, module in mxroute._PUBLIC.items():
            assert getattr(importlib.import_module(module), name) is getattr(mxroute, name), name

    def test_dir_lists_every_public_name(self):
        assert set(mxroute.__all__) <= set(dir(mxroute))

    def test_an_unknown_name_is_an_attribute_error(self):
        with pytest.raises(AttributeError, match="module 'mxroute' has no attribute 'Routr'"):
            mxroute.Routr  # noqa: B018
        assert not hasattr(mxroute, "Routr")

    def test_each_module_names_mxroute_as_soon_as_it_loads(self):
        # Fresh interpreter: import every private module directly, never asking
        # mxroute for a name, so only each module's own publish() can adopt them.
        out = fresh(
            "import importlib, json, sys, mxroute\n"
            "from mxroute._exports import is_class_or_function\n"
            "wrong = []\n"
            "for name, module in mxroute._PUBLIC.items():\n"
            "    obj = vars(importlib.import_module(module))[name]\n"
            "    if name in vars(mxroute):\n"
            "        wrong.append(name + ' was asked of mxroute')\n"
            "    if is_class_or_function(obj):\n"
            "        if obj.__module__ != 'mxroute':\n"
            "            wrong.append(f'{module}.{name}: {obj.__module__}')\n"
            "print(json.dumps(wrong))"
        )
        assert json.loads(out) == []

    def test_a_route_made_before_its_class_was_asked_for_names_mxroute(self):
        out = fresh(
            "import json, pickle, mxroute\n"
            "f = mxroute.InMemoryResolver()\n"
            "f.add('example.com', 'MX', '10 mx.example.com.')\n"
            "f.add('mx.example.com', 'A', '192.0.2.1')\n"
            "route = mxroute.resolve('alice@example.com', resolver=f)\n"
            "untouched = 'MailRoute' not in vars(mxroute)\n"
            "data = pickle.dumps(route)\n"
            "print(json.dumps([untouched, type(route).__module__, type(route.hosts[0]).__module__,"
            " b'mxroute._' in data, pickle.loads(data) == route]))"
        )
        assert json.loads(out) == [True, "mxroute", "mxroute", False, True]

    def test_star_import_binds_every_public_name(self):
        out = fresh(
            "import json, mxroute\n"
            "space = {}\n"
            "exec('from mxroute import *', space)\n"
            "print(json.dumps(sorted(set(mxroute.__all__) - set(space))))"
        )
        assert json.loads(out) == []


def fresh(code: str) -> str:
    """The last line that ``code`` prints in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.splitlines()[-1]
