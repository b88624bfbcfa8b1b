"""``slo rules`` on Sloth and OpenSLO specs and availability SLOs of our own format, and
the bad input every format refuses (exit 2, a message naming document, SLO and field,
no output file)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from lexigram.monitor.cli import main
from lexigram.monitor.cli.slo import EXIT_OK, EXIT_UNUSABLE

SLOTH = """
version: prometheus/v1
service: shop
labels: {owner: team}
slos:
  - name: requests-availability
    objective: 99.9
    labels: {tier: "1"}
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="shop",status=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="shop"}[{{.window}}]))
    alerting:
      name: ShopHighErrorRate
      page_alert: {labels: {severity: page}}
      ticket_alert: {disable: true}
"""
OPENSLO_V1 = """
apiVersion: openslo/v1
kind: Service
metadata: {name: web}
spec: {description: the web tier}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: web-good}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{status!~"5.."}'}}}
    total: {metricSource: {type: Prometheus, spec: {query: http_requests_total}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: web-availability}
spec:
  service: web
  indicatorRef: web-good
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: strict, target: 0.999}, {displayName: loose, target: 0.99}]
"""
OPENSLO_V1ALPHA = """
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: slo1}
spec:
  service: svc01
  budgetingMethod: Occurrences
  objectives:
    - ratioMetrics:
        good: {source: prometheus, queryType: promql,
               query: 'sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))'}
        total: {source: prometheus, queryType: promql,
                query: 'sum(rate(http_requests_total[{{.window}}]))'}
      target: 0.99
  timeWindows: [{count: 7, unit: Day, isRolling: true}]
"""
LATENCY_V1 = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-latency}
spec:
  service: api
  indicator:
    metadata: {name: fast}
    spec:
      thresholdMetric:
        metricSource: {type: Prometheus, spec: {query: 'http_request_duration_seconds{job="api"}'}}
  timeWindow: [{duration: 30d}]
  objectives: [{op: lte, value: 0.25, target: 0.99}]
"""
OWN = """
selector: {job: api}
slos:
  - name: checkout
    objective: 99.5
    window: 30d
    sli: {requests: {route: /checkout}}
  - name: search
    objective: 99
    window: 7d
    sli:
      events:
        error_query: sum(rate(search_errors_total[{{.window}}]))
        total_query: sum(rate(search_total[{{.window}}]))
"""


