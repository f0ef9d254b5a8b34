"""The ``>>>`` examples in mxroute's docstrings run as doctests.

Every module of the package is searched (``__main__`` excepted: importing it
would run the command line); each docstring that has examples is one test.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import mxroute

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(mxroute.__path__, "mxroute.")
    if not info.name.endswith("__main__")
)


def _doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: dict[str, doctest.DocTest] = {}
    for public in mxroute.__all__:  # loaded on first use: the finder reads vars(mxroute)
        getattr(mxroute, public)
    for name in ["mxroute", *MODULES]:
        for test in finder.find(importlib.import_module(name)):
            if test.examples:
                found.setdefault(test.name, test)
    return [found[name] for name in sorted(found)]


DOCTESTS = _doctests()


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    result = runner.run(test, out=report.write)
    assert result.attempted == len(test.examples)
    assert result.failed == 0, report.getvalue()


def test_the_modules_with_examples_are_found():
    names = [t.name for t in DOCTESTS]
    assert "mxroute" in names  # the package docstring
    # Public names are documented as mxroute.X, whichever private module defines them.
    for name in (
        "mxroute.MXRecord",
        "mxroute.Router",
        "mxroute.parse_target",
        "mxroute.InMemoryResolver",
    ):
        assert name in names, name
