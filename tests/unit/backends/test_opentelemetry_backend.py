"""OpenTelemetryBackend: SDK providers from the config, instruments, spans with our ids."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind as OTelSpanKind
from opentelemetry.trace import StatusCode

from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend
from lexigram.monitor.config import (
    MetricsConfig,
    MonitorConfig,
    OpenTelemetryConfig,
    SamplerType,
    TracingConfig,
)
from lexigram.monitor.exceptions import BackendNotAvailableError, InvalidMetricError
from lexigram.monitor.hooks import MetricRecordedHook, default_bus
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.tracing import InMemorySpanExporter as OurInMemorySpanExporter
from lexigram.monitor.tracing import NonRecordingSpan, Span, SpanContext, SpanKind, SpanStatus

from ._otel_memory import TYPE, Handler, MemoryExporters, points


@pytest.fixture
def default_collector(isolated_metrics: MetricsCollector) -> MetricsCollector:
    """The fresh default collector, where the backend counts its failures."""
    return isolated_metrics


@pytest.fixture
def memory() -> MemoryExporters:
    return MemoryExporters()


def _backend(memory: MemoryExporters, **overrides: Any) -> OpenTelemetryBackend:
    config = OpenTelemetryConfig(type=TYPE, **overrides)
    return OpenTelemetryBackend("checkout", config=config, **memory.registries())


def _failures(collector: MetricsCollector, reason: str) -> float:
    counter = collector.get_metric("lexigram_monitor_otel_backend_failures_total")
    return 0.0 if counter is None else float(counter.get_value({"reason": reason}))  # type: ignore[attr-defined]


# -- metrics ------------------------------------------------------------------------------


async def test_instruments_are_created_once_per_name_and_type(memory: MemoryExporters) -> None:
    """Repeated values reuse one SDK instrument; the counter sums them per label set."""
    backend = _backend(memory)
    await backend.initialize()
    backend.record_metric("orders.placed", 2, "counter", {"region": "eu"})
    backend.record_metric("orders.placed", 3, "counter", {"region": "eu"})
    backend.record_metric("orders.placed", 1, "counter", {"region": "us"})
    first = backend.instruments[("orders.placed", "counter")]
    backend.record_metric("orders.placed", 1, "counter")
    assert backend.instruments == {("orders.placed", "counter"): first}
    by_labels = points(memory.metrics_by_name()["orders.placed"])
    assert by_labels[frozenset({("region", "eu")})].value == 5
    assert by_labels[frozenset({("region", "us")})].value == 1
    assert by_labels[frozenset()].value == 1
    await backend.shutdown()


async def test_gauge_keeps_the_last_value(memory: MemoryExporters) -> None:
    """Gauges use the synchronous SDK gauge: the last value set wins."""
    backend = _backend(memory)
    await backend.initialize()
    for value in (10, 7.5, 12):
        backend.record_metric("queue.depth", value, "gauge")
    metric = memory.metrics_by_name()["queue.depth"]
    assert type(metric.data).__name__ == "Gauge"
    assert [p.value for p in metric.data.data_points] == [12]
    await backend.shutdown()


async def test_summary_is_recorded_as_a_histogram(memory: MemoryExporters) -> None:
    """OpenTelemetry has no summary: summary values land in an SDK histogram."""
    backend = _backend(memory)
    await backend.initialize()
    for value in (0.1, 0.3, 0.2):
        backend.record_metric("job.seconds", value, "summary")
    backend.record_metric("job.seconds", 0.4, "histogram")
    metric = memory.metrics_by_name()["job.seconds"]
    assert type(metric.data).__name__ == "Histogram"
    (point,) = metric.data.data_points
    assert point.count == 4
    assert point.sum == pytest.approx(1.0)
    assert len(backend.instruments) == 1
    await backend.shutdown()


@pytest.mark.parametrize("metric_type", ["timer", "", None, 3])
def test_unknown_metric_type_is_refused(memory: MemoryExporters, metric_type: Any) -> None:
    """An unknown type raises InvalidMetricError naming it and the supported ones."""
    backend = _backend(memory)
    with pytest.raises(InvalidMetricError, match="counter, gauge, histogram, summary") as info:
        backend.record_metric("x", 1, metric_type)
    assert repr(metric_type) in str(info.value)


@pytest.mark.parametrize(
    ("value", "metric_type", "match"),
    [
        (float("nan"), "gauge", "NaN"),
        (-1, "counter", "cannot decrease"),
        ("3", "histogram", "str"),
        (True, "counter", "bool"),
    ],
)
def test_bad_values_are_refused(
    memory: MemoryExporters, value: Any, metric_type: str, match: str
) -> None:
    """NaN, negative counter steps and non-numbers raise InvalidMetricError."""
    with pytest.raises(InvalidMetricError, match=match):
        _backend(memory).record_metric("m", value, metric_type)


def test_bad_names_labels_and_type_clashes_are_refused(memory: MemoryExporters) -> None:
    """Names follow OpenTelemetry's rule, labels are strings, a name keeps its type."""
    backend = _backend(memory)
    with pytest.raises(InvalidMetricError, match="invalid for OpenTelemetry"):
        backend.record_metric("9lives", 1, "counter")
    with pytest.raises(InvalidMetricError, match="must be strings"):
        backend.record_metric("ok", 1, "counter", {"code": 200})  # type: ignore[dict-item]
    backend.record_metric("jobs", 1, "counter")
    with pytest.raises(InvalidMetricError, match="already exists as a counter"):
        backend.record_metric("jobs", 1, "gauge")


