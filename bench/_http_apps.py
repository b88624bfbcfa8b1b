"""The ASGI apps the HTTP benchmark serves: one bare app per framework, then the same app
behind each metrics/tracing middleware.

Every app answers ``GET /`` with plain text and ``GET /items/{item_id}`` with JSON. Each
factory takes no argument, so uvicorn can load it with
``python -m uvicorn bench._http_apps:<factory> --factory``. :data:`APPS` lists them in
table order; :func:`missing` tells, without building anything, whether an app's libraries
can be imported (ours appear once ``lexigram.monitor.middleware`` ships them).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AppSpec:
    """One benchmarked app: its factory, the bare app it is compared with, its target."""

    name: str
    factory: str
    baseline: str
    needs: tuple[tuple[str, str], ...]
    """(module, attribute) pairs that must import for the app to exist."""
    target: str = ""


_STARLETTE = (("starlette.applications", "Starlette"),)
_FASTAPI = (("fastapi", "FastAPI"),)

APPS: Sequence[AppSpec] = (
    AppSpec("starlette (bare)", "bare_starlette", "bare_starlette", _STARLETTE),
    AppSpec(
        "starlette_exporter",
        "starlette_exporter_app",
        "bare_starlette",
        (*_STARLETTE, ("starlette_exporter", "PrometheusMiddleware")),
    ),
    AppSpec(
        "OTel ASGI middleware (SDK)",
        "otel_asgi_app",
        "bare_starlette",
        (
            *_STARLETTE,
            ("opentelemetry.instrumentation.asgi", "OpenTelemetryMiddleware"),
            ("opentelemetry.sdk.trace", "TracerProvider"),
        ),
    ),
    AppSpec(
        "lexigram PrometheusMiddleware",
        "lexigram_prometheus_app",
        "bare_starlette",
        (*_STARLETTE, ("lexigram.monitor.middleware", "PrometheusMiddleware")),
        target=">= 90 %",
    ),
    AppSpec(
        "lexigram OTelMiddleware",
        "lexigram_otel_app",
        "bare_starlette",
        (*_STARLETTE, ("lexigram.monitor.middleware", "OTelMiddleware")),
        target=">= 75 %",
    ),
    AppSpec("fastapi (bare)", "bare_fastapi", "bare_fastapi", _FASTAPI),
    AppSpec(
        "prometheus-fastapi-instrumentator",
        "instrumentator_app",
        "bare_fastapi",
        (*_FASTAPI, ("prometheus_fastapi_instrumentator", "Instrumentator")),
    ),
)


def missing(spec: AppSpec) -> str | None:
    """Why *spec* cannot be built here (first missing import), or None when it can."""
    for module, attribute in spec.needs:
        try:
            loaded = importlib.import_module(module)
        except Exception as exc:  # ImportError, or BackendNotAvailableError from our guard
            return f"{module} not importable ({type(exc).__name__})"
        if not hasattr(loaded, attribute):
            return f"{module}.{attribute} does not exist yet"
    return None


def bare_starlette() -> Any:
    """Starlette with the two benchmark routes and nothing else."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def root(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def item(request: Request) -> Response:
        item_id = int(request.path_params["item_id"])
        return JSONResponse({"id": item_id, "name": f"item {item_id}", "in_stock": True})

    return Starlette(routes=[Route("/", root), Route("/items/{item_id:int}", item)])


def bare_fastapi() -> Any:
    """FastAPI with the same two routes (the instrumentator's own baseline)."""
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()

    @app.get("/", response_class=PlainTextResponse)
    async def root() -> str:
        return "ok"

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": f"item {item_id}", "in_stock": True}

    return app


def starlette_exporter_app() -> Any:
    """The bare Starlette app behind ``starlette_exporter.PrometheusMiddleware``."""
    from starlette_exporter import PrometheusMiddleware, handle_metrics

    app = bare_starlette()
    app.add_middleware(PrometheusMiddleware)
    app.add_route("/metrics", handle_metrics)
    return app


def instrumentator_app() -> Any:
    """The bare FastAPI app instrumented by prometheus-fastapi-instrumentator."""
    from prometheus_fastapi_instrumentator import Instrumentator

    app = bare_fastapi()
    Instrumentator().instrument(app).expose(app)
    return app


def otel_asgi_app() -> Any:
    """Bare Starlette behind the OTel ASGI middleware: SDK tracer with a batch processor
    feeding a no-op exporter, SDK meter with a periodic reader feeding a no-op exporter."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        MetricsData,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class DiscardSpans(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class DiscardMetrics(MetricExporter):
        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            return None

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DiscardSpans()))
    reader = PeriodicExportingMetricReader(DiscardMetrics(), export_interval_millis=5_000)
    meter_provider = MeterProvider(metric_readers=[reader])
    return OpenTelemetryMiddleware(
        bare_starlette(), tracer_provider=tracer_provider, meter_provider=meter_provider
    )


def lexigram_prometheus_app() -> Any:
    """The bare Starlette app behind our ``PrometheusMiddleware`` (default settings)."""
    from lexigram.monitor import middleware

    return middleware.PrometheusMiddleware(bare_starlette())


def lexigram_otel_app() -> Any:
    """The bare Starlette app behind our ``OTelMiddleware`` (default settings)."""
    from lexigram.monitor import middleware

    return middleware.OTelMiddleware(bare_starlette())
