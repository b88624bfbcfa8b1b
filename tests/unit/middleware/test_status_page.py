"""The status page without a browser: route figures, health history, the HTTP rules,
escaping, the scrape-server routes and the configuration."""

from __future__ import annotations

import itertools
import math
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.backends.prometheus import start_http_server
from lexigram.monitor.config import MonitorConfig, StatusPageConfig, mask_secrets
from lexigram.monitor.health import HealthChecker, HealthCheckResult, HealthStatus
from lexigram.monitor.hooks import HealthCheckRunHook, HookBus
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.middleware.status import CSP, HealthHistory, StatusPage, mount_status_page
from lexigram.monitor.middleware.status.history import MAX_MESSAGE, sanitise
from lexigram.monitor.middleware.status.routes import RouteStats, quantile, quantiles, read_routes
from lexigram.monitor.tracing import Tracer

TOKEN = "page-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
XSS = "<script>alert(1)</script>"
ROUTE = "http_request_duration_seconds"


def _clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


# -- quantiles and the route ring -----------------------------------------------------------


def test_quantile_interpolates_inside_the_bucket_like_histogram_quantile() -> None:
    """Rank 50 of 100 observations, all in (0.1, 0.2], lands halfway: 0.15; the +Inf
    bucket answers its lower bound; no observation gives None."""
    bounds = (0.1, 0.2, math.inf)
    assert quantile(0.5, bounds, (0, 100, 100)) == (pytest.approx(0.15), 1)
    assert quantile(0.99, bounds, (0, 0, 10)) == (0.2, 2)
    assert quantile(0.5, bounds, (0, 0, 0)) is None


@given(
    st.lists(st.integers(0, 50), min_size=1, max_size=12),
    st.lists(st.floats(0.001, 1.0), min_size=1, max_size=4),
)
def test_quantiles_in_one_pass_equal_each_quantile_alone(steps: list[int], qs: list[float]) -> None:
    """quantiles(qs) gives what quantile(q) gives for each q (ascending), whatever the
    counts, cumulative or not."""
    counts = [float(c) for c in steps]
    bounds = [0.1 * (i + 1) for i in range(len(counts) - 1)] + [math.inf]
    ascending = sorted(qs)
    alone = [quantile(q, bounds, counts) for q in ascending]
    assert quantiles(ascending, bounds, counts) == alone
    cumulative = list(itertools.accumulate(counts))
    alone = [quantile(q, bounds, cumulative) for q in ascending]
    assert quantiles(ascending, bounds, cumulative) == alone


def _requests(collector: MetricsCollector) -> tuple[Any, Any]:
    duration = collector.create_histogram(ROUTE, "", buckets=[0.1, 0.5, 1.0])
    total = collector.create_counter("http_requests_total", "")
    return duration, total


def _record(duration: Any, total: Any, seconds: float, status: str, route: str = "/a") -> None:
    duration.observe(seconds, {"method": "GET", "route": route})
    total.increment(1, {"method": "GET", "route": route, "status": status})


def test_no_reading_is_taken_until_someone_asks() -> None:
    """The ring stays empty however long the service runs: readings are taken when the
    table is asked for, never by a timer."""
    clock = _clock()
    collector = MetricsCollector(clock=clock)
    duration, total = _requests(collector)
    stats = RouteStats(lambda: read_routes(collector.instruments()), clock, snapshot_interval=5)
    for _ in range(100):
        _record(duration, total, 0.05, "200")
        clock.advance(10)
    assert len(stats) == 0
    stats.table()
    assert len(stats) == 1


def test_figures_are_differences_over_the_window() -> None:
    """A series born inside the window counts from zero over the whole window; once a
    reading a window old exists, the figures are the differences since it: 60 requests
    in the last minute, 20 of them 500s, all between 0.1 and 0.5 s."""
    clock = _clock()
    collector = MetricsCollector(clock=clock)
    duration, total = _requests(collector)
    stats = RouteStats(lambda: read_routes(collector.instruments()), clock, snapshot_interval=5)
    for _ in range(30):
        _record(duration, total, 0.05, "200")
    first = stats.table()[0]["1m"]
    assert first["requests"] == 30
    assert first["rate"] == pytest.approx(30 / 60)
    assert first["errors"] == 0
    clock.advance(60)
    for i in range(60):
        _record(duration, total, 0.3, "500" if i % 3 == 0 else "200")
    row = stats.table()[0]
    assert row["1m"]["requests"] == 60
    assert row["1m"]["rate"] == pytest.approx(1.0)
    assert row["1m"]["errors"] == pytest.approx(1 / 3)
    assert 0.1 < row["1m"]["p50"] <= 0.5
    assert row["5m"]["requests"] == 90  # the series is younger than five minutes