async def test_instrument_count_is_bounded(
    memory: MemoryExporters, default_collector: MetricsCollector
) -> None:
    """Past max_metrics instruments, values of new names are dropped and counted."""
    backend = OpenTelemetryBackend(
        "checkout", config=OpenTelemetryConfig(type=TYPE), max_metrics=2, **memory.registries()
    )
    for name in ("a", "b", "c"):
        backend.record_metric(name, 1, "counter")
    assert sorted(memory.metrics_by_name()) == ["a", "b"]
    assert _failures(default_collector, "max_metrics") == 1
    await backend.shutdown()


async def test_monitor_config_metrics_section_is_honoured(memory: MemoryExporters) -> None:
    """prefix, default_labels, histogram_buckets and max_series_per_metric reach the SDK."""
    config = MonitorConfig(
        opentelemetry=OpenTelemetryConfig(type=TYPE),
        metrics=MetricsConfig(
            prefix="shop",
            default_labels={"env": "test"},
            histogram_buckets=[0.5, 1.0],
            max_series_per_metric=2,
        ),
    )
    backend = OpenTelemetryBackend("checkout", config=config, **memory.registries())
    backend.record_metric("latency", 0.7, "histogram", {"env": "prod"})
    for user in ("a", "b", "c"):
        backend.record_metric("logins", 1, "counter", {"user": user})
    found = memory.metrics_by_name()
    histogram = found["shop_latency"].data.data_points[0]
    assert dict(histogram.attributes) == {"env": "prod"}
    assert list(histogram.explicit_bounds) == [0.5, 1.0]
    assert list(histogram.bucket_counts) == [0, 1, 0]
    logins = [dict(p.attributes) for p in found["shop_logins"].data.data_points]
    assert len(logins) == 3  # two series, then the SDK's overflow point
    assert {"otel.metric.overflow": True} in logins
    await backend.shutdown()


async def test_disabled_metrics_record_nothing(memory: MemoryExporters) -> None:
    """MetricsConfig.enabled=False: values are validated, then ignored."""
    config = MonitorConfig(
        opentelemetry=OpenTelemetryConfig(type=TYPE), metrics=MetricsConfig(enabled=False)
    )
    backend = OpenTelemetryBackend("checkout", config=config, **memory.registries())
    backend.record_metric("x", 1, "counter")
    with pytest.raises(InvalidMetricError):
        backend.record_metric("x", -1, "counter")
    assert memory.metrics_by_name() == {}
    await backend.shutdown()


