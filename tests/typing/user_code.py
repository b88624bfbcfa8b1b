"""User-style code checked by ``mypy --strict`` (``make lint``): the public API types well.

Nothing here runs under pytest; it is a typing test.
"""

from __future__ import annotations

from lexigram.monitor import (
    Counter,
    HealthChecker,
    HealthCheckResult,
    HealthStatus,
    Histogram,
    MetricsCollector,
    MonitorConfig,
    SpanContext,
    SpanKind,
    Tracer,
    health_checker,
    metered,
    traced,
)
from lexigram.monitor.health import HealthCheckCategory


def record_order(collector: MetricsCollector) -> float:
    orders: Counter = collector.create_counter("orders_total", "Orders placed")
    orders.increment(1, labels={"status": "ok"})
    latency: Histogram = collector.create_histogram("order_seconds", buckets=[0.1, 1.0])
    latency.observe(0.25)
    return orders.get_value(labels={"status": "ok"})


def traced_call(tracer: Tracer, headers: dict[str, str]) -> str:
    parent: SpanContext | None = tracer.extract_context(headers)
    with tracer.start_span("charge", context=parent, kind=SpanKind.CLIENT) as span:
        span.set_attribute("amount", 12.5)
        outgoing: dict[str, str] = {}
        tracer.inject_context(outgoing)
    return outgoing.get("traceparent", "")


@health_checker("database")
async def check_db() -> bool:
    return True


async def probes() -> HealthStatus:
    checker = HealthChecker()
    checker.register(check_db)
    checker.add("cache", lambda: True, timeout=1.0, category=HealthCheckCategory.LIVENESS)
    status, results = await checker.run_all_with_summary()
    first: HealthCheckResult = results["database"]
    assert first.component == "database"
    return status


@traced("work")
def work(x: int) -> int:
    return x * 2


@metered("jobs.duration")
async def job() -> str:
    return "done"


def config() -> int:
    cfg = MonitorConfig.from_yaml("app.yaml")
    return cfg.prometheus.port + work(1)


def instrumented_apps() -> None:
    """instrument() keeps a FastAPI/Starlette app's type and wraps a plain ASGI app."""
    from fastapi import FastAPI
    from starlette.applications import Starlette

    from lexigram.monitor import HealthOptions, MetricsOptions, StatusPageOptions, instrument
    from lexigram.monitor.config import StatusPageConfig
    from lexigram.monitor.middleware import HealthCheckProvider
    from lexigram.monitor.protocols import ASGIApp, Receive, Scope, Send

    api: FastAPI = instrument(FastAPI(), health=HealthChecker())

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    shop: Starlette = instrument(Starlette(), metrics=MetricsOptions(auth_token="t"))
    paged: Starlette = instrument(
        Starlette(),
        status_page=StatusPageOptions(path="/ops", config=StatusPageConfig(traces_shown=5)),
    )

    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    wrapped: ASGIApp = instrument(plain, health=HealthOptions(path="/healthz"))
    probes_first: ASGIApp = HealthCheckProvider(wrapped)
    path_first: ASGIApp = HealthCheckProvider("/ready", wrapped)
    assert shop is not None
    assert paged is not None
    assert probes_first is not path_first
