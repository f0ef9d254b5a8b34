"""check_certificate: DANE-EE, DANE-TA, MTA-STS (PKIX + name), encrypt, opportunistic."""

from __future__ import annotations

import hashlib

import pytest

import mxroute
from mxroute import CertificateCheck, TLSARecord, TLSFailure, TLSLevel, TLSRequirement
from tests.certs import DAY, NOW, issue

HOST = "mx1.example.com"


@pytest.fixture(scope="module")
def pki():
    root = issue("Test Root", ca=True)
    inter = issue("Test Intermediate", issuer=root, ca=True)
    leaf = issue(HOST, issuer=inter, names=(HOST, "mail.example.com"))
    other = issue("Other Root", ca=True)
    return {"root": root, "inter": inter, "leaf": leaf, "other": other}


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def dane(*records: TLSARecord, names=(HOST,)) -> TLSRequirement:
    return TLSRequirement(TLSLevel.DANE, records, names, "dane-usable")


def chain(pki, *names):
    return [pki[n].der for n in names]


class TestDANEEE:
    def test_spki_digest_matches_with_no_name_or_expiry_check(self, pki):
        expired = issue("whatever", not_after=NOW - 400 * DAY, not_before=NOW - 800 * DAY)
        tls = dane(TLSARecord(3, 1, 1, sha256(expired.spki)))
        verdict = mxroute.check_certificate(tls, [expired.der], now=NOW)
        assert verdict.ok
        assert verdict.reason == "dane-ee-match"

    @pytest.mark.parametrize(("selector", "mtype"), [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2)])
    def test_every_selector_and_matching_type(self, pki, selector, mtype):
        leaf = pki["leaf"]
        data = leaf.der if selector == 0 else leaf.spki
        data = {0: data, 1: sha256(data), 2: hashlib.sha512(data).digest()}[mtype]
        verdict = mxroute.check_certificate(
            dane(TLSARecord(3, selector, mtype, data)), chain(pki, "leaf", "inter"), now=NOW
        )
        assert verdict.reason == "dane-ee-match"

    def test_no_match(self, pki):
        tls = dane(TLSARecord(3, 1, 1, sha256(pki["other"].spki)))
        verdict = mxroute.check_certificate(tls, chain(pki, "leaf", "inter"), now=NOW)
        assert not verdict.ok
        assert (verdict.reason, verdict.failure) == ("tlsa-no-match", TLSFailure.VALIDATION_FAILURE)
        assert verdict.enforced

    def test_ee_record_does_not_match_an_issuer(self, pki):
        tls = dane(TLSARecord(3, 1, 1, sha256(pki["inter"].spki)))
        assert not mxroute.check_certificate(tls, chain(pki, "leaf", "inter"), now=NOW).ok


class TestDANETA:
    def test_intermediate_as_anchor(self, pki):
        tls = dane(TLSARecord(2, 1, 1, sha256(pki["inter"].spki)))
        verdict = mxroute.check_certificate(tls, chain(pki, "leaf", "inter"), now=NOW)
        assert verdict.ok
        assert verdict.reason == "dane-ta-match"

    def test_root_in_chain_as_anchor(self, pki):
        tls = dane(TLSARecord(2, 0, 1, sha256(pki["root"].der)))
        verdict = mxroute.check_certificate(tls, chain(pki, "leaf", "inter", "root"), now=NOW)
        assert verdict.reason == "dane-ta-match"

    def test_names_are_checked(self, pki):
        tls = dane(TLSARecord(2, 1, 1, sha256(pki["inter"].spki)), names=("mx2.example.com",))
        verdict = mxroute.check_certificate(tls, chain(pki, "leaf", "inter"), now=NOW)
        assert (verdict.reason, verdict.failure) == (
            "name-mismatch",
            TLSFailure.CERTIFICATE_HOST_MISMATCH,
        )

    def test_cname_expanded_name_is_accepted(self, pki):
        tls = dane(
            TLSARecord(2, 1, 1, sha256(pki["inter"].spki)),
            names=("alias.example.net", "mail.example.com"),
        )
        assert mxroute.check_certificate(tls, chain(pki, "leaf", "inter"), now=NOW).ok

    def test_expired_leaf(self, pki):
        leaf = issue(HOST, issuer=pki["inter"], names=(HOST,), not_after=NOW - DAY)
        tls = dane(TLSARecord(2, 1, 1, sha256(pki["inter"].spki)))
        verdict = mxroute.check_certificate(tls, [leaf.der, pki["inter"].der], now=NOW)
        assert verdict.failure is TLSFailure.CERTIFICATE_EXPIRED

    def test_forged_link(self, pki):
        impostor = issue("Test Intermediate", ca=True)  # same name, other key
        leaf = issue(HOST, issuer=impostor, names=(HOST,))
        tls = dane(TLSARecord(2, 0, 1, sha256(pki["inter"].der)))
        verdict = mxroute.check_certificate(tls, [leaf.der, pki["inter"].der], now=NOW)
        assert (verdict.reason, verdict.failure) == (
            "chain-broken",
            TLSFailure.CERTIFICATE_NOT_TRUSTED,
        )

    def test_wildcard_covers_one_label(self, pki):
        leaf = issue("w", issuer=pki["inter"], names=("*.example.com",))
        anchor = TLSARecord(2, 1, 1, sha256(pki["inter"].spki))
        good = mxroute.check_certificate(dane(anchor), [leaf.der, pki["inter"].der], now=NOW)
        deep = mxroute.check_certificate(
            dane(anchor, names=("a.mx1.example.com",)), [leaf.der, pki["inter"].der], now=NOW
        )
        assert good.ok
        assert not deep.ok


