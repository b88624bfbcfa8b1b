"""Status page: server CPU per render of the page and of each JSON endpoint.

A service with 2,000 series (request metrics of 200 routes, each with its own latencies,
600 request-counter series and 12 other families of 100 series), 500 buffered spans (125
traces of 4 spans with a few attributes), 20 health checks with 30 runs of history each
and two SLOs. Each request goes through ``StatusPage.respond`` (token check, data,
rendering, encoding), called in process; the figure is the process CPU time per request,
median of interleaved repeats (the target is 20 ms for the page and for each endpoint).
Health checks are not run by the page here (``health_max_age=0``): the figure is reading
and rendering. The page keeps what did not change since its last render (figures of idle
routes, metric families, health rows, trace summaries), so the page is measured twice:
as the service stands, and right after a request on every route and a new value in every
gauge family (nothing of those kept; the traffic itself is not timed).

Also prints the weight of the page's script and stylesheet (target: 50 KB together) and
the ring of route readings after the run (a reading is only taken when asked).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import timedelta
from importlib import resources

from lexigram.monitor.config import MonitorConfig, StatusPageConfig
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.middleware.status import StatusPage
from lexigram.monitor.slo import AvailabilitySLO, RequestsSLI, SLOMonitor
from lexigram.monitor.tracing import SpanKind, Tracer

ROUTES = 200
FAMILIES = 12
SERIES_PER_FAMILY = 100
TRACES = 125
SPANS_PER_TRACE = 4
CHECKS = 20
HISTORY = 30
REPEATS = 15
TOKEN = b"Bearer bench-token"
PATHS = (
    "/",
    "/api/overview",
    "/api/health",
    "/api/slos",
    "/api/routes",
    "/api/traces",
    "/api/metrics",
    "/api/config",
)
#: The page right after traffic on every route (see the module docstring).
BUSY = "/ (after a request on every route)"


def _service() -> tuple[StatusPage, int]:
    collector = MetricsCollector()
    duration = collector.create_histogram("http_request_duration_seconds", "Request duration.")
    total = collector.create_counter("http_requests_total", "Requests.")
    for i in range(ROUTES):
        route = f"/api/v1/resource{i}/{{id}}"
        for n in range(20):
            duration.observe(0.003 * (n + 1) * (1 + i / ROUTES), {"method": "GET", "route": route})
        for status in ("200", "404", "500"):
            total.increment(7, {"method": "GET", "route": route, "status": status})
    for f in range(FAMILIES):
        gauge = collector.create_gauge(f"bench_family_{f}", f"Family {f} of the benchmark.")
        for s in range(SERIES_PER_FAMILY):
            gauge.set(s * 1.5, {"shard": str(s)})
    series = sum(len(i.collect()) for i in collector.instruments())
    tracer = Tracer("bench", None, max_spans=TRACES * SPANS_PER_TRACE)
    for t in range(TRACES):
        with tracer.start_span(f"GET /api/v1/resource{t}", kind=SpanKind.SERVER) as root:
            root.set_attributes({"http.request.method": "GET", "http.route": f"/r/{t}"})
            for c in range(SPANS_PER_TRACE - 1):
                with tracer.start_span(f"SELECT {c}", kind=SpanKind.CLIENT) as child:
                    child.set_attribute("db.system", "postgresql")
    monitor = SLOMonitor(collector=collector)
    for name in ("orders", "checkout"):
        monitor.register(
            AvailabilitySLO(
                name, 0.99, timedelta(days=30), RequestsSLI(route="/api/v1/resource1/{id}")
            )
        )
    config = MonitorConfig(status_page=StatusPageConfig(auth_token="bench-token", health_max_age=0))
    page = StatusPage(
        collector=collector, tracer=tracer, slo_monitor=monitor, config=config, service_name="bench"
    )
    now = time.time()
    for c in range(CHECKS):
        for r in range(HISTORY):
            status = "healthy" if (c + r) % 7 else "degraded"
            page.history.record(f"check_{c}", status, 3.5, "ok", "readiness", now - HISTORY + r)
    return page, series


def _traffic(page: StatusPage, repeat: int) -> None:
    """A request on every route and a new value in one series of every gauge family."""
    collector = page.collector
    duration = collector.get_metric("http_request_duration_seconds")
    total = collector.get_metric("http_requests_total")
    for i in range(ROUTES):
        labels = {"method": "GET", "route": f"/api/v1/resource{i}/{{id}}"}
        duration.observe(0.001 * (repeat + 1) * (1 + i / ROUTES), labels)
        total.increment(1, {**labels, "status": "200"})
    for f in range(FAMILIES):
        collector.get_metric(f"bench_family_{f}").set(repeat * 0.5, {"shard": "0"})


async def _measure(page: StatusPage) -> dict[str, list[float]]:
    cpu: dict[str, list[float]] = {path: [] for path in (*PATHS, BUSY)}
    sizes: dict[str, int] = {}
    for repeat in range(REPEATS):
        for path in (*PATHS, BUSY):
            if path == BUSY:
                _traffic(page, repeat)
            started = time.process_time()
            response = await page.respond("GET", path.split(" ")[0], "", [TOKEN], "/-/monitor")
            cpu[path].append((time.process_time() - started) * 1000.0)
            assert response.status == 200, (path, response.status)
            sizes[path] = len(response.body)
    for path in cpu:
        cpu[path].append(float(sizes[path]))  # the last item is the body size
    return cpu


def main() -> None:
    page, series = _service()
    print(
        f"{series} series, {len(page.tracer.get_all_spans())} buffered spans, {CHECKS} checks "
        f"x {HISTORY} runs, {REPEATS} interleaved repeats; CPU ms per request (median, max)"
    )
    results = asyncio.run(_measure(page))
    print("| request | median CPU ms | max CPU ms | body KB | target |")
    print("|---|---:|---:|---:|---:|")
    for path, values in results.items():
        timings, size = values[:-1], values[-1]
        print(
            f"| GET /-/monitor{path} | {statistics.median(timings):.2f} | {max(timings):.2f} "
            f"| {size / 1024:.1f} | ≤ 20 |"
        )
    static = resources.files("lexigram.monitor.middleware.status").joinpath("static")
    js = len(static.joinpath("status.js").read_bytes())
    css = len(static.joinpath("status.css").read_bytes())
    print(
        f"script {js / 1024:.1f} KB + stylesheet {css / 1024:.1f} KB = {(js + css) / 1024:.1f} KB (≤ 50)"
    )
    print(f"route readings kept after the run: {len(page.routes)} (taken only when asked)")
    page.close()
