"""Health check value types: status, check category and check result (layer 1).

``lexigram.monitor.health`` re-exports them (their public home); they live here, below
``protocols``, so that ``HealthCheckProtocol`` can name its result type while the
protocols stay independent of the ``health`` package above them. Standard library only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["HealthCheckCategory", "HealthCheckResult", "HealthStatus"]


class HealthStatus(StrEnum):
    """Unified health status: healthy, degraded, unhealthy, unknown, starting."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"
    STARTING = "starting"


class HealthCheckCategory(StrEnum):
    """Categorises health checks by their role in the Kubernetes health model.

    LIVENESS: the process is alive (not deadlocked); served at ``/health/live``; a failure
    makes Kubernetes restart the container. READINESS: the instance can take traffic;
    served at ``/health/ready``; a failure takes it out of the load balancer. STARTUP: the
    start-up sequence has finished; served at ``/health/startup``; once it succeeds
    Kubernetes switches to the liveness and readiness probes.
    """

    LIVENESS = "liveness"
    READINESS = "readiness"
    STARTUP = "startup"


@dataclass(slots=True, kw_only=True)
class HealthCheckResult:
    """Result of a health check.

    ``duration_ms`` is the wall time of the check in milliseconds, ``checked_at`` a Unix
    timestamp (seconds). ``error`` holds the exception type name of a failed check, never
    the exception text (that goes to the log only).
    """

    component: str
    status: HealthStatus
    message: str = ""
    error: str | None = None
    duration_ms: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    checked_at: float = field(default_factory=time.time)
    category: HealthCheckCategory | None = None

    def to_dict(self) -> dict[str, Any]:
        """Convert to dictionary format (JSON-ready: enums become their string values)."""
        return {
            "component": self.component,
            "status": self.status.value,
            "message": self.message,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "details": dict(self.details),
            "checked_at": self.checked_at,
            "category": None if self.category is None else self.category.value,
        }

    def is_healthy(self) -> bool:
        """Check if status is healthy."""
        return self.status is HealthStatus.HEALTHY

    def is_degraded(self) -> bool:
        """Check if status is degraded."""
        return self.status is HealthStatus.DEGRADED
