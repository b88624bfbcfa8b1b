"""Raw ASGI for the middleware tests: an HTTP request scope, and a run of an app on it
that collects every message the app sends."""

from __future__ import annotations

from typing import Any

from lexigram.monitor.protocols import Message, Scope


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    root_path: str = "",
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> Scope:
    """An HTTP/1.1 request scope for *path* (which includes *root_path*, as servers send
    it) from client 10.0.0.7:50123 to server 10.0.0.1:8000; *extra* keys override."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": root_path,
        "headers": headers or [],
        "client": ("10.0.0.7", 50123),
        "server": ("10.0.0.1", 8000),
    }
    scope.update(extra)
    return scope


async def run_raw(app: Any, scope: Scope) -> list[Message]:
    """Run *app* on *scope* with an empty request body; return what it sent, in order."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent
