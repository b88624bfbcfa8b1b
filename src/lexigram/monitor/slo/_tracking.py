"""In-process error budgets: event windows per objective (availability and latency)."""

from __future__ import annotations

import re
from collections.abc import MutableMapping, Sequence
from datetime import datetime
from typing import Any

from ..metrics import Counter
from ._budget import EventWindows
from .availability import AvailabilitySLO
from .burn import scaled_windows, sli_windows
from .objective import SLO
from .sli import RequestsSLI
from .status import SLOStatus, budget_status

__all__ = ["AvailabilityTracker", "LatencyTracker", "Reading", "RequestCounter"]

#: Counter snapshots taken during one poll, by counter. A counter not in it is read
#: (``reading[counter]``, so a mapping may read it itself in ``__missing__``) and added.
Reading = MutableMapping[Any, Sequence[Any]]


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

    def totals(self, collector: Any, reading: Reading | None = None) -> tuple[float, float]:
        """(errors, total) summed over the matching series of the counter now.

        *reading* holds the counter snapshots already taken (see :data:`Reading`), so
        objectives over the same counter share one snapshot.
        """
        metric = collector.get_metric(self._sli.metric)
        if not isinstance(metric, Counter):
            return 0, 0
        snaps: Sequence[Any]
        if reading is None:
            snaps = metric.collect()
        else:
            try:
                snaps = reading[metric]
            except KeyError:
                snaps = reading[metric] = metric.collect()
        route, fullmatch = self._sli.route, self._pattern.fullmatch
        errors: float = 0
        total: float = 0
        names: tuple[str, ...] | None = None
        where: list[tuple[int, str]] = []
        status = -1
        at, wanted = -1, ""  # the one label to match, when there is exactly one
        for snap in snaps:
            if snap.label_names is not names:
                names = snap.label_names
                where, status = self._positions(names)
                if route is not None and "route" not in names:
                    return 0, 0
                at, wanted = where[0] if len(where) == 1 else (-1, "")
            values = snap.label_values
            if at >= 0:
                if values[at] != wanted:
                    continue
            elif where:
                matched = True
                for i, value in where:
                    if values[i] != value:
                        matched = False
                        break
                if not matched:
                    continue
            total += snap.value
            if fullmatch(values[status] if status >= 0 else ""):
                errors += snap.value
        return errors, total

    def _positions(self, names: tuple[str, ...]) -> tuple[list[tuple[int, str]], int]:
        """(label index, wanted value) of the route and the selector labels the counter
        has (others are ignored), and the index of ``status`` (-1 without)."""
        index = {label: i for i, label in enumerate(names)}
        wanted = dict(self._sli.selector)
        if self._sli.route is not None:
            wanted["route"] = self._sli.route
        where = [(index[k], v) for k, v in wanted.items() if k in index]
        return where, index.get("status", -1)

    def delta(self, collector: Any, reading: Reading | None = None) -> tuple[float, float]:
        """(errors, total) added since the previous call (the first call sets the base)."""
        errors, total = self.totals(collector, reading)
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

    def poll(self, collector: Any, now: float, reading: Reading | None = None) -> None:
        """Add what the request counter gained since the last poll (RequestsSLI only);
        *reading* as in :meth:`RequestCounter.totals`."""
        if self.counter is not None:
            errors, total = self.counter.delta(collector, reading)
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
