"""``StatusPage``: the live status page, an ASGI app (and routes for the scrape server).

Paths, relative to where the page is mounted (``StatusPageConfig.path``, default
``/-/monitor``), all ``GET``/``HEAD`` (documented in ``docs/status-page.md``):

- ``/`` (and the mount path itself): the page, server-rendered HTML;
- ``/trace?id=<32 hex>``: one trace's waterfall as HTML;
- ``/static/status.css``, ``/static/status.js``: the stylesheet and script (package data);
- ``/api/overview``, ``/api/health``, ``/api/slos``, ``/api/routes``, ``/api/traces``,
  ``/api/trace?id=``, ``/api/metrics``, ``/api/config``: each section as JSON.

Rules, in order: the token (the bearer-token rule of ``/metrics`` and ``/health``,
``lexigram.monitor._auth``; 401 with ``WWW-Authenticate: Bearer realm="status"``), then
the method (405 with ``Allow: GET, HEAD``), then the path (404). ``HEAD`` gets the headers
of ``GET`` without the body. Every HTML answer carries a Content-Security-Policy allowing
scripts, styles and fetches from the service itself only (:data:`CSP`). A section whose
source fails is shown with its error (logged, rate limited); the page itself never fails
because one source did.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from ..._auth import BearerToken, header_bytes
from ..._clock import SYSTEM_CLOCK, Clock
from ..._ratelimit import RateLimitedLogger
from ...config import MonitorConfig, StatusPageConfig
from ...protocols import Receive, Scope, Send
from .._asgi import finish_lifespan, header_values, reject_websocket
from .history import HealthHistory
from .html import SECTIONS, HtmlMemo, render_page, render_trace_page
from .routes import RouteStats, read_routes, sort_rows
from .sections import MetricsView, config_section, overview, process_start, slo_section
from .traces import TRACE_ID, TraceView

__all__ = ["CSP", "StatusPage", "StatusResponse"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.middleware.status"))

#: The Content-Security-Policy of every answer: nothing inline, nothing from elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_COMMON = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
_ASSETS = {"status.css": "text/css; charset=utf-8", "status.js": "text/javascript; charset=utf-8"}
_SORT_KEYS = frozenset({"method", "route", "rate", "errors", "p50", "p95", "p99"})


@dataclass(frozen=True, slots=True)
class StatusResponse:
    """Status, headers and body of one answer of the page."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _load_assets() -> dict[str, bytes]:
    folder = resources.files(__package__).joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in _ASSETS}


