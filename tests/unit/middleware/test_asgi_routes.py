"""Route templates: what a handled request's ``route`` label is, for Starlette and FastAPI."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Host, Mount, Route

from lexigram.monitor.middleware._asgi import RouteTemplates

from ._raw import http_scope, run_raw

Scope = dict[str, Any]


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _plain_asgi(scope: Scope, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"raw"})


def _starlette() -> Starlette:
    inner = Starlette(routes=[Route("/x/{y}", _ok)])
    return Starlette(
        routes=[
            Route("/", _ok),
            Route("/orders/{order_id:int}", _ok, methods=["GET"]),
            Route("/items/{item_id:int}", _ok, methods=["POST"]),
            Route("/items/{name}", _ok, methods=["GET"]),
            Mount("/sub", app=inner),
            Mount("/tenants/{tenant}", routes=[Route("/reports/{report}", _ok)]),
            Mount("/static", app=_plain_asgi),
            Host("{sub}.example.com", app=Starlette(routes=[Route("/h/{n}", _ok)])),
        ]
    )


def _fastapi() -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/api")

    @router.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app.include_router(router)
    sub = FastAPI()

    @sub.get("/z/{q}")
    async def z(q: str) -> str:
        return q

    app.mount("/v2", sub)
    return app


def _handle(
    app: Any, path: str, method: str = "GET", root_path: str = "", host: str = "localhost"
) -> tuple[Scope, int]:
    """Run *app* on a raw HTTP scope; return the scope as the app left it and the status."""
    scope = http_scope(
        root_path + path, method=method, root_path=root_path, headers=[(b"host", host.encode())]
    )
    sent = asyncio.run(run_raw(app, scope))
    return scope, next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/", "GET", "/"),
        ("/orders/42", "GET", "/orders/{order_id}"),
        ("/orders/42", "DELETE", "/orders/{order_id}"),  # 405: the route still matched
        ("/items/7", "POST", "/items/{item_id}"),
        ("/items/7", "GET", "/items/{name}"),
        ("/sub/x/1", "GET", "/sub/x/{y}"),
        ("/tenants/acme/reports/q3", "GET", "/tenants/{tenant}/reports/{report}"),
        ("/static/css/site.css", "GET", "/static/{path}"),
        ("/orders/not-a-number", "GET", None),
        ("/nowhere", "GET", None),
        ("/tenants/acme/unknown", "GET", None),
    ],
)
def test_starlette_templates(path: str, method: str, expected: str | None) -> None:
    """Starlette requests map to their route template (path params, mounts, mounted
    plain apps); requests no route matched map to None."""
    scope, _ = _handle(_starlette(), path, method)
    assert RouteTemplates().template(scope, root_path="") == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/api/items/3", "/api/items/{item_id}"), ("/v2/z/hello", "/v2/z/{q}"), ("/nope", None)],
)
def test_fastapi_templates(path: str, expected: str | None) -> None:
    """FastAPI router prefixes and mounted FastAPI sub-apps give full templates."""
    scope, _ = _handle(_fastapi(), path)
    assert RouteTemplates().template(scope, root_path="") == expected


def test_root_path_is_not_part_of_the_template() -> None:
    """Behind a proxy prefix (``root_path``) the template is the app's own route."""
    templates = RouteTemplates()
    scope, status = _handle(_starlette(), "/orders/5", root_path="/shop")
    assert status == 200
    assert templates.template(scope, root_path="/shop") == "/orders/{order_id}"
    scope, _ = _handle(_starlette(), "/tenants/t1/reports/r", root_path="/shop")
    assert templates.template(scope, root_path="/shop") == "/tenants/{tenant}/reports/{report}"


def test_default_root_path_comes_from_the_scope() -> None:
    """Without an explicit root path the scope's own (top-level) root path is used."""
    scope, _ = _handle(_starlette(), "/orders/5", root_path="/shop")
    assert RouteTemplates().template(scope) == "/orders/{order_id}"
    scope, _ = _handle(_starlette(), "/sub/x/2", root_path="/shop")
    assert RouteTemplates().template(scope) == "/sub/x/{y}"


def test_endpoint_only_scopes_are_resolved_by_matching_the_route_table() -> None:
    """Routers that set only ``scope["endpoint"]`` (older Starlette) still give templates."""
    app = _starlette()
    scope, _ = _handle(app, "/orders/9")
    del scope["route"]
    assert "endpoint" in scope
    assert RouteTemplates().template(scope, root_path="", owner=app) == "/orders/{order_id}"


def test_mount_walks_are_cached_and_bounded() -> None:
    """Table walks are cached per path, and the cache never exceeds its size."""
    app = _starlette()
    templates = RouteTemplates(max_entries=3)
    for tenant in range(10):
        scope, _ = _handle(app, f"/tenants/t{tenant}/reports/r")
        assert templates.template(scope, root_path="") == "/tenants/{tenant}/reports/{report}"
    assert len(templates) == 3


def test_host_routes_are_never_cached() -> None:
    """A template that depends on the Host header is resolved every time."""
    app = _starlette()
    templates = RouteTemplates()
    scope, status = _handle(app, "/h/1", host="shop.example.com")
    assert status == 200
    assert templates.template(scope, root_path="") == "/h/{n}"
    assert len(templates) == 0


def test_scope_without_router_information_gives_none() -> None:
    """A plain ASGI app leaves nothing to read: no template."""
    scope, _ = _handle(_plain_asgi, "/anything/123")
    assert RouteTemplates().template(scope) is None


def test_negative_cache_size_is_refused() -> None:
    """A negative cache size is a configuration error naming the value."""
    with pytest.raises(ValueError, match="max_entries=-1"):
        RouteTemplates(max_entries=-1)
