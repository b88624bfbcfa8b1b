"""Health reports: the plain JSON body and the IETF ``application/health+json`` body.

Both are rendered from one intermediate mapping (what ``HealthCheckProvider.check_health``
returns): ``{"status": "healthy", "timestamp": 1700000000.0, "checks": {name: entry}}``
where an entry is :meth:`HealthCheckResult.to_dict` output (or a result object). Rendering
never fails: values JSON cannot hold are converted (non-finite floats and unknown objects
to strings, exceptions to their sanitised type name, nesting past
:data:`MAX_RENDER_DEPTH` levels cut), so every body is valid JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from .checks import normalise
from .result import HealthCheckResult, HealthStatus, coerce_status, marks_not_configured

__all__ = [
    "HEALTH_JSON",
    "MAX_RENDER_DEPTH",
    "build_report",
    "http_status",
    "ietf_status",
    "render_health_json",
    "render_json",
    "report_status",
]

HEALTH_JSON = "application/health+json"
MAX_RENDER_DEPTH = 8

_HTTP = {HealthStatus.HEALTHY: 200, HealthStatus.DEGRADED: 207}
_IETF = {HealthStatus.HEALTHY: "pass", HealthStatus.DEGRADED: "warn"}


def http_status(status: HealthStatus) -> int:
    """200 healthy, 207 degraded, 503 for every other status."""
    return _HTTP.get(status, 503)


def ietf_status(status: HealthStatus) -> str:
    """``pass`` healthy, ``warn`` degraded, ``fail`` for every other status."""
    return _IETF.get(status, "fail")


def report_status(report: Mapping[str, Any]) -> HealthStatus:
    """Status of *report*; a missing or unrecognised ``status`` counts as UNHEALTHY."""
    return coerce_status(report.get("status")) or HealthStatus.UNHEALTHY


def build_report(status: object, results: Mapping[str, Any], *, timestamp: float) -> dict[str, Any]:
    """The intermediate report for *status* and per-check *results*.

    Results that are not :class:`HealthCheckResult` (from foreign registries) are mapped
    with :func:`normalise`; an unrecognised *status* becomes ``unhealthy``.
    """
    checks: dict[str, Any] = {}
    for name, value in results.items():
        result = value if isinstance(value, HealthCheckResult) else normalise(str(name), value)
        checks[str(name)] = result.to_dict()
    agg = coerce_status(status) or HealthStatus.UNHEALTHY
    return {"status": agg.value, "timestamp": timestamp, "checks": checks}


def _jsonable(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Enum):
        return _jsonable(value.value, depth)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: check failed"
    if isinstance(value, HealthCheckResult):
        value = value.to_dict()
    if depth >= MAX_RENDER_DEPTH:
        return f"<{type(value).__name__}>"
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v, depth + 1) for v in value]
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _dumps(document: Any) -> bytes:
    try:
        text = json.dumps(document, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(
            _jsonable(document, 0), separators=(",", ":"), allow_nan=False, ensure_ascii=False
        )
    return text.encode("utf-8")


def render_json(report: Mapping[str, Any], *, include_details: bool) -> bytes:
    """The plain JSON body: *report* as is, without ``checks`` unless *include_details*."""
    if include_details:
        return _dumps(report)
    return _dumps({k: v for k, v in report.items() if k != "checks"})


def _iso(timestamp: object) -> str | None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    try:
        moment = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _ietf_check(name: str, entry: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    status = coerce_status(entry.get("status")) or HealthStatus.UNHEALTHY
    not_configured = marks_not_configured(entry.get("details"))
    item: dict[str, Any] = {
        "componentId": name,
        "status": "warn" if not_configured else ietf_status(status),
    }
    key = name
    duration = entry.get("duration_ms")
    if not isinstance(duration, int | float) or isinstance(duration, bool) or not_configured:
        duration = math.nan  # nothing was measured
    if math.isfinite(duration):
        key = f"{name}:responseTime"
        item["observedValue"] = round(float(duration), 3)
        item["observedUnit"] = "ms"
    when = _iso(entry.get("checked_at"))
    if when is not None:
        item["time"] = when
    message = entry.get("message")
    if item["status"] != "pass" and message:
        item["output"] = message
    return key, item


def render_health_json(
    report: Mapping[str, Any],
    *,
    include_details: bool,
    service_id: str | None = None,
    description: str | None = None,
) -> bytes:
    """The IETF health-check response (draft-inadarei-api-health-check) for *report*.

    ``status`` is ``pass``/``warn``/``fail``; with *include_details*, ``checks`` maps
    ``component:responseTime`` (plain ``component`` when no duration is known) to a list
    with ``componentId``, ``status``, ``observedValue``/``observedUnit`` (``ms``), ``time``
    (ISO 8601 UTC) and, for ``warn``/``fail``, ``output``. The top-level ``output`` is
    present only when the service fails.
    """
    status = report_status(report)
    document: dict[str, Any] = {"status": ietf_status(status)}
    if service_id:
        document["serviceId"] = service_id
    if description:
        document["description"] = description
    if document["status"] == "fail":
        error = report.get("error")
        failing = _failing_names(report.get("checks"))
        if isinstance(error, str) and error:
            document["output"] = error
        elif failing:
            document["output"] = "failing checks: " + ", ".join(failing[:20])
        else:
            document["output"] = f"service is {status.value}"
    checks = report.get("checks")
    if include_details and isinstance(checks, Mapping):
        rendered: dict[str, list[dict[str, Any]]] = {}
        for name, entry in checks.items():
            key, item = _ietf_check(str(name), _entry(entry))
            rendered.setdefault(key, []).append(item)
        document["checks"] = rendered
    return _dumps(document)


def _failing_names(checks: object) -> list[str]:
    if not isinstance(checks, Mapping):
        return []
    names = []
    for name, value in checks.items():
        entry = _entry(value)
        if marks_not_configured(entry.get("details")):
            continue
        status = coerce_status(entry.get("status"))
        if status is not HealthStatus.HEALTHY and status is not HealthStatus.DEGRADED:
            names.append(str(name))
    return sorted(names)


def _entry(value: object) -> Mapping[str, Any]:
    """A report's check entry as a mapping (a result object or a bare status included)."""
    if isinstance(value, HealthCheckResult):
        return value.to_dict()
    if not isinstance(value, Mapping):
        return {"status": value}
    return value
