"""Findings, and the catalogue of their codes: each code's severity and one-line fix.

Codes are stable: once released, a code keeps its meaning. The planner, the
validators and the audit all build findings through :func:`make_finding`, so
a code has one severity and one fix wherever it shows up.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from mxroute._exports import publish

__all__ = ["FINDING_CODES", "Finding", "FindingCode", "Severity", "make_finding"]


class Severity(enum.Enum):
    """How much a finding matters."""

    ERROR = "error"
    """Mail to the domain fails, or will fail under ordinary conditions."""
    WARNING = "warning"
    """Mail works, but the setup breaks a rule or loses redundancy."""
    INFO = "info"
    """Worth knowing; nothing to fix."""

    @property
    def rank(self) -> int:
        """0 for errors, 1 for warnings, 2 for information: sort by it, most severe first."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@attrs.frozen
class Finding:
    """Something noticed about a domain's mail setup, with a stable code.

    Attributes:
        code: A stable identifier such as ``"null-mx-mixed"``; the reference
            documentation lists every code and its meaning.
        severity: How much it matters.
        message: One sentence a person can read.
        subject: What it is about: a record, a host name or an address.
        fix: One line that says how to fix it (empty when there is nothing to fix).
    """

    code: str
    severity: Severity
    message: str
    subject: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain data, ready for JSON."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "subject": self.subject,
            "fix": self.fix,
        }


@attrs.frozen
class FindingCode:
    """What a finding code means.

    Attributes:
        code: The stable code.
        severity: Its severity.
        summary: What it means, in one sentence.
        fix: How to fix it, in one line (empty when there is nothing to fix).
    """

    code: str
    severity: Severity
    summary: str
    fix: str = ""


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

