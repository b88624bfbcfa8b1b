"""Prometheus rules following Sloth's conventions, so Sloth's dashboards and runbooks work.

For an SLO ``<slo>`` of service ``<service>`` (id ``<service>-<slo>``), three groups:

``sloth-slo-sli-recordings-<id>``
    ``slo:sli_error:ratio_rate<w>`` for every alert window ``w`` (5m, 30m, 1h, 2h, 6h,
    1d, 3d for a 30-day period), labelled ``sloth_window="<w>"``, and for the period
    ``P``: the average of the shortest window's ratio over ``P``
    (``sum_over_time(...[P]) / ignoring (sloth_window) count_over_time(...[P])``).
``sloth-slo-meta-recordings-<id>``
    ``slo:objective:ratio``, ``slo:error_budget:ratio``, ``slo:time_period:days``,
    ``slo:current_burn_rate:ratio`` (shortest window / budget),
    ``slo:period_burn_rate:ratio``, ``slo:period_error_budget_remaining:ratio`` and the
    info series ``sloth_slo_info`` (``sloth_mode``, ``sloth_spec``, ``sloth_version``,
    ``sloth_objective``).
``sloth-slo-alerts-<id>``
    Two alerts, both named after the spec's ``alerting.name``: ``sloth_severity="page"``
    = (14.4x over 1h and 5m) or (6x over 6h and 30m); ``sloth_severity="ticket"`` = (3x
    over 1d and 2h) or (1x over 3d and 6h); each window scaled by ``P / 30d``.

Every series carries the spec's labels and ``sloth_service``, ``sloth_slo``,
``sloth_id``; alerts carry the alerting labels (common, then page/ticket ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from .._version import __version__
from .availability import AvailabilitySLO
from .burn import DEFAULT_BURN_RATE_WINDOWS, BurnRateWindow, scaled_windows, sli_windows
from .rules import metadata_rules, prometheus_duration
from .sli import escape_label_value, promql_number

__all__ = ["SlothAlert", "SlothAlerting", "SlothSLO", "sloth_rule_groups"]

_IDENTITY = ("sloth_id", "sloth_service", "sloth_slo")


@dataclass(frozen=True, slots=True)
class SlothAlert:
    """The page or ticket alert: extra *labels* and *annotations*, or *disable* it."""

    disable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SlothAlerting:
    """Sloth's ``alerting`` block: the alerts' *name*, common labels and annotations."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    page: SlothAlert = field(default_factory=SlothAlert)
    ticket: SlothAlert = field(default_factory=SlothAlert)


@dataclass(frozen=True, slots=True)
class SlothSLO:
    """One SLO of a Sloth (or OpenSLO) spec: *service*, the objective itself (*slo*),
    its *labels* (service labels with the SLO's over them), *alerting* (None: no
    alerts) and the *spec* version it came from (``sloth_spec`` of the info series)."""

    service: str
    slo: AvailabilitySLO
    labels: Mapping[str, str] = field(default_factory=dict)
    alerting: SlothAlerting | None = None
    spec: str = "prometheus/v1"

    @property
    def id(self) -> str:
        """``<service>-<slo name>`` (``sloth_id``)."""
        return f"{self.service}-{self.slo.name}"

    @property
    def identity(self) -> dict[str, str]:
        """The ``sloth_id``, ``sloth_service`` and ``sloth_slo`` labels."""
        return {"sloth_id": self.id, "sloth_service": self.service, "sloth_slo": self.slo.name}


def _match(identity: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{escape_label_value(identity[k])}"' for k in _IDENTITY) + "}"


def _alert_expr(tiers: Sequence[BurnRateWindow], match: str, budget: str) -> str:
    def over(window: timedelta, factor: float) -> str:
        record = f"slo:sli_error:ratio_rate{prometheus_duration(window)}"
        return f"max({record}{match} > ({promql_number(factor)} * {budget})) without (sloth_window)"

    pairs = [f"({over(t.short, t.burn_rate)} and {over(t.long, t.burn_rate)})" for t in tiers]
    return " or ".join(pairs)


def sloth_rule_groups(
    spec: SlothSLO, windows: Sequence[BurnRateWindow] = DEFAULT_BURN_RATE_WINDOWS
) -> list[dict[str, Any]]:
    """The three rule groups of *spec* (see the module docstring); *windows* are the
    tiers for a 30-day period, scaled to the SLO's period (severities ``page`` /
    ``critical`` are pages, others tickets)."""
    slo = spec.slo
    identity = spec.identity
    labels = {**spec.labels, **identity}
    match = _match(identity)
    tiers = scaled_windows(slo.period, windows)
    period = prometheus_duration(slo.period)
    objective = Decimal(repr(slo.objective))
    budget = format((Decimal(1) - objective).normalize(), "f")

    recordings: list[dict[str, Any]] = []
    for window in sli_windows(tiers):
        text = prometheus_duration(window)
        if text == period:
            continue
        recordings.append(
            {
                "record": f"slo:sli_error:ratio_rate{text}",
                "expr": slo.sli.error_ratio_query(text),
                "labels": {**labels, "sloth_window": text},
            }
        )
    shortest = recordings[0]["record"]
    period_record = f"slo:sli_error:ratio_rate{period}"
    recordings.append(
        {
            "record": period_record,
            "expr": f"sum_over_time({shortest}{match}[{period}]) / ignoring (sloth_window) "
            f"count_over_time({shortest}{match}[{period}])",
            "labels": {**labels, "sloth_window": period},
        }
    )

    meta = metadata_rules(
        labels, match, ", ".join(_IDENTITY), objective, slo.period, shortest, period_record
    )
    meta.append(
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {
                **labels,
                "sloth_mode": "cli-gen-prom",
                "sloth_spec": spec.spec,
                "sloth_version": f"lexigram-monitor-{__version__}",
                "sloth_objective": format((objective * 100).normalize(), "f"),
            },
        }
    )

    groups: list[dict[str, Any]] = [
        {"name": f"sloth-slo-sli-recordings-{spec.id}", "rules": recordings},
        {"name": f"sloth-slo-meta-recordings-{spec.id}", "rules": meta},
    ]
    alerts = _alerts(spec, tiers, match, budget)
    if alerts:
        groups.append({"name": f"sloth-slo-alerts-{spec.id}", "rules": alerts})
    return groups


def _alerts(
    spec: SlothSLO, tiers: Sequence[BurnRateWindow], match: str, budget: str
) -> list[dict[str, Any]]:
    alerting = spec.alerting
    if alerting is None:
        return []
    rules: list[dict[str, Any]] = []
    for kind, alert in (("page", alerting.page), ("ticket", alerting.ticket)):
        chosen = [t for t in tiers if t.kind == kind]
        if alert.disable or not chosen:
            continue
        what = "page" if kind == "page" else "ticket"
        annotations = {
            "title": f"({what}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}}: "
            "the error budget is burning too fast",
            "summary": f"SLO {spec.slo.name} of {spec.service} is spending its error "
            f"budget fast enough to warrant a {what}",
            **alerting.annotations,
            **alert.annotations,
        }
        rules.append(
            {
                "alert": alerting.name,
                "expr": _alert_expr(chosen, match, budget),
                "labels": {**alerting.labels, **alert.labels, "sloth_severity": kind},
                "annotations": annotations,
            }
        )
    return rules
