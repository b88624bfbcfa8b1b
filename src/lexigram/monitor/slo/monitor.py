"""In-process SLO evaluation over timestamped samples, with suppressed alert dispatch."""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import (
    SLO_DISPATCH_FAILURES,
    SLO_DROPPED_SAMPLES,
    count_failure,
    failure_reason,
)
from ..alerts._suppress import SuppressionWindow
from ..alerts.dispatcher import dispatch_failure
from ..exceptions import InvalidMetricError
from ..hooks import AlertFiredHook, default_bus
from ..protocols import AlertDispatcherProtocol
from .objective import SLO, SLOViolation

__all__ = ["SLOMonitor", "kth_smallest"]

_log = logging.getLogger("lexigram.monitor.slo")
_INF = math.inf
OFFLOAD_SAMPLES = 200_000
"""Above this many samples (summed over SLOs), :meth:`SLOMonitor.evaluate` computes the
percentiles in a worker thread instead of on the event loop."""
ALERT_NAME = "SLOViolation"
"""``alert_name`` given to dispatchers for SLO violations (Alertmanager's ``alertname``)."""


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


class _Series:
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


class SLOMonitor:
    """Tracks SLO compliance and fires alerts on error-budget exhaustion.

    Records metric samples in memory, then evaluates each registered SLO when
    :meth:`evaluate` is called. Violations are returned, logged as structured warnings
    (logger ``lexigram.monitor.slo``), announced as :class:`~lexigram.monitor.hooks.AlertFiredHook`
    on ``hooks.default_bus`` and, when a *dispatcher* is given, sent with
    ``send_metric_alert`` (context: ``alert_name="SLOViolation"``, ``labels={"slo": name}``,
    the percentile, burn rate, window and summary).

    Alerts (hook and dispatch) for one SLO are suppressed for *suppression_window*
    after it fired (default 15 minutes; ``timedelta(0)`` disables), while every
    evaluation still returns and logs its violations. A dispatcher that raises or takes
    longer than *dispatch_timeout* seconds is logged (rate limited) and counted in
    :attr:`dispatch_failures` and ``lexigram_monitor_slo_dispatch_failures_total``;
    :meth:`evaluate` never raises because of it.

    Memory: at most *max_samples_per_metric* samples per metric (the oldest go first,
    so a percentile covers at most that many of the most recent samples) and at most
    *max_metrics* metrics; samples for further metrics are dropped and counted in
    :attr:`dropped_samples` and ``lexigram_monitor_slo_dropped_samples_total`` until
    :meth:`clear_samples` frees room. Samples older than
    the longest window of the metric's SLOs are evicted at each evaluation. Evaluations
    over more than :data:`OFFLOAD_SAMPLES` samples compute in a worker thread.
    """

    def __init__(
        self,
        max_samples_per_metric: int = 10000,
        *,
        max_metrics: int = 1000,
        dispatcher: AlertDispatcherProtocol | None = None,
        suppression_window: timedelta | float = timedelta(minutes=15),
        dispatch_timeout: float = 10.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        for name, bound in (
            ("max_samples_per_metric", max_samples_per_metric),
            ("max_metrics", max_metrics),
        ):
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
                raise ValueError(f"{name} {bound!r} is invalid: it must be an integer >= 1")
        if dispatcher is not None and not isinstance(dispatcher, AlertDispatcherProtocol):
            raise TypeError(
                f"dispatcher {dispatcher!r} has no async send_alert/send_metric_alert "
                "methods; pass an AlertDispatcherProtocol implementation or None"
            )
        if not (isinstance(dispatch_timeout, int | float) and 0 < dispatch_timeout < _INF):
            raise ValueError(
                f"dispatch_timeout {dispatch_timeout!r} is invalid: it must be a finite "
                "number of seconds > 0"
            )
        window = (
            suppression_window.total_seconds()
            if isinstance(suppression_window, timedelta)
            else suppression_window
        )
        self._suppression = SuppressionWindow(window, max_keys=4096, clock=clock)
        self._max_samples = max_samples_per_metric
        self._max_metrics = max_metrics
        self._dispatcher = dispatcher
        self._dispatch_timeout = float(dispatch_timeout)
        self._clock = clock
        self._monotonic = clock.monotonic
        self._lock = threading.Lock()
        self._slos: dict[str, SLO] = {}
        self._series: dict[str, _Series] = {}
        self._guard_log = RateLimitedLogger(_log, clock=clock)
        self.dropped_samples = 0
        """Samples refused because *max_metrics* metrics were already tracked."""
        self.dispatch_failures = 0
        """Dispatches that raised or timed out."""
        self.suppressed_alerts = 0
        """Violations not alerted because their SLO fired within the suppression window."""

    @property
    def registered_slos(self) -> dict[str, SLO]:
        """Return registered SLOs keyed by name (a copy)."""
        with self._lock:
            return dict(self._slos)

    @property
    def dispatcher(self) -> AlertDispatcherProtocol | None:
        """Where violations are dispatched, if anywhere."""
        return self._dispatcher

    def register(self, slo: SLO) -> None:
        """Register an SLO for monitoring; ``ValueError`` if its name is taken."""
        if not isinstance(slo, SLO):
            raise TypeError(f"register() takes an SLO, got {slo!r}")
        with self._lock:
            if slo.name in self._slos:
                raise ValueError(
                    f"an SLO named {slo.name!r} is already registered; SLO names are "
                    "unique, so give this one another name"
                )
            self._slos[slo.name] = slo

    def record_sample(self, metric: str, value_ms: float) -> None:
        """Record a measurement (milliseconds, finite and >= 0) for *metric*, timestamped now.

        NaN, negative or infinite values and non-numbers raise :class:`InvalidMetricError`
        (a ``ValueError``); nothing is stored for them.
        """
        try:
            valid = 0.0 <= value_ms < _INF and value_ms.__class__ is not bool
        except TypeError:
            valid = False
        if not valid:
            raise InvalidMetricError(
                f"SLO sample {value_ms!r} for metric {metric!r} is invalid: it must be a "
                "finite number of milliseconds >= 0 (NaN, negative and infinite values "
                "are refused)"
            )
        now = self._monotonic()
        with self._lock:
            try:
                series = self._series.get(metric)
            except TypeError:  # unhashable name: refused below with a clear message
                series = None
            if series is None:
                series = self._add_series(metric)
                if series is None:
                    return
            series.times.append(now)
            series.values.append(float(value_ms))

    def clear_samples(self, metric: str | None = None) -> None:
        """Remove recorded samples of *metric*, or of every metric when None."""
        with self._lock:
            if metric is None:
                self._series.clear()
            else:
                self._series.pop(metric, None)

    def sample_count(self, metric: str) -> int:
        """Samples currently held for *metric* (evicted ones excluded)."""
        with self._lock:
            series = self._series.get(metric)
            return 0 if series is None else len(series.values)

    async def evaluate(self) -> list[SLOViolation]:
        """Evaluate all registered SLOs against recorded samples.

        For each SLO the nearest-rank percentile (the ``ceil(p·n)``-th smallest) of the
        *n* samples inside its window is compared with the threshold: a violation iff
        ``measured > threshold_ms`` and ``measured / threshold_ms >= burn_rate_threshold``.
        Returns the violations, in registration order; empty when all SLOs hold or no
        sample falls inside a window.
        """
        now = self._clock.monotonic()
        detected_at = datetime.fromtimestamp(self._clock.time(), UTC)
        with self._lock:
            slos = list(self._slos.values())
            horizons: dict[str, float] = {}
            for slo in slos:
                seconds = slo.window.total_seconds()
                horizons[slo.metric] = max(horizons.get(slo.metric, 0.0), seconds)
            snapshots: dict[str, tuple[list[float], list[float]]] = {}
            for metric, horizon in horizons.items():
                series = self._series.get(metric)
                if series is not None:
                    series.evict_before(now - horizon)
                    snapshots[metric] = (list(series.times), list(series.values))
        # Large evaluations leave the event loop so they cannot stall other requests.
        total = sum(len(snapshots[slo.metric][1]) for slo in slos if slo.metric in snapshots)
        if total > OFFLOAD_SAMPLES:
            measured = await asyncio.to_thread(_measure, slos, snapshots, now)
        else:
            measured = _measure(slos, snapshots, now)
        violations: list[SLOViolation] = []
        for slo, value, count in measured:
            burn_rate = value / slo.threshold_ms
            if value > slo.threshold_ms and burn_rate >= slo.burn_rate_threshold:
                violation = SLOViolation(
                    slo=slo,
                    measured_value=value,
                    burn_rate=burn_rate,
                    detected_at=detected_at,
                    sample_count=count,
                )
                violations.append(violation)
                _log.warning(violation.message, extra=_log_fields(violation))
        if violations:
            await self._alert(violations)
        return violations

    def _add_series(self, metric: str) -> _Series | None:
        # Called with the lock held.
        if not isinstance(metric, str) or not metric:
            raise InvalidMetricError(
                f"SLO metric name {metric!r} is invalid: it must be a non-empty string, "
                "the same as the `metric` of the SLOs that use it"
            )
        if len(self._series) >= self._max_metrics:
            self.dropped_samples += 1
            count_failure(SLO_DROPPED_SAMPLES, "max_metrics")
            self._guard_log.warning(
                "slo:max_metrics",
                "SLO monitor tracks %d metrics already (max_metrics); samples of %r are "
                "dropped. Raise max_metrics or clear_samples() unused metrics",
                self._max_metrics,
                metric,
            )
            return None
        series = _Series(self._max_samples)
        self._series[metric] = series
        return series

    async def _alert(self, violations: list[SLOViolation]) -> None:
        sends = []
        for violation in violations:
            if not self._suppression.should_fire(violation.slo.name):
                self.suppressed_alerts += 1
                continue
            context = _alert_context(violation)
            if default_bus.has_subscribers(AlertFiredHook):
                default_bus.emit(
                    AlertFiredHook(
                        alert_name=violation.slo.name,
                        severity=violation.severity,
                        message=violation.message,
                        context=context,
                        fired_at=violation.detected_at.timestamp(),
                    )
                )
            if self._dispatcher is not None:
                sends.append(self._dispatch(self._dispatcher, violation, context))
        if sends:
            await asyncio.gather(*sends)

    async def _dispatch(
        self,
        dispatcher: AlertDispatcherProtocol,
        violation: SLOViolation,
        context: dict[str, Any],
    ) -> None:
        slo = violation.slo
        try:
            async with asyncio.timeout(self._dispatch_timeout):
                await dispatcher.send_metric_alert(
                    slo.metric,
                    violation.measured_value,
                    slo.threshold_ms,
                    {**context, "alert_name": ALERT_NAME, "labels": {"slo": slo.name}},
                )
        except Exception as exc:
            self.dispatch_failures += 1
            count_failure(SLO_DISPATCH_FAILURES, failure_reason(exc))
            self._guard_log.warning(
                f"slo:dispatch:{type(exc).__name__}",
                "dispatching the violation of SLO %r failed: %s",
                slo.name,
                dispatch_failure(exc, self._dispatch_timeout),
            )


def _measure(
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


def _alert_context(violation: SLOViolation) -> dict[str, Any]:
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


def _log_fields(violation: SLOViolation) -> dict[str, Any]:
    """The core fields of :func:`_alert_context`, as ``extra`` of the violation's log record."""
    context = _alert_context(violation)
    return {key: context[key] for key in _LOG_FIELDS}
