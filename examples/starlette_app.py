"""A Starlette service wired by hand (no DI container) from ``examples/monitor.yaml``.

Run it from the repository root::

    .venv/bin/python -m uvicorn examples.starlette_app:app --port 8001

and try::

    curl -X POST localhost:8001/notes -d '{"text": "buy milk"}'   # 201 {"id": 1}
    curl localhost:8001/notes/1
    curl localhost:9464/metrics        # the prometheus backend's own scrape port
    curl localhost:8001/health/ready

Everything comes from one :class:`~lexigram.monitor.MonitorConfig`, loaded with
``MonitorConfig.from_yaml`` from ``$MONITOR_CONFIG`` (default: ``monitor.yaml`` beside
this file); ``LEX_MONITOR__*`` variables override the file, e.g.
``LEX_MONITOR__BACKEND_TYPE=memory`` serves ``/metrics`` on the app's port instead,
``LEX_MONITOR__BACKEND_TYPE=opentelemetry`` exports over OTLP. ``create_backend``
builds the backend the config names; the app's lifespan initializes it (the Prometheus
backend starts its scrape server) and shuts it down (a last Pushgateway push when one
is configured). The settings used: ``metrics`` (the collector), ``tracing`` (the
tracer and ``OTelMiddleware``), ``health`` (path, timeout, details, token) and the
backend's section. Check them for production with::

    .venv/bin/python -m lexigram.monitor check --config examples/monitor.yaml --env production
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lexigram.monitor import (
    BackendType,
    HealthCheckCategory,
    HealthChecker,
    HealthCheckProvider,
    HealthStatus,
    MetricsCollector,
    MonitorConfig,
    OTelMiddleware,
    PrometheusMiddleware,
    Tracer,
    create_backend,
)
from lexigram.monitor.protocols import ASGIApp

CONFIG_ENV = "MONITOR_CONFIG"
DEFAULT_CONFIG = Path(__file__).with_name("monitor.yaml")
MAX_NOTES = 10_000
MAX_TEXT = 1_000
LENGTH_BUCKETS = [10, 50, 100, 250, 500, 1_000]


class NoteStore:
    """Notes in memory: at most *max_notes* (the oldest is forgotten first)."""

    def __init__(self, max_notes: int = MAX_NOTES) -> None:
        self._notes: OrderedDict[int, str] = OrderedDict()
        self._max = max_notes
        self._next_id = 1

    def add(self, text: str) -> int:
        """Store *text*; return its id."""
        note_id, self._next_id = self._next_id, self._next_id + 1
        self._notes[note_id] = text
        if len(self._notes) > self._max:
            self._notes.popitem(last=False)
        return note_id

    def get(self, note_id: int) -> str | None:
        """The note *note_id*, None when unknown or forgotten."""
        return self._notes.get(note_id)

    def health(self) -> tuple[HealthStatus, str]:
        """Readiness: DEGRADED once the store is 90 % full (old notes are about to go)."""
        used = len(self._notes) / self._max
        if used >= 0.9:
            return HealthStatus.DEGRADED, f"store {used:.0%} full; oldest notes are dropped"
        return HealthStatus.HEALTHY, f"{len(self._notes)} notes"


def load_config() -> MonitorConfig:
    """The settings of ``$MONITOR_CONFIG`` (default ``monitor.yaml`` beside this file)."""
    return MonitorConfig.from_yaml(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def create_app(
    config: MonitorConfig | None = None,
    *,
    collector: MetricsCollector | None = None,
    tracer: Tracer | None = None,
    store: NoteStore | None = None,
) -> ASGIApp:
    """The instrumented app for *config* (default :func:`load_config`)."""
    cfg = config if config is not None else load_config()
    metrics = collector if collector is not None else MetricsCollector(cfg.metrics)
    # Without an exporter the tracer keeps recent spans in memory; their trace ids
    # reach Prometheus as exemplars on the request metrics.
    spans = (
        tracer if tracer is not None else Tracer(cfg.tracing.service_name, None, config=cfg.tracing)
    )
    backend = create_backend(cfg, collector=metrics, tracer=spans)
    notes = store if store is not None else NoteStore()
    # Created up front for their help text and buckets; record_metric finds them by name.
    metrics.create_counter("notes_created", "Notes stored.")
    metrics.create_histogram(
        "notes_length_chars", "Length of stored notes, in characters.", buckets=LENGTH_BUCKETS
    )

    async def create_note(request: Request) -> Response:
        try:
            payload = await request.json()
            text = payload["text"]
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"error": 'send {"text": "..."}'}, status_code=400)
        if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT:
            return JSONResponse({"error": f"text must be 1-{MAX_TEXT} characters"}, 400)
        with backend.create_span("store note") as span:
            span.set_attribute("note.length", len(text))
            note_id = notes.add(text)
        backend.record_metric("notes.created", 1, "counter")
        backend.record_metric("notes.length_chars", len(text), "histogram")
        return JSONResponse({"id": note_id}, status_code=201)

    async def read_note(request: Request) -> Response:
        note_id: int = request.path_params["note_id"]
        text = notes.get(note_id)
        if text is None:
            return JSONResponse({"error": f"note {note_id} not found"}, status_code=404)
        return JSONResponse({"id": note_id, "text": text})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await backend.initialize()  # a busy scrape port is logged, never raised
        try:
            yield
        finally:
            await backend.shutdown()
            spans.shutdown()

    routes = [
        Route("/notes", create_note, methods=["POST"]),
        Route("/notes/{note_id:int}", read_note),
    ]
    return _instrument(
        Starlette(routes=routes, lifespan=lifespan), cfg, backend, metrics, spans, notes
    )


def _instrument(
    app: ASGIApp,
    cfg: MonitorConfig,
    backend: Any,
    metrics: MetricsCollector,
    spans: Tracer,
    notes: NoteStore,
) -> ASGIApp:
    kind = cfg.backend_type if cfg.enabled else None
    if kind is BackendType.OPENTELEMETRY:
        # Spans and the request duration go through the OpenTelemetry SDK.
        app = OTelMiddleware(app, backend=backend, config=cfg.tracing)
    else:
        if cfg.metrics.enabled:
            # The prometheus backend serves /metrics on its own port; otherwise the app does.
            app = PrometheusMiddleware(
                app,
                path=cfg.prometheus.path,
                metrics_collector=metrics,
                auth_token=cfg.prometheus.auth_token,
                serve_metrics=kind is not BackendType.PROMETHEUS,
            )
        app = OTelMiddleware(app, tracer=spans, collector=metrics, config=cfg.tracing)
    checker = HealthChecker(cfg.health, collector=metrics)
    checker.add("note_store", notes.health, category=HealthCheckCategory.READINESS)
    return HealthCheckProvider(app=app, checker=checker, config=cfg.health)


app = create_app()
