"""The OpenTelemetry backend against a real OTLP/HTTP receiver on a loopback port.

Metrics and spans arrive decoded with ``opentelemetry-proto``, span ids intact; a
collector that is down, answers 500 or hangs never breaks or stalls the host.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend
from lexigram.monitor.config import OpenTelemetryConfig
from lexigram.monitor.middleware import OTelMiddleware
from lexigram.monitor.tracing import SpanContext, SpanKind

from ._otlp_receiver import OTLPReceiver, attributes
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
SPAN_KIND_SERVER = 2  # the protocol's enum values
SPAN_KIND_INTERNAL = 1


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    server = OTLPReceiver()
    yield server
    server.close()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def _shop() -> Starlette:
    return Starlette(routes=[Route("/orders/{order_id}", _ok)])


async def test_metrics_and_spans_reach_the_receiver_with_ids_intact(
    receiver: OTLPReceiver,
) -> None:
    """Counter, gauge and histogram values and a parent/child pair of spans arrive over
    OTLP/HTTP (gzip, with the configured header), spans with our W3C ids."""
    backend = OpenTelemetryBackend(
        "checkout",
        endpoint=receiver.url,
        config=OpenTelemetryConfig(headers={"x-api-key": "secret"}, compression="gzip"),
    )
    await backend.initialize()
    backend.record_metric("orders.placed", 2, "counter", {"region": "eu"})
    backend.record_metric("orders.placed", 1, "counter", {"region": "eu"})
    backend.record_metric("queue.depth", 7.5, "gauge")
    backend.record_metric("payment.seconds", 0.25, "histogram")
    remote = SpanContext.from_traceparent(TRACEPARENT)
    with backend.create_span("POST /pay", remote, kind=SpanKind.SERVER) as parent:  # noqa: SIM117
        with backend.create_span("charge") as child:
            child.set_attribute("amount", 42)
    await backend.shutdown()

    traces = receiver.received("/v1/traces")
    assert traces
    assert all(r.headers["x-api-key"] == "secret" for r in receiver.received())
    assert all(r.headers.get("content-encoding") == "gzip" for r in receiver.received())
    spans = {span.name: (resource, span) for resource, span in receiver.spans()}
    resource, server = spans["POST /pay"]
    _, charge = spans["charge"]
    assert resource["service.name"] == "checkout"
    assert server.trace_id.hex() == TRACE_ID
    assert server.parent_span_id.hex() == PARENT_ID
    assert server.span_id.hex() == parent.span_id
    assert server.kind == SPAN_KIND_SERVER
    assert charge.trace_id.hex() == TRACE_ID
    assert charge.parent_span_id.hex() == parent.span_id
    assert charge.span_id.hex() == child.span_id
    assert charge.kind == SPAN_KIND_INTERNAL
    assert attributes(charge.attributes) == {"amount": 42}

    metrics: dict[str, Any] = {}
    for resource, metric in receiver.metrics():
        assert resource["service.name"] == "checkout"
        metrics[metric.name] = metric  # the last export wins
    (orders,) = metrics["orders.placed"].sum.data_points
    assert orders.as_int == 3
    assert attributes(orders.attributes) == {"region": "eu"}
    assert metrics["orders.placed"].sum.is_monotonic
    assert metrics["queue.depth"].gauge.data_points[0].as_double == 7.5
    (payment,) = metrics["payment.seconds"].histogram.data_points
    assert payment.count == 1
    assert payment.sum == 0.25


def test_otel_middleware_under_uvicorn_exports_request_spans_and_durations(
    receiver: OTLPReceiver, uvicorn_server: ServeApp
) -> None:
    """A real server: the request span continues the caller's trace and the duration
    histogram carries the route template, both delivered to the receiver."""
    backend = OpenTelemetryBackend("shop", endpoint=receiver.url)
    base = uvicorn_server(OTelMiddleware(_shop(), backend=backend))
    with httpx.Client(base_url=base, trust_env=False) as client:
        response = client.get("/orders/17", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    asyncio.run(backend.shutdown())

    (span,) = [s for _, s in receiver.spans() if s.name == "GET /orders/{order_id}"]
    assert span.trace_id.hex() == TRACE_ID
    assert span.parent_span_id.hex() == PARENT_ID
    span_attributes = attributes(span.attributes)
    assert span_attributes["http.route"] == "/orders/{order_id}"
    assert span_attributes["http.response.status_code"] == 200
    assert span_attributes["url.path"] == "/orders/17"
    durations = [m for _, m in receiver.metrics() if m.name == "http.server.request.duration"]
    point = durations[-1].histogram.data_points[0]
    assert durations[-1].unit == "s"
    assert attributes(point.attributes) == {
        "http.request.method": "GET",
        "http.route": "/orders/{order_id}",
        "http.response.status_code": 200,
    }
    assert point.count == 1


async def _exercise(backend: OpenTelemetryBackend) -> float:
    """Record values, create spans and serve requests; return the seconds it took."""
    started = time.monotonic()
    app = OTelMiddleware(_shop(), backend=backend)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://shop.test"
    ) as client:
        for number in range(20):
            assert (await client.get(f"/orders/{number}")).status_code == 200
    for number in range(200):
        backend.record_metric("jobs", 1, "counter", {"queue": str(number % 3)})
        with backend.create_span("job"):
            pass
    return time.monotonic() - started


@pytest.mark.parametrize("failure", ["down", "error", "slow"])
async def test_a_failing_collector_never_breaks_or_stalls_the_host(failure: str) -> None:
    """Collector down (closed port), answering 500, or hanging: the host's requests and
    recordings proceed at full speed and shutdown returns within its timeout."""
    receiver = None if failure == "down" else OTLPReceiver(mode=failure)  # type: ignore[arg-type]
    endpoint = f"http://127.0.0.1:{_closed_port()}" if receiver is None else receiver.url
    try:
        backend = OpenTelemetryBackend(
            "shop",
            endpoint=endpoint,
            config=OpenTelemetryConfig(timeout=1.0, export_interval=0.2, batch_size=16),
        )
        await backend.initialize()
        assert await _exercise(backend) < 5.0  # generous: in-process work only
        if receiver is not None:
            assert receiver.wait_for_attempts(1, 10.0)  # the exporter did try
        started = time.monotonic()
        await backend.shutdown()
        assert time.monotonic() - started < 3.0  # timeout=1 s, plus scheduling slack
        await backend.shutdown()  # idempotent, still quick
        if receiver is not None:
            assert receiver.received() == []
    finally:
        if receiver is not None:
            receiver.close()
