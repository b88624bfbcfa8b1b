"""Our exposition against the real thing: promtool, the strict OpenMetrics parser, a
Pushgateway receiving PrometheusBackend pushes, and Prometheus scraping with exemplars."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from lexigram.monitor.backends._wiring import disable_exemplars, enable_exemplars
from lexigram.monitor.backends.exporters.prometheus import (
    metrics_asgi_app,
    render,
    set_default_metrics,
)
from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import PrometheusConfig, SamplerType, TracingConfig
from lexigram.monitor.metrics import MetricsCollector, set_default_collector
from lexigram.monitor.tracing import Tracer

from ._servers import PushgatewayServer, StartPrometheus, host_port
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
NASTY = 'quote " newline \n backslash \\ end'


@pytest.fixture(autouse=True)
def fresh_default_collector() -> Iterator[MetricsCollector]:
    """Each test owns the process-wide collector; exemplar wiring and default metrics are
    restored afterwards."""
    collector = MetricsCollector()
    set_default_collector(collector)
    yield collector
    set_default_collector(None)
    disable_exemplars()
    set_default_metrics(True)


def sampled_tracer() -> Tracer:
    return Tracer("integration", None, config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON))


def wait_for_group(gateway: PushgatewayServer, job: str, timeout: float = 20.0) -> Any:
    """The Pushgateway group of *job*, polled until a push arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for group in gateway.metrics():
            if group["labels"].get("job") == job:
                return group
        time.sleep(0.05)
    raise AssertionError(f"no push for job {job!r} within {timeout:.0f} s")


def every_kind(collector: MetricsCollector) -> None:
    """Counters, gauges, histograms and summaries with hostile label values and HELP text."""
    requests = collector.create_counter("shop_requests", "Requests served.\nSecond line \\ too.")
    requests.increment(3, {"route": NASTY, "method": "GET"})
    requests.increment(1, {"route": "/plain", "method": "POST"})
    collector.create_gauge("shop_queue_depth", 'Depth of "the" queue.').set(7, {"queue": NASTY})
    latency = collector.create_histogram(
        "shop_request_duration_seconds", "Request duration.", buckets=[0.05, 0.1, 0.5, 1.0]
    )
    for value in (0.01, 0.07, 0.3, 0.3, 2.0):
        latency.observe(value, {"route": NASTY})
    size = collector.create_summary("shop_payload_bytes", "Payload size.")
    for value in (100.0, 200.0, 300.0):
        size.observe(value, {"route": NASTY})


def test_promtool_accepts_our_text_exposition(
    promtool: str, fresh_default_collector: MetricsCollector
) -> None:
    """``promtool check metrics`` passes the process exposition with hostile label values."""
    every_kind(fresh_default_collector)
    body, headers = render()

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )

    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"shop_requests_total" in body


def test_strict_openmetrics_parser_accepts_our_exposition_with_exemplars(
    fresh_default_collector: MetricsCollector,
) -> None:
    """prometheus_client's strict OpenMetrics parser reads our output, exemplars included."""
    enable_exemplars()
    tracer = sampled_tracer()
    with tracer.start_span("checkout") as span:
        every_kind(fresh_default_collector)
    body, _ = render(accept=OPENMETRICS)

    parsed = text_string_to_metric_families(body.decode())  # type: ignore[no-untyped-call]
    families = {f.name: f for f in parsed}

    requests = families["shop_requests"]
    nasty = next(s for s in requests.samples if s.labels["route"] == NASTY)
    assert nasty.value == 3
    assert nasty.exemplar.labels == {"trace_id": span.context.trace_id,
                                     "span_id": span.context.span_id}  # fmt: skip
    bucket_exemplars = [s.exemplar for s in families["shop_request_duration_seconds"].samples
                        if s.exemplar is not None]  # fmt: skip
    assert {e.labels["trace_id"] for e in bucket_exemplars} == {span.context.trace_id}
    assert families["shop_payload_bytes"].type == "summary"


