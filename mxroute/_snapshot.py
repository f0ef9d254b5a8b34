"""Snapshots and their differences: what changed in a domain's mail setup.

A *snapshot* of a domain is the object ``mxroute check --json`` prints for it
(schema :data:`SCHEMA`, documented on the "Command line" page), an
:class:`~mxroute.AuditReport` (or its :meth:`~mxroute.AuditReport.to_dict`),
or a :class:`~mxroute.MailRoute`.
A file of them, one per line (JSON Lines), is a snapshot of many domains.
:func:`diff_snapshots` compares two and returns a :class:`SnapshotDiff`: a
typed list of :class:`SnapshotChange` values, per target, in a stable order.

What is compared, and what is not:

* hosts by name (their order within one preference is random by RFC 5321,
  so it is never a change), their preference, their set of addresses (the
  order of addresses is the attempt order, not the data), their TLS level
  when a snapshot has one;
* the route's kind and TTL, the target's status and routing failure (the
  error's class);
* findings by ``(code, subject)``: a message worded differently is not a change.

:func:`watch` re-takes a snapshot every ``interval`` seconds and yields each
difference; its clock and its sleep are parameters, so it can be tested
without waiting.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs

from mxroute._audit import AuditReport
from mxroute._errors import InvalidInput
from mxroute._exports import publish
from mxroute._model import MailRoute

__all__ = [
    "SCHEMA",
    "SnapshotChange",
    "ChangeKind",
    "SnapshotDiff",
    "diff_snapshots",
    "read_snapshots",
    "watch",
]

SCHEMA = 1
"""The version of the shape of the command's ``--json`` objects (their ``"schema"`` key).

It is ``mxroute.cli.SCHEMA`` too. It changes when a key is removed or
changes meaning; keys may be added within one version (``check`` gained
``expectation`` within version 1).
"""

Snapshot = Mapping[str, Any]
"""One target's snapshot, as plain data."""


class ChangeKind(enum.Enum):
    """What kind of change a :class:`SnapshotChange` is."""

    TARGET_ADDED = "target-added"
    """The target is only in the new snapshot."""
    TARGET_REMOVED = "target-removed"
    """The target is only in the old snapshot."""
    STATUS_CHANGED = "status-changed"
    """Whether mail can be delivered changed (``deliverable``, ``temporary``, ...)."""
    ERROR_CHANGED = "error-changed"
    """The routing failure changed (its class: ``NoSuchDomain``, ``NullMX``, ...)."""
    KIND_CHANGED = "kind-changed"
    """The route's kind changed (``mx``, ``implicit-mx``, ...)."""
    HOST_ADDED = "host-added"
    """A mail host appeared."""
    HOST_REMOVED = "host-removed"
    """A mail host is gone."""
    PREFERENCE_CHANGED = "preference-changed"
    """A host's MX preference changed."""
    ADDRESSES_CHANGED = "addresses-changed"
    """A host's set of addresses changed."""
    TLS_CHANGED = "tls-changed"
    """A host's transport security level changed (when the snapshots have one)."""
    TTL_CHANGED = "ttl-changed"
    """The route's TTL (the smallest TTL of the data it was built from) changed."""
    FINDING_APPEARED = "finding-appeared"
    """A finding (a code about a subject) appeared."""
    FINDING_CLEARED = "finding-cleared"
    """A finding is gone."""


Value = str | int | tuple[str, ...] | None
"""What a :class:`SnapshotChange` holds before and after."""


def _value(value: object) -> Value:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if value is None or isinstance(value, (str, int, tuple)):
        return value
    return str(value)


