"""Wiring of tracing into metrics: span-export drops and failures become self-metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from lexigram.monitor.backends._wiring import enable_span_export_metrics
from lexigram.monitor.metrics import MetricsCollector, get_default_collector, set_default_collector
from lexigram.monitor.tracing.export import BatchSpanProcessor, set_export_stats_listener
from lexigram.monitor.tracing.tracer import Tracer


class UnreachableCollectorExporter:
    """An exporter that always raises."""

    def export(self, spans: Sequence[Any]) -> None:
        raise ConnectionError("collector down")


@pytest.fixture
def collector() -> Iterator[MetricsCollector]:
    """A fresh default collector; the listener is removed afterwards."""
    previous = get_default_collector()
    fresh = MetricsCollector()
    set_default_collector(fresh)
    yield fresh
    set_export_stats_listener(None)
    set_default_collector(previous)


def test_failed_exports_and_drops_are_counted(collector: MetricsCollector) -> None:
    """A failing exporter's batches and spans show up in lexigram_monitor_* counters."""
    enable_span_export_metrics()
    tracer = Tracer("wired", UnreachableCollectorExporter())
    for _ in range(3):
        tracer.start_span("op").end()
    tracer.flush()
    tracer.shutdown()
    dropped = collector.get_metric("lexigram_monitor_spans_dropped_total")
    failures = collector.get_metric("lexigram_monitor_span_export_failures_total")
    assert dropped is not None
    assert failures is not None
    assert dropped.get_count(labels={"reason": "not_exported"}) == 3
    assert failures.get_count(labels={"reason": "exporter_error"}) >= 1


def test_queue_overflow_counted_at_shutdown(collector: MetricsCollector) -> None:
    """Spans dropped because the queue was full are reported too."""
    enable_span_export_metrics()

    class Slow:
        def export(self, spans: Sequence[Any]) -> None:
            pass

    processor = BatchSpanProcessor(Slow(), max_queue_size=1, export_interval=60.0)
    tracer = Tracer("overflow", None)
    spans = [tracer.start_span(f"s{i}") for i in range(5)]
    for span in spans:
        processor.on_end(span)
    processor.shutdown()
    dropped = collector.get_metric("lexigram_monitor_spans_dropped_total")
    assert dropped is not None
    assert dropped.get_count(labels={"reason": "not_exported"}) == processor.dropped_spans
    assert processor.dropped_spans >= 4


def test_listener_failure_is_contained(collector: MetricsCollector) -> None:
    """A listener that raises never breaks the export worker."""

    def broken(dropped: int, failed: int) -> None:
        raise RuntimeError("listener bug")

    set_export_stats_listener(broken)
    tracer = Tracer("contained", UnreachableCollectorExporter())
    tracer.start_span("op").end()
    tracer.flush()
    assert tracer.shutdown()
