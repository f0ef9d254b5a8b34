"""DNSResolver: the real DNS, through dnspython, synchronously, batched and in asyncio.

:class:`DNSResolver` is a stub resolver: it sends each question to the
configured recursive name servers (by default those of ``/etc/resolv.conf``)
and turns the response into one :class:`~mxroute.Answer`. It never raises for
a DNS outcome: every response, missing response or unusable response becomes
an :class:`~mxroute.AnswerStatus`, with :attr:`~mxroute.Answer.detail` saying
which server answered what.

It is built on dnspython's message parser (:func:`dns.message.from_wire`
reads every response the lean reader of :mod:`._lean` leaves to it) and its
TCP functions, with queries it writes itself
and UDP sockets of its own, rather than on ``dns.resolver.Resolver``: the
high-level resolver folds SERVFAIL, REFUSED, malformed answers and
unreachable servers into one ``NoNameservers`` exception, while here each
server's response code is read directly; and nothing stands between mxroute
and the wire (no cache, no search list).

The package has one module per concept:

* :mod:`._config`: the settings, one frozen attrs value checked once;
* :mod:`._wire`: queries written byte for byte, responses checked;
* :mod:`._lean`: the lean reader of routing answers, with dnspython behind it;
* :mod:`._interpret`: one NOERROR or NXDOMAIN response read into records,
  a CNAME chain and a TTL;
* :mod:`._resolution`: the resolution loop (servers, tries, lifetime, TCP
  fallback, FORMERR fallback, CNAMEs), free of clocks, randomness and sockets;
* :mod:`._transport`: the sync, async and batch drivers, the only code that
  opens sockets;
* here, :class:`DNSResolver` itself.

Names are always absolute: the search list and ``ndots`` of ``resolv.conf``
are never used, because a mail domain is a fully qualified name and a search
list would turn a typo into a delivery to the wrong host.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mxroute._dns import Answer, Question
from mxroute._exports import publish
from mxroute._guard import refuse_real_dns
from mxroute._resolvers.dns import _transport
from mxroute._resolvers.dns._config import (
    DEFAULT_EDNS_PAYLOAD,
    DEFAULT_LIFETIME,
    DEFAULT_TIMEOUT,
    MAX_LIFETIME,
    MAX_TIMEOUT,
    MAX_WORKERS,
    Settings,
    system_configuration,
)
from mxroute._resolvers.dns._interpret import MAX_CNAME_CHAIN
from mxroute._resolvers.dns._wire import qname, qtype

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "DEFAULT_EDNS_PAYLOAD",
    "DEFAULT_LIFETIME",
    "DEFAULT_TIMEOUT",
    "MAX_CNAME_CHAIN",
    "MAX_LIFETIME",
    "MAX_TIMEOUT",
    "MAX_WORKERS",
    "DNSResolver",
]


class DNSResolver:
    """Answers questions from the real DNS, with dnspython; sync, batched and async.

    >>> resolver = DNSResolver(["192.0.2.53"], timeout=1.0, lifetime=3.0)
    >>> resolver.nameservers
    ('192.0.2.53',)

    With no ``nameservers`` it uses the system's configuration (on Unix,
    ``/etc/resolv.conf`` read by dnspython): its name servers, and its
    ``timeout`` option unless one is given here. Its ``search``, ``domain``
    and ``ndots`` settings are ignored: every name is asked as an absolute
    name.

    Each question goes to the name servers in order. A server that answers
    NOERROR or NXDOMAIN ends the question; one that answers SERVFAIL,
    REFUSED or something unusable is not asked that question again, and the
    next server is asked; one that does not answer within ``timeout`` is
    asked again in the next round, until ``lifetime`` runs out. A UDP answer
    with the TC bit is asked again over TCP; FORMERR to a query with EDNS is
    asked once more without EDNS (RFC 6891 §7).

    It implements :class:`~mxroute.Resolver`, :class:`~mxroute.BatchResolver`
    (UDP questions multiplexed in the calling thread; with ``tcp=True`` a
    small thread pool, created on first use, that :meth:`close` stops) and
    :class:`~mxroute.AsyncResolver` (with :meth:`query_batch_async`, UDP
    questions multiplexed on a few long-lived sockets). It pickles and deep-copies: the copy has
    the same settings and a thread pool of its own.

    Args:
        nameservers: IP addresses of recursive name servers (strings or
            :mod:`ipaddress` objects); the system's when None.
        port: The servers' port; 53 (or the system's) when None.
        timeout: Seconds to wait for one server's answer to one try (at most
            :data:`MAX_TIMEOUT`, one hour).
        lifetime: Seconds allowed for one question over every try (at most
            :data:`MAX_LIFETIME`, one hour).
        tcp: Ask over TCP only.
        edns_payload: The EDNS UDP buffer size to advertise (512 to 65535);
            None sends no EDNS (plain 512-octet DNS).
        dnssec: Set the DNSSEC OK (DO) bit, and the AD bit on queries, so a
            validating resolver says whether it validated the answer; the AD
            bit of a response to such a query from a trusted server (see
            ``trusted``) becomes :attr:`~mxroute.Answer.authenticated`
            (without ``dnssec`` it is always False). Needs EDNS.
        trusted: Whose AD bit to believe, as Postfix does: by default only
            loopback servers' (a validating resolver on this host); a list
            of server addresses adds those (a resolver on a link you trust);
            True believes every configured server, False none. An answer
            from an untrusted server is never authenticated, so DANE
            (:class:`~mxroute.RoutingPolicy` ``dane``) does not apply.
        use_additional: Carry the A and AAAA records of MX exchanges found in
            an MX response's additional section in
            :attr:`~mxroute.Answer.additional`, so those questions are not asked.
        resolv_conf: Read the system configuration from this file instead
            of the platform's default (only when ``nameservers`` is None).
        max_workers: The most questions of one :meth:`query_batch` in flight
            at once (the threads of its pool with ``tcp=True``; at most
            :data:`MAX_WORKERS`). The default, 100, is the largest batch the
            default policy asks (50 hosts, A and AAAA), so a route waits for
            two round trips whatever its size.

    Raises:
        InvalidInput: An argument is wrong, or the system configuration names
            no server. ``.reason`` is one of ``invalid-nameserver``,
            ``no-nameservers``, ``invalid-port``, ``invalid-timeout``,
            ``invalid-lifetime``, ``invalid-edns-payload``,
            ``dnssec-needs-edns``, ``invalid-option``, ``invalid-workers`` or
            ``invalid-trusted``.
    """

    def __init__(
        self,
        nameservers: Sequence[str | ipaddress.IPv4Address | ipaddress.IPv6Address] | None = None,
        *,
        port: int | None = None,
        timeout: float | None = None,
        lifetime: float | None = None,
        tcp: bool = False,
        edns_payload: int | None = DEFAULT_EDNS_PAYLOAD,
        dnssec: bool = False,
        use_additional: bool = True,
        resolv_conf: str | os.PathLike[str] | None = None,
        max_workers: int = 100,
        trusted: bool | Sequence[str | ipaddress.IPv4Address | ipaddress.IPv6Address] = (),
    ) -> None:
        system_timeout = DEFAULT_TIMEOUT
        system_port = 53
        addresses: object = nameservers
        if nameservers is None:
            addresses, system_port, system_timeout = system_configuration(resolv_conf)
        self._start(
            Settings(
                nameservers=addresses,  # the converter checks it
                port=system_port if port is None else port,
                timeout=system_timeout if timeout is None else timeout,
                lifetime=DEFAULT_LIFETIME if lifetime is None else lifetime,
                tcp=tcp,
                edns_payload=edns_payload,
                dnssec=dnssec,
                use_additional=use_additional,
                max_workers=max_workers,
                trusted=trusted,
            )
        )

    def _start(self, settings: Settings) -> None:
        self._settings = settings
        self.port: int = settings.port
        """The servers' port."""
        self.timeout: float = float(settings.timeout)
        """Seconds to wait for one server's answer to one try."""
        self.lifetime: float = float(settings.lifetime)
        """Seconds allowed for one question."""
        self.tcp: bool = settings.tcp
        """Whether every question goes over TCP."""
        self.dnssec: bool = settings.dnssec
        """Whether queries set the DO bit (and answers may be authenticated)."""
        self.trusted: bool | tuple[str, ...] = settings.trusted
        """Whose AD bit is believed besides loopback servers (True: all, False: none)."""
        self.use_additional: bool = settings.use_additional
        """Whether address records of MX exchanges are taken from the additional section."""
        self.edns_payload: int | None = settings.edns_payload
        """The EDNS UDP buffer size advertised, or None for no EDNS."""
        self.max_workers: int = settings.max_workers
        """Questions of one :meth:`query_batch` in flight at once (threads with ``tcp=True``)."""
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._multiplexers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, _transport.Multiplexer | None
        ] = weakref.WeakKeyDictionary()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and :func:`copy.deepcopy`) the settings only; the copy makes its own pool."""
        return (_restore, (self._settings,))

    @property
    def nameservers(self) -> tuple[str, ...]:
        """The name servers asked, in order."""
        return self._settings.nameservers

    def __repr__(self) -> str:
        return (
            f"DNSResolver({list(self.nameservers)!r}, port={self.port}, timeout={self.timeout}, "
            f"lifetime={self.lifetime}, tcp={self.tcp}, edns_payload={self.edns_payload}, "
            f"dnssec={self.dnssec}, use_additional={self.use_additional})"
        )

    # -- the three protocols -----------------------------------------------

    def query(self, name: str, rdtype: str) -> Answer:
        """Ask one question and wait for its answer.

        Args:
            name: An absolute name, e.g. ``"example.com"`` (a final dot is allowed).
            rdtype: A record type mnemonic, e.g. ``"MX"``.

        Returns:
            The answer; never raises for a DNS outcome.

        Raises:
            InvalidInput: ``name`` is not a DNS name (``invalid-name``) or
                ``rdtype`` is not a record type (``invalid-rdtype``).
        """
        refuse_real_dns()  # inside the fake_dns fixture (mxroute.testing) nothing is sent
        return _transport.ask(self._settings, name, rdtype)

    async def query_async(self, name: str, rdtype: str) -> Answer:
        """Ask one question in asyncio; the same as :meth:`query` otherwise.

        Its UDP queries go out from a few long-lived sockets shared by every
        question of this resolver in the running event loop (see
        :meth:`query_batch_async`).
        """
        refuse_real_dns()
        return await _transport.ask_async(self._settings, name, rdtype, self._multiplexer())

    async def query_batch_async(self, questions: Sequence[Question]) -> list[Answer]:
        """Ask several questions concurrently in asyncio, without a task per question.

        The questions' tries are multiplexed on a few long-lived UDP sockets
        per server, shared by every question of this resolver in the running
        event loop: each answer is matched to its query by ID, source address
        and port, and question, anything else is ignored (as for every UDP
        try); a socket sends a few hundred queries and is then replaced, so
        the source port keeps changing; when no query is waiting, no socket
        stays open. At most :attr:`max_workers` questions are in flight at
        once. An event loop that cannot watch sockets (the proactor loop of
        Windows) runs the batch of :meth:`query_batch` in a worker thread.

        Returns:
            The answers in the questions' order.

        Raises:
            InvalidInput: A name or type is not valid (nothing is sent then).
        """
        refuse_real_dns()
        return await _transport.ask_many_async(self._settings, questions, self._multiplexer())

    def _multiplexer(self) -> _transport.Multiplexer | None:
        """The multiplexer of the running loop; None when the loop cannot watch sockets."""
        import asyncio

        loop = asyncio.get_running_loop()
        try:
            return self._multiplexers[loop]
        except KeyError:
            found = _transport.Multiplexer(loop) if _transport.can_multiplex(loop) else None
            return self._multiplexers.setdefault(loop, found)

    def query_batch(self, questions: Sequence[Question]) -> list[Answer]:
        """Ask several questions concurrently.

        Over UDP the questions are multiplexed in the calling thread: each
        one is sent as soon as it may start (at most :attr:`max_workers` at
        once), and the answers are read as they arrive, with the same
        servers, tries, timeouts, lifetime and fallbacks as :meth:`query`.
        With ``tcp=True`` the questions run in a small thread pool.

        Returns:
            The answers in the questions' order.
        """
        refuse_real_dns()
        if len(questions) <= 1:
            return [self.query(name, rdtype) for name, rdtype in questions]
        for name, rdtype in questions:  # bad input raises here, before anything is sent
            qname(name)
            qtype(rdtype)
        if not self.tcp:
            return _transport.ask_many(self._settings, questions)
        # The pool is taken and the questions submitted under the lock, so a
        # close() in another thread cannot shut the pool down in between.
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self.max_workers, thread_name_prefix="mxroute-dns"
                )
            futures = [
                self._executor.submit(self.query, name, rdtype) for name, rdtype in questions
            ]
        return [future.result() for future in futures]

    def close(self) -> None:
        """Stop the thread pool of :meth:`query_batch`, if it was started.

        The resolver stays usable, from every thread: questions already
        submitted to the pool are answered, and a later batch starts a new
        pool.
        """
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def __enter__(self) -> DNSResolver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _restore(settings: Settings) -> DNSResolver:
    """A :class:`DNSResolver` with ``settings``, as unpickled."""
    resolver = DNSResolver.__new__(DNSResolver)
    resolver._start(settings)
    return resolver


publish(globals())
