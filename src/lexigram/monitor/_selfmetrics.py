"""The library's own failure counters (``lexigram_monitor_*``), in the default collector.

Every failure guard (exporters, pushes, database writes, alert dispatch, SLO sampling,
profiling, rendering) logs the failure rate-limited and then calls
:func:`count_failure`, which adds to a counter labelled by ``reason`` (an exception
type name, ``timeout`` or ``http_<status>``: a small, bounded set; the collector's series
cap bounds it anyway). Counting never raises: if the collector refuses, the failure stays
only in the log. Counters appear on the first failure, so a healthy process shows none.
"""

from __future__ import annotations

import logging

from ._failure import describe_failure
from ._ratelimit import RateLimitedLogger

__all__ = [
    "ALERT_FAILURES",
    "DB_DROPPED",
    "DB_WRITE_FAILURES",
    "PROFILING_SAMPLING_FAILURES",
    "PUSH_FAILURES",
    "RENDER_FAILURES",
    "SLO_DISPATCH_FAILURES",
    "SLO_DROPPED_SAMPLES",
    "SPANS_DROPPED",
    "SPAN_EXPORT_FAILURES",
    "count_failure",
    "describe_failure",
    "failure_reason",
]

PUSH_FAILURES = (
    "lexigram_monitor_push_failures_total",
    "Pushes to the Prometheus Pushgateway that failed (down, slow, 4xx/5xx).",
)

DB_WRITE_FAILURES = (
    "lexigram_monitor_db_write_failures_total",
    "Batches of metric samples the database provider failed to store.",
)

DB_DROPPED = (
    "lexigram_monitor_db_dropped_samples_total",
    "Metric samples dropped because the bounded database write buffer was full.",
)

RENDER_FAILURES = (
    "lexigram_monitor_render_failures_total",
    "Instruments left out of a /metrics exposition (collect failed or names clashed).",
)

ALERT_FAILURES = (
    "lexigram_monitor_alert_failures_total",
    "Alerts a dispatcher could not deliver (network error, timeout, refused).",
)

SLO_DISPATCH_FAILURES = (
    "lexigram_monitor_slo_dispatch_failures_total",
    "SLO violations whose alert dispatch raised or timed out.",
)

SLO_DROPPED_SAMPLES = (
    "lexigram_monitor_slo_dropped_samples_total",
    "SLO samples dropped because the monitor already tracked max_metrics metrics.",
)

PROFILING_SAMPLING_FAILURES = (
    "lexigram_monitor_profiling_sampling_failures_total",
    "Performance snapshots that could not be taken (the process reading failed).",
)
SPANS_DROPPED = (
    "lexigram_monitor_spans_dropped_total",
    "Ended spans not exported, by reason: queue_full, export_failed, export_timeout, shutdown.",
)
SPAN_EXPORT_FAILURES = (
    "lexigram_monitor_span_export_failures_total",
    "Span export batches whose exporter raised.",
)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.selfmetrics"))


def count_failure(metric: tuple[str, str], reason: str, amount: int = 1, **labels: str) -> None:
    """Add *amount* to counter *metric* (name, help) with ``reason`` and *labels*."""
    name, description = metric
    try:
        from .metrics import get_default_collector

        counter = get_default_collector().create_counter(name, description)
        counter.increment(amount, {**labels, "reason": reason})
    except Exception:
        _log.warning(f"selfmetric:{name}", "could not count %s (reason %s)", name, reason)


def failure_reason(exc: BaseException) -> str:
    """``timeout`` for timeouts, else the exception's type name."""
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
