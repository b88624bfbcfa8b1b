"""The backends' own failure counters (``lexigram_monitor_*``) in the default collector.

Each guard calls :func:`count_failure` after catching and logging a failure. Counting
never raises: if the default collector refuses the counter (e.g. it is full), the
failure is only logged. Counters are created on first failure, so a healthy process
shows none of them.
"""

from __future__ import annotations

import logging

from .._ratelimit import RateLimitedLogger

__all__ = [
    "DB_DROPPED",
    "DB_WRITE_FAILURES",
    "PUSH_FAILURES",
    "RENDER_FAILURES",
    "count_failure",
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

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends"))


def count_failure(metric: tuple[str, str], reason: str, amount: int = 1) -> None:
    """Add *amount* to the failure counter *metric* (name, help) for *reason*."""
    name, description = metric
    try:
        from ..metrics import get_default_collector

        counter = get_default_collector().create_counter(name, description)
        counter.increment(amount, {"reason": reason})
    except Exception:
        _log.warning(f"selfmetric:{name}", "could not count %s (reason %s)", name, reason)
