"""OpenTelemetryBackend with native histograms: exponential OTLP histogram points whose
buckets are Prometheus' native buckets shifted by one index."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality

from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend
from lexigram.monitor.config import MetricsConfig, MonitorConfig, OpenTelemetryConfig
from lexigram.monitor.metrics import Histogram

from ._otel_memory import TYPE, MemoryExporters, points

OBSERVED = [0.0, 0.5, 1.0, 1.1, 2.0, 100.0, 3.0]


@pytest.fixture
def memory() -> MemoryExporters:
    return MemoryExporters()


def _backend(memory: MemoryExporters, **metrics: Any) -> OpenTelemetryBackend:
    config = MonitorConfig(
        opentelemetry=OpenTelemetryConfig(type=TYPE), metrics=MetricsConfig(**metrics)
    )
    return OpenTelemetryBackend("checkout", config=config, **memory.registries())


def _trimmed(counts: Any) -> list[int]:
    """Bucket counts without trailing empty buckets (the SDK may send some)."""
    out = list(counts)
    while out and out[-1] == 0:
        out.pop()
    return out


def _expected(values: list[float], schema: int) -> tuple[int, list[int], int]:
    """(offset, bucket counts, zero count) of the OTLP positive side for *values*, from
    the Prometheus native buckets of our own histogram: OTLP index = Prometheus - 1."""
    histogram = Histogram("expected", native=True, schema=schema, max_buckets=10_000)
    for value in values:
        histogram.observe(value)
    native = histogram.get_native_buckets()  # type: ignore[attr-defined]
    first = native.positive[0][0]
    counts = [0] * (native.positive[-1][0] - first + 1)
    for index, count in native.positive:
        counts[index - first] = count
    return first - 1, counts, native.zero_count


async def test_native_histograms_are_exported_as_exponential_points(
    memory: MemoryExporters,
) -> None:
    """With native_histograms on, a histogram arrives as an exponential histogram at the
    configured schema: offset, counts and zero count equal our native buckets shifted
    by one index; count, sum, min and max are exact; temporality is cumulative (the
    reader's choice for histograms); counters keep their sum."""
    backend = _backend(memory, native_histograms=True, native_histogram_schema=3)
    for value in OBSERVED:
        backend.record_metric("latency", value, "histogram", {"route": "/a"})
    backend.record_metric("hits", 2, "counter")
    found = memory.metrics_by_name()
    metric = found["latency"]
    assert type(metric.data).__name__ == "ExponentialHistogram"
    assert metric.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
    point = points(metric)[frozenset({("route", "/a")})]
    offset, counts, zero = _expected(OBSERVED, 3)
    assert point.scale == 3
    assert (point.positive.offset, _trimmed(point.positive.bucket_counts)) == (offset, counts)
    assert point.positive.offset == -9  # 0.5 is Prometheus bucket -8 at schema 3
    assert point.zero_count == zero == 1
    assert (point.count, point.sum, point.min, point.max) == (7, sum(OBSERVED), 0.0, 100.0)
    assert _trimmed(point.negative.bucket_counts) == []
    assert points(found["hits"])[frozenset()].value == 2
    await backend.shutdown()


async def test_the_bucket_limit_lowers_the_scale(memory: MemoryExporters) -> None:
    """Values spread over more buckets than native_histogram_max_buckets lower the
    scale until they fit; the buckets still match ours at that scale."""
    backend = _backend(
        memory, native_histograms=True, native_histogram_schema=8, native_histogram_max_buckets=20
    )
    values = [1.07**k for k in range(120)]
    for value in values:
        backend.record_metric("wide", value, "histogram")
    point = points(memory.metrics_by_name()["wide"])[frozenset()]
    assert point.scale < 8
    assert len(point.positive.bucket_counts) <= 20
    offset, counts, _ = _expected(values, point.scale)
    assert (point.positive.offset, _trimmed(point.positive.bucket_counts)) == (offset, counts)
    await backend.shutdown()


async def test_without_the_switch_histograms_keep_explicit_buckets(
    memory: MemoryExporters,
) -> None:
    """native_histograms off (the default): explicit-bucket histograms, series cap kept."""
    backend = _backend(memory, histogram_buckets=[1.0], max_series_per_metric=1)
    backend.record_metric("latency", 0.5, "histogram", {"route": "/a"})
    backend.record_metric("latency", 0.5, "histogram", {"route": "/b"})
    metric = memory.metrics_by_name()["latency"]
    assert type(metric.data).__name__ == "Histogram"
    assert {"otel.metric.overflow": True} in [dict(p.attributes) for p in metric.data.data_points]
    await backend.shutdown()


async def test_the_series_cap_holds_for_every_instrument_with_native_histograms(
    memory: MemoryExporters,
) -> None:
    """With the per-type views of native histograms, counters, gauges and histograms
    still fold attribute sets past max_series_per_metric into the overflow point."""
    backend = _backend(memory, native_histograms=True, max_series_per_metric=1)
    for user in ("a", "b"):
        backend.record_metric("logins", 1, "counter", {"user": user})
        backend.record_metric("depth", 1, "gauge", {"user": user})
        backend.record_metric("latency", 0.5, "histogram", {"user": user})
    found = memory.metrics_by_name()
    for name in ("logins", "depth", "latency"):
        attributes = [dict(p.attributes) for p in found[name].data.data_points]
        assert {"otel.metric.overflow": True} in attributes, name
        assert len(attributes) == 2, name
    await backend.shutdown()
