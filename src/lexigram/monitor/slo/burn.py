"""Multi-window, multi-burn-rate alerting: the window pairs and their scaling to a period.

An alert tier fires when the error ratio over both its *long* and its *short* window is
above ``factor x (1 - objective)``, i.e. when the error budget burns ``factor`` times
faster than it may. The tiers are defined for a 30-day period (the SRE workbook's and
Sloth's); for another period ``P`` every window is multiplied by ``P / 30d`` so that a
tier still means "this share of the budget is gone":

=========  =======  ======  ========  ======================
long       short    factor  severity  budget spent at firing
=========  =======  ======  ========  ======================
1h         5m       14.4    page      2 %
6h         30m      6       page      5 %
1d         2h       3       ticket    10 %
3d         6h       1       ticket    10 %
=========  =======  ======  ========  ======================

Our own rule format labels the page tiers ``critical`` and the ticket tiers ``warning``
(:data:`DEFAULT_BURN_RATE_WINDOWS`); :func:`alert_kind` maps a severity to page/ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

__all__ = [
    "DEFAULT_BURN_RATE_WINDOWS",
    "PAGE_SEVERITIES",
    "REFERENCE_PERIOD",
    "AlertKind",
    "BurnRateWindow",
    "alert_kind",
    "scale_window",
    "scaled_windows",
    "sli_windows",
]

REFERENCE_PERIOD = timedelta(days=30)
"""The period the tiers' windows are written for."""

AlertKind = Literal["page", "ticket"]
PAGE_SEVERITIES = frozenset({"page", "critical"})
"""Severities whose tiers are pages; every other severity is a ticket."""


@dataclass(frozen=True, slots=True)
class BurnRateWindow:
    """One alerting tier: fire *severity* when the error ratio over both *long* and
    *short* exceeds ``burn_rate`` times the error budget. Windows are for a 30-day SLO."""

    long: timedelta
    short: timedelta
    burn_rate: float
    severity: str

    def __post_init__(self) -> None:
        if not timedelta(0) < self.short <= self.long:
            raise ValueError(
                f"burn-rate windows long={self.long} short={self.short} are invalid: "
                "both must be positive with short <= long (e.g. 1h and 5m)"
            )
        if not self.burn_rate > 0:
            raise ValueError(f"burn_rate {self.burn_rate!r} is invalid: it must be > 0")
        if not self.severity:
            raise ValueError("severity must be a non-empty label value, e.g. 'critical'")

    @property
    def kind(self) -> AlertKind:
        """``"page"`` or ``"ticket"`` (see :func:`alert_kind`)."""
        return alert_kind(self.severity)


DEFAULT_BURN_RATE_WINDOWS: tuple[BurnRateWindow, ...] = (
    BurnRateWindow(timedelta(hours=1), timedelta(minutes=5), 14.4, "critical"),
    BurnRateWindow(timedelta(hours=6), timedelta(minutes=30), 6.0, "critical"),
    BurnRateWindow(timedelta(days=1), timedelta(hours=2), 3.0, "warning"),
    BurnRateWindow(timedelta(days=3), timedelta(hours=6), 1.0, "warning"),
)
"""The SRE workbook's tiers for a 30-day SLO (2 %, 5 %, 10 %, 10 % of the budget)."""


def alert_kind(severity: str) -> AlertKind:
    """``"page"`` for the severities ``page`` and ``critical``, else ``"ticket"``."""
    return "page" if severity in PAGE_SEVERITIES else "ticket"


def scale_window(window: timedelta, period: timedelta) -> timedelta:
    """*window* (written for 30 days) scaled to *period*, rounded to whole milliseconds."""
    scaled = window * (period / REFERENCE_PERIOD)
    return timedelta(milliseconds=max(1, round(scaled.total_seconds() * 1000)))


def scaled_windows(
    period: timedelta, windows: Sequence[BurnRateWindow] = DEFAULT_BURN_RATE_WINDOWS
) -> tuple[BurnRateWindow, ...]:
    """*windows* with their long and short windows scaled to *period* (no clamping)."""
    return tuple(
        BurnRateWindow(
            scale_window(w.long, period), scale_window(w.short, period), w.burn_rate, w.severity
        )
        for w in windows
    )


def sli_windows(tiers: Iterable[BurnRateWindow]) -> tuple[timedelta, ...]:
    """Every distinct window of *tiers*, shortest first (the SLI rules to record)."""
    return tuple(sorted({w for tier in tiers for w in (tier.short, tier.long)}))
