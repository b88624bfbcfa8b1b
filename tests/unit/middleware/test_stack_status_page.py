"""instrument(app, status_page=...): the live status page as an optional part of the
stack, inside the probes and outside tracing and metrics, behind its token rule."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lexigram.monitor import (
    HealthCheckCategory,
    HealthChecker,
    HealthOptions,
    MetricsOptions,
    StatusPageOptions,
    instrument,
)
from lexigram.monitor.config import MonitorConfig, PrometheusConfig, StatusPageConfig
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.middleware import HealthCheckProvider, OTelMiddleware
from lexigram.monitor.middleware.status import StatusPage
from lexigram.monitor.tracing import Tracer

REQUESTS = "http_requests_total"


@pytest.fixture
def tracer() -> Tracer:
    return Tracer("shop", None, max_spans=100)


async def _plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A plain ASGI app answering every HTTP request with 200 "plain"."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain"})


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://shop.test")


def _checker() -> HealthChecker:
    checker = HealthChecker()
    checker.add("database", lambda: True, category=HealthCheckCategory.READINESS)
    return checker


def _requests(collector: MetricsCollector, **labels: str) -> float:
    counter = collector.get_metric(REQUESTS)
    return 0.0 if counter is None else float(counter.get_value(labels=labels))  # type: ignore[attr-defined]


def _check_names(health: dict[str, Any]) -> set[str]:
    return {check["name"] for check in health["checks"]}


async def test_the_page_is_off_by_default(collector: MetricsCollector, tracer: Tracer) -> None:
    """Without status_page=..., /-/monitor is an ordinary request of the app: answered
    by it, counted and traced."""
    app = instrument(_plain, collector=collector, tracer=tracer)
    async with _client(app) as client:
        assert (await client.get("/-/monitor")).text == "plain"
    assert _requests(collector, method="GET", route="<unmatched>", status="200") == 1
    assert len(tracer.get_all_spans()) == 1


async def test_the_page_sits_inside_the_probes_and_outside_tracing(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """status_page=True: the probes stay outermost; the page's requests are answered by
    the page, neither traced nor counted; the app's requests pass through it."""
    checker = _checker()
    app = instrument(_plain, collector=collector, tracer=tracer, health=checker, status_page=True)
    assert isinstance(app, HealthCheckProvider)
    page = app._app  # the mount, between the probes and tracing
    assert isinstance(page.page, StatusPage)
    assert page.prefix == "/-/monitor"
    assert isinstance(page.app, OTelMiddleware)
    async with _client(app) as client:
        assert (await client.get("/items/1")).text == "plain"
        answer = await client.get("/-/monitor")
        overview = (await client.get("/-/monitor/api/overview")).json()
        health = (await client.get("/-/monitor/api/health")).json()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert overview["service"] == "shop"  # the stack's tracer names the service
    assert health["configured"]
    assert _check_names(health) == {"database"}
    assert _requests(collector, method="GET", route="<unmatched>", status="200") == 1
    assert [s.name for s in tracer.get_all_spans()] == ["GET"]


