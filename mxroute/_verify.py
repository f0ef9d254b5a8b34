"""Does a server's certificate chain satisfy a host's TLS requirement?

:func:`check_certificate` takes a :class:`~mxroute.TLSRequirement` (from a
route's host) and the chain the server presented (DER, end-entity first) and
says whether the rule of its level holds:

* ``DANE`` (RFC 7672 §3.1): a usable TLSA record matches. DANE-EE (usage 3)
  matches the end-entity certificate or its public key, with no name or
  expiry check (§3.1.1); DANE-TA (usage 2) matches a certificate of the
  chain, the chain from the end entity up to it must be signed link by link,
  within its validity period, and the end entity must carry one of
  ``tls.names`` (§3.1.2, §3.2.2);
* ``MTA_STS`` / ``MTA_STS_TESTING`` (RFC 8461 §4.2): PKIX path validation to a
  trusted root and a name in ``tls.names`` (the MX host name);
* ``ENCRYPT``: any certificate (encryption without authentication);
* ``OPPORTUNISTIC``: nothing to check.

It needs the optional ``cryptography`` package (``pip install 'mxroute[dane]'``);
the rest of mxroute does not.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import itertools
import ssl
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from mxroute._errors import InvalidInput, MXRouteError
from mxroute._exports import publish
from mxroute._names import matches_pattern
from mxroute._tls import TLSARecord, TLSFailure, TLSLevel, TLSRequirement

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["CertificateCheck", "MissingDependency", "check_certificate"]


class MissingDependency(MXRouteError, ImportError):
    """An optional feature needs a package that is not installed (the message says which)."""


@attrs.frozen
class CertificateCheck:
    """The verdict of :func:`check_certificate`.

    Attributes:
        ok: True if the chain satisfies the requirement.
        level: The requirement's level.
        reason: A stable code: ``dane-ee-match``, ``dane-ta-match``,
            ``pkix-valid``, ``encrypt-only``, ``opportunistic`` when ok;
            ``no-certificate``, ``bad-certificate``, ``tlsa-no-match``,
            ``tlsa-unusable``, ``chain-broken``, ``certificate-expired``,
            ``name-mismatch``, ``not-trusted`` when not.
        detail: A sentence a person can act on.
        failure: When not ok, the TLS-RPT result type to report (RFC 8460).
        enforced: True when a failure must stop delivery to this host; False
            for ``MTA_STS_TESTING`` (report and deliver) and levels that do
            not authenticate.
    """

    ok: bool
    level: TLSLevel
    reason: str
    detail: str
    failure: TLSFailure | None = None
    enforced: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain data, ready for JSON."""
        return {
            "ok": self.ok,
            "level": self.level.value,
            "reason": self.reason,
            "detail": self.detail,
            "failure": None if self.failure is None else self.failure.value,
            "enforced": self.enforced,
        }


def _crypto() -> Any:
    try:
        import cryptography.x509
    except ImportError:  # pragma: no cover - the test extra installs it
        raise MissingDependency(
            "checking certificates needs the 'cryptography' package: pip install 'mxroute[dane]'"
        ) from None
    import cryptography

    return cryptography


def check_certificate(
    tls: TLSRequirement,
    chain: Sequence[bytes],
    *,
    trust: Sequence[bytes] | None = None,
    now: datetime.datetime | None = None,
) -> CertificateCheck:
    """Check a server's certificate chain against a host's TLS requirement.

    Args:
        tls: The host's requirement (``host.tls`` of a route).
        chain: The certificates the server sent, DER-encoded, end entity
            first (``ssl.SSLSocket.getpeercert(binary_form=True)`` gives the
            end entity; Python 3.13's ``get_unverified_chain()`` the chain).
        trust: For MTA-STS: the trusted roots (DER). None uses the system's
            trust store (the file or folder OpenSSL was built with).
        now: The time to check validity periods at; the current UTC time
            when None.

    Returns:
        A :class:`CertificateCheck`; bad certificates are a failed check,
        never an exception.

    Raises:
        InvalidInput: *tls* is not a TLSRequirement or *chain* is not a
            sequence of bytes.
        MissingDependency: ``cryptography`` is not installed.
    """
    if not isinstance(tls, TLSRequirement):
        raise InvalidInput("invalid-tls", f"tls must be a TLSRequirement, not {tls!r}", repr(tls))
    given: object = chain
    if isinstance(given, (bytes, str)) or not all(isinstance(c, (bytes, bytearray)) for c in chain):
        raise InvalidInput(
            "invalid-chain", "chain must be a sequence of DER certificates (bytes)", repr(chain)
        )
    level = tls.level
    if level is TLSLevel.OPPORTUNISTIC:
        return CertificateCheck(True, level, "opportunistic", "no certificate check asked for")
    if level is TLSLevel.ENCRYPT:
        return CertificateCheck(
            True, level, "encrypt-only", "TLS is required, the certificate is not checked"
        )
    _crypto()
    from cryptography import x509

    enforced = level is not TLSLevel.MTA_STS_TESTING
    if not chain:
        return _fail(level, "no-certificate", "the server sent no certificate", enforced)
    try:
        certs = [x509.load_der_x509_certificate(bytes(der)) for der in chain]
    except ValueError as exc:
        return _fail(
            level,
            "bad-certificate",
            f"a certificate of the chain is not valid DER: {exc}",
            enforced,
        )
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    if level is TLSLevel.DANE:
        return _dane(tls, certs, moment)
    return _pkix(tls, certs, trust, moment, enforced)


