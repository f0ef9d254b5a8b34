"""DNSResolver's configuration, checked without any network: arguments, system files, protocols."""

from __future__ import annotations

import ipaddress
import math

import pytest

import mxroute
from mxroute._resolvers.dns import (
    DEFAULT_EDNS_PAYLOAD,
    DEFAULT_LIFETIME,
    DEFAULT_TIMEOUT,
    MAX_LIFETIME,
    MAX_TIMEOUT,
    MAX_WORKERS,
)


class TestArguments:
    def test_defaults(self):
        resolver = mxroute.DNSResolver(["192.0.2.53", ipaddress.ip_address("2001:db8::53")])
        assert resolver.nameservers == ("192.0.2.53", "2001:db8::53")
        assert resolver.port == 53
        assert resolver.timeout == DEFAULT_TIMEOUT
        assert resolver.lifetime == DEFAULT_LIFETIME
        assert resolver.edns_payload == DEFAULT_EDNS_PAYLOAD == 1232
        assert (resolver.tcp, resolver.dnssec, resolver.use_additional) == (False, False, True)

    def test_options_are_kept(self):
        resolver = mxroute.DNSResolver(
            ["192.0.2.53"],
            port=5353,
            timeout=0.5,
            lifetime=1,
            tcp=True,
            edns_payload=None,
            use_additional=False,
        )
        assert (resolver.port, resolver.timeout, resolver.lifetime) == (5353, 0.5, 1.0)
        assert resolver.edns_payload is None
        assert resolver.tcp is True
        assert "port=5353" in repr(resolver)

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({"nameservers": ["mx.example.com"]}, "invalid-nameserver"),
            ({"nameservers": ["192.0.2.300"]}, "invalid-nameserver"),
            ({"nameservers": "192.0.2.53"}, "invalid-nameserver"),
            ({"nameservers": [53]}, "invalid-nameserver"),
            ({"nameservers": []}, "no-nameservers"),
            ({"port": 0}, "invalid-port"),
            ({"port": 65536}, "invalid-port"),
            ({"port": "53"}, "invalid-port"),
            ({"port": True}, "invalid-port"),
            ({"timeout": 0}, "invalid-timeout"),
            ({"timeout": -1.0}, "invalid-timeout"),
            ({"timeout": math.nan}, "invalid-timeout"),
            ({"timeout": "2"}, "invalid-timeout"),
            ({"lifetime": math.inf}, "invalid-lifetime"),
            ({"edns_payload": 511}, "invalid-edns-payload"),
            ({"edns_payload": 65536}, "invalid-edns-payload"),
            ({"edns_payload": "1232"}, "invalid-edns-payload"),
            ({"edns_payload": None, "dnssec": True}, "dnssec-needs-edns"),
            ({"tcp": "yes"}, "invalid-option"),
            ({"dnssec": 1}, "invalid-option"),
            ({"use_additional": None}, "invalid-option"),
            ({"max_workers": 0}, "invalid-workers"),
        ],
    )
    def test_bad_argument_raises_invalid_input_with_a_reason(self, kwargs, reason):
        kwargs.setdefault("nameservers", ["192.0.2.53"])
        with pytest.raises(mxroute.InvalidInput) as caught:
            mxroute.DNSResolver(**kwargs)
        assert caught.value.reason == reason
        assert isinstance(caught.value, ValueError)


class TestLimits:
    """Settings past the documented limits are refused at construction, naming the limit."""

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({"timeout": 3e6}, "invalid-timeout"),
            ({"timeout": 1e10}, "invalid-timeout"),
            ({"timeout": MAX_TIMEOUT + 0.001}, "invalid-timeout"),
            ({"lifetime": 3e6}, "invalid-lifetime"),
            ({"lifetime": 1e10}, "invalid-lifetime"),
            ({"lifetime": MAX_LIFETIME + 1}, "invalid-lifetime"),
            ({"max_workers": MAX_WORKERS + 1}, "invalid-workers"),
        ],
    )
    def test_out_of_range_setting_names_the_limit(self, kwargs, reason):
        with pytest.raises(mxroute.InvalidInput) as caught:
            mxroute.DNSResolver(["192.0.2.53"], **kwargs)
        assert caught.value.reason == reason
        limit = "1000" if reason == "invalid-workers" else "at most 3600"
        assert limit in str(caught.value)

    def test_the_limits_themselves_are_allowed(self):
        resolver = mxroute.DNSResolver(
            ["192.0.2.53"], timeout=MAX_TIMEOUT, lifetime=MAX_LIFETIME, max_workers=MAX_WORKERS
        )
        assert (resolver.timeout, resolver.lifetime) == (3600.0, 3600.0)
        assert resolver.max_workers == MAX_WORKERS == 1000

    def test_resolv_conf_timeout_past_the_limit_is_refused(self, tmp_path):
        conf = tmp_path / "resolv.conf"
        conf.write_text("options timeout:100000\nnameserver 192.0.2.1\n")
        with pytest.raises(mxroute.InvalidInput) as caught:
            mxroute.DNSResolver(resolv_conf=conf)
        assert caught.value.reason == "invalid-timeout"


