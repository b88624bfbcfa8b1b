"""PrometheusMetricsExporter: async API over prometheus_client, schema lock, bounds, app."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import httpx
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lexigram.monitor.backends.exporters.prometheus import PrometheusMetricsExporter
from lexigram.monitor.config import BackendType, MonitorConfig
from lexigram.monitor.exceptions import BackendNotAvailableError, InvalidMetricError


def sample_values(exporter: PrometheusMetricsExporter, name: str) -> dict[tuple[Any, ...], float]:
    text = prometheus_client.generate_latest(exporter.registry).decode()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def test_counter_gauge_and_histogram_update_the_registry() -> None:
    """The three async methods update prometheus_client metrics in the exporter's registry."""
    exporter = PrometheusMetricsExporter()

    await exporter.counter("jobs", 2, {"queue": "a"})
    await exporter.counter("jobs", 3, {"queue": "a"})
    await exporter.gauge("depth", 7.5)
    await exporter.histogram("latency_seconds", 0.2, {"route": "/x"})

    assert sample_values(exporter, "jobs_total") == {(("queue", "a"),): 5.0}
    assert sample_values(exporter, "depth") == {(): 7.5}
    assert sample_values(exporter, "latency_seconds_count") == {(("route", "/x"),): 1.0}
    buckets = sample_values(exporter, "latency_seconds_bucket")
    assert buckets[(("le", "0.25"), ("route", "/x"))] == 1.0
    assert buckets[(("le", "0.1"), ("route", "/x"))] == 0.0


async def test_updates_run_inline_on_the_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """No thread hop: the update happens on the caller's thread, before the await returns."""
    exporter = PrometheusMetricsExporter()
    hops: list[Any] = []
    monkeypatch.setattr(asyncio, "to_thread", lambda *a, **k: hops.append(a))
    await exporter.counter("inline", 1)
    family = exporter._families["inline"]
    thread_ids: list[int] = []
    original = family.metric.inc

    def spy(amount: float) -> None:
        thread_ids.append(threading.get_ident())
        original(amount)

    monkeypatch.setattr(family.metric, "inc", spy)

    await exporter.counter("inline", 1)

    assert hops == []
    assert thread_ids == [threading.get_ident()]
    assert sample_values(exporter, "inline_total") == {(): 2.0}


async def test_label_schema_is_locked_on_first_use() -> None:
    """Missing keys become ``""``; unknown keys raise and change nothing."""
    exporter = PrometheusMetricsExporter()
    await exporter.counter("hits", 1, {"method": "GET", "status": "200"})

    await exporter.counter("hits", 1, {"method": "POST"})
    await exporter.counter("hits", 1)
    with pytest.raises(InvalidMetricError, match=r"unknown \['path'\].*\['method', 'status'\]"):
        await exporter.counter("hits", 1, {"method": "GET", "path": "/x"})

    assert sample_values(exporter, "hits_total") == {
        (("method", "GET"), ("status", "200")): 1.0,
        (("method", "POST"), ("status", "")): 1.0,
        (("method", ""), ("status", "")): 1.0,
    }


async def test_unlabelled_first_use_locks_an_empty_schema() -> None:
    """A metric first used without labels refuses labels later instead of dropping them."""
    exporter = PrometheusMetricsExporter()
    await exporter.gauge("plain", 1)

    with pytest.raises(InvalidMetricError, match="unknown"):
        await exporter.gauge("plain", 2, {"extra": "x"})


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda e: e.counter("c", -1), "counters only go up"),
        (lambda e: e.counter("c", float("nan")), "counters only go up"),
        (lambda e: e.counter("c", "1"), "counters only go up"),
        (lambda e: e.gauge("g", float("nan")), "not NaN"),
        (lambda e: e.histogram("h", float("nan")), "not NaN"),
        (lambda e: e.counter("9 lives", 1), "invalid"),
        (lambda e: e.counter("c", 1, {"__reserved": "x"}), "reserved"),
        (lambda e: e.counter("c", 1, {"k": 5}), "must be strings"),
    ],
)
async def test_bad_input_raises_invalid_metric_error(call: Any, match: str) -> None:
    """Bad values, names and labels raise a clear InvalidMetricError."""
    exporter = PrometheusMetricsExporter()

    with pytest.raises(InvalidMetricError, match=match):
        await call(exporter)