def test_a_counter_reset_counts_from_zero() -> None:
    """Fewer requests than at the base reading (a restarted worker) is not a negative
    rate: the current totals are taken as the window's."""
    clock = _clock()
    collector = MetricsCollector(clock=clock)
    duration, total = _requests(collector)
    stats = RouteStats(lambda: read_routes(collector.instruments()), clock, snapshot_interval=5)
    for _ in range(10):
        _record(duration, total, 0.05, "200")
    stats.table()
    clock.advance(61)
    collector2 = MetricsCollector(clock=clock)
    duration2, total2 = _requests(collector2)
    _record(duration2, total2, 0.05, "200")
    stats._read = lambda: read_routes(collector2.instruments())  # the process restarted
    assert stats.table()[0]["1m"]["requests"] == 1


def test_otel_layout_and_metric_prefix_are_read() -> None:
    """Without PrometheusMiddleware's metrics, OTelMiddleware's histogram (status as a
    label) gives counts and errors; the collector's prefix is honoured."""
    clock = _clock()
    collector = MetricsCollector(clock=clock)
    histogram = collector.create_histogram("app_http_server_request_duration", "", buckets=[1.0])
    labels = {"http_request_method": "GET", "http_route": "/b"}
    histogram.observe(0.2, {**labels, "http_response_status_code": "200"})
    histogram.observe(0.2, {**labels, "http_response_status_code": "503"})
    counts = read_routes(collector.instruments(), prefix="app")[("GET", "/b")]
    assert (counts.count, counts.errors) == (2, 1)


# -- health history -------------------------------------------------------------------------


def test_history_keeps_the_last_runs_and_when_the_status_changed() -> None:
    """Runs arrive as hooks; the history is bounded, and "since" is the first run with
    the current status."""
    clock = _clock()
    bus = HookBus()
    history = HealthHistory(3, clock=clock)
    history.listen(bus)
    for status in ("healthy", "healthy", "unhealthy", "unhealthy", "unhealthy"):
        clock.advance(1)
        bus.emit(
            HealthCheckRunHook(check_name="db", healthy=False, status=status, category="readiness")
        )
    check = history.view()["checks"][0]
    assert [r["status"] for r in check["history"]] == ["unhealthy"] * 3
    assert check["changed_at"] == 1_700_000_003.0
    groups = {g["name"]: g["status"] for g in history.view()["groups"]}
    assert groups == {"liveness": None, "readiness": "unhealthy", "startup": None}
    history.close()
    bus.emit(HealthCheckRunHook(check_name="db", healthy=True, status="healthy"))
    assert history.view()["checks"][0]["status"] == "unhealthy"


def test_messages_are_one_bounded_line() -> None:
    """Control characters become spaces and long messages are cut."""
    assert sanitise("a\nb\x1bc") == "a b c"
    assert len(sanitise("x" * 1000)) == MAX_MESSAGE


# -- the page over HTTP ---------------------------------------------------------------------


def _page(**kwargs: Any) -> StatusPage:
    config = MonitorConfig(status_page=StatusPageConfig(auth_token=TOKEN))
    return StatusPage(
        config=config, collector=kwargs.pop("collector", MetricsCollector()), **kwargs
    )


async def _client(page: StatusPage) -> httpx.AsyncClient:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=mount_status_page(app, page))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_token_first_then_method_then_path() -> None:
    """Without the token everything under the page answers 401 with a Bearer challenge
    (HEAD without body); with it, POST is 405 and an unknown path 404; other paths go to
    the app."""
    page = _page(tracer=Tracer("svc", None))
    async with await _client(page) as client:
        for path in ("/-/monitor", "/-/monitor/api/health", "/-/monitor/static/status.js"):
            refused = await client.get(path)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == 'Bearer realm="status"'
        wrong = await client.get("/-/monitor", headers={"Authorization": "Bearer nope"})
        assert "invalid_token" in wrong.headers["www-authenticate"]
        head = await client.head("/-/monitor")
        assert (head.status_code, head.content) == (401, b"")
        assert (await client.post("/-/monitor")).status_code == 401
        assert (await client.post("/-/monitor", headers=AUTH)).status_code == 405
        assert (await client.get("/-/monitor/nope", headers=AUTH)).status_code == 404
        assert (await client.get("/elsewhere")).status_code == 204
        ok = await client.head("/-/monitor/api/overview", headers=AUTH)
        assert ok.status_code == 200
        assert ok.content == b""
        assert int(ok.headers["content-length"]) > 0
    page.close()


async def test_the_page_has_a_strict_csp_and_escapes_every_value() -> None:
    """The HTML loads its script and style from under its own path, with a CSP allowing
    no inline script; a route label and a span name holding markup come out escaped."""
    collector = MetricsCollector()
    collector.create_histogram(ROUTE, "").observe(0.1, {"method": "GET", "route": XSS})
    tracer = Tracer("svc", None)
    with tracer.start_span(XSS, attributes={"note": XSS}):
        pass
    page = _page(collector=collector, tracer=tracer)
    async with await _client(page) as client:
        response = await client.get("/-/monitor", headers=AUTH)
        assert response.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP
        body = response.text
        assert XSS not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert body.count("<script") == 1
        assert 'src="/-/monitor/static/status.js?v=' in body
        trace_id = tracer.get_all_spans()[0].trace_id
        trace = await client.get(f"/-/monitor/api/trace?id={trace_id}", headers=AUTH)
        assert trace.json()["waterfall"][0]["attributes"] == {"note": XSS}
        html = await client.get(f"/-/monitor/trace?id={trace_id}", headers=AUTH)
        assert XSS not in html.text
        assert (await client.get("/-/monitor/api/trace?id=zz", headers=AUTH)).status_code == 400
        missing = await client.get("/-/monitor/api/trace?id=" + "0" * 32, headers=AUTH)
        assert missing.status_code == 404
    page.close()


