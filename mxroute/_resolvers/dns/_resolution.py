"""The resolution loop: one question, from the first try to its :class:`~mxroute.Answer`.

:func:`resolution` is a generator that yields each :class:`Try` (one query to
one server, over UDP or TCP, with its timeout) and is sent back a
:class:`Reply`: the response or the exception the try ended with, and the
time it ended. It decides everything else: the servers in order, ``timeout``
per try and ``lifetime`` per question, TCP after a truncated UDP answer, one
more try without EDNS after FORMERR (RFC 6891 §7), CNAME chains, and the
status when no server answered.

It never reads a clock, draws a random number or touches a socket: the
driver gives the start time, each reply's time and the query IDs. So the
sync, async and batch drivers (in :mod:`._transport`) share it, and the unit
tests drive it with made-up replies and times, the way dnspython's
``tests/test_resolution.py`` drives its ``_Resolution``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import NamedTuple

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from mxroute._dns import Answer, AnswerStatus, made_answer
from mxroute._names import normalize_host
from mxroute._resolvers.dns import _interpret, _lean
from mxroute._resolvers.dns._config import Server, Settings
from mxroute._resolvers.dns._interpret import Final
from mxroute._resolvers.dns._wire import Named, Query, make_query, named, qtype, question_name

_MX = dns.rdatatype.MX
_FINAL_RCODES = {dns.rcode.NOERROR: "NOERROR", dns.rcode.NXDOMAIN: "NXDOMAIN"}

Response = dns.message.Message | _lean.Response
"""A response, as dnspython or the lean reader read it."""
Result = Response | Exception
"""What one try ended with: the response, or why there is none (``Timeout``, ``OSError``...)."""
_RESPONSES = (dns.message.Message, _lean.Response)


class Try(NamedTuple):
    """One message to send to one server, as the resolution asks it."""

    query: Query
    server: Server
    tcp: bool
    timeout: float


class Reply(NamedTuple):
    """What the driver sends back for a :class:`Try`."""

    result: Result
    now: float
    """The driver's clock (:func:`time.monotonic`) when the try ended."""


Resolution = Generator[Try, Reply, Answer]
QueryIds = Callable[[], int]
"""Gives the ID of each new query (16 random bits in the drivers)."""


class _Failure(NamedTuple):
    """No server gave a usable answer."""

    status: AnswerStatus
    cnames: list[str]
    """The CNAMEs of the last unusable answer, up to the problem (a loop)."""


class _Usable(NamedTuple):
    """A server's usable NOERROR or NXDOMAIN answer."""

    final: Final
    response: Response
    label: str
    rcode_text: str
    authenticated: bool
    now: float


_owner = functools.lru_cache(maxsize=4096)(normalize_host)
"""The name as an Answer gives it; the names asked last are kept."""


