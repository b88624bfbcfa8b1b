"""The memory bound the README states, checked at the default series cap.

Label text held by one instrument is at most ``(max_series * label keys + 64) *
max_label_value_length`` characters. The README's example is measured here: a counter
at its cap of 2,000 series whose four labels all carry values cut from 100 KB.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from lexigram.monitor.backends.exporters.prometheus import render
from lexigram.monitor.metrics import MetricsCollector, set_default_collector

pytestmark = pytest.mark.integration

MiB = 2**20
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@pytest.fixture
def collector() -> Iterator[MetricsCollector]:
    """A fresh process-wide collector (the one /metrics renders)."""
    fresh = MetricsCollector()
    set_default_collector(fresh)
    yield fresh
    set_default_collector(None)


def test_an_instrument_at_its_cap_with_maximal_labels(collector: MetricsCollector) -> None:
    """2,500 label sets of four 100 KB values: the counter keeps 2,000 series plus the
    overflow one, holds under 64 MiB (2,000 * 4 * 4,096 characters of 2 bytes — the cut
    marker '…' is U+2026 — is 62.5 MiB, plus a few hundred bytes per series); one scrape
    renders a body under 32 MiB in either format, each in under 5 s, with under 256 MiB
    of transient memory."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        counter = collector.create_counter("attacked", "Label attack.")
        for i in range(2_500):
            counter.increment(1, {f"k{j}": f"{i:05d}" + "x" * 100_000 for j in range(4)})
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        render()
        scrape_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()

    assert counter.series_count() == 2_001
    assert held < 64 * MiB, f"{held / MiB:.1f} MiB"
    assert scrape_peak < 256 * MiB, f"{scrape_peak / MiB:.1f} MiB"
    for accept in ("", OPENMETRICS):
        started = time.perf_counter()
        body, _ = render(accept=accept)
        elapsed = time.perf_counter() - started
        assert len(body) < 32 * MiB
        assert elapsed < 5.0, f"{elapsed:.2f} s for {accept or 'text'}"
