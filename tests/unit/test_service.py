"""ObservabilityService and MetricProxy."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import (
    Counter,
    Gauge,
    Histogram,
    MetricsCollector,
    get_default_collector,
)
from lexigram.monitor.noop import NoOpMetricsCollector, NoOpSpan
from lexigram.monitor.service import MetricProxy, ObservabilityService


class RecordingSpan:
    """A span without context-manager support (only end())."""

    def __init__(self, name: str, attributes: dict[str, Any] | None) -> None:
        self.name = name
        self.attributes = dict(attributes or {})
        self.ended = False
        self.exceptions: list[BaseException] = []

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        pass

    def record_exception(self, exception: BaseException) -> None:
        self.exceptions.append(exception)

    def end(self) -> None:
        self.ended = True


class ContextSpan(RecordingSpan):
    """A span usable as a context manager."""

    exited_with: type[BaseException] | None = None

    def __enter__(self) -> ContextSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exited_with = exc_type
        self.end()


class FakeTracer:
    """Hands out spans of the given class and remembers them."""

    def __init__(self, span_cls: type[RecordingSpan] = RecordingSpan, fail: bool = False) -> None:
        self.span_cls = span_cls
        self.fail = fail
        self.spans: list[RecordingSpan] = []

    def start_span(
        self, name: str, *, context: Any | None = None, attributes: dict[str, Any] | None = None
    ) -> RecordingSpan:
        if self.fail:
            raise RuntimeError("tracer broken")
        span = self.span_cls(name, attributes)
        self.spans.append(span)
        return span

    def get_current_span(self) -> Any | None:
        return None

    def inject_context(self, carrier: dict[str, str], context: Any | None = None) -> None:
        pass

    def extract_context(self, carrier: Any) -> Any | None:
        return None


def test_default_meter_is_the_process_collector() -> None:
    """Without a meter, metrics go to get_default_collector() (shown on /metrics)."""
    service = ObservabilityService()
    assert service.meter is get_default_collector()
    service.counter("orders.placed").increment()
    counter = get_default_collector().get_metric("orders_placed")
    assert isinstance(counter, Counter)
    assert counter.get_count() == 1


def test_counter_proxy_forwards_and_tracks_value() -> None:
    """counter(name) returns a cached proxy whose value is the local running total."""
    meter = MetricsCollector()
    service = ObservabilityService(meter=meter)
    proxy = service.counter("jobs")
    assert service.counter("jobs") is proxy
    proxy.increment()
    proxy.increment(2.5)
    proxy.record(1)
    assert proxy.value == 4.5
    assert proxy.name == "jobs"
    counter = meter.get_metric("jobs")
    assert isinstance(counter, Counter)
    assert counter.get_count() == 4.5


def test_counter_proxy_refuses_negative_and_keeps_value() -> None:
    """A refused increment changes neither the metric nor the local value."""
    proxy = MetricProxy("jobs", MetricsCollector(), "counter")
    proxy.increment(2)
    with pytest.raises(InvalidMetricError):
        proxy.increment(-1)
    assert proxy.value == 2


def test_histogram_proxy_records_and_refuses_increment() -> None:
    """histogram(name).record(v) observes v; increment() is refused."""
    meter = MetricsCollector()
    proxy = ObservabilityService(meter=meter).histogram("orders.duration")
    proxy.record(0.2)
    proxy.record(0.3)
    histogram = meter.get_metric("orders_duration")
    assert isinstance(histogram, Histogram)
    assert histogram.get_count() == 2
    assert proxy.value == pytest.approx(0.5)
    with pytest.raises(InvalidMetricError, match="record"):
        proxy.increment()


def test_gauge_proxy_sets_and_increments() -> None:
    """gauge proxies set on record() and add on increment()."""
    meter = MetricsCollector()
    proxy = ObservabilityService(meter=meter).gauge("queue.depth")
    proxy.record(5)
    proxy.increment(-2)
    gauge = meter.get_metric("queue_depth")
    assert isinstance(gauge, Gauge)
    assert gauge.get_value() == 3
    assert proxy.value == 3


def test_proxy_validates_type_and_name() -> None:
    """Unknown metric types and names that stay invalid are refused."""
    with pytest.raises(InvalidMetricError, match="summary"):
        MetricProxy("x", MetricsCollector(), "summary")
    with pytest.raises(InvalidMetricError, match="'9 lives'"):
        MetricProxy("9 lives", MetricsCollector(), "counter")


def test_proxy_works_with_any_collector_protocol() -> None:
    """Proxies only need the name-based protocol (e.g. the no-op collector)."""
    proxy = ObservabilityService(meter=NoOpMetricsCollector()).counter("x")
    proxy.increment(3)
    assert proxy.value == 3


def test_timed_records_seconds_even_when_the_block_raises() -> None:
    """timed() observes the elapsed monotonic seconds on exit, raising or not."""
    clock = FakeClock()
    meter = MetricsCollector()
    service = ObservabilityService(meter=meter, clock=clock)
    with service.timed("work.seconds"):
        clock.advance(1.5)

    def failing_block() -> None:
        with service.timed("work.seconds"):
            clock.advance(0.25)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        failing_block()
    histogram = meter.get_metric("work_seconds")
    assert isinstance(histogram, Histogram)
    assert histogram.get_observations() == [1.5, 0.25]


def test_timed_refuses_invalid_names_before_running_the_block() -> None:
    """A name that stays invalid raises on creation."""
    with pytest.raises(InvalidMetricError):
        ObservabilityService(meter=MetricsCollector()).timed("bad name")


def test_timed_recording_failure_does_not_mask_the_block(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If recording the duration fails (type clash), the block's result stands; it is logged."""
    meter = MetricsCollector()
    meter.increment("clash")
    service = ObservabilityService(meter=meter, clock=FakeClock())
    with (
        caplog.at_level(logging.WARNING, logger="lexigram.monitor.service"),
        service.timed("clash"),
    ):
        pass
    assert any("could not record" in r.getMessage() for r in caplog.records)