def _fail(
    level: TLSLevel,
    reason: str,
    detail: str,
    enforced: bool = True,
    failure: TLSFailure = TLSFailure.VALIDATION_FAILURE,
) -> CertificateCheck:
    return CertificateCheck(False, level, reason, detail, failure, enforced)


def _selected(cert: x509.Certificate, selector: int) -> bytes:
    from cryptography.hazmat.primitives import serialization

    if selector == 0:
        return cert.public_bytes(serialization.Encoding.DER)
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _matches(record: TLSARecord, cert: x509.Certificate) -> bool:
    data = _selected(cert, record.selector)
    if record.mtype == 1:
        data = hashlib.sha256(data).digest()
    elif record.mtype == 2:
        data = hashlib.sha512(data).digest()
    return data == record.data


def _dane(
    tls: TLSRequirement, certs: list[x509.Certificate], now: datetime.datetime
) -> CertificateCheck:
    usable = [r for r in tls.tlsa if r.usable]
    if not usable:
        return _fail(
            TLSLevel.DANE,
            "tlsa-unusable",
            "the host has no usable TLSA record to match",
            failure=TLSFailure.TLSA_INVALID,
        )
    for record in usable:
        if record.usage == 3 and _matches(record, certs[0]):
            return CertificateCheck(
                True,
                TLSLevel.DANE,
                "dane-ee-match",
                f"the server's certificate matches TLSA {_short(record)} (DANE-EE)",
            )
    problem: CertificateCheck | None = None
    for record in usable:
        if record.usage != 2:
            continue
        for depth, cert in enumerate(certs):
            if not _matches(record, cert):
                continue
            verdict = _ta_chain(tls, certs[: depth + 1], now, record)
            if verdict.ok:
                return verdict
            problem = problem or verdict
    return problem or _fail(
        TLSLevel.DANE,
        "tlsa-no-match",
        "no usable TLSA record matches the server's certificate chain",
        failure=TLSFailure.VALIDATION_FAILURE,
    )


def _ta_chain(
    tls: TLSRequirement,
    path: list[x509.Certificate],
    now: datetime.datetime,
    record: TLSARecord,
) -> CertificateCheck:
    """DANE-TA: the chain up to the matched anchor is signed, current, and names the host."""
    from cryptography.exceptions import InvalidSignature

    for child, issuer in itertools.pairwise(path):
        try:
            child.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError) as exc:
            why = str(exc) or type(exc).__name__
            return _fail(
                TLSLevel.DANE,
                "chain-broken",
                f"{_subject(child)} is not signed by {_subject(issuer)}: {why}",
                failure=TLSFailure.CERTIFICATE_NOT_TRUSTED,
            )
    for cert in path[:-1] if len(path) > 1 else path:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return _fail(
                TLSLevel.DANE,
                "certificate-expired",
                f"{_subject(cert)} is valid from {cert.not_valid_before_utc:%Y-%m-%d} "
                f"to {cert.not_valid_after_utc:%Y-%m-%d}",
                failure=TLSFailure.CERTIFICATE_EXPIRED,
            )
    if not _names_match(path[0], tls.names):
        return _fail(
            TLSLevel.DANE,
            "name-mismatch",
            f"the certificate names {', '.join(_cert_names(path[0])) or 'nothing'}, "
            f"not {', '.join(tls.names) or 'the host'}",
            failure=TLSFailure.CERTIFICATE_HOST_MISMATCH,
        )
    return CertificateCheck(
        True,
        TLSLevel.DANE,
        "dane-ta-match",
        f"the chain leads to the trust anchor of TLSA {_short(record)} (DANE-TA)",
    )


