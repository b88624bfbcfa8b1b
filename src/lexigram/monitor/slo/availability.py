"""Availability objectives: the share of events that must not fail over a period."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from .sli import SLI, RequestsSLI

__all__ = ["AvailabilitySLO"]


@dataclass(frozen=True, slots=True)
class AvailabilitySLO:
    """An error-budget objective: at least *objective* of the events in any *period*
    succeed (``0.999`` = 99.9 %, an error budget of 0.1 %).

    Attributes:
        name: Unique name (shared with latency SLOs in one :class:`~.monitor.SLOMonitor`).
        objective: Target ratio of good events, in (0, 1) exclusive.
        period: The rolling period the budget is spent over (default 30 days, > 0).
        sli: Where the events come from (default: non-5xx requests of the library's
            ``http_requests_total`` over all of them, for the whole service).
        description: Optional human-readable description.

    Invalid values raise ``ValueError`` naming the field and the rule.
    """

    name: str
    objective: float
    period: timedelta = timedelta(days=30)
    sli: SLI = field(default_factory=RequestsSLI)
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(
                f"SLO name {self.name!r} is invalid: it must be a non-empty string, "
                "e.g. 'api.availability'"
            )
        objective = self.objective
        if (
            isinstance(objective, bool)
            or not isinstance(objective, int | float)
            or not 0.0 < objective < 1.0
            or math.isnan(objective)
        ):
            raise ValueError(
                f"SLO {self.name!r}: objective {objective!r} is invalid: it must be a ratio "
                "strictly between 0 and 1, e.g. 0.999 for 99.9 % (not 99.9)"
            )
        if not isinstance(self.period, timedelta) or self.period <= timedelta(0):
            raise ValueError(
                f"SLO {self.name!r}: period {self.period!r} is invalid: it must be a "
                "positive datetime.timedelta, e.g. timedelta(days=30)"
            )
        if not isinstance(self.sli, SLI):
            raise ValueError(
                f"SLO {self.name!r}: sli {self.sli!r} is invalid: pass a RequestsSLI, "
                "EventsSLI, RawSLI or HistogramSLI"
            )
        if not isinstance(self.description, str):
            raise ValueError(
                f"SLO {self.name!r}: description {self.description!r} must be a string"
            )
        object.__setattr__(self, "objective", float(objective))

    @property
    def error_budget(self) -> float:
        """The share of events allowed to fail: ``1 - objective``."""
        return 1.0 - self.objective
