"""Health checks: statuses, checks, checker, registries, caching and reports."""

from __future__ import annotations

from ..protocols import HealthCheckProtocol
from .cached import CachedHealthChecker, HealthCheckerRegistry
from .checker import HealthChecker
from .checks import FunctionHealthCheck, HealthCheck, health_checker
from .registry import HealthCheckRegistry
from .result import HealthCheckCategory, HealthCheckResult, HealthStatus

__all__ = [
    "CachedHealthChecker",
    "FunctionHealthCheck",
    "HealthCheck",
    "HealthCheckCategory",
    "HealthCheckProtocol",
    "HealthCheckRegistry",
    "HealthCheckResult",
    "HealthChecker",
    "HealthCheckerRegistry",
    "HealthStatus",
    "health_checker",
]
