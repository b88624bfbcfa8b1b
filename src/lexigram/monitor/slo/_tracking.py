"""In-process error budgets: event windows per availability objective, and the status of
latency SLOs from their samples."""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from ..metrics import Counter
from ._budget import EventWindows
from .availability import AvailabilitySLO
from .burn import scaled_windows, sli_windows
from .objective import SLO
from .sli import RequestsSLI
from .status import SLOStatus, budget_status

__all__ = ["AvailabilityTracker", "RequestCounter", "latency_status"]


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

    __slots__ = ("counter", "slo", "tiers", "windows")

    def __init__(self, slo: AvailabilitySLO, now: float) -> None:
        self.slo = slo
        self.tiers = scaled_windows(slo.period)
        spans = {*sli_windows(self.tiers), slo.period}
        self.windows = EventWindows([w.total_seconds() for w in spans], now)
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
        counts = self.windows.counts(now)
        by_window = {timedelta(seconds=s): c for s, c in counts.items()}
        return budget_status(
            self.slo.name,
            "availability",
            self.slo.objective,
            self.slo.period,
            self.tiers,
            _exact_keys(by_window, self.tiers, self.slo.period),
            evaluated_at,
        )


def _exact_keys(
    counts: dict[timedelta, tuple[float, float]], tiers: Any, period: timedelta
) -> dict[timedelta, tuple[float, float]]:
    """Re-key *counts* by the tiers' own timedeltas (float seconds may round)."""
    wanted = {*sli_windows(tiers), period}
    by_seconds = {round(k.total_seconds(), 6): v for k, v in counts.items()}
    return {w: by_seconds[round(w.total_seconds(), 6)] for w in wanted}


def latency_status(
    slo: SLO, times: list[float], values: list[float], now: float, evaluated_at: datetime
) -> SLOStatus:
    """The status of latency *slo* from its metric's samples (monotonic *times*, ms
    *values*, oldest first): a sample above ``threshold_ms`` is a failed event, the
    error budget is ``1 - percentile`` and the period is the SLO's window. O(n)."""
    tiers = scaled_windows(slo.window)
    threshold = slo.threshold_ms
    bad = list(accumulate((v > threshold for v in values), initial=0))
    counts: dict[timedelta, tuple[float, float]] = {}
    for window in {*sli_windows(tiers), slo.window}:
        start = bisect_left(times, now - window.total_seconds())
        counts[window] = (bad[-1] - bad[start], len(values) - start)
    return budget_status(
        slo.name, "latency", slo.percentile, slo.window, tiers, counts, evaluated_at
    )
