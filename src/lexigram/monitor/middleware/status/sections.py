"""The data of the overview, SLO, metrics and configuration sections, as JSON holds it.

Each function returns plain dicts and lists (str, numbers, bools, None); infinite
numbers become the strings ``"inf"`` / ``"-inf"``, NaN becomes None.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...config import MonitorConfig, mask_secrets, resolve_environment

__all__ = [
    "MetricsView",
    "config_section",
    "metrics_section",
    "number",
    "overview",
    "process_start",
    "slo_section",
]


def number(value: Any) -> Any:
    """*value* for JSON: None for None and NaN, ``"inf"``/``"-inf"`` for infinities."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def process_start(now: float) -> float:
    """Wall-clock start of this process from ``/proc`` (Linux), else *now*."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])
        with open("/proc/stat", "rb") as system:
            for line in system:
                if line.startswith(b"btime "):
                    return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return now


def overview(
    config: MonitorConfig,
    collector: Any,
    *,
    service_name: str,
    service_version: str | None,
    started: float,
    now: float,
) -> dict[str, Any]:
    """Service name and version, uptime, backend, multi-process mode and environment."""
    from ..._version import __version__

    multiprocess = getattr(collector, "multiprocess", None)
    workers = len(multiprocess.live_workers()) if multiprocess is not None else 1
    try:
        environment = resolve_environment(None, config.environment).value
    except ValueError:
        environment = config.environment.value
    return {
        "service": service_name,
        "version": service_version,
        "library_version": __version__,
        "started_at": started,
        "uptime_seconds": round(max(now - started, 0.0), 3),
        "backend": config.backend_type.value,
        "multiprocess": multiprocess is not None,
        "workers": workers,
        "pid": os.getpid(),
        "environment": environment,
        "now": now,
    }


def _describe(objective: Any) -> str:
    """One line saying what the SLI of *objective* counts."""
    sli = getattr(objective, "sli", None)
    if sli is None:  # a latency SLO
        return (
            f"p{objective.percentile:g} of {objective.metric} at most "
            f"{objective.threshold_ms:g} ms over {objective.window}"
        )
    route = getattr(sli, "route", None)
    metric = getattr(sli, "metric", None)
    if metric is not None:
        where = route if route else "every route"
        failed = str(sli.error_status).replace(".", "x")
        return f"requests to {where} not answered {failed} ({metric})"
    histogram = getattr(sli, "histogram", None)
    if histogram is not None:
        return f"{histogram} at most {sli.threshold:g}"
    return type(sli).__name__


def slo_section(monitor: Any, snapshots: Any = None) -> dict[str, Any]:
    """Every objective of *monitor* (an ``SLOMonitor``): objective, SLI, budget left,
    burn rates per window and window pair, page/ticket state. *snapshots*: counter
    snapshots already taken, for ``SLOMonitor.status``."""
    if monitor is None:
        return {"configured": False, "slos": []}
    objectives = monitor.objectives
    slos = []
    statuses = monitor.status() if snapshots is None else monitor.status(snapshots)
    for status in statuses:
        objective = objectives.get(status.name)
        slos.append(
            {
                "name": status.name,
                "kind": status.kind,
                "description": getattr(objective, "description", "") or "",
                "sli_text": _describe(objective) if objective is not None else "",
                "objective": status.objective,
                "period_seconds": status.period.total_seconds(),
                "sli": number(status.sli),
                "error_budget_remaining": number(status.error_budget_remaining),
                "events": number(status.events),
                "page": status.page,
                "ticket": status.ticket,
                "burn_rates": {k: number(v) for k, v in status.burn_rates.items()},
                "pairs": [
                    {
                        "kind": p.kind,
                        "severity": p.severity,
                        "long": _duration(p.long.total_seconds()),
                        "short": _duration(p.short.total_seconds()),
                        "factor": number(p.factor),
                        "long_burn_rate": number(p.long_burn_rate),
                        "short_burn_rate": number(p.short_burn_rate),
                        "firing": p.firing,
                    }
                    for p in status.pairs
                ],
                "evaluated_at": status.evaluated_at.timestamp(),
            }
        )
    return {"configured": True, "slos": slos}


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _values(kind: str, snap: Any) -> dict[str, Any]:
    if kind in ("counter", "gauge"):
        return {"value": number(snap.value)}
    out = {"count": snap.count, "sum": number(snap.sum)}
    if kind == "summary":
        out["quantiles"] = {f"{q:g}": number(v) for q, v in snap.quantiles}
    return out


def _signature(kind: str, snaps: Sequence[Any]) -> tuple[tuple[Any, ...], ...]:
    """What a family's shown series say, to tell changes: a column per field (label
    values, then the values shown), a row per series."""
    labels = tuple([s.label_values for s in snaps])
    if kind in ("counter", "gauge"):
        return labels, tuple([s.value for s in snaps])
    counts = tuple([s.count for s in snaps])
    if kind == "summary":
        return labels, counts, tuple([s.sum for s in snaps]), tuple([s.quantiles for s in snaps])
    return labels, counts, tuple([s.sum for s in snaps])


def _unchanged(before: tuple[tuple[Any, ...], ...], now: tuple[tuple[Any, ...], ...]) -> list[bool]:
    """Per series of signature *now*, whether it says what it said in *before* (a
    signature of the same kind): whole columns are compared first."""
    known = len(before[0])
    flags = [i < known for i in range(len(now[0]))]
    for was, is_ in zip(before, now, strict=True):
        if was == is_:
            continue
        for i, (a, b) in enumerate(zip(was, is_, strict=False)):
            if not (a is b or a == b):
                flags[i] = False
    return flags


def _series(kind: str, snap: Any) -> dict[str, Any]:
    return {
        "labels": dict(zip(snap.label_names, snap.label_values, strict=False)),
        **_values(kind, snap),
    }


def _first(instrument: Any, limit: int) -> tuple[Sequence[Any], int]:
    """The first *limit* snapshots of *instrument* and its number of series: only those
    are taken where it offers ``collect_first`` (lexigram instruments), else all."""
    first = getattr(instrument, "collect_first", None)
    if first is not None:
        shown, count = first(limit)
        return shown, int(count)
    snaps = instrument.collect()
    return tuple(snaps[:limit]), len(snaps)


class MetricsView:
    """The metrics section, keeping each family's data between calls while it is
    unchanged: a family whose type, help, series count and shown series (labels and
    values) are what they were is the very dict returned last time, and a shown series
    that says what it said keeps its entry (so the page can keep what it made of them).
    Only the shown series of a family are read where the instrument can (see
    :func:`_first`). Memory: one entry per family of the last call, its data holding at
    most *max_series* series. Thread safe (a race only costs a rebuild)."""

    def __init__(self, max_series: int = 50) -> None:
        self._max_series = max_series
        self._kept: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], dict[str, Any]]] = {}

    def section(self, instruments: Iterable[Any], filter_text: str = "") -> dict[str, Any]:
        """See :func:`metrics_section`."""
        needle = filter_text.strip().lower()
        families = []
        total = 0
        kept = self._kept
        fresh: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], dict[str, Any]]] = {}
        for instrument in sorted(instruments, key=lambda i: str(getattr(i, "name", ""))):
            kind = getattr(instrument, "kind", None)
            name = str(getattr(instrument, "name", ""))
            if kind is None:
                continue
            description = str(getattr(instrument, "description", "") or "")
            if needle and needle not in name.lower() and needle not in description.lower():
                total += _first(instrument, 0)[1]
                if name in kept:
                    fresh[name] = kept[name]  # filtered out now, maybe shown next time
                continue
            shown, count = _first(instrument, self._max_series)
            total += count
            names = shown[0].label_names if shown else ()
            key = (kind, description, count, names)
            signature = _signature(kind, shown)
            old = kept.get(name)
            if old is not None and old[0] == key and old[1] == signature:
                family = old[2]
            else:
                # series that say what they said keep their entry
                same = old is not None and old[0][0] == kind and old[0][3] == names
                entries = old[2]["series"] if old is not None and same else []
                kept_at = _unchanged(old[1], signature) if old is not None and same else None
                family = {
                    "name": name,
                    "type": kind,
                    "help": description,
                    "series_count": count,
                    "series": [
                        entries[i] if kept_at is not None and kept_at[i] else _series(kind, snap)
                        for i, snap in enumerate(shown)
                    ],
                }
            fresh[name] = (key, signature, family)
            families.append(family)
        self._kept = fresh
        return {"families": families, "series_total": total, "filter": filter_text}


def metrics_section(
    instruments: Iterable[Any], *, filter_text: str = "", max_series: int = 50
) -> dict[str, Any]:
    """Every metric family (name, type, help, series count) with the values of at most
    *max_series* series each; *filter_text* keeps families whose name or help contains
    it (case-insensitive)."""
    return MetricsView(max_series).section(instruments, filter_text)


def config_section(config: MonitorConfig) -> dict[str, Any]:
    """The effective configuration with secrets masked, and the findings of
    ``validate_for_environment`` for the resolved environment."""
    try:
        issues = config.validate_for_environment()
    except ValueError as exc:  # LEX_ENV names no environment
        issues = []
        problem = str(exc)
    else:
        problem = ""
    findings: list[Mapping[str, Any]] = [
        {
            "field": i.field,
            "severity": i.severity,
            "message": i.message,
            "suggestion": i.suggestion,
        }
        for i in issues
    ]
    if problem:
        findings.append(
            {"field": "environment", "severity": "error", "message": problem, "suggestion": ""}
        )
    return {"settings": _flatten(mask_secrets(config)), "findings": findings}


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[list[Any]]:
    out: list[list[Any]] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.extend(_flatten(value, path + "."))
        else:
            out.append([path, value])
    return out
