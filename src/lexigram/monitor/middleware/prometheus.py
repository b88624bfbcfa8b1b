"""PrometheusMiddleware: per-request HTTP metrics and the ``/metrics`` scrape endpoint.

Plain ASGI (no ``BaseHTTPMiddleware``). Per HTTP request it records, in one
:class:`~lexigram.monitor.metrics.MetricsCollector` (the process default unless given):

- ``http_requests_total{method, route, status}`` — counter
- ``http_request_duration_seconds{method, route}`` — histogram, seconds (a native
  histogram when the collector's ``MetricsConfig.native_histograms`` is on, see
  ``metrics.native``; classic buckets kept alongside unless
  ``native_histogram_classic`` is off)
- ``http_requests_in_progress{method}`` — gauge

``route`` is the framework's route template (``/orders/{order_id}``) prefixed by the
``root_path`` the middleware received and by the templates of the mounts crossed below
it, as OpenTelemetry's ``http.route`` (``/api/tenants/{tenant}/orders/{order_id}``);
never the raw path:
``<unmatched>`` when no route matched (404s, apps without a router) and ``<overflow>``
once ``max_routes`` distinct templates were seen. ``method`` is one of the standard HTTP
methods or ``OTHER``. The metrics path itself is not counted; when ``serve_metrics`` is
on it answers ``GET``/``HEAD`` with the exposition of the collector's registry (content
negotiation between the text format and OpenMetrics, gzip), optionally behind a bearer
token.

The instruments are created (or found) in the collector once, at construction; a later
``MetricsCollector.clear()`` detaches them. Hot path: one ``perf_counter`` pair, a status
capturing ``send`` wrapper, the method's in-progress series raised and lowered inline,
and one dict lookup for the cached update of a (method, route, status) triple — a
:class:`~lexigram.monitor.metrics.bound.BoundPair` counting the request and observing
its duration in one call, so no label lookup per request — no logging and no I/O;
recording failures are logged (rate limited) and counted in
``lexigram_monitor_middleware_failures_total``, never raised. Memory: at most
``max_routes`` route labels and :data:`MAX_CACHED_LABEL_SETS` cached triples (past it,
handles are resolved per request; the instruments' own series caps still apply).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from time import perf_counter
from typing import Any

from .._ratelimit import RateLimitedLogger
from ..metrics import Counter, Gauge, Histogram
from ..metrics.bound import BoundGauge, BoundPair
from ..metrics.native import native_options
from ..protocols import (
    ASGIApp,
    CounterProtocol,
    GaugeProtocol,
    HistogramProtocol,
    Message,
    MetricProtocol,
    MetricsCollectorProtocol,
    Receive,
    Scope,
    Send,
)
from ._asgi import (
    RouteTemplates,
    finish_lifespan,
    reject_websocket,
    route_path,
    send_response,
)
from ._order import PROMETHEUS_FLAG

__all__ = [
    "DEFAULT_MAX_ROUTES",
    "MAX_CACHED_LABEL_SETS",
    "OVERFLOW_ROUTE",
    "UNMATCHED_ROUTE",
    "PrometheusMiddleware",
]

DEFAULT_MAX_ROUTES = 500
"""Distinct ``route`` label values kept before new ones become :data:`OVERFLOW_ROUTE`."""
MAX_CACHED_LABEL_SETS = 10_000
"""Cached (method, route, status) label sets per middleware."""
UNMATCHED_ROUTE = "<unmatched>"
OVERFLOW_ROUTE = "<overflow>"
OTHER_METHOD = "OTHER"

REQUESTS_TOTAL = "http_requests_total"
REQUEST_DURATION = "http_request_duration_seconds"
REQUESTS_IN_PROGRESS = "http_requests_in_progress"

MIDDLEWARE_FAILURES = (
    "lexigram_monitor_middleware_failures_total",
    "Requests PrometheusMiddleware could not record (the request itself was served).",
)

_STANDARD_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)
_SCOPE_FLAG = PROMETHEUS_FLAG
_TEXT = (b"content-type", b"text/plain; charset=utf-8")

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.middleware.prometheus"))


class _Handles:
    """The updates of one (method, route, status) triple on instruments that are not
    ours: bound handles of the typed protocols, or ``record(value, labels)``."""

    __slots__ = ("count", "observe")

    def __init__(self, count: Callable[[], Any], observe: Callable[[float], Any]) -> None:
        self.count = count
        self.observe = observe

    def record(self, seconds: float) -> None:
        self.count()
        self.observe(seconds)


_Series = BoundPair | _Handles


def _request_series(
    requests: MetricProtocol, duration: MetricProtocol, method: str, route: str, status: int
) -> _Series:
    """The update of one (method, route, status) triple, resolved once and reused:
    ``record(seconds)`` counts the request and observes its duration."""
    labels = {"method": method, "route": route, "status": str(status)}
    duration_labels = {"method": method, "route": route}
    if isinstance(requests, Counter) and isinstance(duration, Histogram):
        return BoundPair(requests.bind(labels), duration.bind(duration_labels))
    if isinstance(requests, CounterProtocol) and isinstance(duration, HistogramProtocol):
        return _Handles(requests.bind(labels).increment, duration.bind(duration_labels).observe)
    # record-only instruments (MetricProtocol): counters add, histograms observe
    return _Handles(
        functools.partial(requests.record, 1, labels),
        functools.partial(duration.record, labels=duration_labels),
    )


class _InProgress:
    """``enter()``/``leave(token)`` over a gauge that is not ours (``increment`` and
    ``decrement`` of its bound handle), or over nothing for a record-only gauge."""

    __slots__ = ("_down", "_up")

    def __init__(self, up: Callable[[], Any], down: Callable[[], Any]) -> None:
        self._up = up
        self._down = down

    def enter(self) -> object:
        self._up()
        return self

    def leave(self, token: object) -> None:
        self._down()


class _Unbound:
    """Stands in for an in-progress series that cannot be bound (e.g. a gauge of that
    name with other labels): ``enter`` raises that error, so each request counts an
    ``in_progress`` failure, with a fresh traceback so raising it keeps nothing."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error

    def enter(self) -> object:
        raise self.error.with_traceback(None)

    def leave(self, token: object) -> None:
        """Never reached: :meth:`enter` raised."""


