"""HealthCheckProvider: the health endpoints over raw ASGI scopes and through httpx."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import HealthCheckConfig
from lexigram.monitor.health import (
    CachedHealthChecker,
    HealthCheckCategory,
    HealthChecker,
    HealthCheckRegistry,
)
from lexigram.monitor.middleware import HealthCheckProvider
from lexigram.monitor.noop import NoOpHealthCheckRegistry

from ._raw import http_scope, run_raw

LIVE, READY, START = (
    HealthCheckCategory.LIVENESS,
    HealthCheckCategory.READINESS,
    HealthCheckCategory.STARTUP,
)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


class Downstream:
    """A wrapped ASGI app that records the scopes it gets and answers 299."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(f"{scope['type']}:{scope.get('path', '')}")
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 299, "headers": []})
            await send({"type": "http.response.body", "body": b"downstream"})


async def call(
    app: Any,
    path: str = "/health",
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    root_path: str = "",
) -> Response:
    """Drive *app* with a raw HTTP scope and collect what it sends."""
    scope = http_scope(path, method=method, root_path=root_path, headers=headers)
    sent = await run_raw(app, scope)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    raw = list(start["headers"])
    return Response(start["status"], {k.decode(): v.decode() for k, v in raw}, body, raw)


def checker_with(**checks: Any) -> HealthChecker:
    """A checker with the given name=value checks (values returned by sync lambdas)."""
    checker = HealthChecker()
    for name, value in checks.items():
        checker.add(name, (lambda v=value: v))
    return checker


# -- status codes and bodies -----------------------------------------------------------


async def test_empty_checker_is_healthy() -> None:
    """With no checks the endpoint answers 200 with status, timestamp and no-store caching."""
    response = await call(HealthCheckProvider())
    assert response.status == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert isinstance(body["timestamp"], float)
    assert body["checks"] == {}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-length"] == str(len(response.body))


@pytest.mark.parametrize(
    ("value", "code", "status"),
    [(True, 200, "healthy"), ("degraded", 207, "degraded"), (False, 503, "unhealthy")],
)
async def test_status_code_follows_the_aggregate(value: object, code: int, status: str) -> None:
    """200 healthy, 207 degraded, 503 unhealthy."""
    provider = HealthCheckProvider(checker=checker_with(ok=True, probe=value))
    response = await call(provider)
    assert response.status == code
    assert response.json()["status"] == status
    assert response.json()["checks"]["probe"]["status"] == status


async def test_category_paths_run_only_their_checks() -> None:
    """/live, /ready and /startup answer from the checks of their category."""
    checker = HealthChecker()
    checker.add("alive", lambda: True, category=LIVE)
    checker.add("db", lambda: False, category=READY)
    checker.add("warmup", lambda: "starting", category=START)
    provider = HealthCheckProvider(checker=checker)
    live = await call(provider, "/health/live")
    ready = await call(provider, "/health/ready")
    startup = await call(provider, "/health/startup")
    everything = await call(provider, "/health")
    assert (live.status, list(live.json()["checks"])) == (200, ["alive"])
    assert (ready.status, list(ready.json()["checks"])) == (503, ["db"])
    assert (startup.status, list(startup.json()["checks"])) == (503, ["warmup"])
    assert set(everything.json()["checks"]) == {"alive", "db", "warmup"}


async def test_head_gets_headers_without_a_body() -> None:
    """HEAD answers like GET with an empty body and the GET body's length."""
    config = HealthCheckConfig(include_details=False)
    provider = HealthCheckProvider(checker=checker_with(db=False), config=config, clock=FakeClock())
    get = await call(provider)
    head = await call(provider, method="HEAD")
    assert head.status == 503
    assert head.body == b""
    assert head.headers["content-length"] == str(len(get.body))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
async def test_other_methods_get_405_with_allow(method: str) -> None:
    """Methods other than GET and HEAD on a health path get 405 and an Allow header."""
    response = await call(HealthCheckProvider(), "/health/ready", method=method)
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_trailing_slash_and_root_path_are_tolerated() -> None:
    """'/health/' matches, and a mounted app's root_path is stripped before matching."""
    provider = HealthCheckProvider()
    assert (await call(provider, "/health/")).status == 200
    assert (await call(provider, "/api/health/live", root_path="/api")).status == 200
    assert (await call(provider, "/health/live", root_path="/health")).status == 200


