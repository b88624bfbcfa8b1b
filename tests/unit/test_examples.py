"""The runnable examples work as their docstrings say, driven in process (no network)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples import fastapi_app, starlette_app, worker

from lexigram.monitor import (
    BackendType,
    HealthCheckConfig,
    MetricsCollector,
    MonitorConfig,
    Tracer,
    TracingConfig,
)
from lexigram.monitor.cli import main as cli_main
from lexigram.monitor.protocols import ASGIApp
from lexigram.monitor.testing import MetricsCapture, capture_metrics, capture_spans
from lexigram.monitor.tracing import InMemorySpanExporter, SpanKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan around the block, as uvicorn does."""
    to_app: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def serve() -> None:
        await app(scope, to_app.get, from_app.put)

    task = asyncio.create_task(serve())
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        await task


def client(app: ASGIApp) -> httpx.AsyncClient:
    """An httpx client calling *app* in process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://example")


# -- FastAPI ---------------------------------------------------------------------------


class FakeClock:
    """Monotonic seconds moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_fastapi_quote_is_counted_timed_and_traced() -> None:
    """A quote request is counted by route template, the pricing function is timed,
    and its span is a child of the request's SERVER span (continuing the caller's trace)."""
    with capture_metrics() as metrics, capture_spans() as spans:
        app = fastapi_app.create_app(tracer=spans.tracer, collector=metrics.collector)
        async with lifespan(app), client(app) as http:
            quote = await http.get(
                "/quotes/widget", params={"quantity": 12}, headers={"traceparent": TRACEPARENT}
            )
            unknown = await http.get("/quotes/gizmo")
        assert quote.status_code == 200
        assert quote.json() == {
            "sku": "widget",
            "quantity": 12,
            "unit_price": "2.50",
            "total": "28.50",
        }
        assert unknown.status_code == 404
        route = {"method": "GET", "route": "/quotes/{sku}"}
        assert metrics.value("http_requests_total", {**route, "status": "200"}) == 1
        assert metrics.value("http_requests_total", {**route, "status": "404"}) == 1
        assert metrics.value("pricing_quote_duration") == 2
        server = spans.find("GET /quotes/{sku}")
        pricing = spans.find("pricing.quote")
    assert len(server) == 2
    assert len(pricing) == 2
    first_server = next(s for s in server if s.context.trace_id == TRACEPARENT[3:35])
    first_pricing = next(s for s in pricing if s.context.trace_id == TRACEPARENT[3:35])
    assert first_server.kind is SpanKind.SERVER
    assert first_pricing.parent_span_id == first_server.context.span_id


async def test_fastapi_serves_metrics_and_validates_input() -> None:
    """/metrics shows the request and pricing instruments; a bad quantity is a 422."""
    with capture_metrics() as metrics, capture_spans() as spans:
        app = fastapi_app.create_app(tracer=spans.tracer, collector=metrics.collector)
        async with client(app) as http:
            bad = await http.get("/quotes/widget", params={"quantity": 0})
            ok = await http.get("/quotes/sprocket")
            exposition = await http.get("/metrics")
    assert bad.status_code == 422
    assert ok.json()["total"] == "0.40"
    assert exposition.status_code == 200
    assert 'http_requests_total{method="GET",route="/quotes/{sku}",status="422"} 1' in (
        exposition.text
    )
    assert "pricing_quote_duration_count 1" in exposition.text


async def test_fastapi_readiness_follows_the_price_list() -> None:
    """/health/ready is 200 with fresh prices, 207 when they are stale, 503 without any;
    probes are not counted as requests."""
    clock = FakeClock()
    prices = fastapi_app.PriceList(fastapi_app.EXAMPLE_PRICES, clock=clock)
    with capture_metrics() as metrics, capture_spans() as spans:
        app = fastapi_app.create_app(
            prices=prices, tracer=spans.tracer, collector=metrics.collector
        )
        async with client(app) as http:
            fresh = await http.get("/health/ready")
            clock.now += fastapi_app.MAX_PRICE_AGE_SECONDS + 1
            stale = await http.get("/health/ready")
            prices.refresh({})
            empty = await http.get("/health/ready")
        requests = metrics.collector.get_metric("http_requests_total")
        assert requests is None or requests.collect() == ()  # type: ignore[attr-defined]
    assert (fresh.status_code, stale.status_code, empty.status_code) == (200, 207, 503)
    assert stale.json()["checks"]["price_list"]["message"] == "prices are 301s old (limit 300s)"


async def test_fastapi_bulk_discount() -> None:
    """price_quote gives 5 % off from ten units and None for an unknown SKU."""
    prices = fastapi_app.PriceList(fastapi_app.EXAMPLE_PRICES)
    with capture_metrics(), capture_spans():
        nine = await fastapi_app.price_quote(prices, "widget", 9)
        ten = await fastapi_app.price_quote(prices, "widget", 10)
        none = await fastapi_app.price_quote(prices, "gizmo", 1)
    assert nine is not None
    assert ten is not None
    assert (str(nine.total), str(ten.total), none) == ("22.50", "23.75", None)


# -- Starlette -------------------------------------------------------------------------


