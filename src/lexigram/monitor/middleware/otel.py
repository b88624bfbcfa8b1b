"""OTelMiddleware: one SERVER span and one duration measurement per HTTP request.

Plain ASGI (no ``BaseHTTPMiddleware``). Per HTTP request it

- starts a SERVER span continuing an incoming W3C ``traceparent`` (its ``tracestate`` is
  kept), current while the app runs, named ``"{method} {route}"`` — ``route`` is the
  framework's route template including ``root_path`` and mount prefixes
  (``/api/items/{item_id}``); just ``"{method}"`` when no route matched;
- sets the OpenTelemetry HTTP semantic-convention attributes ``http.request.method``
  (``_OTHER`` plus ``http.request.method_original`` for non-standard methods),
  ``url.path``, ``url.scheme``, ``url.query`` (values of ``AWSAccessKeyId``,
  ``Signature``, ``sig`` and ``X-Goog-Signature`` replaced by ``REDACTED``),
  ``http.route`` (absent when unmatched), ``http.response.status_code``,
  ``server.address`` / ``server.port`` (from ``Host``, else the ASGI ``server``),
  ``client.address`` (first ``X-Forwarded-For`` entry, else the peer),
  ``user_agent.original`` and ``network.protocol.version``; headers are decoded as
  latin-1;
- sets status ERROR (and ``error.type``) for 5xx answers and exceptions; 4xx leaves it
  UNSET; an exception is recorded on the span, counted as status 500 when no response
  started, and re-raised;
- records ``http.server.request.duration`` (seconds) with the attributes
  ``http.request.method``, ``http.route`` and ``http.response.status_code``.

Where spans and the metric go: by default our tracer (:func:`get_default_tracer`) and the
default collector, where the histogram is ``http_server_request_duration`` with labels
``http_request_method``, ``http_route`` (``<unmatched>`` when no route matched,
``<overflow>`` past ``max_routes`` templates) and ``http_response_status_code`` (the
metrics core's rule: ``.`` becomes ``_``; a native histogram when that collector's
``MetricsConfig.native_histograms`` is on, see ``metrics.native``). With
``backend=OpenTelemetryBackend(...)`` spans come from the backend's tracer (exported
through the SDK) and the histogram is an SDK histogram (the native switch does not
apply to it) with the dotted names (``http.route`` absent when no route matched, the
status an int); the request span is also made current in the OpenTelemetry context, so
spans started through the SDK inside the request are its children. Explicit
``tracer``/``collector`` arguments win over both. The duration is recorded while the
request span is current, so when the exemplar source is installed (PrometheusMiddleware
and the memory and Prometheus backends install it; this middleware does not) its
buckets point at the request's trace.

Lifetime: at the ASGI lifespan shutdown (after the server answered its last request:
uvicorn, and gunicorn's ``UvicornWorker``, on SIGTERM) the spans every batch processor
still holds are exported before the shutdown completes (and, with ``backend=``, the
SDK's queue), within each processor's ``export_timeout``. uvicorn ends on the signal it
caught, without running ``atexit``, so this is where they are saved.

Decided once at construction: with tracing disabled (``config.enabled`` false, or the
tracer's own config disabled) every request passes through untouched. Non-HTTP scopes
(lifespan, websocket), ``excluded_paths`` (exact, or as a prefix followed by ``/``,
relative to ``root_path``) and requests already instrumented by another instance (scope
flag) pass through too. Memory: at most ``max_routes`` route labels and
:data:`MAX_CACHED_LABEL_SETS` cached label sets.

The first traced request tells whether ``PrometheusMiddleware`` wraps this middleware
(its request metrics would then lose their exemplars); that is logged once, naming the
fix (see :mod:`._order`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .._ratelimit import RateLimitedLogger
from .._selfmetrics import count_failure, failure_reason
from ..config import DEFAULT_BUCKETS, TracingConfig
from ..metrics.native import native_options
from ..protocols import (
    ASGIApp,
    HistogramProtocol,
    Message,
    MetricsCollectorProtocol,
    Receive,
    Scope,
    Send,
)
from ..tracing import SpanContext, SpanKind, SpanStatus, Tracer
from ..tracing.attributes import Attributes
from ..tracing.batch import flush_all
from ..tracing.span import CURRENT_SPAN as _CURRENT_SPAN
from ._asgi import RouteTemplates, route_path
from ._order import OTEL_FLAG, check_tracing_outside
from ._otel_request import read_request
from .prometheus import DEFAULT_MAX_ROUTES, MAX_CACHED_LABEL_SETS, OVERFLOW_ROUTE, UNMATCHED_ROUTE

if TYPE_CHECKING:
    from ..backends.opentelemetry import OpenTelemetryBackend

__all__ = ["DEFAULT_EXCLUDED_PATHS", "DURATION_METRIC", "MIDDLEWARE_FAILURES", "OTelMiddleware"]

DURATION_METRIC = "http.server.request.duration"
DEFAULT_EXCLUDED_PATHS: tuple[str, ...] = ("/metrics", "/health")
_SERVER = SpanKind.SERVER
_DESCRIPTION = "Duration of HTTP server requests, in seconds."
_SCOPE_FLAG = OTEL_FLAG
_KEYS = ("http.request.method", "http.route", "http.response.status_code")
_PROM_KEYS = tuple(k.replace(".", "_") for k in _KEYS)
#: (span name, duration update, response attributes) of one (method, route, status)
_Update = tuple[str, Callable[[float], Any], Attributes]

MIDDLEWARE_FAILURES = (
    "lexigram_monitor_otel_middleware_failures_total",
    "Requests OTelMiddleware could not record (the request itself was served).",
)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.middleware.otel"))


class OTelMiddleware:
    """Middleware for OpenTelemetry tracing and metrics (see the module docstring).

    ``OTelMiddleware(app)`` uses our default tracer and collector; ``tracer=``,
    ``collector=`` (a ``MetricsCollector``) or ``backend=`` (an
    :class:`~lexigram.monitor.backends.opentelemetry.OpenTelemetryBackend`) choose others.
    Only ``config.enabled`` is read here; sampling and limits belong to the tracer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer: Tracer | None = None,
        collector: MetricsCollectorProtocol | None = None,
        config: TracingConfig | None = None,
        backend: OpenTelemetryBackend | None = None,
        excluded_paths: Iterable[str] = DEFAULT_EXCLUDED_PATHS,
        max_routes: int = DEFAULT_MAX_ROUTES,
    ) -> None:
        if not callable(app):
            raise TypeError(f"app {app!r} is not an ASGI callable (scope, receive, send)")
        if isinstance(max_routes, bool) or not isinstance(max_routes, int) or max_routes < 1:
            raise ValueError(f"max_routes={max_routes!r} must be an integer >= 1")
        if isinstance(excluded_paths, str):
            raise TypeError(
                f"excluded_paths={excluded_paths!r} must be a collection of paths, "
                f"e.g. ({excluded_paths!r},)"
            )
        paths = tuple(excluded_paths)
        for path in paths:
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"excluded path {path!r} must be a string starting with '/'")
        self.app = app
        self._check_order = True  # until the first traced request
        # exact paths, and prefixes ending in "/" (so /health also covers /health/live)
        self._exact = frozenset(p.rstrip("/") or "/" for p in paths)
        self._prefixes = tuple(p.rstrip("/") + "/" for p in paths if p != "/")
        self._max_routes = max_routes
        self._routes: dict[str, str] = {}
        # (method, route, status) -> (span name, duration update, response attributes)
        self._updates: dict[tuple[str, str | None, int], _Update] = {}
        self._owner = app if getattr(app, "routes", None) is not None else None
        self._templates = RouteTemplates()
        self._otel_context: Any = None
        if tracer is None:
            tracer = backend.tracer if backend is not None else _default_tracer()
        self.tracer = tracer
        enabled = config.enabled if config is not None else _tracer_enabled(tracer)
        self.enabled = enabled
        self._observe: Callable[[float, Any], Any]
        self._labels: Callable[[str, str, int], Mapping[str, Any]]
        if collector is None and backend is not None:
            histogram = backend.meter.create_histogram(
                DURATION_METRIC,
                unit="s",
                description=_DESCRIPTION,
                explicit_bucket_boundaries_advisory=list(DEFAULT_BUCKETS),
            )
            self._observe = histogram.record
            self._histogram: Any = histogram
            self._labels = _sdk_labels
        else:
            if collector is None:
                collector = _default_collector()
            histogram = collector.create_histogram(
                DURATION_METRIC.replace(".", "_"), _DESCRIPTION, **native_options(collector)
            )
            self._histogram = histogram
            # instruments without bind(): their labelled observe, else record (MetricProtocol)
            observe = getattr(histogram, "observe", None)
            self._observe = observe if observe is not None else histogram.record
            self._labels = _prometheus_labels
        self._backend = backend
        if backend is not None:
            self._otel_context = _OTelContextBridge()
        self._start_span = tracer.start_span
        if not enabled:
            # Decided once: a disabled middleware is a plain hop to the app.
            self.__class__ = _PassThrough

    def set_next_app(self, app: ASGIApp) -> None:
        """Wrap *app* instead (for middleware stacks that build the chain after
        construction)."""
        if not callable(app):
            raise TypeError(f"app {app!r} is not an ASGI callable (scope, receive, send)")
        self.app = app
        self._owner = app if getattr(app, "routes", None) is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _SCOPE_FLAG in scope:
            if scope["type"] == "lifespan":
                send = _flush_at_shutdown(send, self._backend)
            await self.app(scope, receive, send)
            return
        entry_root: str = scope.get("root_path") or ""
        path = scope["path"]
        if entry_root:
            path = route_path(scope)
        if path in self._exact or path.startswith(self._prefixes):
            await self.app(scope, receive, send)
            return
        if self._check_order:
            self._check_order = False
            check_tracing_outside(scope)
        scope[_SCOPE_FLAG] = True
        method, name, parent, attributes = read_request(scope)
        span = self._start_span(name, parent, attributes, _SERVER)
        recording = span.is_recording()
        status = 0

        # A plain function returning send's awaitable: no extra coroutine per message.
        def send_with_status(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        bridge = self._otel_context
        bridged = bridge.enter(span.context) if bridge is not None else None
        token = _CURRENT_SPAN.set(span)
        start = perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        except BaseException as exc:
            if not status:
                status = 500
            if recording:
                _record_error(span, exc)
            raise
        finally:
            elapsed = perf_counter() - start
            # Inline on purpose (hot path): name the span, set the response attributes
            # and record the duration while the span is still current (exemplars).
            try:
                if not status:
                    status = 500
                template = self._templates.template(scope, entry_root, self._owner)
                route = template
                if template is not None and entry_root:
                    route = entry_root.rstrip("/") + template
                key = (method, route, status)
                cached = self._updates.get(key)
                if cached is None:
                    try:
                        cached = self._new_update(key, name)
                    except Exception:
                        if recording:  # the span still gets its response attributes
                            span_name = name if route is None else f"{name} {route}"
                            _finish_span(span, span_name, route, status)
                        raise
                if recording:
                    if status < 500:
                        span.name = cached[0]
                        span.set_attributes(cached[2])
                    else:
                        _finish_span(span, cached[0], route, status)
                cached[1](elapsed)
            except Exception as failure:
                _log.error("record", "OTelMiddleware failed to record a request", exc_info=True)
                count_failure(MIDDLEWARE_FAILURES, failure_reason(failure))
            try:
                _CURRENT_SPAN.reset(token)
            except ValueError:  # reset from another context: fall back to clearing
                _CURRENT_SPAN.set(None)
            if bridged is not None:
                bridge.exit(bridged)
            span.end()

    def _new_update(self, key: tuple[str, str | None, int], name: str) -> _Update:
        """The span name, response attributes and duration update of (method, route,
        status), cached while there is room."""
        method, route, status = key
        label = UNMATCHED_ROUTE if route is None else route
        if route is not None and route not in self._routes:
            if len(self._routes) >= self._max_routes:
                label = OVERFLOW_ROUTE
            else:
                self._routes[route] = route
        labels = self._labels(method, label, status)
        histogram = self._histogram
        update: Callable[[float], Any]
        if isinstance(histogram, HistogramProtocol):
            update = histogram.bind(labels).observe  # no label lookup per request
        else:
            update = functools.partial(_call_labelled, self._observe, labels)
        late: dict[str, Any] = {"http.response.status_code": status}
        if route is not None:
            late["http.route"] = route
        cached = (name if route is None else f"{name} {route}", update, Attributes.checked(late))
        if len(self._updates) < MAX_CACHED_LABEL_SETS:
            self._updates[key] = cached
        return cached


def _finish_span(span: Any, span_name: str, route: str | None, status: int) -> None:
    """Set the response attributes on *span* the general way (a 5xx answer: status
    ERROR and ``error.type``)."""
    if route is not None:
        span.name = span_name
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500 and span.status is not SpanStatus.ERROR:
        span.set_status(SpanStatus.ERROR)  # keeps an exception's message
        if "error.type" not in span.attributes:
            span.set_attribute("error.type", str(status))


def _record_error(span: Any, exc: BaseException) -> None:
    """Record *exc* on *span*; an ``Exception`` (not a cancellation) also sets ERROR."""
    span.record_exception(exc)
    kind = type(exc)
    module = kind.__module__
    span.set_attribute(
        "error.type", kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
    )
    if isinstance(exc, Exception):
        try:
            message = f"{kind.__name__}: {exc}"
        except Exception:
            message = kind.__name__
        span.set_status(SpanStatus.ERROR, message)


def _call_labelled(
    observe: Callable[[float, Mapping[str, Any]], Any], labels: Mapping[str, Any], value: float
) -> Any:
    return observe(value, labels)


def _prometheus_labels(method: str, route: str, status: int) -> Mapping[str, Any]:
    return dict(zip(_PROM_KEYS, (method, route, str(status)), strict=True))


def _sdk_labels(method: str, route: str, status: int) -> Mapping[str, Any]:
    labels: dict[str, Any] = {_KEYS[0]: method, _KEYS[2]: status}
    if route is not UNMATCHED_ROUTE:
        labels[_KEYS[1]] = route
    return labels


def _tracer_enabled(tracer: Any) -> bool:
    cfg = getattr(tracer, "config", None)
    return bool(getattr(cfg, "enabled", True))


def _default_tracer() -> Tracer:
    from ..tracing import get_default_tracer

    return get_default_tracer()


def _default_collector() -> MetricsCollectorProtocol:
    from ..metrics import get_default_collector

    return get_default_collector()


def _flush_at_shutdown(send: Send, backend: OpenTelemetryBackend | None) -> Send:
    """*send* for a lifespan scope: queued spans are exported before the shutdown ends."""

    async def lifespan_send(message: Message) -> None:
        if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            await _flush_spans(backend)
        await send(message)

    return lifespan_send


async def _flush_spans(backend: OpenTelemetryBackend | None) -> None:
    """Flush every batch processor (and *backend*) on a thread; the loop keeps running."""
    loop = asyncio.get_running_loop()
    finished = loop.create_future()

    def flush() -> None:
        try:
            flush_all()
            if backend is not None:
                backend.force_flush()
        except Exception as exc:
            _log.warning("lifespan-flush", "flushing spans at shutdown failed: %r", exc)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, finished)

    threading.Thread(target=flush, name="lexigram-monitor-span-flush", daemon=True).start()
    await finished


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _PassThrough(OTelMiddleware):
    """A disabled :class:`OTelMiddleware`: every scope goes straight to the app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class _OTelContextBridge:
    """Makes our request span current in the OpenTelemetry context (``otel`` extra)."""

    __slots__ = ("_attach", "_detach", "_flags", "_make", "_set", "_state", "_wrap")

    def __init__(self) -> None:
        from opentelemetry import context, trace

        self._attach = context.attach
        self._detach = context.detach
        self._make = trace.SpanContext
        self._flags = trace.TraceFlags
        self._state = trace.TraceState
        self._wrap = trace.NonRecordingSpan
        self._set = trace.set_span_in_context

    def enter(self, ctx: SpanContext) -> Any:
        state = ctx.trace_state
        otel_ctx = self._make(
            ctx.trace_id_int,
            ctx.span_id_int,
            False,
            self._flags(ctx.trace_flags),
            self._state(list(state.items())) if state else None,
        )
        return self._attach(self._set(self._wrap(otel_ctx)))

    def exit(self, token: Any) -> None:
        self._detach(token)
