"""The demo service: a small shop API on Starlette, instrumented end to end.

Routes: ``GET /`` (index), ``GET /orders/{order_id}`` (a database lookup; ids above 950
are unknown: 404), ``GET /reports/slow`` (200-800 ms), ``POST /checkout`` (fails with
500 about one time in five), the probes ``/health``, ``/health/live``,
``/health/ready``, ``/health/startup``, the scrape endpoint ``/metrics`` and the fault
switch ``/-/faults`` (``POST /-/faults?share=0.5`` makes half of the shop's requests
fail with a 500; see ``_demo_faults.py``) and the live status page ``/-/monitor``
(``StatusPage``; its readiness check ``payments`` fails while faults are on).

An :class:`~lexigram.monitor.slo.SLOMonitor` tracks the availability SLO
``orders-availability`` (99 % of ``GET /orders/{order_id}`` requests not 5xx, over
*slo_period*) from the request counter and evaluates it every *slo_interval* seconds
while the app runs, so ``/metrics`` shows its ``lexigram_slo_*`` gauges.

Metrics stay in process, in the embedded memory backend (``MemoryBackend`` over the
collector, ``MonitorConfig()``'s default backend). The stack, outermost first:
``HealthCheckProvider`` (the probes, neither traced nor counted) → the status page →
``OTelMiddleware`` (a server span per request, so metric exemplars carry its trace id) →
``PrometheusMiddleware`` (request metrics, ``/metrics``) → the Starlette app. Spans go to a
:class:`~lexigram.monitor.tracing.ConsoleSpanExporter` writing JSON lines to a file. The
database is simulated (:class:`FakeDatabase`): its latency varies, it is degraded now and
then and occasionally refuses a probe, so the readiness endpoint moves
between 200, 207 and 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

from .._clock import SYSTEM_CLOCK, Clock
from .._version import __version__
from ..backends.memory import MemoryBackend
from ..config import MonitorConfig, StatusPageConfig, TracingConfig
from ..health import HealthCheckCategory, HealthChecker, HealthCheckResult, HealthStatus
from ..metrics import MetricsCollector, get_default_collector
from ..protocols import ASGIApp
from ..slo import AvailabilitySLO, RequestsSLI, SLOMonitor
from ..tracing import ConsoleSpanExporter, SpanKind, SpanStatus, Tracer
from ._demo_faults import FAULTS_PATH, FaultSwitch
from ._demo_traffic import TrafficGenerator

__all__ = ["DemoService", "FakeDatabase", "build_demo", "demo_slo"]

SERVICE_NAME = "lexigram-demo"
UNKNOWN_ORDER_ABOVE = 950
CHECKOUT_FAILURE_RATE = 0.2
SLOW_REPORT_SECONDS = (0.2, 0.8)
WARM_UP_SECONDS = 2.0
"""The startup probe reports STARTING until the service has run this long."""
ORDERS_ROUTE = "/orders/{order_id}"


def demo_slo(period: timedelta = timedelta(days=30)) -> AvailabilitySLO:
    """The demo's SLO: 99 % of order lookups succeed (not 5xx) over *period*."""
    return AvailabilitySLO(
        "orders-availability",
        0.99,
        period,
        RequestsSLI(route=ORDERS_ROUTE),
        "Order lookups answer without a server error.",
    )


Sleep = Callable[[float], Awaitable[Any]]


class FakeDatabase:
    """A simulated database: queries take 2-40 ms, one in ten takes 120-300 ms.

    :meth:`probe` is its health check: HEALTHY when fast, DEGRADED when the probe query
    was slow (or one time in ten at random: "replica lagging"), and UNHEALTHY
    ("connection refused") one time in fifty.
    """

    def __init__(self, rng: random.Random, sleep: Sleep = asyncio.sleep) -> None:
        self._rng = rng
        self._sleep = sleep
        self.queries = 0

    def _latency(self) -> float:
        if self._rng.random() < 0.1:
            return self._rng.uniform(0.12, 0.3)
        return self._rng.uniform(0.002, 0.04)

    async def query(self, statement: str) -> float:
        """Run *statement* (simulated); return its latency in seconds."""
        latency = self._latency()
        await self._sleep(latency)
        self.queries += 1
        return latency

    async def probe(self) -> HealthCheckResult:
        """Health check: ``SELECT 1`` and judge the latency."""
        roll = self._rng.random()
        if roll < 0.02:
            return _result("database", HealthStatus.UNHEALTHY, "connection refused")
        latency = await self.query("SELECT 1")
        details = {"latency_ms": round(latency * 1000, 1), "pool_size": 10}
        if latency > 0.1:
            return _result("database", HealthStatus.DEGRADED, "slow responses", details)
        if roll < 0.1:
            return _result("database", HealthStatus.DEGRADED, "replica lagging", details)
        return _result("database", HealthStatus.HEALTHY, "ok", details)


