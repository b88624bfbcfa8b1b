"""One trace across two services under real uvicorn servers.

Service A (Starlette) answers ``/orders/{order_id}`` by calling service B (FastAPI)
through an instrumented ``httpx.AsyncClient``; both are wrapped by ``instrument(app)``
with their own tracer and collector. B's SERVER span is the child of A's CLIENT span,
which is the child of A's SERVER span; the exemplars of both sides point into that
trace; the random-trace-id flag and the tracestate survive the hop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from lexigram.monitor import instrument
from lexigram.monitor.config import TracingConfig
from lexigram.monitor.instrumentation import InstrumentedTransport
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.tracing import InMemorySpanExporter, Span, SpanKind, Tracer

from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACESTATE = "congo@=t61rcWkgMzE,rojo=00f067aa0ba902b7,long" + "@x" * 100 + "=1"
OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0"}


@dataclass
class Service:
    url: str
    tracer: Tracer
    exporter: InMemorySpanExporter
    collector: MetricsCollector

    def spans(self) -> list[Span]:
        self.tracer.flush()
        return self.exporter.get_finished_spans()

    def clear(self) -> None:
        self.tracer.flush()
        self.exporter.clear()


def _telemetry(name: str) -> tuple[Tracer, InMemorySpanExporter, MetricsCollector]:
    exporter = InMemorySpanExporter()
    tracer = Tracer(name, exporter, config=TracingConfig(service_name=name, export_interval=0.05))
    return tracer, exporter, MetricsCollector()


def stock_service() -> tuple[FastAPI, Tracer, InMemorySpanExporter, MetricsCollector]:
    """Service B: reports the trace headers it received."""
    tracer, exporter, collector = _telemetry("stock")
    api = instrument(FastAPI(), tracer=tracer, collector=collector)

    @api.get("/stock/{sku}")
    async def stock(sku: str, request: Request) -> dict[str, Any]:
        return {
            "sku": sku,
            "traceparent": request.headers.get("traceparent"),
            "tracestate": request.headers.get("tracestate"),
        }

    return api, tracer, exporter, collector


def orders_service(
    stock_url: str,
) -> tuple[Starlette, Tracer, InMemorySpanExporter, MetricsCollector]:
    """Service A: calls B through an instrumented client and returns what B saw."""
    tracer, exporter, collector = _telemetry("orders")
    transport = InstrumentedTransport(tracer=tracer, collector=collector)

    async def order(request: StarletteRequest) -> JSONResponse:
        async with httpx.AsyncClient(transport=transport, base_url=stock_url) as client:
            seen = (await client.get("/stock/widget")).json()
        return JSONResponse({"order_id": request.path_params["order_id"], "stock": seen})

    app = Starlette(routes=[Route("/orders/{order_id:int}", order)])
    return instrument(app, tracer=tracer, collector=collector), tracer, exporter, collector


@pytest.fixture
def services(uvicorn_server: ServeApp) -> Iterator[tuple[Service, Service]]:
    stock_app, *b = stock_service()
    b_url = uvicorn_server(stock_app)
    orders_app, *a = orders_service(b_url)
    a_url = uvicorn_server(orders_app)
    service_a, service_b = Service(a_url, *a), Service(b_url, *b)
    yield service_a, service_b
    service_a.tracer.shutdown(5)
    service_b.tracer.shutdown(5)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        yield http


def _only(spans: list[Span], kind: SpanKind) -> Span:
    (span,) = [s for s in spans if s.kind is kind]
    return span


def _exemplars(text: str, metric: str) -> set[tuple[str, str]]:
    """(trace_id, span_id) of the exemplars on *metric*'s bucket lines."""
    found = set()
    for line in text.splitlines():
        if line.startswith(f"{metric}_bucket{{") and " # " in line:
            match = re.search(r'span_id="([0-9a-f]{16})",trace_id="([0-9a-f]{32})"', line)
            if match is None:
                match = re.search(r'trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"', line)
                assert match is not None, line
                found.add((match[1], match[2]))
            else:
                found.add((match[2], match[1]))
    return found


def test_a_continued_trace_crosses_both_services(
    services: tuple[Service, Service], client: httpx.Client
) -> None:
    """A SERVER -> A CLIENT -> B SERVER in the caller's trace; flags and tracestate
    arrive at B unchanged; exemplars of A's request and client durations and of B's
    request duration point at those spans."""
    a, b = services
    response = client.get(
        f"{a.url}/orders/7",
        headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-03", "tracestate": TRACESTATE},
    )
    assert response.status_code == 200
    seen = response.json()["stock"]

    a_spans, b_spans = a.spans(), b.spans()
    a_server = _only(a_spans, SpanKind.SERVER)
    a_client = _only(a_spans, SpanKind.CLIENT)
    b_server = _only(b_spans, SpanKind.SERVER)
    assert {a_server.trace_id, a_client.trace_id, b_server.trace_id} == {TRACE_ID}
    assert a_server.parent_span_id == CALLER_SPAN
    assert a_client.parent_span_id == a_server.span_id
    assert b_server.parent_span_id == a_client.span_id
    assert a_server.parent_is_remote
    assert b_server.parent_is_remote
    assert not a_client.parent_is_remote
    assert a_server.name == "GET /orders/{order_id}"
    assert b_server.name == "GET /stock/{sku}"
    assert a_client.attributes["url.full"] == f"{b.url}/stock/widget"

    assert seen["traceparent"] == f"00-{TRACE_ID}-{a_client.span_id}-03"
    assert seen["tracestate"] == TRACESTATE

    a_metrics = client.get(f"{a.url}/metrics", headers=OPENMETRICS).text
    b_metrics = client.get(f"{b.url}/metrics", headers=OPENMETRICS).text
    assert _exemplars(a_metrics, "http_request_duration_seconds") == {(TRACE_ID, a_server.span_id)}
    assert _exemplars(a_metrics, "http_client_request_duration") == {(TRACE_ID, a_client.span_id)}
    assert _exemplars(b_metrics, "http_request_duration_seconds") == {(TRACE_ID, b_server.span_id)}


def test_a_new_trace_starts_random_and_sampled(
    services: tuple[Service, Service], client: httpx.Client
) -> None:
    """Without an incoming traceparent A starts a trace with a random id: B gets -03."""
    a, b = services
    seen = client.get(f"{a.url}/orders/8").json()["stock"]
    a_server = _only(a.spans(), SpanKind.SERVER)
    b_server = _only(b.spans(), SpanKind.SERVER)
    assert a_server.parent_span_id is None
    assert b_server.trace_id == a_server.trace_id
    assert seen["traceparent"].startswith(f"00-{a_server.trace_id}-")
    assert seen["traceparent"].endswith("-03")
    assert seen["tracestate"] is None


def test_an_unsampled_caller_keeps_the_random_flag_and_records_nothing(
    services: tuple[Service, Service], client: httpx.Client
) -> None:
    """Incoming -02 (random, not sampled): both services follow the caller, record no
    span, and B still receives -02 in the caller's trace with its tracestate."""
    a, b = services
    seen = client.get(
        f"{a.url}/orders/9",
        headers={"traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-02", "tracestate": "vendor=v"},
    ).json()["stock"]
    assert seen["traceparent"].startswith(f"00-{TRACE_ID}-")
    assert seen["traceparent"].endswith("-02")
    assert seen["tracestate"] == "vendor=v"
    assert a.spans() == []
    assert b.spans() == []
