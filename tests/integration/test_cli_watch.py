"""mxroute check --watch over real sockets: each check asks the name server again."""

from __future__ import annotations

import dns.message
import dns.rdatatype
import dns.rrset
import pytest

from mxroute.cli import EX_FAILURE, main
from tests.integration.servers import ScriptedServer

pytestmark = pytest.mark.integration


class TestWatchAsksAgain:
    def test_a_change_within_the_ttl_is_seen_by_the_next_check(self, capsys):
        asked = {"MX": 0}

        def answer(query, tcp):
            response = dns.message.make_response(query)
            name = query.question[0].name.to_text()
            rdtype = dns.rdatatype.to_text(query.question[0].rdtype)
            if (name, rdtype) == ("w.mxtest.", "MX"):
                asked["MX"] += 1
                host = "mx1.w.mxtest." if asked["MX"] == 1 else "mx2.w.mxtest."
                response.answer.append(dns.rrset.from_text(name, 3600, "IN", "MX", f"10 {host}"))
            elif rdtype == "A" and name in ("mx1.w.mxtest.", "mx2.w.mxtest."):
                response.answer.append(dns.rrset.from_text(name, 3600, "IN", "A", "192.0.2.25"))
            return response

        with ScriptedServer(answer) as scripted:
            argv = ["check", "--nameserver", f"127.0.0.1:{scripted.port}", "--timeout", "2"]
            code = main([*argv, "--watch", "0.01", "--count", "2", "w.mxtest"])
        # The MX TTL is an hour, yet the second check asked again and saw the change.
        assert asked["MX"] == 2
        assert code == EX_FAILURE
        out = capsys.readouterr().out
        assert "w.mxtest: host-added mx2.w.mxtest (10)" in out
        assert "w.mxtest: host-removed mx1.w.mxtest (10)" in out
