"""The monitor's own gauges: objective, SLI, error budget left, burn rates, alert state.

Set at each :meth:`~.monitor.SLOMonitor.evaluate`, in the monitor's collector (the
default collector unless one is given), labelled ``slo`` (plus ``window`` or
``severity``):

- ``lexigram_slo_objective_ratio{slo}``
- ``lexigram_slo_sli_ratio{slo}`` — not set while the period has no event
- ``lexigram_slo_error_budget_remaining_ratio{slo}`` — 1 while the period has no event
- ``lexigram_slo_burn_rate{slo, window}`` — 0 for a window without events
- ``lexigram_slo_alert_firing{slo, severity="page"|"ticket"}`` — 1 when firing, else 0

A collector that refuses (series cap, a clashing instrument) is logged rate limited and
counted in ``lexigram_monitor_slo_publish_failures_total``; evaluation goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .._ratelimit import RateLimitedLogger
from .._selfmetrics import count_failure, failure_reason
from .status import SLOStatus

__all__ = ["ALERT_FIRING", "BUDGET_REMAINING", "BURN_RATE", "OBJECTIVE", "SLI", "publish"]

OBJECTIVE = ("lexigram_slo_objective_ratio", "Target ratio of good events of each SLO.")
SLI = ("lexigram_slo_sli_ratio", "Share of good events of each SLO over its period.")
BUDGET_REMAINING = (
    "lexigram_slo_error_budget_remaining_ratio",
    "Error budget left over each SLO's period (1 = untouched, below 0 = overspent).",
)
BURN_RATE = (
    "lexigram_slo_burn_rate",
    "Error ratio over a window divided by the SLO's error budget.",
)
ALERT_FIRING = (
    "lexigram_slo_alert_firing",
    "1 while the page or ticket burn-rate alert of an SLO would fire, else 0.",
)
PUBLISH_FAILURES = (
    "lexigram_monitor_slo_publish_failures_total",
    "SLO status gauges the collector refused to set.",
)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.slo"))


def publish(collector: Any, statuses: Iterable[SLOStatus]) -> None:
    """Set the gauges of *statuses* in *collector*; never raises."""
    try:
        objective = collector.create_gauge(*OBJECTIVE)
        sli = collector.create_gauge(*SLI)
        budget = collector.create_gauge(*BUDGET_REMAINING)
        burn = collector.create_gauge(*BURN_RATE)
        firing = collector.create_gauge(*ALERT_FIRING)
        for status in statuses:
            labels = {"slo": status.name}
            objective.set(status.objective, labels)
            if status.sli is not None:
                sli.set(status.sli, labels)
            remaining = status.error_budget_remaining
            budget.set(1.0 if remaining is None else remaining, labels)
            for window, rate in status.burn_rates.items():
                burn.set(0.0 if rate is None else rate, {"slo": status.name, "window": window})
            firing.set(float(status.page), {"slo": status.name, "severity": "page"})
            firing.set(float(status.ticket), {"slo": status.name, "severity": "ticket"})
    except Exception as exc:
        count_failure(PUBLISH_FAILURES, failure_reason(exc))
        _log.warning(f"slo:publish:{type(exc).__name__}", "setting the SLO gauges failed: %s", exc)