async def test_a_name_keeps_its_type() -> None:
    """Reusing a name with another type is refused (and ``x`` vs ``x_total`` too)."""
    exporter = PrometheusMetricsExporter()
    await exporter.counter("events", 1)

    with pytest.raises(InvalidMetricError, match="already a counter"):
        await exporter.gauge("events", 1)
    await exporter.counter("items_total", 1)
    with pytest.raises(InvalidMetricError, match="cannot register gauge 'items'"):
        await exporter.gauge("items", 1)


async def test_dotted_names_follow_the_facade_rule() -> None:
    """``orders.placed`` and ``orders_placed`` are the same metric."""
    exporter = PrometheusMetricsExporter()

    await exporter.counter("orders.placed", 1)
    await exporter.counter("orders_placed", 2)

    assert sample_values(exporter, "orders_placed_total") == {(): 3.0}


async def test_two_exporters_do_not_collide() -> None:
    """Each exporter has its own registry by default."""
    first, second = PrometheusMetricsExporter(), PrometheusMetricsExporter()

    await first.counter("shared_name", 1)
    await second.counter("shared_name", 5)

    assert first.registry is not second.registry
    assert sample_values(first, "shared_name_total") == {(): 1.0}
    assert sample_values(second, "shared_name_total") == {(): 5.0}


async def test_a_given_registry_is_used() -> None:
    """An explicit CollectorRegistry receives the metrics."""
    registry = prometheus_client.CollectorRegistry()
    exporter = PrometheusMetricsExporter(registry)

    await exporter.gauge("given", 3)

    assert registry.get_sample_value("given") == 3.0


async def test_label_sets_past_the_cap_share_the_overflow_series() -> None:
    """Series per metric are bounded; extra label sets go to ``__overflow__``."""
    exporter = PrometheusMetricsExporter(max_series_per_metric=2)

    for user in ("a", "b", "c", "d"):
        await exporter.counter("per_user", 1, {"user": user})

    assert sample_values(exporter, "per_user_total") == {
        (("user", "a"),): 1.0,
        (("user", "b"),): 1.0,
        (("user", "__overflow__"),): 2.0,
    }


async def test_metric_count_is_bounded() -> None:
    """Past ``max_metrics`` names a new name is refused with a clear error."""
    exporter = PrometheusMetricsExporter(max_metrics=2)
    await exporter.gauge("one", 1)
    await exporter.gauge("two", 1)

    with pytest.raises(InvalidMetricError, match="max_metrics"):
        await exporter.gauge("three", 1)


async def test_flush_is_a_no_op() -> None:
    """flush() returns without touching the registry (Prometheus pulls)."""
    exporter = PrometheusMetricsExporter()
    await exporter.gauge("kept", 1)

    await exporter.flush()

    assert sample_values(exporter, "kept") == {(): 1.0}


async def test_metrics_app_serves_the_registry() -> None:
    """``metrics_app`` is prometheus_client's ASGI app over the exporter's registry."""
    exporter = PrometheusMetricsExporter()
    await exporter.counter("app_hits", 2)
    transport = httpx.ASGITransport(app=exporter.metrics_app)

    async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert "app_hits_total 2.0" in response.text


def test_metrics_app_raises_runtime_error_without_prometheus_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If prometheus_client disappears, ``metrics_app`` raises RuntimeError naming the extra."""
    exporter = PrometheusMetricsExporter()
    monkeypatch.setitem(sys.modules, "prometheus_client", None)

    with pytest.raises(RuntimeError, match=r"lexigram-monitor\[prometheus\]"):
        _ = exporter.metrics_app


def test_constructor_names_the_extra_without_prometheus_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without prometheus_client the exporter cannot be built; the error names the extra."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)

    with pytest.raises(BackendNotAvailableError, match=r"lexigram-monitor\[prometheus\]"):
        PrometheusMetricsExporter()


def test_monitor_config_makes_an_exporter_for_the_prometheus_backend() -> None:
    """``MonitorConfig.make_exporter()`` returns a PrometheusMetricsExporter for Prometheus."""
    exporter = MonitorConfig(backend_type=BackendType.PROMETHEUS).make_exporter()

    assert isinstance(exporter, PrometheusMetricsExporter)
    assert MonitorConfig(backend_type=BackendType.MEMORY).make_exporter() is None
