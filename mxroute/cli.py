"""The ``mxroute`` command: route targets, audit domains, validate addresses.

::

    mxroute route [options] TARGET...      the hosts to try, in order (--explain: the DNS trace)
    mxroute check [options] DOMAIN...      the audit, most severe finding first
    mxroute validate [--json] ADDRESS...   each address normalised, or why not

``-`` as a target reads targets from standard input, one per line (blank
lines and ``#`` comments are skipped); they are resolved concurrently and
reported in input order. The exit status is 0 when everything is fine, 1
for a permanent failure, an invalid input or an error-severity finding, 2
for a usage error, 75 (``EX_TEMPFAIL``) for a temporary failure (1 wins over
75 when both occur in one run), 130 when interrupted and 141 when the
reader of the output went away (broken pipe).

:func:`main` is the whole command, callable in-process with an injected
resolver, which is how its tests run it. The reference, with the JSON
schema, is the "Command line" page of the documentation.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ipaddress
import itertools
import json
import os
import random
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from mxroute._audit import AuditReport, audit_async
from mxroute._dns import AnyResolver
from mxroute._errors import InvalidAddress, InvalidInput, MailRouteError, MXRouteError
from mxroute._findings import Finding, Severity
from mxroute._model import MailRoute
from mxroute._policy import RoutingPolicy
from mxroute._resolvers.caching import CachingResolver
from mxroute._resolvers.dns import DNSResolver
from mxroute._resolvers.memory import InMemoryResolver
from mxroute._resolvers.recording import RecordingResolver
from mxroute._router import Router
from mxroute._validate import validate_address

__all__ = [
    "EX_FAILURE",
    "EX_INTERRUPTED",
    "EX_OK",
    "EX_PIPE",
    "EX_TEMPFAIL",
    "EX_USAGE",
    "main",
]

EX_OK = 0
"""Every target is fine."""
EX_FAILURE = 1
"""A permanent routing failure, an invalid input, an error-severity finding,
or an unreadable zone file."""
EX_USAGE = 2
"""The command line is wrong."""
EX_TEMPFAIL = 75
"""A temporary failure (``EX_TEMPFAIL`` of sysexits.h): try again later."""
EX_INTERRUPTED = 130
"""Interrupted (Ctrl-C)."""
EX_PIPE = 141
"""The reader of the output went away (broken pipe), as a shell reports SIGPIPE."""

DEFAULT_CONCURRENCY = 16
"""Targets resolved at the same time, unless ``--concurrency`` says otherwise."""

_OK, _FAILED, _TEMPORARY, _INVALID = "ok", "failed", "temporary", "invalid"
_STATUS_WORDS = {_FAILED: "ERRORS", _TEMPORARY: "INCOMPLETE", _INVALID: "INVALID", _OK: "ok"}


class _UsageError(Exception):
    """A command-line problem that argparse could not see; exit status 2."""


class _InputError(Exception):
    """An input file that cannot be used (a zone file); exit status 1."""


@attrs.frozen
class _Outcome:
    """One target's result: its status, its text lines and its JSON object."""

    status: str
    text: str
    data: dict[str, Any]


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
        epilog="Exit status: 0 all good; 1 a permanent failure, an invalid input or an "
        "error-severity finding; 2 a usage error; 75 a temporary failure (1 wins over 75).",
    )
    parser.add_argument("--version", action="version", version=f"mxroute {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    route = commands.add_parser(
        "route",
        help="the hosts to deliver to, in the order to try them",
        description="Route each target (a domain, a mailbox address or an address literal): "
        "the hosts in attempt order with their preference, addresses and port, the route "
        "kind, its TTL and what was noticed.",
    )
    route.add_argument("targets", nargs="+", metavar="TARGET", help="'-' reads standard input")
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

    check = commands.add_parser(
        "check",
        help="audit domains' mail setup, most severe finding first",
        description="Audit each domain's mail setup (MX records, mail hosts, addresses, "
        "TTLs) and say what to fix, most severe finding first.",
    )
    check.add_argument("targets", nargs="+", metavar="DOMAIN", help="'-' reads standard input")
    _dns_options(check)

    validate = commands.add_parser(
        "validate",
        help="check and normalise mailbox addresses (no DNS)",
        description="Check each mailbox address and print it normalised, or why it is "
        "not usable (a stable reason code and a message). Asks no DNS question.",
    )
    validate.add_argument("targets", nargs="+", metavar="ADDRESS", help="'-' reads standard input")
    validate.add_argument("--json", action="store_true", help="one JSON object per address")
    return parser