@attrs.frozen
class SnapshotChange:
    """One difference between two snapshots.

    Attributes:
        kind: What changed.
        target: The target (as the snapshots give it) the change is about.
        subject: What in the target: a host name, a finding's
            ``"code subject"``, or the target itself.
        old: The value before (None when there was none).
        new: The value after (None when there is none).
    """

    kind: ChangeKind
    target: str
    subject: str
    old: Value = attrs.field(default=None, converter=_value)
    new: Value = attrs.field(default=None, converter=_value)

    def describe(self) -> str:
        """One line for a person: ``shop.example: host-added mx3.shop.example (30)``."""

        def show(value: Value) -> str:
            if isinstance(value, tuple):
                return " ".join(value) or "none"
            return "none" if value is None else str(value)

        line = f"{self.target}: {self.kind.value}"
        if self.subject != self.target:
            line += f" {self.subject}"
        if self.kind in (ChangeKind.HOST_ADDED, ChangeKind.FINDING_APPEARED):
            return line + (f" ({show(self.new)})" if self.new is not None else "")
        if self.kind in (ChangeKind.HOST_REMOVED, ChangeKind.FINDING_CLEARED):
            return line + (f" ({show(self.old)})" if self.old is not None else "")
        if self.kind in (ChangeKind.TARGET_ADDED, ChangeKind.TARGET_REMOVED):
            return line
        return f"{line}: {show(self.old)} -> {show(self.new)}"

    def to_dict(self) -> dict[str, Any]:
        """The change as plain data, ready for JSON."""

        def plain(value: Value) -> Any:
            return list(value) if isinstance(value, tuple) else value

        return {
            "kind": self.kind.value,
            "target": self.target,
            "subject": self.subject,
            "old": plain(self.old),
            "new": plain(self.new),
        }


def _changes(values: Iterable[SnapshotChange]) -> tuple[SnapshotChange, ...]:
    return tuple(values)


@attrs.frozen
class SnapshotDiff:
    """The changes from one snapshot to another, per target, in a stable order.

    Attributes:
        changes: Every change, grouped by target (in the new snapshot's order,
            removed targets last), then in the order of :class:`ChangeKind`.
    """

    changes: tuple[SnapshotChange, ...] = attrs.field(converter=_changes)

    @property
    def changed(self) -> bool:
        """True when anything changed."""
        return bool(self.changes)

    def describe(self) -> list[str]:
        """One line per change."""
        return [c.describe() for c in self.changes]

    def to_dict(self) -> dict[str, Any]:
        """The difference as plain data: ``{"schema", "changed", "changes"}``."""
        return {
            "schema": SCHEMA,
            "changed": self.changed,
            "changes": [c.to_dict() for c in self.changes],
        }


def _invalid(message: str, text: str = "") -> InvalidInput:
    return InvalidInput("invalid-snapshot", message, text)


def _snapshot(value: object) -> dict[str, Any]:
    """One target's snapshot as a dict with a ``target``, checked."""
    if isinstance(value, AuditReport):
        value = value.to_dict()
    elif isinstance(value, MailRoute):
        plain = value.to_dict()
        value = {"domain": value.domain, "route": plain, "findings": plain.pop("findings")}
    if not isinstance(value, Mapping):
        raise _invalid(f"a snapshot is a JSON object, not {type(value).__name__}")
    data = dict(value)
    schema = data.get("schema", SCHEMA)  # AuditReport.to_dict() has none
    if schema != SCHEMA:
        raise _invalid(
            f"the snapshot has schema {schema!r}; this mxroute reads schema {SCHEMA}",
            repr(schema),
        )
    target = data.get("target", data.get("domain"))
    if not isinstance(target, str):
        raise _invalid('a snapshot has a "target" (or "domain") string')
    route = data.get("route")
    if route is not None and not (
        isinstance(route, Mapping) and isinstance(route.get("hosts", []), list)
    ):
        raise _invalid(f'the snapshot of {target!r} has a malformed "route"')
    if not isinstance(data.get("findings", []), list):
        raise _invalid(f'the snapshot of {target!r} has malformed "findings"')
    data["target"] = target
    _hosts(route)  # checked now, not only when compared
    _findings(data)
    return data


def _by_target(snapshots: object) -> dict[str, dict[str, Any]]:
    """Snapshots keyed by target, in order; a target given twice: the last one counts."""
    if isinstance(snapshots, (AuditReport, MailRoute, Mapping)):
        snapshots = [snapshots]
    if not isinstance(snapshots, Iterable) or isinstance(snapshots, (str, bytes)):
        raise _invalid(f"snapshots are JSON objects, not {type(snapshots).__name__}")
    found: dict[str, dict[str, Any]] = {}
    for value in snapshots:
        data = _snapshot(value)
        found.pop(data["target"], None)
        found[data["target"]] = data
    return found


