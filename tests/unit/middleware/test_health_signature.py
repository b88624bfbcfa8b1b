"""HealthCheckProvider takes the app first, like the other two middlewares, and keeps
the reference's path-first form."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lexigram.monitor.config import HealthCheckConfig
from lexigram.monitor.health import HealthChecker
from lexigram.monitor.middleware import HealthCheckProvider

from ._raw import http_scope, run_raw


async def downstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The wrapped app: answers every HTTP request with 299."""
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"app"})


async def status(app: Any, path: str) -> int:
    return int((await run_raw(app, http_scope(path)))[0]["status"])


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: HealthCheckProvider(downstream), id="app"),
        pytest.param(lambda: HealthCheckProvider(downstream, "/ready"), id="app,path"),
        pytest.param(lambda: HealthCheckProvider(downstream, path="/ready"), id="app,path="),
        pytest.param(lambda: HealthCheckProvider("/ready", downstream), id="path,app"),
        pytest.param(lambda: HealthCheckProvider("/ready", app=downstream), id="path,app="),
        pytest.param(lambda: HealthCheckProvider(path="/ready", app=downstream), id="keywords"),
        pytest.param(lambda: HealthCheckProvider(app=downstream, path="/ready"), id="keywords2"),
    ],
)
async def test_app_and_path_are_accepted_in_either_order(build: Any) -> None:
    """A string is the path, a callable the app, positionally or by keyword."""
    provider = build()
    base = provider.path
    assert base in ("/health", "/ready")
    assert await status(provider, f"{base}/live") == 200
    assert await status(provider, "/orders") == 299


async def test_app_first_uses_the_default_path() -> None:
    """HealthCheckProvider(app) serves /health and forwards the rest (the form that used
    to fail with "health path <function ...> must start with '/'")."""
    provider = HealthCheckProvider(downstream, checker=HealthChecker())
    assert provider.path == "/health"
    assert await status(provider, "/health") == 200
    assert await status(provider, "/anything") == 299


async def test_the_reference_forms_keep_working() -> None:
    """HealthCheckProvider(path="/ready") and HealthCheckProvider("/ready") stand alone."""
    for provider in (HealthCheckProvider(path="/ready"), HealthCheckProvider("/ready")):
        assert await status(provider, "/ready") == 200
        assert await status(provider, "/other") == 404


async def test_starlette_add_middleware_passes_the_app_first() -> None:
    """add_middleware(HealthCheckProvider, ...) builds HealthCheckProvider(app, ...)."""

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    shop = Starlette(routes=[Route("/", ok)])
    shop.add_middleware(HealthCheckProvider, path="/healthz", checker=HealthChecker())
    transport = httpx.ASGITransport(shop)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/healthz/ready")).status_code == 200
        assert (await client.get("/")).text == "ok"


def test_an_explicit_path_wins_over_the_config() -> None:
    """config.path applies when no path is given; a given path, even "/health", wins."""
    config = HealthCheckConfig(path="/status")
    assert HealthCheckProvider(downstream, config=config).path == "/status"
    assert HealthCheckProvider(downstream, "/health", config=config).path == "/health"


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("/a", "/b"), {}, "two paths"),
        (("/a",), {"path": "/b"}, "two paths"),
        ((downstream, downstream), {}, "two apps"),
        ((downstream,), {"app": downstream}, "two apps"),
        ((42,), {}, "must be an ASGI callable"),
        ((downstream, "/a", None), {}, "at most 2 positional"),
    ],
)
def test_ambiguous_arguments_are_refused(
    args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    """Two paths, two apps, a non-callable app or too many positionals: TypeError."""
    with pytest.raises(TypeError, match=match):
        HealthCheckProvider(*args, **kwargs)
