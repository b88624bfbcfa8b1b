"""instrument(app) under a real uvicorn server: a FastAPI app and a Starlette app with a
mount get request metrics, spans, exemplars, probes and the status page; a hand-made
stack in the wrong order is reported exactly once."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from lexigram.monitor import HealthCheckCategory, HealthChecker, StatusPageOptions, instrument
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.middleware import OTelMiddleware, PrometheusMiddleware
from lexigram.monitor.tracing import InMemorySpanExporter, Span, Tracer

from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0"}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        yield http


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[Tracer]:
    mine = Tracer("shop", exporter)
    yield mine
    mine.shutdown(5)


@pytest.fixture
def order_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="lexigram.monitor.middleware")
    return caplog


def _order_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if hasattr(r, "middleware_order")]


def _checker() -> HealthChecker:
    checker = HealthChecker()
    checker.add("database", lambda: True, category=HealthCheckCategory.READINESS)
    checker.add("loop", lambda: True, category=HealthCheckCategory.LIVENESS)
    return checker


def _spans(tracer: Tracer, exporter: InMemorySpanExporter) -> list[Span]:
    tracer.flush()
    return exporter.get_finished_spans()


_LINE = re.compile(r'(\w+)\{((?:\w+="(?:[^"\\]|\\.)*",?)*)\} (\S+)')


def _sample(text: str, name: str, **labels: str) -> float | None:
    """Value of the sample *name*{labels} in an exposition (label order ignored; label
    values may hold braces, as route templates do)."""
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[2]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match[3])
    return None


def _exemplar_span_ids(text: str) -> set[str]:
    ids = set()
    for line in text.splitlines():
        if line.startswith("http_request_duration_seconds_bucket{") and " # " in line:
            ids.update(re.findall(r'span_id="([0-9a-f]{16})"', line))
    return ids


def _check_status_page(client: httpx.Client, url: str, token: str | None = None) -> None:
    """The page and its JSON answer under /-/monitor (behind *token* when given) and
    show the app's requests and the health checks."""
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    if token:
        assert client.get(f"{url}/-/monitor/api/routes").status_code == 401
    page = client.get(f"{url}/-/monitor", headers=auth)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    routes = client.get(f"{url}/-/monitor/api/routes", headers=auth).json()["rows"]
    assert routes
    assert not any(row["route"].startswith("/-/monitor") for row in routes)
    health = client.get(f"{url}/-/monitor/api/health", headers=auth).json()
    assert {check["name"] for check in health["checks"]} == {"database", "loop"}


def _check_probes(client: httpx.Client, url: str) -> None:
    for path in ("/health", "/health/live", "/health/ready", "/health/startup"):
        response = client.get(url + path)
        assert response.status_code == 200, path
        assert response.json()["status"] == "healthy"


def test_instrumented_fastapi_app_under_uvicorn(
    uvicorn_server: ServeApp,
    client: httpx.Client,
    tracer: Tracer,
    exporter: InMemorySpanExporter,
    order_log: pytest.LogCaptureFixture,
) -> None:
    """Counted by route template, one SERVER span per request with its exemplar on the
    duration, probes and the status page (behind its token) answered and neither counted
    nor traced, no order warning."""
    collector = MetricsCollector()
    api = instrument(
        FastAPI(),
        health=_checker(),
        tracer=tracer,
        collector=collector,
        status_page=StatusPageOptions(auth_token="ops-token"),
    )

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    url = uvicorn_server(api)
    for item_id in (1, 2, 3):
        assert client.get(f"{url}/items/{item_id}").json() == {"item_id": item_id}
    _check_probes(client, url)
    _check_status_page(client, url, token="ops-token")
    text = client.get(f"{url}/metrics", headers=OPENMETRICS).text

    labels = {"method": "GET", "route": "/items/{item_id}", "status": "200"}
    assert _sample(text, "http_requests_total", **labels) == 3
    assert _sample(text, "http_requests_total", route="/health/ready") is None
    spans = _spans(tracer, exporter)
    assert [s.name for s in spans] == ["GET /items/{item_id}"] * 3
    assert _exemplar_span_ids(text) <= {s.span_id for s in spans}
    assert _exemplar_span_ids(text)
    assert _order_warnings(order_log) == []


def test_instrumented_starlette_app_with_a_mount_under_uvicorn(
    uvicorn_server: ServeApp,
    client: httpx.Client,
    tracer: Tracer,
    exporter: InMemorySpanExporter,
    order_log: pytest.LogCaptureFixture,
) -> None:
    """Routes below a mount are labelled and named with the full template; the status
    page is served and its requests are neither counted nor traced."""

    async def order(request: Request) -> Response:
        return PlainTextResponse(request.path_params["order_id"])

    tenants = Starlette(routes=[Route("/orders/{order_id}", order)])
    shop = Starlette(routes=[Mount("/tenants/{tenant}", app=tenants)])
    collector = MetricsCollector()
    # in place, the status page included
    instrument(shop, health=_checker(), tracer=tracer, collector=collector, status_page=True)
    url = uvicorn_server(shop)

    assert client.get(f"{url}/tenants/acme/orders/42").text == "42"
    assert client.get(f"{url}/nowhere").status_code == 404
    _check_probes(client, url)
    _check_status_page(client, url)
    text = client.get(f"{url}/metrics", headers=OPENMETRICS).text

    route = "/tenants/{tenant}/orders/{order_id}"
    assert _sample(text, "http_requests_total", route=route, status="200") == 1
    assert _sample(text, "http_requests_total", route="<unmatched>", status="404") == 1
    spans = _spans(tracer, exporter)
    assert sorted(s.name for s in spans) == ["GET", f"GET {route}"]
    assert _exemplar_span_ids(text) <= {s.span_id for s in spans}
    assert len(_exemplar_span_ids(text)) == 2
    assert _order_warnings(order_log) == []


def test_hand_made_wrong_order_is_reported_exactly_once(
    uvicorn_server: ServeApp,
    client: httpx.Client,
    tracer: Tracer,
    order_log: pytest.LogCaptureFixture,
) -> None:
    """FastAPI with OTelMiddleware added first (so PrometheusMiddleware ends up outside
    it): many requests, one WARNING naming the fix."""
    collector = MetricsCollector()
    api: Any = FastAPI()

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    api.add_middleware(OTelMiddleware, tracer=tracer, collector=collector)
    api.add_middleware(PrometheusMiddleware, metrics_collector=collector)
    url = uvicorn_server(api)
    for item_id in range(20):
        client.get(f"{url}/items/{item_id}")
    (record,) = _order_warnings(order_log)
    assert "instrument(app)" in record.getMessage()
