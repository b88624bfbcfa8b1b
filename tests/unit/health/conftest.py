"""Health fixtures: each test records into a fresh process default collector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexigram.monitor.metrics import set_default_collector


@pytest.fixture(autouse=True)
def _fresh_default_collector() -> Iterator[None]:
    """Self-metrics of one test never show up in another."""
    set_default_collector(None)
    yield
    set_default_collector(None)
