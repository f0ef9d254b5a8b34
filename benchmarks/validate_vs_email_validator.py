"""mxroute.validate_address against email-validator, side by side, on one corpus.

Run it with the ``bench`` extra installed::

    python benchmarks/validate_vs_email_validator.py            # full run, a report
    python benchmarks/validate_vs_email_validator.py --json     # the same, as JSON
    python benchmarks/validate_vs_email_validator.py --smoke    # a tiny run (the test suite's)

The corpus is generated deterministically (a seeded :class:`random.Random`):
plain addresses, IDN domains, UTF-8 local parts, quoted local parts,
address literals, addresses at and just over the length limits, and many
kinds of invalid input. Both validators check syntax only: email-validator
runs with ``check_deliverability=False`` and, so that both accept the same
grammar, ``allow_quoted_local=True`` and ``allow_domain_literal=True``.

It prints addresses per second for both, the ratio (mxroute / email-validator),
and every address on which the two disagree (one accepts, the other rejects,
or both accept with different normalised forms), each with the class that
explains it. The classes are documented in ``docs/validation.md``;
``unexplained`` would be a bug to look at.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import email_validator

import mxroute

SEED = 20261123

TLDS = ["com", "org", "net", "de", "fr", "io", "co.uk", "com.au", "example", "museum", "xyz"]
WORDS = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "oscar", "peggy", "trent", "victor", "walter", "info", "sales", "support",
    "postmaster", "noreply", "john", "smith", "mary", "jones", "dev", "ops", "billing",
]  # fmt: skip
HOSTS = [
    "example", "mail", "corp", "shop", "news", "uni-berlin", "my-company", "a1", "xyz123",
    "startup", "bank", "school", "city", "cloud", "data", "web",
]  # fmt: skip
IDN_DOMAINS = [
    "bücher.example", "münchen.de", "例子.广告", "пример.рф", "παράδειγμα.δοκιμή",
    "straße.de", "façade.fr", "ñandú.com", "日本語.jp", "xn--bcher-kva.example",
    "BÜCHER.example", "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "faß.de",
    "مثال.إختبار", "עברית.example",
]  # fmt: skip
UNICODE_LOCALS = [
    "用户", "josé", "Ünïcode", "ñandú", "θσερ", "пользователь", "δοκιμή", "日本",
    "müller", "e\u0301lise", "ǅemal", "名.姓",
]  # fmt: skip
INVALID = [
    "", "plainaddress", "@example.com", "alice@", "alice@@example.com", "alice@example..com",
    ".alice@example.com", "alice.@example.com", "al..ice@example.com", "alice smith@example.com",
    " alice@example.com", "alice@example.com ", "alice@example.com.", "alice@-example.com",
    "alice@example-.com", "alice@exa_mple.com", "alice@example.123", "alice@[192.0.2.256]",
    "alice@[2001:db8::1]", "alice@[IPv6:192.0.2.1]", "alice@192.0.2.1", "alice(x)@example.com",
    "alice<x>@example.com", "alice,bob@example.com", 'a"b@example.com', '"unclosed@example.com',
    'a\\b@example.com', "alice@exa mple.com", "alice@.example.com", "alice@example.com\n",
    "alice\t@example.com", "ali\x00ce@example.com", "ali\u200bce@example.com",
    "ali\u00a0ce@example.com", "alice@xn--a.example", "alice@a\u200d.example",
    "\u0301alice@example.com", '""@example.com', 'alice@"example".com', "Alice <a@example.com>",
    "alice@example", "alice@localhost", "alice@mail.test", "alice@host.invalid",
    "alice@printer.local", "alice@1.2.3.4.in-addr.arpa",
]  # fmt: skip


def _word(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    return word.capitalize() if rng.random() < 0.2 else word


def _domain(rng: random.Random) -> str:
    parts = [rng.choice(HOSTS)]
    if rng.random() < 0.3:
        parts.insert(0, rng.choice(["mail", "mx", "eu", "us", "dept"]))
    domain = ".".join([*parts, rng.choice(TLDS)])
    return domain.upper() if rng.random() < 0.05 else domain


def _plain(rng: random.Random) -> str:
    local = _word(rng)
    roll = rng.random()
    if roll < 0.3:
        local += "." + _word(rng)
    elif roll < 0.45:
        local += "+" + rng.choice(["news", "tag", "2024", "x"])
    elif roll < 0.55:
        local += str(rng.randrange(1000))
    return f"{local}@{_domain(rng)}"


def _long(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:  # local part at or just over 64 octets
        return "a" * rng.choice([63, 64, 65]) + "@example.com"
    if kind == 1:  # whole address around 254 octets
        target = rng.choice([253, 254, 255])
        labels = ["a" * 63, "b" * 63, "c" * 63]
        domain = ".".join(labels)[: target - 12].rstrip(".") + ".com"
        local = "x" * (target - 1 - len(domain))
        return f"{local}@{domain}"
    if kind == 2:  # a label of 63 or 64
        return f"alice@{'d' * rng.choice([63, 64])}.example.com"
    return "é" * rng.choice([32, 33]) + "@example.com"  # 64 or 66 octets


def _quoted(rng: random.Random) -> str:
    content = rng.choice(
        ["john", "john smith", "john.smith", "a@b", 'say "hi"', "back\\slash", "x..y", " ", ".a"]
    )
    escaped = content.replace("\\", "\\\\").replace('"', '\\"')
    if rng.random() < 0.2:
        escaped = escaped.replace("j", "\\j")
    return f'"{escaped}"@{_domain(rng)}'


def _literal(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"postmaster@[192.0.2.{rng.randrange(256)}]"
    form = rng.choice(["2001:db8::{:x}", "2001:DB8:0:0:0:0:0:{:X}", "::ffff:192.0.2.{}"])
    return f"postmaster@[IPv6:{form.format(rng.randrange(1, 256))}]"


def _mutated(rng: random.Random) -> str:
    """A valid address with one random change: mostly invalid, sometimes still valid."""
    text = list(_plain(rng))
    position = rng.randrange(len(text))
    action = rng.randrange(3)
    char = rng.choice(' .@-_"\\[]()<>,;:\t\x7fé')
    if action == 0:
        text.insert(position, char)
    elif action == 1:
        text[position] = char
    else:
        del text[position]
    return "".join(text)


def make_corpus(size: int, seed: int = SEED) -> list[str]:
    """A deterministic corpus of ``size`` addresses (the fixed lists first)."""
    rng = random.Random(seed)
    fixed = [*INVALID, *(f"{local}@example.com" for local in UNICODE_LOCALS)]
    fixed += [f"alice@{domain}" for domain in IDN_DOMAINS]
    corpus = fixed[:size]
    makers: list[tuple[float, Callable[[random.Random], str]]] = [
        (0.55, _plain),
        (0.07, lambda r: f"{_word(r)}@{r.choice(IDN_DOMAINS)}"),
        (0.05, lambda r: f"{r.choice(UNICODE_LOCALS)}@{_domain(r)}"),
        (0.06, _quoted),
        (0.05, _literal),
        (0.05, _long),
        (0.17, _mutated),
    ]
    weights = [w for w, _ in makers]
    while len(corpus) < size:
        (_, maker) = rng.choices(makers, weights)[0]
        corpus.append(maker(rng))
    return corpus


Verdict = tuple[str, str]
"""("valid", normalised form) or ("invalid", reason or message)."""


def ours(text: str) -> Verdict:
    """What mxroute says of ``text``: its normalised form, or its reason code(s)."""
    try:
        return ("valid", mxroute.validate_address(text).normalized)
    except mxroute.InvalidAddress as exc:
        return (
            "invalid",
            exc.reason if exc.domain_reason is None else f"{exc.reason}/{exc.domain_reason}",
        )


def _email_validator(text: str) -> object:
    return email_validator.validate_email(
        text, check_deliverability=False, allow_quoted_local=True, allow_domain_literal=True
    )


def theirs(text: str) -> Verdict:
    """What email-validator says of ``text``: its normalised form, or its message."""
    try:
        result: Any = _email_validator(text)
    except email_validator.EmailNotValidError as exc:
        return ("invalid", str(exc))
    domain = result.ascii_domain or result.domain
    return ("valid", f"{result.local_part}@{domain}")


SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")


def classify(mine: Verdict, other: Verdict) -> str:
    """Name the documented reason why the two validators disagree."""
    if mine[0] == "valid" and other[0] == "valid":
        my_local, _, my_domain = mine[1].rpartition("@")
        their_local, _, their_domain = other[1].rpartition("@")
        if my_domain != their_domain:
            if my_domain.startswith("[IPv6:::ffff:") and my_local == their_local:
                return "mapped-literal-text"
            return "unexplained"
        if unicodedata.normalize("NFC", my_local) == their_local:
            return "local-part-nfc"
        if my_local.lower() == their_local:
            return "role-mailbox-case"
        return "unexplained"
    if mine[0] == "valid":  # email-validator rejects
        domain = mine[1].rpartition("@")[2]
        last = domain.rpartition(".")[2]
        if domain == last or last in SPECIAL_USE:
            return "special-use-or-dotless-domain"
        return "unexplained"
    if mine[1] == "local-part-too-long":
        return "local-part-length"
    return "unexplained"


def disagreements(corpus: Sequence[str]) -> list[dict[str, str]]:
    """Every address on which the two validators disagree, with its class."""
    out = []
    for text in corpus:
        mine, other = ours(text), theirs(text)
        if mine == other or (mine[0] == other[0] == "invalid"):
            continue
        out.append(
            {
                "address": text,
                "mxroute": f"{mine[0]}: {mine[1]}",
                "email_validator": f"{other[0]}: {other[1]}",
                "class": classify(mine, other),
            }
        )
    return out


def rate(function: Callable[[str], object], corpus: Sequence[str], repeat: int) -> float:
    """Addresses per second: the best of ``repeat`` passes over the corpus."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for text in corpus:
            try:  # noqa: SIM105 - contextlib.suppress would add its own cost to the timing
                function(text)
            except ValueError:
                pass
        best = min(best, time.perf_counter() - start)
    return len(corpus) / best


