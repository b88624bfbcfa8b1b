"""OTLP export through the official OpenTelemetry exporters (``otel`` extra).

Traces: :class:`OTLPSpanExporterAdapter` turns our ended spans into OpenTelemetry SDK
``ReadableSpan`` objects — same trace, span and parent ids, kind, status, attributes,
events, links, and a resource with ``service.name`` — and hands them to OpenTelemetry's
``OTLPSpanExporter`` (HTTP/protobuf by default, gRPC when ``protocol == "grpc"``). A
parent that came from another process (``Span.parent_is_remote``) and a link to a remote
context are marked remote, so the OTLP span flags read ``0x300`` as the SDK sends them
(``0x100`` for a local parent).

Deadlines: every export has ONE deadline of ``timeout`` seconds for the whole call, not
per socket read. The HTTP exporters send through :func:`._otlp_session.deadline_session`,
which cuts a collector that trickles its answer off at the deadline; gRPC calls carry a
real gRPC deadline. A failed export names its reason in the exporter's log (timeout,
connection refused, HTTP status) and is counted by the span processor.

Endpoints: the HTTP exporters want the full signal URL. The configured endpoint may be a
base URL (``http://collector:4318``) or already end in the signal path; the path
``/v1/traces`` or ``/v1/metrics`` is appended when missing (as OpenTelemetry does for
``OTEL_EXPORTER_OTLP_ENDPOINT``). gRPC endpoints are used as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._failure import describe_failure
from ..._optional import require
from ..._version import __version__
from ...exceptions import MonitorError
from ...tracing.span import Span
from ._otlp_session import deadline_session, last_failure

__all__ = [
    "OTLPMetricsExporterHandler",
    "OTLPSpanExporterAdapter",
    "OTLPTracingExporterHandler",
    "signal_endpoint",
]

_SCOPE_NAME = "lexigram.monitor"
_MAX_CACHED_RESOURCES = 64


def signal_endpoint(endpoint: str, signal: str) -> str:
    """Full OTLP/HTTP URL for *signal* (``traces``/``metrics``) from a base or full URL."""
    if not endpoint.startswith(("http://", "https://")):
        raise ValueError(
            f"OTLP/HTTP endpoint {endpoint!r} must start with http:// or https:// "
            "(e.g. http://localhost:4318)"
        )
    url = endpoint.rstrip("/")
    suffix = f"/v1/{signal}"
    return url if url.endswith(suffix) else url + suffix


def _settings(cfg: Any) -> dict[str, Any]:
    """Read endpoint, headers, timeout, compression, protocol, insecure and batch size."""
    compression = str(getattr(cfg, "compression", "none") or "none").lower()
    if compression not in ("none", "gzip"):
        raise ValueError(f"compression {compression!r} is not supported; use 'none' or 'gzip'")
    protocol = str(getattr(cfg, "protocol", "http/protobuf") or "http/protobuf").lower()
    if protocol not in ("http/protobuf", "grpc"):
        raise ValueError(
            f"OTLP protocol {protocol!r} is not supported; use 'http/protobuf' or 'grpc'"
        )
    return {
        "endpoint": str(getattr(cfg, "endpoint", "http://localhost:4318")),
        "headers": dict(getattr(cfg, "headers", None) or {}),
        "timeout": float(getattr(cfg, "timeout", 10.0)),
        "gzip": compression == "gzip",
        "grpc": protocol == "grpc",
        "insecure": bool(getattr(cfg, "insecure", False)),
        "batch_size": getattr(cfg, "batch_size", None),
    }


class OTLPSpanExporterAdapter:
    """Export our spans through an OpenTelemetry SDK span exporter, ids unchanged.

    *exporter* is any ``opentelemetry.sdk.trace.export.SpanExporter`` (normally
    ``OTLPSpanExporter``). Spans are sent in chunks of at most *batch_size* (all at once
    when None). A result other than SUCCESS raises
    :class:`~lexigram.monitor.exceptions.MonitorError`, which the batch processor logs
    and counts; with the *session* the exporter sends through (the handler passes its
    deadline session), the error names why (timeout, refused, HTTP status) and chains
    the cause. Memory: resources are cached per service name (at most 64).
    """

    def __init__(
        self, exporter: Any, *, batch_size: int | None = None, session: Any = None
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size {batch_size!r} must be >= 1")
        self.exporter = exporter
        self.session = session
        self._batch_size = batch_size
        self._api = require("otel", "opentelemetry.trace")
        self._sdk = require("otel", "opentelemetry.sdk.trace")
        self._export_mod = require("otel", "opentelemetry.sdk.trace.export")
        self._resources_mod = require("otel", "opentelemetry.sdk.resources")
        scope_mod = require("otel", "opentelemetry.sdk.util.instrumentation")
        self._scope = scope_mod.InstrumentationScope(_SCOPE_NAME, __version__)
        self._resources: dict[str, Any] = {}

    def _resource(self, service_name: str) -> Any:
        resource = self._resources.get(service_name)
        if resource is None:
            resources = self._resources_mod.Resource
            try:
                resource = resources.create({"service.name": service_name})
            except RuntimeError:
                # at interpreter exit the SDK's detectors cannot get their thread pool
                return resources({"service.name": service_name})
            if len(self._resources) < _MAX_CACHED_RESOURCES:
                self._resources[service_name] = resource
        return resource

    def prepare(self, service_name: str) -> None:
        """Build the resource of *service_name* now, while thread pools still work (the
        SDK detects resource attributes on one; spans first exported at interpreter exit
        would otherwise carry only ``service.name``)."""
        self._resource(service_name)

    def _context(
        self, trace_id: int, span_id: int, flags: int, state: Any, remote: bool = False
    ) -> Any:
        api = self._api
        return api.SpanContext(
            trace_id=trace_id,
            span_id=span_id,
            is_remote=remote,
            trace_flags=api.TraceFlags(flags & 0xFF),
            trace_state=api.TraceState(list(state.items())),
        )

    def to_readable(self, span: Span) -> Any:
        """Convert one ended span into an OpenTelemetry ``ReadableSpan``."""
        api = self._api
        ctx = span.context
        tid = ctx.trace_id_int
        state = ctx.trace_state
        parent_id = ctx.parent_span_id_int
        parent = None
        if parent_id is not None:
            parent = self._context(tid, parent_id, ctx.trace_flags, state, span.parent_is_remote)
        events = [
            self._sdk.Event(e.name, dict(e.attributes), timestamp=_ns(e.timestamp))
            for e in span.events
        ]
        links = [
            api.Link(
                self._context(
                    ln.context.trace_id_int,
                    ln.context.span_id_int,
                    ln.context.trace_flags,
                    ln.context.trace_state,
                    ln.context.is_remote,
                ),
                dict(ln.attributes),
            )
            for ln in span.links
        ]
        status = api.Status(api.StatusCode(int(span.status)), span.status_message)
        end = span.end_time if span.end_time is not None else span.start_time
        return self._sdk.ReadableSpan(
            name=span.name,
            context=self._context(tid, ctx.span_id_int, ctx.trace_flags, state),
            parent=parent,
            resource=self._resource(span.service_name),
            attributes=dict(span.attributes),
            events=events,
            links=links,
            kind=api.SpanKind(int(span.kind)),
            status=status,
            start_time=_ns(span.start_time),
            end_time=_ns(end),
            instrumentation_scope=self._scope,
        )

    def export(self, spans: Sequence[Span]) -> None:
        """Convert and send *spans*; raises MonitorError when the exporter reports failure."""
        readable = [self.to_readable(span) for span in spans]
        size = self._batch_size or max(1, len(readable))
        success = self._export_mod.SpanExportResult.SUCCESS
        for start in range(0, len(readable), size):
            chunk = readable[start : start + size]
            result = self.exporter.export(chunk)
            if result is not success:
                cause = self.failure_cause()
                why = f": {describe_failure(cause)[1]}" if cause is not None else ""
                raise MonitorError(
                    f"{type(self.exporter).__name__} reported {getattr(result, 'name', result)} "
                    f"for {len(chunk)} spans{why}; check the collector endpoint and its logs"
                ) from cause

    def failure_cause(self) -> BaseException | None:
        """Why the last export on this thread failed, when the session knows it."""
        return None if self.session is None else last_failure(self.session)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the wrapped exporter."""
        return bool(self.exporter.force_flush(timeout_millis))

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.exporter.shutdown()


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class OTLPTracingExporterHandler:
    """Handler for OTLP tracing exporter.

    Creates an :class:`OTLPSpanExporterAdapter` around OpenTelemetry's ``OTLPSpanExporter``
    (HTTP/protobuf, or gRPC when ``protocol == "grpc"``) with the config's endpoint,
    headers, timeout (one deadline per export), compression, ``insecure`` (gRPC) and
    ``batch_size``.
    """

    def can_handle(self, exporter_type: str) -> bool:
        """True if exporter_type is "otlp", False otherwise."""
        return exporter_type == "otlp"

    def create_exporter(self, exp_config: Any) -> OTLPSpanExporterAdapter:
        """Create an OTLP tracing exporter instance from *exp_config*."""
        s = _settings(exp_config)
        if s["grpc"]:
            grpc = require("otel-grpc", "grpc")
            module = require("otel-grpc", "opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
            exporter = module.OTLPSpanExporter(
                endpoint=s["endpoint"],
                insecure=s["insecure"],
                headers=s["headers"] or None,
                timeout=s["timeout"],
                compression=grpc.Compression.Gzip if s["gzip"] else grpc.Compression.NoCompression,
            )
            session = None
        else:
            http = require("otel", "opentelemetry.exporter.otlp.proto.http")
            module = require("otel", "opentelemetry.exporter.otlp.proto.http.trace_exporter")
            session = deadline_session()
            exporter = module.OTLPSpanExporter(
                endpoint=signal_endpoint(s["endpoint"], "traces"),
                headers=s["headers"] or None,
                timeout=s["timeout"],
                compression=http.Compression.Gzip if s["gzip"] else http.Compression.NoCompression,
                session=session,
            )
        return OTLPSpanExporterAdapter(exporter, batch_size=s["batch_size"], session=session)


class OTLPMetricsExporterHandler:
    """Handler for OTLP metrics exporter.

    Creates OpenTelemetry's ``OTLPMetricExporter`` (HTTP/protobuf, or gRPC when
    ``protocol == "grpc"``) with the config's endpoint, headers, timeout, compression,
    ``insecure`` (gRPC) and ``batch_size`` (as ``max_export_batch_size``).
    """

    def can_handle(self, exporter_type: str) -> bool:
        """True if exporter_type is "otlp", False otherwise."""
        return exporter_type == "otlp"

    def create_exporter(self, exp_config: Any) -> Any:
        """Create an OTLP metrics exporter instance from *exp_config*."""
        s = _settings(exp_config)
        if s["grpc"]:
            grpc = require("otel-grpc", "grpc")
            module = require("otel-grpc", "opentelemetry.exporter.otlp.proto.grpc.metric_exporter")
            return module.OTLPMetricExporter(
                endpoint=s["endpoint"],
                insecure=s["insecure"],
                headers=s["headers"] or None,
                timeout=s["timeout"],
                compression=grpc.Compression.Gzip if s["gzip"] else grpc.Compression.NoCompression,
                max_export_batch_size=s["batch_size"],
            )
        http = require("otel", "opentelemetry.exporter.otlp.proto.http")
        module = require("otel", "opentelemetry.exporter.otlp.proto.http.metric_exporter")
        return module.OTLPMetricExporter(
            endpoint=signal_endpoint(s["endpoint"], "metrics"),
            headers=s["headers"] or None,
            timeout=s["timeout"],
            compression=http.Compression.Gzip if s["gzip"] else http.Compression.NoCompression,
            max_export_batch_size=s["batch_size"],
            session=deadline_session(),
        )