async def test_recorded_values_fire_the_metric_recorded_hook(memory: MemoryExporters) -> None:
    """Subscribers of MetricRecordedHook see each value with its labels and type."""
    seen: list[MetricRecordedHook] = []
    default_bus.subscribe(MetricRecordedHook, seen.append)
    backend = _backend(memory)
    backend.record_metric("orders", 2, "counter", {"region": "eu"})
    assert [(h.metric_name, h.value, h.labels, h.metric_type) for h in seen] == [
        ("orders", 2.0, {"region": "eu"}, "counter")
    ]
    await backend.shutdown()


# -- spans --------------------------------------------------------------------------------


async def test_created_spans_are_exported_with_their_ids(memory: MemoryExporters) -> None:
    """create_span returns our Span; once ended it reaches the SDK exporter unchanged."""
    backend = _backend(memory)
    await backend.initialize()
    parent = SpanContext.from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    with backend.create_span("charge", parent, kind=SpanKind.CLIENT) as span:
        assert isinstance(span, Span)
        span.set_attribute("amount", 42)
        span.add_event("retry", {"attempt": 2})
        span.set_status(SpanStatus.ERROR, "card declined")
    assert backend.force_flush(5)
    (exported,) = memory.spans.get_finished_spans()
    assert f"{exported.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    assert f"{exported.context.span_id:016x}" == span.span_id
    assert exported.parent is not None
    assert f"{exported.parent.span_id:016x}" == "b7ad6b7169203331"
    assert exported.name == "charge"
    assert exported.kind is OTelSpanKind.CLIENT
    assert dict(exported.attributes or {}) == {"amount": 42}
    assert [e.name for e in exported.events] == ["retry"]
    assert exported.status.status_code is StatusCode.ERROR
    assert exported.resource.attributes["service.name"] == "checkout"
    await backend.shutdown()


async def test_sdk_spans_share_the_pipeline(memory: MemoryExporters) -> None:
    """Spans started from tracer_provider leave through the same exporter."""
    backend = _backend(memory)
    tracer = backend.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("sdk-span"):
        pass
    with backend.create_span("our-span"):
        pass
    assert backend.force_flush(5)
    assert sorted(s.name for s in memory.spans.get_finished_spans()) == ["our-span", "sdk-span"]
    await backend.shutdown()


async def test_tracing_section_decides_sampling(memory: MemoryExporters) -> None:
    """With MonitorConfig.tracing, our sampler and enabled flag apply to created spans."""
    config = MonitorConfig(
        opentelemetry=OpenTelemetryConfig(type=TYPE),
        tracing=TracingConfig(sampler_type=SamplerType.ALWAYS_OFF),
    )
    backend = OpenTelemetryBackend("checkout", config=config, **memory.registries())
    span = backend.create_span("dropped")
    assert isinstance(span, NonRecordingSpan)
    span.end()
    assert backend.force_flush(5)
    assert memory.spans.get_finished_spans() == ()
    await backend.shutdown()


async def test_our_span_exporters_are_fed_through_the_sdk(memory: MemoryExporters) -> None:
    """A registry handler returning one of our exporters gets our spans, SDK ones too."""
    ours = OurInMemorySpanExporter()
    memory.tracing.register(Handler(lambda: ours, [], "ours"))
    memory.metrics.register(Handler(lambda: memory.reader, [], "ours"))
    backend = OpenTelemetryBackend(
        "checkout", config=OpenTelemetryConfig(type="ours"), **memory.registries()
    )
    linked = SpanContext.from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert linked is not None
    with backend.create_span("ours", kind=SpanKind.PRODUCER) as span:
        span.set_attribute("queue", "orders")
        span.add_event("sent", {"bytes": 12})
        span.add_link(linked, {"why": "batch"})
        span.set_status(SpanStatus.ERROR, "broker down")
        with backend.create_span("child"):
            pass
    with backend.tracer_provider.get_tracer("t").start_as_current_span("sdk"):
        pass
    assert backend.force_flush(5)
    by_name = {s.name: s for s in ours.get_finished_spans()}
    assert sorted(by_name) == ["child", "ours", "sdk"]
    got = by_name["ours"]
    assert got.context.trace_id == span.trace_id
    assert got.context.span_id == span.span_id
    assert got.service_name == "checkout"
    assert got.kind is SpanKind.PRODUCER
    assert got.attributes == {"queue": "orders"}
    assert [(e.name, e.attributes) for e in got.events] == [("sent", {"bytes": 12})]
    assert [(ln.context.span_id, ln.attributes) for ln in got.links] == [
        ("b7ad6b7169203331", {"why": "batch"})
    ]
    assert got.status is SpanStatus.ERROR
    assert got.status_message == "broker down"
    assert got.start_time == pytest.approx(span.start_time)
    assert got.end_time == pytest.approx(span.end_time)
    assert by_name["child"].parent_span_id == span.span_id
    await backend.shutdown()


