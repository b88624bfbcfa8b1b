"""MetricsConfig.native_histograms: the HTTP middlewares' request-duration histograms
become native histograms, with the configured schema, limit and classic buckets."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lexigram.monitor.config import MetricsConfig, MonitorConfig
from lexigram.monitor.metrics import MetricsCollector, NativeHistogram, set_exemplar_source
from lexigram.monitor.middleware import OTelMiddleware, PrometheusMiddleware
from lexigram.monitor.tracing import Tracer


@pytest.fixture(autouse=True)
def _no_exemplar_source() -> Iterator[None]:
    yield
    set_exemplar_source(None)


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def _app() -> Starlette:
    return Starlette(routes=[Route("/items/{item}", _ok)])


def _native_collector(classic: bool = True) -> MetricsCollector:
    return MetricsCollector(
        MetricsConfig(
            native_histograms=True,
            native_histogram_schema=4,
            native_histogram_max_buckets=40,
            native_histogram_classic=classic,
        )
    )


async def _hit(app: object, times: int) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        for n in range(times):
            assert (await client.get(f"/items/{n}")).status_code == 200


async def test_prometheus_middleware_duration_histogram_is_native_when_switched_on() -> None:
    """With the switch on, every request lands in the native buckets (schema 4, limit
    40) and in the classic buckets alongside; the scrape in protobuf carries both."""
    collector = _native_collector()
    app = PrometheusMiddleware(_app(), metrics_collector=collector)
    await _hit(app, 5)
    duration = collector.get_metric("http_request_duration_seconds")
    assert isinstance(duration, NativeHistogram)
    assert (duration.schema, duration.max_buckets) == (4, 40)
    labels = {"method": "GET", "route": "/items/{item}"}
    native = duration.get_native_buckets(labels)
    assert native.count == 5
    assert native.schema == 4
    assert duration.get_bucket_counts(labels)[math.inf] == 5
    assert len(duration.buckets) > 1  # classic buckets kept


async def test_classic_buckets_can_be_dropped() -> None:
    """native_histogram_classic=False keeps only the native buckets (one +Inf bucket in
    the classic view)."""
    collector = _native_collector(classic=False)
    app = PrometheusMiddleware(_app(), metrics_collector=collector)
    await _hit(app, 2)
    duration = collector.get_metric("http_request_duration_seconds")
    assert isinstance(duration, NativeHistogram)
    assert duration.buckets == (math.inf,)


async def test_switch_off_keeps_the_classic_histogram() -> None:
    """By default the duration histogram is classic."""
    collector = MetricsCollector()
    app = PrometheusMiddleware(_app(), metrics_collector=collector)
    await _hit(app, 1)
    assert not isinstance(collector.get_metric("http_request_duration_seconds"), NativeHistogram)


async def test_otel_middleware_collector_histogram_follows_the_switch() -> None:
    """OTelMiddleware on a collector records into a native histogram when switched on."""
    collector = _native_collector()
    app = OTelMiddleware(_app(), tracer=Tracer("shop", None, max_spans=100), collector=collector)
    await _hit(app, 3)
    duration = collector.get_metric("http_server_request_duration")
    assert isinstance(duration, NativeHistogram)
    total = sum(snap.native.count for snap in duration.collect() if snap.native is not None)
    assert total == 3


def test_switch_is_settable_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS and its siblings set the switch."""
    monkeypatch.setenv("LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS", "true")
    monkeypatch.setenv("LEX_MONITOR__METRICS__NATIVE_HISTOGRAM_SCHEMA", "2")
    monkeypatch.setenv("LEX_MONITOR__METRICS__NATIVE_HISTOGRAM_MAX_BUCKETS", "80")
    monkeypatch.setenv("LEX_MONITOR__METRICS__NATIVE_HISTOGRAM_CLASSIC", "false")
    metrics = MonitorConfig().metrics
    assert metrics.native_histograms is True
    assert metrics.native_histogram_schema == 2
    assert metrics.native_histogram_max_buckets == 80
    assert metrics.native_histogram_classic is False
