"""The public test doubles capture what the defaults record."""

from __future__ import annotations

import pytest

from lexigram.monitor.exceptions import MetricNotFoundError
from lexigram.monitor.metrics.collector import get_default_collector
from lexigram.monitor.testing import capture_metrics, capture_spans
from lexigram.monitor.tracing.tracer import get_default_tracer


def test_capture_metrics_isolates_and_restores() -> None:
    """Metrics recorded inside the block land in a fresh collector; the old one returns."""
    before = get_default_collector()
    with capture_metrics() as metrics:
        get_default_collector().increment("orders_total", 2, tags={"status": "ok"})
        get_default_collector().histogram("latency", 0.2)
        assert metrics.value("orders_total", {"status": "ok"}) == 2
        assert metrics.value("latency") == 1
        assert metrics.names() == ["latency", "orders_total"]
    assert get_default_collector() is before


def test_capture_metrics_unknown_name() -> None:
    """Asking for an unrecorded metric names the ones that exist."""
    with capture_metrics() as metrics:
        get_default_collector().gauge("depth", 3)
        with pytest.raises(MetricNotFoundError, match="depth"):
            metrics.get("nope")


def test_capture_spans() -> None:
    """Spans ended in the block are captured (all sampled); the old tracer returns."""
    before = get_default_tracer()
    with capture_spans() as spans:
        tracer = get_default_tracer()
        with tracer.start_span("parent"), tracer.start_span("child"):
            pass
        assert spans.names() == ["child", "parent"]
        assert len(spans.find("child")) == 1
        spans.clear()
        assert spans.spans == []
    assert get_default_tracer() is before


def test_decorators_follow_captured_defaults() -> None:
    """The README example: decorated code is seen by capture_metrics/capture_spans."""
    from lexigram.monitor import metered, traced

    @traced("checkout")
    @metered("checkout.duration")
    def checkout() -> None:
        pass

    checkout()  # outside any capture: goes to the process defaults
    with capture_metrics() as metrics, capture_spans() as spans:
        checkout()
        assert metrics.value("checkout_duration") == 1
        assert spans.names() == ["checkout"]
    with capture_metrics() as metrics:
        checkout()
        checkout()
        assert metrics.value("checkout_duration") == 2