class TestSystemConfiguration:
    def test_nameservers_and_timeout_come_from_resolv_conf(self, tmp_path):
        conf = tmp_path / "resolv.conf"
        conf.write_text(
            "search example.com\noptions timeout:3 ndots:4\n"
            "nameserver 192.0.2.1\nnameserver 2001:db8::1\n"
        )
        resolver = mxroute.DNSResolver(resolv_conf=conf)
        assert resolver.nameservers == ("192.0.2.1", "2001:db8::1")
        assert resolver.timeout == 3.0
        assert resolver.port == 53

    def test_arguments_win_over_resolv_conf(self, tmp_path):
        conf = tmp_path / "resolv.conf"
        conf.write_text("options timeout:3\nnameserver 192.0.2.1\n")
        resolver = mxroute.DNSResolver(resolv_conf=conf, timeout=0.5, port=5300)
        assert (resolver.timeout, resolver.port) == (0.5, 5300)

    def test_resolv_conf_without_nameservers(self, tmp_path):
        conf = tmp_path / "resolv.conf"
        conf.write_text("search example.com\n")
        with pytest.raises(mxroute.InvalidInput) as caught:
            mxroute.DNSResolver(resolv_conf=conf)
        assert caught.value.reason == "no-nameservers"

    def test_missing_resolv_conf(self, tmp_path):
        with pytest.raises(mxroute.InvalidInput) as caught:
            mxroute.DNSResolver(resolv_conf=tmp_path / "absent")
        assert caught.value.reason == "no-nameservers"


class TestQuestions:
    @pytest.fixture
    def resolver(self):
        # A documentation address: these questions fail before anything is sent.
        return mxroute.DNSResolver(["192.0.2.53"], timeout=0.01, lifetime=0.01)

    @pytest.mark.parametrize("name", ["", ".", "a..b", "x" * 64 + ".example", 42, ["a"]])
    def test_bad_name_raises_invalid_input(self, resolver, name):
        with pytest.raises(mxroute.InvalidInput) as caught:
            resolver.query(name, "MX")
        assert caught.value.reason == "invalid-name"

    @pytest.mark.parametrize("rdtype", ["NOPE", "", 15, ["MX"]])
    def test_bad_rdtype_raises_invalid_input(self, resolver, rdtype):
        with pytest.raises(mxroute.InvalidInput) as caught:
            resolver.query("example.com", rdtype)
        assert caught.value.reason == "invalid-rdtype"

    def test_bad_question_in_a_batch_raises_before_any_query(self, resolver):
        questions = [mxroute.Question("example.com", "MX"), mxroute.Question("a..b", "A")]
        with pytest.raises(mxroute.InvalidInput):
            resolver.query_batch(questions)
        assert resolver._executor is None

    @pytest.mark.asyncio
    async def test_bad_name_raises_in_async_too(self, resolver):
        with pytest.raises(mxroute.InvalidInput):
            await resolver.query_async("a..b", "MX")

    def test_implements_all_three_protocols(self, resolver):
        assert isinstance(resolver, mxroute.Resolver)
        assert isinstance(resolver, mxroute.AsyncResolver)
        assert isinstance(resolver, mxroute.BatchResolver)

    def test_is_exported(self):
        from mxroute._resolvers import DNSResolver

        assert mxroute.DNSResolver is DNSResolver


class TestRecordConversion:
    @pytest.mark.parametrize(
        ("rdtype", "texts"),
        [
            ("A", ["192.0.2.1", "192.0.2.2"]),
            ("AAAA", ["2001:db8::1", "::ffff:192.0.2.1"]),
            ("MX", ["10 MX.Example.COM.", "0 ."]),
            ("CNAME", ["Target.Example.COM."]),
            ("TXT", ['"v=spf1 -all"']),
        ],
    )
    def test_records_convert_exactly_like_rdata_value(self, rdtype, texts):
        import dns.rrset

        from mxroute._dns import rdata_value
        from mxroute._resolvers.dns._interpret import values as _values

        rrset = dns.rrset.from_text("example.com.", 300, "IN", rdtype, *texts)
        values = _values(rrset)
        expected = [rdata_value(rdata) for rdata in rrset]
        assert values == expected
        assert [type(v) for v in values] == [type(v) for v in expected]


class TestLazyImports:
    """``import mxroute`` loads neither asyncio nor dns.asyncquery because of this package."""

    ASYNC_MODULES = ("asyncio", "dns.asyncquery", "dns.asyncresolver", "dns.resolver")

    def test_no_module_of_the_package_imports_async_code_at_import_time(self):
        import ast
        import pathlib

        import mxroute._resolvers.dns as package

        for path in pathlib.Path(package.__file__).parent.glob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:  # module level only; TYPE_CHECKING blocks are ast.If
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                assert not set(names) & set(self.ASYNC_MODULES), (path.name, names)

    def test_a_resolver_and_a_sync_query_load_no_async_dnspython(self):
        import subprocess
        import sys

        code = (
            "import sys, mxroute\n"
            # the discard port of loopback: nothing answers, nothing leaves the host
            "r = mxroute.DNSResolver(['127.0.0.1'], port=9, timeout=0.05, lifetime=0.05)\n"
            "r.query_batch([mxroute.Question('example.com', 'A')] * 2)\n"
            "loaded = ('dns.asyncquery', 'dns.asyncresolver')\n"
            "print(sorted(m for m in loaded if m in sys.modules))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "[]"
