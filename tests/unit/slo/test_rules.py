"""Prometheus rule generation for SLOs (promtool validates them in tests/integration)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor.slo import SLO, BurnRateWindow, render_slo_rules, slo_rule_group
from lexigram.monitor.slo.rules import _le_pattern, prometheus_duration
from tests._support import modules_loaded_by

from ._slos import example_slo

THIRTY_DAYS = timedelta(days=30)


def slo(**overrides: Any) -> SLO:
    """The example SLO over a 30-day window, the usual SLO period."""
    return example_slo(**{"window": THIRTY_DAYS, **overrides})


def by_name(group: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["record"]: r for r in group["rules"] if "record" in r}


def alerts(group: dict[str, Any], name: str = "SLOErrorBudgetBurn") -> list[dict[str, Any]]:
    return [r for r in group["rules"] if r.get("alert") == name]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=30), "30d"),
        (timedelta(seconds=1.5), "1s500ms"),
        (timedelta(days=1, seconds=1), "1d1s"),
    ],
)
def test_prometheus_duration(value: timedelta, text: str) -> None:
    """Durations use Prometheus units, largest first."""
    assert prometheus_duration(value) == text


def test_prometheus_duration_refuses_sub_millisecond() -> None:
    """Durations below 1ms cannot be written in PromQL."""
    with pytest.raises(ValueError, match="at least 1ms"):
        prometheus_duration(timedelta(microseconds=100))


@given(st.integers(min_value=1, max_value=10**12))
def test_prometheus_duration_round_trips(ms: int) -> None:
    """Parsing the text back gives the same number of milliseconds."""
    text = prometheus_duration(timedelta(milliseconds=ms))
    assert re.fullmatch(r"(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?", text)
    sizes = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
    total = sum(int(n) * sizes[u] for n, u in re.findall(r"(\d+)(ms|d|h|m|s)", text))
    assert total == ms


@pytest.mark.parametrize(
    ("bound", "matches", "rejects"),
    [
        (0.2, ["0.2"], ["0x2", "0.25", "10.2"]),
        (1.0, ["1.0", "1"], ["10", "1.05", "11.0"]),
        (200.0, ["200.0", "200"], ["2000"]),
        (1e-05, ["1e-05"], ["1e-050"]),
    ],
)
def test_le_pattern_matches_python_and_go_formatting(
    bound: float, matches: list[str], rejects: list[str]
) -> None:
    """The le matcher accepts the bound as prometheus_client or Go clients print it."""
    pattern = _le_pattern(bound)
    for text in matches:
        assert re.fullmatch(pattern, text), text
    for text in rejects:
        assert not re.fullmatch(pattern, text), text


def test_thirty_day_slo_uses_the_workbook_windows() -> None:
    """A 30-day SLO gets 1h/5m, 6h/30m (critical) and 1d/2h, 3d/6h (warning) tiers."""
    group = slo_rule_group(slo())
    assert group["name"] == "slo:api.p99_latency"
    tiers = [
        (a["labels"]["long_window"], a["labels"]["short_window"], a["labels"]["severity"])
        for a in alerts(group)
    ]
    assert tiers == [
        ("1h", "5m", "critical"),
        ("6h", "30m", "critical"),
        ("1d", "2h", "warning"),
        ("3d", "6h", "warning"),
    ]
    first = alerts(group)[0]
    assert first["expr"] == (
        'slo:sli_error:ratio_rate1h{slo="api.p99_latency"} > (14.4 * 0.01) and '
        'slo:sli_error:ratio_rate5m{slo="api.p99_latency"} > (14.4 * 0.01)'
    )
    assert first["labels"]["slo"] == "api.p99_latency"


METADATA = (
    "slo:objective:ratio",
    "slo:error_budget:ratio",
    "slo:time_period:days",
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
)


def test_error_ratio_recording_rules() -> None:
    """Each window is recorded once: share of observations above the threshold bucket;
    the period's ratio and Sloth's metadata rules follow."""
    records = by_name(slo_rule_group(slo(), selector={"job": "api"}))
    windows = ("1h", "5m", "6h", "30m", "1d", "2h", "3d", "30d")
    assert sorted(records) == sorted(
        ["slo:latency:ms", *(f"slo:sli_error:ratio_rate{w}" for w in windows), *METADATA]
    )
    rule = records["slo:sli_error:ratio_rate5m"]
    assert rule["expr"] == (
        '1 - (sum(rate(http_request_duration_bucket{job="api",le=~"0[.]2"}[5m])) / '
        'sum(rate(http_request_duration_count{job="api"}[5m])))'
    )
    assert rule["labels"] == {"slo": "api.p99_latency"}


def test_latency_percentile_rule_mirrors_the_in_process_rule() -> None:
    """The percentile is recorded in ms and alerts iff > threshold and ratio >= burn rate."""
    group = slo_rule_group(slo(burn_rate_threshold=1.5, description="checkout p99"))
    record = by_name(group)["slo:latency:ms"]
    assert record["expr"] == (
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_bucket{}[30d]))) * 1000"
    )
    assert record["labels"] == {"slo": "api.p99_latency", "percentile": "0.99"}
    (alert,) = alerts(group, "SLOLatencyThresholdExceeded")
    assert alert["expr"] == (
        'slo:latency:ms{slo="api.p99_latency"} > 200 and '
        '(slo:latency:ms{slo="api.p99_latency"} / 200) >= 1.5'
    )
    assert alert["annotations"]["description"] == "checkout p99"


def test_millisecond_histograms_are_not_rescaled() -> None:
    """unit='milliseconds' matches le on the threshold itself and skips the * 1000."""
    group = slo_rule_group(slo(), unit="milliseconds", histogram="rpc_latency_ms")
    records = by_name(group)
    assert (
        'rpc_latency_ms_bucket{le=~"200[.]0|200"}' in records["slo:sli_error:ratio_rate1h"]["expr"]
    )
    assert not records["slo:latency:ms"]["expr"].endswith("* 1000")


def test_short_slo_windows_scale_and_clamp_without_duplicates() -> None:
    """Windows scale with the SLO window, are clamped to min_window and never repeat."""
    group = slo_rule_group(slo(window=timedelta(hours=1), percentile=0.999))
    keys = [tuple(sorted(a["labels"].items())) for a in alerts(group)]
    assert len(keys) == len(set(keys))
    tiers = [
        (
            a["labels"]["long_window"],
            a["labels"]["short_window"],
            a["labels"]["severity"],
            re.findall(r"\(([\d.]+) \* 0\.001\)", a["expr"])[0],
        )
        for a in alerts(group)
    ]
    # 1h/720 = 5s and 6h/720 = 30s both clamp to 1m: the lower burn rate (6) is kept.
    assert tiers == [
        ("1m", "1m", "critical", "6"),
        ("2m", "1m", "warning", "3"),
        ("6m", "1m", "warning", "1"),
    ]
    assert " and " not in alerts(group)[0]["expr"]


def test_custom_windows_and_interval() -> None:
    """Tiers and the evaluation interval can be chosen."""
    tier = BurnRateWindow(timedelta(hours=2), timedelta(minutes=10), 10.0, "page")
    group = slo_rule_group(slo(), windows=[tier], interval=timedelta(seconds=30))
    assert group["interval"] == "30s"
    (alert,) = alerts(group)
    assert alert["labels"]["severity"] == "page"
    assert alert["labels"]["long_window"] == "2h"


def test_selector_values_are_escaped() -> None:
    """Quotes and backslashes in selector values cannot break the PromQL."""
    group = slo_rule_group(slo(), selector={"job": 'a"b\\c'})
    assert 'job="a\\"b\\\\c"' in by_name(group)["slo:latency:ms"]["expr"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"selector": {"le": "1"}}, "selector label 'le'"),
        ({"selector": {"__name__": "x"}}, "label name '__name__' of metric 'selector'"),
        ({"selector": {"bad-name": "x"}}, "label name 'bad-name'"),
        ({"selector": {"job": 1}}, "non-string"),
        ({"histogram": "9lives"}, "histogram name for SLO 'api.p99_latency': metric name '9lives'"),
        ({"unit": "minutes"}, "unit"),
        ({"min_window": timedelta(0)}, "min_window"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, Any], match: str) -> None:
    """Invalid selectors, names, units and windows raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        slo_rule_group(slo(), **kwargs)


