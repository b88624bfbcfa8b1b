"""Availability SLO rules from each input format under ``promtool`` (Debian package
``prometheus``): the files pass ``promtool check rules``, and on synthetic request
counters ``promtool test rules`` shows that a fast burn fires only the page alert, a
slow burn only the ticket alert, a healthy service neither, and that the metadata rules
give the expected error budget remaining."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lexigram.monitor.cli.slo import render_rules_file

pytestmark = pytest.mark.integration

OWN = """
slos:
  - name: orders-availability
    objective: 99.9
    window: 30d
    selector: {job: api}
"""
SLOTH = """
version: prometheus/v1
service: shop
labels: {owner: team-orders}
slos:
  - name: orders-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="api",status=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="api"}[{{.window}}]))
    alerting:
      name: OrdersErrorBudgetBurn
      page_alert: {labels: {severity: page}}
      ticket_alert: {labels: {severity: ticket}}
"""
OPENSLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: orders-availability}
spec:
  service: shop
  budgetingMethod: Occurrences
  indicator:
    metadata: {name: orders-good}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec: {query: 'http_requests_total{job="api",status!~"5.."}'}
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'http_requests_total{job="api"}'}
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{target: 0.999}]
"""
# Per format: (spec, alert name, label telling page from ticket, its page and ticket
# values, the labels that select this SLO's series)
FORMATS: dict[str, tuple[str, str, str, tuple[str, str], dict[str, str]]] = {
    "own": (OWN, "SLOErrorBudgetBurn", "severity", ("critical", "warning"),
            {"slo": "orders-availability"}),
    "sloth": (SLOTH, "OrdersErrorBudgetBurn", "sloth_severity", ("page", "ticket"),
              {"sloth_id": "shop-orders-availability"}),
    "openslo": (OPENSLO, "SLOErrorBudgetBurn", "sloth_severity", ("page", "ticket"),
                {"sloth_id": "shop-orders-availability"}),
}  # fmt: skip

STEP = 5  # minutes between samples and rule evaluations: a 5m range holds two samples
HEALTHY = 432  # steps (1.5 days) of history before the burn
BURST = 6  # steps (30 minutes) of the fast burn
EVAL = f"{(HEALTHY + BURST) * STEP}m"


def _series(ok: str, errors: str) -> list[dict[str, str]]:
    return [
        {"series": 'http_requests_total{job="api",route="/orders/{order_id}",status="200"}',
         "values": ok},
        {"series": 'http_requests_total{job="api",route="/orders/{order_id}",status="500"}',
         "values": errors},
    ]  # fmt: skip


# 500 requests a step (100 a minute). Fast: healthy, then 30 minutes at 5 % errors (50x
# the 0.1 % budget over 5m, 25x over 1h, but 1x over 1d). Slow: 0.5 % errors all along
# (5x: above the ticket tiers' 3x and 1x, under the page tiers' 6x and 14.4x).
# Healthy: 0.05 % errors (0.5x).
FAST_BURN = _series(f"0+500x{HEALTHY} {HEALTHY * 500 + 475}+475x{BURST - 1}",
                    f"0+0x{HEALTHY} 25+25x{BURST - 1}")  # fmt: skip
SLOW_BURN = _series(f"0+1990x{HEALTHY + BURST}", f"0+10x{HEALTHY + BURST}")
NO_BURN = _series(f"0+1999x{HEALTHY + BURST}", f"0+1x{HEALTHY + BURST}")


def run_promtool(promtool: str, *args: str) -> str:
    """Run promtool (generous deadline: a rule test evaluates 438 steps and the machine
    may be busy); fail with its output unless it exits 0."""
    done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def _alerts(groups: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for g in groups for r in g["rules"] if r.get("alert") == name]


def _labels(groups: list[dict[str, Any]]) -> dict[str, str]:
    """Labels of the SLO's series (those of its shortest-window SLI rule, no window)."""
    first = next(r for g in groups for r in g["rules"] if "record" in r)
    return {k: v for k, v in first["labels"].items() if k != "sloth_window"}