class StatusPage:
    """The live status page of a service, read-only, behind a bearer token.

    Sources (each optional): *collector* (default: the default collector; request
    metrics and the metric families), *tracer* (default: the default tracer; its buffer
    of ended spans), *checker* (a ``HealthChecker``/``CachedHealthChecker`` or any object
    with ``run_all_with_summary()``), *slo_monitor* (an ``SLOMonitor``) and *config* (the
    effective ``MonitorConfig``, default ``MonitorConfig()``; its ``status_page`` section
    configures the page). *auth_token* overrides ``status_page.auth_token``, which falls
    back to ``prometheus.auth_token``. *service_name* defaults to the tracer's.

    Health: every run of a library checker in the process is recorded as it happens
    (see :mod:`.history`); when a check of *checker* has no result younger than
    ``status_page.health_max_age`` the page runs *checker* itself before answering, on
    the loop serving the request, one run at a time.

    Memory: the health history, the route ring, the kept traces, the metric families and
    the HTML of the last render's unchanged parts (:class:`~.html.HtmlMemo`), each
    bounded (see their modules); nothing per request. Call :meth:`close` to stop
    listening for health runs (also done when the page is garbage collected).
    """

    def __init__(
        self,
        *,
        collector: Any = None,
        tracer: Any = None,
        checker: Any = None,
        slo_monitor: Any = None,
        config: MonitorConfig | None = None,
        auth_token: str | None = None,
        service_name: str | None = None,
        service_version: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if collector is None:
            from ...metrics import get_default_collector

            collector = get_default_collector()
        if tracer is None:
            from ...tracing import get_default_tracer

            tracer = get_default_tracer()
        self.config = config if config is not None else MonitorConfig()
        page: StatusPageConfig = self.config.status_page
        self.settings = page
        token = auth_token or page.auth_token or self.config.prometheus.auth_token
        self._token = BearerToken(token, "status") if token else None
        self.collector = collector
        self.tracer = tracer
        self.checker = checker
        self.slo_monitor = slo_monitor
        self.service_name = service_name or str(getattr(tracer, "service_name", "service"))
        self.service_version = service_version
        self._clock = clock
        now = clock.time()
        self._started = process_start(now) if clock is SYSTEM_CLOCK else now
        self.history = HealthHistory(page.health_history, clock=clock, accepts=_accepts(checker))
        self._hooked = _emits_hooks(checker)
        self.history.listen()
        self._running = False
        self._run_lock = threading.Lock()
        prefix = getattr(getattr(collector, "config", None), "prefix", "") or ""
        self.routes = RouteStats(
            lambda: read_routes(self._instruments(False), prefix),
            clock,
            snapshot_interval=page.snapshot_interval,
        )
        self.traces = TraceView(tracer, shown=page.traces_shown, slowest_kept=page.slowest_kept)
        self._metrics = MetricsView(page.max_series_shown)
        self._memo = HtmlMemo()
        self._shared: ContextVar[dict[str, list[Any]] | None] = ContextVar(
            "lexigram_status_page_instruments", default=None
        )
        self._assets = _load_assets()
        digest = hashlib.sha256(b"".join(self._assets.values())).hexdigest()[:12]
        self._version = digest

    @property
    def path(self) -> str:
        """Where the page is mounted (``status_page.path``)."""
        return self.settings.path

    def close(self) -> None:
        """Stop recording health runs (idempotent)."""
        self.history.close()

    # -- data ---------------------------------------------------------------------------

    def _instruments(self, process_metrics: bool) -> list[Any]:
        """The exposed instruments, each snapshotted at most once per page render: a
        render reads them all (process metrics too) once and every section shares it."""
        shared = self._shared.get()
        if shared is not None:
            if "all" in shared:
                return shared["all"]
            process_metrics = True
        exposed = getattr(self.collector, "exposed_instruments", None)
        found = exposed(process_metrics) if exposed is not None else self.collector.instruments()
        instruments: list[Any] = [_Collected(i) for i in found]
        if shared is not None:
            shared["all"] = instruments
        return instruments

    async def _refresh_health(self) -> None:
        checker = self.checker
        max_age = self.settings.health_max_age
        if checker is None or max_age <= 0:
            return
        names = _check_names(checker)
        latest = self.history.newest if names is None else self.history.stalest(names)
        if latest is not None and self._clock.time() - latest < max_age:
            return
        with self._run_lock:
            if self._running:
                return
            self._running = True
        try:
            _, results = await checker.run_all_with_summary()
            if not self._hooked:
                self.history.record_results(results)
        finally:
            self._running = False

    async def section(self, key: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The data of section *key* (what ``/api/<key>`` returns); a failing source
        gives ``{"error": "..."}`` plus what could be read."""
        query = query or {}
        try:
            return await self._section(key, query)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.warning(f"section:{key}", "status page section %s failed: %r", key, exc)
            return {"error": f"{key} could not be read: {type(exc).__name__}: {exc}"}

    async def _section(self, key: str, query: Mapping[str, str]) -> dict[str, Any]:
        if key == "overview":
            return overview(
                self.config,
                self.collector,
                service_name=self.service_name,
                service_version=self.service_version,
                started=self._started,
                now=self._clock.time(),
            )
        if key == "health":
            await self._refresh_health()
            return {"configured": self.checker is not None, **self.history.view()}
        if key == "slos":
            shared = self._shared.get()
            snapshots = None if shared is None else _Snapshots(self._instruments(True))
            return slo_section(self.slo_monitor, snapshots)
        if key == "routes":
            return self._route_section(query)
        if key == "traces":
            return self.traces.summary()
        if key == "metrics":
            return self._metrics.section(
                self._instruments(True), filter_text=query.get("filter", "")[:200]
            )
        if key == "config":
            return config_section(self.config)
        raise KeyError(key)

    def _route_section(self, query: Mapping[str, str]) -> dict[str, Any]:
        sort = query.get("sort", "rate")
        sort = sort if sort in _SORT_KEYS else "rate"
        window = query.get("window", "1m")
        window = window if window in ("1m", "5m") else "1m"
        descending = query.get("dir", "desc") != "asc"
        rows = sort_rows(self.routes.table(), sort, descending, window)
        limit = self.settings.max_routes
        return {
            "rows": rows[:limit],
            "hidden": max(len(rows) - limit, 0),
            "sort": sort,
            "window": window,
            "descending": descending,
        }

    # -- HTTP ---------------------------------------------------------------------------

    async def respond(
        self, method: str, path: str, query: str, authorization: Sequence[bytes], base: str
    ) -> StatusResponse:
        """Answer one request; *path* is relative to the mount point *base* (``""`` or
        ``/`` for the page), *authorization* every ``Authorization`` header value."""
        if not self.settings.enabled:
            return _text(404, "Not Found\n")
        challenge = self._token.refusal(authorization) if self._token is not None else None
        if challenge is not None:
            return _text(401, "Unauthorized\n", ("WWW-Authenticate", challenge))
        if method not in ("GET", "HEAD"):
            return _text(405, "Method Not Allowed\n", ("Allow", "GET, HEAD"))
        params = {k: v[0] for k, v in parse_qs(query, max_num_fields=20).items()}
        path = path.rstrip("/") or "/"
        if path == "/":
            return await self._page(base, params)
        if path.startswith("/static/"):
            name = path[len("/static/") :]
            if name in self._assets:
                return _asset(self._assets[name], _ASSETS[name])
            return _text(404, "Not Found\n")
        if path == "/trace":
            trace_id = params.get("id", "")
            if not TRACE_ID.match(trace_id):
                return _text(400, "id must be a trace id of 32 lower-case hex digits\n")
            trace = self.traces.trace(trace_id)
            body = render_trace_page(trace, base=base, assets=self._version, trace_id=trace_id)
            return _html(200 if trace is not None else 404, body)
        if path.startswith("/api/"):
            return await self._api(path[len("/api/") :], params)
        return _text(404, "Not Found\n")

    async def _api(self, key: str, params: Mapping[str, str]) -> StatusResponse:
        if key == "trace":
            trace_id = params.get("id", "")
            if not TRACE_ID.match(trace_id):
                return _json(400, {"error": "id must be a trace id of 32 lower-case hex digits"})
            trace = self.traces.trace(trace_id)
            if trace is None:
                return _json(404, {"error": f"trace {trace_id} is not in the span buffer"})
            return _json(200, trace)
        if key not in _KEYS:
            return _json(404, {"error": f"no section {key!r}; sections: {', '.join(_KEYS)}"})
        return _json(200, await self.section(key, params))

    async def _page(self, base: str, params: Mapping[str, str]) -> StatusResponse:
        token = self._shared.set({})  # one snapshot of every instrument for the page
        try:
            data = {key: await self.section(key, params) for key in _KEYS}
        finally:
            self._shared.reset(token)
        body = render_page(
            data,
            base=base,
            refresh=self.settings.refresh_interval,
            assets=self._version,
            query=params,
            memo=self._memo,
        )
        return _html(200, body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await finish_lifespan(receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await reject_websocket(receive, send)
            return
        root = scope.get("root_path") or ""
        path = scope.get("path") or "/"
        if root and path.startswith(root):
            path = path[len(root) :]
        raw_query = scope.get("query_string") or b""
        response = await self.respond(
            scope.get("method", "GET"),
            path or "/",
            raw_query.decode("latin-1"),
            header_values(scope, b"authorization"),
            root,
        )
        head = scope.get("method") == "HEAD"
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in response.headers],
            }
        )
        await send({"type": "http.response.body", "body": b"" if head else response.body})

    def attach(self, server: Any) -> None:
        """Serve the page on *server* (the ``MetricsServer`` of ``start_http_server``)
        under :attr:`path`, with the same rules as the ASGI app. The handlers run on the
        server's own thread and loop, so a health refresh runs the checks there; set
        ``status_page.health_max_age=0`` when checks must run on the application's loop
        (the page then shows the runs of the probes)."""
        base = self.path

        async def handle(request: Any) -> StatusResponse:
            relative = request.path[len(base) :] or "/"
            value = request.headers.get("authorization")
            authorization = [] if value is None else [header_bytes(value)]
            return await self.respond(request.method, relative, request.query, authorization, base)

        paths = [base, f"{base}/", f"{base}/trace"]
        paths += [f"{base}/static/{name}" for name in _ASSETS]
        paths += [f"{base}/api/{key}" for key in (*_KEYS, "trace")]
        for route in paths:
            server.add_route(route, handle)


_KEYS = tuple(key for key, _ in SECTIONS)


class _Collected:
    """An instrument whose snapshots are taken once, at the first ``collect()``; a
    ``collect_first`` before it reads only the first series (the metrics section)."""

    __slots__ = ("_snapshots", "description", "instrument", "kind", "name")

    def __init__(self, instrument: Any) -> None:
        self.instrument = instrument
        self.kind = getattr(instrument, "kind", None)
        self.name = getattr(instrument, "name", "")
        self.description = getattr(instrument, "description", "")
        self._snapshots: tuple[Any, ...] | None = None

    def collect(self) -> tuple[Any, ...]:
        if self._snapshots is None:
            self._snapshots = tuple(self.instrument.collect())
        return self._snapshots

    def collect_first(self, limit: int) -> tuple[tuple[Any, ...], int]:
        """The first *limit* snapshots and the series count: from the snapshots already
        taken, else only those read (``collect_first`` of the instrument), else all."""
        if self._snapshots is None:
            first = getattr(self.instrument, "collect_first", None)
            if first is not None:
                shown, count = first(limit)
                return tuple(shown), int(count)
        snaps = self.collect()
        return snaps[:limit], len(snaps)


class _Snapshots(dict[Any, tuple[Any, ...]]):
    """The page's snapshots of its instruments, by instrument object, for
    ``SLOMonitor.status``: an instrument the page reads anyway is read once per render
    (a merged multi-process instrument is another object, so the monitor reads its own)."""

    def __init__(self, instruments: list[_Collected]) -> None:
        super().__init__()
        self._by_id = {id(c.instrument): c for c in instruments}

    def __missing__(self, instrument: Any) -> tuple[Any, ...]:
        collected = self._by_id.get(id(instrument))
        if collected is None or collected.instrument is not instrument:
            raise KeyError(instrument)
        snaps = self[instrument] = collected.collect()
        return snaps


def _accepts(checker: Any) -> Any:
    """Which check names the history keeps: those of *checker* when it can tell."""
    for source in (checker, getattr(checker, "checker", None)):
        has = getattr(source, "has", None)
        if callable(has):
            return has
    return None


def _check_names(checker: Any) -> list[str] | None:
    """The names of *checker*'s checks, None when it cannot tell."""
    for source in (checker, getattr(checker, "checker", None)):
        names = getattr(source, "check_names", None)
        if callable(names):
            names = names()
        if isinstance(names, list | tuple):
            return [str(name) for name in names]
    return None


def _emits_hooks(checker: Any) -> bool:
    from ...health import CachedHealthChecker, HealthChecker

    return isinstance(checker, HealthChecker | CachedHealthChecker)


def _headers(content_type: str, length: int, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("Content-Type", content_type), ("Content-Length", str(length)), *_COMMON, *extra]


def _text(status: int, text: str, *extra: tuple[str, str]) -> StatusResponse:
    body = text.encode()
    headers = _headers("text/plain; charset=utf-8", len(body), ("Cache-Control", "no-store"))
    return StatusResponse(status, [*headers, *extra], body)


def _html(status: int, text: str) -> StatusResponse:
    body = text.encode("utf-8")
    headers = _headers("text/html; charset=utf-8", len(body), ("Cache-Control", "no-store"))
    return StatusResponse(status, headers, body)


def _json(status: int, data: Any) -> StatusResponse:
    body = json.dumps(data, separators=(",", ":"), allow_nan=False).encode("utf-8")
    headers = _headers("application/json", len(body), ("Cache-Control", "no-store"))
    return StatusResponse(status, headers, body)


def _asset(body: bytes, content_type: str) -> StatusResponse:
    cache = ("Cache-Control", "private, max-age=86400")
    return StatusResponse(200, _headers(content_type, len(body), cache), body)