def diff_snapshots(old: object, new: object) -> SnapshotDiff:
    """What changed from one snapshot to another.

    >>> from mxroute import InMemoryResolver, audit, diff_snapshots
    >>> fake = InMemoryResolver()
    >>> fake.add("example.com", "MX", "10 mx1.example.com.")
    >>> fake.add("mx1.example.com", "A", "192.0.2.1")
    >>> before = audit("example.com", fake)
    >>> fake.add("mx1.example.com", "A", "192.0.2.2")
    >>> for change in diff_snapshots(before, audit("example.com", fake)).changes:
    ...     print(change.describe())
    example.com: addresses-changed mx1.example.com: 192.0.2.1 -> 192.0.2.1 192.0.2.2

    Args:
        old: The earlier snapshot: an :class:`~mxroute.AuditReport`, a
            :class:`~mxroute.MailRoute`, one ``mxroute check --json`` (or
            ``route --json``) object (a mapping), or an iterable of these
            (many targets, compared per target).
        new: The later snapshot, in the same forms.

    Returns:
        The changes; ``.changed`` is False when there are none.

    Raises:
        InvalidInput: A snapshot is not one (``.reason`` ``"invalid-snapshot"``),
            or has another schema than :data:`SCHEMA`.
    """
    before, after = _by_target(old), _by_target(new)
    changes: list[SnapshotChange] = []
    for target, now in after.items():
        then = before.get(target)
        if then is None:
            changes.append(
                SnapshotChange(ChangeKind.TARGET_ADDED, target, target, None, now.get("status"))
            )
        else:
            changes += _target_changes(target, then, now)
    for target, then in before.items():
        if target not in after:
            changes.append(
                SnapshotChange(ChangeKind.TARGET_REMOVED, target, target, then.get("status"), None)
            )
    return SnapshotDiff(changes)


def _error_class(data: Mapping[str, Any]) -> str | None:
    error = data.get("error")
    return str(error.get("error")) if isinstance(error, Mapping) else None


