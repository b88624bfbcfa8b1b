"""The example SLO that the SLO tests vary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lexigram.monitor.slo import SLO

#: The metric the example SLO watches.
METRIC = "http.request.duration"


def example_slo(**overrides: Any) -> SLO:
    """The reference's example: ``api.p99_latency``, the p99 of :data:`METRIC` under
    200 ms over one hour; *overrides* replace fields."""
    fields: dict[str, Any] = {
        "name": "api.p99_latency",
        "metric": METRIC,
        "percentile": 0.99,
        "threshold_ms": 200.0,
        "window": timedelta(hours=1),
    }
    fields.update(overrides)
    return SLO(**fields)
