"""Span plumbing between our tracer and the OpenTelemetry SDK (``otel`` extra).

One direction feeds our ended spans into an SDK span processor (same W3C ids, converted
by the tracing exporters' :class:`~.exporters.otlp.OTLPSpanExporterAdapter`). The other
wraps one of our span exporters (``export(spans)`` of our :class:`Span`, e.g. the console
one) as an SDK ``SpanExporter``, so SDK spans reach it too. The SDK is imported by the
caller and passed in; this module imports no optional dependency at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from .._ratelimit import RateLimitedLogger
from .._selfmetrics import count_failure
from ..tracing.span import Span, SpanKind, SpanRuntime, SpanStatus
from ..tracing.spancontext import SpanContext

__all__ = ["OTEL_BACKEND_FAILURES", "SdkHandOff", "from_readable", "wrap_foreign_exporter"]

OTEL_BACKEND_FAILURES = (
    "lexigram_monitor_otel_backend_failures_total",
    "Values or spans the OpenTelemetry backend dropped, by reason (the caller was not affected).",
)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.opentelemetry"))
_NS = 1_000_000_000


class SdkHandOff:
    """Our span exporter that hands each span, converted, to an SDK span processor.

    Runs on our tracer's export thread (never on the caller's); the SDK processor then
    batches and exports. A span that fails to convert is dropped, logged (rate limited)
    and counted. :meth:`shutdown` does nothing: the backend shuts the SDK pipeline down.
    """

    __slots__ = ("_convert", "_on_end")

    def __init__(self, on_end: Callable[[Any], None], convert: Callable[[Span], Any]) -> None:
        self._on_end = on_end
        self._convert = convert

    def export(self, spans: Sequence[Span]) -> None:
        """Convert *spans* and queue them in the SDK processor."""
        on_end = self._on_end
        convert = self._convert
        for span in spans:
            try:
                readable = convert(span)
            except Exception as exc:
                _log.warning("convert", "could not convert span %r for export: %r", span, exc)
                count_failure(OTEL_BACKEND_FAILURES, "span_conversion")
                continue
            on_end(readable)

    def shutdown(self) -> None:
        """Nothing to release here (see the class docstring)."""


def from_readable(readable: Any, runtime: SpanRuntime) -> Span:
    """Rebuild one of our ended spans from an SDK ``ReadableSpan`` (ids unchanged)."""
    ctx = readable.context
    parent = readable.parent
    context = SpanContext(
        ctx.trace_id,
        ctx.span_id,
        parent.span_id if parent is not None else None,
        int(ctx.trace_flags),
    )
    start = (readable.start_time or 0) / _NS
    span = Span(
        readable.name,
        context,
        SpanKind(readable.kind.value),
        dict(readable.attributes or {}),
        start_time=start,
        runtime=runtime,
    )
    for event in readable.events:
        span.add_event(event.name, dict(event.attributes or {}), event.timestamp / _NS)
    for link in readable.links:
        target = link.context
        span.add_link(
            SpanContext(target.trace_id, target.span_id, None, int(target.trace_flags)),
            dict(link.attributes or {}),
        )
    status = readable.status
    if status is not None and status.status_code.value:
        span.set_status(SpanStatus(status.status_code.value), status.description)
    span.end((readable.end_time or readable.start_time or 0) / _NS)
    return span


def wrap_foreign_exporter(exporter: Any, service_name: str, sdk_export: Any) -> Any:
    """An SDK ``SpanExporter`` delivering SDK spans, as our spans, to *exporter*.

    *sdk_export* is the module ``opentelemetry.sdk.trace.export``. A failing *exporter*
    yields ``FAILURE`` for the batch, logged (rate limited) and counted; it never raises.
    """
    runtime = SpanRuntime(service_name)
    result = sdk_export.SpanExportResult

    class ForeignSpanExporter(sdk_export.SpanExporter):  # type: ignore[misc]
        """SDK span exporter in front of one of our span exporters."""

        target = exporter

        def export(self, spans: Sequence[Any]) -> Any:
            try:
                exporter.export([from_readable(s, runtime) for s in spans])
            except Exception as exc:
                _log.warning(
                    f"foreign:{type(exporter).__name__}",
                    "span exporter %s failed; %d spans dropped: %r",
                    type(exporter).__name__,
                    len(spans),
                    exc,
                )
                count_failure(OTEL_BACKEND_FAILURES, "span_export", len(spans))
                return result.FAILURE
            return result.SUCCESS

        def shutdown(self) -> None:
            close = getattr(exporter, "shutdown", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:
                    _log.warning("foreign-shutdown", "span exporter shutdown failed: %r", exc)

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

    return ForeignSpanExporter()
