"""``metrics_asgi_app``: GET/HEAD, bearer token, negotiation, lifespan and websocket scopes."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest

from lexigram.monitor.backends.exporters import _app
from lexigram.monitor.backends.exporters.prometheus import TEXT_CONTENT_TYPE, metrics_asgi_app
from lexigram.monitor.metrics import MetricsCollector


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


async def test_get_serves_the_process_exposition(isolated_metrics: MetricsCollector) -> None:
    """GET returns 200, the text format, a Content-Length and every process instrument."""
    isolated_metrics.create_counter("served", "Served.").increment(4)

    async with client(metrics_asgi_app()) as http:
        response = await http.get("/metrics", headers={"Accept-Encoding": "identity"})

    assert response.status_code == 200
    assert response.headers["content-type"] == TEXT_CONTENT_TYPE
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content)
    assert "served_total 4\n" in response.text
    assert "process_" in response.text or "python_" in response.text


async def test_head_has_the_headers_of_get_but_no_body(isolated_metrics: MetricsCollector) -> None:
    """HEAD answers like GET without a body."""
    isolated_metrics.create_gauge("g", "G.").set(1)
    app = metrics_asgi_app(MetricsCollector())

    async with client(app) as http:
        head = await http.head("/metrics")
        get = await http.get("/metrics")

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


async def test_other_methods_get_405_with_allow() -> None:
    """POST is refused with 405 and ``Allow: GET, HEAD``."""
    async with client(metrics_asgi_app()) as http:
        response = await http.post("/metrics", content=b"x")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Basic c2VjcmV0", "Bearer", "bearer secret-token-x"],
)
async def test_missing_or_wrong_bearer_token_gets_401(authorization: str | None) -> None:
    """With a token configured, anything but the right bearer token is refused."""
    headers = {} if authorization is None else {"Authorization": authorization}

    async with client(metrics_asgi_app(auth_token="secret-token")) as http:
        response = await http.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "# TYPE" not in response.text


async def test_right_bearer_token_is_accepted_case_insensitive_scheme() -> None:
    """The scheme is case-insensitive; the token itself must match exactly."""
    async with client(metrics_asgi_app(auth_token="secret-token")) as http:
        response = await http.get("/metrics", headers={"Authorization": "bearer secret-token"})

    assert response.status_code == 200


def test_token_comparison_uses_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens are compared with ``hmac.compare_digest``."""
    seen: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return a == b

    monkeypatch.setattr("hmac.compare_digest", spy)

    assert _app.authorized({"authorization": "Bearer abc"}, "abc")
    assert seen == [(b"abc", b"abc")]


async def test_openmetrics_and_gzip_are_negotiated_from_request_headers(
    isolated_metrics: MetricsCollector,
) -> None:
    """Accept and Accept-Encoding of the request pick the format and compression."""
    isolated_metrics.create_counter("negotiated", "N.").increment()
    headers = {
        "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        "Accept-Encoding": "gzip",
    }

    async with client(metrics_asgi_app()) as http:
        # httpx decodes gzip itself, so .text is the plain exposition
        response = await http.get("/metrics", headers=headers)

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text.endswith("# EOF\n")
    assert "negotiated_total 1.0" in response.text


async def test_render_failure_answers_500_and_is_counted(
    isolated_metrics: MetricsCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception while rendering gives 500 and a count, never a crashed server."""

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(_app, "render_async", broken)

    async with client(metrics_asgi_app()) as http:
        response = await http.get("/metrics")

    assert response.status_code == 500
    failures = isolated_metrics.get_metric("lexigram_monitor_render_failures_total")
    assert failures is not None
    assert failures.get_count({"reason": "scrape_error"}) == 1  # type: ignore[attr-defined]


async def test_lifespan_is_acknowledged() -> None:
    """Mounted as the top-level app, it completes lifespan startup and shutdown."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await metrics_asgi_app()({"type": "lifespan"}, receive, send)

    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_websocket_is_refused_by_closing() -> None:
    """A websocket connection is closed (never answered with an HTTP response)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await metrics_asgi_app()({"type": "websocket", "path": "/metrics"}, receive, send)

    assert sent == [{"type": "websocket.close", "code": 1008}]


async def test_raw_gzip_body_decompresses_to_the_plain_body() -> None:
    """Through a raw ASGI call the gzipped body is the gzip of the plain one."""
    collector = MetricsCollector()
    collector.create_gauge("raw", "Raw.").set(3)
    app = metrics_asgi_app(collector)

    async def call(headers: list[tuple[bytes, bytes]]) -> tuple[dict[str, Any], bytes]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
        await app(scope, receive, send)
        return sent[0], sent[1]["body"]

    start, zipped = await call([(b"accept-encoding", b"gzip")])
    _, plain = await call([])

    assert (b"content-encoding", b"gzip") in start["headers"]
    assert gzip.decompress(zipped) == plain