def test_a_derived_histogram_name_must_be_valid() -> None:
    """The SLO metric turned into a metric name ('.'/'-' -> '_') must match the rule."""
    assert "orders_latency_bucket" in render_slo_rules(slo(metric="orders-latency"))
    with pytest.raises(ValueError, match=r"metric name '9\.lives' is invalid"):
        slo_rule_group(slo(metric="9.lives"))


@pytest.mark.parametrize(
    ("long", "short", "burn"),
    [(timedelta(minutes=5), timedelta(hours=1), 1.0), (timedelta(0), timedelta(0), 1.0),
     (timedelta(hours=1), timedelta(minutes=5), 0.0)],
)  # fmt: skip
def test_bad_burn_rate_windows_are_refused(long: timedelta, short: timedelta, burn: float) -> None:
    """short <= long, both positive, and a positive burn rate."""
    with pytest.raises(ValueError, match="invalid"):
        BurnRateWindow(long, short, burn, "critical")


def test_render_writes_one_group_per_slo() -> None:
    """The YAML file has a group per SLO; histogram names come from the mapping."""
    text = render_slo_rules(
        [slo(), slo(name="search.p50", metric="search", percentile=0.5, threshold_ms=50.0)],
        histograms={"search": "search_duration_seconds"},
    )
    doc = yaml.safe_load(text)
    assert [g["name"] for g in doc["groups"]] == ["slo:api.p99_latency", "slo:search.p50"]
    assert "search_duration_seconds_bucket" in text
    assert "http_request_duration_bucket" in text
    counts = Counter(r.get("alert") for g in doc["groups"] for r in g["rules"])
    assert counts["SLOLatencyThresholdExceeded"] == 2


def test_render_accepts_a_single_slo_and_refuses_duplicate_names() -> None:
    """One SLO is fine; two SLOs with one name are refused."""
    assert yaml.safe_load(render_slo_rules(slo()))["groups"][0]["name"] == "slo:api.p99_latency"
    with pytest.raises(ValueError, match="unique"):
        render_slo_rules([slo(), slo()])


def test_importing_slo_does_not_import_yaml() -> None:
    """PyYAML is imported only when a rule file is rendered."""
    assert modules_loaded_by("import lexigram.monitor.slo", ["yaml"]) == []
