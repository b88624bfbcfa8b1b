"""PrometheusMiddleware: request metrics, route labels, the /metrics endpoint, bad input."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import MetricsCollector, get_default_collector, set_exemplar_source
from lexigram.monitor.middleware import PrometheusMiddleware
from lexigram.monitor.middleware.prometheus import (
    OVERFLOW_ROUTE,
    UNMATCHED_ROUTE,
)
from lexigram.monitor.noop import NoOpMetricsCollector
from lexigram.monitor.tracing import Tracer

Scope = dict[str, Any]
Message = dict[str, Any]


@pytest.fixture
def collector() -> MetricsCollector:
    return MetricsCollector()


@pytest.fixture(autouse=True)
def _no_exemplar_source_leaks() -> Iterator[None]:
    """The middleware installs the exemplar source; no test leaves it behind."""
    yield
    set_exemplar_source(None)


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _boom(request: Request) -> Response:
    raise RuntimeError("handler failed")


def _shop() -> Starlette:
    return Starlette(
        routes=[
            Route("/", _ok),
            Route("/orders/{order_id:int}", _ok),
            Route("/boom", _boom),
            Mount("/tenants/{tenant}", routes=[Route("/orders/{order_id}", _ok)]),
        ]
    )


async def _plain_app(scope: Scope, receive: Any, send: Any) -> None:
    """A router-less ASGI app answering 200 to everything."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"plain"})


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


def _families(text: str) -> dict[str, Any]:
    """Parse an exposition back; fails the test if it is not valid."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def _requests(collector: MetricsCollector, **labels: str) -> float:
    counter = collector.get_metric("http_requests_total")
    assert counter is not None
    return float(counter.get_value(labels))  # type: ignore[attr-defined]


def _route_values(collector: MetricsCollector) -> set[str]:
    counter: Any = collector.get_metric("http_requests_total")
    names = counter.label_names
    return {dict(zip(names, s.label_values, strict=True))["route"] for s in counter.collect()}


async def test_counts_requests_by_method_route_template_and_status(
    collector: MetricsCollector,
) -> None:
    """Each request is counted under its route template, method and status, and its
    duration lands in the histogram."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    async with _client(app) as client:
        assert (await client.get("/orders/1")).status_code == 200
        assert (await client.get("/orders/2")).status_code == 200
        assert (await client.post("/orders/3")).status_code == 405
    assert _requests(collector, method="GET", route="/orders/{order_id}", status="200") == 2
    assert _requests(collector, method="POST", route="/orders/{order_id}", status="405") == 1
    duration: Any = collector.get_metric("http_request_duration_seconds")
    assert duration.get_count({"method": "GET", "route": "/orders/{order_id}"}) == 2
    assert _route_values(collector) == {"/orders/{order_id}"}


async def test_in_progress_gauge_is_raised_during_the_request(
    collector: MetricsCollector,
) -> None:
    """``http_requests_in_progress{method}`` is 1 while a request runs and 0 after."""
    seen: list[float] = []

    async def probe(scope: Scope, receive: Any, send: Any) -> None:
        gauge: Any = collector.get_metric("http_requests_in_progress")
        seen.append(gauge.get_value({"method": "GET"}))
        await _plain_app(scope, receive, send)

    async with _client(PrometheusMiddleware(probe, metrics_collector=collector)) as client:
        await client.get("/x")
    gauge: Any = collector.get_metric("http_requests_in_progress")
    assert seen == [1.0]
    assert gauge.get_value({"method": "GET"}) == 0.0


async def test_in_progress_gauge_survives_a_reset_mid_request(
    collector: MetricsCollector,
) -> None:
    """A reset while a request runs: the request lowers the old series, later requests
    raise and lower the new one."""

    async def resetting(scope: Scope, receive: Any, send: Any) -> None:
        collector.get_metric("http_requests_in_progress").reset()  # type: ignore[union-attr]
        await _plain_app(scope, receive, send)

    app = PrometheusMiddleware(resetting, metrics_collector=collector)
    await _call(app, "/x")
    gauge: Any = collector.get_metric("http_requests_in_progress")
    assert gauge.get_value({"method": "GET"}) == 0.0
    app.set_next_app(_plain_app)
    await _call(app, "/x")
    assert gauge.get_value({"method": "GET"}) == 0.0
    assert _requests(collector, method="GET", route=UNMATCHED_ROUTE, status="200") == 2


async def test_a_foreign_in_progress_gauge_only_costs_the_gauge(
    collector: MetricsCollector,
) -> None:
    """An existing ``http_requests_in_progress`` with other labels cannot be bound: each
    request counts an ``in_progress`` failure and is still counted and timed."""
    collector.create_gauge("http_requests_in_progress", "taken").set(3, {"pool": "db"})
    app = PrometheusMiddleware(_plain_app, metrics_collector=collector)
    depths = []
    for _ in range(5):
        status, _, body = await _call(app, "/x")
        assert (status, body) == (200, b"plain")
        error = app._methods["GET"].gauge.error  # type: ignore[union-attr]
        depths.append(len(traceback.extract_tb(error.__traceback__)))
    assert len(set(depths)) == 1  # the stored error's traceback does not grow per request
    assert _requests(collector, method="GET", route=UNMATCHED_ROUTE, status="200") == 5
    failures: Any = get_default_collector().get_metric("lexigram_monitor_middleware_failures_total")
    assert failures.get_value({"reason": "in_progress"}) == 5
    gauge: Any = collector.get_metric("http_requests_in_progress")
    assert gauge.get_value({"pool": "db"}) == 3.0


async def test_mounted_routes_get_their_full_template(collector: MetricsCollector) -> None:
    """A route under a parametrised mount is labelled with both templates."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    async with _client(app) as client:
        await client.get("/tenants/acme/orders/9")
    assert _route_values(collector) == {"/tenants/{tenant}/orders/{order_id}"}


async def test_root_path_prefixes_the_route(collector: MetricsCollector) -> None:
    """Behind a ``root_path`` (proxy prefix) the label is the prefixed template, as
    OpenTelemetry's ``http.route``; the raw path still never appears."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    status, _, _ = await _call(app, "/shop/tenants/t1/orders/7", root_path="/shop")
    assert status == 200
    status, _, _ = await _call(app, "/shop/metrics", root_path="/shop")
    assert status == 200
    assert _route_values(collector) == {"/shop/tenants/{tenant}/orders/{order_id}"}


async def test_unmatched_requests_and_router_less_apps_never_label_raw_paths(
    collector: MetricsCollector,
) -> None:
    """10,000 distinct URLs on an app without route templates give one route value,
    ``<unmatched>``, and a bounded exposition."""
    app = PrometheusMiddleware(_plain_app, metrics_collector=collector)
    async with _client(app) as client:
        for i in range(10_000):
            await client.get(f"/users/{i}/profile")
        text = (await client.get("/metrics")).text
    assert _route_values(collector) == {UNMATCHED_ROUTE}
    assert _requests(collector, method="GET", route=UNMATCHED_ROUTE, status="200") == 10_000
    samples = _families(text)["http_requests"].samples
    assert all("/users/" not in sample.labels.get("route", "") for sample in samples)


async def test_distinct_routes_past_max_routes_go_to_overflow(
    collector: MetricsCollector,
) -> None:
    """Only ``max_routes`` distinct templates are kept; later ones are ``<overflow>``."""
    shop = Starlette(routes=[Route(f"/r{i}/{{x}}", _ok) for i in range(5)])
    app = PrometheusMiddleware(shop, metrics_collector=collector, max_routes=2)
    async with _client(app) as client:
        for i in range(5):
            await client.get(f"/r{i}/1")
    assert _route_values(collector) == {"/r0/{x}", "/r1/{x}", OVERFLOW_ROUTE}
    assert _requests(collector, method="GET", route=OVERFLOW_ROUTE, status="200") == 3


