"""The ``mxroute`` command: route targets, audit domains, validate addresses.

::

    mxroute route [options] TARGET...      the hosts to try, in order (--explain: the DNS trace)
    mxroute check [options] DOMAIN...      the audit, most severe finding first
    mxroute validate [--json] ADDRESS...   each address normalised, or why not

``-`` as a target reads targets from standard input, one per line (blank
lines and ``#`` comments are skipped), as they arrive. Targets are handled
concurrently on mxroute's bulk engine and each result is printed as soon as
it is ready (``--ordered``: in input order), so memory stays constant for
any input size. Each target has a status saying whether mail can be
delivered, and the exit status follows it: 0 deliverable (valid), 1
undeliverable or invalid (or a finding at ``--fail-on`` severity), 75
(``EX_TEMPFAIL``) temporarily not (1 wins over 75 when both occur in one
run), 2 for a usage error, 130 when interrupted and 141 when the reader of
the output went away (broken pipe).

:func:`main` is the whole command, callable in-process with an injected
resolver, which is how its tests run it. The reference, with the JSON
schema, is the "Command line" page of the documentation.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
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

SCHEMA = 1
"""The version of the ``--json`` objects' shape (their ``"schema"`` key).

It changes when a key is removed or changes meaning; keys may be added
within one version.
"""

# A target's status: whether mail can be delivered (route, check), or whether
# the address is usable (validate). It decides the exit status.
_DELIVERABLE, _TEMPORARY, _UNDELIVERABLE = "deliverable", "temporary", "undeliverable"
_VALID, _INVALID = "valid", "invalid"
_FAIL_ON = "fail-on"  # counted beside the statuses: a finding at --fail-on severity


class _UsageError(Exception):
    """A command-line problem that argparse could not see; exit status 2."""


class _InputError(Exception):
    """An input file that cannot be used (a zone file); exit status 1."""


@attrs.frozen
class _Outcome:
    """One target's result.

    It holds its status, its text lines, its JSON object and its most severe finding.
    """

    status: str
    text: str
    data: dict[str, Any]
    worst: Severity | None = None


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

    resolver = None if args.command == "validate" else _resolver(args, injected)
    try:
        work = _work(args, resolver)
        progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
        return asyncio.run(_run_all(_targets(args.targets), work, args, progress))
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
        audited = RoutingPolicy(dane=args.dane, mta_sts=args.mta_sts)
        return lambda t: _check(t, resolver, args.seed, audited, cache)
    try:
        policy = RoutingPolicy(relayhost=args.relayhost, dane=args.dane, mta_sts=args.mta_sts)
    except InvalidInput as exc:
        raise _UsageError(f"--relayhost: {exc}") from None
    return lambda t: _route(t, resolver, policy, args.seed, args.explain, cache)


async def _run_all(
    targets: AsyncIterator[str],
    work: _Work,
    args: argparse.Namespace,
    progress: _Progress | None,
) -> int:
    """Run ``work`` over the targets on the bulk engine.

    Each outcome is printed as it completes (in input order with ``--ordered``).
    """
    import asyncio

    from mxroute import _bulk as bulk

    async def one(target: str) -> _Outcome:
        undecodable = _undecodable(args.command, target)
        return undecodable if undecodable is not None else await work(target)

    fail_on = getattr(args, "fail_on", None)
    fail_on = None if fail_on is None else Severity(fail_on)
    counts: collections.Counter[str] = collections.Counter()
    ticker = asyncio.ensure_future(progress.tick()) if progress is not None else None
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
            if progress is not None:
                progress.clear()
            if args.json:
                _emit(json.dumps(outcome.data, ensure_ascii=False), "utf-8")
            else:
                _emit(outcome.text, None)
            counts[outcome.status] += 1
            if _fails_on(outcome, fail_on):
                counts[_FAIL_ON] += 1
            if progress is not None:
                progress.count(outcome.status)
    finally:
        await results.aclose()  # type: ignore[attr-defined]
        if ticker is not None:
            ticker.cancel()
        if progress is not None:
            progress.clear()
    return _exit_status(counts)


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

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.last = 0.0
        self.done = 0
        self.failed = 0
        self.shown = False

    def count(self, status: str) -> None:
        self.done += 1
        self.failed += status not in (_DELIVERABLE, _VALID)
        self.show()

    def show(self) -> None:
        now = time.monotonic()
        elapsed = now - self.started
        if elapsed < self.DELAY or now - self.last < self.EVERY:
            return
        self.last = now
        rate = self.done / elapsed
        line = f"mxroute: {self.done} done, {rate:.0f}/s, {self.failed} failed"
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


# -- route --------------------------------------------------------------------


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
        rng=random.Random(seed) if seed is not None else None,
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
    "check": ("worst", "complete", "route", "error", "findings"),
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
    if command == "check":
        data["complete"] = False
    reason = exc.reason
    if isinstance(exc, InvalidAddress) and exc.domain_reason:
        reason += f", {exc.domain_reason}"
    return _Outcome(_INVALID, f"{target}: invalid ({reason}): {exc}", data)


# -- check ----------------------------------------------------------------------


async def _check(
    target: str,
    resolver: AnyResolver,
    seed: int | None,
    policy: RoutingPolicy,
    cache: PolicyCache | None = None,
) -> _Outcome:
    rng = random.Random(seed) if seed is not None else None
    try:
        report = await audit_async(target, resolver, policy, rng=rng, policy_cache=cache)
    except InvalidInput as exc:
        return _invalid("check", target, exc)
    error = report.error
    status = _status_of(error)
    data = _data(
        "check",
        target,
        status,
        report.findings,
        complete=report.complete,
        route=None if report.route is None else report.route.to_dict(),
        error=None if error is None else error.to_dict(),
    )
    text = "\n".join(_check_lines(target, report))
    return _Outcome(status, text, data, report.worst)


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