@dataclass
class DemoService:
    """Everything the demo app holds, for the runner and for tests."""

    app: ASGIApp
    """The full ASGI stack to serve."""
    tracer: Tracer
    collector: MetricsCollector
    checker: HealthChecker
    database: FakeDatabase
    traffic: TrafficGenerator | None
    faults: FaultSwitch
    slo_monitor: SLOMonitor
    status_page: Any = None
    """The :class:`~lexigram.monitor.middleware.status.StatusPage` at ``/-/monitor``."""
    spans_stream: IO[str] | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Flush the spans and release the span file (idempotent)."""
        if self.status_page is not None:
            self.status_page.close()
        self.tracer.shutdown(timeout=5.0)
        while self.closers:
            self.closers.pop()()


def build_demo(
    *,
    spans_stream: IO[str] | None,
    traffic_client: Callable[[], Any] | None,
    traffic_rate: float = 4.0,
    collector: MetricsCollector | None = None,
    rng: random.Random | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = SYSTEM_CLOCK,
    tracing: TracingConfig | None = None,
    fault_share: float = 0.0,
    slo_period: timedelta = timedelta(days=30),
    slo_interval: float = 5.0,
    status_page: StatusPageConfig | None = None,
) -> DemoService:
    """Build the demo stack.

    *spans_stream* receives one JSON line per ended span (None: spans are kept in memory
    only). *traffic_client* returns the httpx client the traffic generator uses (None:
    no background traffic); it is started on lifespan start-up and stopped on shut-down,
    which also flushes the spans. *rng*, *sleep* and *clock* make tests deterministic.
    *fault_share* is the fault switch's initial share; the SLO monitor uses *slo_period*
    and evaluates every *slo_interval* seconds while the app runs. *status_page* configures
    the status page (default ``StatusPageConfig()``: ``/-/monitor``, no token).
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from ..middleware import HealthCheckProvider, OTelMiddleware, PrometheusMiddleware
    from ..middleware.status import StatusPage, mount_status_page

    rng = rng if rng is not None else random.Random()
    collector = collector if collector is not None else get_default_collector()
    config = (
        tracing
        if tracing is not None
        else TracingConfig(service_name=SERVICE_NAME, export_interval=1.0)
    )
    exporter = ConsoleSpanExporter(spans_stream) if spans_stream is not None else None
    tracer = Tracer(config.service_name, exporter, config=config)
    database = FakeDatabase(rng, sleep)
    backend = MemoryBackend(collector=collector, tracer=tracer)
    basket = collector.create_histogram(
        "demo_basket_items", "Items per checkout basket.", buckets=[1, 2, 3, 5, 8, 13]
    )
    started = clock.monotonic()
    faults = FaultSwitch(fault_share, random.Random(rng.random()))
    slo_monitor = SLOMonitor(collector=collector, clock=clock)
    slo_monitor.register(demo_slo(slo_period))

    checker = HealthChecker(collector=collector)
    checker.add("database", database.probe, timeout=1.0, category=HealthCheckCategory.READINESS)
    checker.add("event_loop", _loop_alive, category=HealthCheckCategory.LIVENESS)

    def warmed_up() -> HealthCheckResult:
        uptime = clock.monotonic() - started
        if uptime < WARM_UP_SECONDS:
            return _result("warm_up", HealthStatus.STARTING, "loading caches")
        return _result("warm_up", HealthStatus.HEALTHY, f"up {uptime:.0f}s")

    checker.add("warm_up", warmed_up, category=HealthCheckCategory.STARTUP)

    def payments() -> HealthCheckResult:
        share = faults.share
        if share > 0:
            return _result(
                "payments", HealthStatus.UNHEALTHY, f"fault switch on: {share:.0%} of requests fail"
            )
        return _result("payments", HealthStatus.HEALTHY, "provider reachable")

    checker.add("payments", payments, category=HealthCheckCategory.READINESS)

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "service": SERVICE_NAME,
                "try": [
                    "GET /orders/{order_id}",
                    "GET /reports/slow",
                    "POST /checkout",
                    "GET /metrics",
                    "GET /health/ready",
                    f"POST {FAULTS_PATH}?share=0.5",
                    "GET /-/monitor",
                ],
            }
        )

    async def order(request: Request) -> Response:
        order_id: int = request.path_params["order_id"]
        with tracer.start_span("SELECT orders", kind=SpanKind.CLIENT) as span:
            span.set_attribute("db.system", "postgresql")
            span.set_attribute("db.operation", "SELECT")
            await database.query("SELECT * FROM orders WHERE id = $1")
        if order_id > UNKNOWN_ORDER_ABOVE:
            return JSONResponse({"error": f"order {order_id} not found"}, status_code=404)
        return JSONResponse({"order_id": order_id, "status": "shipped", "total": 42.5})

    async def slow_report(request: Request) -> Response:
        seconds = rng.uniform(*SLOW_REPORT_SECONDS)
        with tracer.start_span("render report") as span:
            span.set_attribute("report.rows", 1200)
            await sleep(seconds)
        return JSONResponse({"report": "quarterly", "seconds": round(seconds, 3)})

    async def checkout(request: Request) -> Response:
        try:
            payload = await request.json()
            items = len(payload.get("items") or ())
        except (ValueError, AttributeError):
            return JSONResponse({"error": "send a JSON object with 'items'"}, status_code=400)
        basket.observe(items)
        with tracer.start_span("authorize payment", kind=SpanKind.CLIENT) as span:
            await sleep(rng.uniform(0.01, 0.05))
            if rng.random() < CHECKOUT_FAILURE_RATE:
                span.set_status(SpanStatus.ERROR, "payment provider unavailable")
                backend.record_metric("demo.checkouts", 1, "counter", {"outcome": "failed"})
                return JSONResponse({"error": "payment provider unavailable"}, status_code=500)
        backend.record_metric("demo.checkouts", 1, "counter", {"outcome": "ok"})
        return JSONResponse({"status": "confirmed", "items": items}, status_code=201)

    traffic = (
        TrafficGenerator(
            traffic_client, rate=traffic_rate, rng=random.Random(rng.random()), sleep=sleep
        )
        if traffic_client is not None
        else None
    )
    service_box: list[DemoService] = []

    async def evaluate_slos() -> None:
        # Real time, not *sleep*: tests that fake sleeping would spin this loop.
        while True:
            await asyncio.sleep(slo_interval)
            await slo_monitor.evaluate()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await backend.initialize()
        if traffic is not None:
            traffic.start()
        evaluator = asyncio.create_task(evaluate_slos(), name="demo-slo-evaluation")
        try:
            yield
        finally:
            evaluator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await evaluator
            if traffic is not None:
                await traffic.stop()
            await backend.shutdown()
            await asyncio.to_thread(service_box[0].close)

    routes = [
        Route("/", faults.wrap(index)),
        Route("/orders/{order_id:int}", faults.wrap(order)),
        Route("/reports/slow", faults.wrap(slow_report)),
        Route("/checkout", faults.wrap(checkout), methods=["POST"]),
        Route(FAULTS_PATH, faults.endpoint, methods=["GET", "POST"]),
    ]
    shop = Starlette(routes=routes, lifespan=lifespan)
    metrics = PrometheusMiddleware(shop, "/metrics", collector)
    # Outside the metrics, so the request span is current while the request metrics are
    # recorded and their exemplars carry its trace id; /metrics and /health* are not traced.
    traced = OTelMiddleware(metrics, tracer=tracer, collector=collector)
    page = StatusPage(
        collector=collector,
        tracer=tracer,
        checker=checker,
        slo_monitor=slo_monitor,
        config=MonitorConfig(
            name=SERVICE_NAME,
            tracing=config,
            status_page=status_page if status_page is not None else StatusPageConfig(),
        ),
        service_name=SERVICE_NAME,
        service_version=__version__,
        clock=clock,
    )
    # The page's own requests are neither traced nor counted; the probes, outermost, are
    # answered before anything else (the order instrument() builds).
    app = HealthCheckProvider(mount_status_page(traced, page), "/health", checker=checker)
    service = DemoService(
        app, tracer, collector, checker, database, traffic, faults, slo_monitor, page, spans_stream
    )
    service_box.append(service)
    return service


async def _loop_alive() -> HealthCheckResult:
    """Liveness: the event loop schedules a callback (it is not blocked)."""
    loop = asyncio.get_running_loop()
    before = loop.time()
    await asyncio.sleep(0)
    lag_ms = (loop.time() - before) * 1000
    return _result("event_loop", HealthStatus.HEALTHY, "responsive", {"lag_ms": round(lag_ms, 2)})


def _result(
    component: str, status: HealthStatus, message: str, details: dict[str, Any] | None = None
) -> HealthCheckResult:
    return HealthCheckResult(
        component=component, status=status, message=message, details=details or {}
    )
