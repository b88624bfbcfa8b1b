"""Small ASGI helpers shared by the middlewares: header lookup, route path, responses,
and the ASGI-correct answers for lifespan and websocket scopes when no app is wrapped."""

from __future__ import annotations

from collections.abc import Iterable

from ..protocols import Receive, Scope, Send

__all__ = [
    "Headers",
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
