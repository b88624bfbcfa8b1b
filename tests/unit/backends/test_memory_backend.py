"""MemoryBackend (the embedded default) and the exemplar wiring."""

from __future__ import annotations

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.backends._wiring import (
    disable_exemplars,
    enable_exemplars,
    exemplars_enabled,
)
from lexigram.monitor.backends.exporters.prometheus import render
from lexigram.monitor.backends.memory import MemoryBackend
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.hooks import MetricRecordedHook, default_bus
from lexigram.monitor.metrics import (
    MetricsCollector,
    MetricValue,
    get_exemplar_source,
    set_exemplar_source,
)
from lexigram.monitor.protocols import MetricsBackendProtocol
from lexigram.monitor.tracing import InMemorySpanExporter, Span, SpanContext, Tracer


def test_memory_backend_satisfies_the_backend_protocol() -> None:
    """It has initialize/shutdown/record_metric, like every metrics backend."""
    assert isinstance(MemoryBackend(), MetricsBackendProtocol)


def test_record_metric_goes_to_the_process_collector_and_to_metrics(
    isolated_metrics: MetricsCollector,
) -> None:
    """By default values land in the process collector, so /metrics shows them."""
    backend = MemoryBackend()

    backend.record_metric("orders.placed", 2, "counter", {"shop": "a"})
    backend.record_metric("depth", 4, "gauge")
    backend.record_metric("latency", 0.2, "histogram")
    backend.record_metric("size", 10, "summary")

    assert isolated_metrics.get_metric("orders_placed").get_count({"shop": "a"}) == 2  # type: ignore[union-attr]
    text = render()[0].decode()
    assert 'orders_placed_total{shop="a"} 2\n' in text
    assert "depth 4.0\n" in text


def test_records_are_kept_newest_last_and_bounded() -> None:
    """``get_records`` returns recent values as MetricValue, at most ``max_records``."""
    backend = MemoryBackend(collector=MetricsCollector(), max_records=2, clock=FakeClock(50.0))

    backend.record_metric("a", 1, "counter")
    backend.record_metric("b.c", 2, "gauge", {"k": "v"})
    backend.record_metric("a", 3, "counter")

    assert backend.get_records() == [
        MetricValue("b_c", 2, {"k": "v"}, 50.0),
        MetricValue("a", 3, {}, 50.0),
    ]
    assert backend.get_records("a") == [MetricValue("a", 3, {}, 50.0)]
    backend.clear()
    assert backend.get_records() == []


def test_each_recorded_value_fires_a_metric_recorded_hook() -> None:
    """Subscribers of MetricRecordedHook see every value recorded through the backend."""
    seen: list[MetricRecordedHook] = []
    default_bus.subscribe(MetricRecordedHook, seen.append)
    backend = MemoryBackend(collector=MetricsCollector())

    backend.record_metric("orders.placed", 2, "counter", {"shop": "a"})

    assert [(h.metric_name, h.value, h.labels, h.metric_type) for h in seen] == [
        ("orders_placed", 2.0, {"shop": "a"}, "counter")
    ]


def test_bad_input_is_refused_and_not_recorded() -> None:
    """Unknown types and bad values raise InvalidMetricError and leave no record."""
    backend = MemoryBackend(collector=MetricsCollector())

    with pytest.raises(InvalidMetricError, match="metric_type 'timer'"):
        backend.record_metric("x", 1, "timer")
    with pytest.raises(InvalidMetricError):
        backend.record_metric("x", -1, "counter")

    assert backend.get_records() == []


def test_max_records_must_be_a_non_negative_int() -> None:
    """A negative bound is a clear error."""
    with pytest.raises(ValueError, match="max_records"):
        MemoryBackend(max_records=-1)


async def test_spans_come_from_the_tracer_and_are_readable_after_they_end() -> None:
    """create_span uses the tracer; ended spans are listed by get_spans."""
    exporter = InMemorySpanExporter()
    backend = MemoryBackend(tracer=Tracer("svc", exporter))
    await backend.initialize()

    with backend.create_span("outer") as outer:
        child = backend.create_span("inner", outer.context)
        child.end()
    await backend.shutdown()

    assert isinstance(outer, Span)
    assert child.context.trace_id == outer.context.trace_id
    assert child.context.parent_span_id == outer.context.span_id
    assert [s.name for s in backend.get_spans()] == ["inner", "outer"]
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["inner", "outer"]


async def test_create_span_continues_a_remote_parent() -> None:
    """A parent SpanContext from a carrier puts the span in that trace."""
    parent = SpanContext.from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert parent is not None

    span = MemoryBackend(tracer=Tracer("svc", None)).create_span("handle", parent)

    assert span.context.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span.context.parent_span_id == "b7ad6b7169203331"


async def test_initialize_installs_exemplars_from_the_current_span(
    isolated_metrics: MetricsCollector,
) -> None:
    """After initialize(), a counter incremented in a sampled span remembers its ids."""
    backend = MemoryBackend(tracer=Tracer("svc", None))
    await backend.initialize()

    with backend.create_span("work") as span:
        backend.record_metric("done", 1, "counter")

    exemplar = isolated_metrics.get_metric("done").get_exemplar()  # type: ignore[union-attr]
    assert exemplar is not None
    assert (exemplar.trace_id, exemplar.span_id) == (span.context.trace_id, span.context.span_id)


def test_enable_exemplars_is_idempotent_and_reversible() -> None:
    """enable/disable install and remove exactly the tracing source."""
    enable_exemplars()
    installed = get_exemplar_source()
    enable_exemplars()

    assert exemplars_enabled()
    assert get_exemplar_source() is installed
    disable_exemplars()
    assert get_exemplar_source() is None


def test_disable_leaves_a_foreign_source_alone() -> None:
    """A source someone else installed is not removed by disable_exemplars."""

    def foreign() -> tuple[str, str] | None:
        return None

    set_exemplar_source(foreign)

    disable_exemplars()

    assert get_exemplar_source() is foreign
    assert not exemplars_enabled()
