"""Shared fixtures for the unit tests (in-memory backend)."""

from __future__ import annotations

import random

import pytest

import mxroute


@pytest.fixture
def fake() -> mxroute.InMemoryResolver:
    """An empty in-memory resolver."""
    return mxroute.InMemoryResolver()


@pytest.fixture
def router(fake: mxroute.InMemoryResolver) -> mxroute.Router:
    """A router over ``fake`` with a seeded random source."""
    return mxroute.Router(resolver=fake, rng=random.Random(1))