def test_trace_without_tracer_yields_noop_span() -> None:
    """With no tracer the block runs with a NoOpSpan holding the attributes."""
    service = ObservabilityService(meter=MetricsCollector())
    with service.trace("work", user="u1") as span:
        assert isinstance(span, NoOpSpan)
        assert span.attributes == {"user": "u1"}


def test_trace_ends_plain_spans_and_records_exceptions() -> None:
    """Spans with only end() are ended; an exception is recorded and re-raised."""
    tracer = FakeTracer()
    service = ObservabilityService(tracer=tracer, meter=MetricsCollector())
    with service.trace("ok", step=1) as span:
        assert span is tracer.spans[0]
    with pytest.raises(ValueError, match="bad"), service.trace("fails"):
        raise ValueError("bad")
    ok, fails = tracer.spans
    assert ok.ended
    assert ok.attributes == {"step": 1}
    assert fails.ended
    assert [str(e) for e in fails.exceptions] == ["bad"]


def test_trace_uses_spans_as_context_managers() -> None:
    """Spans that are context managers are entered and exited around the block."""
    tracer = FakeTracer(ContextSpan)
    service = ObservabilityService(tracer=tracer, meter=MetricsCollector())
    with pytest.raises(RuntimeError), service.trace("cm"):
        raise RuntimeError
    span = tracer.spans[0]
    assert isinstance(span, ContextSpan)
    assert span.ended
    assert span.exited_with is RuntimeError


def test_broken_tracer_never_breaks_the_block(caplog: pytest.LogCaptureFixture) -> None:
    """A tracer raising in start_span is logged and the block runs with a NoOpSpan."""
    service = ObservabilityService(tracer=FakeTracer(fail=True), meter=MetricsCollector())
    with (
        caplog.at_level(logging.WARNING, logger="lexigram.monitor.service"),
        service.trace("x") as span,
    ):
        assert isinstance(span, NoOpSpan)
    assert any("failed to start span" in r.getMessage() for r in caplog.records)


def test_register_metric_goes_to_the_meter() -> None:
    """register_metric delegates to the meter."""
    meter = MetricsCollector()
    counter = Counter("pre_made_total")
    ObservabilityService(meter=meter).register_metric(counter)
    assert meter.get_metric("pre_made_total") is counter
