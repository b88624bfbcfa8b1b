"""Wiring between metrics and tracing: the exemplar source and span-export self-metrics.

Metrics and tracing never import each other (layering); this module, above both,
installs ``tracing.current_trace_ids`` as the metrics exemplar source, so counters and
histogram buckets remember the trace/span ids of the current sampled span, and counts
the batch span processors' drops and failed exports, by reason, in
``lexigram_monitor_spans_dropped_total`` and ``lexigram_monitor_span_export_failures_total``
at the moment they happen. Whatever serves ``/metrics`` (the backends, PrometheusMiddleware,
``start_http_server``) installs both, so the drops are on the page.
"""

from __future__ import annotations

from .._selfmetrics import SPAN_EXPORT_FAILURES, SPANS_DROPPED, count_failure
from ..metrics import get_exemplar_source, install_exemplar_source, set_exemplar_source
from ..tracing import current_trace_ids
from ..tracing.batch import DROPPED, get_export_stats_listener, set_export_stats_listener
from ..tracing.context import current_span_probe

__all__ = [
    "disable_exemplars",
    "enable_exemplars",
    "enable_span_export_metrics",
    "exemplars_enabled",
]


def enable_exemplars() -> None:
    """Install the current-span exemplar source and the span-export counting; idempotent.

    A different exemplar source installed on purpose (e.g. by a test) is replaced.
    """
    if get_exemplar_source() is not current_trace_ids:
        install_exemplar_source(current_trace_ids, current_span_probe)
    enable_span_export_metrics()


def disable_exemplars() -> None:
    """Remove the current-span exemplar source if it is the installed one."""
    if get_exemplar_source() is current_trace_ids:
        set_exemplar_source(None)


def exemplars_enabled() -> bool:
    """True while the current-span exemplar source is installed."""
    return get_exemplar_source() is current_trace_ids


def _count_span_export(event: str, reason: str, count: int) -> None:
    metric = SPANS_DROPPED if event == DROPPED else SPAN_EXPORT_FAILURES
    count_failure(metric, reason, count)


def enable_span_export_metrics() -> None:
    """Count span drops and failed exports, by reason, in the default collector.

    Idempotent; drops that happened before are counted now.
    """
    if get_export_stats_listener() is not _count_span_export:
        set_export_stats_listener(_count_span_export)
