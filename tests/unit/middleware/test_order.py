"""Hand-made middleware stacks in the wrong order are found on the first request and
reported once, naming the fix."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lexigram.monitor.metrics import Histogram, MetricsCollector
from lexigram.monitor.middleware import HealthCheckProvider, OTelMiddleware, PrometheusMiddleware
from lexigram.monitor.tracing import Tracer

LOGGER = "lexigram.monitor.middleware"


@pytest.fixture
def tracer() -> Tracer:
    return Tracer("shop", None)


@pytest.fixture
def order_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    return caplog


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if hasattr(r, "middleware_order")]


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def _shop() -> Starlette:
    return Starlette(routes=[Route("/items/{item_id}", _ok)])


async def _send_many(app: Any, paths: list[str]) -> None:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
        for path in paths:
            await client.get(path)


def _exemplars(collector: MetricsCollector) -> list[Any]:
    histogram = collector.get_metric("http_request_duration_seconds")
    assert isinstance(histogram, Histogram)
    return [e for snap in histogram.collect() for e in snap.exemplars if e is not None]


async def test_metrics_outside_tracing_is_reported_once(
    collector: MetricsCollector, tracer: Tracer, order_log: pytest.LogCaptureFixture
) -> None:
    """PrometheusMiddleware wrapping OTelMiddleware loses every exemplar: the first
    traced request logs one WARNING naming the fix; later requests log nothing."""
    app = PrometheusMiddleware(OTelMiddleware(_shop(), tracer=tracer), metrics_collector=collector)
    await _send_many(app, ["/items/1"] * 5)
    (record,) = _warnings(order_log)
    assert record.levelno == logging.WARNING
    assert record.middleware_order == "prometheus_outside_otel"  # type: ignore[attr-defined]
    message = record.getMessage()
    assert "exemplars" in message
    assert "put PrometheusMiddleware inside OTelMiddleware" in message
    assert "instrument(app)" in message
    assert _exemplars(collector) == []  # what the warning is about


async def test_fastapi_style_add_middleware_in_the_wrong_order_is_reported(
    collector: MetricsCollector, tracer: Tracer, order_log: pytest.LogCaptureFixture
) -> None:
    """add_middleware(OTelMiddleware) then add_middleware(PrometheusMiddleware) puts the
    metrics outside: reported once."""
    shop = _shop()
    shop.add_middleware(OTelMiddleware, tracer=tracer)
    shop.add_middleware(PrometheusMiddleware, metrics_collector=collector)
    await _send_many(shop, ["/items/1", "/items/2", "/nope"])
    assert len(_warnings(order_log)) == 1


async def test_the_working_order_is_silent(
    collector: MetricsCollector, tracer: Tracer, order_log: pytest.LogCaptureFixture
) -> None:
    """Probes outside tracing outside metrics: no warning, and exemplars are kept."""
    app = HealthCheckProvider(
        OTelMiddleware(PrometheusMiddleware(_shop(), metrics_collector=collector), tracer=tracer)
    )
    await _send_many(app, ["/health", "/items/1", "/health/ready"])
    assert _warnings(order_log) == []
    assert _exemplars(collector)


@pytest.mark.parametrize(
    ("wrap", "said"),
    [
        ("prometheus", "counted in http_requests_total"),
        ("otel", "traced"),
        ("both", "counted and traced"),
    ],
)
async def test_probes_wrapped_by_metrics_or_tracing_are_reported_once(
    wrap: str,
    said: str,
    collector: MetricsCollector,
    tracer: Tracer,
    order_log: pytest.LogCaptureFixture,
) -> None:
    """HealthCheckProvider inside PrometheusMiddleware or OTelMiddleware: its first
    request (whatever the path) logs one WARNING saying what happens to probes."""
    app: Any = HealthCheckProvider(_shop())
    if wrap in ("otel", "both"):
        app = OTelMiddleware(app, tracer=tracer)
    if wrap in ("prometheus", "both"):
        app = PrometheusMiddleware(app, metrics_collector=collector)
    await _send_many(app, ["/items/1", "/health", "/health/live", "/items/2"])
    records = [r for r in _warnings(order_log) if r.middleware_order == "probes_inside"]  # type: ignore[attr-defined]
    assert len(records) == 1
    assert said in records[0].getMessage()
    assert "make HealthCheckProvider the outermost" in records[0].getMessage()


async def test_the_check_runs_on_the_first_request_only(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """After its first request neither middleware looks at the order again."""
    otel = OTelMiddleware(_shop(), tracer=tracer)
    probes = HealthCheckProvider(otel)
    assert otel._check_order
    await _send_many(probes, ["/items/1"])
    assert not otel._check_order
    assert probes._http == probes._serving
