"""Rules in Sloth's conventions: groups, rule names, labels, metadata and the two alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lexigram.monitor.slo import (
    AvailabilitySLO,
    EventsSLI,
    SlothAlert,
    SlothAlerting,
    SlothSLO,
    sloth_rule_groups,
)

SLI = EventsSLI(
    'sum(rate(http_requests_total{job="api"}[{{.window}}]))',
    error_query='sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))',
)
IDENTITY = {"sloth_id": "api-requests", "sloth_service": "api", "sloth_slo": "requests"}


def spec(period: timedelta = timedelta(days=30), **kwargs: Any) -> SlothSLO:
    fields: dict[str, Any] = {
        "service": "api",
        "slo": AvailabilitySLO("requests", 0.999, period, SLI),
        "labels": {"owner": "team"},
        "alerting": SlothAlerting(
            "APIHighErrorRate",
            labels={"category": "availability"},
            annotations={"runbook": "https://runbooks/api"},
            page=SlothAlert(labels={"severity": "pager"}),
            ticket=SlothAlert(labels={"severity": "slack"}),
        ),
    }
    fields.update(kwargs)
    return SlothSLO(**fields)


def records(group: dict[str, Any]) -> list[str]:
    return [r["record"] for r in group["rules"]]


def test_three_groups_named_after_the_sloth_id() -> None:
    """SLI recordings, metadata recordings and alerts, as Sloth names them."""
    groups = sloth_rule_groups(spec())
    assert [g["name"] for g in groups] == [
        "sloth-slo-sli-recordings-api-requests",
        "sloth-slo-meta-recordings-api-requests",
        "sloth-slo-alerts-api-requests",
    ]


def test_sli_rules_for_every_window_and_the_period() -> None:
    """Sloth's windows for 30 days, each labelled sloth_window; the period averages the
    5m ratio."""
    sli = sloth_rule_groups(spec())[0]
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert records(sli) == [f"slo:sli_error:ratio_rate{w}" for w in windows]
    first = sli["rules"][0]
    assert first["labels"] == {"owner": "team", **IDENTITY, "sloth_window": "5m"}
    assert first["expr"] == (
        '(sum(rate(http_requests_total{job="api",code=~"5.."}[5m]))) / '
        '(sum(rate(http_requests_total{job="api"}[5m])))'
    )
    period = sli["rules"][-1]["expr"]
    assert period.startswith("sum_over_time(slo:sli_error:ratio_rate5m{sloth_id=")
    assert "/ ignoring (sloth_window) count_over_time(" in period


def test_metadata_rules_and_info() -> None:
    """Objective, budget, period in days, burn rates, budget remaining and sloth_slo_info."""
    meta = sloth_rule_groups(spec())[1]
    assert records(meta) == [
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ]
    rules = {r["record"]: r for r in meta["rules"]}
    assert rules["slo:objective:ratio"]["expr"] == "vector(0.999)"
    assert rules["slo:error_budget:ratio"]["expr"] == "vector(0.001)"
    assert rules["slo:time_period:days"]["expr"] == "vector(30)"
    assert (
        "on(sloth_id, sloth_service, sloth_slo) group_left"
        in (rules["slo:period_burn_rate:ratio"]["expr"])
    )
    info = rules["sloth_slo_info"]["labels"]
    assert info["sloth_objective"] == "99.9"
    assert info["sloth_spec"] == "prometheus/v1"
    assert info["sloth_mode"] == "cli-gen-prom"


def test_page_and_ticket_alerts_with_their_window_pairs() -> None:
    """One page alert (14.4x 5m/1h or 6x 30m/6h), one ticket (3x 2h/1d or 1x 6h/3d)."""
    page, ticket = sloth_rule_groups(spec())[2]["rules"]
    assert page["alert"] == ticket["alert"] == "APIHighErrorRate"
    assert page["labels"] == {"category": "availability", "severity": "pager",
                              "sloth_severity": "page"}  # fmt: skip
    assert ticket["labels"]["sloth_severity"] == "ticket"
    assert page["annotations"]["runbook"] == "https://runbooks/api"
    for record, factor in (("5m", "14.4"), ("1h", "14.4"), ("30m", "6"), ("6h", "6")):
        assert f"slo:sli_error:ratio_rate{record}{{" in page["expr"]
        assert f"> ({factor} * 0.001)) without (sloth_window)" in page["expr"]
    for record in ("2h", "1d", "6h", "3d"):
        assert f"slo:sli_error:ratio_rate{record}{{" in ticket["expr"]
    assert page["expr"].count(" or ") == 1


def test_windows_scale_with_the_period() -> None:
    """A 7-day period scales every window by 7/30 (5m -> 1m10s, 1h -> 14m)."""
    sli = sloth_rule_groups(spec(period=timedelta(days=7)))[0]
    assert records(sli)[:3] == [
        "slo:sli_error:ratio_rate1m10s",
        "slo:sli_error:ratio_rate7m",
        "slo:sli_error:ratio_rate14m",
    ]
    assert records(sli)[-1] == "slo:sli_error:ratio_rate7d"


def test_disabled_and_missing_alerts() -> None:
    """A disabled alert is left out; without alerting there is no alert group."""
    alerting = SlothAlerting("X", page=SlothAlert(disable=True))
    (ticket,) = sloth_rule_groups(spec(alerting=alerting))[2]["rules"]
    assert ticket["labels"]["sloth_severity"] == "ticket"
    assert len(sloth_rule_groups(spec(alerting=None))) == 2