def _dns_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per target")
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
        "--concurrency",
        type=_positive,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"targets resolved at the same time (default {DEFAULT_CONCURRENCY})",
    )


def _nameserver(text: str) -> tuple[str, int | None]:
    """``ADDR``, ``ADDR:PORT``, ``[IPV6]:PORT`` or a bare IPv6 address."""
    port: str | None = None
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError(f"{text!r}: write an IPv6 server as [ADDR]:PORT")
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:
        address = text
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a name server is given as an IP address"
        ) from None
    if port is None:
        return str(parsed), None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: the port must be a number from 1 to 65535")
    return str(parsed), int(port)


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
    if args.command == "validate":
        outcomes = (_validate(t) for t in _targets(args.targets))
        return _report(outcomes, args.json, progress=None)

    policy = RoutingPolicy()
    if args.command == "route":
        try:
            policy = RoutingPolicy(relayhost=args.relayhost)
        except InvalidInput as exc:
            raise _UsageError(f"--relayhost: {exc}") from None
    resolver = _resolver(args, injected)
    targets = _targets(args.targets)
    if args.command == "route":

        def work(target: str) -> Awaitable[_Outcome]:
            return _route(target, resolver, policy, args.seed, args.explain)

    else:

        def work(target: str) -> Awaitable[_Outcome]:
            return _check(target, resolver, args.seed)

    show = "-" in args.targets and len(targets) > 0 and sys.stderr.isatty()
    try:
        return asyncio.run(_run_all(targets, work, args.concurrency, args.json, show))
    finally:
        close = getattr(resolver, "close", None)
        if resolver is not injected and callable(close):
            close()


def _targets(given: Sequence[str]) -> list[str]:
    """The targets in order, ``-`` replaced by the lines of standard input."""
    out: list[str] = []
    stdin_read = False
    for target in given:
        if target != "-":
            out.append(target)
        elif not stdin_read:
            stdin_read = True
            for line in sys.stdin:
                text = line.strip()
                if text and not text.startswith("#"):
                    out.append(text)
    return out


def _resolver(args: argparse.Namespace, injected: AnyResolver | None) -> AnyResolver:
    if args.zone:
        zone = InMemoryResolver()
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
        # One cache for the run: addresses at the same domain, and domains
        # sharing MX hosts, ask each question once.
        return CachingResolver(DNSResolver(**options))
    return injected


async def _run_all(
    targets: Sequence[str],
    work: Callable[[str], Awaitable[_Outcome]],
    concurrency: int,
    as_json: bool,
    show_progress: bool,
) -> int:
    """Resolve the targets concurrently, report them in input order.

    A semaphore keeps at most ``concurrency`` targets in flight, and at most
    a few times that many are started ahead of the one being reported, so a
    long list on standard input costs little memory.
    """
    limit = asyncio.Semaphore(concurrency)
    window = 4 * concurrency
    progress = _Progress(len(targets)) if show_progress else None

    async def bounded(target: str) -> _Outcome:
        async with limit:
            return await work(target)

    pending: collections.deque[asyncio.Task[_Outcome]] = collections.deque()
    upcoming = iter(targets)
    statuses: list[str] = []
    try:
        while True:
            for target in itertools.islice(upcoming, window - len(pending)):
                pending.append(asyncio.ensure_future(bounded(target)))
            if not pending:
                break
            outcome = await pending.popleft()
            _write(outcome, as_json, progress)
            statuses.append(outcome.status)
    finally:
        for task in pending:
            task.cancel()
        if progress is not None:
            progress.clear()
    return _exit_status(statuses)


def _report(outcomes: Any, as_json: bool, progress: _Progress | None) -> int:
    statuses = []
    for outcome in outcomes:
        _write(outcome, as_json, progress)
        statuses.append(outcome.status)
    return _exit_status(statuses)


