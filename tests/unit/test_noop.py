"""No-op twins satisfy the protocols and do nothing."""

from __future__ import annotations

from lexigram.monitor.backends.noop import NoOpMetricsBackend, NoopMetricsBackend
from lexigram.monitor.noop import NoOpMetricsCollector, NoOpSpan, NoOpTracer
from lexigram.monitor.protocols import (
    MetricProtocol,
    MetricsBackendProtocol,
    MetricsCollectorProtocol,
    SpanProtocol,
    TracerProtocol,
)


def test_noop_collector_is_collector_and_metric() -> None:
    """The no-op collector fits both the collector and the metric protocol."""
    c = NoOpMetricsCollector()
    assert isinstance(c, MetricsCollectorProtocol)
    assert isinstance(c, MetricProtocol)
    assert c.create_counter("x") is c
    assert c.create_histogram("x", buckets=[1.0]) is c
    c.increment("x")
    c.record(1.0)
    assert c.name == "noop"


def test_noop_tracer_and_span() -> None:
    """Spans from the no-op tracer keep attributes for tests and nothing else."""
    tracer = NoOpTracer()
    assert isinstance(tracer, TracerProtocol)
    span = tracer.start_span("op", attributes={"a": 1})
    assert isinstance(span, SpanProtocol)
    assert span.attributes == {"a": 1}
    with span as s:
        s.set_attribute("b", 2)
        s.add_event("e")
        s.record_exception(ValueError("x"))
        s.set_status("ERROR")
    assert span.ended
    carrier: dict[str, str] = {}
    tracer.inject_context(carrier)
    assert carrier == {}
    assert tracer.extract_context({"traceparent": "x"}) is None
    assert tracer.get_current_span() is None


def test_noop_span_attribute_bound() -> None:
    """NoOpSpan keeps at most 128 attributes."""
    span = NoOpSpan()
    for i in range(500):
        span.set_attribute(f"k{i}", i)
    assert len(span.attributes) == 128


async def test_noop_backend() -> None:
    """The no-op backend satisfies MetricsBackendProtocol; both names are one class."""
    backend = NoopMetricsBackend()
    assert NoOpMetricsBackend is NoopMetricsBackend
    assert isinstance(backend, MetricsBackendProtocol)
    await backend.initialize()
    backend.record_metric("x", 1, "counter")
    assert isinstance(backend.create_span("s"), NoOpSpan)
    await backend.shutdown()
