"""instrument(app): probes, tracing and request metrics in one call, in the working order."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, Router

from lexigram.monitor import (
    HealthCheckCategory,
    HealthChecker,
    HealthOptions,
    MetricsOptions,
    TracingOptions,
    instrument,
)
from lexigram.monitor.metrics import Histogram, MetricsCollector
from lexigram.monitor.middleware import HealthCheckProvider, OTelMiddleware, PrometheusMiddleware
from lexigram.monitor.tracing import Span, SpanKind, Tracer

from ._raw import http_scope, run_raw

REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"


@pytest.fixture
def tracer() -> Tracer:
    return Tracer("shop", None, max_spans=100)


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def _shop() -> Starlette:
    inner = Starlette(routes=[Route("/orders/{order_id}", _ok)])
    return Starlette(routes=[Route("/items/{item_id:int}", _ok), Mount("/t/{tenant}", app=inner)])


async def _plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A plain ASGI app answering every HTTP request with 200."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain"})


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://shop.test")


def _requests(collector: MetricsCollector, **labels: str) -> float:
    counter = collector.get_metric(REQUESTS)
    return 0.0 if counter is None else float(counter.get_value(labels=labels))  # type: ignore[attr-defined]


def _exemplar_span_ids(collector: MetricsCollector) -> set[str]:
    histogram = collector.get_metric(DURATION)
    assert isinstance(histogram, Histogram)
    return {
        exemplar.span_id
        for snapshot in histogram.collect()
        for exemplar in snapshot.exemplars
        if exemplar is not None
    }


def _chain(app: Any) -> list[type[Any]]:
    """The middleware types from *app* inwards, as far as they expose what they wrap."""
    kinds: list[type[Any]] = []
    while isinstance(app, HealthCheckProvider | OTelMiddleware | PrometheusMiddleware):
        kinds.append(type(app))
        app = getattr(app, "_app", None) if not isinstance(app, OTelMiddleware) else app.app
    return kinds


async def test_plain_asgi_app_is_wrapped_probes_outermost_then_tracing_then_metrics(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """A plain ASGI callable comes back wrapped: HealthCheckProvider outside
    OTelMiddleware outside PrometheusMiddleware, nothing else in between."""
    app = instrument(_plain, collector=collector, tracer=tracer)
    assert _chain(app) == [HealthCheckProvider, OTelMiddleware, PrometheusMiddleware]


async def test_everything_works_on_a_plain_app(collector: MetricsCollector, tracer: Tracer) -> None:
    """Requests are counted and traced with exemplars pointing at their span; /metrics
    and /health answer; probes and scrapes are neither counted nor traced."""
    app = instrument(_plain, collector=collector, tracer=tracer)
    async with _client(app) as client:
        assert (await client.get("/anything")).text == "plain"
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200
        scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert "http_requests_total" in scrape.text
    assert _requests(collector, method="GET", route="<unmatched>", status="200") == 1
    assert _requests(collector, method="GET", route="/health", status="200") == 0
    (span,) = tracer.get_all_spans()
    assert span.kind is SpanKind.SERVER
    assert _exemplar_span_ids(collector) == {span.span_id}


async def test_starlette_app_gets_the_middlewares_in_its_own_stack(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """A Starlette app is returned itself; routes added later and mounted routes are
    labelled with their templates; the span and the exemplar match."""
    shop = _shop()
    returned = instrument(shop, collector=collector, tracer=tracer)
    assert returned is shop
    shop.add_route("/late/{x}", _ok)
    async with _client(shop) as client:
        assert (await client.get("/items/7")).status_code == 200
        assert (await client.get("/t/acme/orders/9")).status_code == 200
        assert (await client.get("/late/1")).status_code == 200
        assert (await client.get("/health/live")).status_code == 200
    assert _requests(collector, method="GET", route="/items/{item_id}", status="200") == 1
    assert _requests(collector, method="GET", route="/t/{tenant}/orders/{order_id}", status="200")
    assert _requests(collector, method="GET", route="/late/{x}", status="200") == 1
    spans = tracer.get_all_spans()
    assert sorted(s.name for s in spans) == [
        "GET /items/{item_id}",
        "GET /late/{x}",
        "GET /t/{tenant}/orders/{order_id}",
    ]
    assert _exemplar_span_ids(collector) <= {s.span_id for s in spans}
    assert _exemplar_span_ids(collector)


async def test_fastapi_app_keeps_its_decorators_and_openapi(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """instrument(FastAPI()) returns the FastAPI app: @app.get still works afterwards."""
    api = instrument(FastAPI(), collector=collector, tracer=tracer)

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    async with _client(api) as client:
        assert (await client.get("/items/3")).json() == {"item_id": 3}
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/health")).status_code == 200
    assert _requests(collector, method="GET", route="/items/{item_id}", status="200") == 1
    assert "GET /items/{item_id}" in {s.name for s in tracer.get_all_spans()}


async def test_a_router_is_wrapped_like_a_plain_app(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """A Starlette Router has no middleware stack: it is wrapped, its templates used."""
    router = Router(routes=[Route("/items/{item_id}", _ok)])
    app = instrument(router, collector=collector, tracer=tracer)
    assert app is not router
    async with _client(app) as client:
        assert (await client.get("/items/1")).status_code == 200
    assert _requests(collector, method="GET", route="/items/{item_id}", status="200") == 1


@pytest.mark.parametrize(
    ("part", "kept"),
    [
        ("metrics", [HealthCheckProvider, OTelMiddleware]),
        ("tracing", [HealthCheckProvider, PrometheusMiddleware]),
        ("health", [OTelMiddleware, PrometheusMiddleware]),
    ],
)
def test_each_part_can_be_left_out(
    part: str, kept: list[type[Any]], collector: MetricsCollector, tracer: Tracer
) -> None:
    """part=False leaves that middleware out; the others keep their order."""
    app = instrument(_plain, collector=collector, tracer=tracer, **{part: False})  # type: ignore[arg-type]
    assert _chain(app) == kept


async def test_without_health_the_app_answers_its_own_health_path(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """health=False: /health reaches the app (and is not traced: still excluded)."""
    app = instrument(_plain, health=False, collector=collector, tracer=tracer)
    async with _client(app) as client:
        assert (await client.get("/health")).text == "plain"
    assert tracer.get_all_spans() == []


async def test_options_configure_each_part(collector: MetricsCollector, tracer: Tracer) -> None:
    """Paths and tokens of MetricsOptions and HealthOptions are honoured, and tracing
    skips both custom paths by default."""
    checker = HealthChecker()
    checker.add("db", lambda: False, category=HealthCheckCategory.READINESS)
    app = instrument(
        _plain,
        metrics=MetricsOptions(path="/-/metrics", auth_token="m-token"),
        health=HealthOptions(path="/healthz", checker=checker, auth_token="h-token"),
        collector=collector,
        tracer=tracer,
    )
    async with _client(app) as client:
        assert (await client.get("/-/metrics")).status_code == 401
        ok = await client.get("/-/metrics", headers={"Authorization": "Bearer m-token"})
        assert ok.status_code == 200
        assert (await client.get("/healthz/ready")).status_code == 401
        ready = await client.get("/healthz/ready", headers={"Authorization": "Bearer h-token"})
        assert ready.status_code == 503
        assert (await client.get("/metrics")).text == "plain"  # the old path is the app's
    assert [s.attributes["url.path"] for s in tracer.get_all_spans()] == ["/metrics"]


async def test_a_checker_can_be_passed_directly(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """health=HealthChecker(...) is short for HealthOptions(checker=...)."""
    checker = HealthChecker()
    checker.add("db", lambda: False)
    app = instrument(_plain, health=checker, collector=collector, tracer=tracer)
    async with _client(app) as client:
        assert (await client.get("/health")).status_code == 503


async def test_tracing_options_are_honoured(collector: MetricsCollector) -> None:
    """TracingOptions(tracer=..., excluded_paths=...) win over instrument's defaults;
    excluded paths add to the metrics path, which stays untraced."""
    mine = Tracer("mine", None)
    app = instrument(
        _plain,
        tracing=TracingOptions(tracer=mine, excluded_paths=("/skip",)),
        collector=collector,
    )
    async with _client(app) as client:
        await client.get("/skip/me")
        await client.get("/metrics")
        await client.get("/kept")
    assert [s.attributes["url.path"] for s in mine.get_all_spans()] == ["/kept"]


async def test_default_collector_and_tracer_are_used_when_none_is_given(
    collector: MetricsCollector,
) -> None:
    """Without collector/tracer the process defaults record (collector is this test's
    fresh default)."""
    from lexigram.monitor.testing import capture_spans

    with capture_spans() as spans:
        app = instrument(_plain)
        async with _client(app) as client:
            await client.get("/x")
    assert spans.names() == ["GET"]
    assert _requests(collector, method="GET", route="<unmatched>", status="200") == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": "yes"}, "metrics='yes'"),
        ({"tracing": MetricsOptions()}, "TracingOptions"),
        ({"health": object()}, "checker"),
        ({"metrics": MetricsOptions(path="metrics")}, "must be a string starting with '/'"),
        ({"health": HealthOptions(path="health")}, "must start with '/'"),
    ],
)
def test_bad_options_fail_at_the_call(kwargs: dict[str, Any], match: str) -> None:
    """Wrong option types and values raise before anything is served."""
    with pytest.raises((TypeError, ValueError), match=match):
        instrument(_plain, **kwargs)


def test_not_an_app_is_refused() -> None:
    """instrument needs an ASGI callable."""
    with pytest.raises(TypeError, match="needs an ASGI app"):
        instrument("app")  # type: ignore[call-overload]


def test_a_starlette_app_is_instrumented_once(collector: MetricsCollector) -> None:
    """A second instrument() on the same app is refused, naming the fix."""
    shop = instrument(_shop(), collector=collector)
    with pytest.raises(RuntimeError, match="already instrumented"):
        instrument(shop, collector=collector)


async def test_a_started_starlette_app_cannot_be_instrumented(collector: MetricsCollector) -> None:
    """Starlette refuses middleware after the first request; the error says when to call."""
    shop = _shop()
    async with _client(shop) as client:
        await client.get("/items/1")
    with pytest.raises(RuntimeError, match="before the app serves"):
        instrument(shop, collector=collector)


async def test_instrumented_stacks_log_no_order_warning(
    collector: MetricsCollector, tracer: Tracer, caplog: pytest.LogCaptureFixture
) -> None:
    """What instrument composes is the working order: no wrong-order warning."""
    caplog.set_level(logging.WARNING, logger="lexigram.monitor.middleware")
    for app in (instrument(_plain, collector=collector, tracer=tracer), instrument(_shop())):
        async with _client(app) as client:
            await client.get("/items/1")
            await client.get("/health")
    assert [r for r in caplog.records if hasattr(r, "middleware_order")] == []


async def test_lifespan_and_raw_http_pass_through(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """Raw ASGI calls reach the app through all three layers."""
    app = instrument(_plain, collector=collector, tracer=tracer)
    sent = await run_raw(app, http_scope("/x"))
    assert sent[0]["status"] == 200
    assert isinstance(tracer.get_all_spans()[0], Span)
