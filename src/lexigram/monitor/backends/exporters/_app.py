"""Serving the exposition over HTTP: the scrape handler and the ``/metrics`` ASGI app.

:func:`handle_scrape` is shared by :func:`metrics_asgi_app`, ``PrometheusMiddleware``
and the Prometheus backend's own server. With an ``auth_token``, the request is
authenticated first, by the one bearer-token rule of every protected path
(``lexigram.monitor._auth``): anything else gets 401 with ``WWW-Authenticate: Bearer``,
whatever the method, so an unauthenticated caller learns nothing about the path. Then
``GET``/``HEAD`` render the exposition and other methods get 405. A ``HEAD`` answer
never has a body (its ``Content-Length`` is the one ``GET`` would get). A rendering
failure answers 500 and is counted in ``lexigram_monitor_render_failures_total``; it
never propagates to the server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._auth import BearerToken, header_bytes
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


def _plain(status: int, text: str, *extra: tuple[str, str], head: bool = False) -> ScrapeResponse:
    body = text.encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        *extra,
    ]
    return ScrapeResponse(status, headers, b"" if head else body)


def _authorization(headers: Mapping[str, str]) -> list[bytes]:
    value = headers.get("authorization")
    return [] if value is None else [header_bytes(value)]


def authorized(headers: Mapping[str, str], token: str | None) -> bool:
    """True when no token is required or *headers* (lower-case keys, values decoded as
    Latin-1) carry it by the bearer-token rule of ``lexigram.monitor._auth``."""
    if not token:
        return True
    return BearerToken(token, "metrics").matches(_authorization(headers))


async def handle_scrape(
    method: str,
    headers: Mapping[str, str],
    *,
    collector: Any = None,
    auth_token: str | None = None,
) -> ScrapeResponse:
    """Answer one request for the exposition: authentication first, then the method.

    *headers* keys are lower case; values are ``str`` holding the header bytes decoded
    as Latin-1 (as ASGI servers' bytes and :mod:`http.server` give them), so a non-ASCII
    token is compared as the UTF-8 bytes the client sent.
    """
    head = method == "HEAD"
    if auth_token:
        refusal = BearerToken(auth_token, "metrics").refusal(_authorization(headers))
        if refusal is not None:
            return _plain(401, "Unauthorized\n", ("WWW-Authenticate", refusal), head=head)
    if method != "GET" and not head:
        return _plain(405, "Method Not Allowed\n", ("Allow", "GET, HEAD"))
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
        return _plain(500, "metrics rendering failed\n", head=head)
    out = [*rendered.items(), ("Content-Length", str(len(body)))]
    out.append(("Vary", "Accept, Accept-Encoding"))
    return ScrapeResponse(200, out, b"" if head else body)


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
