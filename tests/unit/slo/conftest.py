"""Each test counts its failures in a fresh default collector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexigram.monitor.metrics import MetricsCollector, set_default_collector


@pytest.fixture(autouse=True)
def collector() -> Iterator[MetricsCollector]:
    """A fresh process-default collector, dropped after the test."""
    fresh = MetricsCollector()
    set_default_collector(fresh)
    yield fresh
    set_default_collector(None)
