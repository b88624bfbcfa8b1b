"""Health status, check category, check result, and the aggregation rule.

The three value types are defined in ``lexigram.monitor._health_result`` (layer 1, so
``protocols`` can name them without importing this package) and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .._health_result import HealthCheckCategory, HealthCheckResult, HealthStatus

__all__ = [
    "NOT_CONFIGURED",
    "HealthCheckCategory",
    "HealthCheckResult",
    "HealthStatus",
    "aggregate",
    "aggregate_results",
    "coerce_status",
    "is_not_configured",
    "marks_not_configured",
    "status_gauge_value",
    "summarise",
]

#: Message of a component that has no provider configured (status UNKNOWN).
NOT_CONFIGURED = "not configured"


_STATUS_BY_NAME: dict[str, HealthStatus] = {s.value: s for s in HealthStatus}

# 1 healthy, 0.5 degraded, 0 for every other state (unhealthy, unknown, starting).
_GAUGE_VALUE: dict[HealthStatus, float] = {
    HealthStatus.HEALTHY: 1.0,
    HealthStatus.DEGRADED: 0.5,
}


def coerce_status(value: object) -> HealthStatus | None:
    """Map a status-like value (HealthStatus, its name in any case, bool) to a status.

    Returns None when *value* is not recognised; callers decide how to report that.
    """
    if isinstance(value, HealthStatus):
        return value
    if isinstance(value, bool):
        return HealthStatus.HEALTHY if value else HealthStatus.UNHEALTHY
    if isinstance(value, str):
        return _STATUS_BY_NAME.get(value.strip().lower())
    return None


def status_gauge_value(status: HealthStatus) -> float:
    """Value of the ``lexigram_health_check_status`` gauge for *status*.

    1 healthy, 0.5 degraded, 0 unhealthy, unknown or starting.
    """
    return _GAUGE_VALUE.get(status, 0.0)


def marks_not_configured(details: object) -> bool:
    """True when *details* (of a result, or of its ``to_dict()`` entry) carry the
    ``configured: False`` marker of a component without a configured provider."""
    return isinstance(details, Mapping) and details.get("configured") is False


def is_not_configured(result: HealthCheckResult) -> bool:
    """True for the placeholder result of a component without a configured provider."""
    return result.status is HealthStatus.UNKNOWN and marks_not_configured(result.details)


def aggregate(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """Overall status: HEALTHY if every status is HEALTHY (or there are none), DEGRADED if
    any is DEGRADED and none UNHEALTHY, UNHEALTHY otherwise (so UNKNOWN or STARTING
    alone make the whole UNHEALTHY)."""
    all_healthy = True
    degraded = False
    for status in statuses:
        if status is HealthStatus.HEALTHY:
            continue
        all_healthy = False
        if status is HealthStatus.UNHEALTHY:
            return HealthStatus.UNHEALTHY
        if status is HealthStatus.DEGRADED:
            degraded = True
    if all_healthy:
        return HealthStatus.HEALTHY
    return HealthStatus.DEGRADED if degraded else HealthStatus.UNHEALTHY


def aggregate_results(results: Mapping[str, HealthCheckResult]) -> HealthStatus:
    """:func:`aggregate` over the statuses of *results*."""
    return aggregate(r.status for r in results.values())


def summarise(
    component: str,
    status: HealthStatus,
    results: Mapping[str, HealthCheckResult],
    *,
    duration_ms: float = 0.0,
) -> HealthCheckResult:
    """One result standing for a whole run: *status*, a count per status in the message,
    each check's status in ``details`` (bounded by the number of checks)."""
    counts: dict[str, int] = {}
    for result in results.values():
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    noun = "check" if len(results) == 1 else "checks"
    return HealthCheckResult(
        component=component,
        status=status,
        message=f"{len(results)} {noun}" + (f": {parts}" if parts else ""),
        duration_ms=duration_ms,
        details={name: r.status.value for name, r in results.items()},
    )
