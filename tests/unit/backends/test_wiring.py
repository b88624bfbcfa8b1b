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
    assert dropped.get_count(labels={"reason": "export_failed"}) == 3
    assert failures.get_count(labels={"reason": "export_failed"}) >= 1


def test_queue_overflow_is_counted_as_it_happens(collector: MetricsCollector) -> None:
    """Spans dropped because the queue was full are on the counter at once, before any
    export cycle or shutdown."""
    enable_span_export_metrics()

    class Idle:
        def export(self, spans: Sequence[Any]) -> None:
            pass

    processor = BatchSpanProcessor(Idle(), max_queue_size=1, export_interval=60.0)
    tracer = Tracer("overflow", None)
    for i in range(5):
        processor.on_end(tracer.start_span(f"s{i}"))
    dropped = collector.get_metric("lexigram_monitor_spans_dropped_total")
    assert dropped is not None
    assert dropped.get_count(labels={"reason": "queue_full"}) == 4
    processor.shutdown()


def test_drops_before_the_listener_are_counted_when_it_arrives(
    collector: MetricsCollector,
) -> None:
    """Drops that happened before the wiring was installed are reported at installation."""
    set_export_stats_listener(None)

    class Idle:
        def export(self, spans: Sequence[Any]) -> None:
            pass

    processor = BatchSpanProcessor(Idle(), max_queue_size=1, export_interval=60.0)
    tracer = Tracer("early", None)
    for i in range(3):
        processor.on_end(tracer.start_span(f"s{i}"))
    assert collector.get_metric("lexigram_monitor_spans_dropped_total") is None

    enable_span_export_metrics()

    dropped = collector.get_metric("lexigram_monitor_spans_dropped_total")
    assert dropped is not None
    assert dropped.get_count(labels={"reason": "queue_full"}) == 2
    processor.shutdown()


def test_listener_failure_is_contained(collector: MetricsCollector) -> None:
    """A listener that raises never breaks the export worker."""

    def broken(event: str, reason: str, count: int) -> None:
        raise RuntimeError("listener bug")

    set_export_stats_listener(broken)
    tracer = Tracer("contained", UnreachableCollectorExporter())
    tracer.start_span("op").end()
    tracer.flush()
    assert tracer.shutdown()
