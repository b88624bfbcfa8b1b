"""Wiring between metrics and tracing: the exemplar source and span-export self-metrics.

Metrics and tracing never import each other (layering); this module, above both,
installs ``tracing.current_trace_ids`` as the metrics exemplar source, so counters and
histogram buckets remember the trace/span ids of the current sampled span, and counts
the span exporters' drops and failures in ``lexigram_monitor_*`` metrics.
"""

from __future__ import annotations

from .._selfmetrics import SPAN_EXPORT_FAILURES, SPANS_DROPPED, count_failure
from ..metrics import get_exemplar_source, install_exemplar_source, set_exemplar_source
from ..tracing import current_trace_ids
from ..tracing.context import current_span_probe
from ..tracing.export import set_export_stats_listener

__all__ = [
    "disable_exemplars",
    "enable_exemplars",
    "enable_span_export_metrics",
    "exemplars_enabled",
]


def enable_exemplars() -> None:
    """Install the current-span exemplar source; idempotent.

    A different source installed on purpose (e.g. by a test) is replaced.
    """
    if get_exemplar_source() is not current_trace_ids:
        install_exemplar_source(current_trace_ids, current_span_probe)


def disable_exemplars() -> None:
    """Remove the current-span exemplar source if it is the installed one."""
    if get_exemplar_source() is current_trace_ids:
        set_exemplar_source(None)


def exemplars_enabled() -> bool:
    """True while the current-span exemplar source is installed."""
    return get_exemplar_source() is current_trace_ids


def _count_span_export(dropped: int, failed: int) -> None:
    if dropped:
        count_failure(SPANS_DROPPED, "not_exported", dropped)
    if failed:
        count_failure(SPAN_EXPORT_FAILURES, "exporter_error", failed)


def enable_span_export_metrics() -> None:
    """Count span drops and failed export batches in the default collector; idempotent."""
    set_export_stats_listener(_count_span_export)
