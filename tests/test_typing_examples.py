"""The typing examples also run, so what they show is true."""

from __future__ import annotations

from tests import typing_examples


def test_typing_examples_run():
    typing_examples.main()