def run(size: int, repeat: int) -> dict[str, Any]:
    """Time both validators on a corpus of ``size`` addresses and compare their verdicts."""
    corpus = make_corpus(size)
    mine_rate = rate(mxroute.validate_address, corpus, repeat)
    their_rate = rate(_email_validator, corpus, repeat)
    found = disagreements(corpus)
    verdicts = Counter(ours(text)[0] for text in corpus)
    return {
        "corpus_size": len(corpus),
        "corpus_valid": verdicts["valid"],
        "corpus_invalid": verdicts["invalid"],
        "repeat": repeat,
        "email_validator_version": email_validator.__version__,
        "python": sys.version.split()[0],
        "mxroute_per_second": round(mine_rate),
        "email_validator_per_second": round(their_rate),
        "ratio": round(mine_rate / their_rate, 2),
        "classes": dict(sorted(Counter(d["class"] for d in found).items())),
        "disagreements": found,
    }


def report(result: dict[str, Any]) -> str:
    """The result of :func:`run` as a readable report."""
    lines = [
        f"corpus: {result['corpus_size']} addresses "
        f"({result['corpus_valid']} valid, {result['corpus_invalid']} invalid for mxroute)",
        f"mxroute.validate_address:        {result['mxroute_per_second']:>10,} addresses/s",
        f"email_validator.validate_email:  {result['email_validator_per_second']:>10,} addresses/s"
        f" (version {result['email_validator_version']})",
        f"ratio (mxroute / email-validator): {result['ratio']}",
        "",
        f"disagreements: {len(result['disagreements'])}",
    ]
    lines += [f"  {name}: {count}" for name, count in result["classes"].items()]
    lines.append("")
    for item in result["disagreements"]:
        lines.append(
            f"[{item['class']}] {item['address']!r}\n"
            f"    mxroute: {item['mxroute']}\n    email-validator: {item['email_validator']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison and print the report (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=5000, help="corpus size (default 5000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes, best kept")
    parser.add_argument("--smoke", action="store_true", help="a tiny run: 200 addresses, 1 pass")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    size, repeat = (200, 1) if args.smoke else (args.size, args.repeat)
    result = run(size, repeat)
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
