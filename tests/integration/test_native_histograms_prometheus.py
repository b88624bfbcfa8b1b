"""End to end: Prometheus 2.42 with native histograms on scrapes an app whose request
durations go to a native histogram, over the protobuf exposition."""

from __future__ import annotations

import math

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import Histogram, MetricsCollector, NativeHistogram
from lexigram.monitor.middleware import PrometheusMiddleware

from ._servers import PrometheusServer, StartPrometheus, free_port, host_port
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

ROUTE = "/items/{item}"
#: Known observations: the specification's worked example plus 1,000 values spread
#: over four orders of magnitude (deterministic).
KNOWN = [0.0, 0.5, 1.0, 1.1, 2.0, 100.0, -3.0] + [
    0.001 * 10 ** (4 * ((k * 7919) % 1000) / 999) for k in range(1000)
]
SCHEMA = 3
BASE = 2 ** (2**-SCHEMA)


async def _item(request: Request) -> Response:
    return PlainTextResponse("ok")


@pytest.fixture
def app(uvicorn_server: ServeApp) -> tuple[MetricsCollector, Histogram, str]:
    """The app under uvicorn with the native switch on, plus a native histogram of the
    known observations, all recorded before Prometheus starts."""
    collector = MetricsCollector(MetricsConfig(native_histograms=True))
    known = collector.create_histogram("known_values", "Known observations.", native=True)
    for value in KNOWN:
        known.observe(value)
    wrapped = PrometheusMiddleware(
        Starlette(routes=[Route(ROUTE, _item)]), metrics_collector=collector
    )
    url = uvicorn_server(wrapped, free_port())
    with httpx.Client(base_url=url, trust_env=False, timeout=5.0) as client:
        for n in range(40):
            assert client.get(f"/items/{n}").status_code == 200
    return collector, known, url


@pytest.fixture
def prometheus(
    prometheus_server: StartPrometheus, app: tuple[MetricsCollector, Histogram, str]
) -> PrometheusServer:
    return prometheus_server(
        [host_port(app[2])],
        scrape_interval="1s",
        extra_flags=["--enable-feature=native-histograms"],
    )


def _value(prometheus: PrometheusServer, expr: str) -> float:
    result = prometheus.wait_for(expr)
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def _exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def test_prometheus_reads_native_histograms_over_protobuf(
    prometheus: PrometheusServer, app: tuple[MetricsCollector, Histogram, str]
) -> None:
    """histogram_count and histogram_sum equal the known observations; the quantiles
    equal the in-process estimate and lie within one bucket (the schema's resolution,
    a factor 2**(1/8)) of the exact ones; the request-duration histogram agrees with
    what the app recorded; Prometheus 2.42 keeps no classic series of it."""
    collector, known, _ = app
    prometheus.wait_for('up{job="app"} == 1')
    assert [t["health"] for t in prometheus.targets()] == ["up"]

    assert _value(prometheus, "histogram_count(known_values)") == len(KNOWN)
    assert _value(prometheus, "histogram_sum(known_values)") == pytest.approx(sum(KNOWN))
    positive = [v for v in KNOWN if v > 0]
    for q in (0.5, 0.99):
        found = _value(prometheus, f"histogram_quantile({q}, known_values)")
        assert found == pytest.approx(known.get_quantile(q), rel=1e-9)
        exact = _exact_quantile(KNOWN, q)
        assert exact / BASE <= found <= exact * BASE, (q, found, exact)
        assert min(positive) <= found

    duration = collector.get_metric("http_request_duration_seconds")
    assert isinstance(duration, NativeHistogram)
    labels = {"method": "GET", "route": ROUTE}
    native = duration.get_native_buckets(labels)
    selector = f'http_request_duration_seconds{{route="{ROUTE}"}}'
    assert _value(prometheus, f"histogram_count({selector})") == native.count == 40
    assert _value(prometheus, f"histogram_sum({selector})") == pytest.approx(
        duration.get_sum(labels), rel=1e-9
    )
    for q in (0.5, 0.99):
        found = _value(prometheus, f"histogram_quantile({q}, {selector})")
        assert found == pytest.approx(native.quantile(q), rel=1e-9)
    # Prometheus 2.42 stores a native histogram only: its classic series are dropped
    assert prometheus.query("http_request_duration_seconds_bucket") == []
    # the other families of the same protobuf scrape arrive as usual
    assert _value(prometheus, f'sum(http_requests_total{{route="{ROUTE}"}})') == 40