def _write(outcome: _Outcome, as_json: bool, progress: _Progress | None) -> None:
    if progress is not None:
        progress.clear()
    if as_json:
        sys.stdout.write(json.dumps(outcome.data, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(outcome.text + "\n")
    sys.stdout.flush()
    if progress is not None:
        progress.step()


def _exit_status(statuses: Any) -> int:
    seen = set(statuses)
    if seen & {_FAILED, _INVALID}:
        return EX_FAILURE
    if _TEMPORARY in seen:
        return EX_TEMPFAIL
    return EX_OK


class _Progress:
    """``mxroute: 12/500`` on standard error, rewritten in place (only on a terminal)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    def step(self) -> None:
        self.done += 1
        sys.stderr.write(f"\rmxroute: {self.done}/{self.total}")
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


# -- route --------------------------------------------------------------------


async def _route(
    target: str,
    resolver: AnyResolver,
    policy: RoutingPolicy,
    seed: int | None,
    explain: bool,
) -> _Outcome:
    recorder = RecordingResolver(resolver) if explain else None
    router = Router(
        resolver=recorder if recorder is not None else resolver,
        policy=policy,
        rng=random.Random(seed) if seed is not None else None,
    )
    try:
        route = await router.resolve_async(target)
    except InvalidInput as exc:
        outcome = _invalid("route", target, exc)
        lines, status, data = [outcome.text], outcome.status, outcome.data
    except MailRouteError as exc:
        status = _TEMPORARY if exc.temporary else _FAILED
        action = "retry later" if exc.temporary else "bounce"
        lines = [f"{target}: {action}: {exc.smtp_reply}"]
        lines += _finding_lines(_sorted(exc.findings), fixes=False)
        data = _data("route", target, status, error=exc.to_dict(), findings=exc.findings)
    else:
        status = _status_of(route.findings)
        lines = _route_lines(target, route)
        data = _data("route", target, status, route=route.to_dict(), findings=route.findings)
    if recorder is not None:
        lines.append("  DNS, in the order asked:" if recorder.answers else "  DNS: no question")
        lines += [f"    {answer.describe()}" for answer in recorder.answers]
        data["trace"] = [a.to_dict() for a in recorder.answers]
    return _Outcome(status, "\n".join(lines), data)


_PAYLOAD = {
    "route": ("route", "error", "findings"),
    "check": ("audit", "error", "findings"),
    "validate": ("address", "error"),
}


def _data(command: str, target: str, status: str, **payload: Any) -> dict[str, Any]:
    """One target's JSON object, its keys always present and in the documented order."""
    data: dict[str, Any] = {"command": command, "target": target, "status": status}
    data["ok"] = status == _OK
    for key in _PAYLOAD[command]:
        value = payload.get(key)
        if key == "findings":
            value = [f.to_dict() for f in _sorted(value or ())]
        data[key] = value
    return data


def _status_of(findings: Sequence[Finding]) -> str:
    return _FAILED if any(f.severity is Severity.ERROR for f in findings) else _OK


def _route_lines(target: str, route: MailRoute) -> list[str]:
    ttl = "" if route.ttl is None else f", ttl {route.ttl}"
    via = f" via {route.next_hop}" if route.next_hop else ""
    lines = [f"{target}: {route.kind.value} route for {route.domain}{via}{ttl}"]
    for number, host in enumerate(route.hosts, 1):
        addresses = " ".join(str(a) for a in host.addresses)
        lines.append(
            f"  {number}. {host.name}  preference {host.preference}  port {host.port}  {addresses}"
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
    reason = exc.reason
    if isinstance(exc, InvalidAddress) and exc.domain_reason:
        reason += f", {exc.domain_reason}"
    return _Outcome(_INVALID, f"{target}: invalid ({reason}): {exc}", data)


# -- check ----------------------------------------------------------------------


async def _check(target: str, resolver: AnyResolver, seed: int | None) -> _Outcome:
    rng = random.Random(seed) if seed is not None else None
    try:
        report = await audit_async(target, resolver, rng=rng)
    except InvalidInput as exc:
        return _invalid("check", target, exc)
    if report.ok:
        status = _OK
    elif report.worst is Severity.ERROR:
        status = _FAILED
    else:
        status = _TEMPORARY
    data = _data("check", target, status, audit=report.to_dict(), findings=report.findings)
    return _Outcome(status, "\n".join(_check_lines(target, report, status)), data)


def _check_lines(target: str, report: AuditReport, status: str) -> list[str]:
    counts = {s: sum(f.severity is s for f in report.findings) for s in Severity}
    summary = ", ".join(f"{n} {s.value}" + ("s" if n != 1 else "") for s, n in counts.items() if n)
    head = f"{target}: {_STATUS_WORDS[status]}"
    if status == _TEMPORARY:
        head += " (a lookup failed temporarily: run the check again later)"
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
        _OK,
        f"{target}: ok: {address.normalized}{utf8}",
        _data("validate", target, _OK, address=found),
    )