async def test_include_details_false_hides_the_checks() -> None:
    """Without include_details the body has only status and timestamp."""
    config = HealthCheckConfig(include_details=False)
    checker = HealthChecker(config)
    checker.add("db", lambda: True)
    body = (await call(HealthCheckProvider(checker=checker, config=config))).json()
    assert set(body) == {"status", "timestamp"}


# -- routing, wrapping, other scopes ---------------------------------------------------


async def test_unknown_paths_get_404_standalone() -> None:
    """A standalone provider answers 404 to paths it does not serve."""
    response = await call(HealthCheckProvider(), "/orders")
    assert response.status == 404
    assert response.json() == {"error": "not found"}


async def test_unknown_paths_are_forwarded_to_the_wrapped_app() -> None:
    """Wrapping an app, other paths go to it and health paths never do."""
    downstream = Downstream()
    provider = HealthCheckProvider(app=downstream)
    assert (await call(provider, "/orders")).status == 299
    assert (await call(provider, "/health")).status == 200
    assert downstream.scopes == ["http:/orders"]


async def test_set_next_app_wraps_later() -> None:
    """set_next_app installs the app that receives non-health requests."""
    provider = HealthCheckProvider()
    downstream = Downstream()
    provider.set_next_app(downstream)
    assert (await call(provider, "/x")).status == 299


