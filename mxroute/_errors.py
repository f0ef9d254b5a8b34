"""Every exception mxroute raises, and the SMTP reply each routing failure maps to.

The hierarchy::

    MXRouteError                          root: ``except mxroute.MXRouteError`` catches all
    ├── InvalidInput (ValueError)         bad input; ``.reason`` is a stable code
    │   ├── InvalidDomain                 a domain or host name that cannot be used
    │   ├── InvalidAddress                a mailbox address that cannot be used
    │   └── InvalidPolicy                 a RoutingPolicy setting that cannot be used
    ├── UnsupportedEventLoop (RuntimeError)  an async API called outside asyncio (e.g. trio)
    └── MailRouteError                    routing failed; ``.temporary`` says retry or bounce
        ├── TemporaryRouteError           451 4.4.3  SERVFAIL, timeout, REFUSED: queue and retry
        │   └── HostsUnreachable          451 4.4.1  no mail host answered a connection: retry
        ├── NoSuchDomain                  550 5.1.2  NXDOMAIN for the domain
        ├── NullMX                        556 5.1.10 the domain accepts no mail (RFC 7505)
        ├── NoMailHosts                   550 5.4.4  no MX host has a usable address
        └── MailLoop                      554 5.4.6  the best MX host is this host

A :class:`MailRouteError` carries everything a mail server needs to act on it:
``temporary`` (queue and retry, or bounce), ``reply_code`` and
``enhanced_status`` (RFC 3463) for the delivery status notification, the
``domain`` it is about, and a message a postmaster can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from mxroute._exports import publish

if TYPE_CHECKING:
    from mxroute._connect import AttemptRecord
    from mxroute._findings import Finding

__all__ = [
    "HostsUnreachable",
    "InvalidAddress",
    "InvalidDomain",
    "InvalidInput",
    "InvalidPolicy",
    "MXRouteError",
    "MailLoop",
    "MailRouteError",
    "NoMailHosts",
    "NoSuchDomain",
    "NullMX",
    "TemporaryRouteError",
    "UnsupportedEventLoop",
]


class MXRouteError(Exception):
    """The root of every exception raised by mxroute."""


class InvalidInput(MXRouteError, ValueError):
    """Input that mxroute cannot use.

    Attributes:
        reason: A stable, machine-readable code (``"label-too-long"``, ...).
            The codes are listed in the documentation and never change meaning.
        text: The offending input, as given.
    """

    def __init__(self, reason: str, message: str, text: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.text = text

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data, ready for JSON.

        ``{"error", "reason", "domain_reason", "message"}``: ``error`` is the
        class name (``"InvalidDomain"``, ...), ``domain_reason`` is the
        domain's own reason code for an :class:`InvalidAddress` whose domain
        is wrong, else None (the key is always there, so every error has
        the same keys).
        """
        return {
            "error": type(self).__name__,
            "reason": self.reason,
            "domain_reason": getattr(self, "domain_reason", None),
            "message": str(self),
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, str(self), self.text))


class InvalidDomain(InvalidInput):
    """A domain or host name that is not syntactically usable for mail."""


class InvalidAddress(InvalidInput):
    """A mailbox address (``local@domain``) or address literal that is not usable.

    Attributes:
        domain_reason: When ``reason`` is ``"invalid-domain"``, the domain's own
            reason code (``"empty-label"``, ``"invalid-idna"``, ...; the codes of
            :class:`InvalidDomain`); None otherwise.
    """

    def __init__(
        self, reason: str, message: str, text: str = "", domain_reason: str | None = None
    ) -> None:
        super().__init__(reason, message, text)
        self.domain_reason = domain_reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, str(self), self.text, self.domain_reason))


class InvalidPolicy(InvalidInput):
    """A :class:`~mxroute.RoutingPolicy` setting (relayhost, transport map, ...) that is wrong."""


