"""OTLP handlers and the adapter that keeps our W3C ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from lexigram.monitor.backends.exporters.otlp import (
    OTLPMetricsExporterHandler,
    OTLPSpanExporterAdapter,
    OTLPTracingExporterHandler,
    signal_endpoint,
)
from lexigram.monitor.config import OpenTelemetryConfig
from lexigram.monitor.exceptions import MonitorError
from lexigram.monitor.tracing import Span, SpanContext, SpanKind, SpanStatus, Tracer, TraceState

TID = "0af7651916cd43dd8448eb211c80319c"
SID = "b7ad6b7169203331"


class Recorder:
    """Stands in for an OpenTelemetry SpanExporter."""

    def __init__(self, result: Any = None) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.result = SpanExportResult.SUCCESS if result is None else result
        self.batches: list[Sequence[Any]] = []
        self.closed = False

    def export(self, spans: Sequence[Any]) -> Any:
        self.batches.append(spans)
        return self.result

    def shutdown(self) -> None:
        self.closed = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://c:4318", "http://c:4318/v1/traces"),
        ("http://c:4318/", "http://c:4318/v1/traces"),
        ("https://c/otel", "https://c/otel/v1/traces"),
        ("http://c:4318/v1/traces", "http://c:4318/v1/traces"),
    ],
)
def test_signal_path_is_appended_when_missing(endpoint: str, expected: str) -> None:
    """A base endpoint gets /v1/traces; a full one is kept."""
    assert signal_endpoint(endpoint, "traces") == expected


def test_endpoint_without_scheme_is_refused() -> None:
    """OTLP/HTTP needs an http(s) URL."""
    with pytest.raises(ValueError, match="http://"):
        signal_endpoint("collector:4318", "traces")


def test_adapter_keeps_ids_kind_status_attributes_and_events() -> None:
    """The ReadableSpan carries our ids, parent, kind, status, attributes and events."""
    recorder = Recorder()
    adapter = OTLPSpanExporterAdapter(recorder)
    ctx = SpanContext(
        TID, SID, parent_span_id="00f067aa0ba902b7", trace_state=TraceState([("a", "1")])
    )
    tracer = Tracer("orders", None)
    span = Span("GET /", ctx, SpanKind.SERVER, {"http.method": "GET", "tags": ["x"]},
                runtime=tracer._runtime)  # fmt: skip
    span.add_event("cache miss", {"key": "k"})
    span.add_link(SpanContext(5, 6))
    span.set_status(SpanStatus.ERROR, "boom")
    span.end()
    adapter.export([span])
    (readable,) = recorder.batches[0]
    assert readable.context.trace_id == int(TID, 16)
    assert readable.context.span_id == int(SID, 16)
    assert readable.parent.span_id == int("00f067aa0ba902b7", 16)
    assert readable.context.trace_state.get("a") == "1"
    assert readable.kind.name == "SERVER"
    assert readable.status.status_code.name == "ERROR"
    assert readable.status.description == "boom"
    assert readable.attributes == {"http.method": "GET", "tags": ("x",)}
    assert readable.events[0].name == "cache miss"
    assert readable.events[0].attributes == {"key": "k"}
    assert readable.links[0].context.span_id == 6
    assert readable.resource.attributes["service.name"] == "orders"
    assert readable.start_time == int(span.start_time * 1e9)
    assert readable.end_time >= readable.start_time
    assert readable.instrumentation_scope.name == "lexigram.monitor"


def test_remote_parent_and_remote_links_are_marked_remote() -> None:
    """A span continuing another process converts with a remote parent (OTLP flags 0x300
    once encoded); a local child's parent is local (0x100); links keep remoteness."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    recorder = Recorder()
    tracer = Tracer("orders", None)
    remote = tracer.extract_context({"traceparent": f"00-{TID}-{SID}-01"})
    assert remote is not None
    with tracer.start_span("server", context=remote) as server:
        child = tracer.start_span("child", links=[remote])
        child.end()
    OTLPSpanExporterAdapter(recorder).export([server, child])
    readable_server, readable_child = recorder.batches[0]
    assert readable_server.parent.is_remote
    assert not readable_child.parent.is_remote
    assert readable_child.links[0].context.is_remote
    encoded = encode_spans([readable_server, readable_child])
    flags = {s.name: s.flags for s in encoded.resource_spans[0].scope_spans[0].spans}
    assert flags == {"server": 0x300, "child": 0x100}