async def test_lifespan_is_answered_per_asgi_when_standalone() -> None:
    """Standalone, lifespan start-up and shut-down are acknowledged, never answered with HTTP."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await HealthCheckProvider()({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


async def test_websocket_is_closed_when_standalone() -> None:
    """Standalone, a websocket connection is closed before accept (no HTTP response)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await HealthCheckProvider()({"type": "websocket", "path": "/health"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
async def test_non_http_scopes_go_to_the_wrapped_app(kind: str) -> None:
    """Lifespan and websocket scopes are forwarded untouched to the wrapped app."""
    downstream = Downstream()

    async def never() -> dict[str, Any]:
        raise AssertionError("the provider must not read this scope")

    async def nothing(message: dict[str, Any]) -> None:
        raise AssertionError("the provider must not answer this scope")

    await HealthCheckProvider(app=downstream)({"type": kind, "path": "/health"}, never, nothing)
    assert downstream.scopes == [f"{kind}:/health"]


# -- failure containment ---------------------------------------------------------------


async def test_a_raising_override_gives_503_without_the_text() -> None:
    """An exception in check_health becomes 503 naming only the exception type."""

    class Broken(HealthCheckProvider):
        async def check_health(self) -> dict[str, Any]:
            raise RuntimeError("password=hunter2")

    response = await call(Broken())
    assert response.status == 503
    assert response.json()["error"] == "RuntimeError: check failed"
    assert b"hunter2" not in response.body


async def test_a_base_exception_in_the_override_is_contained() -> None:
    """Even a SystemExit raised while checking gives 503, never a 500 or a crash."""

    class Exiting(HealthCheckProvider):
        async def check_health(self) -> dict[str, Any]:
            raise SystemExit("secret")

    response = await call(Exiting())
    assert response.status == 503
    assert b"secret" not in response.body


async def test_an_override_returning_garbage_is_unhealthy() -> None:
    """An override that does not return a dict gets 503 with a clear error."""

    class Garbage(HealthCheckProvider):
        async def check_health(self) -> dict[str, Any]:
            return ["not", "a", "dict"]  # type: ignore[return-value]

    response = await call(Garbage())
    assert response.status == 503
    assert response.json()["error"] == "TypeError: check failed"


async def test_a_hanging_override_times_out_at_config_timeout() -> None:
    """An overridden check_health that hangs answers 503 'timed out after Ns'."""

    class Hanging(HealthCheckProvider):
        async def check_health(self) -> dict[str, Any]:
            await asyncio.Event().wait()
            return {}

    response = await call(Hanging(config=HealthCheckConfig(timeout=0.02)))
    assert response.status == 503
    assert response.json()["error"] == "timed out after 0.02s"


async def test_override_answers_path_and_categories_keep_the_checker() -> None:
    """A subclass's check_health answers the base path; category paths use the checker."""

    class Custom(HealthCheckProvider):
        async def check_health(self) -> dict[str, Any]:
            return {"status": "degraded", "timestamp": 1.0, "checks": {"x": {"status": "ok"}}}

    provider = Custom(checker=checker_with(db=True))
    base = await call(provider)
    assert base.status == 207
    assert base.json()["checks"] == {"x": {"status": "ok"}}
    ready = await call(provider, "/health/ready")
    assert list(ready.json()["checks"]) == ["db"]


async def test_hanging_and_raising_checks_never_leak_or_500() -> None:
    """A hanging check and a raising check give 503 with sanitised, JSON-valid details."""

    async def hang() -> None:
        await asyncio.Event().wait()

    def fail() -> None:
        raise ValueError("token=abc")

    checker = HealthChecker(HealthCheckConfig(timeout=0.02))
    checker.add("hang", hang)
    checker.add("fail", fail, timeout=10)  # its own deadline: a busy machine cannot miss it
    checker.add("nan", lambda: {"status": "healthy", "ratio": float("nan")}, timeout=10)
    response = await call(HealthCheckProvider(checker=checker))
    assert response.status == 503
    checks = response.json()["checks"]
    assert checks["hang"]["message"] == "timed out after 0.02s"
    assert checks["fail"]["message"] == "ValueError: check failed"
    assert checks["nan"]["details"] == {"ratio": "nan"}
    assert b"token=abc" not in response.body


# -- IETF health+json ------------------------------------------------------------------


async def test_health_json_format_on_request() -> None:
    """Accept: application/health+json gets the IETF format with component:measurement keys."""
    checker = HealthChecker()
    checker.add("database", lambda: True)
    checker.add("cache", lambda: ("unhealthy", "no route"))
    provider = HealthCheckProvider(checker=checker, service_id="orders", description="Orders API")
    response = await call(provider, headers=[(b"accept", b"application/health+json")])
    assert response.status == 503
    assert response.headers["content-type"] == "application/health+json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "fail"
    assert body["serviceId"] == "orders"
    assert body["description"] == "Orders API"
    assert body["output"] == "failing checks: cache"
    db = body["checks"]["database:responseTime"][0]
    assert db["componentId"] == "database"
    assert db["status"] == "pass"
    assert db["observedUnit"] == "ms"
    assert isinstance(db["observedValue"], float)
    assert db["time"].endswith("Z")
    assert "output" not in db
    cache = body["checks"]["cache:responseTime"][0]
    assert (cache["status"], cache["output"]) == ("fail", "no route")


async def test_health_json_pass_has_no_output() -> None:
    """A passing service in the IETF format has status pass and no output."""
    response = await call(
        HealthCheckProvider(checker=checker_with(db=True)),
        headers=[(b"accept", b"application/json, application/health+json;q=0.9")],
    )
    body = response.json()
    assert response.status == 200
    assert body["status"] == "pass"
    assert "output" not in body


async def test_health_json_with_zero_quality_is_not_chosen() -> None:
    """application/health+json;q=0 means not acceptable: plain JSON is served."""
    response = await call(
        HealthCheckProvider(), headers=[(b"accept", b"application/health+json;q=0")]
    )
    assert response.headers["content-type"] == "application/json"


# -- bearer token ----------------------------------------------------------------------


async def test_a_valid_bearer_token_is_required_when_configured() -> None:
    """With a token, the right 'Bearer <token>' passes; a missing one gets 401 + challenge."""
    provider = HealthCheckProvider(auth_token="s3cret")
    missing = await call(provider)
    assert missing.status == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    good = await call(provider, headers=[(b"authorization", b"Bearer s3cret")])
    assert good.status == 200
    lowercase = await call(provider, "/health/live", headers=[(b"authorization", b"bearer s3cret")])
    assert lowercase.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", b"Bearer wrong")],
        [(b"authorization", b"Basic czNjcmV0")],
        [(b"authorization", b"Bearer")],
        [(b"authorization", b"Bearer ")],
        [(b"authorization", b"s3cret")],
        [(b"authorization", b"Bearer s3cret extra")],
        [(b"authorization", b"Bearer \xff\xfe")],
        [(b"authorization", b"")],
        [(b"authorization", b"Bearer s3cret"), (b"authorization", b"Bearer s3cret")],
    ],
)
async def test_wrong_or_malformed_authorization_gets_401(
    headers: list[tuple[bytes, bytes]],
) -> None:
    """Wrong tokens, other schemes, empty, garbled or repeated headers all get 401."""
    response = await call(HealthCheckProvider(auth_token="s3cret"), headers=headers)
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert b"s3cret" not in response.body


async def test_the_token_can_come_from_the_config() -> None:
    """HealthCheckConfig.auth_token protects the endpoint when no auth_token is passed."""
    provider = HealthCheckProvider(config=HealthCheckConfig(auth_token="cfg-token"))
    assert (await call(provider)).status == 401
    ok = await call(provider, headers=[(b"authorization", b"Bearer cfg-token")])
    assert ok.status == 200


