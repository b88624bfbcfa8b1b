"""Failure counters (``lexigram_monitor_*``) of alerts, SLOs and profiling.

Each guard logs a failure (rate limited) and then calls :func:`count_failure`, which
adds to a counter of the default collector labelled by ``reason`` (an exception type
name, ``timeout`` or ``http_<status>``: a small, bounded set; the collector's series cap
bounds it anyway). Counting never raises: if the collector refuses, the failure stays
only in the log. Counters appear on the first failure, so a healthy process shows none.
"""

from __future__ import annotations

import logging

from .._ratelimit import RateLimitedLogger

__all__ = [
    "ALERT_FAILURES",
    "PROFILING_SAMPLING_FAILURES",
    "SLO_DISPATCH_FAILURES",
    "SLO_DROPPED_SAMPLES",
    "count_failure",
]

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

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.alerts"))


def count_failure(metric: tuple[str, str], reason: str, amount: int = 1, **labels: str) -> None:
    """Add *amount* to counter *metric* (name, help) with ``reason`` and *labels*."""
    name, description = metric
    try:
        from ..metrics import get_default_collector

        counter = get_default_collector().create_counter(name, description)
        counter.increment(amount, {**labels, "reason": reason})
    except Exception:
        _log.warning(f"selfmetric:{name}", "could not count %s (reason %s)", name, reason)


def failure_reason(exc: BaseException) -> str:
    """``timeout`` for timeouts, else the exception's type name."""
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
