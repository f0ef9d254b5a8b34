"""Every ```python block of the documentation (docs/**/*.md and README.md) runs.

The convention, also described on the "About these docs" page:

* The python blocks of one page run in order, in one namespace (a fresh
  module per page), so a page reads like one session.
* A block preceded by ``<!-- not-run: <reason> -->`` is not run. Such blocks
  must give a reason, and stay rare (``MAX_NOT_RUN``).
* A block preceded by ``<!-- system-dns -->`` shows routing with the system's
  DNS (no ``resolver=``). It runs with that default resolver replaced by an
  ``InMemoryResolver`` holding ``SYSTEM_DNS_WORLD``, since tests never leave
  loopback.
* ``console`` blocks run too: each ``$ mxroute ...`` or ``$ python ...`` line
  is a command (run from the repository root, ``mxroute`` as
  ``python -m mxroute``), the lines after it its expected output, compared
  as doctest does with ELLIPSIS and NORMALIZE_WHITESPACE (``...`` matches
  anything). Other commands belong in ``sh`` blocks, which are not run.
* Blocks in any other language (``sh``, ``text``...) are not run.

Code is compiled with the page's path and line numbers, so a failure's
traceback points into the Markdown file.
"""

from __future__ import annotations

import contextlib
import doctest
import os
import re
import shlex
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_NOT_RUN = 3
NOT_RUN = re.compile(r"<!--\s*not-run:(?P<reason>.*?)-->\s*$")
SYSTEM_DNS = re.compile(r"<!--\s*system-dns\s*-->\s*$")
SYSTEM_DNS_WORLD = """\
$ORIGIN example.com.
@       3600 SOA ns hostmaster 1 7200 900 1209600 300
@       3600 MX  10 mx1
@       3600 MX  20 mx2
mx1     3600 A   192.0.2.10
mx2     3600 A   192.0.2.20
mx2     3600 AAAA 2001:db8::20
"""
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # the line number (1-based) of the block's first code line
    language: str
    code: str
    not_run_reason: str | None  # None: run it
    system_dns: bool = False  # run with the default resolver replaced by a fake


def blocks_of(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        body_start = i + 1
        j = body_start
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = NOT_RUN.search(previous)
        found.append(
            Block(
                path=path,
                line=body_start + 1,
                language=info.split()[0] if info else "",
                code="\n".join(lines[body_start:j]),
                not_run_reason=marker["reason"].strip() if marker else None,
                system_dns=SYSTEM_DNS.search(previous) is not None,
            )
        )
        i = j + 1
    return found


def markdown_files() -> list[Path]:
    """Every Markdown page of the docs, and the README."""
    pages = [p for p in sorted((ROOT / "docs").rglob("*.md")) if "_build" not in p.parts]
    return [*pages, ROOT / "README.md"]


def python_blocks(path: Path) -> list[Block]:
    """The python blocks of a file, run or not."""
    return [b for b in blocks_of(path) if b.language == "python"]


def console_blocks(path: Path) -> list[Block]:
    """The console blocks of a file, run or not."""
    return [b for b in blocks_of(path) if b.language == "console"]


PAGES_WITH_CODE = [
    p for p in markdown_files() if any(b.not_run_reason is None for b in python_blocks(p))
]
PAGES_WITH_CONSOLE = [
    p for p in markdown_files() if any(b.not_run_reason is None for b in console_blocks(p))
]
CONSOLE_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_page(path: Path) -> int:
    """Run the page's runnable python blocks in one fresh module; return how many ran."""
    name = "docs_page_" + re.sub(r"\W", "_", str(path.relative_to(ROOT)))
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    ran = 0
    try:
        for block in python_blocks(path):
            if block.not_run_reason is not None:
                continue
            source = "\n" * (block.line - 1) + block.code + "\n"
            with system_dns_replaced(block.system_dns):
                exec(compile(source, str(path), "exec"), module.__dict__)
            ran += 1
    finally:
        del sys.modules[name]
    return ran


@contextlib.contextmanager
def system_dns_replaced(active: bool) -> Iterator[None]:
    """While active, routers built without a resolver get a fake of SYSTEM_DNS_WORLD."""
    if not active:
        yield
        return
    import mxroute
    import mxroute._router

    saved = mxroute._router._default_resolver
    mxroute._router._default_resolver = lambda: mxroute.InMemoryResolver.from_zone(SYSTEM_DNS_WORLD)
    try:
        yield
    finally:
        mxroute._router._default_resolver = saved


def commands_of(block: Block) -> list[tuple[str, str]]:
    """A console block's ``(command, expected output)`` pairs."""
    pairs: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], []))
        elif pairs:
            pairs[-1][1].append(line)
        elif line.strip():
            raise AssertionError(f"{block.path}:{block.line}: output before the first '$ ' line")
    return [(command, "\n".join(output).strip() + "\n") for command, output in pairs]


def run_command(command: str, where: str) -> str:
    """Run one console command from the repository root; return stdout then stderr."""
    argv = shlex.split(command)
    if argv[0] == "mxroute":
        argv = [sys.executable, "-m", "mxroute", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    else:
        raise AssertionError(f"{where}: a console block runs mxroute or python, not {argv[0]!r}")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env, check=False
    )
    return done.stdout + done.stderr