async def test_app_exception_counts_as_500_and_is_reraised(collector: MetricsCollector) -> None:
    """An exception escaping the app is counted with status 500 and re-raised unchanged."""

    async def failing(scope: Scope, receive: Any, send: Any) -> None:
        raise KeyError("lost")

    app = PrometheusMiddleware(failing, metrics_collector=collector)
    with pytest.raises(KeyError, match="lost"):
        await _call(app, "/x")
    assert _requests(collector, method="GET", route=UNMATCHED_ROUTE, status="500") == 1
    gauge: Any = collector.get_metric("http_requests_in_progress")
    assert gauge.get_value({"method": "GET"}) == 0.0


async def test_exception_after_the_response_started_counts_as_500(
    collector: MetricsCollector,
) -> None:
    """A stream that breaks after a 200 header is still a failed request (500)."""

    async def breaks(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ConnectionResetError("upstream closed")

    app = PrometheusMiddleware(breaks, metrics_collector=collector)
    with pytest.raises(ConnectionResetError):
        await _call(app, "/stream")
    assert _requests(collector, method="GET", route=UNMATCHED_ROUTE, status="500") == 1


async def test_starlette_handler_errors_keep_their_route(collector: MetricsCollector) -> None:
    """A handler exception in Starlette is a 500 on the handler's route template."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url="http://t"
    ) as client:
        assert (await client.get("/boom")).status_code == 500
    assert _requests(collector, method="GET", route="/boom", status="500") == 1


async def test_metrics_path_serves_the_exposition_and_is_not_counted(
    collector: MetricsCollector,
) -> None:
    """GET /metrics renders the collector's instruments as text and is not counted."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    async with _client(app) as client:
        await client.get("/")
        first = await client.get("/metrics")
        second = await client.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    families = _families(second.text)
    routes = {s.labels["route"] for s in families["http_requests"].samples}
    assert routes == {"/"}
    assert "http_request_duration_seconds" in families
    assert _route_values(collector) == {"/"}


async def test_metrics_path_negotiates_openmetrics_and_gzip(collector: MetricsCollector) -> None:
    """OpenMetrics is served when asked for, gzip when accepted."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    async with _client(app) as client:
        await client.get("/")
        om = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        zipped = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")
    assert zipped.headers["content-encoding"] == "gzip"
    assert "http_requests_total" in zipped.text  # httpx decodes the gzip body


async def test_head_and_other_methods_on_the_metrics_path(collector: MetricsCollector) -> None:
    """HEAD gets headers only; POST gets 405 with Allow."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    status, _, body = await _call(app, "/metrics", method="HEAD")
    assert (status, body) == (200, b"")
    status, headers, _ = await _call(app, "/metrics", method="POST")
    assert status == 405
    assert headers[b"allow"] == b"GET, HEAD"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Basic c2VjcmV0", "Bearer", "bearer  ", "Bearer secret\x00", "secret"],
)
async def test_token_protected_metrics_refuse_bad_or_malformed_tokens(
    collector: MetricsCollector, authorization: str | None
) -> None:
    """Without the right bearer token the metrics path answers 401 with a challenge."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector, auth_token="secret")
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    status, response_headers, body = await _call(app, "/metrics", headers=headers)
    assert status == 401
    assert response_headers[b"www-authenticate"].startswith(b"Bearer")
    assert b"http_requests" not in body


async def test_token_protected_metrics_accept_the_right_token(
    collector: MetricsCollector,
) -> None:
    """The right token (scheme case-insensitive) gets the exposition."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector, auth_token="secret")
    for value in (b"Bearer secret", b"bearer secret"):
        status, _, _ = await _call(app, "/metrics", headers=[(b"authorization", value)])
        assert status == 200


