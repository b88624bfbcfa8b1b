"""OTelMiddleware: one SERVER span and one duration observation per HTTP request."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.metrics import MetricsCollector, set_default_collector
from lexigram.monitor.middleware import OTelMiddleware
from lexigram.monitor.middleware._otel_request import REDACTED, parse_host, redact_query
from lexigram.monitor.middleware.prometheus import OVERFLOW_ROUTE, UNMATCHED_ROUTE
from lexigram.monitor.tracing import InMemorySpanExporter, Span, SpanKind, SpanStatus, Tracer
from lexigram.monitor.tracing.context import get_current_span

from ._raw import http_scope, run_raw

Scope = dict[str, Any]
Message = dict[str, Any]

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
DURATION = "http_server_request_duration"


@pytest.fixture
def tracer() -> Tracer:
    return Tracer("shop", None, max_spans=100)


@pytest.fixture
def collector() -> MetricsCollector:
    return MetricsCollector()


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _status(request: Request) -> Response:
    return PlainTextResponse("status", status_code=int(request.path_params["code"]))


async def _boom(request: Request) -> Response:
    raise RuntimeError("handler failed")


def _shop() -> Starlette:
    return Starlette(
        routes=[
            Route("/", _ok),
            Route("/items/{item_id:int}", _ok),
            Route("/status/{code:int}", _status),
            Route("/boom", _boom),
            Mount("/tenants/{tenant}", app=Starlette(routes=[Route("/orders/{order_id}", _ok)])),
        ]
    )


def _client(app: Any, **transport: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app, **transport), base_url="http://shop.test"
    )


def _wrap(tracer: Tracer, collector: MetricsCollector, app: Any = None, **kw: Any) -> Any:
    return OTelMiddleware(app or _shop(), tracer=tracer, collector=collector, **kw)


def _only_span(tracer: Tracer) -> Span:
    spans = tracer.get_all_spans()
    assert len(spans) == 1, spans
    return spans[0]


def _count(collector: MetricsCollector, method: str, route: str, status: str) -> int:
    histogram = collector.get_metric(DURATION)
    assert histogram is not None
    labels = {
        "http_request_method": method,
        "http_route": route,
        "http_response_status_code": status,
    }
    return int(histogram.get_count(labels))  # type: ignore[attr-defined]


def _series(collector: MetricsCollector) -> int:
    histogram = collector.get_metric(DURATION)
    return 0 if histogram is None else int(histogram.series_count())  # type: ignore[attr-defined]


# -- the span -----------------------------------------------------------------------------


async def test_request_continues_the_incoming_trace_and_keeps_tracestate(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """A valid traceparent makes the request span its child; tracestate is carried on."""
    async with _client(_wrap(tracer, collector)) as client:
        response = await client.get(
            "/items/3",
            headers={"traceparent": TRACEPARENT, "tracestate": "congo=t61rcWkgMzE,rojo=00f0"},
        )
    assert response.status_code == 200
    span = _only_span(tracer)
    assert span.kind is SpanKind.SERVER
    assert span.trace_id == TRACE_ID
    assert span.parent_span_id == PARENT_ID
    assert span.span_id != PARENT_ID
    assert span.context.trace_state.to_header() == "congo=t61rcWkgMzE,rojo=00f0"


async def test_request_without_or_with_a_bad_traceparent_starts_a_new_trace(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """No traceparent, or a malformed one, gives a root span of a fresh trace."""
    async with _client(_wrap(tracer, collector)) as client:
        await client.get("/")
        await client.get("/", headers={"traceparent": "00-zz-not-valid-01"})
    first, second = tracer.get_all_spans()
    assert first.parent_span_id is None
    assert second.parent_span_id is None
    assert len({first.trace_id, second.trace_id, TRACE_ID}) == 3


async def test_span_is_current_while_the_app_runs(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """Spans started inside the handler are children of the request span."""
    inner: list[Span] = []

    async def handler(request: Request) -> Response:
        with tracer.start_span("db query") as span:
            inner.append(span)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/q", handler)])
    async with _client(_wrap(tracer, collector, app)) as client:
        await client.get("/q")
    request_span = next(s for s in tracer.get_all_spans() if s.kind is SpanKind.SERVER)
    assert inner[0].parent_span_id == request_span.span_id
    assert inner[0].trace_id == request_span.trace_id


async def test_previous_current_span_is_restored_after_the_request(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """After the request (answered or failed) the caller's current span is current again."""

    async def crash(scope: Scope, receive: Any, send: Any) -> None:
        raise ValueError("bad")

    app = _wrap(tracer, collector)
    failing = _wrap(tracer, collector, crash)
    with tracer.start_span("caller") as caller:
        await run_raw(app, http_scope("/items/1"))
        assert get_current_span() is caller
        with pytest.raises(ValueError, match="bad"):
            await run_raw(failing, http_scope("/x"))
        assert get_current_span() is caller
    assert get_current_span() is None


