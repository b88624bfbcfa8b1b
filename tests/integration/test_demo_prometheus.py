"""End to end: a real Prometheus 2.42 scrapes the demo service under uvicorn."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lexigram.monitor.cli._demo_app import DemoService, build_demo
from lexigram.monitor.metrics import MetricsCollector, set_exemplar_source

from ._servers import PrometheusServer, StartPrometheus, free_port, host_port
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

ORDER_ROUTE = "/orders/{order_id}"
P90 = "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))"


@pytest.fixture
def demo(uvicorn_server: ServeApp) -> Iterator[tuple[DemoService, str]]:
    """The demo app under uvicorn on a free loopback port, sending itself ~40 requests/s."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service = build_demo(
        spans_stream=None,
        traffic_client=lambda: httpx.AsyncClient(base_url=base, timeout=5.0, trust_env=False),
        traffic_rate=40.0,
        collector=MetricsCollector(),
    )
    url = uvicorn_server(service.app, port)
    yield service, url
    set_exemplar_source(None)


@pytest.fixture
def prometheus(
    prometheus_server: StartPrometheus, demo: tuple[DemoService, str]
) -> PrometheusServer:
    """Prometheus scraping the demo every second, with exemplar storage on."""
    _, url = demo
    return prometheus_server(
        [host_port(url)], scrape_interval="1s", extra_flags=["--enable-feature=exemplar-storage"]
    )


def _poll(what: str, probe: Any, timeout: float = 30.0, interval: float = 0.25) -> Any:
    """Call *probe* until it returns something truthy; fail after *timeout* s."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: nothing within {timeout:.0f} s")
        time.sleep(interval)


def test_prometheus_scrapes_the_demo(
    prometheus: PrometheusServer, demo: tuple[DemoService, str]
) -> None:
    """The target is up; request counts come by route template (the path-parameter route
    included, raw paths never); the p90 latency is computable; and exemplars of the
    duration histogram carry trace ids."""
    service, url = demo
    prometheus.wait_for('up{job="app"} == 1')
    targets = prometheus.targets()
    assert [t["health"] for t in targets] == ["up"], targets
    assert targets[0]["scrapeUrl"] == f"{url}/metrics"

    by_route = prometheus.wait_for(f'sum by (route) (http_requests_total{{route="{ORDER_ROUTE}"}})')
    assert by_route[0]["metric"] == {"route": ORDER_ROUTE}
    assert float(by_route[0]["value"][1]) > 0
    totals = prometheus.query("sum by (route) (http_requests_total)")
    routes = {r["metric"]["route"] for r in totals}
    assert ORDER_ROUTE in routes
    assert not [r for r in routes if re.fullmatch(r"/orders/\d+", r)], routes

    def p90() -> float | None:
        result = prometheus.query(P90)
        value = float(result[0]["value"][1]) if result else math.nan
        return value if math.isfinite(value) else None

    assert 0 < _poll("a finite p90 request duration", p90) < 10

    def exemplar_trace_ids() -> list[str]:
        now = time.time()
        series = prometheus.query_exemplars(
            "http_request_duration_seconds_bucket", start=now - 600, end=now + 60
        )
        return [
            exemplar["labels"]["trace_id"]
            for entry in series
            for exemplar in entry.get("exemplars", [])
            if "trace_id" in exemplar.get("labels", {})
        ]

    trace_ids = _poll("an exemplar with a trace_id", exemplar_trace_ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", trace_id) for trace_id in trace_ids)
    assert service.traffic is not None
    assert service.traffic.sent > 0
