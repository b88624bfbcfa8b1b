"""End to end: the demo with native histograms on, scraped by Prometheus 2.42 with
``--enable-feature=native-histograms`` (protobuf exposition)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import httpx
import pytest

from lexigram.monitor.cli._demo_app import DemoService, build_demo
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import MetricsCollector, NativeHistogram, set_exemplar_source

from ._servers import PrometheusServer, StartPrometheus, free_port, host_port
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

ORDER_ROUTE = "/orders/{order_id}"
SELECTOR = f'http_request_duration_seconds{{method="GET",route="{ORDER_ROUTE}"}}'


@pytest.fixture
def demo(uvicorn_server: ServeApp) -> Iterator[tuple[DemoService, MetricsCollector, str]]:
    """The demo under uvicorn with the native switch on, sending itself ~40 requests/s."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    collector = MetricsCollector(MetricsConfig(native_histograms=True))
    service = build_demo(
        spans_stream=None,
        traffic_client=lambda: httpx.AsyncClient(base_url=base, timeout=5.0, trust_env=False),
        traffic_rate=40.0,
        collector=collector,
    )
    url = uvicorn_server(service.app, port)
    yield service, collector, url
    set_exemplar_source(None)


@pytest.fixture
def prometheus(
    prometheus_server: StartPrometheus, demo: tuple[DemoService, MetricsCollector, str]
) -> PrometheusServer:
    return prometheus_server(
        [host_port(demo[2])],
        scrape_interval="1s",
        extra_flags=["--enable-feature=native-histograms"],
    )


def _count(collector: MetricsCollector) -> int:
    duration = collector.get_metric("http_request_duration_seconds")
    assert isinstance(duration, NativeHistogram)
    return duration.get_native_buckets({"method": "GET", "route": ORDER_ROUTE}).count


def test_prometheus_stores_the_demo_request_durations_as_native_histograms(
    prometheus: PrometheusServer, demo: tuple[DemoService, MetricsCollector, str]
) -> None:
    """A scrape taken after the demo had counted n requests of the order route shows at
    least n and at most what the demo counted once the query returned; the quantiles are
    finite durations; Prometheus 2.42 stores the native histogram and no classic series."""
    _, collector, _ = demo
    prometheus.wait_for('up{job="app"} == 1')
    prometheus.wait_for(f"histogram_count({SELECTOR}) > 0")
    before = _count(collector)
    deadline = time.monotonic() + 30.0
    while True:
        result = prometheus.query(f"histogram_count({SELECTOR})")
        after = _count(collector)
        seen = float(result[0]["value"][1]) if result else 0.0
        if seen >= before or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert before <= seen <= after, (before, seen, after)
    total = float(prometheus.query(f"histogram_sum({SELECTOR})")[0]["value"][1])
    assert 0 < total < seen * 1.0  # the order route answers in well under a second
    for q in (0.5, 0.99):
        found = float(prometheus.query(f"histogram_quantile({q}, {SELECTOR})")[0]["value"][1])
        assert math.isfinite(found)
        assert 0 < found < 1.0, (q, found)
    assert prometheus.query("http_request_duration_seconds_bucket") == []