def _config(**updates: Any) -> MonitorConfig:
    config = MonitorConfig.from_yaml(starlette_app.DEFAULT_CONFIG)
    # sample every trace so spans can be checked
    tracing = config.tracing.model_copy(update={"sample_rate": 1.0})
    return config.model_copy(update={"tracing": tracing, **updates})


def _tracer(config: MonitorConfig, exporter: InMemorySpanExporter) -> Tracer:
    return Tracer(config.tracing.service_name, exporter, config=config.tracing)


def test_monitor_yaml_holds_the_documented_settings() -> None:
    """examples/monitor.yaml selects the prometheus backend on 127.0.0.1:9464 and sets
    the tracing, health and metrics sections the app uses."""
    config = MonitorConfig.from_yaml(EXAMPLES / "monitor.yaml")
    assert starlette_app.DEFAULT_CONFIG == EXAMPLES / "monitor.yaml"
    assert config.backend_type is BackendType.PROMETHEUS
    assert (config.prometheus.host, config.prometheus.port) == ("127.0.0.1", 9464)
    assert config.tracing.service_name == "notes-api"
    assert config.tracing.sample_rate == 0.25
    assert config.health.timeout == 2.0
    assert config.metrics.max_series_per_metric == 500


def test_monitor_yaml_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    """`check` accepts the example file: no issue in development, warnings only (the
    tokens to set) in production."""
    path = str(EXAMPLES / "monitor.yaml")
    assert cli_main(["check", "--config", path, "--env", "development", "--json"]) == 0
    assert '"issues": []' in capsys.readouterr().out
    assert cli_main(["check", "--config", path, "--env", "production"]) == 0
    assert "0 errors, 3 warnings" in capsys.readouterr().out


def test_load_config_honours_monitor_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$MONITOR_CONFIG points the app at another file."""
    other = tmp_path / "other.yaml"
    other.write_text("monitor:\n  backend_type: memory\n", encoding="utf-8")
    monkeypatch.setenv(starlette_app.CONFIG_ENV, str(other))
    assert starlette_app.load_config().backend_type is BackendType.MEMORY


async def test_starlette_notes_with_the_prometheus_backend() -> None:
    """With the YAML's prometheus backend the app counts requests by route template,
    records the business metrics, traces the store, answers probes, and leaves /metrics
    to the backend's own port (the backend is not started here: no port is bound)."""
    config = _config()
    exporter = InMemorySpanExporter()
    tracer = _tracer(config, exporter)
    collector = MetricsCollector(config.metrics)
    app = starlette_app.create_app(config, collector=collector, tracer=tracer)
    async with client(app) as http:
        created = await http.post("/notes", json={"text": "buy milk"})
        read = await http.get("/notes/1")
        missing = await http.get("/notes/2")
        invalid = await http.post("/notes", content=b"not json")
        too_long = await http.post("/notes", json={"text": "x" * 1001})
        metrics = await http.get("/metrics")
        ready = await http.get("/health/ready")
    assert (created.status_code, created.json()) == (201, {"id": 1})
    assert read.json() == {"id": 1, "text": "buy milk"}
    assert (missing.status_code, invalid.status_code, too_long.status_code) == (404, 400, 400)
    assert metrics.status_code == 404
    assert ready.json()["checks"]["note_store"]["message"] == "1 notes"
    recorded = MetricsCapture(collector)
    labels = {"method": "GET", "route": "/notes/{note_id}", "status": "404"}
    assert recorded.value("http_requests_total", labels) == 1
    assert recorded.value("notes_created") == 1
    assert recorded.value("notes_length_chars") == 1
    tracer.flush()
    names = [s.name for s in exporter.get_finished_spans()]
    assert "store note" in names
    assert "POST /notes" in names
    tracer.shutdown()


async def test_starlette_memory_backend_serves_metrics_through_its_lifespan() -> None:
    """With backend_type memory the lifespan starts and stops the backend and the app
    serves /metrics itself."""
    config = _config(backend_type=BackendType.MEMORY)
    collector = MetricsCollector(config.metrics)
    app = starlette_app.create_app(config, collector=collector)
    async with lifespan(app), client(app) as http:
        await http.post("/notes", json={"text": "call mum"})
        exposition = await http.get("/metrics")
    assert exposition.status_code == 200
    assert "notes_created_total 1" in exposition.text
    assert "# HELP notes_length_chars Length of stored notes, in characters." in exposition.text


async def test_starlette_honours_disabled_sections() -> None:
    """health.enabled=false leaves /health to the app (404); metrics.enabled=false adds
    no request metrics."""
    config = _config(
        backend_type=BackendType.MEMORY,
        health=HealthCheckConfig(enabled=False),
        metrics=_config().metrics.model_copy(update={"enabled": False}),
        tracing=TracingConfig(enabled=False),
    )
    collector = MetricsCollector()
    app = starlette_app.create_app(config, collector=collector)
    async with client(app) as http:
        health = await http.get("/health")
        await http.post("/notes", json={"text": "x"})
    assert health.status_code == 404
    assert collector.get_metric("http_requests_total") is None