async def test_serve_metrics_false_leaves_the_path_to_the_app(
    collector: MetricsCollector,
) -> None:
    """With ``serve_metrics=False`` the path reaches the app and is still not counted."""
    app = PrometheusMiddleware(_plain_app, metrics_collector=collector, serve_metrics=False)
    status, _, body = await _call(app, "/metrics")
    assert (status, body) == (200, b"plain")
    assert collector.get_metric("http_requests_total").collect() == ()  # type: ignore[union-attr]


async def test_non_http_scopes_pass_through_untouched(collector: MetricsCollector) -> None:
    """Lifespan and websocket scopes reach the app as they came, and are not counted."""
    received: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        received.append(dict(scope))

    middleware = PrometheusMiddleware(app, metrics_collector=collector)
    for scope in ({"type": "lifespan"}, {"type": "websocket", "path": "/ws", "headers": []}):
        await middleware(dict(scope), _receive, _discard)
    assert received == [{"type": "lifespan"}, {"type": "websocket", "path": "/ws", "headers": []}]
    assert collector.get_metric("http_requests_total").collect() == ()  # type: ignore[union-attr]


async def test_double_wrapping_counts_each_request_once(collector: MetricsCollector) -> None:
    """Two instances around the same app (a scope flag) count a request once."""
    app = PrometheusMiddleware(
        PrometheusMiddleware(_shop(), metrics_collector=collector), metrics_collector=collector
    )
    async with _client(app) as client:
        await client.get("/")
    assert _requests(collector, method="GET", route="/", status="200") == 1


async def test_unknown_methods_are_labelled_other(collector: MetricsCollector) -> None:
    """Arbitrary method tokens cannot grow the label space: they become ``OTHER``."""
    app = PrometheusMiddleware(_plain_app, metrics_collector=collector)
    for method in ("PURGE", "X-CUSTOM", "get"):
        await _call(app, "/", method=method)
    assert _requests(collector, method="OTHER", route=UNMATCHED_ROUTE, status="200") == 3


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.text(min_size=1, max_size=300))
async def test_crafted_paths_never_corrupt_the_exposition(path: str) -> None:
    """Newlines, quotes, backslashes or huge paths never reach a label; the exposition
    stays parseable."""
    collector = MetricsCollector()
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    await _call(app, "/" + path)
    _, _, body = await _call(app, "/metrics")
    families = _families(body.decode())
    routes = {s.labels["route"] for s in families["http_requests"].samples}
    assert routes <= {"/", "/orders/{order_id}", "/boom", "/tenants/{tenant}/orders/{order_id}",
                      UNMATCHED_ROUTE}  # fmt: skip


async def test_huge_paths_and_header_values_are_harmless(collector: MetricsCollector) -> None:
    """A 100 kB path with quotes and newlines is counted as ``<unmatched>``."""
    app = PrometheusMiddleware(_shop(), metrics_collector=collector)
    await _call(app, '/"\\\n' + "x" * 100_000, headers=[(b"x-big", b"y" * 100_000)])
    _, _, body = await _call(app, "/metrics")
    assert _route_values(collector) == {UNMATCHED_ROUTE}
    assert len(body) < 20_000
    _families(body.decode())


async def test_recording_failures_never_break_the_request() -> None:
    """If the instruments raise, the response is still delivered and the failure counted."""

    class Exploding:
        def increment(self, *args: Any) -> None:
            raise RuntimeError("instrument broken")

        observe = record = decrement = increment

    class BrokenCollector(NoOpMetricsCollector):
        def create_counter(self, *args: Any, **kwargs: Any) -> Any:
            return Exploding()

    app = PrometheusMiddleware(_plain_app, metrics_collector=BrokenCollector())
    status, _, body = await _call(app, "/x")
    assert (status, body) == (200, b"plain")
    failures: Any = get_default_collector().get_metric("lexigram_monitor_middleware_failures_total")
    assert failures is not None
    assert failures.get_value({"reason": "record"}) >= 1


async def test_record_only_collectors_are_supported() -> None:
    """A protocol collector whose instruments only have ``record()`` works (no-op here)."""
    app = PrometheusMiddleware(_plain_app, metrics_collector=NoOpMetricsCollector())
    status, _, _ = await _call(app, "/x")
    assert status == 200