class TestDANEEdges:
    def test_only_unusable_records(self, pki):
        tls = dane(TLSARecord(1, 1, 1, sha256(pki["leaf"].spki)))  # PKIX-EE: not for SMTP
        verdict = mxroute.check_certificate(tls, chain(pki, "leaf"), now=NOW)
        assert (verdict.reason, verdict.failure) == ("tlsa-unusable", TLSFailure.TLSA_INVALID)

    def test_no_certificate(self):
        verdict = mxroute.check_certificate(dane(TLSARecord(3, 1, 1, b"\0" * 32)), [])
        assert verdict.reason == "no-certificate"

    def test_garbage_der(self):
        verdict = mxroute.check_certificate(dane(TLSARecord(3, 1, 1, b"\0" * 32)), [b"\x30\x03ab"])
        assert verdict.reason == "bad-certificate"


class TestMTASTS:
    def sts(self, level=TLSLevel.MTA_STS, names=(HOST,)):
        return TLSRequirement(level, (), names, "mta-sts")

    def test_valid_chain(self, pki):
        verdict = mxroute.check_certificate(
            self.sts(), chain(pki, "leaf", "inter"), trust=[pki["root"].der], now=NOW
        )
        assert verdict.ok
        assert verdict.reason == "pkix-valid"

    def test_untrusted_root(self, pki):
        verdict = mxroute.check_certificate(
            self.sts(), chain(pki, "leaf", "inter"), trust=[pki["other"].der], now=NOW
        )
        assert (verdict.reason, verdict.failure) == (
            "not-trusted",
            TLSFailure.CERTIFICATE_NOT_TRUSTED,
        )

    def test_wrong_name(self, pki):
        verdict = mxroute.check_certificate(
            self.sts(names=("mx9.example.com",)),
            chain(pki, "leaf", "inter"),
            trust=[pki["root"].der],
            now=NOW,
        )
        assert verdict.failure is TLSFailure.CERTIFICATE_HOST_MISMATCH

    def test_expired(self, pki):
        verdict = mxroute.check_certificate(
            self.sts(), chain(pki, "leaf", "inter"), trust=[pki["root"].der], now=NOW + 90 * DAY
        )
        assert verdict.failure is TLSFailure.CERTIFICATE_EXPIRED

    def test_testing_mode_is_not_enforced(self, pki):
        verdict = mxroute.check_certificate(
            self.sts(TLSLevel.MTA_STS_TESTING),
            chain(pki, "leaf", "inter"),
            trust=[pki["other"].der],
            now=NOW,
        )
        assert not verdict.ok
        assert not verdict.enforced

    def test_system_store_does_not_trust_a_test_root(self, pki):
        verdict = mxroute.check_certificate(self.sts(), chain(pki, "leaf", "inter"), now=NOW)
        assert verdict.reason == "not-trusted"


def test_levels_without_authentication(pki):
    for level, reason in [
        (TLSLevel.ENCRYPT, "encrypt-only"),
        (TLSLevel.OPPORTUNISTIC, "opportunistic"),
    ]:
        verdict = mxroute.check_certificate(TLSRequirement(level), [])
        assert verdict == CertificateCheck(True, level, reason, verdict.detail)
        assert verdict.to_dict()["ok"] is True


@pytest.mark.parametrize("bad", [(None, []), (dane(TLSARecord(3, 1, 1, b"\0" * 32)), b"der")])
def test_bad_arguments(bad):
    with pytest.raises(mxroute.InvalidInput):
        mxroute.check_certificate(*bad)