async def test_every_section_is_json() -> None:
    """Each section answers JSON; an unknown one is a 404 naming the sections."""
    page = _page(tracer=Tracer("svc", None))
    async with await _client(page) as client:
        for key in ("overview", "health", "slos", "routes", "traces", "metrics", "config"):
            response = await client.get(f"/-/monitor/api/{key}", headers=AUTH)
            assert response.status_code == 200, key
            assert response.headers["content-type"] == "application/json"
            assert isinstance(response.json(), dict)
        unknown = await client.get("/-/monitor/api/nope", headers=AUTH)
        assert unknown.status_code == 404
        assert "overview" in unknown.json()["error"]
    page.close()


@pytest.mark.parametrize(
    "failing", ["overview", "health", "slos", "routes", "traces", "metrics", "config"]
)
async def test_a_failing_section_shows_its_error_and_the_page_still_renders(
    failing: str,
) -> None:
    """A section whose source raises shows the error in its place; the page and the
    other sections are served as usual (a telemetry failure never breaks the page)."""
    page = _page(tracer=Tracer("svc", None))
    inner = page._section

    async def section(key: str, query: Any) -> dict[str, Any]:
        if key == failing:
            raise RuntimeError(f"{key} source is down")
        return await inner(key, query)

    page._section = section  # type: ignore[method-assign]
    async with await _client(page) as client:
        for _ in range(2):  # the second render goes through the kept HTML
            response = await client.get("/-/monitor", headers=AUTH)
            assert response.status_code == 200
            assert f"{failing} source is down" in response.text
            assert response.text.count('<section id="') == 8  # 7 sections + trace view
        api = await client.get(f"/-/monitor/api/{failing}", headers=AUTH)
        assert api.status_code == 200
        assert f"{failing} source is down" in api.json()["error"]
    page.close()


async def test_the_page_runs_stale_checks_and_records_them() -> None:
    """Checks without a result younger than health_max_age are run before answering;
    fresh ones are not run again."""
    clock = _clock()
    runs: list[int] = []

    def probe() -> HealthCheckResult:
        runs.append(1)
        return HealthCheckResult(component="db", status=HealthStatus.DEGRADED, message="slow")

    checker = HealthChecker(collector=MetricsCollector())
    checker.add("db", probe)
    page = StatusPage(
        config=MonitorConfig(status_page=StatusPageConfig(health_max_age=5)),
        collector=MetricsCollector(),
        tracer=Tracer("svc", None),
        checker=checker,
        clock=clock,
    )
    first = await page.section("health")
    assert [c["status"] for c in first["checks"]] == ["degraded"]
    await page.section("health")
    assert len(runs) == 1
    clock.advance(6)
    await page.section("health")
    assert len(runs) == 2
    page.close()


def test_the_scrape_server_serves_the_page_too() -> None:
    """attach() puts the page and its JSON on start_http_server's server, under the same
    token rule."""
    page = _page(tracer=Tracer("svc", None))
    with start_http_server(0, collector=MetricsCollector()) as server:
        page.attach(server)
        base = f"http://127.0.0.1:{server.port}/-/monitor"
        assert httpx.get(base, trust_env=False).status_code == 401
        ok = httpx.get(base, headers=AUTH, trust_env=False)
        assert ok.status_code == 200
        assert "text/html" in ok.headers["content-type"]
        api = httpx.get(f"{base}/api/overview", headers=AUTH, trust_env=False)
        assert api.json()["service"] == "svc"
    page.close()


# -- configuration --------------------------------------------------------------------------


def test_status_page_config_rules() -> None:
    """The path must start with '/' and not be '/'; the token is a secret; production
    without a token is a finding."""
    assert StatusPageConfig(path="/ops/").path == "/ops"
    with pytest.raises(ValueError, match="must start with '/'"):
        StatusPageConfig(path="/")
    masked = mask_secrets(MonitorConfig(status_page=StatusPageConfig(auth_token="s")))
    assert masked["status_page"]["auth_token"] == "***"
    issues = MonitorConfig(environment="production").validate_for_environment()
    assert "status_page.auth_token" in {i.field for i in issues}
    covered = MonitorConfig(environment="production", prometheus={"auth_token": "t"})
    assert "status_page.auth_token" not in {i.field for i in covered.validate_for_environment()}