def _file(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _rules(capsys: pytest.CaptureFixture[str], path: str, *args: str) -> Any:
    assert main(["slo", "rules", path, "--promtool", "true", *args]) == EXIT_OK
    return yaml.safe_load(capsys.readouterr().out)


def _error(capsys: pytest.CaptureFixture[str], path: str, *args: str) -> str:
    assert main(["slo", "rules", path, "--promtool", "true", *args]) == EXIT_UNUSABLE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    return captured.err


def _rules_of(doc: Any) -> dict[str, list[dict[str, Any]]]:
    return {g["name"]: g["rules"] for g in doc["groups"]}


def test_sloth_spec_follows_sloths_conventions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sloth's groups, sloth_* labels with the spec's labels, and only the enabled alert."""
    groups = _rules_of(_rules(capsys, _file(tmp_path, SLOTH)))
    sloth_id = "shop-requests-availability"
    kinds = ("sli-recordings", "meta-recordings", "alerts")
    assert list(groups) == [f"sloth-slo-{kind}-{sloth_id}" for kind in kinds]
    first = groups[f"sloth-slo-sli-recordings-{sloth_id}"][0]
    assert first["labels"] == {"owner": "team", "tier": "1", "sloth_id": sloth_id,
                               "sloth_service": "shop", "sloth_slo": "requests-availability",
                               "sloth_window": "5m"}  # fmt: skip
    (page,) = groups[f"sloth-slo-alerts-{sloth_id}"]
    assert page["labels"] == {"severity": "page", "sloth_severity": "page"}


def test_sloth_period_comes_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--default-slo-period scales the windows (7d: 5m -> 1m10s)."""
    doc = _rules(capsys, _file(tmp_path, SLOTH), "--default-slo-period", "7d")
    records = [r["record"] for r in doc["groups"][0]["rules"]]
    assert records[0] == "slo:sli_error:ratio_rate1m10s"
    assert records[-1] == "slo:sli_error:ratio_rate7d"


def test_openslo_v1_with_an_indicator_reference_and_two_objectives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Service documents are skipped, SLI documents resolved; two objectives make two
    SLOs; counter selectors are wrapped in sum(rate(...[window]))."""
    groups = _rules_of(_rules(capsys, _file(tmp_path, OPENSLO_V1)))
    names = [name for name in groups if name.startswith("sloth-slo-sli-recordings-")]
    assert names == ["sloth-slo-sli-recordings-web-web-availability-strict",
                     "sloth-slo-sli-recordings-web-web-availability-loose"]  # fmt: skip
    first = groups[names[0]][0]
    assert first["record"] == "slo:sli_error:ratio_rate4m40s"  # 5m x 28/30
    assert first["expr"] == (
        '1 - ((sum(rate(http_requests_total{status!~"5.."}[4m40s]))) / '
        "(sum(rate(http_requests_total[4m40s]))))"
    )
    alerts = groups["sloth-slo-alerts-web-web-availability-strict"]
    assert [a["labels"]["sloth_severity"] for a in alerts] == ["page", "ticket"]
    assert {a["alert"] for a in alerts} == {"SLOErrorBudgetBurn"}
    info = next(r for r in groups["sloth-slo-meta-recordings-web-web-availability-strict"]
                if r["record"] == "sloth_slo_info")  # fmt: skip
    assert info["labels"]["sloth_spec"] == "openslo/v1"


def test_openslo_v1alpha_as_sloth_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ratioMetrics good/total with {{.window}}, a 7-day time window, target 0.99."""
    groups = _rules_of(_rules(capsys, _file(tmp_path, OPENSLO_V1ALPHA)))
    meta = groups["sloth-slo-meta-recordings-svc01-slo1"]
    by_name = {r["record"]: r["expr"] for r in meta}
    assert by_name["slo:objective:ratio"] == "vector(0.99)"
    assert by_name["slo:time_period:days"] == "vector(7)"


def test_openslo_threshold_metric_is_a_latency_slo_over_a_histogram(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A thresholdMetric on a histogram counts observations above the bucket bound."""
    groups = _rules_of(_rules(capsys, _file(tmp_path, LATENCY_V1)))
    first = groups["sloth-slo-sli-recordings-api-api-latency"][0]
    assert first["expr"] == (
        '1 - (sum(rate(http_request_duration_seconds_bucket{job="api",le=~"0[.]25"}[5m])) / '
        'sum(rate(http_request_duration_seconds_count{job="api"}[5m])))'
    )


def test_own_format_availability_slos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Availability entries render our own group: SLI rules labelled slo, four
    SLOErrorBudgetBurn tiers and the metadata rules."""
    groups = _rules_of(_rules(capsys, _file(tmp_path, OWN)))
    checkout = groups["slo:checkout"]
    ratio = next(r for r in checkout if r.get("record") == "slo:sli_error:ratio_rate5m")
    assert 'http_requests_total{job="api",route="/checkout",status=~"5.."}[5m]' in ratio["expr"]
    assert ratio["labels"] == {"slo": "checkout"}
    assert len([r for r in checkout if r.get("alert") == "SLOErrorBudgetBurn"]) == 4
    remaining = next(r for r in checkout
                     if r.get("record") == "slo:period_error_budget_remaining:ratio")  # fmt: skip
    assert remaining["expr"] == '1 - slo:period_burn_rate:ratio{slo="checkout"}'
    search = groups["slo:search"]
    assert any("search_errors_total[7m]" in r.get("expr", "") for r in search)  # 30m x 7/30


SLOTH_ENTRY = SLOTH.split("slos:")[0] + "slos:"


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (SLOTH.replace("prometheus/v1", "prometheus/v2"), (),
         "spec.yaml: field 'version' 'prometheus/v2' is not a known spec version"),
        (OPENSLO_V1ALPHA.replace("openslo/v1alpha", "openslo/v2"), (),
         "field 'apiVersion' 'openslo/v2' is not a known spec version"),
        ("apiVersion: openslo/v1\n" + SLOTH, (), "mixes formats"),
        (SLOTH + "---\n" + OPENSLO_V1ALPHA, (),
         "document 1 is Sloth (version: prometheus/v1) but document 2 is OpenSLO"),
        (OWN + "---\n" + SLOTH, (), "mixes formats"),
        (SLOTH.replace("99.9", "100"), (),
         "slos[0] ('requests-availability'): field 'objective' 100 is invalid"),
        (SLOTH.replace("99.9", "0"), (), "field 'objective' 0 is invalid"),
        (OWN.replace("99.5", "100.5"), (), "slos[0]: field 'objective' 100.5 is invalid"),
        (OPENSLO_V1ALPHA.replace("0.99", "1.0"), (),
         "SLO 'slo1': spec.objectives[0]: field 'target' 1.0 is invalid"),
        (SLOTH, ("--default-slo-period", "1h"),
         "period 1h (--default-slo-period): the shortest alert window"),
        (OWN, ("--scrape-interval", "10m"),
         "slos[0] ('checkout'): field 'window': the shortest alert window"),
        (LATENCY_V1.replace("0.25", "0.3"), (),
         "field 'value' 0.3 is not a bucket bound of the histogram"),
        ("slos:\n  - {name: a, metric: m, percentile: 0.9, threshold_ms: 300, window: 1d}\n",
         (), "slos[0] ('a'): SLO 'a': threshold_ms (seconds) 0.3 is not a bucket bound"),
        (SLOTH.replace("events:", "plugin: {id: x}\n      x:"), (), "field 'sli.plugin'"),
        (SLOTH.replace("name: ShopHighErrorRate", "labels: {}"), (),
         "field 'alerting'.name must be a non-empty string"),
        (SLOTH.replace("[{{.window}}]))\n        total", "[5m]))\n        total"), (),
         "field 'sli.events': error_query"),
        (SLOTH_ENTRY + " []\n", (), "field 'slos' must be a non-empty list"),
        (OPENSLO_V1.replace("indicatorRef: web-good", "indicatorRef: nope"), (),
         "field 'spec.indicatorRef' 'nope' names no 'kind: SLI' document"),
        (OPENSLO_V1.replace("counter: true", "counter: false"), (),
         "has no [{{.window}}] range"),
        (OPENSLO_V1ALPHA.replace("unit: Day", "unit: Month"), (), "'Month' is not supported"),
        ("apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: {name: x}\n", (),
         "field 'kind' 'AlertPolicy' is not supported"),
    ],
)  # fmt: skip
def test_bad_specs_name_document_slo_and_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    args: tuple[str, ...],
    expected: str,
) -> None:
    """Each bad spec exits 2 with a message naming where the problem is; an --output
    file is not created."""
    target = tmp_path / "out.rules.yml"
    err = _error(capsys, _file(tmp_path, text), *args, "--output", str(target))
    assert expected in err
    assert not target.exists()


