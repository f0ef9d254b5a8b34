"""patch_dnspython: make code that calls dnspython directly answer from an mxroute resolver."""

from __future__ import annotations

import contextlib
import ipaddress
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from mxroute import _adapters as adapters
from mxroute._dns import Answer, AnswerStatus, AsyncResolver, RData, Resolver
from mxroute._errors import InvalidInput
from mxroute._model import MXRecord

if TYPE_CHECKING:
    import dns.asyncresolver

__all__ = ["patch_dnspython"]

R = TypeVar("R", bound=Resolver | AsyncResolver)

_SOA = "mxroute.invalid. hostmaster.mxroute.invalid. 1 3600 600 86400 {ttl}"


class _Question:
    """One dnspython question, with the text forms an mxroute resolver takes."""

    def __init__(self, qname: dns.name.Name | str, rdtype: Any, rdclass: Any) -> None:
        name = dns.name.from_text(qname) if isinstance(qname, str) else qname
        if not name.is_absolute():
            name = name.derelativize(dns.name.root)
        self.qname = name
        self.rdtype = dns.rdatatype.RdataType.make(rdtype)
        self.rdclass = dns.rdataclass.RdataClass.make(rdclass)
        if self.rdclass != dns.rdataclass.IN:
            rdclass_text = dns.rdataclass.to_text(self.rdclass)
            raise InvalidInput(
                "unsupported-rdclass",
                f"patch_dnspython answers class IN only, not {rdclass_text}",
                rdclass_text,
            )
        self.name = name.to_text(omit_final_dot=name != dns.name.root)
        self.type_text = dns.rdatatype.to_text(self.rdtype)


def _rdata(rdtype: dns.rdatatype.RdataType, value: RData) -> dns.rdata.Rdata:
    if isinstance(value, MXRecord):
        text = value.to_text()
    elif isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        text = str(value)
    else:
        text = value
    return dns.rdata.from_text(
        dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False
    )


def _response(question: _Question, answer: Answer) -> dns.message.QueryMessage:
    """A dnspython response message that says what ``answer`` says."""
    request = dns.message.make_query(question.qname, question.rdtype, question.rdclass)
    response = dns.message.make_response(request)
    assert isinstance(response, dns.message.QueryMessage)
    response.flags |= dns.flags.RA
    if answer.authenticated:
        response.flags |= dns.flags.AD
    ttl = answer.ttl if answer.ttl is not None else 0
    owner = question.qname
    for target in answer.cnames:
        alias = dns.name.from_text(target)
        rrset = response.find_rrset(
            response.answer, owner, dns.rdataclass.IN, dns.rdatatype.CNAME, create=True
        )
        rrset.add(_rdata(dns.rdatatype.CNAME, target), ttl)
        owner = alias
    status = answer.status
    if status is AnswerStatus.RECORDS:
        rrset = response.find_rrset(
            response.answer, owner, dns.rdataclass.IN, question.rdtype, create=True
        )
        for value in answer.records:
            rrset.add(_rdata(question.rdtype, value), ttl)
    elif status in (AnswerStatus.NXDOMAIN, AnswerStatus.NODATA):
        if status is AnswerStatus.NXDOMAIN:
            response.set_rcode(dns.rcode.NXDOMAIN)
        if answer.ttl is not None:
            soa = response.find_rrset(
                response.authority,
                dns.name.root,
                dns.rdataclass.IN,
                dns.rdatatype.SOA,
                create=True,
            )
            soa.add(_rdata(dns.rdatatype.SOA, _SOA.format(ttl=ttl)), ttl)
    elif status is AnswerStatus.SERVFAIL:
        response.set_rcode(dns.rcode.SERVFAIL)
    elif status is AnswerStatus.REFUSED:
        response.set_rcode(dns.rcode.REFUSED)
    return response


def _result(
    resolver: object,
    question: _Question,
    answer: Answer,
    raise_on_no_answer: bool,
    elapsed: float,
) -> dns.resolver.Answer:
    """The dnspython answer for ``answer``, or the exception dnspython would raise."""
    response = _response(question, answer)
    status = answer.status
    server = type(resolver).__name__
    said = status.name + (f" ({answer.detail})" if answer.detail else "")
    if status is AnswerStatus.NXDOMAIN:
        raise dns.resolver.NXDOMAIN(  # type: ignore[no-untyped-call]
            qnames=[question.qname], responses={question.qname: response}
        )
    if status is AnswerStatus.TIMEOUT:
        raise dns.resolver.LifetimeTimeout(  # type: ignore[no-untyped-call]
            timeout=elapsed, errors=[(server, False, 0, said, None)]
        )
    if status.temporary:
        raise dns.resolver.NoNameservers(  # type: ignore[no-untyped-call]
            request=dns.message.make_query(question.qname, question.rdtype, question.rdclass),
            errors=[(server, False, 0, said, response)],
        )
    result = dns.resolver.Answer(question.qname, question.rdtype, question.rdclass, response)
    if result.rrset is None and raise_on_no_answer:
        raise dns.resolver.NoAnswer(response=response)  # type: ignore[no-untyped-call]
    return result