def run_console_blocks(path: Path) -> int:
    """Run every command of the page's runnable console blocks; return how many ran."""
    ran = 0
    checker = doctest.OutputChecker()
    for block in console_blocks(path):
        if block.not_run_reason is not None:
            continue
        for command, expected in commands_of(block):
            where = f"{path}:{block.line}"
            got = run_command(command, where)
            assert checker.check_output(expected, got, CONSOLE_FLAGS), (
                f"{where}: $ {command}\nexpected:\n{expected}\ngot:\n{got}"
            )
            ran += 1
    return ran


PAGES_TO_RUN = sorted({*PAGES_WITH_CODE, *PAGES_WITH_CONSOLE})


@pytest.mark.parametrize("path", PAGES_TO_RUN, ids=[str(p.relative_to(ROOT)) for p in PAGES_TO_RUN])
def test_examples_of_the_page_run(path: Path) -> None:
    """The page's python blocks run; its console blocks print what they show."""
    assert run_page(path) + run_console_blocks(path) >= 1


class TestConvention:
    def test_system_dns_blocks_run_against_the_fake_world(self, tmp_path):
        page = tmp_path / "page.md"
        page.write_text(
            "<!-- system-dns -->\n```python\nimport mxroute\n"
            'route = mxroute.resolve("alice@example.com")\n'
            'assert [h.name for h in route.hosts] == ["mx1.example.com", "mx2.example.com"]\n'
            "```\n"
        )
        run_page_outside_root(page)
        import mxroute._router

        assert mxroute._router._default_resolver.__name__ == "_default_resolver"  # restored

    def test_the_extractor_finds_the_blocks_of_known_pages(self):
        pages = {str(p.relative_to(ROOT)) for p in PAGES_TO_RUN}
        assert {"docs/concepts.md", "docs/quickstart.md", "docs/index.md"} <= pages
        assert len(python_blocks(ROOT / "docs" / "concepts.md")) >= 7

    def test_not_run_blocks_give_a_reason_and_stay_rare(self):
        skipped = [
            b for p in markdown_files() for b in python_blocks(p) if b.not_run_reason is not None
        ]
        assert all(b.not_run_reason for b in skipped), [f"{b.path}:{b.line}" for b in skipped]
        assert len(skipped) <= MAX_NOT_RUN, [f"{b.path}:{b.line}" for b in skipped]

    def test_a_failing_block_fails_with_the_markdown_line(self, tmp_path):
        page = tmp_path / "page.md"
        page.write_text("# Title\n\n```python\nx = 1\n```\n\n```python\nassert x == 2\n```\n")
        with pytest.raises(AssertionError) as failure:
            run_page_outside_root(page)
        assert failure.traceback[-1].lineno + 1 == 8  # lineno is 0-based

    def test_not_run_comment_skips_only_the_next_block(self, tmp_path):
        page = tmp_path / "page.md"
        page.write_text(
            "<!-- not-run: needs the network -->\n```python\nraise SystemExit\n```\n\n"
            "```python\nvalue = 42\n```\n"
        )
        blocks = python_blocks(page)
        assert [b.not_run_reason for b in blocks] == ["needs the network", None]
        assert [b.line for b in blocks] == [3, 7]


class TestConsoleBlocks:
    def page(self, tmp_path: Path, body: str) -> Path:
        page = tmp_path / "page.md"
        page.write_text(f"# Title\n\n```console\n{body}```\n", encoding="utf-8")
        return page

    def test_matching_output_passes_and_ellipsis_matches_anything(self, tmp_path):
        page = self.page(
            tmp_path,
            "$ python -c \"print('route ok'); print('ttl', 300)\"\nroute ok\nttl ...\n"
            '$ python -c "print(2 + 2)"\n4\n',
        )
        assert run_console_blocks(page) == 2

    def test_different_output_fails_and_names_the_command(self, tmp_path):
        page = self.page(tmp_path, "$ python -c \"print('bounce')\"\nretry\n")
        with pytest.raises(AssertionError, match=r"page.md:4: \$ python"):
            run_console_blocks(page)

    def test_only_mxroute_and_python_commands_run(self, tmp_path):
        page = self.page(tmp_path, "$ rm -rf build\n")
        with pytest.raises(AssertionError, match="runs mxroute or python, not 'rm'"):
            run_console_blocks(page)


def run_page_outside_root(path: Path) -> None:
    """Run a page that is not under the repository (for the tests of the runner)."""
    module = types.ModuleType("docs_page_probe")
    for block in python_blocks(path):
        if block.not_run_reason is None:
            source = "\n" * (block.line - 1) + block.code + "\n"
            with system_dns_replaced(block.system_dns):
                exec(compile(source, str(path), "exec"), module.__dict__)


MARKDOWN_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


class TestReadmeOnThePackageIndex:
    """README.md is also the project's page on the package index, far from the repository."""

    readme = ROOT / "README.md"

    def test_the_first_command_installs_from_the_index(self):
        first = blocks_of(self.readme)[0]
        assert (first.language, first.code.strip()) == ("sh", "pip install mxroute")

    def test_the_next_commands_are_the_demo_and_the_suite(self):
        commands = [line.split()[0] for line in blocks_of(self.readme)[1].code.splitlines()]
        assert commands == ["scripts/demo", "scripts/test"]
        assert all((ROOT / command).is_file() for command in commands)

    def test_every_link_is_absolute(self):
        targets = MARKDOWN_LINK.findall(self.readme.read_text(encoding="utf-8"))
        assert targets
        assert [t for t in targets if not t.startswith("https://")] == []
