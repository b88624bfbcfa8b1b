"""``slo check``: the SLOs of a spec, evaluated by a running Prometheus.

For each SLO the error ratio of every alert window and of the period is queried (the
same expressions the recording rules hold, at one instant), then turned into the SLI,
the error budget left, the burn rates and the page/ticket state exactly as the
generated alerts decide (:func:`~lexigram.monitor.slo.status.ratio_status`). The rules
need not be loaded. A query returning several series counts its worst (highest) value.

Every request has a deadline (*timeout* seconds) and the whole check one of
``4 x timeout``; an unreachable Prometheus or a refused query is an :class:`InputError`.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from ..slo.burn import sli_windows
from ..slo.rules import prometheus_duration
from ..slo.status import SLOStatus, ratio_status
from ._input import InputError
from ._slo_spec import SpecSLO
from ._text import table

__all__ = ["evaluate", "format_status", "status_dict"]


class _Prometheus:
    def __init__(self, url: str, timeout: float) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InputError(
                f"Prometheus URL {url!r} is invalid: use http://host:port, e.g. "
                "http://127.0.0.1:9090"
            )
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.deadline = time.monotonic() + 4 * timeout
        self.at = time.time()

    def query(self, expr: str, where: str) -> float | None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise InputError(f"Prometheus at {self.url} did not answer all queries in time")
        body = urllib.parse.urlencode({"query": expr, "time": f"{self.at:.3f}"}).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v1/query",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout, remaining)) as reply:
                payload = json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            payload = _error_payload(exc)
            raise InputError(
                f"{where}: Prometheus at {self.url} refused the query {expr!r}: "
                f"{payload.get('error', exc)}"
            ) from None
        except (TimeoutError, urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InputError(
                f"Prometheus at {self.url} is not reachable ({reason}); check that it runs "
                "and that the URL is right"
            ) from None
        if payload.get("status") != "success":
            raise InputError(f"{where}: Prometheus refused {expr!r}: {payload.get('error')}")
        return _value(payload.get("data", {}))


def _error_payload(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        payload = json.loads(exc.read())
    except (ValueError, OSError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _value(data: dict[str, Any]) -> float | None:
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        values = [float(result[1])]
    elif kind == "vector" and isinstance(result, list):
        values = [float(sample["value"][1]) for sample in result]
    else:
        return None
    finite = [v for v in values if not math.isnan(v)]
    return max(finite) if finite else None


def evaluate(specs: list[SpecSLO], url: str, timeout: float = 10.0) -> list[SLOStatus]:
    """The status of every SLO of *specs* from the Prometheus at *url*."""
    prometheus = _Prometheus(url, timeout)
    evaluated_at = datetime.fromtimestamp(prometheus.at, UTC)
    statuses = []
    for spec in specs:
        ratios: dict[timedelta, float | None] = {}
        for window in {*sli_windows(spec.tiers), spec.period}:
            expr = spec.error_ratio(prometheus_duration(window))
            ratios[window] = prometheus.query(expr, spec.where)
        statuses.append(
            ratio_status(
                spec.name,
                spec.kind,
                spec.objective,
                spec.period,
                spec.tiers,
                ratios,
                evaluated_at,
            )
        )
    return statuses


def _percent(value: float | None, digits: int = 3) -> str:
    return "no data" if value is None else f"{value * 100:.{digits}f} %"


def _rate(value: float | None) -> str:
    return "no data" if value is None else f"{value:.2f}x"


def format_status(status: SLOStatus, where: str) -> str:
    """The text block of one SLO: its figures, then one row per window pair."""
    head = [
        f"SLO {status.name} ({status.kind}; {where})",
        f"  objective {_percent(status.objective)} over {prometheus_duration(status.period)}"
        f"   SLI {_percent(status.sli)}"
        f"   error budget remaining {_percent(status.error_budget_remaining, 1)}",
        f"  alerts: page {'FIRING' if status.page else 'ok'}, "
        f"ticket {'FIRING' if status.ticket else 'ok'}",
    ]
    rows = [
        [
            f"{prometheus_duration(p.long)} / {prometheus_duration(p.short)}",
            p.kind,
            f"{p.factor:g}x",
            _rate(p.long_burn_rate),
            _rate(p.short_burn_rate),
            "FIRING" if p.firing else "no",
        ]
        for p in status.pairs
    ]
    headers = ["windows", "alert", "fires at", "long burn", "short burn", "firing"]
    return "\n".join([*head, table(headers, rows, indent="    ")])


def status_dict(status: SLOStatus, where: str) -> dict[str, Any]:
    """*status* as a JSON-ready mapping."""
    return {
        "name": status.name,
        "where": where,
        "kind": status.kind,
        "objective": status.objective,
        "period": prometheus_duration(status.period),
        "sli": status.sli,
        "error_budget_remaining": status.error_budget_remaining,
        "burn_rates": dict(status.burn_rates),
        "pairs": [
            {
                "long": prometheus_duration(p.long),
                "short": prometheus_duration(p.short),
                "alert": p.kind,
                "factor": p.factor,
                "long_burn_rate": p.long_burn_rate,
                "short_burn_rate": p.short_burn_rate,
                "firing": p.firing,
            }
            for p in status.pairs
        ],
        "page": status.page,
        "ticket": status.ticket,
        "evaluated_at": status.evaluated_at.isoformat(),
    }
