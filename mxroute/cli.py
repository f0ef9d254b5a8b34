"""The ``mxroute`` command: route targets, audit domains, validate addresses.

::

    mxroute route [options] TARGET...      the hosts to try, in order (--explain: the DNS trace)
    mxroute check [options] DOMAIN...      the audit, most severe finding first
    mxroute validate [--json] ADDRESS...   each address normalised, or why not
    mxroute diff [--json] OLD NEW          what changed between two ``check --json`` snapshots

``-`` as a target reads targets from standard input, one per line (blank
lines and ``#`` comments are skipped), as they arrive. Targets are handled
concurrently on mxroute's bulk engine and each result is printed as soon as
it is ready (``--ordered``: in input order), so memory stays constant for
any input size. Each target has a status saying whether mail can be
delivered, and the exit status follows it: 0 deliverable (valid), 1
undeliverable or invalid (or a finding at ``--fail-on`` severity), 75
(``EX_TEMPFAIL``) temporarily not (1 wins over 75 when both occur in one
run), 2 for a usage error, 130 when interrupted and 141 when the reader of
the output went away (broken pipe). ``mxroute diff`` exits 0 when nothing
changed, 1 when something did and 2 for a usage error or an unreadable
snapshot.

:func:`main` is the whole command, callable in-process with an injected
resolver, which is how its tests run it. The reference, with the JSON
schema, is the "Command line" page of the documentation.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import os
import pickle
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from mxroute import _adapters as adapters
from mxroute._audit import AuditReport, audit_async
from mxroute._bulk import DEFAULT_CONCURRENCY
from mxroute._dns import AnyResolver, Question
from mxroute._errors import InvalidAddress, InvalidInput, MailRouteError, MXRouteError
from mxroute._expect import MX_PROVIDERS, Expectation
from mxroute._findings import Finding, Severity
from mxroute._model import MailRoute
from mxroute._mtasts import MemoryPolicyCache, PolicyCache, SQLitePolicyCache
from mxroute._names import format_address, parse_host_port
from mxroute._policy import RoutingPolicy
from mxroute._resolvers.caching import CachingResolver
from mxroute._resolvers.dns import DNSResolver
from mxroute._resolvers.memory import InMemoryResolver
from mxroute._resolvers.recording import RecordingResolver
from mxroute._router import Router
from mxroute._snapshot import SCHEMA, diff_snapshots, read_snapshots, watch
from mxroute._tls import OPPORTUNISTIC
from mxroute._validate import validate_address

__all__ = [
    "EX_FAILURE",
    "EX_INTERRUPTED",
    "EX_OK",
    "EX_PIPE",
    "EX_TEMPFAIL",
    "EX_USAGE",
    "MAX_LINE",
    "SCHEMA",
    "main",
]

EX_OK = 0
"""Mail can be delivered to every target (every address is valid)."""
EX_FAILURE = 1
"""A target's mail cannot be delivered (a bounce), an invalid target, a
finding at the ``--fail-on`` severity, or an unreadable zone file."""
EX_USAGE = 2
"""The command line is wrong."""
EX_TEMPFAIL = 75
"""A temporary failure (``EX_TEMPFAIL`` of sysexits.h): try again later."""
EX_INTERRUPTED = 130
"""Interrupted (Ctrl-C)."""
EX_PIPE = 141
"""The reader of the output went away (broken pipe), as a shell reports SIGPIPE."""


# A target's status: whether mail can be delivered (route, check), or whether
# the address is usable (validate). It decides the exit status.
_DELIVERABLE, _TEMPORARY, _UNDELIVERABLE = "deliverable", "temporary", "undeliverable"
_VALID, _INVALID = "valid", "invalid"
_FAIL_ON = "fail-on"  # counted beside the statuses: a finding at --fail-on severity
_EXPECT_FAILED = "expect-failed"  # counted beside the statuses: an expectation does not hold


class _UsageError(Exception):
    """A command-line problem that argparse could not see; exit status 2."""


class _InputError(Exception):
    """An input file that cannot be used (a zone file); exit status 1."""


@attrs.frozen
class _Outcome:
    """One target's result.

    It holds its status, its text lines, its JSON object and its most severe finding.
    A ``--jobs`` worker sends it back rendered (:func:`_rendered`): ``line`` is
    then what to print, and ``data`` keeps only the finding codes.
    """

    status: str
    text: str
    data: dict[str, Any]
    worst: Severity | None = None
    expectation_failed: bool = False
    line: str | None = None


# -- entry point ------------------------------------------------------------


def main(argv: Sequence[str] | None = None, resolver: AnyResolver | None = None) -> int:
    """Run the ``mxroute`` command.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` when None.
        resolver: Answer from this resolver instead of the system's DNS
            (``--zone`` and ``--nameserver`` still take precedence). Tests
            pass an :class:`~mxroute.InMemoryResolver`.

    Returns:
        The exit status (see the module documentation); never raises for
        bad input, failed lookups or an interrupt.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EX_USAGE
    try:
        return _run(args, resolver)
    except _UsageError as exc:
        _error(f"{args.command}: {exc}")
        return EX_USAGE
    except _InputError as exc:
        _error(str(exc))
        return EX_FAILURE
    except KeyboardInterrupt:
        _error("interrupted")
        return EX_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EX_PIPE
    except (MXRouteError, OSError, UnicodeError) as exc:  # UnicodeError: undecodable input
        _error(str(exc))
        return EX_FAILURE


def _error(message: str) -> None:
    print(f"mxroute: {message}", file=sys.stderr)


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# -- the command line ---------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from mxroute import __version__

    parser = argparse.ArgumentParser(
        prog="mxroute",
        description="Mail routing as RFC 5321 §5.1 prescribes: which hosts to connect to, "
        "in which order, and what to do when the lookup fails.",
        epilog="Exit status: 0 mail can be delivered to every target; 1 a target is "
        "undeliverable or invalid (or has a finding at the --fail-on severity); 2 a usage "
        "error; 75 a temporary failure (1 wins over 75).",
    )
    parser.add_argument("--version", action="version", version=f"mxroute {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    route = _command(
        commands,
        "route",
        "TARGET",
        help="the hosts to deliver to, in the order to try them",
        description="Route each target (a domain, a mailbox address or an address literal): "
        "the hosts in attempt order with their preference, addresses and port, the route "
        "kind, its TTL and what was noticed.",
    )
    _dns_options(route)
    route.add_argument(
        "--relayhost",
        metavar="NEXTHOP",
        help="send everything through this smart host (Postfix syntax: relay.example, "
        "[relay.example]:587, [192.0.2.7])",
    )
    route.add_argument(
        "--explain", action="store_true", help="add every DNS question asked and its answer"
    )
    _mta_sts_options(route)

    check = _command(
        commands,
        "check",
        "DOMAIN",
        help="audit domains' mail setup, most severe finding first",
        description="Audit each domain's mail setup (MX records, mail hosts, addresses, "
        "TTLs) and say what to fix, most severe finding first.",
    )
    _dns_options(check)
    _mta_sts_options(check)
    check.add_argument(
        "--authoritative",
        action="store_true",
        help="also ask every authoritative name server of each domain directly and "
        "compare their answers (MX, SOA serial, addresses; lame or silent servers)",
    )
    check.add_argument(
        "--expect-mx",
        action="append",
        metavar="HOSTS",
        help="exit 1 unless the mail hosts are exactly these (comma-separated host names, "
        "or patterns such as *.mail.protection.outlook.com; repeatable)",
    )
    check.add_argument(
        "--expect-provider",
        choices=sorted(MX_PROVIDERS),
        metavar="NAME",
        help="exit 1 unless every mail host is one of this provider's "
        f"({', '.join(sorted(MX_PROVIDERS))})",
    )
    check.add_argument(
        "--expect-tls",
        choices=["dane", "mta-sts"],
        help="exit 1 unless every mail host requires at least this TLS level "
        "(turns --dane or --mta-sts on; dane also satisfies mta-sts)",
    )

    watching = check.add_argument_group("monitoring")
    watching.add_argument(
        "--watch",
        type=_seconds,
        metavar="INTERVAL",
        help="check again every INTERVAL seconds and print only what changed "
        "(exit 0: nothing changed, 1: something did)",
    )
    watching.add_argument(
        "--count", type=_positive, metavar="N", help="with --watch: stop after N checks"
    )
    watching.add_argument(
        "--for",
        dest="duration",
        type=_seconds,
        metavar="SECONDS",
        help="with --watch: start no check after SECONDS",
    )

    diff = commands.add_parser(
        "diff",
        help="what changed between two snapshots (check --json outputs)",
        description="Compare two snapshots written by 'mxroute check --json' (one object "
        "per line, per domain) and print each change: hosts added or removed, preferences, "
        "addresses, TTL, TLS level, findings that appeared or cleared. Exit 0: unchanged; "
        "1: changed; 2: a usage error or an unreadable snapshot.",
    )
    diff.add_argument("old", metavar="OLD", help="the earlier snapshot ('-': standard input)")
    diff.add_argument("new", metavar="NEW", help="the later snapshot ('-': standard input)")
    diff.add_argument("--json", action="store_true", help="one JSON object with every change")

    validate = _command(
        commands,
        "validate",
        "ADDRESS",
        help="check and normalise mailbox addresses (no DNS)",
        description="Check each mailbox address and print it normalised, or why it is "
        "not usable (a stable reason code and a message). Asks no DNS question.",
    )
    validate.add_argument("--json", action="store_true", help="one JSON object per address")
    _order_option(validate)
    return parser


def _command(
    commands: Any, name: str, metavar: str, *, help: str, description: str
) -> argparse.ArgumentParser:
    """A subcommand that takes targets (``-`` reads standard input)."""
    command: argparse.ArgumentParser = commands.add_parser(name, help=help, description=description)
    command.add_argument("targets", nargs="+", metavar=metavar, help="'-' reads standard input")
    return command


def _order_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ordered",
        action="store_true",
        help="print results in input order (default: each as soon as it is ready)",
    )


def _dns_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per target")
    parser.add_argument(
        "--format",
        choices=["text", "json", "csv"],
        help="text (the default), json (as --json) or csv (a header line, then one row per target)",
    )
    parser.add_argument(
        "--skip-done",
        type=Path,
        metavar="FILE",
        help="skip the targets a previous --json output FILE has a result for "
        "(except temporary failures): resume an interrupted run",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print counts per status and per finding code on standard error at the end "
        "(the default for '-' when standard error is a terminal)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--zone",
        action="append",
        type=Path,
        metavar="FILE",
        help="answer from this zone file instead of DNS (repeatable; the file sets $ORIGIN)",
    )
    source.add_argument(
        "--nameserver",
        action="append",
        type=_nameserver,
        metavar="ADDR[:PORT]",
        help="ask this DNS server instead of the system's (repeatable; IPv6 as [ADDR]:PORT)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up on a DNS question after this long (default: the resolver's)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="order hosts of equal preference reproducibly (each target gets a "
        "random source seeded with N)",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=1,
        metavar="N",
        help="shard the targets over N worker processes, each with its own resolver and "
        "cache (default 1: this process)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"targets resolved at the same time (default {DEFAULT_CONCURRENCY})",
    )
    _order_option(parser)
    parser.add_argument(
        "--dane",
        action="store_true",
        help="apply DANE (RFC 7672): look up the TLSA records of DNSSEC-signed mail hosts "
        "and give each host's TLS requirement (asks DNS with the DO bit; only a loopback "
        "name server's AD bit is believed)",
    )
    parser.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        help="also exit 1 for a finding this severe or more (error, warning or info)",
    )


def _mta_sts_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mta-sts",
        action="store_true",
        help="apply the domain's MTA-STS policy (RFC 8461; fetched over HTTPS)",
    )
    parser.add_argument(
        "--policy-cache",
        type=Path,
        metavar="FILE",
        help="keep MTA-STS policies in this SQLite file between runs (default: in memory)",
    )


def _policy_cache(args: argparse.Namespace) -> PolicyCache:
    """The run's MTA-STS policy cache: ``--policy-cache FILE``, else one in memory."""
    if args.policy_cache is None:
        return MemoryPolicyCache()
    try:
        return SQLitePolicyCache(args.policy_cache)
    except MXRouteError as exc:
        raise _UsageError(f"--policy-cache: {exc}") from None


def _nameserver(text: str) -> tuple[str, int | None]:
    """``ADDR``, ``ADDR:PORT``, ``[IPV6]:PORT`` or a bare IPv6 address."""
    try:
        given = parse_host_port(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    if given.address is None:
        raise argparse.ArgumentTypeError(f"{text!r}: a name server is given as an IP address")
    return format_address(given.address), given.port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


# -- running --------------------------------------------------------------------


def _run(args: argparse.Namespace, injected: AnyResolver | None) -> int:
    import asyncio

    if args.command == "diff":
        return _diff(args)
    if getattr(args, "expect_tls", None) == "dane":
        args.dane = True  # the levels are known only with the lookups on
    elif getattr(args, "expect_tls", None) == "mta-sts":
        args.mta_sts = True
    args.format = _output_format(args)
    watching = getattr(args, "watch", None) is not None
    if not watching and (getattr(args, "count", None) or getattr(args, "duration", None)):
        raise _UsageError("--count and --for go with --watch")
    if watching and getattr(args, "jobs", 1) > 1:
        raise _UsageError("--jobs does not go with --watch")
    if watching and getattr(args, "skip_done", None):
        raise _UsageError("--skip-done does not go with --watch (each check is whole)")
    skip = _done_targets(args.skip_done) if getattr(args, "skip_done", None) else None
    resolver = None if args.command == "validate" else _resolver(args, injected)
    try:
        work = _work(args, resolver)
        if watching:
            return asyncio.run(_watch(args, work))
        terminal = sys.stderr.isatty()
        progress = _Progress(sys.stderr, _input_size(args.targets)) if terminal else None
        bulk = terminal and "-" in args.targets  # a bulk run watched by a person
        summary = _Summary() if bulk or getattr(args, "summary", False) else None
        targets = _targets(args.targets)
        if skip is not None:
            targets = _skipping(targets, skip, progress)
        jobs = getattr(args, "jobs", 1)
        if jobs > 1:
            outcomes = _sharded(targets, args, injected, jobs)
        else:
            outcomes = _outcomes(targets, work, args)
        return asyncio.run(_run_all(outcomes, args, progress, summary))
    finally:
        # The one place the resolver stack of the run is closed (what the
        # command made itself, never an injected resolver).
        if resolver is not injected:
            adapters.close(resolver)


_Work = Callable[[str], Awaitable[_Outcome]]


def _work(args: argparse.Namespace, resolver: AnyResolver | None) -> _Work:
    """What the command does with one target (validate: no resolver)."""
    if resolver is None:

        async def validate(target: str) -> _Outcome:
            return _validate(target)

        return validate
    cache = _policy_cache(args)
    if args.command == "check":
        expected = _expectation(args)
        audited = RoutingPolicy(dane=args.dane, mta_sts=args.mta_sts)
        return lambda t: _check(
            t, resolver, args.seed, audited, args.authoritative, expected, cache
        )
    try:
        policy = RoutingPolicy(relayhost=args.relayhost, dane=args.dane, mta_sts=args.mta_sts)
    except InvalidInput as exc:
        raise _UsageError(f"--relayhost: {exc}") from None
    return lambda t: _route(t, resolver, policy, args.seed, args.explain, cache)


async def _outcomes(
    targets: AsyncIterator[str], work: _Work, args: argparse.Namespace
) -> AsyncIterator[_Outcome]:
    """Run ``work`` over the targets on the bulk engine, in this process."""
    from mxroute import _bulk as bulk

    command = args.command

    async def one(target: str) -> _Outcome:
        undecodable = _undecodable(command, target)
        return undecodable if undecodable is not None else await work(target)

    results = bulk.run(
        one,
        targets,
        concurrency=getattr(args, "concurrency", 1),
        ordered=getattr(args, "ordered", False),
    )
    try:
        async for _target, outcome in results:
            if isinstance(outcome, MXRouteError):  # not a target's outcome: the run stops
                raise outcome
            yield outcome
    finally:
        await results.aclose()  # type: ignore[attr-defined]


def _sharded(
    targets: AsyncIterator[str],
    args: argparse.Namespace,
    injected: AnyResolver | None,
    jobs: int,
) -> AsyncIterator[_Outcome]:
    """``--jobs N``: the same work, sharded over N worker processes (see ``_jobs``)."""
    from mxroute._jobs import run_sharded

    if injected is not None:
        try:
            pickle.dumps(injected)
        except Exception as exc:  # pickling raises many types
            raise _UsageError(
                f"--jobs needs a resolver that can be sent to worker processes: {exc}"
            ) from None
    return run_sharded(
        targets,
        _job_chunk,
        jobs=jobs,
        initializer=_job_start,
        initargs=(args, injected),
        ordered=getattr(args, "ordered", False),
    )


_JOB: dict[str, Any] = {}
"""A ``--jobs`` worker process's state: its event loop and its work function."""


def _job_start(args: argparse.Namespace, injected: AnyResolver | None) -> None:
    """Build this worker's resolver stack and work, once (the worker's cache lives here)."""
    import asyncio

    resolver = None if args.command == "validate" else _resolver(args, injected)
    _JOB.update(args=args, work=_work(args, resolver), loop=asyncio.new_event_loop())


def _job_chunk(targets: Sequence[str]) -> list[_Outcome]:
    """Run one chunk of targets in this worker, on its own loop and bulk engine."""
    args = _JOB["args"]

    async def run() -> list[_Outcome]:
        return [
            _rendered(o, args.format)
            async for o in _outcomes(_targets_of(targets), _JOB["work"], args)
        ]

    return list(_JOB["loop"].run_until_complete(run()))


async def _targets_of(targets: Sequence[str]) -> AsyncIterator[str]:
    for target in targets:
        yield target


async def _run_all(
    outcomes: AsyncIterator[_Outcome],
    args: argparse.Namespace,
    progress: _Progress | None,
    summary: _Summary | None = None,
) -> int:
    """Print each outcome as it comes (in input order with ``--ordered``) and count them."""
    import asyncio

    fail_on = getattr(args, "fail_on", None)
    fail_on = None if fail_on is None else Severity(fail_on)
    counts: collections.Counter[str] = collections.Counter()
    ticker = asyncio.ensure_future(progress.tick()) if progress is not None else None
    try:
        async for outcome in outcomes:
            if progress is not None:
                progress.clear()
            _show(outcome, args)
            if summary is not None:
                summary.count(outcome)
            counts[outcome.status] += 1
            if _fails_on(outcome, fail_on):
                counts[_FAIL_ON] += 1
            if outcome.expectation_failed:
                counts[_EXPECT_FAILED] += 1
            if progress is not None:
                progress.count(outcome.status)
    finally:
        await outcomes.aclose()  # type: ignore[attr-defined]
        if ticker is not None:
            ticker.cancel()
        if progress is not None:
            progress.clear()
    if summary is not None:
        summary.write(sys.stderr)
    return _exit_status(counts)


def _output_format(args: argparse.Namespace) -> str:
    """``text``, ``json`` or ``csv``, from ``--json`` and ``--format``."""
    given = getattr(args, "format", None)
    if args.json and given not in (None, "json"):
        raise _UsageError(f"--json and --format {given} contradict each other")
    return "json" if args.json else given or "text"


def _show(outcome: _Outcome, args: argparse.Namespace) -> None:
    """Print one target's outcome in the format asked for."""
    if args.format == "csv" and not getattr(args, "csv_started", False):
        args.csv_started = True
        _emit(_csv_line(_CSV_COLUMNS[args.command]), "utf-8")
    line = outcome.line if outcome.line is not None else _render(outcome, args.format)
    _emit(line, None if args.format == "text" else "utf-8")


def _render(outcome: _Outcome, output: str) -> str:
    """The outcome as printed in the ``output`` format (without the CSV header)."""
    if output == "json":
        return json.dumps(outcome.data, ensure_ascii=False)
    if output == "csv":
        return _csv_line(_csv_row(outcome.data))
    return outcome.text


def _rendered(outcome: _Outcome, output: str) -> _Outcome:
    """The outcome as a ``--jobs`` worker sends it back: printed already, its data slim.

    The parent process only writes the line and counts the status, the worst
    severity and (for ``--summary``) the finding codes, so the JSON, CSV or
    text is made in the workers, in parallel, and less is pickled.
    """
    codes = [{"code": f["code"]} for f in outcome.data.get("findings") or ()]
    return attrs.evolve(outcome, text="", data={"findings": codes}, line=_render(outcome, output))


_CSV_COLUMNS = {
    "route": ["target", "status", "worst", "kind", "hosts", "error", "findings"],
    "check": [
        "target",
        "status",
        "worst",
        "complete",
        "kind",
        "hosts",
        "error",
        "findings",
        "expectation",
    ],
}
"""The columns of ``--format csv``, per command."""


def _csv_row(data: dict[str, Any]) -> list[str]:
    """One target's CSV cells, from its JSON object."""
    route = data.get("route") or {}
    error = data.get("error") or {}
    expectation = data.get("expectation")
    cells = {
        "target": data["target"],
        "status": data["status"],
        "worst": data.get("worst") or "",
        "complete": "" if data.get("complete") is None else str(data["complete"]).lower(),
        "kind": route.get("kind", ""),
        "hosts": " ".join(h["name"] for h in route.get("hosts", ())),
        "error": error.get("reason") or error.get("error") or "",
        "findings": " ".join(f["code"] for f in data.get("findings", ())),
        "expectation": "" if expectation is None else "holds" if expectation["holds"] else "fails",
    }
    return [cells[column] for column in _CSV_COLUMNS[data["command"]]]


def _csv_line(cells: Sequence[str]) -> str:
    """One CSV line (RFC 4180 quoting).

    A cell that a spreadsheet would take for a formula (it starts with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
    ``'``, as OWASP advises against CSV injection: targets come from input.
    """
    buffer = io.StringIO()
    safe = ["'" + c if c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in cells]
    csv.writer(buffer, lineterminator="").writerow(safe)
    return buffer.getvalue()


def _emit(line: str, encoding: str | None) -> None:
    r"""Write one output line and flush it, whatever standard output can encode.

    The line is written in ``encoding`` (JSON: always UTF-8; a lone
    surrogate, which UTF-8 cannot hold, becomes its JSON escape ``\udcff``),
    else in standard output's encoding, with backslash escapes for what it
    cannot encode.
    """
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    data = line + "\n"
    if buffer is None:  # a text-only stream (tests): nothing to encode
        stream.write(data)
    else:
        stream.flush()
        buffer.write(data.encode(encoding or stream.encoding or "utf-8", "backslashreplace"))
    stream.flush()


def _fails_on(outcome: _Outcome, fail_on: Severity | None) -> bool:
    """Whether ``--fail-on`` turns this outcome's worst finding into exit status 1."""
    worst = outcome.worst
    return fail_on is not None and worst is not None and worst.rank <= fail_on.rank


_EXIT_OF = {
    _DELIVERABLE: EX_OK,
    _VALID: EX_OK,
    _TEMPORARY: EX_TEMPFAIL,
    _UNDELIVERABLE: EX_FAILURE,
    _INVALID: EX_FAILURE,
    _FAIL_ON: EX_FAILURE,
    _EXPECT_FAILED: EX_FAILURE,
}


def _exit_status(counts: collections.Counter[str]) -> int:
    codes = {_EXIT_OF[status] for status, count in counts.items() if count}
    if EX_FAILURE in codes:
        return EX_FAILURE
    if EX_TEMPFAIL in codes:
        return EX_TEMPFAIL
    return EX_OK


# -- input ----------------------------------------------------------------------

_CHUNK = 1 << 16
"""Bytes read from standard input at a time."""
MAX_LINE = 4096
"""Bytes of one input line kept; the rest of a longer line is dropped (no
target is that long, so such a line is reported invalid)."""


async def _targets(given: Sequence[str]) -> AsyncIterator[str]:
    """The targets in order, ``-`` replaced by the lines of standard input.

    Standard input is read as its lines arrive (never all at once).
    """
    stdin_read = False
    for target in given:
        if target != "-":
            yield target
        elif not stdin_read:
            stdin_read = True
            async for line in _stdin_lines():
                yield line


async def _stdin_lines() -> AsyncIterator[str]:
    """Standard input's targets, read by a daemon thread.

    The thread keeps the event loop from ever blocking on standard input, and
    a reader still waiting for input does not keep the process alive once the
    run has ended.
    """
    import asyncio
    import threading

    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
    room = threading.Semaphore(2)  # chunks read ahead of the one being split
    read = _chunk_reader(sys.stdin)

    def reader() -> None:
        while True:
            room.acquire()
            chunk: bytes | BaseException
            try:
                chunk = read()
            except Exception as exc:  # raised in the run, which then stops (never hangs)
                chunk = exc
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: the run ended
                return
            if not isinstance(chunk, bytes) or not chunk:
                return

    threading.Thread(target=reader, name="mxroute-stdin", daemon=True).start()
    lines = _LineSplitter()
    while True:
        chunk = await chunks.get()
        room.release()
        if isinstance(chunk, BaseException):
            raise chunk
        if not chunk:
            break
        for line in lines.feed(chunk):
            yield line
    for line in lines.feed(b"\n"):
        yield line


def _chunk_reader(stream: Any) -> Callable[[], bytes]:
    """Read what is available (at most :data:`_CHUNK` bytes): b"" at the end."""
    if stream is None:  # the process has no standard input: it is empty
        return lambda: b""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return lambda: str(stream.read(_CHUNK)).encode("utf-8", "surrogateescape")
    return lambda: os.read(fd, _CHUNK)


class _LineSplitter:
    """Bytes in, targets out.

    One target per line, surrounding space stripped, blank lines and ``#``
    comments skipped, each line cut at :data:`MAX_LINE` bytes. Bytes that are
    not UTF-8 are kept as lone surrogates (``surrogateescape``, as Python
    decodes the command line) and reported invalid.
    """

    def __init__(self) -> None:
        self.partial = b""

    def feed(self, chunk: bytes) -> list[str]:
        *complete, partial = (self.partial + chunk).split(b"\n")
        self.partial = partial[: MAX_LINE + 1]
        out = []
        for raw in complete:
            text = raw[: MAX_LINE + 1].decode("utf-8", "surrogateescape").strip()
            if text and not text.startswith("#"):
                out.append(text)
        return out


def _printable(target: str) -> str:
    r"""The target with bytes that are not UTF-8 written as ``\xff``."""
    return target.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _undecodable(command: str, target: str) -> _Outcome | None:
    """The outcome of a target that is not valid UTF-8, or None if it is."""
    shown = _printable(target)
    if shown == target:
        return None
    problem = InvalidInput("invalid-encoding", f"{shown!r} is not valid UTF-8 text", shown)
    return _invalid(command, shown, problem)


def _resolver(args: argparse.Namespace, injected: AnyResolver | None) -> AnyResolver:
    if args.zone:
        zone = InMemoryResolver()
        zone.queries = _Unrecorded()
        for path in args.zone:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise _InputError(f"cannot read the zone file {str(path)!r}: {exc}") from None
            try:
                zone.load_zone(text)
            except InvalidInput as exc:
                raise _InputError(f"{path}: {exc}") from None
        return zone
    if args.nameserver or injected is None:
        options: dict[str, Any] = {}
        if args.nameserver:
            ports = {53 if port is None else port for _, port in args.nameserver}
            if len(ports) > 1:
                raise _UsageError("--nameserver: give every name server the same port")
            options["nameservers"] = [address for address, _ in args.nameserver]
            if any(port is not None for _, port in args.nameserver):
                (options["port"],) = ports
        if args.timeout is not None:
            options["timeout"] = args.timeout
            options["lifetime"] = args.timeout
        options["dnssec"] = args.dane  # DANE needs the AD bit
        if getattr(args, "watch", None) is not None:
            # Each check of --watch asks again: a cache kept across checks
            # would hide a change for as long as the old answer's TTL.
            return DNSResolver(**options)
        # One cache for the run: addresses at the same domain, and domains
        # sharing MX hosts, ask each question once.
        return CachingResolver(DNSResolver(**options))
    return injected


class _Unrecorded(list[Question]):
    """The questions list of the command's zone resolver, which keeps none.

    Nothing reads it, and a long run must not grow with it.
    """

    def append(self, question: Question) -> None:
        pass


class _Progress:
    """``mxroute: 1200 done, 340/s, 3 failed`` on standard error, rewritten in place.

    It is shown only on a terminal, and only once the run has lasted
    :data:`DELAY` seconds (a short run shows nothing).
    """

    DELAY = 1.0
    """Seconds before the first progress line."""
    EVERY = 0.25
    """Seconds between two updates at most."""

    def __init__(self, stream: Any, total: int | None = None) -> None:
        self.stream = stream
        self.total = total
        self.started = time.monotonic()
        self.last = 0.0
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.shown = False

    def count(self, status: str) -> None:
        self.done += 1
        self.failed += status not in (_DELIVERABLE, _VALID)
        self.show()

    def skip(self) -> None:
        self.skipped += 1

    def line(self, elapsed: float) -> str:
        """``mxroute: 1200/5000 done, 340/s, 3 failed, 10 skipped, ETA 11s``."""
        rate = self.done / elapsed if elapsed > 0 else 0.0
        done = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        line = f"mxroute: {done} done, {rate:.0f}/s, {self.failed} failed"
        if self.skipped:
            line += f", {self.skipped} skipped"
        if self.total is not None and rate > 0:
            left = max(0, self.total - self.done - self.skipped)
            line += f", ETA {_duration(left / rate)}"
        return line

    def show(self) -> None:
        now = time.monotonic()
        elapsed = now - self.started
        if elapsed < self.DELAY or now - self.last < self.EVERY:
            return
        self.last = now
        line = self.line(elapsed)
        self.stream.write(f"\r\033[K{line}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False

    async def tick(self) -> None:
        """Update now and then while no result comes."""
        import asyncio

        while True:
            await asyncio.sleep(self.EVERY)
            self.show()


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h10m``."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _input_size(given: Sequence[str]) -> int | None:
    """How many targets the run has, when that is known without reading the input.

    It is known when standard input is not read, or is a regular file (not a
    pipe): its lines from the current position are counted, by position
    (``os.pread``), so nothing is consumed. None otherwise.
    """
    import stat

    total = sum(1 for t in given if t != "-")
    if "-" not in given:
        return total
    if not hasattr(os, "pread"):  # Windows
        return None
    try:
        fd = sys.stdin.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        position = os.lseek(fd, 0, os.SEEK_CUR)
    except (AttributeError, OSError, ValueError):
        return None
    lines = _LineSplitter()
    while chunk := os.pread(fd, _CHUNK, position):
        position += len(chunk)
        total += len(lines.feed(chunk))
    return total + len(lines.feed(b"\n"))


class _Summary:
    """Counts per status and per finding code, written on standard error at the end."""

    def __init__(self) -> None:
        self.statuses: collections.Counter[str] = collections.Counter()
        self.codes: collections.Counter[str] = collections.Counter()

    def count(self, outcome: _Outcome) -> None:
        self.statuses[outcome.status] += 1
        self.codes.update({f["code"] for f in outcome.data.get("findings") or ()})

    def write(self, stream: Any) -> None:
        total = sum(self.statuses.values())
        lines = [f"mxroute: summary of {total} target{'s' if total != 1 else ''}"]
        codes = sorted(self.codes.items(), key=lambda item: (-item[1], item[0]))
        rows: list[tuple[str, int | str]] = [("status", "targets")]
        rows += sorted(self.statuses.items())
        if codes:
            rows.append(("finding", "targets"))
            rows += codes
        width = max(len(name) for name, _ in rows)
        for name, number in rows:
            lines.append(f"  {name:<{width}}  {number:>7}")
        stream.write("\n".join(lines) + "\n")
        stream.flush()


# -- resuming: --skip-done ------------------------------------------------------


def _target_key(target: str) -> int:
    """A 64-bit digest of a target, what ``--skip-done`` keeps of each."""
    import hashlib

    digest = hashlib.blake2b(target.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _done_targets(path: Path) -> Callable[[str], bool]:
    """Whether a target has a result in a previous ``--json`` output file.

    The file is read line by line. A result counts unless its status is
    ``temporary`` (that target is checked again); a line that is not a
    result (a line cut short when the run was killed) is ignored, so its
    target is checked again. Each target is kept as a 64-bit digest in one
    sorted array (8 bytes a target; a false match is a chance of about
    n²/2⁶⁵: 3 in 100 million for a million targets).
    """
    import array
    import bisect

    keys = array.array("Q")
    try:
        with path.open("rb") as file:
            for raw in file:
                try:
                    data = json.loads(raw)
                except ValueError:
                    continue
                if (
                    isinstance(data, dict)
                    and isinstance(data.get("target"), str)
                    and data.get("status") != _TEMPORARY
                ):
                    keys.append(_target_key(data["target"]))
    except OSError as exc:
        raise _InputError(f"cannot read the --skip-done file {str(path)!r}: {exc}") from None
    ordered = array.array("Q", sorted(keys))
    del keys

    def done(target: str) -> bool:
        key = _target_key(target)
        at = bisect.bisect_left(ordered, key)
        return at < len(ordered) and ordered[at] == key

    return done


async def _skipping(
    targets: AsyncIterator[str], done: Callable[[str], bool], progress: _Progress | None
) -> AsyncIterator[str]:
    """The targets without those already done."""
    async for target in targets:
        if not done(_printable(target)):
            yield target
        elif progress is not None:
            progress.skip()


# -- diff and watch -------------------------------------------------------------


def _read_snapshot_file(name: str) -> list[dict[str, Any]]:
    """The snapshots of a file (``-``: standard input); unreadable: a usage error."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _UsageError(f"cannot read the snapshot {name!r}: {exc}") from None
    try:
        return read_snapshots(text, f"the snapshot {name!r}")
    except InvalidInput as exc:
        raise _UsageError(str(exc)) from None


def _diff(args: argparse.Namespace) -> int:
    if args.old == "-" and args.new == "-":
        raise _UsageError("only one snapshot can be standard input")
    old, new = _read_snapshot_file(args.old), _read_snapshot_file(args.new)
    changes = diff_snapshots(old, new)
    if args.json:
        _emit(json.dumps(changes.to_dict(), ensure_ascii=False), "utf-8")
    else:
        for line in changes.describe():
            _emit(line, None)
    return EX_FAILURE if changes.changed else EX_OK


async def _watch(args: argparse.Namespace, work: _Work) -> int:
    """``check --watch``: the first check in full, then only the changes.

    Exit 0 when nothing changed during the run, 1 when something did.
    """
    from mxroute import _bulk as bulk

    given = [t async for t in _targets(args.targets)]  # each check reads them again

    async def take() -> list[dict[str, Any]]:
        results = bulk.run(work, given, concurrency=args.concurrency, ordered=True)
        snapshots = []
        async for _target, outcome in results:
            if isinstance(outcome, MXRouteError):
                raise outcome
            if outcome.status != _INVALID:
                snapshots.append(outcome.data)
            if not taken:
                _show(outcome, args)
        return snapshots

    taken = 0
    changed = False
    checks = watch(take, args.watch, count=args.count, duration=args.duration)
    try:
        async for _snapshots, difference in checks:
            taken += 1
            if difference is None:
                continue
            changed = changed or difference.changed
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for change in difference.changes:
                if args.format == "json":
                    _emit(
                        json.dumps({"time": stamp, **change.to_dict()}, ensure_ascii=False), "utf-8"
                    )
                else:
                    _emit(f"{stamp} {change.describe()}", None)
    finally:
        await checks.aclose()  # type: ignore[attr-defined]
    return EX_FAILURE if changed else EX_OK


# -- route --------------------------------------------------------------------


_RNG = random.Random()
"""The random source of every unseeded route: seeding a fresh one from the
system costs each route 10 µs (a worker process imports its own)."""


async def _route(
    target: str,
    resolver: AnyResolver,
    policy: RoutingPolicy,
    seed: int | None,
    explain: bool,
    cache: PolicyCache | None = None,
) -> _Outcome:
    recorder = RecordingResolver(resolver) if explain else None
    router = Router(
        resolver=recorder if recorder is not None else resolver,
        policy=policy,
        rng=random.Random(seed) if seed is not None else _RNG,
        policy_cache=cache,
    )
    try:
        route = await router.resolve_async(target)
    except InvalidInput as exc:
        outcome = _invalid("route", target, exc)
        lines, status, data = [outcome.text], outcome.status, outcome.data
        findings: list[Finding] = []
    except MailRouteError as exc:
        status = _status_of(exc)
        action = "retry later" if exc.temporary else "bounce"
        findings = _sorted(exc.findings)
        lines = [f"{target}: {action}: {exc.smtp_reply}"]
        lines += _finding_lines(findings, fixes=False)
        data = _data("route", target, status, findings, error=exc.to_dict())
    else:
        status = _status_of(None)
        findings = _sorted(route.findings)
        lines = _route_lines(target, route)
        data = _data("route", target, status, findings, route=route.to_dict())
    if recorder is not None:
        lines.append("  DNS, in the order asked:" if recorder.answers else "  DNS: no question")
        lines += [f"    {answer.describe()}" for answer in recorder.answers]
        data["trace"] = [a.to_dict() for a in recorder.answers]
    return _Outcome(status, "\n".join(lines), data, _worst(findings))


_SHAPE = {
    "route": ("worst", "route", "error", "findings"),
    "check": ("worst", "complete", "route", "error", "findings", "expectation"),
    "validate": ("address", "error"),
}
"""The keys of each command's JSON object after ``schema``, ``command``,
``target`` and ``status``, in order (documented on the Command line page)."""


def _data(
    command: str,
    target: str,
    status: str,
    findings: Sequence[Finding] = (),
    **payload: Any,
) -> dict[str, Any]:
    """One target's JSON object: every key of its command, in the documented order.

    Each finding is in it once (top level), none repeated inside ``route`` or
    ``error``.
    """
    data: dict[str, Any] = {"schema": SCHEMA, "command": command, "target": target}
    data["status"] = status
    worst = _worst(findings)
    values = {
        "worst": None if worst is None else worst.value,
        "findings": [f.to_dict() for f in findings],
        **payload,
    }
    for key in _SHAPE[command]:
        value = values.get(key)
        if key in ("route", "error") and value is not None:
            value = {k: v for k, v in value.items() if k != "findings"}
        data[key] = value
    return data


def _status_of(error: MailRouteError | None) -> str:
    """Whether mail can be delivered, given the routing failure (None: routed)."""
    if error is None:
        return _DELIVERABLE
    return _TEMPORARY if error.temporary else _UNDELIVERABLE


def _worst(findings: Sequence[Finding]) -> Severity | None:
    return min((f.severity for f in findings), key=lambda s: s.rank, default=None)


def _route_lines(target: str, route: MailRoute) -> list[str]:
    ttl = "" if route.ttl is None else f", ttl {route.ttl}"
    via = f" via {route.next_hop}" if route.next_hop else ""
    lines = [f"{target}: {route.kind.value} route for {route.domain}{via}{ttl}"]
    for number, host in enumerate(route.hosts, 1):
        addresses = " ".join(format_address(a) for a in host.addresses)
        tls = "" if host.tls == OPPORTUNISTIC else f"  tls {host.tls.level.value}"
        lines.append(
            f"  {number}. {host.name}  preference {host.preference}  port {host.port}  "
            f"{addresses}{tls}"
        )
    lines += _finding_lines(_sorted(route.findings), fixes=False)
    return lines


def _sorted(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.severity.rank)


def _finding_lines(findings: Sequence[Finding], *, fixes: bool) -> list[str]:
    lines = []
    for f in findings:
        lines.append(f"  {f.severity.value:<7}  {f.code}: {f.message}")
        if fixes and f.fix:
            lines.append(f"  {'':<7}  fix: {f.fix}")
    return lines


def _invalid(command: str, target: str, exc: InvalidInput) -> _Outcome:
    data = _data(command, target, _INVALID, error=exc.to_dict())
    if command == "check":
        data["complete"] = False
    reason = exc.reason
    if isinstance(exc, InvalidAddress) and exc.domain_reason:
        reason += f", {exc.domain_reason}"
    return _Outcome(_INVALID, f"{target}: invalid ({reason}): {exc}", data)


# -- check ----------------------------------------------------------------------


def _expectation(args: argparse.Namespace) -> Expectation | None:
    """The expectation of the command line, checked once (a bad one is a usage error)."""
    hosts = [h for given in args.expect_mx or () for h in given.split(",") if h.strip()]
    provider = args.expect_provider
    tls = args.expect_tls
    if args.expect_mx is not None and not hosts:
        raise _UsageError("--expect-mx: give at least one host name or pattern")
    if not hosts and provider is None and tls is None:
        return None
    try:
        return Expectation.parse(hosts, provider, tls)
    except InvalidInput as exc:
        raise _UsageError(f"--expect-mx: {exc}") from None


async def _check(
    target: str,
    resolver: AnyResolver,
    seed: int | None,
    policy: RoutingPolicy,
    authoritative: bool = False,
    expected: Expectation | None = None,
    cache: PolicyCache | None = None,
) -> _Outcome:
    rng = random.Random(seed) if seed is not None else _RNG
    try:
        report = await audit_async(
            target, resolver, policy, rng=rng, authoritative=authoritative, policy_cache=cache
        )
    except InvalidInput as exc:
        return _invalid("check", target, exc)
    error = report.error
    status = _status_of(error)
    result = None if expected is None else expected.check(report)
    data = _data(
        "check",
        target,
        status,
        report.findings,
        complete=report.complete,
        route=None if report.route is None else report.route.to_dict(),
        error=None if error is None else error.to_dict(),
        expectation=None if result is None else result.to_dict(),
    )
    lines = _check_lines(target, report)
    if result is not None:
        lines.insert(1, f"  expect: {result.describe()}")
    # A temporary failure says nothing about the hosts: it is 75, not "does not hold".
    failed = result is not None and not result.holds and status != _TEMPORARY
    return _Outcome(status, "\n".join(lines), data, report.worst, failed)


def _check_lines(target: str, report: AuditReport) -> list[str]:
    counts = {s: sum(f.severity is s for f in report.findings) for s in Severity}
    summary = ", ".join(f"{n} {s.value}" + ("s" if n != 1 else "") for s, n in counts.items() if n)
    if report.ok:
        head = f"{target}: ok"
    elif report.worst is Severity.ERROR:
        head = f"{target}: ERRORS"
    else:
        head = f"{target}: INCOMPLETE (a lookup failed temporarily: run the check again later)"
    lines = [f"{head}: {summary or 'no findings'}"]
    if report.route is not None:
        hosts = ", ".join(h.name for h in report.route.hosts)
        lines.append(f"  route: {report.route.kind.value} via {hosts}")
    elif report.error is not None:
        error = report.error
        lines.append(f"  route: none ({error.reply_code} {error.enhanced_status})")
    lines += _finding_lines(report.findings, fixes=True)
    return lines


# -- validate -------------------------------------------------------------------


def _validate(target: str) -> _Outcome:
    try:
        address = validate_address(target)
    except InvalidInput as exc:
        return _invalid("validate", target, exc)
    found = address.to_dict()
    utf8 = " (needs SMTPUTF8)" if address.smtputf8 else ""
    return _Outcome(
        _VALID,
        f"{target}: ok: {address.normalized}{utf8}",
        _data("validate", target, _VALID, address=found),
    )
