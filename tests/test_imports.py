"""``import mxroute`` stays cheap: no asyncio, no async dnspython, until first async use.

Each check runs in a fresh interpreter, since this test process has long
imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# dns.asyncbackend is left out: dns.query itself imports it (it loads no asyncio).
ASYNC_MODULES = ("asyncio", "dns.asyncquery", "dns.asyncresolver")


def loaded_after(code: str) -> list[str]:
    """The modules of ASYNC_MODULES that a fresh interpreter has loaded after ``code``."""
    report = f"print(json.dumps([m for m in {ASYNC_MODULES!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(out.stdout.splitlines()[-1]))


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
