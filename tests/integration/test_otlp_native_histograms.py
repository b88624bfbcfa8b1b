"""Native histograms over OTLP: the OpenTelemetry backend, its official OTLP/HTTP
exporter and a real receiver decoding with ``opentelemetry-proto``; the exponential
points carry our native buckets (shifted by one index) and the request durations of
the OpenTelemetry middleware under uvicorn."""

from __future__ import annotations

import asyncio
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
from lexigram.monitor.config import MetricsConfig, MonitorConfig, OpenTelemetryConfig
from lexigram.monitor.metrics import Histogram
from lexigram.monitor.middleware import OTelMiddleware

from ._otlp_receiver import OTLPReceiver, attributes
from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

CUMULATIVE = 2  # AggregationTemporality in the protocol
OBSERVED = [0.0, 0.5, 1.0, 1.1, 2.0, 100.0, 0.003, 0.003]


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    server = OTLPReceiver()
    yield server
    server.close()


def _config(receiver: OTLPReceiver, schema: int = 3) -> MonitorConfig:
    return MonitorConfig(
        opentelemetry=OpenTelemetryConfig(endpoint=receiver.url),
        metrics=MetricsConfig(native_histograms=True, native_histogram_schema=schema),
    )


def _last(receiver: OTLPReceiver, name: str) -> Any:
    found = [metric for _, metric in receiver.metrics() if metric.name == name]
    assert found, f"{name} never arrived"
    return found[-1]


def _dense(counts: Any) -> list[int]:
    out = list(counts)
    while out and out[-1] == 0:
        out.pop()
    return out


async def test_recorded_histograms_arrive_as_exponential_histograms(
    receiver: OTLPReceiver,
) -> None:
    """What the receiver decodes is our native histogram of the same values: scale =
    schema, offset = first Prometheus index - 1, counts per bucket, zero count, count,
    sum, min and max, cumulative."""
    backend = OpenTelemetryBackend("checkout", config=_config(receiver))
    await backend.initialize()
    for value in OBSERVED:
        backend.record_metric("payment.seconds", value, "histogram", {"method": "card"})
    await backend.shutdown()

    metric = _last(receiver, "payment.seconds")
    assert metric.WhichOneof("data") == "exponential_histogram"
    assert metric.exponential_histogram.aggregation_temporality == CUMULATIVE
    (point,) = metric.exponential_histogram.data_points
    assert attributes(point.attributes) == {"method": "card"}
    ours = Histogram("ours", native=True, schema=3)
    for value in OBSERVED:
        ours.observe(value)
    native = ours.get_native_buckets()  # type: ignore[attr-defined]
    first, last = native.positive[0][0], native.positive[-1][0]
    expected = [dict(native.positive).get(i, 0) for i in range(first, last + 1)]
    assert point.scale == native.schema == 3
    assert point.positive.offset == first - 1
    assert _dense(point.positive.bucket_counts) == expected
    assert point.zero_count == native.zero_count == 1
    assert (point.count, point.sum, point.min, point.max) == (8, sum(OBSERVED), 0.0, 100.0)
    assert _dense(point.negative.bucket_counts) == []


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def test_middleware_request_durations_are_exponential_under_uvicorn(
    receiver: OTLPReceiver, uvicorn_server: ServeApp
) -> None:
    """The OpenTelemetry middleware's request-duration histogram follows the same
    switch: a real server's durations arrive as exponential points at schema 2."""
    backend = OpenTelemetryBackend("shop", config=_config(receiver, schema=2))
    app = Starlette(routes=[Route("/orders/{order_id}", _ok)])
    base = uvicorn_server(OTelMiddleware(app, backend=backend))
    with httpx.Client(base_url=base, trust_env=False) as client:
        for number in range(5):
            assert client.get(f"/orders/{number}").status_code == 200
    asyncio.run(backend.shutdown())

    metric = _last(receiver, "http.server.request.duration")
    (point,) = metric.exponential_histogram.data_points
    assert attributes(point.attributes)["http.route"] == "/orders/{order_id}"
    assert point.count == 5
    assert point.scale <= 2
    assert sum(point.positive.bucket_counts) + point.zero_count == 5
    assert 0 < point.min <= point.max < 60
