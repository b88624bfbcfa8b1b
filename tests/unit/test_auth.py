"""One bearer-token rule on every protected path: the health endpoints, the metrics ASGI
app, ``PrometheusMiddleware``'s ``/metrics``, the shared scrape handler and the status
page (as an ASGI app and on the scrape server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lexigram.monitor._auth import BearerToken, header_bytes
from lexigram.monitor._clock import FakeClock
from lexigram.monitor.backends._http_head import Request, RouteHandler
from lexigram.monitor.backends.exporters._app import handle_scrape
from lexigram.monitor.backends.exporters.prometheus import metrics_asgi_app
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.middleware import HealthCheckProvider, PrometheusMiddleware
from lexigram.monitor.middleware.status import StatusPage
from lexigram.monitor.tracing import Tracer

from .middleware._raw import http_scope, run_raw

TOKEN = "pässwörd"  # non-ASCII, and Latin-1 encodable: the two encodings differ

Answer = tuple[int, dict[str, str], bytes]
Call = Callable[[str, list[tuple[bytes, bytes]]], Awaitable[Answer]]


async def _asgi(
    app: Any, path: str, method: str, headers: list[tuple[bytes, bytes]], root_path: str = ""
) -> Answer:
    scope = http_scope(path, method=method, headers=headers, root_path=root_path)
    sent = await run_raw(app, scope)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def _collector() -> MetricsCollector:
    collector = MetricsCollector()
    collector.create_gauge("up", "Up.").set(1)
    return collector


async def _app_not_reached(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the protected path must not reach the wrapped app")


def _health(path: str) -> Call:
    provider = HealthCheckProvider(auth_token=TOKEN, clock=FakeClock())
    return lambda method, headers: _asgi(provider, path, method, headers)


def _metrics_app() -> Call:
    app = metrics_asgi_app(_collector(), auth_token=TOKEN)
    return lambda method, headers: _asgi(app, "/metrics", method, headers)


def _middleware() -> Call:
    app = PrometheusMiddleware(_app_not_reached, metrics_collector=_collector(), auth_token=TOKEN)
    return lambda method, headers: _asgi(app, "/metrics", method, headers)


def _scrape_handler() -> Call:
    async def call(method: str, headers: list[tuple[bytes, bytes]]) -> Answer:
        # what a server built on http.server hands over: values decoded as Latin-1
        text = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
        response = await handle_scrape(method, text, collector=_collector(), auth_token=TOKEN)
        return response.status, {k.lower(): v for k, v in response.headers}, response.body

    return call


def _status_page() -> StatusPage:
    return StatusPage(
        collector=_collector(), tracer=Tracer("svc", None), auth_token=TOKEN, clock=FakeClock()
    )


def _status_asgi(path: str) -> Call:
    page = _status_page()
    scope_path = f"/-/monitor{path}"
    return lambda method, headers: _asgi(page, scope_path, method, headers, "/-/monitor")


class _RouteTable:
    """The part of the scrape server ``StatusPage.attach`` uses: its route table."""

    def __init__(self) -> None:
        self.routes: dict[str, RouteHandler] = {}

    def add_route(self, path: str, handler: RouteHandler) -> None:
        self.routes[path] = handler


def _status_scrape_server() -> Call:
    server = _RouteTable()
    _status_page().attach(server)

    async def call(method: str, headers: list[tuple[bytes, bytes]]) -> Answer:
        # what the scrape server hands over: names lower-cased, values decoded as Latin-1
        text = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
        path = "/-/monitor/api/overview"
        response = await server.routes[path](Request(method, path, path, "", text))
        body = b"" if method == "HEAD" else response.body  # the server sends no HEAD body
        return response.status, {k.lower(): v for k, v in response.headers}, body

    return call


PATHS: dict[str, Callable[[], Call]] = {
    "/health": lambda: _health("/health"),
    "/health/live": lambda: _health("/health/live"),
    "/health/ready": lambda: _health("/health/ready"),
    "/health/startup": lambda: _health("/health/startup"),
    "metrics_asgi_app": _metrics_app,
    "PrometheusMiddleware": _middleware,
    "handle_scrape": _scrape_handler,
    "status page": lambda: _status_asgi("/"),
    "status page JSON": lambda: _status_asgi("/api/config"),
    "status page on the scrape server": _status_scrape_server,
}

ACCEPTED = {
    "utf8": f"Bearer {TOKEN}".encode(),
    "scheme-in-any-case": f"bEaReR {TOKEN}".encode(),
    "several-spaces": f"Bearer    {TOKEN}".encode(),
    "whitespace-around": f" \tBearer {TOKEN} \t".encode(),
}
REFUSED = {
    "latin1": f"Bearer {TOKEN}".encode("latin-1"),
    "double-encoded": f"Bearer {TOKEN}".encode().decode("latin-1").encode(),
    "tab-after-scheme": f"Bearer\t{TOKEN}".encode(),
    "no-space": f"Bearer{TOKEN}".encode(),
    "other-scheme": f"Basic {TOKEN}".encode(),
    "token-only": TOKEN.encode(),
    "scheme-only": b"Bearer",
    "empty-token": b"Bearer   ",
    "prefix-of-token": b"Bearer p\xc3\xa4ss",
    "token-and-more": f"Bearer {TOKEN} x".encode(),
    "empty": b"",
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("authorization", ACCEPTED.values(), ids=ACCEPTED)
async def test_the_same_credentials_are_accepted_on_every_path(
    path: str, authorization: bytes
) -> None:
    """Finding: a non-ASCII token matched /metrics only when sent Latin-1 encoded, while
    /health wanted UTF-8. Every path now takes the token's UTF-8 bytes after a
    case-insensitive 'Bearer' and one or more spaces (RFC 9110 1*SP)."""
    status, _, _ = await PATHS[path]()("GET", [(b"authorization", authorization)])
    assert status == 200


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("authorization", REFUSED.values(), ids=REFUSED)
async def test_the_same_credentials_are_refused_on_every_path(
    path: str, authorization: bytes
) -> None:
    """Other encodings, tabs, other schemes and partial tokens get 401 everywhere, with
    an 'invalid_token' challenge naming the path's realm."""
    status, headers, _ = await PATHS[path]()("GET", [(b"authorization", authorization)])
    assert status == 401
    assert headers["www-authenticate"].startswith('Bearer realm="')
    assert headers["www-authenticate"].endswith(', error="invalid_token"')


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
async def test_without_credentials_every_method_gets_401_and_head_no_body(
    path: str, method: str
) -> None:
    """Authentication comes before the method check on every path: a caller without the
    token gets 401 (never 405 or 404) and a plain challenge; HEAD answers carry no body."""
    status, headers, body = await PATHS[path]()(method, [])
    assert status == 401
    realms = ("health", "metrics", "status")
    assert headers["www-authenticate"] in {f'Bearer realm="{realm}"' for realm in realms}
    assert "allow" not in headers
    assert (body == b"") is (method == "HEAD")
    assert int(headers["content-length"]) > 0