async def test_the_page_reads_the_stacks_collector(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """The route table shows what the metrics part recorded (the stack's own collector,
    not a page default), and the page's own requests are not among the routes."""
    mine = MetricsCollector()
    app = instrument(
        _plain,
        metrics=MetricsOptions(collector=mine),
        tracer=tracer,
        collector=collector,
        status_page=True,
    )
    async with _client(app) as client:
        await client.get("/items/1")
        routes = (await client.get("/-/monitor/api/routes")).json()
    assert [(row["method"], row["route"]) for row in routes["rows"]] == [("GET", "<unmatched>")]


async def test_the_page_follows_its_token_rule(collector: MetricsCollector, tracer: Tracer) -> None:
    """A token in the options protects every path of the page (401 with a Bearer
    challenge without it, 'bearer' in any case accepted); the app stays open."""
    app = instrument(
        _plain,
        collector=collector,
        tracer=tracer,
        status_page=StatusPageOptions(auth_token="s3cret"),
    )
    async with _client(app) as client:
        refused = await client.get("/-/monitor/api/overview")
        wrong = await client.get(
            "/-/monitor/api/overview", headers={"Authorization": "Bearer nope"}
        )
        allowed = await client.get(
            "/-/monitor/api/overview", headers={"Authorization": "bearer s3cret"}
        )
        app_answer = await client.get("/items/1")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="status"'
    assert wrong.status_code == 401
    assert "invalid_token" in wrong.headers["www-authenticate"]
    assert allowed.status_code == 200
    assert app_answer.text == "plain"


async def test_without_a_token_of_its_own_the_page_takes_the_metrics_token(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """The page's rule (its own token, else Prometheus') extends to the metrics part:
    the page sits behind the same token as /metrics; a config's token still wins."""
    app = instrument(
        _plain,
        collector=collector,
        tracer=tracer,
        metrics=MetricsOptions(auth_token="scrape"),
        status_page=True,
    )
    configured = instrument(
        _plain,
        collector=collector,
        tracer=tracer,
        metrics=MetricsOptions(auth_token="scrape"),
        status_page=StatusPageOptions(
            config=MonitorConfig(prometheus=PrometheusConfig(auth_token="ops"))
        ),
    )
    async with _client(app) as client:
        assert (await client.get("/-/monitor/api/overview")).status_code == 401
        scrape = {"Authorization": "Bearer scrape"}
        assert (await client.get("/-/monitor/api/overview", headers=scrape)).status_code == 200
    async with _client(configured) as client:
        assert (await client.get("/-/monitor/api/overview", headers=scrape)).status_code == 401
        ops = {"Authorization": "Bearer ops"}
        assert (await client.get("/-/monitor/api/overview", headers=ops)).status_code == 200


async def test_options_configure_the_page(collector: MetricsCollector, tracer: Tracer) -> None:
    """path, a StatusPageConfig, a checker and the service name are honoured: the page
    answers under the path and says so in its configuration section."""
    app = instrument(
        _plain,
        collector=collector,
        tracer=tracer,
        health=False,
        status_page=StatusPageOptions(
            path="/ops/status/",
            config=StatusPageConfig(traces_shown=3),
            checker=_checker(),
            service_name="till",
            service_version="2.1",
        ),
    )
    async with _client(app) as client:
        assert (await client.get("/-/monitor")).text == "plain"
        overview = (await client.get("/ops/status/api/overview")).json()
        health = (await client.get("/ops/status/api/health")).json()
        settings = dict((await client.get("/ops/status/api/config")).json()["settings"])
    assert (overview["service"], overview["version"]) == ("till", "2.1")
    assert _check_names(health) == {"database"}
    assert settings["status_page.path"] == "/ops/status"
    assert settings["status_page.traces_shown"] == 3


async def test_a_ready_page_is_mounted_as_it_is(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """status_page=StatusPage(...) mounts that page at its own path."""
    page = StatusPage(
        collector=collector,
        tracer=tracer,
        config=MonitorConfig(status_page=StatusPageConfig(path="/-/ops")),
        service_name="given",
    )
    app = instrument(_plain, collector=collector, tracer=tracer, status_page=page)
    async with _client(app) as client:
        assert (await client.get("/-/ops/api/overview")).json()["service"] == "given"
    page.close()


async def test_a_starlette_app_gets_the_page_in_its_own_stack(
    collector: MetricsCollector, tracer: Tracer
) -> None:
    """On a Starlette app the page joins the app's middleware stack; routes still work,
    the page's requests are neither traced nor counted."""
    shop = Starlette(routes=[Route("/items/{item_id}", _ok)])
    assert instrument(shop, collector=collector, tracer=tracer, status_page=True) is shop
    async with _client(shop) as client:
        assert (await client.get("/items/7")).text == "ok"
        assert (await client.get("/-/monitor/api/traces")).status_code == 200
        assert (await client.get("/health")).status_code == 200
    assert _requests(collector, method="GET", route="/items/{item_id}", status="200") == 1
    assert _requests(collector, method="GET", route="<unmatched>", status="200") == 0
    assert [s.name for s in tracer.get_all_spans()] == ["GET /items/{item_id}"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"status_page": "yes"}, TypeError, "StatusPageOptions"),
        ({"status_page": StatusPageOptions(config={"path": "/x"})}, TypeError, "MonitorConfig"),  # type: ignore[arg-type]
        ({"status_page": StatusPageOptions(path="/")}, ValueError, "must start with '/'"),
        ({"status_page": StatusPageOptions(path="ops")}, ValueError, "must start with '/'"),
        ({"status_page": StatusPageOptions(path="/metrics")}, ValueError, "metrics path"),
        (
            {
                "metrics": MetricsOptions(path="/ops/metrics"),
                "status_page": StatusPageOptions(path="/ops"),
            },
            ValueError,
            "metrics path",
        ),
        (
            {
                "health": HealthOptions(path="/ops"),
                "status_page": StatusPageOptions(path="/ops/page"),
            },
            ValueError,
            "health probes",
        ),
    ],
)
def test_bad_status_page_options_are_refused_before_serving(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    """A wrong type, a path the page cannot take, or one hiding /metrics or the probes
    (or hidden by them) raises at instrument(), naming the rule."""
    with pytest.raises(error, match=message):
        instrument(_plain, **kwargs)


def test_a_path_apart_from_the_others_is_fine_when_they_are_off() -> None:
    """With the metrics and health parts off, their default paths are free for the page."""
    instrument(
        _plain,
        metrics=False,
        health=False,
        tracing=False,
        status_page=StatusPageOptions(path="/metrics"),
    )
