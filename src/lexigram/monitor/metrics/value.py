"""MetricValue: one measurement as plain data (name, value, labels, timestamp)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["MetricValue"]


@dataclass(frozen=True, slots=True)
class MetricValue:
    """Represents a metric measurement.

    ``timestamp`` is wall-clock seconds (``time.time()`` when not given). ``labels`` is
    stored as given; treat it as read-only.
    """

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    timestamp: float = field(default_factory=time.time)