@pytest.mark.parametrize("path", PATHS)
async def test_with_credentials_other_methods_get_405(path: str) -> None:
    """Once authenticated, a method other than GET or HEAD gets 405 with Allow."""
    status, headers, _ = await PATHS[path]()("POST", [(b"authorization", ACCEPTED["utf8"])])
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", PATHS)
async def test_an_authenticated_head_is_served_without_a_body(path: str) -> None:
    """HEAD with the token gets the GET answer's status and Content-Length, no body."""
    call = PATHS[path]()
    auth = [(b"authorization", ACCEPTED["utf8"])]
    head_status, head_headers, head_body = await call("HEAD", auth)
    get_status, _, get_body = await call("GET", auth)
    assert head_status == get_status == 200
    assert head_body == b""
    assert int(head_headers["content-length"]) == len(get_body) > 0


def test_repeated_authorization_headers_are_refused() -> None:
    """Two Authorization headers are ambiguous: refused even if both carry the token."""
    token = BearerToken(TOKEN, "x")
    good = ACCEPTED["utf8"]
    assert token.matches([good])
    assert not token.matches([good, good])
    assert not token.matches([])


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is hmac.compare_digest over the UTF-8 bytes."""
    seen: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return a == b

    monkeypatch.setattr("hmac.compare_digest", spy)
    assert BearerToken(TOKEN, "x").matches([ACCEPTED["utf8"]])
    assert seen == [(TOKEN.encode(), TOKEN.encode())]


def test_header_bytes_undoes_latin1_decoding() -> None:
    """A str header decoded as Latin-1 gives back its bytes; text beyond Latin-1 (never
    the result of that decoding) is taken as text and encoded as UTF-8."""
    raw = "pässwörd".encode()
    assert header_bytes(raw.decode("latin-1")) == raw
    assert header_bytes("✓") == "✓".encode()


def test_an_empty_token_is_refused() -> None:
    """A BearerToken needs a non-empty string."""
    with pytest.raises(ValueError, match="non-empty"):
        BearerToken("", "x")