@contextlib.contextmanager
def patch_dnspython(resolver: R) -> Iterator[R]:
    """Make dnspython's resolvers answer from ``resolver`` inside a ``with`` block.

    While the block runs, ``dns.resolver.resolve`` and
    ``dns.resolver.Resolver.resolve``, ``dns.asyncresolver.resolve`` and
    ``dns.asyncresolver.Resolver.resolve`` (and what dnspython builds on them:
    ``resolve_address``, ``resolve_name``, ``canonical_name``, the deprecated
    ``query``) ask ``resolver`` instead of the network, so code that calls
    dnspython directly (a library, your application) can be tested offline::

        fake = InMemoryResolver()
        fake.add("example.com", "MX", "10 mx.example.com.")
        with patch_dnspython(fake):
            answer = dns.resolver.resolve("example.com", "MX")
        assert answer[0].exchange.to_text() == "mx.example.com."

    Each outcome becomes what dnspython gives for it:

    ========================  ==============================================
    mxroute outcome           dnspython
    ========================  ==============================================
    RECORDS                   a real :class:`dns.resolver.Answer`, built from
                              a synthesized response (CNAMEs followed, AD
                              bit, one TTL: the answer's)
    NXDOMAIN                  :class:`dns.resolver.NXDOMAIN`
    NODATA                    :class:`dns.resolver.NoAnswer`, or an empty
                              ``Answer`` when ``raise_on_no_answer=False``
    SERVFAIL, REFUSED         :class:`dns.resolver.NoNameservers`
    TIMEOUT                   :class:`dns.resolver.LifetimeTimeout`
    ========================  ==============================================

    Negative answers carry a synthesized SOA at the root whose TTL and
    minimum are the answer's negative TTL. Names are taken as absolute (no
    search list); only class IN is answered. dnspython's caches, nameservers
    and ``lifetime`` are not used: the fake's own latency and ``lifetime``
    apply (see :class:`~mxroute.InMemoryResolver`). Inside the block
    dnspython's default resolvers are fresh ones that read no system
    configuration, so settings a library changes on them (email-validator
    sets ``lifetime``) do not leak out. Everything is restored on exit, also
    when the block raises. Code that sends queries itself with ``dns.query``
    is not covered.

    This patches dnspython for the whole process: use it in tests only, and
    not from several threads at once. The pytest fixture ``patched_dnspython``
    (see :mod:`mxroute.testing.plugin`) wraps it around ``fake_dns``.

    Args:
        resolver: Any mxroute resolver: sync dnspython calls need ``query``;
            async ones use ``query_async`` when it has one, else ``query`` in
            a worker thread (so a slow resolver never blocks the event loop).

    Yields:
        ``resolver``.
    """
    import dns.asyncresolver  # here, so that importing mxroute.testing does not load it

    sync_cls = dns.resolver.Resolver
    async_cls = dns.asyncresolver.Resolver
    saved_sync = sync_cls.__dict__["resolve"]
    saved_async = async_cls.__dict__["resolve"]
    saved_default = dns.resolver.default_resolver
    saved_async_default = dns.asyncresolver.default_resolver
    query_async = adapters.async_query(resolver)  # a sync-only one runs in worker threads

    # The signatures of dnspython's Resolver.resolve, name for name, since callers
    # pass these by keyword; the fake asks the resolver and ignores the transport
    # settings and the patched instance (hence the noqa: ARG001 below).
    def resolve(
        self: dns.resolver.Resolver,  # noqa: ARG001
        qname: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str = dns.rdatatype.A,
        rdclass: dns.rdataclass.RdataClass | str = dns.rdataclass.IN,
        tcp: bool = False,  # noqa: ARG001
        source: str | None = None,  # noqa: ARG001
        raise_on_no_answer: bool = True,
        source_port: int = 0,  # noqa: ARG001
        lifetime: float | None = None,  # noqa: ARG001
        search: bool | None = None,  # noqa: ARG001
    ) -> dns.resolver.Answer:
        question = _Question(qname, rdtype, rdclass)
        query = adapters.sync_query(resolver, "dns.asyncresolver")
        start = time.monotonic()
        answer = query(question.name, question.type_text)
        elapsed = time.monotonic() - start
        return _result(resolver, question, answer, raise_on_no_answer, elapsed)

    async def resolve_async(
        self: dns.asyncresolver.Resolver,  # noqa: ARG001
        qname: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str = dns.rdatatype.A,
        rdclass: dns.rdataclass.RdataClass | str = dns.rdataclass.IN,
        tcp: bool = False,  # noqa: ARG001
        source: str | None = None,  # noqa: ARG001
        raise_on_no_answer: bool = True,
        source_port: int = 0,  # noqa: ARG001
        lifetime: float | None = None,  # noqa: ARG001
        search: bool | None = None,  # noqa: ARG001
        backend: object = None,  # noqa: ARG001
    ) -> dns.resolver.Answer:
        question = _Question(qname, rdtype, rdclass)
        start = time.monotonic()
        answer = await query_async(question.name, question.type_text)
        elapsed = time.monotonic() - start
        return _result(resolver, question, answer, raise_on_no_answer, elapsed)

    offline = sync_cls(configure=False)
    async_offline = async_cls(configure=False)
    sync_cls.resolve = resolve  # type: ignore[method-assign]
    async_cls.resolve = resolve_async  # type: ignore[method-assign]
    dns.resolver.default_resolver = offline
    # setattr: dnspython declares this module global as `None`, so mypy refuses a
    # plain assignment of a Resolver (and ruff's B010 prefers one).
    setattr(dns.asyncresolver, "default_resolver", async_offline)  # noqa: B010
    try:
        yield resolver
    finally:
        sync_cls.resolve = saved_sync  # type: ignore[method-assign]
        async_cls.resolve = saved_async  # type: ignore[method-assign]
        dns.resolver.default_resolver = saved_default
        setattr(dns.asyncresolver, "default_resolver", saved_async_default)  # noqa: B010 (as above)
