"""Unit-test fixtures: process-wide metric state never leaks from one test into the next,
and a fake clock for tests that need time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.metrics import MetricsCollector, set_default_collector, set_exemplar_source


@pytest.fixture(autouse=True)
def _default_collector() -> Iterator[MetricsCollector]:
    """Each test starts with a fresh process-default collector and no exemplar source;
    both are dropped afterwards."""
    fresh = MetricsCollector()
    set_exemplar_source(None)
    set_default_collector(fresh)
    yield fresh
    set_default_collector(None)
    set_exemplar_source(None)


@pytest.fixture
def collector(_default_collector: MetricsCollector) -> MetricsCollector:
    """This test's process-default collector, where the library counts its own failures."""
    return _default_collector


@pytest.fixture
def clock() -> FakeClock:
    """A manually advanced clock (wall time starts at 1_700_000_000)."""
    return FakeClock()