def _pkix(
    tls: TLSRequirement,
    certs: list[x509.Certificate],
    trust: Sequence[bytes] | None,
    now: datetime.datetime,
    enforced: bool,
) -> CertificateCheck:
    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    level = tls.level
    try:
        roots = (
            [x509.load_der_x509_certificate(bytes(der)) for der in trust]
            if trust is not None
            else _system_roots()
        )
    except ValueError as exc:
        raise InvalidInput("invalid-trust", f"a trusted root is not valid DER: {exc}", "") from None
    if not roots:
        return _fail(
            level,
            "not-trusted",
            "no trusted roots to validate against",
            enforced,
            TLSFailure.CERTIFICATE_NOT_TRUSTED,
        )
    leaf = certs[0]
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        return _fail(
            level,
            "certificate-expired",
            f"the certificate is valid from {leaf.not_valid_before_utc:%Y-%m-%d} "
            f"to {leaf.not_valid_after_utc:%Y-%m-%d}",
            enforced,
            TLSFailure.CERTIFICATE_EXPIRED,
        )
    if not _names_match(leaf, tls.names):
        return _fail(
            level,
            "name-mismatch",
            f"the certificate names {', '.join(_cert_names(leaf)) or 'nothing'}, "
            f"not {', '.join(tls.names) or 'the host'}",
            enforced,
            TLSFailure.CERTIFICATE_HOST_MISMATCH,
        )
    store = Store(roots)
    problems = []
    for name in tls.names:
        verifier = PolicyBuilder().store(store).time(now).build_server_verifier(x509.DNSName(name))
        try:
            verifier.verify(leaf, certs[1:])
        except VerificationError as exc:
            problems.append(str(exc))
            continue
        return CertificateCheck(
            True, level, "pkix-valid", f"a trusted chain for {name}", enforced=enforced
        )
    return _fail(
        level,
        "not-trusted",
        f"the chain does not validate to a trusted root: {'; '.join(problems)}",
        enforced,
        TLSFailure.CERTIFICATE_NOT_TRUSTED,
    )


@functools.lru_cache(maxsize=1)
def _system_roots() -> list[x509.Certificate]:
    """The system's trusted roots: OpenSSL's default CA file, or every file of its folder.

    Read once per process. Certificates that ``cryptography`` refuses or
    warns about (a few old roots have non-positive serial numbers) are left out.
    """
    from cryptography import x509

    paths = ssl.get_default_verify_paths()
    pem = b""
    if paths.cafile and Path(paths.cafile).is_file():
        pem = Path(paths.cafile).read_bytes()
    elif paths.capath and Path(paths.capath).is_dir():
        pem = b"".join(p.read_bytes() for p in sorted(Path(paths.capath).iterdir()) if p.is_file())
    roots: list[x509.Certificate] = []
    for block in pem.split(b"-----END CERTIFICATE-----"):
        start = block.find(b"-----BEGIN CERTIFICATE-----")
        if start < 0:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                roots.append(
                    x509.load_pem_x509_certificate(block[start:] + b"-----END CERTIFICATE-----")
                )
        except ValueError:
            continue  # a file that is not a certificate, or one OpenSSL reads and we cannot
    return roots


def _cert_names(cert: x509.Certificate) -> list[str]:
    """The DNS names a certificate is for: its subjectAltName DNS names, else its CN."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        names = [
            str(attr.value)
            for attr in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        ]
    else:
        names = [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    return [n.lower().rstrip(".") for n in names]


def _names_match(cert: x509.Certificate, names: Sequence[str]) -> bool:
    """RFC 6125 matching as RFC 7672 §3.2.3 asks: a ``*`` only as the whole leftmost label."""
    presented = [p for p in _cert_names(cert) if p.count("*") <= 1]  # one leftmost "*" at most
    return any(matches_pattern(p, name) for p in presented for name in names)


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "a certificate without a subject"


def _short(record: TLSARecord) -> str:
    text = record.to_text()
    return text if len(text) <= 24 else text[:21] + "..."


publish(globals())
