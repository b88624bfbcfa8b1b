"""Self-telemetry of health checks: one histogram, one gauge, one hook per check run.

Metrics (in the metrics core, label ``check`` = the check name, so the series count is
bounded by the number of registered checks and by the instruments' series cap):

- ``lexigram_health_check_duration_seconds{check}`` histogram of check durations;
- ``lexigram_health_check_status{check}`` gauge: 1 healthy, 0.5 degraded, 0 unhealthy,
  unknown or starting.

A ``HealthCheckRunHook`` is emitted on ``hooks.default_bus`` per check, built only when
someone subscribes. Recording never raises: failures are logged (rate limited) and
counted in :attr:`HealthTelemetry.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._ratelimit import RateLimitedLogger
from ..hooks import HealthCheckRunHook, default_bus
from .result import HealthStatus, status_gauge_value

if TYPE_CHECKING:
    from .result import HealthCheckResult

__all__ = ["DURATION_METRIC", "STATUS_METRIC", "HealthTelemetry"]

DURATION_METRIC = "lexigram_health_check_duration_seconds"
STATUS_METRIC = "lexigram_health_check_status"

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.health"))


class HealthTelemetry:
    """Records check runs into *collector* (None: the process default collector)."""

    def __init__(self, collector: Any = None) -> None:
        self._collector = collector
        self._bound_to: Any = None
        self._instruments: tuple[Any, Any] | None = None
        self.errors = 0

    def _instruments_for(self) -> tuple[Any, Any]:
        collector = self._collector
        if collector is None:
            from ..metrics import get_default_collector

            collector = get_default_collector()
        if self._instruments is None or collector is not self._bound_to:
            duration = collector.create_histogram(
                DURATION_METRIC, "Duration of health check runs, in seconds"
            )
            status = collector.create_gauge(
                STATUS_METRIC,
                "Last health check status: 1 healthy, 0.5 degraded, 0 unhealthy/unknown",
            )
            self._instruments = (duration, status)
            self._bound_to = collector
        return self._instruments

    def record(self, results: Mapping[str, HealthCheckResult]) -> None:
        """Record one run of the checks in *results*; never raises."""
        try:
            duration, status = self._instruments_for()
            for name, result in results.items():
                labels = {"check": name}
                duration.observe(result.duration_ms / 1000.0, labels=labels)
                status.set(status_gauge_value(result.status), labels=labels)
        except Exception:
            self.errors += 1
            _log.warning("telemetry:record", "recording health check metrics failed", exc_info=True)
        if default_bus.has_subscribers(HealthCheckRunHook):
            for name, result in results.items():
                default_bus.emit(
                    HealthCheckRunHook(
                        check_name=name,
                        healthy=result.status is HealthStatus.HEALTHY,
                        status=result.status.value,
                        duration_ms=result.duration_ms,
                        message=result.message or None,
                        category=None if result.category is None else result.category.value,
                    )
                )
