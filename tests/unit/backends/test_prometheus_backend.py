"""PrometheusBackend: scrape server, config fields, record_metric, create_span, wiring."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from lexigram.monitor.backends._wiring import exemplars_enabled
from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import PrometheusConfig
from lexigram.monitor.exceptions import BackendNotAvailableError, InvalidMetricError
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.tracing import NonRecordingSpan, Span, SpanContext, Tracer

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


async def start(backends: list[PrometheusBackend], **config: Any) -> PrometheusBackend:
    options: dict[str, Any] = {"port": 0, **config}
    collector = options.pop("collector", None)
    backend = PrometheusBackend(config=PrometheusConfig(**options), collector=collector)
    backends.append(backend)
    await backend.initialize()
    return backend


async def get(backend: PrometheusBackend, path: str = "/metrics", **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        return await http.get(f"http://127.0.0.1:{backend.port}{path}", headers=headers)


# -- server --------------------------------------------------------------------------------


async def test_port_zero_serves_metrics_on_a_free_port(
    backends: list[PrometheusBackend], isolated_metrics: MetricsCollector
) -> None:
    """``port=0`` binds a free loopback port, exposed as ``port``/``bound_port``."""
    backend = await start(backends)
    backend.record_metric("orders", 2, "counter", {"kind": "book"})

    response = await get(backend)

    assert backend.port == backend.bound_port
    assert backend.port > 0
    assert backend.serving
    assert response.status_code == 200
    assert 'orders_total{kind="book"} 2\n' in response.text


async def test_other_paths_get_404_and_the_configured_path_is_served(
    backends: list[PrometheusBackend],
) -> None:
    """``PrometheusConfig.path`` decides the scrape path; every other path is 404."""
    backend = await start(backends, path="/internal/metrics")

    assert (await get(backend, "/metrics")).status_code == 404
    assert (await get(backend, "/internal/metrics?x=1")).status_code == 200


async def test_auth_token_is_required_when_configured(backends: list[PrometheusBackend]) -> None:
    """With ``auth_token`` set, only the right bearer token gets the exposition."""
    backend = await start(backends, auth_token="s3cret")

    refused = await get(backend)
    allowed = await get(backend, Authorization="Bearer s3cret")

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert allowed.status_code == 200


async def test_openmetrics_with_exemplar_from_a_backend_span(
    backends: list[PrometheusBackend],
) -> None:
    """initialize() installs the exemplar source: a counter recorded inside a span carries
    its trace id in the OpenMetrics scrape."""
    backend = await start(backends)
    assert exemplars_enabled()

    with backend.create_span("checkout") as span:
        backend.record_metric("checkouts", 1, "counter")
    response = await get(backend, Accept=OPENMETRICS)

    parsed = text_string_to_metric_families(response.text)  # type: ignore[no-untyped-call]
    families = {f.name: f for f in parsed}
    (sample,) = families["checkouts"].samples
    assert sample.exemplar.labels["trace_id"] == span.context.trace_id


async def test_a_port_in_use_logs_a_warning_and_does_not_raise(
    backends: list[PrometheusBackend], caplog: pytest.LogCaptureFixture
) -> None:
    """A taken port never fails start-up: the backend runs without its server."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="lexigram.monitor.backends.prometheus"):
            backend = await start(backends, port=port)

        assert not backend.serving
        assert backend.bound_port is None
        assert backend.port == port
        assert "could not listen" in caplog.text
        backend.record_metric("still_works", 1, "counter")


async def test_default_metrics_follow_the_config(backends: list[PrometheusBackend]) -> None:
    """``enable_default_metrics=False`` removes the process/GC/platform collectors."""
    without = await start(backends, enable_default_metrics=False)
    text_without = (await get(without)).text
    with_defaults = await start(backends, enable_default_metrics=True)
    text_with = (await get(with_defaults)).text

    assert "python_gc_objects_collected_total" not in text_without
    assert "python_gc_objects_collected_total" in text_with


async def test_own_collector_is_served_alone(backends: list[PrometheusBackend]) -> None:
    """A backend given its own collector serves exactly that collector's instruments."""
    collector = MetricsCollector()
    backend = await start(backends, collector=collector)
    backend.record_metric("private_gauge", 4, "gauge")

    text = (await get(backend)).text

    assert "private_gauge 4.0\n" in text
    assert "python_gc" not in text
    assert collector.get_metric("private_gauge") is not None


async def test_shutdown_stops_serving_and_is_idempotent(backends: list[PrometheusBackend]) -> None:
    """After shutdown the port is closed; a second shutdown is harmless."""
    backend = await start(backends)
    port = backend.port

    await backend.shutdown()
    await backend.shutdown()

    assert not backend.serving
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(trust_env=False, timeout=2) as http:
            await http.get(f"http://127.0.0.1:{port}/metrics")


async def test_two_backends_in_one_process_share_the_registry(
    backends: list[PrometheusBackend],
) -> None:
    """A second backend registers nothing twice: both serve the one process registry."""
    first = await start(backends)
    second = await start(backends)

    first.record_metric("shared", 1, "counter")
    second.record_metric("shared", 1, "counter")

    assert first.port != second.port
    for backend in (first, second):
        assert "shared_total 2\n" in (await get(backend)).text


async def test_initialize_twice_keeps_one_server(backends: list[PrometheusBackend]) -> None:
    """initialize() is idempotent."""
    backend = await start(backends)
    port = backend.port

    await backend.initialize()

    assert backend.port == port


