"""Session fixtures: real BIND 9 servers on 127.0.0.1 serving tests/integration/zones.

* ``bind``: authoritative (recursion off), additional section on (MX answers
  carry the addresses of in-zone exchanges); zones ``mxtest``,
  ``xn--bcher-kva.mxtest`` (bücher), ``refused.mxtest`` (``allow-query
  { none; }``: REFUSED) and ``broken.mxtest`` (a file that does not load:
  SERVFAIL). Names outside these zones are REFUSED.
* ``bind_minimal``: the ``mxtest`` zone with ``minimal-responses yes``.
* ``silent``: a UDP and TCP port that never answers.
* ``dnssec_resolver_port``: a validating recursive named forwarding to an
  authoritative one that serves ``secure.mxtest``, signed at session start.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

import mxroute
from tests.bindserver import BindServer, SilentServer, sign_zone
from tests.integration.servers import ZONES

MAIN_ZONES = {
    "mxtest": ZONES / "mxtest.zone",
    "xn--bcher-kva.mxtest": ZONES / "idn.zone",
    "refused.mxtest": ZONES / "refused.zone",
    "broken.mxtest": ZONES / "broken.zone",
}
# Zone checks off: the zone deliberately has an MX pointing at a CNAME and at
# an IP address, which named would otherwise only warn about.
CHECKS_OFF = (
    "check-names primary ignore; check-mx ignore; check-mx-cname ignore; check-integrity no;"
)


@pytest.fixture(scope="session")
def bind() -> Iterator[BindServer]:
    """The main authoritative server."""
    with BindServer(
        MAIN_ZONES,
        zone_options={"refused.mxtest": "allow-query { none; };"},
        options=CHECKS_OFF,
    ) as server:
        yield server


@pytest.fixture(scope="session")
def bind_minimal() -> Iterator[BindServer]:
    """The ``mxtest`` zone served with ``minimal-responses yes`` (no additional section)."""
    with BindServer(
        {"mxtest": ZONES / "mxtest.zone"}, minimal_responses=True, options=CHECKS_OFF
    ) as server:
        yield server


@pytest.fixture(scope="session")
def silent() -> Iterator[SilentServer]:
    """A server that reads queries and never answers."""
    with SilentServer() as server:
        yield server


@pytest.fixture(scope="session")
def dnssec_resolver_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a validating recursive named with a trust anchor for secure.mxtest."""
    signed, anchor = sign_zone(
        (ZONES / "secure.zone").read_text(encoding="utf-8"),
        "secure.mxtest",
        tmp_path_factory.mktemp("dnssec"),
    )
    zones: dict[str, str | pathlib.Path] = {
        "mxtest": ZONES / "mxtest.zone",
        "secure.mxtest": signed,
    }
    with (
        BindServer(zones, options=CHECKS_OFF) as authoritative,
        BindServer(
            {},
            recursion=True,
            dnssec_validation=True,
            forward_to=authoritative.port,
            config=anchor,
        ) as recursive,
    ):
        yield recursive.port


@pytest.fixture
def resolver(bind: BindServer) -> Iterator[mxroute.DNSResolver]:
    """A DNSResolver asking the main server."""
    with mxroute.DNSResolver([bind.address], port=bind.port, timeout=2.0, lifetime=4.0) as r:
        yield r
