"""In-process SLO evaluation: latency SLOs over timestamped samples, availability SLOs
over event windows (error budgets), with suppressed alert dispatch."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import (
    SLO_DROPPED_SAMPLES,
    count_failure,
)
from ..alerts._suppress import SuppressionWindow
from ..alerts.dispatcher import as_alert_dispatcher
from ..exceptions import InvalidMetricError
from ..metrics import MetricsCollector, get_default_collector
from ..protocols import AlertDispatcherProtocol
from ._alerting import AlertSender
from ._burns import ErrorBudgetBurn, burn_context, burns_of
from ._gauges import publish as _publish_gauges
from ._latency import Series as _Series
from ._latency import kth_smallest
from ._latency import log_fields as _log_fields
from ._latency import measure as _measure
from ._tracking import AvailabilityTracker, LatencyTracker, Reading
from .availability import AvailabilitySLO
from .objective import SLO, SLOViolation
from .sli import RequestsSLI
from .status import SLOStatus

__all__ = ["SLOMonitor", "kth_smallest"]

Objective = SLO | AvailabilitySLO

_log = logging.getLogger("lexigram.monitor.slo")
_INF = math.inf
OFFLOAD_SAMPLES = 200_000
"""Above this many samples (summed over SLOs), :meth:`SLOMonitor.evaluate` computes the
percentiles in a worker thread instead of on the event loop."""


class SLOMonitor:
    """Tracks SLO compliance and fires alerts on error-budget exhaustion.

    **Latency SLOs** (:class:`~.objective.SLO`): records metric samples in memory, then
    evaluates each registered SLO when :meth:`evaluate` is called. Violations are
    returned, logged as structured warnings (logger ``lexigram.monitor.slo``), announced
    as :class:`~lexigram.monitor.hooks.AlertFiredHook` on ``hooks.default_bus`` and, when
    a *dispatcher* is given, sent with ``send_metric_alert`` (context:
    ``alert_name="SLOViolation"``, ``labels={"slo": name}``, the percentile, burn rate,
    window and summary).

    **Availability SLOs** (:class:`~.availability.AvailabilitySLO`): an error budget
    over the SLO's period. Events come from :meth:`record_event` or, for a
    :class:`~.sli.RequestsSLI`, from the collector's request counter, read at each
    :meth:`evaluate`/:meth:`status`/:meth:`poll` (what it gained since the previous read
    is dated at the read, so poll at least every few seconds for short periods). Each
    evaluation sends a firing page or ticket (the state the generated Prometheus alerts
    would have, see :mod:`.burn`) like a violation: log, hook and
    ``send_metric_alert(<name> burn rate, burn rate, factor, context)`` with
    ``alert_name="SLOErrorBudgetBurn"`` and ``labels={"slo": name, "alert_kind":
    "page"|"ticket"}``. They are not in :meth:`evaluate`'s result (a list of latency
    :class:`SLOViolation`, as the reference defines it): read them from :meth:`status`.

    **Status** (:meth:`status`): one immutable :class:`~.status.SLOStatus` per objective,
    latency ones included (a sample above the threshold is a failed event), with the
    objective, period, SLI over the period, error budget remaining, burn rate per window
    and the page/ticket state. :meth:`evaluate` also publishes them as gauges in the
    *collector* (default: the default collector): ``lexigram_slo_objective_ratio``,
    ``lexigram_slo_sli_ratio``, ``lexigram_slo_error_budget_remaining_ratio``,
    ``lexigram_slo_burn_rate{window}``, ``lexigram_slo_alert_firing{severity}``.

    Alerts (hook and dispatch) for one SLO (for availability: one SLO and kind) are
    suppressed for *suppression_window* after it fired (default 15 minutes;
    ``timedelta(0)`` disables), while every evaluation still returns and logs its
    violations. A dispatcher that raises or takes longer than *dispatch_timeout* seconds
    is logged (rate limited) and counted in :attr:`dispatch_failures` and
    ``lexigram_monitor_slo_dispatch_failures_total``; :meth:`evaluate` never raises
    because of it.

    Memory: at most *max_samples_per_metric* samples per metric (the oldest go first,
    so a percentile covers at most that many of the most recent samples) and at most
    *max_metrics* metrics; samples for further metrics are dropped and counted in
    :attr:`dropped_samples` and ``lexigram_monitor_slo_dropped_samples_total`` until
    :meth:`clear_samples` frees room. Samples older than
    the longest window of the metric's SLOs are evicted at each evaluation. Evaluations
    over more than :data:`OFFLOAD_SAMPLES` samples compute in a worker thread. The error
    budget of every SLO (either kind) holds 2 x 60 numbers per window (9 windows): O(1)
    per event or sample, windows exact to 1/60 of their length (see ``_budget.py``).
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
        collector: MetricsCollector | None = None,
    ) -> None:
        for name, bound in (
            ("max_samples_per_metric", max_samples_per_metric),
            ("max_metrics", max_metrics),
        ):
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
                raise ValueError(f"{name} {bound!r} is invalid: it must be an integer >= 1")
        if dispatcher is not None:  # send_alert alone is enough (metric alerts formatted)
            dispatcher = as_alert_dispatcher(dispatcher)
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
        self._sender = AlertSender(
            SuppressionWindow(window, max_keys=4096, clock=clock),
            dispatcher,
            float(dispatch_timeout),
            RateLimitedLogger(_log, clock=clock),
        )
        self._max_samples = max_samples_per_metric
        self._max_metrics = max_metrics
        self._clock = clock
        self._monotonic = clock.monotonic
        self._lock = threading.Lock()
        self._slos: dict[str, SLO] = {}
        self._trackers: dict[str, AvailabilityTracker] = {}
        # latency SLO name -> its budget; metric -> the budgets fed by its samples
        self._budgets: dict[str, LatencyTracker] = {}
        self._latency: dict[str, list[LatencyTracker]] = {}
        self._collector = collector
        self._series: dict[str, _Series] = {}
        self._guard_log = RateLimitedLogger(_log, clock=clock)
        self.dropped_samples = 0
        """Samples refused because *max_metrics* metrics were already tracked."""

    @property
    def dispatch_failures(self) -> int:
        """Dispatches that raised or timed out."""
        return self._sender.failures

    @property
    def suppressed_alerts(self) -> int:
        """Alerts not sent because their SLO fired within the suppression window."""
        return self._sender.suppressed

    @property
    def registered_slos(self) -> dict[str, SLO]:
        """Return registered SLOs keyed by name (a copy)."""
        with self._lock:
            return dict(self._slos)

    @property
    def objectives(self) -> dict[str, Objective]:
        """Every registered objective, latency and availability, keyed by name (a copy)."""
        with self._lock:
            return {
                **self._slos,
                **{name: tracker.slo for name, tracker in self._trackers.items()},
            }

    @property
    def collector(self) -> MetricsCollector:
        """Where request counters are read and the status gauges are set."""
        return self._collector if self._collector is not None else get_default_collector()

    @property
    def dispatcher(self) -> AlertDispatcherProtocol | None:
        """Where violations are dispatched, if anywhere."""
        return self._sender.dispatcher

    def register(self, slo: SLO | AvailabilitySLO) -> None:
        """Register a latency or availability SLO; ``ValueError`` if its name is taken.

        An availability SLO over the request counter starts counting from the
        counter's current totals (earlier requests are not charged to its budget).
        """
        if not isinstance(slo, SLO | AvailabilitySLO):
            raise TypeError(f"register() takes an SLO or an AvailabilitySLO, got {slo!r}")
        tracker = None
        if isinstance(slo, AvailabilitySLO):
            tracker = AvailabilityTracker(slo, self._monotonic())
            if tracker.counter is not None:
                tracker.poll(self.collector, self._monotonic())
        with self._lock:
            if slo.name in self._slos or slo.name in self._trackers:
                raise ValueError(
                    f"an SLO named {slo.name!r} is already registered; SLO names are "
                    "unique, so give this one another name"
                )
            if isinstance(slo, SLO):
                self._slos[slo.name] = slo
                latency = LatencyTracker(slo, self._monotonic())
                self._budgets[slo.name] = latency
                self._latency.setdefault(slo.metric, []).append(latency)
            elif tracker is not None:
                self._trackers[slo.name] = tracker

    def record_event(self, name: str, good: bool = True, count: int = 1) -> None:
        """Count *count* events (good or failed) for availability SLO *name*; O(1).

        ``KeyError`` for an unknown name; ``ValueError`` for an SLO fed from the request
        counter (a :class:`~.sli.RequestsSLI`) and for a *count* that is not an int >= 0.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count {count!r} is invalid: it must be an integer >= 0")
        now = self._monotonic()
        with self._lock:
            tracker = self._trackers.get(name)
            if tracker is None:
                raise KeyError(f"no availability SLO named {name!r} is registered")
            sli = tracker.slo.sli
            if isinstance(sli, RequestsSLI):
                raise ValueError(
                    f"SLO {name!r} counts the requests of {sli.metric!r} itself; "
                    "record_event() is for SLOs with another SLI"
                )
            tracker.record(0 if good else count, count, now)

    def poll(self) -> None:
        """Read the request counters of availability SLOs now (see the class docstring)."""
        collector = self.collector
        now = self._monotonic()
        reading: Reading = {}
        with self._lock:
            for tracker in self._trackers.values():
                tracker.poll(collector, now, reading)

    def status(self, snapshots: Reading | None = None) -> list[SLOStatus]:
        """The :class:`~.status.SLOStatus` of every objective, in registration order
        (latency SLOs first); reads each request counter once first. O(1) per objective.

        *snapshots*: the ``collect()`` of counters the caller already took, keyed by the
        counter object (a counter missing from it is read and added; a mapping may read
        it in ``__missing__``), so a caller reading them anyway pays once.
        """
        now = self._clock.monotonic()
        return self._statuses(now, datetime.fromtimestamp(self._clock.time(), UTC), snapshots)

    def _statuses(
        self, now: float, evaluated_at: datetime, reading: Reading | None = None
    ) -> list[SLOStatus]:
        collector = self.collector
        if reading is None:
            reading = {}  # each request counter is read once
        with self._lock:
            statuses = [b.status(now, evaluated_at) for b in self._budgets.values()]
            for tracker in self._trackers.values():
                tracker.poll(collector, now, reading)
                statuses.append(tracker.status(now, evaluated_at))
        return statuses

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
            value = float(value_ms)
            series.times.append(now)
            series.values.append(value)
            for latency in self._latency.get(metric, ()):
                latency.windows.add(value > latency.threshold, 1, now)

    def clear_samples(self, metric: str | None = None) -> None:
        """Remove recorded samples of *metric*, or of every metric when None (the error
        budgets of the latency SLOs over them start afresh too)."""
        now = self._monotonic()
        with self._lock:
            if metric is None:
                self._series.clear()
                budgets = list(self._budgets.values())
            else:
                self._series.pop(metric, None)
                budgets = self._latency.get(metric, [])
            for budget in budgets:
                budget.reset(now)

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
        statuses = self._statuses(now, detected_at)
        _publish_gauges(self.collector, statuses)
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
        burns = [burn for status in statuses if status.kind == "availability"
                 for burn in burns_of(status)]  # fmt: skip
        for burn in burns:
            _log.warning(burn.message, extra=_burn_fields(burn))
        if violations or burns:
            await self._alert(violations, burns)
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

    async def _alert(self, violations: list[SLOViolation], burns: list[ErrorBudgetBurn]) -> None:
        with self._lock:
            descriptions = {n: t.slo.description for n, t in self._trackers.items()}
        await self._sender.send(violations, burns, descriptions)


_BURN_LOG_FIELDS = ("slo", "alert_kind", "burn_rate", "long_window", "short_window", "sli")


def _burn_fields(burn: ErrorBudgetBurn) -> dict[str, Any]:
    """``extra`` of a burn's log record."""
    context = burn_context(burn, "")
    return {key: context[key] for key in _BURN_LOG_FIELDS}
