"""Monitoring against a real BIND 9: snapshot, change the zone file, restart named, diff.

Also the migration check (``--expect-mx``) before and after the change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mxroute.cli import EX_FAILURE, EX_OK
from tests.bindserver import BindServer

pytestmark = pytest.mark.integration

BEFORE = """\
$ORIGIN monitor.mxtest.
$TTL 3600
@     SOA ns hostmaster 1 3600 600 86400 300
@     NS  ns
ns    A   192.0.2.53
@     MX  10 mx1
@     MX  20 mx2
mx1   A   192.0.2.1
mx1   AAAA 2001:db8::1
mx2   A   192.0.2.2
mx2   AAAA 2001:db8::2
"""

# The migration: mx2 is replaced by a provider's host, mx1 moved, the MX TTL lowered.
AFTER = """\
$ORIGIN monitor.mxtest.
$TTL 3600
@     SOA ns hostmaster 2 3600 600 86400 300
@     NS  ns
ns    A   192.0.2.53
@     120 MX  10 mx1
@     120 MX  20 in1.provider.mxtest.
mx1   A   192.0.2.9
mx1   AAAA 2001:db8::1
"""

PROVIDER = """\
$ORIGIN provider.mxtest.
$TTL 3600
@     SOA ns hostmaster 1 3600 600 86400 300
@     NS  ns
ns    A   192.0.2.53
in1   A   198.51.100.1
in1   AAAA 2001:db8:100::1
"""


def command() -> list[str]:
    found = shutil.which("mxroute", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "mxroute"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def check(server: BindServer, *args: str) -> subprocess.CompletedProcess[str]:
    return run("check", "--nameserver", f"{server.address}:{server.port}", *args)


def test_a_zone_change_on_bind_shows_in_the_diff(tmp_path):
    zone_file = tmp_path / "monitor.zone"
    zone_file.write_text(BEFORE, encoding="utf-8")
    zones = {"monitor.mxtest": zone_file, "provider.mxtest": PROVIDER}
    with BindServer(zones) as server:
        done = check(server, "--json", "monitor.mxtest")
        assert done.returncode == EX_OK, done.stderr
        old = tmp_path / "old.jsonl"
        old.write_text(done.stdout, encoding="utf-8")
        moved = check(
            server, "--expect-mx", "mx1.monitor.mxtest,in1.provider.mxtest", "monitor.mxtest"
        )
        assert moved.returncode == EX_FAILURE  # not migrated yet
        assert "expect: FAILS: missing in1.provider.mxtest; unexpected mx2.monitor.mxtest" in (
            moved.stdout
        )

        zone_file.write_text(AFTER, encoding="utf-8")  # the operator edits the zone
        server.stop()
        server.start()  # named starts again and loads the edited file

        done = check(server, "--json", "monitor.mxtest")
        assert done.returncode == EX_OK, done.stderr
        new = tmp_path / "new.jsonl"
        new.write_text(done.stdout, encoding="utf-8")
        moved = check(
            server, "--expect-mx", "mx1.monitor.mxtest,in1.provider.mxtest", "monitor.mxtest"
        )
        assert moved.returncode == EX_OK, moved.stdout

    same = run("diff", str(old), str(old))
    assert (same.returncode, same.stdout, same.stderr) == (EX_OK, "", "")
    diff = run("diff", str(old), str(new))
    assert diff.returncode == EX_FAILURE, diff.stderr
    assert diff.stdout.splitlines() == [
        "monitor.mxtest: host-added in1.provider.mxtest (20)",
        "monitor.mxtest: host-removed mx2.monitor.mxtest (20)",
        "monitor.mxtest: addresses-changed mx1.monitor.mxtest: 192.0.2.1 2001:db8::1 -> "
        "192.0.2.9 2001:db8::1",
        "monitor.mxtest: ttl-changed: 3600 -> 120",
        "monitor.mxtest: finding-appeared ttl-too-low monitor.mxtest MX (warning)",
        # The backup moved to another provider than the primary's.
        "monitor.mxtest: finding-appeared backup-mx-other-provider in1.provider.mxtest (warning)",
        # mx1 and mx2 shared 192.0.2.0/24 and 2001:db8::/48; mx1 and in1 do not.
        "monitor.mxtest: finding-cleared mx-hosts-same-network monitor.mxtest (warning)",
    ]
    as_json = json.loads(run("diff", "--json", str(old), str(new)).stdout)
    assert [c["kind"] for c in as_json["changes"]] == [
        "host-added",
        "host-removed",
        "addresses-changed",
        "ttl-changed",
        "finding-appeared",
        "finding-appeared",
        "finding-cleared",
    ]
