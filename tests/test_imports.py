"""``import mxroute`` stays cheap, and the light calls load only what they use.

Each check runs in a fresh interpreter, since this test process has long
imported everything. The checks name modules, never timings: the figures
live in ``benchmarks/import_time.py`` and docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# dns.asyncbackend is left out: dns.query itself imports it (it loads no asyncio).
ASYNC_MODULES = ("asyncio", "dns.asyncquery", "dns.asyncresolver")

# What costs start-up time: dnspython (its name module reads importlib.metadata,
# which pulls in the email package), its zone and network machinery, attrs,
# idna, asyncio, typing.
HEAVY = (
    "asyncio",
    "attrs",
    "dns",
    "dns.asyncquery",
    "dns.asyncresolver",
    "dns.message",
    "dns.name",
    "dns.query",
    "dns.rdata",
    "dns.resolver",
    "dns.zone",
    "idna",
    "importlib.metadata",
    "typing",
)

MX_PARSE = "import mxroute; mxroute.MXRecord.parse('10 mx.example.com.')"
VALIDATE = "import mxroute; mxroute.validate_address('alice@example.com')"
RESOLVE_IN_MEMORY = (
    "import mxroute; f = mxroute.InMemoryResolver();"
    " f.add('example.com', 'MX', '10 mx.example.com.'); f.add('mx.example.com', 'A', '192.0.2.1');"
    " mxroute.resolve('alice@example.com', resolver=f)"
)


def modules_after(code: str) -> list[str]:
    """The names of every module that a fresh interpreter has loaded after ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(out.stdout.splitlines()[-1]))


def loaded_after(code: str, watched: tuple[str, ...] = ASYNC_MODULES) -> list[str]:
    """The modules of ``watched`` that a fresh interpreter has loaded after ``code``."""
    loaded = set(modules_after(code))
    return [name for name in watched if name in loaded]


@pytest.mark.parametrize(
    "code",
    [
        "import mxroute",
        "import mxroute; mxroute.validate_address('alice@example.com')",
        "import mxroute; mxroute.check_mx_records(['10 mx.example.com.'])",
        "import mxroute; mxroute.DNSResolver(['127.0.0.1'])",
        "import mxroute; f = mxroute.InMemoryResolver(); f.add('example.com', 'MX', '0 .');"
        " mxroute.audit('example.com', resolver=f)",
    ],
)
def test_sync_use_loads_no_async_module(code: str) -> None:
    assert loaded_after(code) == []


def test_async_use_loads_asyncio_then() -> None:
    code = (
        "import asyncio, mxroute\n"
        "f = mxroute.InMemoryResolver(); f.add('example.com', 'MX', '0 .')\n"
        "r = asyncio.run(mxroute.audit_async('example.com', resolver=f))"
    )
    assert "asyncio" in loaded_after(code)  # the probe can see what it must not see above


class TestLightCallsLoadOnlyWhatTheyUse:
    def test_import_mxroute_loads_no_heavy_module(self) -> None:
        assert loaded_after("import mxroute", HEAVY) == []

    def test_import_mxroute_loads_no_implementation_module(self) -> None:
        ours = [name for name in modules_after("import mxroute") if name.startswith("mxroute")]
        assert ours == ["mxroute", "mxroute._exports"]

    @pytest.mark.parametrize("code", [MX_PARSE, VALIDATE], ids=["MXRecord.parse", "validate"])
    def test_parsing_and_validating_load_no_dnspython(self, code: str) -> None:
        dnspython = tuple(name for name in HEAVY if name.startswith("dns"))
        routing = ("mxroute._planner", "mxroute._dns", "mxroute._router")
        assert loaded_after(code, (*dnspython, "importlib.metadata", "asyncio", *routing)) == []

    def test_resolving_in_memory_loads_no_zone_network_or_async_machinery(self) -> None:
        # InMemoryResolver.add reads record text with dnspython (dns.rdata,
        # dns.name); zone files, messages, sockets and the MTA-STS fetcher's
        # ssl are not needed.
        watched = ("dns.zone", "dns.message", "dns.query", "dns.resolver", "ssl", *ASYNC_MODULES)
        assert loaded_after(RESOLVE_IN_MEMORY, watched) == []

    def test_reading_a_zone_loads_the_zone_machinery_then(self) -> None:
        code = "import mxroute; mxroute.InMemoryResolver.from_zone('@ 60 IN A 192.0.2.1', 'a.test')"
        assert loaded_after(code, ("dns.zone",)) == ["dns.zone"]  # the probe sees it when used


class TestImportTimeBenchmark:
    """benchmarks/import_time.py keeps working; only the structure of its output is checked."""

    def test_it_reports_each_import_and_each_light_call(self) -> None:
        script = Path(__file__).parent.parent / "benchmarks" / "import_time.py"
        done = subprocess.run(
            [sys.executable, str(script), "--runs", "1", "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        figures = {entry["module"]: entry for entry in json.loads(done.stdout)}
        assert list(figures) == [
            "mxroute",
            "email_validator",
            "dns.resolver",
            "mxroute.MXRecord.parse",
            "mxroute.validate_address",
            "mxroute.resolve(InMemoryResolver)",
            "email_validator.validate_email (no DNS)",
        ]
        assert all(entry["seconds"] > 0 for entry in figures.values())
        assert figures["mxroute"]["watched"] == []
        assert figures["dns.resolver"]["watched"] == ["dns.asyncquery"]