async def test_malformed_and_slow_requests_do_not_disturb_the_server(
    backends: list[PrometheusBackend],
) -> None:
    """Garbage and half-sent requests are closed; the next scrape works."""
    backend = await start(backends)
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.port)
    writer.write(b"NONSENSE\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    _, idle = await asyncio.open_connection("127.0.0.1", backend.port)
    idle.write(b"GET /metrics HTTP/1.1\r\n")  # never finished

    assert answer.startswith(b"HTTP/1.1 400")
    assert (await get(backend)).status_code == 200
    idle.close()


# -- construction --------------------------------------------------------------------------


def test_port_argument_and_config_port() -> None:
    """The port argument wins unless left at its default, where ``config.port`` is used."""
    assert PrometheusBackend().port == 8000
    assert PrometheusBackend(9100).port == 9100
    assert PrometheusBackend(config=PrometheusConfig(port=9123)).port == 9123
    assert PrometheusBackend(9200, config=PrometheusConfig(port=9123)).port == 9200
    with pytest.raises(ValueError, match="port"):
        PrometheusBackend(70000)


def test_missing_prometheus_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The constructor raises BackendNotAvailableError naming the pip extra."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)

    with pytest.raises(BackendNotAvailableError, match=r"lexigram-monitor\[prometheus\]"):
        PrometheusBackend()


# -- record_metric -------------------------------------------------------------------------


def test_record_metric_feeds_every_instrument_kind(isolated_metrics: MetricsCollector) -> None:
    """counter adds, gauge sets, histogram and summary observe — in the default collector."""
    backend = PrometheusBackend()

    backend.record_metric("orders.placed", 1, "counter", {"shop": "a"})
    backend.record_metric("orders.placed", 2, "COUNTER", {"shop": "a"})
    backend.record_metric("queue_depth", 9, "gauge")
    backend.record_metric("latency_seconds", 0.3, "histogram")
    backend.record_metric("payload_bytes", 120, "summary")

    assert isolated_metrics.get_metric("orders_placed").get_count({"shop": "a"}) == 3  # type: ignore[union-attr]
    assert isolated_metrics.get_metric("queue_depth").get_value() == 9  # type: ignore[union-attr]
    assert isolated_metrics.get_metric("latency_seconds").get_count() == 1  # type: ignore[union-attr]
    assert isolated_metrics.get_metric("payload_bytes").get_count() == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("m", 1, "meter"), "metric_type 'meter'"),
        (("m", -1, "counter"), "counters only go up"),
        (("m", float("nan"), "gauge"), "NaN"),
        (("m", 1, "counter", {"k": 1}), "must be strings"),
        (("bad name!", 1, "gauge"), "invalid"),
    ],
)
def test_record_metric_refuses_bad_input(args: tuple[Any, ...], match: str) -> None:
    """Unknown types, bad values, labels and names raise InvalidMetricError."""
    with pytest.raises(InvalidMetricError, match=match):
        PrometheusBackend().record_metric(*args)


def test_record_metric_follows_a_replaced_default_collector() -> None:
    """When the default collector is replaced, values go to the new one."""
    from lexigram.monitor.metrics import get_default_collector, set_default_collector

    backend = PrometheusBackend()
    backend.record_metric("moved", 1, "counter")
    replacement = MetricsCollector()
    set_default_collector(replacement)

    backend.record_metric("moved", 1, "counter")

    assert replacement.get_metric("moved").get_count() == 1  # type: ignore[union-attr]
    assert get_default_collector() is replacement


# -- create_span ---------------------------------------------------------------------------


def test_create_span_returns_a_real_span_with_valid_ids() -> None:
    """Spans are real tracing spans with 32/16 hex ids, not dummies."""
    span = PrometheusBackend(tracer=Tracer("svc", None)).create_span("work")

    assert isinstance(span, Span)
    assert len(span.context.trace_id) == 32
    assert len(span.context.span_id) == 16
    assert int(span.context.trace_id, 16) != 0
    span.end()


def test_create_span_continues_the_parent_trace() -> None:
    """A parent context makes the span a child in the same trace."""
    parent = SpanContext.from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert parent is not None

    span = PrometheusBackend(tracer=Tracer("svc", None)).create_span("child", parent)

    assert span.context.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.context.parent_span_id == "00f067aa0ba902b7"
    assert not isinstance(span, NonRecordingSpan)


async def test_attach_database_before_initialize(tmp_path: Path) -> None:
    """A provider attached before initialize() receives the stored samples' table."""
    import sqlite3

    from lexigram.monitor.backends._sqlstore import SQLiteProvider

    provider = SQLiteProvider(str(tmp_path / "attached.db"))
    backend = PrometheusBackend(
        0,
        config=PrometheusConfig(port=0, store_in_db=True, metrics_table="attached_samples"),
        collector=MetricsCollector(),
    )
    backend.attach_database(provider)
    await backend.initialize()
    try:
        backend.record_metric("jobs_total", 1, "counter")
        with pytest.raises(RuntimeError, match="before initialize"):
            backend.attach_database(provider)
    finally:
        await backend.shutdown()
    rows = (
        sqlite3.connect(tmp_path / "attached.db")
        .execute("SELECT name FROM attached_samples")
        .fetchall()
    )
    assert ("jobs_total",) in rows