async def test_custom_buckets_are_used(collector: MetricsCollector) -> None:
    """``buckets`` become the duration histogram's upper bounds."""
    PrometheusMiddleware(_plain_app, metrics_collector=collector, buckets=[0.1, 1.0])
    histogram: Any = collector.get_metric("http_request_duration_seconds")
    assert histogram.buckets == (0.1, 1.0, float("inf"))


async def test_default_collector_is_the_process_default() -> None:
    """Without a collector the metrics go to the process default collector."""
    app = PrometheusMiddleware(_plain_app)
    assert app.metrics_collector is get_default_collector()


async def test_exemplars_carry_the_current_span(collector: MetricsCollector) -> None:
    """When a span is current around the middleware, the duration bucket and the request
    counter keep exemplars with its ids."""
    tracer = Tracer("test", None)
    inner = PrometheusMiddleware(_shop(), metrics_collector=collector)

    async def traced(scope: Scope, receive: Any, send: Any) -> None:
        with tracer.start_span("request") as span:
            traced.trace_id = span.context.trace_id  # type: ignore[attr-defined]
            await inner(scope, receive, send)

    await _call(traced, "/")
    histogram: Any = collector.get_metric("http_request_duration_seconds")
    exemplars = [e for e in histogram.get_exemplars({"method": "GET", "route": "/"}).values() if e]
    assert [e.trace_id for e in exemplars] == [traced.trace_id]  # type: ignore[attr-defined]
    requests: Any = collector.get_metric("http_requests_total")
    counted = requests.get_exemplar({"method": "GET", "route": "/", "status": "200"})
    assert counted.trace_id == traced.trace_id  # type: ignore[attr-defined]


async def test_set_next_app_and_next_app(collector: MetricsCollector) -> None:
    """An instance built without an app answers 404 until ``set_next_app`` gives it one,
    completes lifespan on its own and closes websockets before accepting them."""
    middleware = PrometheusMiddleware(metrics_collector=collector)
    assert (await _call(middleware, "/a"))[0] == 404
    sent: list[Message] = []
    queue = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Message:
        return next(queue)

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    closed: list[Message] = []

    async def connect() -> Message:
        return {"type": "websocket.connect"}

    async def record(message: Message) -> None:
        closed.append(message)

    await middleware({"type": "websocket", "path": "/ws", "headers": []}, connect, record)
    assert closed == [{"type": "websocket.close", "code": 1000}]
    middleware.set_next_app(_plain_app)
    assert middleware.app is _plain_app
    assert (await _call(middleware, "/a"))[0] == 200
    assert _requests(collector, method="GET", route=UNMATCHED_ROUTE, status="404") == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"app": "/metrics"}, TypeError, "pass the metrics path as path='/metrics'"),
        ({"app": 42}, TypeError, "not an ASGI callable"),
        ({"path": "metrics"}, ValueError, "must be a string starting with '/'"),
        ({"max_routes": 0}, ValueError, "max_routes=0"),
        ({"auth_token": ""}, ValueError, "auth_token must be a non-empty string"),
        ({"buckets": [1.0, 0.5]}, InvalidMetricError, "strictly increasing"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_error(
    collector: MetricsCollector, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    """Each invalid argument raises an error naming the value and the rule."""
    with pytest.raises(error, match=match):
        PrometheusMiddleware(metrics_collector=collector, **kwargs)


# -- raw ASGI driver ------------------------------------------------------------------------


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Message) -> None:
    return None


async def _call(
    app: Any,
    path: str,
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    root_path: str = "",
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Send one HTTP request through *app* as a raw scope; return status, headers, body."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "root_path": root_path,
        "query_string": b"",
        "headers": headers or [],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
    }
    start: Message = {}
    body = bytearray()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, _receive, send)
    return start.get("status", 0), dict(start.get("headers", [])), bytes(body)