def _in_progress(
    gauge: MetricProtocol, labels: dict[str, str]
) -> BoundGauge | _InProgress | _Unbound:
    try:
        if isinstance(gauge, Gauge):
            return gauge.bind(labels)
        if isinstance(gauge, GaugeProtocol):
            handle = gauge.bind(labels)
            return _InProgress(handle.increment, handle.decrement)
    except Exception as exc:
        return _Unbound(exc)
    return _InProgress(_ignore, _ignore)  # a record-only gauge cannot go up and down


class _Method:
    """Per request method: its label value, its in-progress series and its cached
    (route, status, root_path) -> series table."""

    __slots__ = ("gauge", "label", "series")

    def __init__(self, label: str, in_progress: MetricProtocol) -> None:
        self.label = label
        self.series: dict[tuple[str | None, int, str], _Series] = {}
        self.gauge = _in_progress(in_progress, {"method": label})


class PrometheusMiddleware:
    """ASGI middleware that automatically collects HTTP request metrics.

    ``PrometheusMiddleware(app, path="/metrics")`` wraps *app*; without an app, hand one
    over later with :meth:`set_next_app`. ``metrics_collector`` defaults to the process
    default collector, so ``path`` shows every instrument of the process. ``auth_token``
    protects ``path`` with ``Authorization: Bearer <token>`` (401 otherwise).
    ``max_routes`` bounds the distinct ``route`` label values; ``buckets`` are the
    duration histogram's upper bounds in seconds (default: the collector's
    ``MetricsConfig.histogram_buckets``, Prometheus' defaults unless configured).
    ``serve_metrics=False`` leaves ``path`` to the wrapped app (it is still not counted).

    Non-HTTP scopes (lifespan, websocket) pass through untouched; a request already
    counted by another instance (scope flag) is not counted twice. An exception raised by
    the app is counted with status 500 and re-raised.
    """

    def __init__(
        self,
        app: ASGIApp | None = None,
        path: str = "/metrics",
        metrics_collector: MetricsCollectorProtocol | None = None,
        *,
        auth_token: str | None = None,
        max_routes: int = DEFAULT_MAX_ROUTES,
        buckets: Iterable[float] | None = None,
        serve_metrics: bool = True,
    ) -> None:
        if isinstance(app, str):
            raise TypeError(
                f"PrometheusMiddleware got {app!r} as app; the first argument is the ASGI "
                f"app to wrap; pass the metrics path as path={app!r}"
            )
        if app is not None and not callable(app):
            raise TypeError(f"app {app!r} is not an ASGI callable (scope, receive, send)")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"metrics path {path!r} must be a string starting with '/'")
        if isinstance(max_routes, bool) or not isinstance(max_routes, int) or max_routes < 1:
            raise ValueError(f"max_routes={max_routes!r} must be an integer >= 1")
        if auth_token is not None and (not isinstance(auth_token, str) or not auth_token):
            raise ValueError("auth_token must be a non-empty string, or None for no token")
        if metrics_collector is None:
            from ..metrics import get_default_collector

            metrics_collector = get_default_collector()
        self._app: ASGIApp | None = app
        self._path = path
        self._collector = metrics_collector
        self._token = auth_token
        self._max_routes = max_routes
        self._serve = serve_metrics
        bounds = None if buckets is None else list(buckets)
        requests = metrics_collector.create_counter(
            REQUESTS_TOTAL, "HTTP requests handled, by method, route template and status."
        )
        duration = metrics_collector.create_histogram(
            REQUEST_DURATION,
            "HTTP request duration in seconds, by method and route template.",
            buckets=bounds,
            **native_options(metrics_collector),
        )
        in_progress = metrics_collector.create_gauge(
            REQUESTS_IN_PROGRESS, "HTTP requests being handled, by method."
        )
        self._requests = requests
        self._duration = duration
        self._in_progress = in_progress
        # scope["method"] -> its label, series and in-progress gauge; standard methods
        # only (other methods share the "OTHER" entry, looked up per request)
        self._methods: dict[str, _Method] = {}
        self._cached_series = 0
        self._route_labels: dict[str, str] = {}
        self._templates = RouteTemplates()
        self._route_owner: Any = None
        self._call: ASGIApp = self.next_app
        if app is not None:
            self.set_next_app(app)
        _enable_exemplars()

    # -- composition ------------------------------------------------------------------

    @property
    def app(self) -> ASGIApp | None:
        """The wrapped ASGI app (None until one is set)."""
        return self._app

    @property
    def path(self) -> str:
        """The metrics path."""
        return self._path

    @property
    def metrics_collector(self) -> MetricsCollectorProtocol:
        """The collector the request metrics are recorded in."""
        return self._collector

    def set_next_app(self, app: ASGIApp) -> None:
        """Wrap *app* (for middleware stacks that build the chain after construction)."""
        if not callable(app):
            raise TypeError(f"app {app!r} is not an ASGI callable (scope, receive, send)")
        self._app = app
        self._call = app
        self._route_owner = app if getattr(app, "routes", None) is not None else None

    async def next_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Call the wrapped app; without one, answer per ASGI: HTTP 404, lifespan
        start-up/shut-down complete, websocket closed before accept."""
        app = self._app
        if app is not None:
            await app(scope, receive, send)
        elif scope["type"] == "http":
            await send_response(send, 404, b"Not Found", [_TEXT])
        elif scope["type"] == "lifespan":
            await finish_lifespan(receive, send)
        elif scope["type"] == "websocket":
            await reject_websocket(receive, send)

    # -- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _SCOPE_FLAG in scope:
            await self.next_app(scope, receive, send)
            return
        if self._path in scope["path"] and route_path(scope) == self._path:
            if self._serve:
                await self._serve_metrics(scope, receive, send)
            else:
                await self.next_app(scope, receive, send)
            return
        scope[_SCOPE_FLAG] = True
        by_method = self._methods.get(scope["method"])
        root: str = scope.get("root_path", "")
        # the routed app we wrap, else the Starlette app whose middleware stack we are in
        owner = self._route_owner or scope.get("app")
        if by_method is None:
            by_method = self._method(scope["method"])
        gauge = by_method.gauge
        try:
            token: object = gauge.enter()
        except Exception:
            token = None  # not raised, so it is not lowered either
            self._failed("in_progress")
        status = 500

        # A plain function returning send's awaitable: no extra coroutine per message.
        def send_and_record_status(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        start = perf_counter()
        try:
            await self._call(scope, receive, send_and_record_status)
        except BaseException:
            status = 500
            raise
        finally:
            elapsed = perf_counter() - start
            # Inline on purpose (hot path); failures are logged and counted, never raised.
            try:
                if token is not None:
                    gauge.leave(token)
                template = self._templates.template(scope, root, owner)
                key = (template, status, root)
                series = by_method.series.get(key)
                if series is None:
                    series = self._new_series(by_method, key)
                series.record(elapsed)
            except Exception:
                self._failed("record")

    def _method(self, method: str) -> _Method:
        """The :class:`_Method` of *method* (``OTHER`` for non-standard methods)."""
        label = method if method in _STANDARD_METHODS else OTHER_METHOD
        found = self._methods.get(label)
        if found is None:
            found = _Method(label, self._in_progress)
            self._methods[label] = found
        return found

    def _new_series(self, by_method: _Method, key: tuple[str | None, int, str]) -> _Series:
        template, status, root = key
        route_label = self._route_label(template, root)
        series = _request_series(
            self._requests, self._duration, by_method.label, route_label, status
        )
        if self._cached_series < MAX_CACHED_LABEL_SETS:
            by_method.series[key] = series
            self._cached_series += 1
        return series

    def _route_label(self, template: str | None, root: str) -> str:
        """The bounded label: *root* + *template*, ``<unmatched>`` or ``<overflow>``."""
        if template is None:
            return UNMATCHED_ROUTE
        if root:
            template = root.rstrip("/") + template
        label = self._route_labels.get(template)
        if label is None:
            if len(self._route_labels) >= self._max_routes:
                return OVERFLOW_ROUTE
            label = self._route_labels[template] = template
        return label

    @staticmethod
    def _failed(reason: str) -> None:
        _log.error(
            reason,
            "PrometheusMiddleware could not update its metrics (%s); the request was served",
            reason,
            exc_info=True,
        )
        _count_failure(reason)

    # -- the metrics path -------------------------------------------------------------

    async def _serve_metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the scrape through the shared exposition handler (405/401/500 there)."""
        from ..backends.exporters._app import handle_scrape

        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers") or ():
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        response = await handle_scrape(
            scope["method"], headers, collector=self._collector, auth_token=self._token
        )
        raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers
        ]
        await send(
            {"type": "http.response.start", "status": response.status, "headers": raw_headers}
        )
        await send({"type": "http.response.body", "body": response.body})


def _ignore(*args: Any) -> None:
    """Stands in for an update the given instrument does not support."""


def _count_failure(reason: str) -> None:
    from .._selfmetrics import count_failure

    count_failure(MIDDLEWARE_FAILURES, reason)


def _enable_exemplars() -> None:
    """Let counter and histogram exemplars carry the current span's ids (idempotent)."""
    from ..backends._wiring import enable_exemplars

    enable_exemplars()
