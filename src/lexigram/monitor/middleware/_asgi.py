"""Small ASGI helpers shared by the middlewares: header lookup, route path, responses,
and the ASGI-correct answers for lifespan and websocket scopes when no app is wrapped."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from ..protocols import Receive, Scope, Send

__all__ = [
    "ROUTE_CACHE_SIZE",
    "Headers",
    "RouteTemplates",
    "finish_lifespan",
    "header_values",
    "media_type_accepted",
    "reject_websocket",
    "route_path",
    "send_response",
]

Headers = list[tuple[bytes, bytes]]


def header_values(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of header *name* (lowercase bytes) in *scope*, matched case-insensitively."""
    found = []
    for key, value in scope.get("headers") or ():
        if key == name or key.lower() == name:
            found.append(value)
    return found


def route_path(scope: Scope) -> str:
    """The request path relative to ``root_path`` (as Starlette routes it), without a
    trailing slash (``/`` stays ``/``)."""
    path: str = scope.get("path") or "/"
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        path = path[len(root) :] or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def media_type_accepted(accept_headers: Iterable[bytes], media_type: bytes) -> bool:
    """True when an ``Accept`` header lists *media_type* with a quality above zero."""
    for header in accept_headers:
        for part in header.split(b","):
            media, _, params = part.partition(b";")
            if media.strip().lower() != media_type:
                continue
            quality = 1.0
            for param in params.split(b";"):
                key, _, value = param.partition(b"=")
                if key.strip().lower() == b"q":
                    try:
                        quality = float(value.strip())
                    except ValueError:
                        quality = 0.0
            if quality > 0:
                return True
    return False


async def send_response(
    send: Send, status: int, body: bytes, headers: Headers, *, head: bool = False
) -> None:
    """Send a complete response; for HEAD, the headers of *body* without the body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode("ascii"))],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


async def finish_lifespan(receive: Receive, send: Send) -> None:
    """Answer a lifespan scope as an app with nothing to start or stop."""
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def reject_websocket(receive: Receive, send: Send) -> None:
    """Refuse a websocket connection (close before accept: the server answers 403)."""
    message = await receive()
    if message.get("type") == "websocket.connect":
        await send({"type": "websocket.close", "code": 1000})


# -- route templates (metrics labels, span names) -----------------------------------------
#
# Starlette's router (and FastAPI's, built on it) leaves the matched route in
# ``scope["route"]`` after the app ran and adds each mount's matched prefix to
# ``scope["root_path"]``. A route template is therefore read from the scope once the app
# has answered. Mount prefixes may hold path parameters, so when a mount was crossed (or an
# older Starlette set only ``scope["endpoint"]``) the template is rebuilt by matching the
# app's route table, and that result is cached.

ROUTE_CACHE_SIZE = 1024
"""Entries kept by a :class:`RouteTemplates` cache (least recently used evicted first)."""

_MOUNT_TAIL = "/{path}"


class RouteTemplates:
    """Resolves the route template of a handled request, e.g. ``/orders/{order_id}``.

    The template is relative to the ``root_path`` the caller saw before calling the app
    (a proxy prefix or an outer mount is not part of it); mounts crossed below that point
    contribute their templated prefix (``/tenants/{tenant}/orders/{order_id}``). A request
    no route matched gives None. Memory: at most ``max_entries`` cached table walks
    (least recently used evicted first); requests routed by ``Host`` are resolved every
    time and never cached, since their template depends on a header.
    """

    __slots__ = ("_cache", "_leaves", "_lock", "_max_entries")

    def __init__(self, max_entries: int = ROUTE_CACHE_SIZE) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries={max_entries!r} must be >= 0 (0 disables the cache)")
        self._max_entries = max_entries
        self._cache: OrderedDict[tuple[int, str, str, str], str | None] = OrderedDict()
        self._lock = threading.Lock()
        # Route classes seen with a str ``path_format`` and no ``routes`` (leaf routes,
        # not mounts or hosts): their template is read with one attribute load.
        self._leaves: set[type] = set()

    def __len__(self) -> int:
        return len(self._cache)

    def template(self, scope: Scope, root_path: str | None = None, owner: Any = None) -> str | None:
        """Template of the request in *scope* after the app handled it, or None.

        *root_path* is the ``root_path`` the caller saw before calling the app (default:
        Starlette's ``app_root_path``, else the current ``root_path``). *owner* is the
        object whose ``routes`` are matched when the template cannot be read off the
        scope (default: the outermost router, ``scope["router"]``, else ``scope["app"]``).
        The common case — a route matched and no mount crossed, so ``root_path`` is
        unchanged — is read off the matched route without a table walk; it is the
        fast path both middlewares take per request.
        """
        route: Any = scope.get("route")
        if root_path is None:
            root_path = scope.get("app_root_path", scope.get("root_path", ""))
        if route is not None:
            if scope.get("root_path", "") == root_path:
                if type(route) in self._leaves:
                    template: Any = route.path_format
                    if template.__class__ is str:
                        return template
                elif self._is_leaf(route):
                    return route.path_format  # type: ignore[no-any-return]
        elif "endpoint" not in scope:
            return None  # nothing matched: the router set neither key
        if owner is None:
            owner = scope.get("router") or scope.get("app")
        routes = getattr(owner, "routes", None)
        if not routes:
            return None
        return self._walk_cached(routes, scope, root_path)

    def _is_leaf(self, route: Any) -> bool:
        """Whether *route* is a leaf route with a str template; its class is remembered
        (bounded by the number of route classes an app uses)."""
        if isinstance(getattr(route, "path_format", None), str) and not hasattr(route, "routes"):
            self._leaves.add(route.__class__)
            return True
        return False

    def _walk_cached(self, routes: Any, scope: Scope, entry_root: str) -> str | None:
        key = (id(routes), entry_root, scope.get("method", ""), scope.get("path", ""))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        probe = dict(scope)
        probe["root_path"] = entry_root
        found, cacheable = _walk(routes, probe)
        if cacheable and self._max_entries:
            with self._lock:
                self._cache[key] = found
                while len(self._cache) > self._max_entries:
                    self._cache.popitem(last=False)
        return found


def _walk(routes: Any, scope: Scope) -> tuple[str | None, bool]:
    """Match *scope* against *routes* as Starlette's router does (first full match, else
    first partial one); return (template, cacheable)."""
    from starlette.routing import Match

    chosen: Any = None
    chosen_scope: Scope | None = None
    for candidate in routes:
        try:
            match, child = candidate.matches(scope)
        except Exception:  # a custom route that cannot match a probe scope
            continue
        if match is Match.FULL:
            chosen, chosen_scope = candidate, child
            break
        if match is Match.PARTIAL and chosen is None:
            chosen, chosen_scope = candidate, child
    if chosen is None or chosen_scope is None:
        return None, True
    path_format = getattr(chosen, "path_format", None)
    by_host = not isinstance(path_format, str)
    if not hasattr(chosen, "routes"):
        return (path_format if isinstance(path_format, str) else None), True
    prefix = ""
    if isinstance(path_format, str):
        prefix = path_format[: -len(_MOUNT_TAIL)] if path_format.endswith(_MOUNT_TAIL) else ""
    inner_routes = chosen.routes
    if not inner_routes:
        return prefix + _MOUNT_TAIL, not by_host  # a mounted plain ASGI app
    sub = dict(scope)
    sub.update(chosen_scope)
    inner, cacheable = _walk(inner_routes, sub)
    if inner is None:
        return None, cacheable and not by_host
    return prefix + inner, cacheable and not by_host
