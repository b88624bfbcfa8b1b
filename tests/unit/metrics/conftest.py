"""Metrics fixtures: the exemplar source and the default collector never leak between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.metrics import set_default_collector, set_exemplar_source


@pytest.fixture(autouse=True)
def _reset_metrics_globals() -> Iterator[None]:
    """Each test starts without an exemplar source and with a fresh default collector."""
    set_exemplar_source(None)
    set_default_collector(None)
    yield
    set_exemplar_source(None)
    set_default_collector(None)


@pytest.fixture
def clock() -> FakeClock:
    """A manually advanced clock (wall time starts at 1_700_000_000)."""
    return FakeClock()