def _hosts(route: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    hosts: dict[str, Mapping[str, Any]] = {}
    for host in route.get("hosts", []) if route else ():
        if not isinstance(host, Mapping) or not isinstance(host.get("name"), str):
            raise _invalid('a host of a snapshot is an object with a "name"')
        hosts.setdefault(host["name"], host)
    return hosts


def _tls_level(host: Mapping[str, Any]) -> str | None:
    tls = host.get("tls")
    if isinstance(tls, Mapping):
        tls = tls.get("level")
    return None if tls is None else str(tls)


def _findings(data: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for finding in data.get("findings", []):
        if not isinstance(finding, Mapping):
            raise _invalid("a finding of a snapshot is an object")
        key = (str(finding.get("code")), str(finding.get("subject")))
        found.setdefault(key, str(finding.get("severity")))
    return found


def _target_changes(target: str, then: dict[str, Any], now: dict[str, Any]) -> list[SnapshotChange]:
    out: list[SnapshotChange] = []

    def note(kind: ChangeKind, subject: str, old: object, new: object) -> None:
        if old != new:
            out.append(SnapshotChange(kind, target, subject, _value(old), _value(new)))

    if "status" in then and "status" in now:
        note(ChangeKind.STATUS_CHANGED, target, then["status"], now["status"])
    note(ChangeKind.ERROR_CHANGED, target, _error_class(then), _error_class(now))
    old_route, new_route = then.get("route"), now.get("route")
    note(
        ChangeKind.KIND_CHANGED,
        target,
        old_route.get("kind") if old_route else None,
        new_route.get("kind") if new_route else None,
    )
    old_hosts, new_hosts = _hosts(old_route), _hosts(new_route)
    for name, host in new_hosts.items():
        if name not in old_hosts:
            out.append(
                SnapshotChange(ChangeKind.HOST_ADDED, target, name, None, host.get("preference"))
            )
    for name, host in old_hosts.items():
        if name not in new_hosts:
            out.append(
                SnapshotChange(ChangeKind.HOST_REMOVED, target, name, host.get("preference"), None)
            )
    for name, host in new_hosts.items():
        was = old_hosts.get(name)
        if was is None:
            continue
        note(ChangeKind.PREFERENCE_CHANGED, name, was.get("preference"), host.get("preference"))
        note(
            ChangeKind.ADDRESSES_CHANGED,
            name,
            tuple(sorted(map(str, was.get("addresses", [])))),
            tuple(sorted(map(str, host.get("addresses", [])))),
        )
        if "tls" in was or "tls" in host:
            note(ChangeKind.TLS_CHANGED, name, _tls_level(was), _tls_level(host))
    if old_route and new_route:
        note(ChangeKind.TTL_CHANGED, target, old_route.get("ttl"), new_route.get("ttl"))
    old_findings, new_findings = _findings(then), _findings(now)
    for (code, subject), severity in new_findings.items():
        if (code, subject) not in old_findings:
            out.append(
                SnapshotChange(
                    ChangeKind.FINDING_APPEARED, target, f"{code} {subject}", None, severity
                )
            )
    for (code, subject), severity in old_findings.items():
        if (code, subject) not in new_findings:
            out.append(
                SnapshotChange(
                    ChangeKind.FINDING_CLEARED, target, f"{code} {subject}", severity, None
                )
            )
    order = list(ChangeKind)
    out.sort(key=lambda c: order.index(c.kind))
    return out


def read_snapshots(text: str, source: str = "the snapshot") -> list[dict[str, Any]]:
    """The snapshots in a text: JSON Lines (``mxroute check --json``), or one JSON value.

    Blank lines are skipped. A file holding one (pretty-printed) object or
    an array of objects is read too.

    Raises:
        InvalidInput: The text is not JSON (``.reason`` ``"invalid-snapshot"``,
            the message names ``source`` and the line).
    """
    snapshots: list[dict[str, Any]] = []
    number = 0
    try:
        for line in text.splitlines():
            number += 1
            if line.strip():
                snapshots.append(json.loads(line))
    except json.JSONDecodeError as exc:
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            raise _invalid(f"{source}, line {number}: not JSON ({exc.msg})") from None
        snapshots = whole if isinstance(whole, list) else [whole]
    checked = []
    for number, value in enumerate(snapshots, 1):
        try:
            checked.append(_snapshot(value))
        except InvalidInput as exc:
            raise _invalid(f"{source}, snapshot {number}: {exc}", exc.text) from None
    return checked


async def watch(
    take: Callable[[], Awaitable[Iterable[Snapshot]]],
    interval: float,
    *,
    count: int | None = None,
    duration: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> AsyncIterator[tuple[list[dict[str, Any]], SnapshotDiff | None]]:
    """Take a snapshot, then again every ``interval`` seconds; yield each with its diff.

    The first snapshot comes with None; each later one with its difference
    from the one before. It stops after ``count`` snapshots, or before one
    that would start more than ``duration`` seconds after the first; with
    neither, it goes on until cancelled.

    Args:
        take: The coroutine function that takes one snapshot.
        interval: Seconds from the start of one snapshot to the start of
            the next (a slow snapshot is followed at once by the next).
        count: The number of snapshots, at least 1.
        duration: Seconds after which no snapshot is started.
        clock: The monotonic clock (injected by tests).
        sleep: The coroutine function that waits (``asyncio.sleep`` when None).
    """
    if sleep is None:
        import asyncio

        sleep = asyncio.sleep
    started = clock()
    previous: list[dict[str, Any]] | None = None
    taken = 0
    while True:
        begun = clock()
        current = [_snapshot(s) for s in await take()]
        taken += 1
        yield current, None if previous is None else diff_snapshots(previous, current)
        previous = current
        if count is not None and taken >= count:
            return
        wake = begun + interval
        if duration is not None and wake - started > duration:
            return
        await sleep(max(0.0, wake - clock()))


publish(globals())