def _expected(groups: list[dict[str, Any]], fmt: str, kind: str) -> list[dict[str, Any]]:
    """exp_alerts when the *kind* ('page' or 'ticket') tiers fire."""
    _, name, key, (page, ticket), _ = FORMATS[fmt]
    value = page if kind == "page" else ticket
    out = []
    for rule in _alerts(groups, name):
        if rule["labels"][key] != value:
            continue
        if fmt == "own" and kind == "page" and rule["labels"]["long_window"] != "1h":
            continue  # the fast burn is 1x over 6h: only the 1h/5m page tier fires
        labels = {**_labels(groups), **rule["labels"]}
        annotations = {
            key: text.replace("{{$labels.sloth_service}}", labels.get("sloth_service", "")).replace(
                "{{$labels.sloth_slo}}", labels.get("sloth_slo", "")
            )
            for key, text in rule["annotations"].items()
        }
        out.append({"exp_labels": labels, "exp_annotations": annotations})
    return out


@pytest.fixture(params=sorted(FORMATS))
def rules(request: pytest.FixtureRequest, tmp_path: Path, promtool: str) -> tuple[str, Path]:
    """The format's spec rendered by ``slo rules`` (queries checked by this promtool)."""
    fmt = request.param
    spec = tmp_path / f"{fmt}.yml"
    spec.write_text(FORMATS[fmt][0], encoding="utf-8")
    text, _ = render_rules_file(str(spec), promtool=promtool)
    path = tmp_path / f"{fmt}.rules.yml"
    path.write_text(text, encoding="utf-8")
    return fmt, path


def test_generated_rules_pass_promtool_check(rules: tuple[str, Path], promtool: str) -> None:
    """Every generated file is valid for ``promtool check rules``."""
    _, path = rules
    assert "SUCCESS" in run_promtool(promtool, "check", "rules", str(path))


def test_burns_fire_the_right_alert_and_budgets_are_recorded(
    rules: tuple[str, Path], promtool: str, tmp_path: Path
) -> None:
    """Fast burn: page only; slow burn: ticket only; healthy: nothing. The period's
    budget remaining is 1 - 0.5 = 0.5 for the healthy series (0.05 % errors against a
    0.1 % budget), 1 - 5 = -4 for the slow burn, and about 0.32 just after the fast
    burn (see ``_fast_budget``)."""
    fmt, path = rules
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    name, selector = FORMATS[fmt][1], FORMATS[fmt][4]
    match = "{" + ",".join(f'{k}="{v}"' for k, v in selector.items()) + "}"
    # Sloth's period rules keep the sloth_window label of the period's SLI rule.
    remaining = (
        f"round(max without (sloth_window) (slo:period_error_budget_remaining:ratio{match}), 0.001)"
    )
    labels = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(_labels(groups).items())) + "}"

    def case(
        series: list[dict[str, str]], kind: str | None, budget: float | tuple[float, float]
    ) -> dict[str, Any]:
        if isinstance(budget, tuple):
            # Still falling at EVAL: promtool evaluates the rule groups of one step in no
            # fixed order, so the metadata group may read the SLI group's previous step.
            low, high = budget
            expr = f"({remaining} >= bool {low}) * ({remaining} <= bool {high})"
            sample = {"labels": labels, "value": 1}
        else:
            expr, sample = remaining, {"labels": labels, "value": budget}
        return {
            "interval": f"{STEP}m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": EVAL, "alertname": name,
                 "exp_alerts": [] if kind is None else _expected(groups, fmt, kind)},
            ],
            "promql_expr_test": [{"expr": expr, "eval_time": EVAL, "exp_samples": [sample]}],
        }  # fmt: skip

    assert _expected(groups, fmt, "page")
    assert _expected(groups, fmt, "ticket")
    tests = tmp_path / "tests.yml"
    tests.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(path)],
                "evaluation_interval": f"{STEP}m",
                "tests": [
                    case(FAST_BURN, "page", _fast_budget()),
                    case(SLOW_BURN, "ticket", -4.0),
                    case(NO_BURN, None, 0.5),
                ],
            },
            sort_keys=False,
            width=10**6,
        ),
        encoding="utf-8",
    )
    assert "SUCCESS" in run_promtool(promtool, "test", "rules", str(tests))


def _fast_budget() -> tuple[float, float]:
    """Budget left after the fast burn, as read at EVAL: the period ratio is the average
    of the 5m ratios recorded at steps 1 to HEALTHY + BURST (a 5m range holds that step's
    sample and the previous one): 0 before the burn, 5 % during it — or, when the
    metadata group ran before the SLI group of the last step, the same one step earlier.
    Both are accepted (with a margin for the rounding); nothing else is."""

    def left(burst_steps: int) -> float:
        ratios = [0.0] * HEALTHY + [0.05] * burst_steps
        return 1 - (sum(ratios) / len(ratios)) / 0.001

    return round(left(BURST) - 0.001, 3), round(left(BURST - 1) + 0.001, 3)