def _fake_promtool(tmp_path: Path, output: str, code: int) -> str:
    script = tmp_path / "promtool"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {code}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_query_promtool_rejects_is_reported_with_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """promtool's error for a query becomes an error naming the document, the SLO and the
    field the query came from; the old output file is left untouched."""
    promtool = _fake_promtool(
        tmp_path,
        'x.yml: 9:11: group "lexigram-query-check", rule 2, "lexigram_query_check_1": '
        "could not parse expression: 1:24: parse error: unclosed left parenthesis",
        1,
    )
    target = tmp_path / "out.rules.yml"
    target.write_text("old", encoding="utf-8")
    path = _file(tmp_path, SLOTH)
    assert main(["slo", "rules", path, "--promtool", promtool, "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert (
        "spec.yaml: slos[0] ('requests-availability'): field 'sli.events.total_query': "
        "promtool rejects the query: could not parse expression" in err
    )
    assert target.read_text(encoding="utf-8") == "old"


def test_a_missing_promtool_is_said_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without promtool the rules are written and stderr says the queries were not
    checked; a --promtool that does not exist is an error."""
    monkeypatch.setenv("PATH", str(tmp_path))
    path = _file(tmp_path, SLOTH)
    assert main(["slo", "rules", path]) == EXIT_OK
    assert "the queries were not checked: promtool was not found" in capsys.readouterr().err
    assert main(["slo", "rules", path, "--promtool", str(tmp_path / "none")]) == EXIT_UNUSABLE
    assert "is not an executable file" in capsys.readouterr().err
