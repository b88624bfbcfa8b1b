"""Latency SLOs in process: samples per metric and the nearest-rank percentile."""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from typing import Any

from .objective import SLO, SLOViolation

__all__ = ["Series", "alert_context", "kth_smallest", "log_fields", "measure"]


def kth_smallest(values: Sequence[float], k: int) -> float:
    """The *k*-th smallest (1-based) of *values*, which must hold at least *k* items.

    Ranks near either end (the usual p90-p99.9) use a bounded heap, O(n log m) with
    ``m = min(k, n-k+1)``; ranks in the middle sort (C timsort beats a Python select).
    """
    n = len(values)
    tail = n - k + 1
    if tail <= n >> 4:
        return heapq.nlargest(tail, values)[-1]
    if k <= n >> 4:
        return heapq.nsmallest(k, values)[-1]
    return sorted(values)[k - 1]


class Series:
    """Samples of one metric: parallel deques of monotonic times and values (ms)."""

    __slots__ = ("times", "values")

    def __init__(self, maxlen: int) -> None:
        self.times: deque[float] = deque(maxlen=maxlen)
        self.values: deque[float] = deque(maxlen=maxlen)

    def evict_before(self, cutoff: float) -> None:
        times, values = self.times, self.values
        while times and times[0] < cutoff:
            times.popleft()
            values.popleft()


def measure(
    slos: list[SLO], snapshots: dict[str, tuple[list[float], list[float]]], now: float
) -> list[tuple[SLO, float, int]]:
    """(SLO, nearest-rank percentile, samples in window) for each SLO with samples."""
    results: list[tuple[SLO, float, int]] = []
    for slo in slos:
        times, values = snapshots.get(slo.metric, ([], []))
        start = bisect_left(times, now - slo.window.total_seconds())
        count = len(values) - start
        if count > 0:
            window_values = values[start:] if start else values
            results.append((slo, kth_smallest(window_values, slo.rank(count)), count))
    return results


def alert_context(violation: SLOViolation) -> dict[str, Any]:
    slo = violation.slo
    return {
        "slo": slo.name,
        "metric": slo.metric,
        "percentile": slo.percentile,
        "threshold_ms": slo.threshold_ms,
        "measured_value": violation.measured_value,
        "burn_rate": violation.burn_rate,
        "burn_rate_threshold": slo.burn_rate_threshold,
        "window_seconds": slo.window.total_seconds(),
        "sample_count": violation.sample_count,
        "summary": violation.message,
        "description": slo.description,
        "detected_at": violation.detected_at.isoformat(),
    }


_LOG_FIELDS = (
    "slo",
    "metric",
    "percentile",
    "measured_value",
    "threshold_ms",
    "burn_rate",
    "sample_count",
    "window_seconds",
)


def log_fields(violation: SLOViolation) -> dict[str, Any]:
    """The core fields of :func:`alert_context`, as ``extra`` of the violation's log record."""
    context = alert_context(violation)
    return {key: context[key] for key in _LOG_FIELDS}