def test_root_span_has_no_parent() -> None:
    """A root span converts with parent None."""
    recorder = Recorder()
    span = Span("root")
    span.end()
    OTLPSpanExporterAdapter(recorder).export([span])
    assert recorder.batches[0][0].parent is None


def test_adapter_sends_in_chunks_of_batch_size() -> None:
    """batch_size splits large exports."""
    recorder = Recorder()
    spans = [Span(str(i)) for i in range(5)]
    for span in spans:
        span.end()
    OTLPSpanExporterAdapter(recorder, batch_size=2).export(spans)
    assert [len(b) for b in recorder.batches] == [2, 2, 1]


def test_adapter_raises_on_failure_result() -> None:
    """A FAILURE result becomes a MonitorError for the batch processor to count."""
    from opentelemetry.sdk.trace.export import SpanExportResult

    span = Span("x")
    span.end()
    with pytest.raises(MonitorError, match="FAILURE"):
        OTLPSpanExporterAdapter(Recorder(SpanExportResult.FAILURE)).export([span])


def test_adapter_forwards_shutdown_and_flush() -> None:
    """shutdown/force_flush reach the wrapped exporter."""
    recorder = Recorder()
    adapter = OTLPSpanExporterAdapter(recorder)
    assert adapter.force_flush()
    adapter.shutdown()
    assert recorder.closed


def test_tracing_handler_builds_http_exporter_from_config() -> None:
    """HTTP exporter with the signal URL and gzip from the config.

    Headers and timeout reach the wire: tests/integration/test_otlp_export.py checks them.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    cfg = OpenTelemetryConfig(
        endpoint="http://collector:4318", headers={"x-key": "v"}, timeout=3, compression="gzip"
    )
    adapter = OTLPTracingExporterHandler().create_exporter(cfg)
    inner = adapter.exporter
    assert isinstance(inner, OTLPSpanExporter)
    assert inner._endpoint == "http://collector:4318/v1/traces"
    assert str(inner._compression.value) == "gzip"
    inner.shutdown()


def test_tracing_handler_builds_grpc_exporter() -> None:
    """protocol='grpc' selects OpenTelemetry's gRPC span exporter."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    cfg = OpenTelemetryConfig(endpoint="localhost:4317", protocol="grpc", insecure=True)
    adapter = OTLPTracingExporterHandler().create_exporter(cfg)
    assert isinstance(adapter.exporter, OTLPSpanExporter)
    adapter.shutdown()


def test_metrics_handler_builds_http_and_grpc_exporters() -> None:
    """The metrics handler returns OTLPMetricExporter (http default, grpc on request)."""
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter as GrpcExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    http = OTLPMetricsExporterHandler().create_exporter(
        OpenTelemetryConfig(endpoint="http://c:4318", batch_size=50)
    )
    assert isinstance(http, OTLPMetricExporter)
    assert http._endpoint == "http://c:4318/v1/metrics"
    assert http._max_export_batch_size == 50
    grpc = OTLPMetricsExporterHandler().create_exporter(
        OpenTelemetryConfig(endpoint="localhost:4317", protocol="grpc", insecure=True)
    )
    assert isinstance(grpc, GrpcExporter)
    http.shutdown()
    grpc.shutdown()


def test_missing_extra_names_the_pip_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without opentelemetry the handler raises BackendNotAvailableError naming [otel]."""
    import sys

    from lexigram.monitor.exceptions import BackendNotAvailableError

    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(BackendNotAvailableError, match=r"lexigram-monitor\[otel\]"):
        OTLPTracingExporterHandler().create_exporter(OpenTelemetryConfig())