FINDING_CODES: dict[str, FindingCode] = {
    c.code: c
    for c in (
        FindingCode(
            "null-mx-mixed",
            _W,
            "A null MX record ('0 .') stands beside real MX records; it is ignored.",
            "Remove the '0 .' record, or remove the other MX records if the domain takes no mail.",
        ),
        FindingCode(
            "null-mx-nonzero-preference",
            _W,
            "The null MX record has a preference other than 0 (RFC 7505 requires '0 .').",
            "Publish the null MX as '0 .'.",
        ),
        FindingCode(
            "mx-target-cname",
            _W,
            "An MX exchange is an alias (CNAME); RFC 5321 §5.1 requires a host name.",
            "Point the MX record at the canonical host name instead of the alias.",
        ),
        FindingCode(
            "mx-target-ip-literal",
            _E,
            "An MX exchange is an IP address written as a name; RFC 5321 forbids it.",
            "Publish an A/AAAA record for a host name and point the MX record at that name.",
        ),
        FindingCode(
            "mx-target-unresolvable",
            _E,
            "An MX exchange has no A or AAAA record, so it cannot receive mail.",
            "Add A/AAAA records for the host, or remove the MX record.",
        ),
        FindingCode(
            "mx-target-temporary-failure",
            _W,
            "Looking up an MX exchange's addresses failed temporarily; it was skipped.",
            "Check the host's authoritative name servers (SERVFAIL, REFUSED or no answer).",
        ),
        FindingCode(
            "address-out-of-scope",
            _E,
            "An address is outside the routing policy's address scope "
            "(loopback, private, link-local, ...).",
            "Publish only publicly routable addresses for mail hosts.",
        ),
        FindingCode(
            "duplicate-mx-host",
            _W,
            "The same exchange is listed more than once; the lowest preference is kept.",
            "List each mail host once.",
        ),
        FindingCode(
            "duplicate-address",
            _I,
            "Two mail hosts share an address; it is tried once, with the first of them.",
            "Give each mail host its own address for real redundancy.",
        ),
        FindingCode(
            "local-host-pruned",
            _I,
            "This host is one of the MX hosts: it and every less preferred host were dropped "
            "(RFC 5321 §5.1).",
        ),
        FindingCode(
            "implicit-mx",
            _W,
            "The domain has no MX records; mail goes to its A/AAAA records (implicit MX).",
            "Publish an MX record, or a null MX ('0 .') if the domain takes no mail.",
        ),
        FindingCode(
            "single-mx",
            _I,
            "Only one MX host: no backup host if it is down.",
            "Consider a second MX host on another network.",
        ),
        FindingCode(
            "cname-at-domain",
            _I,
            "The domain is an alias (CNAME); its canonical name was routed instead.",
        ),
        FindingCode(
            "max-hosts-exceeded",
            _W,
            "The domain lists more MX hosts than the policy's max_hosts; the rest were ignored.",
            "Publish fewer MX records.",
        ),
        FindingCode(
            "max-addresses-exceeded",
            _W,
            "The route has more addresses than the policy's max_addresses; the rest were ignored.",
            "Publish fewer addresses for the mail hosts.",
        ),
        FindingCode(
            "null-mx",
            _I,
            "The domain publishes a null MX (RFC 7505): it accepts no mail.",
        ),
        FindingCode(
            "mx-target-invalid-name",
            _W,
            "An MX exchange is not a valid host name (RFC 5321 §2.3.5: letters, digits, '-').",
            "Point the MX record at a host name made of letters, digits and hyphens.",
        ),
        # -- the audit (mxroute._audit) ---------------------------------------
        FindingCode(
            "domain-not-found",
            _E,
            "The domain does not exist (NXDOMAIN): mail to it bounces.",
            "Check the spelling; if the domain is yours, check its registration and delegation.",
        ),
        FindingCode(
            "no-usable-mail-host",
            _E,
            "No mail host of the domain has a usable address: mail to it bounces.",
            "Give the MX hosts (or, with no MX, the domain itself) public A/AAAA records.",
        ),
        FindingCode(
            "mail-loop",
            _E,
            "The best MX host is this host (the policy's local names or addresses): "
            "delivery would loop.",
            "Accept the domain locally, or point its MX records at the right hosts.",
        ),
        FindingCode(
            "lookup-temporary-failure",
            _W,
            "A DNS lookup failed temporarily (SERVFAIL, REFUSED or timeout): "
            "the audit is incomplete.",
            "Check the domain's authoritative name servers, then run the check again.",
        ),
        FindingCode(
            "mx-address-non-global",
            _W,
            "A mail host has an address that is not reachable from the Internet "
            "(private, shared, loopback or another non-global range).",
            "Publish only public addresses for mail hosts; keep internal ones in an internal view.",
        ),
        FindingCode(
            "mx-hosts-same-network",
            _W,
            "Every MX host is in one network (one IPv4 /24, one IPv6 /48): "
            "one outage takes them all down.",
            "Put a backup MX host on another network.",
        ),
        FindingCode(
            "mx-ipv4-only",
            _I,
            "The mail hosts have IPv4 addresses only: IPv6-only senders cannot reach them.",
            "Consider AAAA records for the mail hosts.",
        ),
        FindingCode(
            "mx-ipv6-only",
            _W,
            "The mail hosts have IPv6 addresses only: the many IPv4-only senders cannot "
            "reach them.",
            "Add A records for the mail hosts.",
        ),
        FindingCode(
            "ttl-too-low",
            _W,
            "A record set the route depends on has a TTL below 300 seconds: every "
            "delivery depends on the name servers answering right then.",
            "Raise the TTL to 300 seconds or more (an hour is common) outside of migrations.",
        ),
        FindingCode(
            "ttl-too-high",
            _W,
            "A record set the route depends on has a TTL above one week (604800 seconds): "
            "a change takes that long to reach every sender.",
            "Lower the TTL to a day (86400 seconds) or less.",
        ),
        # DANE (RFC 7672), with RoutingPolicy(dane=True)
        FindingCode(
            "dane-usable",
            _I,
            "The mail host has DNSSEC-signed, usable TLSA records: senders must use TLS "
            "and check the certificate against them (DANE).",
            "",
        ),
        FindingCode(
            "tlsa-unusable",
            _W,
            "The mail host has DNSSEC-signed TLSA records, but none is usable for SMTP "
            "(RFC 7672 §3.1: usage 2 or 3, a known selector and matching type): senders "
            "require TLS without authenticating the server.",
            "Publish TLSA records of usage 3 (DANE-EE) or 2 (DANE-TA), e.g. '3 1 1 <sha-256>'.",
        ),
        FindingCode(
            "tlsa-lookup-failed",
            _W,
            "Looking up the TLSA records of a mail host with DNSSEC-signed addresses failed "
            "(SERVFAIL, timeout, REFUSED, or signatures that do not validate): the host "
            "is not used until it answers (RFC 7672 §2.1.1).",
            "Check the signatures and the name servers of the host's _25._tcp TLSA name.",
        ),
        FindingCode(
            "tlsa-insecure",
            _W,
            "The mail host publishes TLSA records, but they, its address records or the "
            "domain's MX records are not DNSSEC-signed: the TLSA records are ignored.",
            "Sign the zones of the MX records, the host's addresses and its TLSA records.",
        ),
        FindingCode(
            "dane-no-tlsa",
            _I,
            "The mail host's addresses are DNSSEC-signed, and it publishes no TLSA "
            "records: no DANE for it.",
            "Publish TLSA records at _25._tcp.<host> to protect it with DANE.",
        ),
        FindingCode(
            "dane-host-insecure",
            _I,
            "The mail host's address records are not DNSSEC-signed: DANE does not apply to it.",
            "Sign the zone of the host's A/AAAA records to protect it with DANE.",
        ),
        FindingCode(
            "dane-mx-insecure",
            _I,
            "The domain's MX records are not DNSSEC-authenticated (unsigned, or the "
            "resolver is not trusted to validate): DANE does not apply to its hosts.",
            "Sign the domain's zone to protect its mail with DANE.",
        ),
        # -- the audit's authoritative check (mxroute._authoritative) ---------
        FindingCode(
            "ns-lookup-failed",
            _W,
            "The domain's name servers or their addresses could not be looked up: "
            "the authoritative check is incomplete.",
            "Check the delegation (NS records at the parent and in the zone), then run the "
            "check again.",
        ),
        FindingCode(
            "ns-not-answering",
            _E,
            "A name server address did not answer at all (timeout or network error).",
            "Fix or remove the server: resolvers that pick it wait and retry, and answers "
            "for the domain become slow or fail.",
        ),
        FindingCode(
            "ns-lame",
            _E,
            "A name server listed for the zone does not serve it (REFUSED, no AA bit, a "
            "referral, or no SOA): a lame delegation.",
            "Load the zone on that server, or remove the server from the NS records "
            "(at the parent and in the zone).",
        ),
        FindingCode(
            "ns-serial-mismatch",
            _W,
            "The name servers answer with different SOA serials: they serve different "
            "versions of the zone.",
            "Check zone transfers (NOTIFY, AXFR/IXFR) from the primary to every secondary.",
        ),
        FindingCode(
            "ns-mx-mismatch",
            _E,
            "The name servers disagree on the domain's MX records: senders deliver to "
            "different hosts depending on the server their resolver asked.",
            "Make every name server serve the same zone (check zone transfers, or a "
            "server left over from a migration).",
        ),
        FindingCode(
            "ns-address-mismatch",
            _W,
            "The name servers disagree on a mail host's or name server's A/AAAA records.",
            "Make every name server serve the same zone (check zone transfers).",
        ),
        FindingCode(
            "ns-glue-mismatch",
            _W,
            "The addresses given for a name server (glue, or the resolver's answer) differ "
            "from the authoritative A/AAAA records of that host.",
            "Update the glue at the registrar (or the parent zone) to the name server's "
            "current addresses.",
        ),
        FindingCode(
            "ns-family-unreachable",
            _W,
            "A name server answers over one address family (IPv4 or IPv6) but not over the other.",
            "Fix the server's reachability over the failing family, or remove the A/AAAA "
            "record of that family.",
        ),
        FindingCode(
            "ns-host-unresolvable",
            _E,
            "A name server host of the NS set has no A or AAAA record: no resolver can ask it.",
            "Publish the name server's A/AAAA records (and glue at the parent), or remove it "
            "from the NS records.",
        ),
        FindingCode(
            "ns-address-out-of-scope",
            _W,
            "A name server has an address outside the policy's address scope "
            "(loopback, private, ...); it was not asked.",
            "Publish only public addresses for name servers.",
        ),
        FindingCode(
            "ns-limit-exceeded",
            _I,
            "The zone has more name server addresses than the check asks "
            "(20); the rest were not asked.",
        ),
        # -- the audit's backup MX and SPF checks (mxroute._audit) ------------
        FindingCode(
            "backup-mx-other-provider",
            _W,
            "A backup MX host is at another provider than the primary (a different "
            "domain suffix): it may not apply the primary's spam and recipient policy.",
            "Make sure the backup filters spam, checks recipients and applies the same "
            "policy as the primary (spammers send to backups to bypass it), or remove it.",
        ),
        FindingCode(
            "backup-mx-fewer-families",
            _W,
            "A backup MX host lacks an address family (IPv4 or IPv6) that every primary host has.",
            "Give the backup the same address families (A and AAAA) as the primary, so it "
            "takes over for every sender.",
        ),
        FindingCode(
            "backup-mx-weaker-tls",
            _W,
            "A backup MX host requires a weaker TLS level (DANE, MTA-STS) than every "
            "primary host: whoever blocks the primary can push mail to the backup, where "
            "it travels less protected.",
            "Protect the backup like the primary: publish TLSA records for it (DANE) or "
            "cover it by the MTA-STS policy's mx patterns, with a matching certificate.",
        ),
        FindingCode(
            "backup-mx-single-address",
            _I,
            "A backup MX host has a single address while every primary host has several.",
            "Consider giving the backup several addresses, or protecting it like the primary.",
        ),
        FindingCode(
            "null-mx-spf-allows-senders",
            _W,
            "The domain publishes a null MX (it takes no mail), but its SPF record "
            "authorises senders.",
            "If the domain sends no mail, publish 'v=spf1 -all'; if it does take mail, "
            "replace the null MX with real MX records.",
        ),
        FindingCode(
            "implicit-mx-spf-no-mail",
            _W,
            "The domain has no MX record and its SPF record is 'v=spf1 -all': some "
            "validators (email-validator) treat it as undeliverable, though RFC 5321 "
            "still delivers to its A/AAAA records.",
            "Publish an MX record if the domain takes mail, or a null MX ('0 .') if it does not.",
        ),
        # MTA-STS (RFC 8461): the routing side and the audit.
        FindingCode(
            "mta-sts-record-invalid",
            _W,
            "The _mta-sts TXT record starts with v=STSv1 but is malformed: MTA-STS is not "
            "applied (RFC 8461 §3.1).",
            "Publish '_mta-sts.<domain> TXT \"v=STSv1; id=<1 to 32 letters and digits>;\"'.",
        ),
        FindingCode(
            "mta-sts-record-multiple",
            _W,
            "More than one _mta-sts TXT record starts with v=STSv1: MTA-STS is not applied "
            "(RFC 8461 §3.1).",
            "Keep exactly one v=STSv1 TXT record at _mta-sts.<domain>.",
        ),
        FindingCode(
            "mta-sts-lookup-failed",
            _W,
            "Looking up the _mta-sts TXT record failed temporarily; a cached policy is used "
            "if there is one.",
            "Check the domain's authoritative name servers (SERVFAIL, REFUSED or no answer).",
        ),
        FindingCode(
            "mta-sts-policy-unreachable",
            _W,
            "The MTA-STS policy could not be fetched over HTTPS; with no cached policy, mail "
            "goes as if the domain had no MTA-STS (RFC 8461 §3.3).",
            "Serve https://mta-sts.<domain>/.well-known/mta-sts.txt (status 200, text/plain, "
            "no redirect) with a valid certificate for mta-sts.<domain>.",
        ),
        FindingCode(
            "mta-sts-policy-invalid",
            _W,
            "The MTA-STS policy fetched is not a valid policy (RFC 8461 §3.2); with no cached "
            "policy, mail goes as if the domain had no MTA-STS.",
            "Fix the policy file: 'version: STSv1', 'mode', 'mx' lines and 'max_age', "
            "one per line.",
        ),
        FindingCode(
            "mta-sts-id-mismatch",
            _W,
            "The _mta-sts record announces a new policy id, but the new policy could not be "
            "fetched: the cached (older) policy is applied until it expires.",
            "Serve the new policy before changing the id in the _mta-sts TXT record.",
        ),
        FindingCode(
            "mta-sts-mx-not-covered",
            _E,
            "An MX host is not matched by the MTA-STS policy's mx patterns: in mode enforce "
            "it is not used, in mode testing its failures are reported.",
            "Add the host (or a '*.' pattern covering it) to the policy's mx lines, or "
            "change the MX record.",
        ),
        FindingCode(
            "mta-sts-enforce",
            _I,
            "The domain has an MTA-STS policy in mode enforce: its MX hosts need TLS with a "
            "valid certificate.",
            "",
        ),
        FindingCode(
            "mta-sts-testing",
            _I,
            "The domain's MTA-STS policy is in mode testing: failures are reported, mail is "
            "delivered anyway.",
            "Switch the policy to mode enforce once the TLS reports are clean.",
        ),
        FindingCode(
            "mta-sts-mode-none",
            _I,
            "The domain's MTA-STS policy is in mode none: it withdrew MTA-STS (RFC 8461 §8.3).",
            "",
        ),
        FindingCode(
            "mta-sts-absent",
            _I,
            "The domain publishes no MTA-STS policy (no v=STSv1 TXT record at _mta-sts).",
            "Consider MTA-STS (RFC 8461): a policy file and a _mta-sts TXT record.",
        ),
        # TLS-RPT (RFC 8460), with RoutingPolicy(tlsrpt=True)
        FindingCode(
            "tlsrpt-record-invalid",
            _W,
            "The domain's _smtp._tls TXT record (TLS-RPT) is malformed, or there are "
            "several: senders cannot report TLS failures to the domain.",
            "Publish exactly one record such as 'v=TLSRPTv1; rua=mailto:tlsrpt@example.com'.",
        ),
        FindingCode(
            "tlsrpt-lookup-failed",
            _I,
            "The lookup of the domain's _smtp._tls TXT record (TLS-RPT) failed temporarily: "
            "no report addresses for this route.",
            "Check the name servers of the domain; routing is not affected.",
        ),
    )
}
"""Every finding code the library emits, by code."""


def make_finding(code: str, subject: str, message: str | None = None) -> Finding:
    """Build a finding of a catalogued code, with the code's severity and fix.

    Args:
        code: A key of :data:`FINDING_CODES`.
        subject: What the finding is about (a record, a host, an address).
        message: A specific sentence; the code's summary when omitted.

    Raises:
        KeyError: The code is not in the catalogue (a bug in mxroute).
    """
    entry = FINDING_CODES[code]
    return Finding(code, entry.severity, message or entry.summary, subject, entry.fix)


publish(globals())
