"""Health statuses, categories, results and the aggregation rule."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor.health import HealthCheckCategory, HealthCheckResult, HealthStatus
from lexigram.monitor.health.result import (
    aggregate,
    coerce_status,
    is_not_configured,
    marks_not_configured,
    status_gauge_value,
    summarise,
)

H, D, U, K, S = (
    HealthStatus.HEALTHY,
    HealthStatus.DEGRADED,
    HealthStatus.UNHEALTHY,
    HealthStatus.UNKNOWN,
    HealthStatus.STARTING,
)


def test_status_and_category_values_are_lowercase_strings() -> None:
    """The enums carry the documented lowercase values and compare equal to them."""
    assert [s.value for s in HealthStatus] == [
        "healthy",
        "degraded",
        "unhealthy",
        "unknown",
        "starting",
    ]
    assert [c.value for c in HealthCheckCategory] == ["liveness", "readiness", "startup"]
    assert HealthStatus.HEALTHY == "healthy"


def test_result_to_dict_is_json_ready() -> None:
    """to_dict turns enums into strings and keeps every field."""
    result = HealthCheckResult(
        component="db",
        status=D,
        message="slow",
        duration_ms=12.5,
        details={"pool": 3},
        checked_at=100.0,
        category=HealthCheckCategory.READINESS,
    )
    data = result.to_dict()
    assert data == {
        "component": "db",
        "status": "degraded",
        "message": "slow",
        "error": None,
        "duration_ms": 12.5,
        "details": {"pool": 3},
        "checked_at": 100.0,
        "category": "readiness",
    }
    json.dumps(data)


def test_is_healthy_and_is_degraded_follow_the_status() -> None:
    """is_healthy is true only for HEALTHY, is_degraded only for DEGRADED."""
    assert HealthCheckResult(component="a", status=H).is_healthy()
    assert not HealthCheckResult(component="a", status=D).is_healthy()
    assert HealthCheckResult(component="a", status=D).is_degraded()
    assert not HealthCheckResult(component="a", status=U).is_degraded()


def test_aggregate_rules() -> None:
    """All healthy or none: HEALTHY; any degraded and none unhealthy: DEGRADED; else UNHEALTHY."""
    assert aggregate([]) is H
    assert aggregate([H, H]) is H
    assert aggregate([H, D]) is D
    assert aggregate([D, U]) is U
    assert aggregate([H, K]) is U
    assert aggregate([H, S]) is U
    assert aggregate([D, K]) is D


@given(st.lists(st.sampled_from(list(HealthStatus))))
def test_aggregate_matches_its_definition(statuses: list[HealthStatus]) -> None:
    """For any mix of statuses the aggregate follows the three-line rule literally."""
    if all(s is H for s in statuses):
        expected = H
    elif any(s is D for s in statuses) and not any(s is U for s in statuses):
        expected = D
    else:
        expected = U
    assert aggregate(statuses) is expected


def test_coerce_status_accepts_names_enums_and_bools() -> None:
    """Status-like values map to a status; anything else maps to None."""
    assert coerce_status(" Healthy ") is H
    assert coerce_status(D) is D
    assert coerce_status(True) is H
    assert coerce_status(False) is U
    assert coerce_status("fine") is None
    assert coerce_status(1) is None


def test_gauge_values() -> None:
    """The status gauge is 1 healthy, 0.5 degraded and 0 for everything else."""
    assert [status_gauge_value(s) for s in HealthStatus] == [1.0, 0.5, 0.0, 0.0, 0.0]


def test_summarise_counts_statuses() -> None:
    """A summary result counts the checks per status and lists each check's status."""
    results = {
        "a": HealthCheckResult(component="a", status=H),
        "b": HealthCheckResult(component="b", status=U),
        "c": HealthCheckResult(component="c", status=H),
    }
    summary = summarise("all", U, results, duration_ms=3.0)
    assert summary.status is U
    assert summary.message == "3 checks: 2 healthy, 1 unhealthy"
    assert summary.details == {"a": "healthy", "b": "unhealthy", "c": "healthy"}
    assert summarise("all", H, {}).message == "0 checks"


def test_not_configured_marker() -> None:
    """Only an UNKNOWN result flagged configured=False is a not-configured placeholder."""
    assert is_not_configured(
        HealthCheckResult(component="db", status=K, details={"configured": False})
    )
    assert not is_not_configured(HealthCheckResult(component="db", status=K))


def test_not_configured_marker_in_details() -> None:
    """Only details mapping ``configured`` to False itself carry the marker."""
    assert marks_not_configured({"configured": False, "reason": "no provider"})
    assert not marks_not_configured({"configured": 0})
    assert not marks_not_configured({"configured": True})
    assert not marks_not_configured({})
    assert not marks_not_configured(None)
    assert not marks_not_configured("configured")