def test_note_store_is_bounded_and_reports_fill() -> None:
    """The store keeps at most max_notes notes (oldest dropped) and is DEGRADED at 90 %."""
    store = starlette_app.NoteStore(max_notes=10)
    ids = [store.add(f"note {i}") for i in range(11)]
    assert store.get(ids[0]) is None
    assert store.get(ids[-1]) == "note 10"
    status, message = store.health()
    assert status.value == "degraded"
    assert "100% full" in message


# -- worker ----------------------------------------------------------------------------


class FakeTime:
    """A timer and a sleep that advances it without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def timer(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def _run_worker(jobs: int | None = 60, **kwargs: Any) -> tuple[Any, MetricsCollector, Any]:
    collector = MetricsCollector()
    exporter = InMemorySpanExporter()
    tracer = Tracer("email-worker", exporter)
    fake = FakeTime()
    stats = await worker.run_worker(
        jobs,
        collector=collector,
        tracer=tracer,
        sleep=fake.sleep,
        timer=fake.timer,
        rng=random.Random(11),
        evaluate_every=20,
        **kwargs,
    )
    tracer.flush()
    spans = exporter.get_finished_spans()
    tracer.shutdown()
    return stats, collector, spans


async def test_worker_processes_traces_and_counts_every_job() -> None:
    """Every job is consumed in the producer's trace and counted by outcome and timed."""
    stats, collector, spans = await _run_worker(60)
    assert (stats.published, stats.processed) == (60, 60)
    recorded = MetricsCapture(collector)
    assert recorded.value("worker_jobs_total", {"outcome": "failed"}) == stats.failed
    assert recorded.value("worker_jobs_total", {"outcome": "sent"}) == 60 - stats.failed
    assert recorded.value("worker_job_duration_seconds") == 60
    assert stats.dropped_metrics == 0
    producers = {s.context.span_id: s for s in spans if s.kind is SpanKind.PRODUCER}
    consumers = [s for s in spans if s.kind is SpanKind.CONSUMER]
    assert len(producers) == len(consumers) == 60
    for consumer in consumers:
        assert consumer.parent_span_id is not None
        producer = producers[consumer.parent_span_id]
        assert consumer.context.trace_id == producer.context.trace_id
        assert consumer.name == "process emails"


async def test_worker_slo_violation_is_alerted_once(caplog: pytest.LogCaptureFixture) -> None:
    """Slow sends break the p95 objective: every evaluation returns the violation, the
    alert dispatcher logs it once (suppression window)."""
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor"):
        stats, _, _ = await _run_worker(60)
    assert len(stats.violations) >= 2
    assert all(v.measured_value > 250.0 for v in stats.violations)
    alerts = [r for r in caplog.records if r.name == "lexigram.monitor.alerts"]
    assert len(alerts) == 1
    assert alerts[0].__dict__["metric_name"] == worker.SLO_METRIC
    assert f"violated at {len(stats.violations)} evaluation(s)" in worker.summary(stats)


async def test_worker_pushes_only_when_a_pushgateway_is_set() -> None:
    """Without a URL nothing is pushed; with one, each checkpoint pushes the job."""
    calls: list[tuple[str, str]] = []

    def push(url: str, job: str) -> None:
        calls.append((url, job))

    stats, _, _ = await _run_worker(40, push=push)
    assert (calls, stats.pushes) == ([], 0)
    stats, _, _ = await _run_worker(40, push=push, pushgateway_url="http://pg:9091")
    assert calls == [("http://pg:9091", "email_worker")] * 2
    assert stats.pushes == 2
    assert "Pushgateway: 2 pushes, 0 failed" in worker.summary(stats)


async def test_worker_survives_a_failing_push(caplog: pytest.LogCaptureFixture) -> None:
    """A push that raises is logged and counted; the run completes."""

    def push(url: str, job: str) -> None:
        raise OSError("connection refused")

    with caplog.at_level(logging.WARNING, logger="examples.worker"):
        stats, _, _ = await _run_worker(20, push=push, pushgateway_url="http://pg:9091")
    assert (stats.processed, stats.pushes, stats.push_failures) == (20, 0, 1)
    assert "connection refused" in caplog.text


async def test_worker_flushes_when_cancelled() -> None:
    """Cancelled mid-run (Ctrl-C), the worker still delivers every buffered metric."""
    collector = MetricsCollector()
    fake = FakeTime()
    task = asyncio.create_task(
        worker.run_worker(
            None, collector=collector, sleep=fake.sleep, timer=fake.timer, rng=random.Random(2)
        )
    )
    for _ in range(200):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    recorded = MetricsCapture(collector)
    timed = recorded.value("worker_job_duration_seconds")
    assert timed > 0
    sent = recorded.value("worker_jobs_total", {"outcome": "sent"})
    failed = recorded.value("worker_jobs_total", {"outcome": "failed"})
    assert sent + failed == timed


def test_worker_command_line_refuses_bad_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """--jobs 0 is a usage error."""
    with pytest.raises(SystemExit) as exc:
        worker.main(["--jobs", "0"])
    assert exc.value.code == 2
    assert "--jobs and --evaluate-every must be >= 1" in capsys.readouterr().err
