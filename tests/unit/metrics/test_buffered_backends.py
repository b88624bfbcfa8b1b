"""BufferedMetricRecorder with the library's own backends and collectors: entries go
through record_metric or the collector's instruments when the backend has no metric
attribute of that name."""

from __future__ import annotations

from typing import Any

import pytest

from lexigram.monitor.backends.memory import MemoryBackend
from lexigram.monitor.backends.noop import NoopMetricsBackend
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import BufferedMetricRecorder, Counter, MetricsCollector


async def test_memory_backend_records_through_record_metric() -> None:
    """The reference's example with a MemoryBackend: counted as a counter by default."""
    collector = MetricsCollector()
    backend = MemoryBackend(collector=collector)
    recorder = BufferedMetricRecorder(backend=backend, flush_interval=2.0)
    await recorder.start()
    recorder.record("request_count", 1.0, {"method": "GET"})
    recorder.record("request_count", 1.0, {"method": "GET"})
    recorder.record("queue.depth", 7, metric_type="gauge")
    await recorder.stop()
    requests = collector.get_metric("request_count")
    assert isinstance(requests, Counter)
    assert requests.get_value({"method": "GET"}) == 2
    assert collector.get_metric("queue_depth").get_value() == 7  # type: ignore[union-attr]
    assert [r.name for r in backend.get_records()] == ["request_count"] * 2 + ["queue_depth"]
    assert recorder.dropped == 0


async def test_a_collector_records_into_its_instruments() -> None:
    """A MetricsCollector: an existing instrument records by its own kind; a new name
    is created with the recorder's metric_type."""
    collector = MetricsCollector()
    latency = collector.create_histogram("latency_seconds", buckets=[0.1, 1.0])
    recorder = BufferedMetricRecorder(collector, metric_type="histogram")
    recorder.record("latency_seconds", 0.05)
    recorder.record("payload_bytes", 512.0)
    assert await recorder.flush() == 2
    assert latency.get_count() == 1
    assert collector.get_metric("payload_bytes").kind == "histogram"  # type: ignore[union-attr]


async def test_the_noop_backend_accepts_everything() -> None:
    """The no-op backend records nothing, and nothing fails or is dropped."""
    recorder = BufferedMetricRecorder(NoopMetricsBackend())
    recorder.record("anything", 1)
    assert await recorder.flush() == 1
    assert recorder.dropped == 0


async def test_metric_attributes_still_win() -> None:
    """A backend exposing the metric as an attribute is used the reference's way."""

    class Backend:
        def __init__(self) -> None:
            self.seen: list[Any] = []
            self.requests = self

        def record(self, value: float, labels: dict[str, str] | None = None) -> None:
            self.seen.append((value, labels))

        def record_metric(self, *args: Any) -> None:
            raise AssertionError("the attribute comes first")

    backend = Backend()
    recorder = BufferedMetricRecorder(backend)
    recorder.record("requests", 3, {"a": "b"})
    await recorder.flush()
    assert backend.seen == [(3, {"a": "b"})]


def test_unknown_metric_types_are_refused() -> None:
    """metric_type must be counter, gauge, histogram or summary, at construction or
    per record; the name of an undeliverable metric is quoted."""
    with pytest.raises(InvalidMetricError, match="'timer'"):
        BufferedMetricRecorder(MetricsCollector(), metric_type="timer")
    recorder = BufferedMetricRecorder(MetricsCollector())
    with pytest.raises(InvalidMetricError, match="'meter'"):
        recorder.record("x", 1, metric_type="meter")
    with pytest.raises(InvalidMetricError, match=r"'x'.*record_metric"):
        BufferedMetricRecorder(object()).record("x", 1)