# -- configuration ---------------------------------------------------------------------


async def test_disabled_config_passes_everything_through() -> None:
    """enabled=False: health paths are not served (404 standalone, forwarded when wrapping)."""
    config = HealthCheckConfig(enabled=False)
    assert (await call(HealthCheckProvider(config=config))).status == 404
    downstream = Downstream()
    wrapped = HealthCheckProvider(app=downstream, config=config)
    assert (await call(wrapped, "/health/ready")).status == 299


async def test_the_path_comes_from_the_config_or_the_argument() -> None:
    """config.path is used when path is left at its default; an explicit path wins."""
    from_config = HealthCheckProvider(config=HealthCheckConfig(path="/status"))
    assert from_config.path == "/status"
    assert (await call(from_config, "/status/ready")).status == 200
    assert (await call(from_config, "/health")).status == 404
    explicit = HealthCheckProvider(path="/ready")
    assert (await call(explicit, "/ready")).status == 200
    root = HealthCheckProvider(path="/")
    assert (await call(root, "/live")).status == 200


async def test_config_checks_narrow_what_is_reported() -> None:
    """config.checks keeps only the named checks, and the status is theirs."""
    checker = checker_with(db=True, flaky=False)
    provider = HealthCheckProvider(checker=checker, config=HealthCheckConfig(checks=["db"]))
    response = await call(provider)
    assert response.status == 200
    assert list(response.json()["checks"]) == ["db"]


async def test_the_built_in_checker_uses_the_config_timeout() -> None:
    """The default checker gets config.timeout as its per-check timeout."""

    async def hang() -> None:
        await asyncio.Event().wait()

    provider = HealthCheckProvider(config=HealthCheckConfig(timeout=0.02))
    provider.checker.add("hang", hang)
    response = await call(provider)
    assert response.json()["checks"]["hang"]["message"] == "timed out after 0.02s"


def test_bad_arguments_are_refused() -> None:
    """A path without '/', both checker and registry, or a foreign source are refused."""
    with pytest.raises(ValueError, match="must start with '/'"):
        HealthCheckProvider(path="health")
    with pytest.raises(ValueError, match="not both"):
        HealthCheckProvider(checker=HealthChecker(), registry=HealthCheckRegistry())
    with pytest.raises(TypeError, match="has no run_all_with_summary"):
        HealthCheckProvider(checker=object())
    with pytest.raises(TypeError, match=r"registries .* as registry="):
        HealthCheckProvider(checker=HealthCheckRegistry())


# -- other sources ---------------------------------------------------------------------


async def test_a_registry_answers_with_criticality() -> None:
    """A HealthCheckRegistry source: a failing non-critical check makes the service 207."""
    registry = HealthCheckRegistry()
    registry.add("db", lambda: True)
    registry.add("cache", lambda: False, critical=False)
    registry.add("alive", lambda: True, category="liveness")
    provider = HealthCheckProvider(registry=registry)
    assert (await call(provider)).status == 207
    assert (await call(provider, "/health/live")).status == 200
    assert provider.registry is registry
    assert provider.checker is None


async def test_the_noop_registry_is_healthy() -> None:
    """The no-op registry satisfies the provider and is always healthy."""
    response = await call(HealthCheckProvider(registry=NoOpHealthCheckRegistry()), "/health/ready")
    assert response.status == 200


async def test_a_cached_checker_reports_an_unconfigured_database() -> None:
    """A CachedHealthChecker without a db shows 'not configured' and stays 200."""
    provider = HealthCheckProvider(checker=CachedHealthChecker())
    response = await call(provider, "/health/ready")
    assert response.status == 200
    database = response.json()["checks"]["database"]
    assert (database["status"], database["message"]) == ("unknown", "not configured")
    ietf = await call(provider, "/health/ready", headers=[(b"accept", b"application/health+json")])
    assert ietf.json()["checks"]["database"][0]["status"] == "warn"


async def test_large_reports_render_valid_json() -> None:
    """A report with many checks (rendered off the loop) is complete, valid JSON."""
    checker = HealthChecker()
    for i in range(300):
        checker.add(f"c{i}", lambda: True)
    response = await call(HealthCheckProvider(checker=checker))
    assert response.status == 200
    assert len(response.json()["checks"]) == 300


# -- through httpx ---------------------------------------------------------------------


