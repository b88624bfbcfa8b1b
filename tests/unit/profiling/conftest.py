"""Profiling fixtures: tests that own tracemalloc start from a stopped tracer."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest


@pytest.fixture
def _no_tracemalloc() -> Iterator[None]:
    """Start from (and restore) a stopped tracer."""
    was_tracing = tracemalloc.is_tracing()
    tracemalloc.stop()
    yield
    if was_tracing:
        tracemalloc.start()