async def test_name_and_semantic_convention_attributes_for_a_path_param_route(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """The span is named by method and route template and carries the HTTP semconv set."""
    async with _client(_wrap(tracer, collector)) as client:
        await client.get("/items/42?color=red", headers={"user-agent": "probe/1.0"})
    span = _only_span(tracer)
    assert span.name == "GET /items/{item_id}"
    assert span.attributes == {
        "http.request.method": "GET",
        "url.path": "/items/42",
        "url.scheme": "http",
        "url.query": "color=red",
        "network.protocol.version": "1.1",
        "server.address": "shop.test",
        "server.port": 80,
        "client.address": "127.0.0.1",
        "user_agent.original": "probe/1.0",
        "http.route": "/items/{item_id}",
        "http.response.status_code": 200,
    }
    assert span.status is SpanStatus.UNSET


async def test_route_of_a_mounted_sub_app_includes_the_mount_template(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """A request routed through a mount is named by the full template, never the raw path."""
    async with _client(_wrap(tracer, collector)) as client:
        await client.get("/tenants/acme/orders/17")
    span = _only_span(tracer)
    assert span.name == "GET /tenants/{tenant}/orders/{order_id}"
    assert span.attributes["http.route"] == "/tenants/{tenant}/orders/{order_id}"
    assert _count(collector, "GET", "/tenants/{tenant}/orders/{order_id}", "200") == 1


async def test_root_path_is_part_of_route_and_url_path(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """Behind a proxy prefix (``root_path``) the route and path include the prefix."""
    async with _client(_wrap(tracer, collector), root_path="/api") as client:
        response = await client.get("/api/items/5")
    assert response.status_code == 200
    span = _only_span(tracer)
    assert span.name == "GET /api/items/{item_id}"
    assert span.attributes["http.route"] == "/api/items/{item_id}"
    assert span.attributes["url.path"] == "/api/items/5"


async def test_unmatched_request_is_named_by_method_only(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """A 404 no route matched: name "GET", no http.route, status UNSET, route label unmatched."""
    async with _client(_wrap(tracer, collector)) as client:
        response = await client.get("/no/such/page")
    assert response.status_code == 404
    span = _only_span(tracer)
    assert span.name == "GET"
    assert "http.route" not in span.attributes
    assert span.attributes["http.response.status_code"] == 404
    assert span.status is SpanStatus.UNSET
    assert _count(collector, "GET", UNMATCHED_ROUTE, "404") == 1


async def test_server_error_answer_sets_status_error(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """A 5xx answer marks the span ERROR with error.type set to the status code."""
    async with _client(_wrap(tracer, collector)) as client:
        await client.get("/status/503")
    span = _only_span(tracer)
    assert span.status is SpanStatus.ERROR
    assert span.attributes["error.type"] == "503"
    assert span.attributes["http.response.status_code"] == 503


@pytest.mark.parametrize("code", [400, 404, 418, 499])
async def test_client_error_leaves_server_span_status_unset(
    tracer: Tracer, collector: MetricsCollector, code: int
) -> None:
    """4xx are the client's errors: a server span keeps status UNSET and no error.type."""
    async with _client(_wrap(tracer, collector)) as client:
        await client.get(f"/status/{code}")
    span = _only_span(tracer)
    assert span.status is SpanStatus.UNSET
    assert "error.type" not in span.attributes
    assert _count(collector, "GET", "/status/{code}", str(code)) == 1


async def test_exception_is_recorded_reraised_and_counted_as_500(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """An escaping exception: span ERROR with an exception event, re-raised, metric 500."""

    async def crash(scope: Scope, receive: Any, send: Any) -> None:
        raise RuntimeError("handler failed")

    app = _wrap(tracer, collector, crash)
    with pytest.raises(RuntimeError, match="handler failed"):
        await run_raw(app, http_scope("/crash"))
    span = _only_span(tracer)
    assert span.status is SpanStatus.ERROR
    assert span.status_message == "RuntimeError: handler failed"
    assert span.attributes["error.type"] == "RuntimeError"
    assert span.attributes["http.response.status_code"] == 500
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "handler failed"
    assert _count(collector, "GET", UNMATCHED_ROUTE, "500") == 1


async def test_starlette_handler_exception_is_counted_as_500(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """Starlette answers 500 then re-raises: both the answer and the exception are kept."""
    async with _client(_wrap(tracer, collector), raise_app_exceptions=False) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    span = _only_span(tracer)
    assert span.name == "GET /boom"
    assert span.status is SpanStatus.ERROR
    assert span.attributes["error.type"] == "RuntimeError"
    assert [e.name for e in span.events] == ["exception"]
    assert _count(collector, "GET", "/boom", "500") == 1


async def test_headers_are_decoded_as_latin1(tracer: Tracer, collector: MetricsCollector) -> None:
    """Header bytes outside ASCII decode as latin-1 (one byte, one character), never fail."""
    scope = http_scope(
        "/",
        headers=[(b"User-Agent", b"caf\xe9/1.0"), (b"host", b"h\xf6st.example:8443")],
        query_string=b"q=\xe9t\xe9",
    )
    await run_raw(_wrap(tracer, collector), scope)
    span = _only_span(tracer)
    assert span.attributes["user_agent.original"] == "café/1.0"
    assert span.attributes["server.address"] == "höst.example"
    assert span.attributes["server.port"] == 8443
    assert span.attributes["url.query"] == "q=été"


async def test_server_and_client_address_sources(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """Host wins over the ASGI server tuple; X-Forwarded-For's first hop over the peer."""
    app = _wrap(tracer, collector)
    await run_raw(app, http_scope("/"))
    await run_raw(
        app,
        http_scope(
            "/",
            scheme="https",
            headers=[(b"host", b"[::1]"), (b"x-forwarded-for", b"203.0.113.9, 10.0.0.2")],
        ),
    )
    plain, proxied = tracer.get_all_spans()
    assert plain.attributes["server.address"] == "10.0.0.1"
    assert plain.attributes["server.port"] == 8000
    assert plain.attributes["client.address"] == "10.0.0.7"
    assert proxied.attributes["server.address"] == "::1"
    assert proxied.attributes["server.port"] == 443
    assert proxied.attributes["client.address"] == "203.0.113.9"


async def test_nonstandard_method_is_other(tracer: Tracer, collector: MetricsCollector) -> None:
    """Unknown methods become _OTHER (original kept) and the span is named "HTTP"."""
    await run_raw(_wrap(tracer, collector), http_scope("/", method="PURGE"))
    span = _only_span(tracer)
    assert span.name == "HTTP /"
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"
    assert _count(collector, "_OTHER", "/", "405") == 1  # the route only allows GET


async def test_signature_query_values_are_redacted(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """Signature-like query parameters never reach the span."""
    await run_raw(
        _wrap(tracer, collector),
        http_scope("/", query_string=b"a=1&sig=abc&Signature=s3cr3t&AWSAccessKeyId=AK"),
    )
    query = _only_span(tracer).attributes["url.query"]
    assert query == "a=1&sig=REDACTED&Signature=REDACTED&AWSAccessKeyId=REDACTED"


# -- the metric ---------------------------------------------------------------------------


async def test_duration_metric_has_method_route_and_status_labels(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """Each request adds one observation (seconds) to the series of its labels."""
    async with _client(_wrap(tracer, collector)) as client:
        for item in (1, 2, 3):
            await client.get(f"/items/{item}")
        await client.post("/")
    histogram = collector.get_metric(DURATION)
    assert histogram is not None
    assert histogram.label_names == (  # type: ignore[attr-defined]
        "http_request_method",
        "http_route",
        "http_response_status_code",
    )
    assert _count(collector, "GET", "/items/{item_id}", "200") == 3
    assert _count(collector, "POST", "/", "405") == 1
    labels = {
        "http_request_method": "GET",
        "http_route": "/items/{item_id}",
        "http_response_status_code": "200",
    }
    assert 0 <= histogram.get_sum(labels) < 60  # type: ignore[attr-defined]


async def test_route_labels_are_bounded(tracer: Tracer, collector: MetricsCollector) -> None:
    """Past max_routes distinct templates, new ones share the overflow label."""
    async with _client(_wrap(tracer, collector, max_routes=1)) as client:
        await client.get("/items/1")
        await client.get("/")
    assert _count(collector, "GET", "/items/{item_id}", "200") == 1
    assert _count(collector, "GET", OVERFLOW_ROUTE, "200") == 1
    assert tracer.get_all_spans()[1].attributes["http.route"] == "/"


async def test_unsampled_request_still_records_the_metric(collector: MetricsCollector) -> None:
    """Sampling decides the span only; the duration is always measured."""
    tracer = Tracer(
        "shop", None, max_spans=10, config=TracingConfig(sampler_type=SamplerType.ALWAYS_OFF)
    )
    async with _client(_wrap(tracer, collector)) as client:
        assert (await client.get("/items/1")).status_code == 200
    assert tracer.get_all_spans() == []
    assert _count(collector, "GET", "/items/{item_id}", "200") == 1


async def test_recording_failure_never_breaks_the_request(
    tracer: Tracer, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing metric is logged; the client still gets its answer and the span ends."""

    class BrokenHistogram:
        def observe(self, value: float, labels: Any) -> None:
            raise OSError("disk full")

    class BrokenCollector:
        def create_histogram(self, name: str, description: str = "") -> BrokenHistogram:
            return BrokenHistogram()

    app = OTelMiddleware(_shop(), tracer=tracer, collector=BrokenCollector())
    selfmetrics = MetricsCollector()
    set_default_collector(selfmetrics)
    try:
        with caplog.at_level(logging.ERROR, logger="lexigram.monitor.middleware.otel"):
            async with _client(app) as client:
                response = await client.get("/items/1")
    finally:
        set_default_collector(None)
    assert response.status_code == 200
    assert _only_span(tracer).ended
    assert "failed to record a request" in caplog.text
    failures = selfmetrics.get_metric("lexigram_monitor_otel_middleware_failures_total")
    assert failures is not None
    assert failures.get_value({"reason": "OSError"}) == 1  # type: ignore[attr-defined]


# -- what passes through ------------------------------------------------------------------


async def test_disabled_tracing_passes_every_request_through(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """TracingConfig(enabled=False): no spans, no metric, the app answers as before."""
    app = _wrap(tracer, collector, config=TracingConfig(enabled=False))
    assert app.enabled is False
    async with _client(app) as client:
        response = await client.get("/items/9")
    assert response.text == "ok"
    assert tracer.get_all_spans() == []
    assert _series(collector) == 0


async def test_tracer_with_tracing_disabled_makes_the_middleware_pass_through(
    collector: MetricsCollector,
) -> None:
    """Without a config, the tracer's own TracingConfig.enabled decides."""
    tracer = Tracer("shop", None, max_spans=10, config=TracingConfig(enabled=False))
    sent: list[Any] = []
    app_send: list[Any] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        app_send.append(send)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request"}

    scope = http_scope("/")
    await OTelMiddleware(app, tracer=tracer, collector=collector)(scope, receive, send)
    assert app_send == [send]  # the server's own send: nothing wrapped
    assert "lexigram.monitor.otel" not in scope


@pytest.mark.parametrize("kind", ["websocket"])
async def test_non_http_scopes_pass_through_untouched(
    tracer: Tracer, collector: MetricsCollector, kind: str
) -> None:
    """Websocket scopes reach the app with the server's receive and send."""
    seen: list[tuple[Scope, Any, Any]] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": f"{kind}.startup" if kind == "lifespan" else "websocket.connect"}

    async def send(message: Message) -> None:
        pass

    scope: Scope = {"type": kind, "asgi": {"version": "3.0"}, "path": "/ws", "headers": []}
    original = dict(scope)
    await _wrap(tracer, collector, app)(scope, receive, send)
    assert seen == [(scope, receive, send)]
    assert scope == original
    assert tracer.get_all_spans() == []


async def test_lifespan_shutdown_exports_queued_spans_before_it_completes(
    collector: MetricsCollector,
) -> None:
    """At the lifespan shutdown the spans still queued are exported before the server
    hears ``lifespan.shutdown.complete`` (uvicorn exits on SIGTERM without atexit);
    every lifespan message reaches the server unchanged."""
    exporter = InMemorySpanExporter()
    slow = Tracer("svc", exporter, config=TracingConfig(export_interval=3600))
    slow.start_span("answered request").end()
    assert exporter.get_finished_spans() == []
    heard: list[tuple[str, int]] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        heard.append((message["type"], len(exporter.get_finished_spans())))

    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    await _wrap(slow, collector, app)(scope, receive, send)

    assert heard == [("lifespan.startup.complete", 0), ("lifespan.shutdown.complete", 1)]
    slow.shutdown()


async def test_double_wrapping_instruments_once(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """An inner OTelMiddleware sees the scope flag and adds no second span or value."""
    inner = _wrap(tracer, collector)
    outer = _wrap(tracer, collector, inner)
    async with _client(outer) as client:
        await client.get("/items/1")
    assert len(tracer.get_all_spans()) == 1
    assert _count(collector, "GET", "/items/{item_id}", "200") == 1


@pytest.mark.parametrize("path", ["/metrics", "/health", "/health/live", "/health/"])
async def test_default_excluded_paths_are_not_traced(
    tracer: Tracer, collector: MetricsCollector, path: str
) -> None:
    """Scrapes and probes are noise: no span and no observation for them."""
    await run_raw(_wrap(tracer, collector), http_scope(path))
    assert tracer.get_all_spans() == []
    assert _series(collector) == 0


async def test_excluded_paths_match_below_root_path_and_are_configurable(
    tracer: Tracer, collector: MetricsCollector
) -> None:
    """Exclusions are relative to root_path; a custom list replaces the default one."""
    app = _wrap(tracer, collector, excluded_paths=["/internal"])
    await run_raw(app, http_scope("/api/internal/x", root_path="/api"))
    await run_raw(app, http_scope("/internalize"))
    await run_raw(app, http_scope("/health"))
    assert [s.attributes["url.path"] for s in tracer.get_all_spans()] == [
        "/internalize",
        "/health",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_routes": 0}, ValueError, "max_routes"),
        ({"excluded_paths": "/metrics"}, TypeError, "collection of paths"),
        ({"excluded_paths": ["metrics"]}, ValueError, "starting with '/'"),
    ],
)
def test_bad_arguments_are_refused(
    tracer: Tracer, collector: MetricsCollector, kwargs: dict[str, Any], error: type, match: str
) -> None:
    """Bad construction arguments fail at once with a message naming the value."""
    with pytest.raises(error, match=match):
        _wrap(tracer, collector, **kwargs)


def test_app_must_be_callable(tracer: Tracer) -> None:
    """A non-callable app is refused at construction."""
    with pytest.raises(TypeError, match="not an ASGI callable"):
        OTelMiddleware("app", tracer=tracer)


async def test_defaults_use_the_default_tracer_and_collector() -> None:
    """Without arguments, spans go to get_default_tracer() and values to the default
    collector."""
    from lexigram.monitor.metrics import set_default_collector
    from lexigram.monitor.tracing import set_default_tracer

    tracer = Tracer("default", None, max_spans=10)
    collector = MetricsCollector()
    previous = set_default_tracer(tracer)
    set_default_collector(collector)
    try:
        async with _client(OTelMiddleware(_shop())) as client:
            await client.get("/items/1")
    finally:
        set_default_tracer(previous)
        set_default_collector(None)
    assert _only_span(tracer).name == "GET /items/{item_id}"
    assert _count(collector, "GET", "/items/{item_id}", "200") == 1


async def test_with_the_otel_backend_everything_goes_through_the_sdk() -> None:
    """backend=: request spans leave through the SDK with our ids, SDK spans started in the
    handler are their children, and the duration is an SDK histogram with dotted names."""
    from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend
    from lexigram.monitor.config import OpenTelemetryConfig
    from tests.unit.backends._otel_memory import TYPE, MemoryExporters, points

    memory = MemoryExporters()
    backend = OpenTelemetryBackend(
        "shop", config=OpenTelemetryConfig(type=TYPE), **memory.registries()
    )
    sdk_tracer = backend.tracer_provider.get_tracer("handler")

    async def handler(request: Request) -> Response:
        with sdk_tracer.start_as_current_span("sdk child"):
            return PlainTextResponse("ok")

    app = OTelMiddleware(Starlette(routes=[Route("/items/{item_id}", handler)]), backend=backend)
    async with _client(app) as client:
        await client.get("/items/1", headers={"traceparent": TRACEPARENT})
        await client.get("/missing")
    assert backend.force_flush(5)
    spans = {s.name: s for s in memory.spans.get_finished_spans()}
    server, child = spans["GET /items/{item_id}"], spans["sdk child"]
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == PARENT_ID
    assert child.parent is not None
    assert child.parent.span_id == server.context.span_id
    assert child.context.trace_id == server.context.trace_id
    metric = memory.metrics_by_name()["http.server.request.duration"]
    assert metric.unit == "s"
    by_labels = points(metric)
    matched = frozenset(
        {
            ("http.request.method", "GET"),
            ("http.route", "/items/{item_id}"),
            ("http.response.status_code", 200),
        }
    )
    unmatched = frozenset({("http.request.method", "GET"), ("http.response.status_code", 404)})
    assert by_labels[matched].count == 1
    assert by_labels[unmatched].count == 1
    await backend.shutdown()


# -- request parsing (property-based) -----------------------------------------------------

_QUERY_TEXT = st.text(alphabet=st.characters(blacklist_characters="&=", codec="latin-1"))
_SENSITIVE = ["AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"]


@given(
    st.lists(
        st.tuples(st.one_of(st.sampled_from(_SENSITIVE), _QUERY_TEXT), _QUERY_TEXT), max_size=8
    )
)
def test_redaction_replaces_exactly_the_signature_values(pairs: list[tuple[str, str]]) -> None:
    """Every signature-like parameter's value becomes REDACTED; all other parts, their
    order and their count are unchanged."""
    query = "&".join(f"{key}={value}" for key, value in pairs)
    redacted = redact_query(query)
    if not pairs:
        assert redacted == ""
        return
    expected = [
        f"{key}={REDACTED}" if key in _SENSITIVE else f"{key}={value}" for key, value in pairs
    ]
    assert redacted.split("&") == expected


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(
    st.lists(_LABEL, min_size=1, max_size=4).map(".".join),
    st.one_of(st.none(), st.integers(min_value=0, max_value=65535)),
    st.sampled_from(["http", "https"]),
)
def test_host_header_parsing(name: str, port: int | None, scheme: str) -> None:
    """``name[:port]`` and ``[v6][:port]`` give the address and the port, the scheme's
    default port when none is written."""
    default = 443 if scheme == "https" else 80
    expected_port = default if port is None else port
    suffix = "" if port is None else f":{port}"
    assert parse_host(f"{name}{suffix}", scheme) == (name, expected_port)
    assert parse_host(f"[2001:db8::{len(name)}]{suffix}", scheme) == (
        f"2001:db8::{len(name)}",
        expected_port,
    )
