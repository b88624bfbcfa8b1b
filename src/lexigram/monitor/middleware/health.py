"""HealthCheckProvider: the health endpoints as a plain ASGI app or middleware."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, overload

from .._auth import BearerToken
from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from ..config import HealthCheckConfig
from ..health.checker import HealthChecker
from ..health.report import (
    HEALTH_JSON,
    build_report,
    http_status,
    render_health_json,
    render_json,
    report_status,
)
from ..health.result import HealthCheckCategory, HealthStatus, aggregate, marks_not_configured
from ..protocols import ASGIApp, Receive, Scope, Send
from ._asgi import (
    Headers,
    finish_lifespan,
    header_values,
    media_type_accepted,
    reject_websocket,
    route_path,
    send_response,
)
from ._order import check_probes_outermost

__all__ = ["HealthCheckProvider"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.middleware.health"))

#: Reports with more checks than this are rendered on a worker thread.
RENDER_OFFLOAD_THRESHOLD = 256

_Run = Callable[[], Awaitable[tuple[Any, Mapping[str, Any]]]]
_ALL = "all"
_NO_STORE = (b"cache-control", b"no-store")
_ALLOW = (b"allow", b"GET, HEAD")


def _json_headers(content_type: bytes) -> Headers:
    return [(b"content-type", content_type), _NO_STORE]


class HealthCheckProvider:
    """ASGI middleware that exposes a ``GET /health`` liveness/readiness endpoint.

    ``HealthCheckProvider(app, path="/health", ...)`` wraps *app* (the app comes first, as
    for ``PrometheusMiddleware`` and ``OTelMiddleware``, so Starlette's
    ``add_middleware(HealthCheckProvider, checker=...)`` works); the path-first form
    ``HealthCheckProvider("/health", app)`` and ``HealthCheckProvider(path="/ready")``
    keep working: a first positional argument that is a string is the path.

    Serves ``GET``/``HEAD`` on *path* (all checks, through :meth:`check_health`),
    ``path/live``, ``path/ready`` and ``path/startup`` (the checks of that category),
    answering from *checker* (a :class:`HealthChecker`, a ``CachedHealthChecker`` or any
    object with ``run_all_with_summary``/``run_liveness``/``run_readiness``/``run_startup``)
    or *registry* (``HealthCheckRegistryProtocol``), default: an empty HealthChecker built
    from *config*. Status codes: 200 healthy, 207 degraded, 503 unhealthy (and when the
    checks raise; the body then names only the exception type). Other methods on these
    paths get 405 with ``Allow`` (after authentication, see below). Other HTTP requests
    go to the wrapped *app*, or get 404.
    Lifespan and websocket scopes go to the wrapped app, or are answered per ASGI
    (start-up/shut-down complete; websocket closed before accept).

    Bodies: JSON ``{"status", "timestamp", "checks"?}``, or the IETF health-check format
    when ``Accept`` lists ``application/health+json``; always ``Cache-Control: no-store``.

    *config* fields: ``enabled`` (False: every request passes through, or 404),
    ``path`` (used when *path* is left at its default), ``include_details`` (per-check
    entries in the body), ``timeout`` (default per-check timeout of the built-in checker,
    and deadline of an overridden :meth:`check_health`), ``checks`` (only these checks are
    reported, whatever the source), ``auth_token`` (used when *auth_token* is None).
    With a token, requests need ``Authorization: Bearer <token>`` by the bearer-token
    rule shared with ``/metrics`` (``lexigram.monitor._auth``: scheme in any case, one or
    more spaces, the token's UTF-8 bytes compared in constant time); otherwise 401 with
    ``WWW-Authenticate: Bearer``, whatever the method, so an unauthenticated caller
    learns nothing about these paths. ``HEAD`` answers (200, 207, 503, 401) carry no
    body.

    Memory: nothing is kept per request; a body is as large as the report (details are
    bounded per check by the normaliser). Reports with more than
    ``RENDER_OFFLOAD_THRESHOLD`` checks are rendered on a worker thread.

    The first HTTP request it sees tells whether a metrics or tracing middleware wraps
    it (then probes would be counted or traced); that is logged once, naming the fix
    (see :mod:`._order`).
    """

    @overload
    def __init__(
        self,
        app: ASGIApp | None = None,
        path: str | None = None,
        *,
        checker: Any = None,
        registry: Any = None,
        config: HealthCheckConfig | None = None,
        auth_token: str | None = None,
        service_id: str | None = None,
        description: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None: ...

    @overload
    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        *,
        checker: Any = None,
        registry: Any = None,
        config: HealthCheckConfig | None = None,
        auth_token: str | None = None,
        service_id: str | None = None,
        description: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None: ...

    def __init__(
        self,
        *args: ASGIApp | str | None,
        app: ASGIApp | None = None,
        path: str | None = None,
        checker: Any = None,
        registry: Any = None,
        config: HealthCheckConfig | None = None,
        auth_token: str | None = None,
        service_id: str | None = None,
        description: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        app, path = _app_and_path(args, app, path)
        cfg = config if config is not None else HealthCheckConfig()
        if path is None:
            path = cfg.path
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"health path {path!r} must start with '/' (e.g. '/health')")
        base = path.rstrip("/")
        if checker is not None and registry is not None:
            raise ValueError("pass either checker= or registry= to HealthCheckProvider, not both")
        if checker is None and registry is None:
            checker = HealthChecker(config=cfg)
        self._checker = checker
        self._registry = registry
        self._runs = self._runs_of(checker, registry)
        self._routes: dict[str, str | HealthCheckCategory] = {
            base or "/": _ALL,
            f"{base}/live": HealthCheckCategory.LIVENESS,
            f"{base}/ready": HealthCheckCategory.READINESS,
            f"{base}/startup": HealthCheckCategory.STARTUP,
        }
        self._path = base or "/"
        self._app = app
        self._config = cfg
        token = auth_token if auth_token is not None else cfg.auth_token
        self._token = BearerToken(token, "health") if token else None
        self._include_details = cfg.include_details
        self._only = frozenset(cfg.checks)
        self._service_id = service_id
        self._description = description
        self._clock = clock
        overridden = type(self).check_health is not HealthCheckProvider.check_health
        self._deadline = cfg.timeout if overridden else None
        self._serving = self._serve_http if cfg.enabled else self._pass_http
        self._http: ASGIApp = self._first_http  # looks at the middleware order once

    async def _first_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The first HTTP request: check the middleware order, then serve as usual."""
        self._http = self._serving
        check_probes_outermost(scope)
        await self._serving(scope, receive, send)

    @staticmethod
    def _runs_of(checker: Any, registry: Any) -> dict[str | HealthCheckCategory, _Run]:
        source, all_method = (
            (registry, "run_all") if registry is not None else (checker, "run_all_with_summary")
        )
        names = {
            _ALL: all_method,
            HealthCheckCategory.LIVENESS: "run_liveness",
            HealthCheckCategory.READINESS: "run_readiness",
            HealthCheckCategory.STARTUP: "run_startup",
        }
        runs: dict[str | HealthCheckCategory, _Run] = {}
        for key, method in names.items():
            run = getattr(source, method, None)
            if not callable(run):
                raise TypeError(
                    f"{type(source).__name__} has no {method}(); pass checkers "
                    "(HealthChecker, CachedHealthChecker) as checker= and registries "
                    "(HealthCheckRegistryProtocol) as registry="
                )
            runs[key] = run
        return runs

    @property
    def path(self) -> str:
        """Base path of the endpoints."""
        return self._path

    @property
    def checker(self) -> Any:
        """The checker answering the probes (None when a registry was given)."""
        return self._checker

    @property
    def registry(self) -> Any:
        """The registry answering the probes, if one was given."""
        return self._registry

    @property
    def config(self) -> HealthCheckConfig:
        """The configuration in force."""
        return self._config

    def set_next_app(self, app: ASGIApp | None) -> None:
        """Wrap *app*: requests that are not health probes are forwarded to it."""
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif self._app is not None:
            await self._app(scope, receive, send)
        elif kind == "lifespan":
            await finish_lifespan(receive, send)
        elif kind == "websocket":
            await reject_websocket(receive, send)

    async def _pass_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is not None:
            await self._app(scope, receive, send)
        else:
            await send_response(
                send, 404, b'{"error":"not found"}', _json_headers(b"application/json")
            )

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._routes.get(scope.get("path") or "/")
        if route is None:  # relative to root_path (mounted), or with a trailing slash
            route = self._routes.get(route_path(scope))
        if route is None:
            await self._pass_http(scope, receive, send)
            return
        method = scope.get("method", "GET")
        head = method == "HEAD"
        if self._token is not None:
            refusal = self._token.refusal(header_values(scope, b"authorization"))
            if refusal is not None:
                body = b'{"error":"unauthorized"}'
                challenge = (b"www-authenticate", refusal.encode("ascii", "replace"))
                headers = [*_json_headers(b"application/json"), challenge]
                await send_response(send, 401, body, headers, head=head)
                return
        if method != "GET" and not head:
            body = b'{"error":"method not allowed"}'
            headers = [*_json_headers(b"application/json"), _ALLOW]
            await send_response(send, 405, body, headers)
            return
        report = await self._evaluate(route)
        ietf = media_type_accepted(header_values(scope, b"accept"), HEALTH_JSON.encode())
        status = http_status(report_status(report))
        checks = report.get("checks")
        if isinstance(checks, Mapping) and len(checks) > RENDER_OFFLOAD_THRESHOLD:
            body = await asyncio.to_thread(self._render, report, ietf)
        else:
            body = self._render(report, ietf)
        content_type = HEALTH_JSON.encode() if ietf else b"application/json"
        await send_response(send, status, body, _json_headers(content_type), head=head)

    def _render(self, report: Mapping[str, Any], ietf: bool) -> bytes:
        if ietf:
            return render_health_json(
                report,
                include_details=self._include_details,
                service_id=self._service_id,
                description=self._description,
            )
        return render_json(report, include_details=self._include_details)

    async def _evaluate(self, route: str | HealthCheckCategory) -> Mapping[str, Any]:
        """The report for *route*; never raises (except the caller's cancellation)."""
        try:
            if route != _ALL:
                status, results = await self._runs[route]()
                return self._report(status, results)
            if self._deadline is None:
                report = await self.check_health()
            else:
                async with asyncio.timeout(self._deadline):
                    report = await self.check_health()
            if not isinstance(report, Mapping):
                raise TypeError(
                    f"check_health() returned {type(report).__name__}; "
                    "it must return a dict with a 'status' key"
                )
            return report
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            return self._failure(asyncio.CancelledError())
        except TimeoutError as exc:
            if self._deadline is not None:
                return self._failure(exc, f"timed out after {self._deadline:g}s")
            return self._failure(exc)
        except BaseException as exc:  # the endpoint never answers 500
            return self._failure(exc)

    def _failure(self, exc: BaseException, message: str | None = None) -> dict[str, Any]:
        kind = type(exc).__name__
        _log.warning(
            f"evaluate:{kind}", "health endpoint check failed: %s: %s", kind, exc, exc_info=exc
        )
        return {
            "status": HealthStatus.UNHEALTHY.value,
            "timestamp": self._clock.time(),
            "error": message or f"{kind}: check failed",
        }

    def _report(self, status: Any, results: Mapping[str, Any]) -> dict[str, Any]:
        if not (self._only and any(name not in self._only for name in results)):
            return build_report(status, results, timestamp=self._clock.time())
        # config.checks narrows what is reported: aggregate the kept checks again
        # (a component reported as not configured is not a check that ran).
        kept = {k: v for k, v in results.items() if k in self._only}
        report = build_report(HealthStatus.HEALTHY, kept, timestamp=self._clock.time())
        report["status"] = aggregate(
            HealthStatus(entry["status"])
            for entry in report["checks"].values()
            if not marks_not_configured(entry["details"])
        ).value
        return report

    async def check_health(self) -> dict[str, Any]:
        """Return the current application health as a serialisable mapping.

        ``{"status": "healthy"|"degraded"|"unhealthy", "timestamp": <unix seconds>,
        "checks": {name: result dict}}`` from all checks of the source. Override it in a
        subclass to compute the health yourself; the override answers ``path`` (the
        category paths keep using the source) and runs under ``config.timeout``.
        """
        status, results = await self._runs[_ALL]()
        return self._report(status, results)


def _app_and_path(args: tuple[Any, ...], app: Any, path: Any) -> tuple[ASGIApp | None, str | None]:
    """(app, path) from the leading positional arguments, in either order (a string is
    the path, anything else the app), merged with the ``app=``/``path=`` keywords."""
    if len(args) > 2:
        raise TypeError(
            f"HealthCheckProvider takes at most 2 positional arguments (app, path), got "
            f"{len(args)}; pass the others as keywords, e.g. checker=..."
        )
    for value in args:
        if value is None:
            continue
        if isinstance(value, str):
            if path is not None:
                raise TypeError(
                    f"HealthCheckProvider got two paths ({path!r}, {value!r}); pass one: "
                    "HealthCheckProvider(app, path='/health')"
                )
            path = value
        elif app is not None:
            raise TypeError(
                "HealthCheckProvider got two apps; pass the one to wrap: "
                "HealthCheckProvider(app, path='/health')"
            )
        else:
            app = value
    if app is not None and not callable(app):
        raise TypeError(
            f"HealthCheckProvider got {app!r} as app; it must be an ASGI callable "
            "(scope, receive, send): HealthCheckProvider(app, path='/health')"
        )
    return app, path