async def test_pushgateway_receives_backend_pushes(
    pushgateway_server: PushgatewayServer, fresh_default_collector: MetricsCollector
) -> None:
    """PrometheusBackend pushes periodically and once more on shutdown; the Pushgateway
    holds our series under the configured job."""
    config = PrometheusConfig(
        port=0,
        pushgateway_url=pushgateway_server.url,
        push_interval=0.2,
        job_name="lexigram-batch",
        enable_default_metrics=False,
    )
    backend = PrometheusBackend(config=config)
    await backend.initialize()
    try:
        backend.record_metric("batch_items", 5, "counter", {"stage": NASTY})
        groups = await asyncio.to_thread(wait_for_group, pushgateway_server, "lexigram-batch")
        assert float(groups["batch_items_total"]["metrics"][0]["value"]) == 5.0  # periodic push
        backend.record_metric("batch_items", 2, "counter", {"stage": NASTY})
    finally:
        await backend.shutdown()

    groups = await asyncio.to_thread(pushgateway_server.metrics)
    (group,) = [g for g in groups if g["labels"].get("job") == "lexigram-batch"]
    family = group["batch_items_total"]
    assert family["type"] == "COUNTER"
    ((metric,),) = [family["metrics"]]
    assert metric["labels"]["stage"] == NASTY
    assert float(metric["value"]) == 7.0  # the final push carried the last value
    assert fresh_default_collector.get_metric("lexigram_monitor_push_failures_total") is None


def test_prometheus_scrapes_our_app_with_exemplars(
    prometheus_server: StartPrometheus,
    uvicorn_server: ServeApp,
    fresh_default_collector: MetricsCollector,
) -> None:
    """A real Prometheus (OpenMetrics first) scrapes ``metrics_asgi_app`` under uvicorn:
    the target is up, a counter and a histogram_quantile are queryable, and the exemplar
    carries our trace id."""
    enable_exemplars()
    tracer = sampled_tracer()
    orders = fresh_default_collector.create_counter("shop_orders", "Orders placed.")
    latency = fresh_default_collector.create_histogram(
        "shop_latency_seconds", "Latency.", buckets=[0.1, 0.25, 0.5, 1.0]
    )
    with tracer.start_span("place-order") as span:
        orders.increment(4, {"shop": "north"})
        for value in (0.05, 0.2, 0.2, 0.4):
            latency.observe(value, {"shop": "north"})
    app_url = uvicorn_server(metrics_asgi_app())
    assert httpx.get(app_url + "/metrics", trust_env=False).status_code == 200
    started = time.time()

    prometheus = prometheus_server(
        [host_port(app_url)], extra_flags=["--enable-feature=exemplar-storage"]
    )
    counter = prometheus.wait_for('shop_orders_total{job="app",shop="north"}')
    quantile = prometheus.wait_for(
        'histogram_quantile(0.5, sum by (le) (shop_latency_seconds_bucket{job="app"}))'
    )
    exemplars = prometheus.query_exemplars(
        'shop_orders_total{job="app"}', started - 3600, time.time() + 3600
    )

    assert [t["health"] for t in prometheus.targets()] == ["up"]
    assert float(counter[0]["value"][1]) == 4.0
    assert 0.1 < float(quantile[0]["value"][1]) <= 0.25
    trace_ids = {e["labels"]["trace_id"] for series in exemplars for e in series["exemplars"]}
    assert span.context.trace_id in trace_ids


async def test_prometheus_scrapes_the_backend_server(
    prometheus_server: StartPrometheus, fresh_default_collector: MetricsCollector
) -> None:
    """The backend's own asyncio server answers a real Prometheus at the configured path."""
    backend = PrometheusBackend(config=PrometheusConfig(port=0, path="/internal/metrics"))
    await backend.initialize()
    try:
        backend.record_metric("backend_jobs", 3, "counter", {"kind": "sync"})
        prometheus = await asyncio.to_thread(
            prometheus_server,
            [f"127.0.0.1:{backend.port}"],
            metrics_path="/internal/metrics",
            job="backend",
        )
        result = await asyncio.to_thread(
            prometheus.wait_for, 'backend_jobs_total{job="backend",kind="sync"}'
        )
        targets = await asyncio.to_thread(prometheus.targets)
    finally:
        await backend.shutdown()

    assert float(result[0]["value"][1]) == 3.0
    assert [t["health"] for t in targets] == ["up"]
