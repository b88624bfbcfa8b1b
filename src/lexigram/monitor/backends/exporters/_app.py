"""Serving the exposition over HTTP: the scrape handler and the ``/metrics`` ASGI app.

:func:`handle_scrape` is shared by :func:`metrics_asgi_app` and the Prometheus
backend's own server: ``GET``/``HEAD`` render the exposition (``HEAD`` without body);
other methods get 405. With an ``auth_token``, requests must carry
``Authorization: Bearer <token>`` (compared with :func:`hmac.compare_digest`), else
401 with ``WWW-Authenticate: Bearer``. A rendering failure answers 500 and is counted
in ``lexigram_monitor_render_failures_total``; it never propagates to the server.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._ratelimit import RateLimitedLogger
from ..._selfmetrics import RENDER_FAILURES, count_failure
from ...protocols import Receive, Scope, Send
from ._exposition import render_async

__all__ = ["MetricsApp", "ScrapeResponse", "handle_scrape", "metrics_asgi_app"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.exposition"))


@dataclass(frozen=True, slots=True)
class ScrapeResponse:
    """Status, headers and body of one scrape."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _plain(status: int, text: str, *extra: tuple[str, str]) -> ScrapeResponse:
    body = text.encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        *extra,
    ]
    return ScrapeResponse(status, headers, body)


def authorized(headers: Mapping[str, str], token: str | None) -> bool:
    """True when no token is required or the bearer token matches (constant time)."""
    if not token:
        return True
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


async def handle_scrape(
    method: str,
    headers: Mapping[str, str],
    *,
    collector: Any = None,
    auth_token: str | None = None,
) -> ScrapeResponse:
    """Answer one request for the exposition; *headers* keys are lower case."""
    if method not in ("GET", "HEAD"):
        return _plain(405, "Method Not Allowed\n", ("Allow", "GET, HEAD"))
    if not authorized(headers, auth_token):
        return _plain(401, "Unauthorized\n", ("WWW-Authenticate", 'Bearer realm="metrics"'))
    try:
        body, rendered = await render_async(
            collector,
            accept=headers.get("accept", ""),
            accept_encoding=headers.get("accept-encoding", ""),
        )
    except Exception as exc:
        _log.error(
            "scrape",
            "rendering /metrics failed (%s); answered 500",
            type(exc).__name__,
            exc_info=exc,
        )
        count_failure(RENDER_FAILURES, "scrape_error")
        return _plain(500, "metrics rendering failed\n")
    out = [*rendered.items(), ("Content-Length", str(len(body)))]
    out.append(("Vary", "Accept, Accept-Encoding"))
    return ScrapeResponse(200, out, b"" if method == "HEAD" else body)


class MetricsApp:
    """ASGI app serving the exposition on every HTTP path it receives (mount it).

    Lifespan events are acknowledged; websocket connections are refused (closed).
    """

    def __init__(self, collector: Any = None, *, auth_token: str | None = None) -> None:
        self.collector = collector
        self.auth_token = auth_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await receive()
                await send({"type": "websocket.close", "code": 1008})
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        response = await handle_scrape(
            scope.get("method", "GET"),
            headers,
            collector=self.collector,
            auth_token=self.auth_token,
        )
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in response.headers],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def metrics_asgi_app(collector: Any = None, *, auth_token: str | None = None) -> MetricsApp:
    """ASGI app serving ``/metrics`` for *collector* (None: the process registry).

    ``GET``/``HEAD`` only; with *auth_token* a bearer token is required (401 otherwise).
    """
    return MetricsApp(collector, auth_token=auth_token)