async def test_remote_parents_survive_the_trip_through_the_sdk(memory: MemoryExporters) -> None:
    """Our exporters fed through the SDK still see a remote parent and remote links."""
    ours = OurInMemorySpanExporter()
    memory.tracing.register(Handler(lambda: ours, [], "ours"))
    memory.metrics.register(Handler(lambda: memory.reader, [], "ours"))
    backend = OpenTelemetryBackend(
        "checkout", config=OpenTelemetryConfig(type="ours"), **memory.registries()
    )
    remote = SpanContext.from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert remote is not None
    with backend.create_span("server", parent_context=remote) as server:
        local = backend.create_span("local")
        local.add_link(remote)
        local.end()
    assert server.parent_is_remote
    assert backend.force_flush(5)
    by_name = {s.name: s for s in ours.get_finished_spans()}
    assert by_name["server"].parent_is_remote
    assert not by_name["local"].parent_is_remote
    assert by_name["local"].links[0].context.is_remote
    await backend.shutdown()


# -- configuration ------------------------------------------------------------------------


async def test_every_config_field_reaches_the_exporters_and_processors(
    memory: MemoryExporters,
) -> None:
    """endpoint (argument wins), headers, insecure, timeout, compression, protocol, type
    reach the exporter handlers; batch_size, export_interval and timeout the processors."""

    class Exporter(MetricExporter):
        def __init__(self) -> None:
            super().__init__()

        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kw: Any) -> Any:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kw: Any) -> None:
            return None

    memory.metrics.register(Handler(Exporter, memory.configs))
    config = OpenTelemetryConfig(
        type=TYPE,
        endpoint="http://ignored:4318",
        headers={"x-api-key": "k"},
        insecure=True,
        timeout=3.5,
        compression="gzip",
        batch_size=64,
        export_interval=2.0,
        protocol="grpc",
    )
    backend = OpenTelemetryBackend(
        "checkout", endpoint="http://collector:4317", config=config, **memory.registries()
    )
    await backend.initialize()
    assert len(memory.configs) == 2  # one for metrics, one for traces
    for seen in memory.configs:
        assert seen.endpoint == "http://collector:4317"
        assert seen.headers == {"x-api-key": "k"}
        assert seen.insecure is True
        assert seen.timeout == 3.5
        assert seen.compression == "gzip"
        assert seen.protocol == "grpc"
        assert seen.batch_size == 64
        assert seen.type == TYPE
    batch = backend.span_processor._batch_processor
    assert batch._max_export_batch_size == 64
    assert batch._schedule_delay_millis == 2000.0
    assert batch._export_timeout_millis == 3500.0
    reader = backend.metric_reader
    assert isinstance(reader, PeriodicExportingMetricReader)
    assert reader._export_interval_millis == 2000.0
    assert reader._export_timeout_millis == 3500.0
    await backend.shutdown()


def test_default_registries_build_otlp_exporters_from_the_config() -> None:
    """With type otlp, the official OTLP exporter gets the endpoint and compression (the
    headers are checked at a real receiver); protocol grpc selects the gRPC exporter."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcSpanExporter,
    )
    from opentelemetry.exporter.otlp.proto.http import Compression

    backend = OpenTelemetryBackend(
        "checkout",
        endpoint="http://127.0.0.1:9",
        config={"headers": {"x-k": "v"}, "timeout": 1.5, "compression": "gzip"},
    )
    http_exporter = backend.span_processor.span_exporter.target
    assert http_exporter._endpoint == "http://127.0.0.1:9/v1/traces"
    assert http_exporter._compression.value == Compression.Gzip.value == "gzip"
    grpc_backend = OpenTelemetryBackend(
        "checkout", config={"protocol": "grpc", "endpoint": "127.0.0.1:9", "insecure": True}
    )
    assert isinstance(grpc_backend.span_processor.span_exporter.target, GrpcSpanExporter)
    asyncio.run(backend.shutdown(1))
    asyncio.run(grpc_backend.shutdown(1))


def test_config_may_be_a_mapping_or_an_object_with_attributes(memory: MemoryExporters) -> None:
    """Mappings and attribute objects are validated into an OpenTelemetryConfig."""

    class Settings:
        type = TYPE
        endpoint = "http://x:4318"
        batch_size = 7

    from_mapping = OpenTelemetryBackend("a", config={"type": TYPE, "batch_size": 9})
    from_object = OpenTelemetryBackend("a", config=Settings(), **memory.registries())
    assert from_mapping.config.batch_size == 9
    assert from_object.config.batch_size == 7
    with pytest.raises(ValueError, match="batch_size"):
        OpenTelemetryBackend("a", config={"batch_size": 0})


def test_unknown_exporter_type_fails_at_initialize(memory: MemoryExporters) -> None:
    """A type no registry handler knows raises BackendNotAvailableError naming it."""
    backend = OpenTelemetryBackend(
        "a", config=OpenTelemetryConfig(type="zipkin"), **memory.registries()
    )
    with pytest.raises(BackendNotAvailableError, match="'zipkin'"):
        asyncio.run(backend.initialize())


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the OpenTelemetry SDK the constructor names the otel extra."""
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.metrics", None)
    with pytest.raises(BackendNotAvailableError, match=r"lexigram-monitor\[otel\]"):
        OpenTelemetryBackend()


# -- lifecycle ----------------------------------------------------------------------------


async def test_used_before_initialize_it_starts_itself(memory: MemoryExporters) -> None:
    """record_metric and create_span before initialize() build the providers once."""
    backend = _backend(memory)
    backend.record_metric("early", 1, "counter")
    provider = backend.meter_provider
    await backend.initialize()
    assert backend.meter_provider is provider
    assert "early" in memory.metrics_by_name()
    await backend.shutdown()


async def test_shutdown_is_idempotent_and_drops_later_values(
    memory: MemoryExporters, default_collector: MetricsCollector
) -> None:
    """A second shutdown does nothing; values after it are dropped and counted."""
    backend = _backend(memory)
    await backend.initialize()
    with backend.create_span("last"):
        pass
    await backend.shutdown()
    await backend.shutdown()
    assert [s.name for s in memory.spans.get_finished_spans()] == ["last"]
    backend.record_metric("late", 1, "counter")
    assert _failures(default_collector, "after_shutdown") == 1
    assert backend.force_flush(1) is False


async def test_shutdown_of_a_never_started_backend_is_harmless(memory: MemoryExporters) -> None:
    """Shutting down before any use builds nothing and raises nothing."""
    backend = _backend(memory)
    await backend.shutdown()
    assert memory.configs == []
    assert backend.instruments == {}


async def test_hanging_exporter_cannot_stall_shutdown(
    memory: MemoryExporters, default_collector: MetricsCollector
) -> None:
    """shutdown returns at its deadline while an export hangs; the miss is counted."""
    release = threading.Event()

    class Hanging(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            release.wait(10)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            release.wait(10)

    memory.tracing.register(Handler(Hanging, []))
    backend = _backend(memory)
    with backend.create_span("stuck"):
        pass
    started = time.monotonic()
    await backend.shutdown(timeout=0.3)
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 2.0
    assert _failures(default_collector, "shutdown_timeout") == 1
