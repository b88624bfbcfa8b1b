"""The state of one objective: SLI, error budget left, burn rates and alert state."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from .burn import AlertKind, BurnRateWindow
from .rules import prometheus_duration

__all__ = ["SLOKind", "SLOStatus", "WindowPairStatus", "budget_status", "ratio_status"]

SLOKind = Literal["latency", "availability"]


@dataclass(frozen=True, slots=True)
class WindowPairStatus:
    """One alert tier at evaluation time.

    *long*/*short* are the windows scaled to the SLO period; *factor* the burn rate the
    tier fires at; *long_burn_rate*/*short_burn_rate* the measured ones (None: no event
    in that window); *firing* is true when both exceed *factor*, exactly as the
    generated Prometheus alert decides.
    """

    long: timedelta
    short: timedelta
    factor: float
    severity: str
    kind: AlertKind
    long_burn_rate: float | None
    short_burn_rate: float | None
    firing: bool


@dataclass(frozen=True, slots=True)
class SLOStatus:
    """Immutable state of one objective, as :meth:`~.monitor.SLOMonitor.status` reports it.

    Attributes:
        name: The SLO's name.
        kind: ``"availability"`` or ``"latency"``.
        objective: Target ratio of good events (a latency SLO's percentile: the share of
            samples that must be at most its threshold).
        period: The period the budget is spent over (a latency SLO's ``window``).
        sli: Share of good events over the period; None without events.
        error_budget_remaining: ``1 - period burn rate`` (1.0 = untouched, 0 = spent,
            negative = overspent); None without events.
        burn_rates: Burn rate (error ratio / error budget) per window, keyed by the
            window as a Prometheus duration (``"5m"``, ..., the period); None for a
            window without events. Read-only.
        pairs: The four alert tiers (see :mod:`.burn`), in page-then-ticket order.
        page: True when a page tier fires (``SLOErrorBudgetBurn`` / Sloth's page alert).
        ticket: True when a ticket tier fires.
        events: Events counted over the period (NaN when unknown, e.g. from Prometheus).
        evaluated_at: UTC time of the evaluation.
    """

    name: str
    kind: SLOKind
    objective: float
    period: timedelta
    sli: float | None
    error_budget_remaining: float | None
    burn_rates: Mapping[str, float | None]
    pairs: tuple[WindowPairStatus, ...]
    page: bool
    ticket: bool
    events: float
    evaluated_at: datetime

    @property
    def error_budget(self) -> float:
        """The share of events allowed to fail: ``1 - objective``."""
        return 1.0 - self.objective


@functools.lru_cache(maxsize=1024)
def _label(window: timedelta) -> str:
    return prometheus_duration(window)


def _burn(ratio: float | None, budget: float) -> float | None:
    if ratio is None or math.isnan(ratio):
        return None
    if budget <= 0:
        return 0.0 if ratio <= 0 else math.inf
    return ratio / budget


def budget_status(
    name: str,
    kind: SLOKind,
    objective: float,
    period: timedelta,
    tiers: Sequence[BurnRateWindow],
    counts: Mapping[timedelta, tuple[float, float]],
    evaluated_at: datetime,
) -> SLOStatus:
    """The status from (errors, total) *counts* per window (every tier window and the
    *period*); *tiers* are already scaled to the period."""
    ratios = {w: (e / t if t > 0 else None) for w, (e, t) in counts.items()}
    return ratio_status(
        name, kind, objective, period, tiers, ratios, evaluated_at, counts[period][1]
    )


def ratio_status(
    name: str,
    kind: SLOKind,
    objective: float,
    period: timedelta,
    tiers: Sequence[BurnRateWindow],
    ratios: Mapping[timedelta, float | None],
    evaluated_at: datetime,
    events: float = math.nan,
) -> SLOStatus:
    """The status from the error ratio per window (None or NaN: no data), e.g. as
    Prometheus computes it; *events* over the period when known."""
    budget = 1.0 - objective
    burns = {w: _burn(r, budget) for w, r in ratios.items()}
    pairs: list[WindowPairStatus] = []
    for tier in tiers:
        long_burn, short_burn = burns[tier.long], burns[tier.short]
        firing = (
            long_burn is not None
            and short_burn is not None
            and long_burn > tier.burn_rate
            and short_burn > tier.burn_rate
        )
        pairs.append(
            WindowPairStatus(
                tier.long,
                tier.short,
                tier.burn_rate,
                tier.severity,
                tier.kind,
                long_burn,
                short_burn,
                firing,
            )
        )
    ratio = ratios[period]
    period_burn = burns[period]
    return SLOStatus(
        name=name,
        kind=kind,
        objective=objective,
        period=period,
        sli=None if period_burn is None or ratio is None else 1.0 - ratio,
        error_budget_remaining=None if period_burn is None else 1.0 - period_burn,
        burn_rates=MappingProxyType({_label(w): burns[w] for w in sorted(burns)}),
        pairs=tuple(sorted(pairs, key=lambda p: p.kind != "page")),
        page=any(p.firing for p in pairs if p.kind == "page"),
        ticket=any(p.firing for p in pairs if p.kind == "ticket"),
        events=events,
        evaluated_at=evaluated_at,
    )