async def test_served_through_httpx_asgi_transport() -> None:
    """Through httpx.ASGITransport the endpoints, wrapping and the token behave the same."""
    checker = HealthChecker()
    checker.add("db", lambda: True, category=READY)
    checker.add("loop", lambda: True, category=LIVE)
    app = HealthCheckProvider(app=Downstream(), checker=checker, auth_token="t0k")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        auth = {"Authorization": "Bearer t0k"}
        ready = await client.get("/health/ready", headers=auth)
        assert ready.status_code == 200
        assert list(ready.json()["checks"]) == ["db"]
        assert (await client.get("/health/live")).status_code == 401
        ietf = await client.get("/health", headers={**auth, "Accept": "application/health+json"})
        assert ietf.headers["content-type"] == "application/health+json"
        assert ietf.json()["status"] == "pass"
        assert (await client.get("/elsewhere")).status_code == 299
        assert (await client.post("/health", headers=auth)).status_code == 405


# -- hardening: returned exceptions, single flight, the edges of auth -----------------

SECRET = ValueError("api_key=SECRET-TUPLE")
IETF = [(b"accept", b"application/health+json")]


@pytest.mark.parametrize(
    "returned",
    [(False, SECRET), {"status": "unhealthy", "message": SECRET}],
    ids=["tuple", "dict"],
)
async def test_returned_exception_text_reaches_neither_format(returned: object) -> None:
    """Finding: ``return False, e`` and ``{"status": "unhealthy", "message": e}`` put the
    exception text in the plain JSON and the IETF ``output``. Both now say only
    '<Type>: check failed'."""
    checker = HealthChecker()
    checker.add("db", lambda: returned)
    provider = HealthCheckProvider(checker=checker, clock=FakeClock())

    plain = await call(provider)
    ietf = await call(provider, headers=IETF)

    assert plain.status == ietf.status == 503
    assert b"SECRET" not in plain.body
    assert b"SECRET" not in ietf.body
    assert plain.json()["checks"]["db"]["message"] == "ValueError: check failed"
    (entry,) = ietf.json()["checks"]["db:responseTime"]
    assert entry["output"] == "ValueError: check failed"


async def test_concurrent_probes_run_the_checks_once() -> None:
    """Fifty concurrent GET /health on a plain HealthChecker run the check once."""
    runs = 0
    release = asyncio.Event()

    async def slow() -> bool:
        nonlocal runs
        runs += 1
        await release.wait()
        return True

    checker = HealthChecker()
    checker.add("db", slow, timeout=30)
    provider = HealthCheckProvider(checker=checker)
    probes = [asyncio.ensure_future(call(provider)) for _ in range(50)]
    await asyncio.sleep(0.01)
    release.set()
    responses = await asyncio.gather(*probes)
    assert {r.status for r in responses} == {200}
    assert runs == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "HEAD", "GET"])
@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready", "/health/startup"])
async def test_without_the_token_every_method_gets_401_first(method: str, path: str) -> None:
    """Finding: ``POST /health`` answered 405 before the token was checked. With a token
    configured, an unauthenticated request gets 401 whatever its method, so it learns
    nothing about the path; HEAD gets no body."""
    provider = HealthCheckProvider(auth_token="s3cret")
    response = await call(provider, path, method=method)
    assert response.status == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="health"'
    assert "allow" not in response.headers
    assert (response.body == b"") is (method == "HEAD")


async def test_method_is_checked_after_the_token() -> None:
    """An authenticated POST gets 405 with Allow; an authenticated HEAD is served."""
    provider = HealthCheckProvider(auth_token="s3cret")
    auth = [(b"authorization", b"Bearer s3cret")]
    post = await call(provider, method="POST", headers=auth)
    head = await call(provider, method="HEAD", headers=auth)
    assert (post.status, post.headers["allow"]) == (405, "GET, HEAD")
    assert (head.status, head.body) == (200, b"")


@pytest.mark.parametrize("token", [None, "s3cret"])
async def test_head_refusals_carry_no_body(token: str | None) -> None:
    """Finding: HEAD 401 and 405 answers carried a body. Every HEAD answer has none
    (its Content-Length is the one GET would get)."""
    provider = HealthCheckProvider(auth_token=token, clock=FakeClock())
    head = await call(provider, "/health/ready", method="HEAD")
    get = await call(provider, "/health/ready")
    assert head.body == b""
    assert head.status == get.status == (200 if token is None else 401)
    assert head.headers["content-length"] == str(len(get.body))
