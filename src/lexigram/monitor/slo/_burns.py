"""Page and ticket burns of availability objectives, as alerts: message and context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .burn import AlertKind
from .rules import prometheus_duration
from .status import SLOStatus, WindowPairStatus

__all__ = ["BURN_ALERT_NAME", "ErrorBudgetBurn", "burn_context", "burns_of"]

BURN_ALERT_NAME = "SLOErrorBudgetBurn"
"""``alert_name`` given to dispatchers for page/ticket burns (Alertmanager's ``alertname``)."""


@dataclass(frozen=True, slots=True)
class ErrorBudgetBurn:
    """A firing page or ticket of one objective: its *status* and the tier that fires
    fastest (*pair*)."""

    status: SLOStatus
    kind: AlertKind
    pair: WindowPairStatus

    @property
    def severity(self) -> str:
        """``critical`` for a page, ``warning`` for a ticket (hook and log severity)."""
        return "critical" if self.kind == "page" else "warning"

    @property
    def message(self) -> str:
        """One line saying which SLO burns how fast and what is left."""
        status, pair = self.status, self.pair
        sli = "no events" if status.sli is None else f"SLI {status.sli:.4%}"
        left = status.error_budget_remaining
        budget = "" if left is None else f", {left:.1%} of the error budget left"
        return (
            f"SLO {status.name!r} is burning its error budget ({self.kind}): "
            f"{pair.long_burn_rate or 0:.2f}x over {prometheus_duration(pair.long)} and "
            f"{pair.short_burn_rate or 0:.2f}x over {prometheus_duration(pair.short)} "
            f"(fires above {pair.factor:g}x); {sli} over "
            f"{prometheus_duration(status.period)}{budget}"
        )


def burns_of(status: SLOStatus) -> list[ErrorBudgetBurn]:
    """The page and/or ticket burns of *status*: for each firing kind, its firing tier
    with the highest long-window burn rate."""
    burns = []
    for kind in ("page", "ticket"):
        firing = [p for p in status.pairs if p.kind == kind and p.firing]
        if firing:
            pair = max(firing, key=lambda p: p.long_burn_rate or 0.0)
            burns.append(ErrorBudgetBurn(status, pair.kind, pair))
    return burns


def burn_context(burn: ErrorBudgetBurn, description: str) -> dict[str, Any]:
    """The structured context of *burn* for hooks, logs and dispatchers."""
    status, pair = burn.status, burn.pair
    return {
        "slo": status.name,
        "kind": status.kind,
        "alert_kind": burn.kind,
        "objective": status.objective,
        "period_seconds": status.period.total_seconds(),
        "sli": status.sli,
        "error_budget_remaining": status.error_budget_remaining,
        "burn_rate": pair.long_burn_rate,
        "short_burn_rate": pair.short_burn_rate,
        "burn_rate_threshold": pair.factor,
        "long_window": prometheus_duration(pair.long),
        "short_window": prometheus_duration(pair.short),
        "burn_rates": dict(status.burn_rates),
        "events": status.events,
        "summary": burn.message,
        "description": description,
        "detected_at": status.evaluated_at.isoformat(),
    }
