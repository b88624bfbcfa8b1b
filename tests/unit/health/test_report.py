"""Health reports: the intermediate mapping, plain JSON and IETF application/health+json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck as HypothesisHealthCheck
from hypothesis import given, settings
from hypothesis import strategies as st

from lexigram.monitor.health import HealthCheckResult, HealthStatus
from lexigram.monitor.health.report import (
    build_report,
    http_status,
    ietf_status,
    render_health_json,
    render_json,
    report_status,
)


def strict_loads(body: bytes) -> Any:
    """Parse JSON refusing NaN/Infinity tokens, which are not JSON."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-JSON constant {token}")

    return json.loads(body, parse_constant=refuse)


def test_status_mappings() -> None:
    """HTTP: 200/207/503; IETF: pass/warn/fail — every other status fails."""
    assert [http_status(s) for s in HealthStatus] == [200, 207, 503, 503, 503]
    assert [ietf_status(s) for s in HealthStatus] == ["pass", "warn", "fail", "fail", "fail"]


def test_build_report_accepts_foreign_results() -> None:
    """Results from foreign registries (dicts, bools) are normalised; bad statuses fail."""
    report = build_report(
        "degraded",
        {"db": HealthCheckResult(component="db", status=HealthStatus.HEALTHY), "x": False},
        timestamp=5.0,
    )
    assert report["status"] == "degraded"
    assert report["timestamp"] == 5.0
    assert report["checks"]["db"]["status"] == "healthy"
    assert report["checks"]["x"]["status"] == "unhealthy"
    assert build_report("weird", {}, timestamp=0.0)["status"] == "unhealthy"
    assert report_status({"status": "nope"}) is HealthStatus.UNHEALTHY
    assert report_status({}) is HealthStatus.UNHEALTHY


def test_render_json_with_and_without_details() -> None:
    """Plain JSON keeps the report; without details the checks are dropped."""
    report = build_report("healthy", {"db": True}, timestamp=1.0)
    full = strict_loads(render_json(report, include_details=True))
    assert full["checks"]["db"]["status"] == "healthy"
    assert strict_loads(render_json(report, include_details=False)) == {
        "status": "healthy",
        "timestamp": 1.0,
    }


def test_ietf_entries_without_duration_use_the_plain_component_key() -> None:
    """An entry with no measured duration is keyed by its name and has no observedValue."""
    report = {"status": "degraded", "checks": {"disk": {"status": "degraded", "message": "80%"}}}
    body = strict_loads(render_health_json(report, include_details=True))
    assert body == {
        "status": "warn",
        "checks": {"disk": [{"componentId": "disk", "status": "warn", "output": "80%"}]},
    }


def test_ietf_failure_output_prefers_the_error() -> None:
    """A failing report's top-level output is its error, else the failing check names."""
    failed = {"status": "unhealthy", "error": "RuntimeError: check failed"}
    body = strict_loads(render_health_json(failed, include_details=False))
    assert body == {"status": "fail", "output": "RuntimeError: check failed"}
    no_checks = strict_loads(render_health_json({"status": "unknown"}, include_details=True))
    assert no_checks["output"] == "service is unknown"


def test_ietf_details_are_hidden_without_include_details() -> None:
    """Without include_details the IETF body carries no checks."""
    report = build_report("healthy", {"db": True}, timestamp=1.0)
    assert strict_loads(render_health_json(report, include_details=False)) == {"status": "pass"}


class Opaque:
    def __str__(self) -> str:
        raise RuntimeError("cannot print me")


def test_unserialisable_values_still_render_valid_json() -> None:
    """NaN, infinities, exceptions, arbitrary and unprintable objects all render as JSON."""
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    report = {
        "status": "healthy",
        "nan": float("nan"),
        "inf": float("-inf"),
        "error": ValueError("secret"),
        "obj": object(),
        "opaque": Opaque(),
        "cycle": cyclic,
        "set": {1},
        "status_enum": HealthStatus.DEGRADED,
    }
    for body in (
        render_json(report, include_details=True),
        render_health_json(report, include_details=True),
    ):
        strict_loads(body)
        assert b"secret" not in body
    plain = strict_loads(render_json(report, include_details=True))
    assert plain["nan"] == "nan"
    assert plain["error"] == "ValueError: check failed"
    assert plain["opaque"] == "<Opaque>"
    assert plain["status_enum"] == "degraded"


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HypothesisHealthCheck.too_slow])
@given(
    status=st.one_of(st.sampled_from([s.value for s in HealthStatus]), json_like),
    checks=st.dictionaries(st.text(max_size=6), json_like, max_size=5),
    details=st.booleans(),
)
def test_any_report_renders_strict_json(status: Any, checks: dict[str, Any], details: bool) -> None:
    """Whatever a check_health override returns, both renderers produce strict JSON."""
    report = {"status": status, "timestamp": 1.0, "checks": checks}
    strict_loads(render_json(report, include_details=details))
    ietf = strict_loads(render_health_json(report, include_details=details))
    assert ietf["status"] in {"pass", "warn", "fail"}


@pytest.mark.parametrize("timestamp", [1.5e12, -1e20, "yesterday", True])
def test_bad_check_times_are_left_out(timestamp: object) -> None:
    """A checked_at that is no usable Unix time gives an entry without 'time'."""
    report = {"status": "healthy", "checks": {"db": {"status": "healthy", "checked_at": timestamp}}}
    body = strict_loads(render_health_json(report, include_details=True))
    assert "time" not in body["checks"]["db"][0]
