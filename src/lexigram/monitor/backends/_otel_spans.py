"""Span plumbing between our tracer and the OpenTelemetry SDK (``otel`` extra).

One direction feeds our ended spans into an SDK span processor (same W3C ids, converted
by the tracing exporters' :class:`~.exporters.otlp.OTLPSpanExporterAdapter`). The other
wraps one of our span exporters (``export(spans)`` of our :class:`Span`, e.g. the console
one) as an SDK ``SpanExporter``, so SDK spans reach it too. The SDK is imported by the
caller and passed in; this module imports no optional dependency at import time.

Drops of the SDK's ``BatchSpanProcessor`` are counted live in
``lexigram_monitor_spans_dropped_total{reason}``: :func:`guard_sdk_exporter` puts the SDK
exporter behind a deadline (``export_timeout``; ``export_failed`` for a failed or
raising export) and :func:`observe_sdk_drops` counts the processor's own drops
(``queue_full``, ``shutdown`` for spans ended after shutdown or left queued by it).
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import logging
from collections.abc import Callable, Sequence
from typing import Any

from .._failure import describe_failure
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import SPAN_EXPORT_FAILURES, SPANS_DROPPED, count_failure
from .._worker import Worker
from ..tracing.span import Span, SpanKind, SpanRuntime, SpanStatus
from ..tracing.spancontext import SpanContext

__all__ = [
    "OTEL_BACKEND_FAILURES",
    "SdkHandOff",
    "from_readable",
    "guard_sdk_exporter",
    "observe_sdk_drops",
    "sdk_queue_length",
    "wrap_foreign_exporter",
]

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
    """Rebuild one of our ended spans from an SDK ``ReadableSpan`` (ids and flags
    unchanged; a remote parent stays marked remote, as do links to remote contexts)."""
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
    if parent is not None and parent.is_remote:
        span.parent_is_remote = True
    for event in readable.events:
        span.add_event(event.name, dict(event.attributes or {}), event.timestamp / _NS)
    for link in readable.links:
        target = link.context
        span.add_link(
            SpanContext(
                target.trace_id,
                target.span_id,
                None,
                int(target.trace_flags),
                is_remote=bool(target.is_remote),
            ),
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


def _count_drop(reason: str, count: int, *, failed: bool = False) -> None:
    count_failure(SPANS_DROPPED, reason, count)
    if failed:
        count_failure(SPAN_EXPORT_FAILURES, reason)


def guard_sdk_exporter(
    exporter: Any,
    sdk_export: Any,
    timeout: float,
    cause: Callable[[], BaseException | None] = lambda: None,
) -> Any:
    """An SDK ``SpanExporter`` running *exporter* with a deadline and counting its drops.

    Each export runs on the guard's own thread and is waited for at most *timeout*
    seconds: past it the batch is counted (``export_timeout``) and ``FAILURE`` returned,
    so the SDK's worker is never held by a hanging exporter; the next export first waits
    for that call (at most *timeout* again, else its batch is counted the same way). A
    ``FAILURE`` result or an exception counts the batch as ``export_failed``, logged with
    the reason *cause* gives (the deadline session of the OTLP exporter knows it).
    """
    result = sdk_export.SpanExportResult
    name = type(exporter).__name__
    calls = Worker("otel-span-export", threads=1, max_pending=0)
    stuck: list[concurrent.futures.Future[Any]] = []

    def dropped(reason: str, count: int, text: str) -> Any:
        _count_drop(reason, count, failed=True)
        _log.warning(
            f"sdk-export:{name}:{reason}",
            "span exporter %s failed (%s); %d spans dropped",
            name,
            text,
            count,
        )
        return result.FAILURE

    class GuardedSpanExporter(sdk_export.SpanExporter):  # type: ignore[misc]
        """SDK span exporter in front of *exporter*: deadline and drop counting."""

        target = exporter

        def export(self, spans: Sequence[Any]) -> Any:
            if stuck:
                done, _ = concurrent.futures.wait(stuck, timeout)
                if not done:
                    return dropped(
                        "export_timeout", len(spans), "the previous export call still hangs"
                    )
                stuck.clear()

            def call() -> tuple[Any, BaseException | None]:
                outcome = exporter.export(spans)
                return outcome, (None if outcome is result.SUCCESS else cause())

            context = contextvars.copy_context()  # e.g. the SDK's suppress-instrumentation flag
            future: concurrent.futures.Future[Any] | None = None
            try:
                future = calls.submit(lambda: context.run(call))
                outcome, why = future.result(timeout)
            except concurrent.futures.TimeoutError:
                if future is not None:
                    stuck.append(future)
                return dropped("export_timeout", len(spans), f"no answer within {timeout:g}s")
            except Exception as exc:
                return dropped("export_failed", len(spans), describe_failure(exc)[1])
            if outcome is result.SUCCESS:
                return outcome
            text = describe_failure(why)[1] if why is not None else "it reported FAILURE"
            return dropped("export_failed", len(spans), text)

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return bool(exporter.force_flush(timeout_millis))

    return GuardedSpanExporter()


class _CountingProcessorMetrics:
    """The SDK batch processor's own metrics hook, counting its drops as they happen."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def register_queue_size(self, get_queue_size: Callable[[], int]) -> None:
        self._inner.register_queue_size(get_queue_size)

    def drop_items(self, count: int, error_type: str = "queue_full") -> None:
        _count_drop("shutdown" if error_type == "already_shutdown" else "queue_full", count)
        self._inner.drop_items(count, error_type)

    def finish_items(self, count: int) -> None:
        self._inner.finish_items(count)


def observe_sdk_drops(processor: Any) -> bool:
    """Count the drops of an SDK ``BatchSpanProcessor`` (queue full, after shutdown).

    The SDK reports them to its processor-metrics hook (``_batch_processor._metrics``,
    SDK 1.3x and later); the hook is wrapped so each drop is also counted in
    ``lexigram_monitor_spans_dropped_total``. False (logged once) when this SDK version
    has no such hook: its drops then go uncounted.
    """
    inner = getattr(processor, "_batch_processor", None)
    hook = getattr(inner, "_metrics", None)
    if hook is None or not callable(getattr(hook, "drop_items", None)):
        _log.warning(
            "sdk-drops",
            "this OpenTelemetry SDK's BatchSpanProcessor has no drop hook; its queue drops "
            "are not counted in lexigram_monitor_spans_dropped_total",
        )
        return False
    if inner is not None and not isinstance(hook, _CountingProcessorMetrics):
        inner._metrics = _CountingProcessorMetrics(hook)
    return True


def sdk_queue_length(processor: Any) -> int:
    """Spans waiting in an SDK ``BatchSpanProcessor`` (0 when it cannot be read)."""
    queue = getattr(getattr(processor, "_batch_processor", None), "_queue", None)
    try:
        return len(queue) if queue is not None else 0
    except TypeError:
        return 0
