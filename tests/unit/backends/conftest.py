"""Backend fixtures: the process registry's default collectors are restored after each
test, and backends a test starts are shut down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

from lexigram.monitor.metrics import MetricsCollector

if TYPE_CHECKING:
    from lexigram.monitor.backends.prometheus import PrometheusBackend


@pytest.fixture(autouse=True)
def isolated_metrics(_default_collector: MetricsCollector) -> Iterator[MetricsCollector]:
    """This test's fresh default collector; afterwards the process/GC/platform collectors
    are back on the process registry, whatever the test switched."""
    yield _default_collector
    from lexigram.monitor.backends.exporters.prometheus import set_default_metrics

    set_default_metrics(True)


@pytest.fixture
async def backends() -> AsyncIterator[list[PrometheusBackend]]:
    """PrometheusBackends appended here are shut down after the test."""
    made: list[PrometheusBackend] = []
    yield made
    for backend in made:
        await backend.shutdown()