def _why(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def resolution(
    settings: Settings, name: str, rdtype: str, now: float, new_id: QueryIds
) -> Resolution:
    """Resolve one question that starts at time ``now``: yields the tries, returns the answer.

    Raises:
        InvalidInput: ``name`` is not a DNS name or ``rdtype`` not a record
            type (at the first ``next``, before any try).
    """
    current = question_name(name)
    kind, type_text = qtype(rdtype)
    owner = _owner(name)
    deadline = now + settings.lifetime
    cnames: list[str] = []
    ttls: list[int] = []
    seen = [current.name]  # a list: a chain is short, and a name's hash costs more
    authenticated = True
    notes: list[str] = []
    while True:
        outcome = yield from _ask(
            settings, current, kind, deadline, now, new_id, notes, seen, len(cnames)
        )
        if isinstance(outcome, _Failure):
            return made_answer(
                owner,
                type_text,
                outcome.status,
                (),
                None,
                (*cnames, *outcome.cnames),
                False,
                (),
                "; ".join(notes),
            )
        final, response, now = outcome.final, outcome.response, outcome.now
        authenticated = authenticated and outcome.authenticated
        cnames.extend(final.cnames)
        ttls.extend(final.ttls)
        seen.extend(final.targets)
        if final.follow is not None:
            # The answer stops at a CNAME whose target the server did not
            # resolve (an authoritative server outside its zones): ask it.
            notes.append(f"{outcome.label} answered CNAME {cnames[-1]}")
            current = named(final.follow)
            continue
        note = f"{outcome.label} answered {outcome.rcode_text}"
        detail = f"{'; '.join(notes)}; {note}" if notes else note
        if final.status is AnswerStatus.RECORDS:
            assert final.rrset is not None
            if isinstance(response, _lean.Response):
                assert isinstance(final.rrset, _lean.RRs)
                records = _lean.values(final.rrset)
                additional = (
                    _lean.additional_answers(response, final.rrset, authenticated)
                    if kind == _MX and settings.use_additional
                    else ()
                )
            else:
                assert not isinstance(final.rrset, _lean.RRs)
                records = _interpret.values(final.rrset)
                additional = (
                    _interpret.additional_answers(response, final.rrset, authenticated)
                    if kind == _MX and settings.use_additional
                    else ()
                )
            return made_answer(
                owner,
                type_text,
                AnswerStatus.RECORDS,
                tuple(records),
                min(ttls) if ttls else None,
                tuple(cnames),
                authenticated,
                tuple(additional),
                detail,
            )
        negative = [*ttls, final.negative_ttl] if final.negative_ttl is not None else ttls
        return made_answer(
            owner,
            type_text,
            final.status,
            (),
            min(negative) if negative else None,
            tuple(cnames),
            authenticated,
            (),
            detail,
        )


def _query(
    settings: Settings,
    name: dns.name.Name | Named,
    kind: dns.rdatatype.RdataType,
    new_id: QueryIds,
    *,
    edns: bool = True,
) -> Query:
    if edns:
        return make_query(
            name,
            kind,
            new_id(),
            flags=settings.flags,
            edns_payload=settings.edns_payload,
            dnssec=settings.dnssec,
            lean=settings.lean,
        )
    return make_query(
        name,
        kind,
        new_id(),
        flags=int(dns.flags.RD),
        edns_payload=None,
        dnssec=False,
        lean=settings.lean,
    )


def _ask(
    settings: Settings,
    asked: Named,
    kind: dns.rdatatype.RdataType,
    deadline: float,
    now: float,
    new_id: QueryIds,
    notes: list[str],
    seen: list[dns.name.Name],
    chain: int,
) -> Generator[Try, Reply, _Usable | _Failure]:
    """Ask the servers in turn until one gives a usable NOERROR or NXDOMAIN answer.

    Returns that answer, or a :class:`_Failure` when no server gave one.
    Appends what each server did to ``notes``.
    """
    query = _query(settings, asked, kind, new_id)
    name = asked.name
    servers = list(settings.servers)
    failures: list[AnswerStatus] = []
    partial: list[str] = []
    while servers:
        for server in tuple(servers):
            turn = yield from _turn(settings, server, query, deadline, now, new_id, notes)
            if turn is None:
                break  # the lifetime ran out
            attempt, result, now = turn
            if isinstance(result, _RESPONSES):
                rcode = result.rcode()
                rcode_text = _FINAL_RCODES.get(rcode)
                if attempt.tcp and result.flags & dns.flags.TC:
                    failures.append(AnswerStatus.SERVFAIL)
                    notes.append(f"{server.label} truncated the TCP answer")
                elif rcode_text is not None:
                    final = _interpret.interpret(result, rcode, name, kind, seen, chain)
                    if not final.problem:
                        authenticated = (  # AD from a trusted server only (Settings.trusted)
                            attempt.query.dnssec
                            and server.trusted
                            and bool(result.flags & dns.flags.AD)
                        )
                        return _Usable(final, result, server.label, rcode_text, authenticated, now)
                    failures.append(AnswerStatus.SERVFAIL)
                    partial = final.cnames
                    notes.append(f"{server.label} answered with {final.problem}")
                else:
                    failures.append(
                        AnswerStatus.REFUSED
                        if rcode == dns.rcode.REFUSED
                        else AnswerStatus.SERVFAIL
                    )
                    notes.append(f"{server.label} answered {dns.rcode.to_text(rcode)}")
                servers.remove(server)
            elif isinstance(result, dns.exception.Timeout):
                notes.append(f"{server.label}: no answer within {attempt.timeout:.3g} s")
            elif isinstance(result, (OSError, EOFError)):
                # Unreachable, or the connection closed: no answer, and no
                # point in asking this server again at once.
                notes.append(f"{server.label}: no answer ({_why(result)})")
                servers.remove(server)
            else:
                failures.append(AnswerStatus.SERVFAIL)
                notes.append(f"{server.label} sent an unusable answer ({_why(result)})")
                servers.remove(server)
        else:
            continue
        break  # the lifetime ran out
    if AnswerStatus.SERVFAIL in failures:
        return _Failure(AnswerStatus.SERVFAIL, partial)
    if failures:
        return _Failure(AnswerStatus.REFUSED, [])
    if servers:
        notes.append(f"lifetime of {settings.lifetime:.3g} s used up")
    return _Failure(AnswerStatus.TIMEOUT, [])


def _turn(
    settings: Settings,
    server: Server,
    query: Query,
    deadline: float,
    now: float,
    new_id: QueryIds,
    notes: list[str],
) -> Generator[Try, Reply, tuple[Try, Result, float] | None]:
    """One server's turn at the question: its try, and the tries that follow from it.

    A truncated UDP answer is asked again over TCP; FORMERR to a query with
    EDNS is asked once more without it (RFC 6891 §7). Returns the last try,
    its result and the time; None when the lifetime ran out first.
    """
    tcp = settings.tcp
    while True:
        remaining = deadline - now
        if remaining <= 0:
            return None
        attempt = Try(query, server, tcp, min(settings.timeout, remaining))
        result, now = yield attempt
        if isinstance(result, dns.message.Truncated) and not tcp:
            if deadline - now <= 0:
                notes.append(f"{server.label} truncated the UDP answer; no time left for TCP")
                return None
            notes.append(f"{server.label} truncated the UDP answer; asked again over TCP")
            tcp = True
            continue
        if (
            query.edns
            and isinstance(result, _RESPONSES)
            and result.rcode() == dns.rcode.FORMERR
            and deadline - now > 0
        ):
            notes.append(f"{server.label} answered FORMERR to EDNS; asked again without EDNS")
            query = _query(settings, query.name, query.rdtype, new_id, edns=False)
            continue
        return attempt, result, now
