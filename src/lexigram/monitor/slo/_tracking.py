"""In-process error budgets: event windows per objective (availability and latency)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ..metrics import Counter
from ._budget import EventWindows
from .availability import AvailabilitySLO
from .burn import scaled_windows, sli_windows
from .objective import SLO
from .sli import RequestsSLI
from .status import SLOStatus, budget_status

__all__ = ["AvailabilityTracker", "LatencyTracker", "RequestCounter"]


class RequestCounter:
    """Reads (errors, total) of a :class:`RequestsSLI` from the collector's request
    counter and returns what was added since the previous read.

    Memory: the two previous totals. A total that went down (counter reset) restarts
    from the new value.
    """

    __slots__ = ("_last", "_pattern", "_sli")

    def __init__(self, sli: RequestsSLI) -> None:
        self._sli = sli
        self._pattern = re.compile(sli.error_status)
        self._last: tuple[float, float] | None = None

    def totals(self, collector: Any) -> tuple[float, float]:
        """(errors, total) summed over the matching series of the counter now."""
        metric = collector.get_metric(self._sli.metric)
        if not isinstance(metric, Counter):
            return 0, 0
        route, selector, fullmatch = self._sli.route, self._sli.selector, self._pattern.fullmatch
        errors: float = 0
        total: float = 0
        for snap in metric.collect():
            labels = dict(zip(snap.label_names, snap.label_values, strict=True))
            if route is not None and labels.get("route") != route:
                continue
            if any(labels.get(key, value) != value for key, value in selector.items()):
                continue
            total += snap.value
            if fullmatch(labels.get("status", "")):
                errors += snap.value
        return errors, total

    def delta(self, collector: Any) -> tuple[float, float]:
        """(errors, total) added since the previous call (the first call sets the base)."""
        errors, total = self.totals(collector)
        last, self._last = self._last, (errors, total)
        if last is None:
            return 0, 0
        new_errors, new_total = errors - last[0], total - last[1]
        if new_errors < 0 or new_total < 0:
            return errors, total
        return new_errors, new_total


class AvailabilityTracker:
    """The event windows of one :class:`AvailabilitySLO` (every alert window scaled to
    its period, and the period), fed by :meth:`record` or, for a :class:`RequestsSLI`,
    by :meth:`poll`. Not thread safe: the monitor holds its lock."""

    __slots__ = ("_spans", "counter", "slo", "tiers", "windows")

    def __init__(self, slo: AvailabilitySLO, now: float) -> None:
        self.slo = slo
        self.tiers = scaled_windows(slo.period)
        spans = {*sli_windows(self.tiers), slo.period}
        self._spans = {w.total_seconds(): w for w in spans}
        self.windows = EventWindows(list(self._spans), now)
        self.counter = RequestCounter(slo.sli) if isinstance(slo.sli, RequestsSLI) else None

    def record(self, errors: float, total: float, now: float) -> None:
        """Count *total* events, *errors* of them failed."""
        self.windows.add(errors, total, now)

    def poll(self, collector: Any, now: float) -> None:
        """Add what the request counter gained since the last poll (RequestsSLI only)."""
        if self.counter is not None:
            errors, total = self.counter.delta(collector)
            if total:
                self.windows.add(errors, total, now)

    def status(self, now: float, evaluated_at: datetime) -> SLOStatus:
        """The objective's status at monotonic time *now*."""
        spans = self._spans
        counts = {spans[s]: c for s, c in self.windows.counts(now).items()}
        slo = self.slo
        return budget_status(
            slo.name, "availability", slo.objective, slo.period, self.tiers, counts, evaluated_at
        )


class LatencyTracker:
    """The event windows of one latency :class:`SLO`: each sample is an event, failed
    when above ``threshold_ms``; the error budget is ``1 - percentile`` and the period
    is the SLO's window. Fed by the monitor's ``record_sample``, O(1) per sample. Not
    thread safe: the monitor holds its lock."""

    __slots__ = ("_spans", "slo", "threshold", "tiers", "windows")

    def __init__(self, slo: SLO, now: float) -> None:
        self.slo = slo
        self.threshold = slo.threshold_ms
        self.tiers = scaled_windows(slo.window)
        spans = {*sli_windows(self.tiers), slo.window}
        self._spans = {w.total_seconds(): w for w in spans}
        self.windows = EventWindows(list(self._spans), now)

    def reset(self, now: float) -> None:
        """Forget every event (the samples were cleared)."""
        self.windows = EventWindows(list(self._spans), now)

    def status(self, now: float, evaluated_at: datetime) -> SLOStatus:
        """The SLO's status at monotonic time *now*."""
        spans = self._spans
        counts = {spans[s]: c for s, c in self.windows.counts(now).items()}
        slo = self.slo
        return budget_status(
            slo.name, "latency", slo.percentile, slo.window, self.tiers, counts, evaluated_at
        )
