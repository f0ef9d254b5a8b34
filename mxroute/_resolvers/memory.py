"""InMemoryResolver: DNS from a dictionary, the fake to put in tests."""

from __future__ import annotations

import collections
import functools
import inspect
import os
import re
import textwrap
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from mxroute._checks import flag, integer, seconds
from mxroute._dns import Answer, AnswerStatus, Question, RData, rdata_value
from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._model import MXRecord
from mxroute._names import normalize_host

if TYPE_CHECKING:
    import dns.zone  # zone files only: imported where they are read

__all__ = ["InMemoryResolver", "Outcome"]

Outcome = str | AnswerStatus | Answer | None
"""One step of a :meth:`InMemoryResolver.script`: ``None`` (answer from the
records), an outcome name (``"servfail"``, ``"timeout"``, ``"refused"``,
``"nxdomain"``, ``"nodata"``), an :class:`~mxroute.AnswerStatus`, or a whole
:class:`~mxroute.Answer` to give back as it is."""

_FAILURES = {
    "servfail": AnswerStatus.SERVFAIL,
    "timeout": AnswerStatus.TIMEOUT,
    "refused": AnswerStatus.REFUSED,
    "nxdomain": AnswerStatus.NXDOMAIN,
}
_OUTCOMES = {**_FAILURES, "nodata": AnswerStatus.NODATA}
_MAX_CNAMES = 16
MAX_ZONE_RECORDS = 10_000
"""The most records one zone may hold (see :meth:`InMemoryResolver.load_zone`)."""
_GENERATE = re.compile(r"^\s*\$GENERATE\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_ZONE_FILE = re.compile(r"^(?:db\.(?P<prefix>.+)|(?P<suffix>.+)\.(?:zone|db))$")
_ORIGIN_FIRST = re.compile(r"^\s*\$ORIGIN\s", re.IGNORECASE)


def _latency(value: object, what: str = "latency") -> float:
    return seconds(value, what, allow_zero=True)


def _lifetime(value: object, what: str) -> float | None:
    return None if value is None else seconds(value, what)


_SETTINGS: dict[str, Callable[[object, str], object]] = {
    "negative_ttl": functools.partial(integer, low=0),
    "authenticated": functools.partial(flag, reason="invalid-option"),
    "use_additional": functools.partial(flag, reason="invalid-option"),
    "latency": _latency,
    "lifetime": _lifetime,
}
"""The settings of an InMemoryResolver, each checked whenever it is set."""


@functools.cache
def _defaults() -> dict[str, object]:
    """The settings' defaults, as the constructor's signature gives them."""
    parameters = inspect.signature(InMemoryResolver.__init__).parameters
    return {name: parameters[name].default for name in _SETTINGS}


def _zone_origin(filename: str) -> str | None:
    """The zone origin a zone file's name gives, or None.

    ``example.com.zone`` and ``example.com.db`` give ``example.com``, as does
    ``db.example.com`` (the BIND convention). Any other name gives None.
    """
    match = _ZONE_FILE.match(filename)
    if match is None:
        return None
    return match.group("prefix") or match.group("suffix")


def _starts_with_origin(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if stripped.upper().startswith("$TTL"):
            continue
        return bool(_ORIGIN_FIRST.match(stripped))
    return False


def _too_large(limit: int, more: str, text: str = "") -> InvalidInput:
    return InvalidInput(
        "zone-too-large",
        f"the zone has more than {limit:,} records (max_records): {more}; "
        "split the zone, or give a larger max_records",
        text,
    )


def _check_generate(text: str, limit: int) -> None:
    """Refuse ``$GENERATE`` ranges that add more than ``limit`` records, before any is made.

    A range that does not parse is left to dnspython, which names its line.
    """
    import dns.grange

    total = 0
    for match in _GENERATE.finditer(text):
        try:
            start, stop, step = dns.grange.from_text(match.group(1))
        except (dns.exception.DNSException, ValueError):
            continue
        total += len(range(start, stop + 1, step))
        if total > limit:
            raise _too_large(
                limit, f"its $GENERATE ranges alone make {total:,}", match.group(0).strip()
            )


def _counting_zone(limit: int) -> type[dns.zone.Zone]:
    """A zone class whose loading stops past ``limit`` records.

    dnspython adds the records of a zone file one at a time through the
    zone's writer transaction; the check sits there. (A zone class rather
    than ``from_text(transaction_setup=...)``, which dnspython 2.8 and
    earlier do not have.)
    """
    import dns.zone

    count = 0

    def check(_txn: object, _name: object, _rdataset: object) -> None:
        nonlocal count
        count += 1
        if count > limit:
            raise _too_large(limit, f"reading stopped at record {count:,}")

    class CountingZone(dns.zone.Zone):
        def writer(self, replacement: bool = False) -> dns.zone.Transaction:
            txn = super().writer(replacement)
            txn.check_put_rdataset(check)
            return txn

    return CountingZone


def _rdtype_text(rdtype: str) -> str:
    try:
        return dns.rdatatype.to_text(dns.rdatatype.from_text(rdtype))
    except (dns.exception.DNSException, ValueError, TypeError):
        raise InvalidInput(
            "invalid-rdtype", f"{rdtype!r} is not a DNS record type", str(rdtype)
        ) from None


def _name(name: str) -> str:
    if not isinstance(name, str) or not name or name == ".":
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name", str(name))
    try:
        dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError) as exc:
        raise InvalidInput("invalid-name", f"{name!r} is not a DNS name: {exc}", name) from None
    return normalize_host(name)


class InMemoryResolver:
    """A resolver that answers from records you add: the fake for tests.

    It answers like a recursive resolver configured for minimal responses:
    CNAMEs are followed inside one answer (a loop answers SERVFAIL), a name
    that owns any record or has a descendant exists (NODATA for other types),
    every other name is NXDOMAIN. Negative answers carry the TTL of the
    closest enclosing zone's SOA (RFC 2308), else ``negative_ttl``.

    It implements both :class:`~mxroute.Resolver` and
    :class:`~mxroute.AsyncResolver`, and records every question in
    :attr:`queries`.

    >>> r = InMemoryResolver()
    >>> r.add("example.com", "MX", "10 mx1.example.com.", "20 mx2.example.com.")
    >>> r.query("example.com", "MX").status
    <AnswerStatus.RECORDS: 'records'>
    >>> r.queries == [("example.com", "MX")]
    True

    For tests of retry and timeout handling it can also misbehave on
    purpose: :meth:`fail` makes a question fail every time, :meth:`script`
    gives a question a sequence of outcomes (a timeout, then SERVFAIL, then
    the records), and ``latency`` / :meth:`delay` make answers take time
    (:func:`time.sleep` in :meth:`query`, :func:`asyncio.sleep` in
    :meth:`query_async`). A question that takes longer than ``lifetime``
    answers TIMEOUT once ``lifetime`` has passed, and a TIMEOUT outcome takes
    the whole ``lifetime``, as a real resolver's would; with no ``lifetime``
    (the default) a TIMEOUT answers after the question's latency (at once
    unless you set one), so tests of timeouts stay fast.

    Args:
        negative_ttl: TTL of NXDOMAIN and NODATA answers when no SOA is known.
        authenticated: Whether answers carry the DNSSEC AD bit: True or False
            for every name, or a collection of names (like signed zones:
            each name and every name below it answers with AD, the rest
            without). See :meth:`mark_authenticated`.
        use_additional: Whether MX answers carry the A/AAAA records of their
            exchanges in :attr:`Answer.additional <mxroute.Answer.additional>`
            (the additional section), as some servers send them and as
            :class:`~mxroute.DNSResolver` passes them on.
        latency: Seconds every answer takes (see :meth:`delay` for one name).
        lifetime: Seconds a caller waits for an answer; None for no limit.

    Each setting is checked when it is given and whenever it is set later,
    with the :class:`~mxroute.InvalidInput` that :class:`~mxroute.DNSResolver`
    raises for the same mistake: ``.reason`` is ``invalid-negative-ttl``,
    ``invalid-option`` (a flag that is not a bool), ``invalid-latency`` or
    ``invalid-lifetime``.
    """

    negative_ttl: int
    """TTL of NXDOMAIN and NODATA answers when no SOA is known."""
    authenticated: bool
    """Whether answers carry the DNSSEC AD bit."""
    use_additional: bool
    """Whether MX answers carry their exchanges' A/AAAA records in ``additional``."""
    latency: float
    """Seconds every answer takes, unless :meth:`delay` set the question's own."""
    lifetime: float | None
    """Seconds a caller waits for an answer; None (the default) for no limit.

    An answer slower than this becomes TIMEOUT after ``lifetime`` seconds,
    and a TIMEOUT outcome takes ``lifetime`` seconds.
    """

    def __init__(
        self,
        *,
        negative_ttl: int = 300,
        authenticated: bool | Collection[str] = False,
        use_additional: bool = False,
        latency: float = 0.0,
        lifetime: float | None = None,
    ) -> None:
        self._marks: dict[str, bool] = {}
        everything: object = authenticated
        if isinstance(authenticated, Collection) and not isinstance(authenticated, str):
            self.mark_authenticated(*authenticated)
            everything = False
        self.negative_ttl = negative_ttl
        self.authenticated = flag(everything, "authenticated", reason="invalid-option")
        self.use_additional = use_additional
        self.latency = latency
        self.lifetime = lifetime
        self.queries: list[Question] = []
        """The questions asked, in order, as ``(name, rdtype)`` tuples."""
        self._records: dict[tuple[str, str], dict[RData, int]] = {}
        self._failures: dict[tuple[str, str | None], AnswerStatus] = {}
        self._names: set[str] = set()
        self._soa: dict[str, int] = {}
        self._scripts: dict[tuple[str, str | None], collections.deque[Outcome]] = {}
        self._delays: dict[tuple[str, str | None], float] = {}

    def __repr__(self) -> str:
        """Short: what it holds, what it was asked, and the settings that are not the default."""
        counts = [
            (len(self._records), "record set", "record sets"),
            (len(self.queries), "query", "queries"),
            (len(self._failures), "failure", "failures"),
            (len(self._scripts), "script", "scripts"),
            (len(self._delays), "delay", "delays"),
            (len(self._marks), "AD mark", "AD marks"),
        ]
        held = ", ".join(
            f"{n} {one if n == 1 else many}"
            for index, (n, one, many) in enumerate(counts)
            if n or index < 2
        )
        settings = "".join(
            f", {name}={getattr(self, name)!r}"
            for name, default in _defaults().items()
            if getattr(self, name) != default
        )
        return f"<InMemoryResolver: {held}{settings}>"

    def __setattr__(self, name: str, value: object) -> None:
        check = _SETTINGS.get(name)
        super().__setattr__(name, value if check is None else check(value, name))

    # -- filling -----------------------------------------------------------

    def add(
        self,
        name: str,
        rdtype: str,
        *rdata_text: str,
        ttl: int = 3600,
        authenticated: bool | None = None,
    ) -> None:
        """Add records: ``add("example.com", "MX", "10 mx1.example.com.")``.

        Names in the record data are absolute, with or without the final dot.
        ``authenticated=True`` (or False) marks ``name`` and the names below
        it as answering with (or without) the AD bit, as
        :meth:`mark_authenticated` does; None leaves the marks as they are.

        Raises:
            InvalidInput: The name, the type or a record's text is not valid
                (``.reason`` is ``invalid-name``, ``invalid-rdtype`` or
                ``invalid-rdata``).
        """
        owner = _name(name)
        kind = _rdtype_text(rdtype)
        integer(ttl, "ttl", low=0)
        parsed = []
        for text in rdata_text:
            try:
                rdata = dns.rdata.from_text(
                    dns.rdataclass.IN, kind, text, origin=dns.name.root, relativize=False
                )
            except (dns.exception.DNSException, ValueError, TypeError) as exc:
                raise InvalidInput(
                    "invalid-rdata", f"invalid {kind} record {text!r} for {owner}: {exc}", text
                ) from None
            parsed.append(rdata)
        self._add_rdatas(owner, kind, parsed, ttl)
        if authenticated is not None:
            self.mark_authenticated(owner, authenticated=authenticated)

    def mark_authenticated(self, *names: str, authenticated: bool = True) -> None:
        """Make answers about ``names`` (and every name below them) carry the AD bit, or not.

        This is how a test says which zones are DNSSEC-signed (and validated):
        ``mark_authenticated("example.com")`` makes every answer about
        ``example.com`` and its subdomains authenticated, NXDOMAIN included;
        ``mark_authenticated("_25._tcp.mx.example.com", authenticated=False)``
        then makes that one name (an unsigned delegation, say) insecure. The
        mark nearest to the name asked wins; names without a mark follow the
        ``authenticated`` setting. An answer that followed CNAMEs is
        authenticated only if every name of its chain is, and SERVFAIL,
        REFUSED and TIMEOUT answers never are.

        Raises:
            InvalidInput: A name is not a DNS name (``invalid-name``), or
                ``authenticated`` is not a bool (``invalid-option``).
        """
        mark = flag(authenticated, "authenticated", reason="invalid-option")
        for name in names:
            self._marks[_name(name)] = mark

    def _secure(self, *names: str) -> bool:
        """Whether an answer about every one of ``names`` carries the AD bit."""
        for name in names:
            labels = name.split(".")
            for i in range(len(labels)):
                mark = self._marks.get(".".join(labels[i:]))
                if mark is not None:
                    break
            else:
                mark = self.authenticated
            if not mark:
                return False
        return True

    def _add_rdatas(
        self, owner: str, kind: str, rdatas: Iterable[dns.rdata.Rdata], ttl: int
    ) -> None:
        entries = self._records.setdefault((owner, kind), {})
        for rdata in rdatas:
            if kind == "SOA":
                self._soa[owner] = min(ttl, rdata.minimum)  # type: ignore[attr-defined]
            entries.setdefault(rdata_value(rdata), ttl)  # a record added twice is kept once
        labels = owner.split(".")
        for i in range(len(labels)):
            self._names.add(".".join(labels[i:]))

    def load_zone(
        self,
        text: str,
        origin: str | None = None,
        *,
        max_records: int = MAX_ZONE_RECORDS,
        authenticated: bool | None = None,
    ) -> None:
        """Add every record of a zone in BIND zone-file syntax (parsed by dnspython).

        Whitespace that begins every line is removed first, so the text can
        be an indented triple-quoted string in a test. ``$GENERATE`` is
        supported; ``$INCLUDE`` is not (a zone text never reads other files).

        A zone may hold at most ``max_records`` records (10,000 unless given),
        so that a few bytes of ``$GENERATE 1-100000 ...`` cannot make a test
        or ``mxroute check --zone`` spend seconds and hundreds of megabytes:
        ``$GENERATE`` ranges over the limit are refused before any record is
        made, and reading stops at the first record past it. Nothing of a
        refused zone is added.

        Args:
            text: The zone file's text.
            origin: The zone's origin, unless the text has ``$ORIGIN``.
            max_records: The most records the zone may hold.
            authenticated: True for a signed zone: answers about the origin
                and every name below it carry the AD bit (False: never; None:
                as the resolver's ``authenticated`` setting). See
                :meth:`mark_authenticated`.

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-zone"`` (the message names
                the line dnspython could not read), ``"zone-too-large"``, or
                ``"invalid-max-records"`` when ``max_records`` is not a
                positive integer.
        """
        self._load(text, origin, max_records, authenticated)

    def _load(
        self, text: str, origin: str | None, max_records: int, authenticated: bool | None = None
    ) -> str:
        integer(max_records, "max_records", low=1)
        if authenticated is not None:
            flag(authenticated, "authenticated", reason="invalid-option")
        text = textwrap.dedent(text)
        _check_generate(text, max_records)
        import dns.zone

        try:
            zone = dns.zone.from_text(
                text,
                origin=origin,
                relativize=False,
                check_origin=False,
                zone_factory=_counting_zone(max_records),
            )
        except InvalidInput:
            raise
        except (dns.exception.DNSException, ValueError) as exc:
            raise InvalidInput("invalid-zone", f"cannot read the zone: {exc}") from None
        for owner, rdataset in zone.iterate_rdatasets():
            self._add_rdatas(
                normalize_host(owner.to_text()),
                dns.rdatatype.to_text(rdataset.rdtype),
                rdataset,
                rdataset.ttl,
            )
        loaded = normalize_host(zone.origin.to_text()) if zone.origin is not None else ""
        if authenticated is not None and loaded:
            self.mark_authenticated(loaded, authenticated=authenticated)
        return loaded

    @classmethod
    def from_zone(
        cls,
        text: str,
        origin: str | None = None,
        *,
        authenticated: bool | None = None,
        **limits: int,
    ) -> InMemoryResolver:
        """A resolver holding one zone in BIND zone-file syntax.

        The keyword arguments are those of :meth:`load_zone`: ``authenticated``
        (``from_zone(text, authenticated=True)`` for a signed zone) and
        ``max_records``.
        """
        resolver = cls()
        resolver.load_zone(text, origin, authenticated=authenticated, **limits)
        return resolver

    def load_directory(
        self, path: str | os.PathLike[str], *, max_records: int = MAX_ZONE_RECORDS
    ) -> list[str]:
        """Add every zone file of a directory; return the zones' origins.

        The files read are those named like a zone file: ``example.com.zone``,
        ``example.com.db`` or ``db.example.com`` (other files, hidden files
        and subdirectories are ignored), in name order. A file whose first
        directive or record is ``$ORIGIN`` takes its origin from there;
        otherwise the origin is the file name without ``.zone``/``.db`` or
        ``db.``. As in BIND, records outside a file's zone are ignored.
        Each zone may hold at most ``max_records`` records, as in
        :meth:`load_zone`.

        Args:
            path: The directory.
            max_records: The most records each zone may hold.

        Returns:
            The origin of each zone read, in the order read (lowercase,
            without the trailing dot).

        Raises:
            InvalidInput: ``.reason`` is ``"invalid-zone"`` when a file cannot
                be read as a zone, ``"zone-too-large"`` when a zone has more
                than ``max_records`` records (the message names the file),
                or ``"invalid-zone-directory"`` when ``path`` is not a
                directory.
        """
        directory = Path(path)
        if not directory.is_dir():
            raise InvalidInput(
                "invalid-zone-directory", f"{str(directory)!r} is not a directory", str(directory)
            )
        origins = []
        for entry in sorted(directory.iterdir(), key=lambda p: p.name):
            origin = _zone_origin(entry.name)
            if origin is None or entry.name.startswith(".") or not entry.is_file():
                continue
            try:
                text = entry.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidInput(
                    "invalid-zone", f"cannot read the zone file {entry.name}: {exc}", entry.name
                ) from None
            zone_origin = None if _starts_with_origin(text) else origin
            try:
                origins.append(self._load(text, zone_origin, max_records))
            except InvalidInput as exc:
                raise InvalidInput(exc.reason, f"{entry.name}: {exc}", entry.name) from None
        return origins

    @classmethod
    def from_directory(
        cls, path: str | os.PathLike[str], *, max_records: int = MAX_ZONE_RECORDS
    ) -> InMemoryResolver:
        """A resolver holding every zone file of a directory (see :meth:`load_directory`)."""
        resolver = cls()
        resolver.load_directory(path, max_records=max_records)
        return resolver

    def fail(self, name: str, rdtype: str | None = None, error: str = "servfail") -> None:
        """Make questions about ``name`` fail.

        They fail with ``"servfail"``, ``"timeout"``, ``"refused"`` or ``"nxdomain"``.

        Args:
            name: The name whose questions fail.
            rdtype: Only this type; every type when None.
            error: How they fail.
        """
        status = _FAILURES.get(error)
        if status is None:
            raise InvalidInput(
                "invalid-error",
                f"error must be one of {', '.join(sorted(_FAILURES))}, not {error!r}",
                str(error),
            )
        kind = None if rdtype is None else _rdtype_text(rdtype)
        self._failures[(_name(name), kind)] = status

    def script(self, name: str, rdtype: str | None, outcomes: Iterable[Outcome]) -> None:
        """Give a question a sequence of outcomes, one per time it is asked.

        ``script("example.com", "MX", ["timeout", "servfail", None])`` makes
        the first question about ``example.com MX`` time out, the second
        answer SERVFAIL, and the third and every later one answer from the
        records (and :meth:`fail`), as if there were no script. Use it to test
        retry logic.

        Each outcome is one of:

        * ``None`` (or ``AnswerStatus.RECORDS``): answer from the records;
        * ``"timeout"``, ``"servfail"``, ``"refused"``, ``"nxdomain"`` or
          ``"nodata"`` (or the :class:`~mxroute.AnswerStatus` member): that
          outcome, for the name as asked (no CNAME is followed);
        * an :class:`~mxroute.Answer` for this question: given back as it is.

        A script matches the question as asked, before any CNAME is followed.
        Calling :meth:`script` again for the same question replaces its
        remaining steps; :meth:`clear` forgets every script. Latency and
        ``lifetime`` apply to scripted outcomes too.

        Args:
            name: The name asked about.
            rdtype: The type asked about; None for a script that every
                question about ``name`` shares (a script for the exact type
                goes first).
            outcomes: The outcomes, in order.

        Raises:
            InvalidInput: An outcome is not one of the above (``.reason`` is
                ``invalid-outcome``), or the name or type is not valid.
        """
        owner = _name(name)
        kind = None if rdtype is None else _rdtype_text(rdtype)
        steps: collections.deque[Outcome] = collections.deque()
        for outcome in outcomes:
            steps.append(self._check_outcome(outcome, owner, kind))
        self._scripts[(owner, kind)] = steps

    def _check_outcome(self, outcome: object, owner: str, kind: str | None) -> Outcome:
        if outcome is None or outcome is AnswerStatus.RECORDS:
            return None
        if isinstance(outcome, AnswerStatus):
            return outcome
        if isinstance(outcome, str) and outcome.lower() in _OUTCOMES:
            return _OUTCOMES[outcome.lower()]
        if isinstance(outcome, Answer):
            if outcome.name != owner or (kind is not None and outcome.rdtype != kind):
                raise InvalidInput(
                    "invalid-outcome",
                    f"the scripted answer is for {outcome.name} {outcome.rdtype}, "
                    f"not {owner} {kind or '(any type)'}",
                    outcome.describe(),
                )
            return outcome
        choices = ", ".join(repr(c) for c in sorted(_OUTCOMES))
        raise InvalidInput(
            "invalid-outcome",
            f"a scripted outcome is None, an Answer, an AnswerStatus or one of {choices}, "
            f"not {outcome!r}",
            repr(outcome),
        )

    def delay(self, name: str, seconds: float, rdtype: str | None = None) -> None:
        """Make answers to questions about ``name`` take ``seconds``.

        This overrides ``latency`` for those questions (the two do not add
        up). ``delay(name, 0)`` makes the name answer at once.

        Args:
            name: The name asked about (as asked, before any CNAME).
            seconds: How long each answer takes.
            rdtype: Only questions of this type; every type when None.

        Raises:
            InvalidInput: ``seconds`` is negative or not a number
                (``.reason`` is ``invalid-latency``), or the name or type is
                not valid.
        """
        kind = None if rdtype is None else _rdtype_text(rdtype)
        self._delays[(_name(name), kind)] = _latency(seconds)

    def clear(self) -> None:
        """Forget every record, failure, script, delay, AD mark and recorded question.

        The settings given to the constructor (``latency``, ``lifetime``,
        ``use_additional``, ...) stay as they are.
        """
        self._records.clear()
        self._failures.clear()
        self._names.clear()
        self._soa.clear()
        self._marks.clear()
        self._scripts.clear()
        self._delays.clear()
        self.queries.clear()

    # -- answering ---------------------------------------------------------

    def query(self, name: str, rdtype: str) -> Answer:
        """Answer one question from the records (see the class documentation).

        It records the question in :attr:`queries`, then sleeps the
        question's latency (see :attr:`lifetime`) with :func:`time.sleep`.
        """
        answer, wait = self._answer(name, rdtype)
        if wait > 0:
            time.sleep(wait)
        return answer

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """The same as :meth:`query`, for the async driver; waits with :func:`asyncio.sleep`."""
        answer, wait = self._answer(name, rdtype)
        if wait > 0:
            import asyncio  # here, so that importing mxroute does not import asyncio

            await asyncio.sleep(wait)
        return answer

    def _answer(self, name: str, rdtype: str) -> tuple[Answer, float]:
        """The answer to a question and the seconds it takes to arrive."""
        name, rdtype = normalize_host(name), rdtype.upper()
        self.queries.append(Question(name, rdtype))
        answer = self._scripted(name, rdtype)
        if answer is None:
            answer = self._resolve(name, rdtype)
        latency = self._delays.get((name, rdtype), self._delays.get((name, None), self.latency))
        lifetime = self.lifetime
        if lifetime is None:
            return answer, latency
        if answer.status is AnswerStatus.TIMEOUT:
            return answer, lifetime
        if latency > lifetime:
            return Answer(
                name,
                rdtype,
                AnswerStatus.TIMEOUT,
                detail=f"no answer within the lifetime of {lifetime:g} s; "
                f"the answer takes {latency:g} s",
            ), lifetime
        return answer, latency

    def _scripted(self, name: str, rdtype: str) -> Answer | None:
        steps = self._scripts.get((name, rdtype))
        if not steps:
            steps = self._scripts.get((name, None))
        if not steps:
            return None
        outcome = steps.popleft()
        if outcome is None:
            return None
        if isinstance(outcome, Answer):
            return outcome if outcome.rdtype == rdtype else attrs.evolve(outcome, rdtype=rdtype)
        assert isinstance(outcome, AnswerStatus)
        negative = outcome in (AnswerStatus.NXDOMAIN, AnswerStatus.NODATA)
        return Answer(
            name,
            rdtype,
            outcome,
            ttl=self._negative_ttl(name, []) if negative else None,
            authenticated=negative and self._secure(name),
            detail=f"scripted {outcome.name} for {name} {rdtype}",
        )

    def _resolve(self, name: str, rdtype: str) -> Answer:
        cnames: list[str] = []
        ttls: list[int] = []
        current = name
        for _ in range(_MAX_CNAMES + 1):
            failure = self._failures.get((current, rdtype)) or self._failures.get((current, None))
            if failure is not None:
                return Answer(
                    name,
                    rdtype,
                    failure,
                    cnames=cnames,
                    ttl=self._negative_ttl(current, ttls)
                    if failure is AnswerStatus.NXDOMAIN
                    else None,
                    authenticated=failure is AnswerStatus.NXDOMAIN and self._secure(name, *cnames),
                    detail=f"injected {failure.name} for {current} {rdtype}",
                )
            entries = self._records.get((current, rdtype))
            if entries:
                return Answer(
                    name,
                    rdtype,
                    AnswerStatus.RECORDS,
                    records=list(entries),
                    ttl=min([*ttls, *entries.values()]),
                    cnames=cnames,
                    authenticated=self._secure(name, *cnames),
                    additional=self._extra(entries)
                    if rdtype == "MX" and self.use_additional
                    else (),
                )
            alias = self._records.get((current, "CNAME")) if rdtype != "CNAME" else None
            if alias:
                target, ttl = next(iter(alias.items()))
                assert isinstance(target, str)
                if target == name or target in cnames:
                    return Answer(
                        name,
                        rdtype,
                        AnswerStatus.SERVFAIL,
                        cnames=cnames,
                        detail=f"CNAME loop at {target}",
                    )
                cnames.append(target)
                ttls.append(ttl)
                current = target
                continue
            status = AnswerStatus.NODATA if current in self._names else AnswerStatus.NXDOMAIN
            return Answer(
                name,
                rdtype,
                status,
                ttl=self._negative_ttl(current, ttls),
                cnames=cnames,
                authenticated=self._secure(name, *cnames),
            )
        return Answer(
            name,
            rdtype,
            AnswerStatus.SERVFAIL,
            cnames=cnames,
            detail=f"more than {_MAX_CNAMES} CNAMEs in a chain",
        )

    def _negative_ttl(self, name: str, ttls: list[int]) -> int:
        labels = name.split(".")
        negative = self.negative_ttl
        for i in range(len(labels)):
            soa = self._soa.get(".".join(labels[i:]))
            if soa is not None:
                negative = soa
                break
        return min([*ttls, negative])

    def _extra(self, entries: dict[RData, int]) -> list[Answer]:
        out = []
        for value in entries:
            if not isinstance(value, MXRecord) or value.is_null:
                continue
            for kind in ("A", "AAAA"):
                records = self._records.get((value.exchange, kind))
                if records:
                    out.append(
                        Answer(
                            value.exchange,
                            kind,
                            AnswerStatus.RECORDS,
                            records=list(records),
                            ttl=min(records.values()),
                            authenticated=self._secure(value.exchange),
                        )
                    )
        return out


publish(globals())