class UnsupportedEventLoop(MXRouteError, RuntimeError):
    """An async API of mxroute was called outside an asyncio event loop (under trio, say).

    The coroutines and async iterators of mxroute run under asyncio only
    (anyio's asyncio backend included); each raises this when it starts,
    before any question is asked.
    """


class MailRouteError(MXRouteError):
    """Routing to a domain failed.

    Attributes:
        domain: The domain (A-label) or address literal the route was for.
        temporary: True when the sender should queue the message and retry
            later; False when it should bounce it.
        reply_code: The SMTP reply code (RFC 5321) that describes the failure.
        enhanced_status: The enhanced status code (RFC 3463), e.g. ``"4.4.3"``.
        findings: What the planner noticed on the way (see :class:`~mxroute.Finding`).
    """

    temporary: ClassVar[bool] = False
    reply_code: ClassVar[int] = 550
    enhanced_status: ClassVar[str] = "5.0.0"

    def __init_subclass__(
        cls, *, reply: str | None = None, temporary: bool | None = None, **kwargs: Any
    ) -> None:
        """Give a subclass its SMTP reply (``reply="451 4.4.3"``) and ``temporary``."""
        super().__init_subclass__(**kwargs)
        if reply is not None:
            code, cls.enhanced_status = reply.split()
            cls.reply_code = int(code)
        if temporary is not None:
            cls.temporary = temporary

    def __init__(self, domain: str, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.domain = domain
        self.findings: tuple[Finding, ...] = tuple(findings)

    @property
    def message(self) -> str:
        """The human-readable explanation."""
        return str(self)

    @property
    def smtp_reply(self) -> str:
        """The failure as an SMTP reply line, e.g. ``"451 4.4.3 ..."``."""
        return f"{self.reply_code} {self.enhanced_status} {self}"

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data, ready for JSON."""
        return {
            "error": type(self).__name__,
            "domain": self.domain,
            "temporary": self.temporary,
            "reply_code": self.reply_code,
            "enhanced_status": self.enhanced_status,
            "message": str(self),
            "findings": [f.to_dict() for f in self.findings],
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.domain, str(self), self.findings))


class TemporaryRouteError(MailRouteError, reply="451 4.4.3", temporary=True):
    """A lookup the route depends on failed temporarily: queue the message and retry."""


class HostsUnreachable(TemporaryRouteError, reply="451 4.4.1"):
    """No mail host of the route took a connection: queue the message and retry.

    Raised by :func:`~mxroute.connect` and :func:`~mxroute.connect_async`
    when every attempt of the plan failed (refused, timed out, unreachable,
    greeted with 4xx/5xx or not at all, dropped), was skipped, or the
    deadline passed. RFC 3463's 4.4.1 is "no answer from host".

    Attributes:
        attempts: Every attempt made, in order (:class:`~mxroute.AttemptRecord`),
            the same log a successful connection carries.
    """

    def __init__(
        self,
        domain: str,
        message: str,
        findings: Sequence[Finding] = (),
        attempts: Sequence[AttemptRecord] = (),
    ) -> None:
        super().__init__(domain, message, findings)
        self.attempts: tuple[AttemptRecord, ...] = tuple(attempts)

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data, ready for JSON, with the attempt log under ``"attempts"``."""
        return {**super().to_dict(), "attempts": [a.to_dict() for a in self.attempts]}

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.domain, str(self), self.findings, self.attempts))


class NoSuchDomain(MailRouteError, reply="550 5.1.2"):
    """The domain does not exist (NXDOMAIN): bounce."""


class NullMX(MailRouteError, reply="556 5.1.10"):
    """The domain publishes a null MX (RFC 7505): it accepts no mail, bounce."""


class NoMailHosts(MailRouteError, reply="550 5.4.4"):
    """No mail host of the domain (nor its implicit MX) has a usable address: bounce."""


class MailLoop(MailRouteError, reply="554 5.4.6"):
    """The best mail host of the domain is this host, so delivery would loop: bounce."""


publish(globals())
