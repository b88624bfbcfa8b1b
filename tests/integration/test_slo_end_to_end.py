"""End to end: an availability SLO from a Sloth spec, through a real Prometheus and a real
Alertmanager, to a webhook — and the same burn seen by ``slo check`` and in process.

The demo app runs under uvicorn with background traffic; a real Prometheus scrapes it
every second and evaluates the rules ``slo rules`` generated from a Sloth spec (period
1 day, so the page windows are 2m and 10s); a real Alertmanager routes alerts to a
loopback webhook. Turning the demo's fault switch on (half of the requests fail) makes
the page alert arrive with Sloth's labels; ``slo check`` and the demo's in-process
``SLOMonitor`` report the same burn.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from lexigram.monitor.cli._demo_app import DemoService, build_demo
from lexigram.monitor.cli._slo_spec import SpecOptions
from lexigram.monitor.cli.slo import EXIT_FIRING, render_rules_file, run_check
from lexigram.monitor.metrics import MetricsCollector, set_exemplar_source

from ._servers import AlertmanagerServer, StartPrometheus, free_port, host_port
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

PERIOD = timedelta(days=1)
OPTIONS = SpecOptions(default_period=PERIOD, scrape_interval=timedelta(seconds=1))
ORDERS = 'http_requests_total{job="app",route="/orders/{order_id}"'
SPEC = f"""
version: prometheus/v1
service: lexigram-demo
labels: {{owner: shop-team}}
slos:
  - name: orders-availability
    objective: 99
    description: Order lookups answer without a server error.
    sli:
      events:
        # "or vector(0)": no 5xx series exists until the first failure
        error_query: sum(rate({ORDERS},status=~"5.."}}[{{{{.window}}}}])) or vector(0)
        total_query: sum(rate({ORDERS}}}[{{{{.window}}}}]))
    alerting:
      name: DemoOrdersErrorBudgetBurn
      page_alert: {{labels: {{severity: critical}}}}
      ticket_alert: {{labels: {{severity: warning}}}}
"""
SLOTH_LABELS = {
    "alertname": "DemoOrdersErrorBudgetBurn",
    "sloth_severity": "page",
    "sloth_service": "lexigram-demo",
    "sloth_slo": "orders-availability",
    "sloth_id": "lexigram-demo-orders-availability",
    "owner": "shop-team",
    "severity": "critical",
}


@pytest.fixture
def demo(uvicorn_server: ServeApp) -> Iterator[tuple[DemoService, str]]:
    """The demo under uvicorn, ~40 requests/s of its own traffic, SLO period 1 day."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service = build_demo(
        spans_stream=None,
        traffic_client=lambda: httpx.AsyncClient(base_url=base, timeout=5.0, trust_env=False),
        traffic_rate=40.0,
        collector=MetricsCollector(),
        slo_period=PERIOD,
        slo_interval=0.5,
    )
    url = uvicorn_server(service.app, port)
    yield service, url
    set_exemplar_source(None)


def _page(body: Any) -> bool:
    return any(
        alert.get("status") == "firing"
        and all(alert["labels"].get(k) == v for k, v in SLOTH_LABELS.items())
        for alert in body.get("alerts", [])
    )


def test_faults_page_through_alertmanager_and_every_view_agrees(
    demo: tuple[DemoService, str],
    prometheus_server: StartPrometheus,
    alertmanager_server: AlertmanagerServer,
    tmp_path: Path,
    promtool: str,
) -> None:
    """Healthy traffic pages nobody; with half of the requests failing, the page alert
    (and only alerts of this SLO) reaches the webhook with the Sloth labels, ``slo
    check`` reports the page firing with burn rates near 50 (50 % errors against a 1 %
    budget) and the in-process monitor reports the same."""
    service, url = demo
    spec = tmp_path / "orders.slo.yml"
    spec.write_text(SPEC, encoding="utf-8")
    text, _ = render_rules_file(str(spec), OPTIONS, promtool=promtool)
    rules = tmp_path / "orders.rules.yml"
    rules.write_text(text, encoding="utf-8")
    prometheus = prometheus_server(
        [host_port(url)], scrape_interval="1s", rule_files=[rules],
        alertmanager=alertmanager_server.url,
    )  # fmt: skip

    # Healthy: the SLI is recorded (order lookups never fail with 5xx), nothing fires.
    prometheus.wait_for('slo:sli_error:ratio_rate10s{sloth_slo="orders-availability"} == 0')
    assert prometheus.query('ALERTS{alertname="DemoOrdersErrorBudgetBurn"}') == []

    response = httpx.post(f"{url}/-/faults", params={"share": "0.5"}, trust_env=False)
    assert response.json() == {"share": 0.5}

    body = alertmanager_server.webhook.wait_for(_page, timeout=90.0)
    names = {alert["labels"]["alertname"] for alert in body["alerts"]}
    assert names == {"DemoOrdersErrorBudgetBurn"}

    # Once the 10s window holds only faulty traffic, the burn rate is near 50.
    code, checked = _check_until(spec, prometheus.url, lambda c: c["burn_rates"]["10s"] > 35)
    assert code == EXIT_FIRING
    assert checked["name"] == "lexigram-demo-orders-availability"
    assert checked["page"] is True
    page_pair = checked["pairs"][0]
    assert (page_pair["long"], page_pair["short"], page_pair["alert"]) == ("2m", "10s", "page")
    assert checked["burn_rates"]["10s"] < 65, checked

    table = io.StringIO()
    assert run_check(str(spec), prometheus.url, options=OPTIONS, out=table) == EXIT_FIRING
    assert "alerts: page FIRING" in table.getvalue()
    assert re.search(r"2m / 10s\s+page\s+14.4x\s+[\d.]+x\s+[\d.]+x\s+FIRING", table.getvalue())

    status = _in_process_page(service)
    assert 35 < status.burn_rates["10s"] < 65, status
    assert abs(status.burn_rates["10s"] - checked["burn_rates"]["10s"]) < 15, (status, checked)
    assert status.error_budget_remaining is not None
    assert status.error_budget_remaining < 1.0


def _check_until(spec: Path, url: str, done: Any, timeout: float = 30.0) -> tuple[int, Any]:
    """Run ``slo check --json`` until *done* holds for its one SLO; (exit code, SLO)."""
    deadline = time.monotonic() + timeout
    while True:
        out = io.StringIO()
        code = run_check(str(spec), url, options=OPTIONS, as_json=True, out=out)
        (checked,) = json.loads(out.getvalue())["slos"]
        if done(checked) or time.monotonic() >= deadline:
            assert done(checked), checked
            return code, checked
        time.sleep(0.5)


def _in_process_page(service: DemoService, timeout: float = 30.0) -> Any:
    """The demo monitor's status of the orders SLO once its page fires."""
    deadline = time.monotonic() + timeout
    while True:
        (status,) = service.slo_monitor.status()
        if (status.page and status.burn_rates["10s"] > 35) or time.monotonic() >= deadline:
            assert status.page, status
            return status
        time.sleep(0.25)
