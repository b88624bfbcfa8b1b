"""Generated SLO rules under ``promtool`` (Debian package ``prometheus``): they are valid,
and on synthetic histograms they record the right values and fire the right alerts."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from lexigram.monitor.slo import SLO, render_slo_rules, slo_rule_group

pytestmark = pytest.mark.integration

HISTOGRAM = "http_request_duration_seconds"
CHECKOUT = SLO(
    "checkout.p99",
    "http.request.duration",
    0.99,
    200.0,
    timedelta(days=30),
    burn_rate_threshold=1.5,
    description="checkout p99 latency",
)


def run_promtool(promtool: str, *args: str) -> str:
    """Run promtool; fail with its output unless it exits 0."""
    done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def test_promtool_accepts_rules_for_varied_slos(promtool: str, tmp_path: Path) -> None:
    """Rules for short and long windows, odd names, selectors and units pass the checker."""
    slos = [
        CHECKOUT,
        SLO("search.p50", "search-latency", 0.5, 35.5, timedelta(hours=1)),
        SLO('weird "name" \\ here', "rpc.duration", 0.999, 1000.0, timedelta(days=7)),
        SLO("tiny", "jobs", 1.0, 0.5, timedelta(minutes=10)),
    ]
    path = tmp_path / "slo.rules.yml"
    path.write_text(
        render_slo_rules(
            slos,
            histograms={"http.request.duration": HISTOGRAM},
            selector={"job": "api", "env": 'pr"od'},
            interval=timedelta(seconds=30),
        )
    )
    output = run_promtool(promtool, "check", "rules", str(path))
    assert "SUCCESS" in output


def test_millisecond_histograms_pass_the_checker(promtool: str, tmp_path: Path) -> None:
    """unit='milliseconds' rules are valid too."""
    path = tmp_path / "ms.rules.yml"
    path.write_text(render_slo_rules(CHECKOUT, unit="milliseconds", histograms={}))
    assert "SUCCESS" in run_promtool(promtool, "check", "rules", str(path))


def _series(slow_share: int) -> list[dict[str, str]]:
    """Per-minute counters of a histogram with 100 requests/min, *slow_share* % above 0.2 s
    and all of those under 0.5 s."""
    fast = 100 - slow_share
    return [
        {"series": f'{HISTOGRAM}_bucket{{job="api",le="0.1"}}', "values": f"0+{fast // 2}x120"},
        {"series": f'{HISTOGRAM}_bucket{{job="api",le="0.2"}}', "values": f"0+{fast}x120"},
        {"series": f'{HISTOGRAM}_bucket{{job="api",le="0.5"}}', "values": "0+100x120"},
        {"series": f'{HISTOGRAM}_bucket{{job="api",le="+Inf"}}', "values": "0+100x120"},
        {"series": f'{HISTOGRAM}_count{{job="api"}}', "values": "0+100x120"},
    ]


def _expected(group: dict[str, Any], alert: str, severity: str | None = None) -> list[Any]:
    """exp_alerts for every rule of *group* named *alert* (optionally of one severity)."""
    return [
        {"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}
        for rule in group["rules"]
        if rule.get("alert") == alert and severity in (None, rule["labels"]["severity"])
    ]


def test_rules_fire_on_slow_traffic_and_stay_quiet_on_fast(promtool: str, tmp_path: Path) -> None:
    """With 50 % of requests over 200 ms every burn-rate tier and the latency alert fire;
    with 0.5 % nothing fires. The recorded p99 and error ratio have the expected values."""
    group = slo_rule_group(CHECKOUT, histogram=HISTOGRAM, selector={"job": "api"})
    rules_path = tmp_path / "rules.yml"
    rules_path.write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False, width=10**6))

    slow_case = {
        "interval": "1m",
        "input_series": _series(slow_share=50),
        "alert_rule_test": [
            {"eval_time": "90m", "alertname": "SLOErrorBudgetBurn",
             "exp_alerts": _expected(group, "SLOErrorBudgetBurn")},
            {"eval_time": "90m", "alertname": "SLOLatencyThresholdExceeded",
             "exp_alerts": _expected(group, "SLOLatencyThresholdExceeded")},
        ],
        "promql_expr_test": [
            {"expr": 'slo:sli_error:ratio_rate5m{slo="checkout.p99"}', "eval_time": "90m",
             "exp_samples": [{"labels": 'slo:sli_error:ratio_rate5m{slo="checkout.p99"}',
                              "value": 0.5}]},
            # p99 lies in (0.2, 0.5]: 0.2 + 0.3 * (99 - 50) / 50 = 0.494 s
            {"expr": 'round(slo:latency:ms{slo="checkout.p99"})', "eval_time": "90m",
             "exp_samples": [{"labels": '{percentile="0.99",slo="checkout.p99"}',
                              "value": 494}]},
        ],
    }  # fmt: skip
    fast_case = {
        "interval": "1m",
        # 0.5 % slow: half the 1 % budget, so no tier burns faster than 1x
        "input_series": [
            {"series": f'{HISTOGRAM}_bucket{{job="api",le="0.2"}}', "values": "0+199x120"},
            {"series": f'{HISTOGRAM}_bucket{{job="api",le="0.5"}}', "values": "0+200x120"},
            {"series": f'{HISTOGRAM}_bucket{{job="api",le="+Inf"}}', "values": "0+200x120"},
            {"series": f'{HISTOGRAM}_count{{job="api"}}', "values": "0+200x120"},
        ],
        "alert_rule_test": [
            {"eval_time": "90m", "alertname": "SLOErrorBudgetBurn", "exp_alerts": []},
            {"eval_time": "90m", "alertname": "SLOLatencyThresholdExceeded", "exp_alerts": []},
        ],
    }  # fmt: skip
    tests_path = tmp_path / "tests.yml"
    tests_path.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules_path.name],
                "evaluation_interval": "1m",
                "tests": [slow_case, fast_case],
            },
            sort_keys=False,
            width=10**6,
        )
    )
    output = run_promtool(promtool, "test", "rules", str(tests_path))
    assert "SUCCESS" in output
    assert len(_expected(group, "SLOErrorBudgetBurn")) == 4
