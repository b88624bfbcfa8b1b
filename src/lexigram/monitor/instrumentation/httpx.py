"""Outgoing HTTP calls through httpx: a CLIENT span, trace headers and a duration each.

Two ways in, one behaviour:

- ``httpx.Client(transport=InstrumentedTransport())`` or
  ``httpx.AsyncClient(transport=InstrumentedTransport())`` — one transport class for both
  (it wraps ``httpx.HTTPTransport()`` / ``httpx.AsyncHTTPTransport()`` by default, or
  the transport given, e.g. one with retries or a ``MockTransport``);
- ``instrument_httpx()`` — every client of the process that uses httpx's own transports
  (``uninstrument_httpx()`` undoes it). Requests already handled by an
  ``InstrumentedTransport`` are not instrumented twice.

Per request:

- a CLIENT span named after the method (``GET``; ``HTTP`` for non-standard methods),
  child of the current span, with the OpenTelemetry HTTP client attributes
  ``http.request.method`` (``_OTHER`` plus ``http.request.method_original`` for
  non-standard methods), ``server.address``, ``server.port``, ``url.full`` (scheme,
  host, port and path only: never the query string, the fragment or credentials),
  ``http.response.status_code`` and ``network.protocol.version``; status ERROR and
  ``error.type`` for answers >= 400 (the status code) and for exceptions (the exception
  type, recorded on the span and re-raised);
- ``traceparent`` (and ``tracestate`` when the trace has one) written into the request
  headers, replacing any already there, so the server continues the trace (unsampled
  spans propagate too, with their flags);
- ``http.client.request.duration`` observed in seconds, until the response headers
  arrived, in the histogram ``http_client_request_duration`` (the metrics core's naming
  rule) with labels ``http_request_method``, ``server_address``, ``server_port``,
  ``http_response_status_class`` (``2xx`` ... ``5xx``, empty when no response came) and
  ``error_type`` (the exception type, else empty). It is observed while the CLIENT span
  is current, so when the exemplar source is installed (``instrument(app)``, the
  middlewares and every backend install it) its buckets point at the span.

The tracer and collector default to the process defaults, read per request, so a
default installed later (``MonitorProvider.boot``, ``capture_spans``) is followed.
Telemetry failures are logged (rate limited) and counted in
``lexigram_monitor_httpx_failures_total``; they never fail the request. Memory: at most
:data:`MAX_CACHED_LABEL_SETS` bound label sets per collector (past it, labels are
looked up per request; the histogram's own series cap applies) and
:data:`MAX_CACHED_ORIGINS` (method, scheme, host, port) attribute sets.

httpx is imported when this module is (the ``httpx`` extra); nothing imports this module
until one of its names is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from time import perf_counter
from typing import Any, TypeVar

from .._optional import require
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import count_failure, failure_reason
from ..metrics import MetricsCollector, get_default_collector
from ..tracing import SpanKind, SpanStatus, Tracer, get_default_tracer
from ..tracing.span import CURRENT_SPAN, Span

require("httpx", "httpx")
import httpx  # noqa: E402  (after the guard naming the extra)

__all__ = [
    "DURATION_METRIC",
    "MAX_CACHED_LABEL_SETS",
    "InstrumentedTransport",
    "httpx_instrumented",
    "instrument_httpx",
    "uninstrument_httpx",
]

DURATION_METRIC = "http.client.request.duration"
MAX_CACHED_LABEL_SETS = 4096
MAX_CACHED_ORIGINS = 1024
# attributes set after the response: status code, protocol version, error.type
_LATE_ATTRIBUTES = 3
HTTPX_FAILURES = (
    "lexigram_monitor_httpx_failures_total",
    "Outgoing httpx requests whose span or duration could not be recorded "
    "(the request itself was sent).",
)

_DESCRIPTION = "Duration of outgoing HTTP requests until the response headers, in seconds."
_LABELS = (
    "http_request_method",
    "server_address",
    "server_port",
    "http_response_status_class",
    "error_type",
)
_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY")
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.instrumentation.httpx"))

#: The request an InstrumentedTransport is handling in this context: the patched
#: transports of instrument_httpx() leave it alone.
_HANDLING: ContextVar[httpx.Request | None] = ContextVar("lexigram_httpx_request", default=None)

R = TypeVar("R")


class _Durations:
    """The duration histogram of one collector and its bound label sets."""

    __slots__ = ("collector", "histogram", "observers")

    def __init__(self, collector: MetricsCollector) -> None:
        self.collector = collector
        self.histogram = collector.create_histogram(DURATION_METRIC.replace(".", "_"), _DESCRIPTION)
        self.observers: dict[tuple[str, str, int, str, str], Callable[[float], Any]] = {}

    def observer(self, key: tuple[str, str, int, str, str]) -> Callable[[float], Any]:
        labels = dict(zip(_LABELS, (key[0], key[1], str(key[2]), key[3], key[4]), strict=True))
        observe: Callable[[float], Any] = self.histogram.bind(labels).observe
        if len(self.observers) < MAX_CACHED_LABEL_SETS:
            self.observers[key] = observe
        return observe


class _Origin:
    """What requests of one (method, scheme, host, port) share: the metric labels' parts,
    the span name, the request attributes and the start of ``url.full``."""

    __slots__ = ("attributes", "host", "method", "name", "port", "prefix")

    def __init__(self, raw_method: str, url: httpx.URL) -> None:
        scheme = url.scheme
        host = url.host
        method = raw_method if raw_method in _METHODS else "_OTHER"
        self.method = method
        self.name = "HTTP" if method == "_OTHER" else method
        self.host = host
        self.port = url.port or _DEFAULT_PORTS.get(scheme, 0)
        authority = f"[{host}]" if ":" in host else host  # an IPv6 literal
        if url.port is not None:
            authority = f"{authority}:{url.port}"
        self.prefix = f"{scheme}://{authority}"
        self.attributes: dict[str, Any] = {
            "http.request.method": method,
            "server.address": host,
            "server.port": self.port,
        }
        if method == "_OTHER":
            self.attributes["http.request.method_original"] = raw_method


class _ClientTelemetry:
    """What every instrumented request does: span, headers, duration (shared by the
    transport and the patched httpx transports)."""

    __slots__ = ("_collector", "_durations", "_lock", "_origins", "_tracer")

    def __init__(self, tracer: Tracer | None, collector: MetricsCollector | None) -> None:
        self._tracer = tracer
        self._collector = collector
        self._durations: _Durations | None = None
        self._lock = threading.Lock()
        self._origins: dict[tuple[str, str, str, int | None], _Origin] = {}

    def _origin(self, request: httpx.Request) -> _Origin:
        url = request.url
        key = (request.method, url.scheme, url.host, url.port)
        origin = self._origins.get(key)
        if origin is None:
            origin = _Origin(request.method, url)
            if len(self._origins) < MAX_CACHED_ORIGINS:
                self._origins[key] = origin
        return origin

    def start(self, request: httpx.Request) -> tuple[Span, _Origin, bool]:
        """Start the CLIENT span and write the trace headers; (span, origin, whether
        the late attributes fit the span's attribute limit)."""
        tracer = self._tracer if self._tracer is not None else get_default_tracer()
        origin = self._origin(request)
        span = tracer.start_span(origin.name, None, None, _CLIENT)
        room = False
        if span.is_recording():
            attributes = origin.attributes.copy()
            path = request.url.raw_path.partition(b"?")[0].decode("ascii", "replace")
            attributes["url.full"] = origin.prefix + path
            room = not span.attributes and len(attributes) + _LATE_ATTRIBUTES <= _limit(tracer)
            if room:
                span.attributes = attributes  # known-valid values, within the limit
            else:
                span.set_attributes(attributes)
        headers: dict[str, str] = {}
        tracer.inject_context(headers, span)
        if headers:
            target = request.headers
            for name, value in headers.items():
                target[name] = value
            if "tracestate" not in headers and "tracestate" in target:
                del target["tracestate"]  # a stale one would not match the new parent
        return span, origin, room

    def finish(
        self,
        span: Span,
        origin: _Origin,
        room: bool,
        elapsed: float,
        response: httpx.Response | None,
        error: BaseException | None,
    ) -> None:
        """Record the outcome on the span and the duration (span still current)."""
        status_class = ""
        error_type = ""
        if response is not None:
            status = response.status_code
            status_class = _CLASSES.get(status // 100, "")
            if span.is_recording():
                # within the limit: known-valid values stored as they are
                put = span.attributes.__setitem__ if room else span.set_attribute
                put("http.response.status_code", status)
                version = _protocol_version(response)
                if version:
                    put("network.protocol.version", version)
                if status >= 400:
                    put("error.type", str(status))
                    span.set_status(SpanStatus.ERROR)
        if error is not None:
            error_type = _type_name(error)
            if span.is_recording():
                span.record_exception(error)
                span.set_attribute("error.type", error_type)
                if isinstance(error, Exception):
                    span.set_status(SpanStatus.ERROR, f"{type(error).__name__}: {error}")
        durations = self._durations_now()
        key = (origin.method, origin.host, origin.port, status_class, error_type)
        observe = durations.observers.get(key)
        if observe is None:
            observe = durations.observer(key)
        observe(elapsed)

    def _durations_now(self) -> _Durations:
        collector = self._collector if self._collector is not None else get_default_collector()
        durations = self._durations
        if durations is None or durations.collector is not collector:
            with self._lock:
                durations = self._durations
                if durations is None or durations.collector is not collector:
                    durations = self._durations = _Durations(collector)
        return durations

    def send(self, request: httpx.Request, call: Callable[[httpx.Request], httpx.Response]) -> Any:
        """Handle *request* with *call* (sync) inside the CLIENT span."""
        try:
            span, origin, room = self.start(request)
        except Exception as exc:
            _failed("start", exc)
            return call(request)
        token = CURRENT_SPAN.set(span)
        handling = _HANDLING.set(request)
        response: httpx.Response | None = None
        error: BaseException | None = None
        started = perf_counter()
        try:
            response = call(request)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._end(span, origin, room, perf_counter() - started, response, error)
            _HANDLING.reset(handling)
            _reset(token)
        return response

    async def send_async(self, request: httpx.Request, call: Callable[[httpx.Request], Any]) -> Any:
        """Handle *request* with the coroutine function *call* inside the CLIENT span."""
        try:
            span, origin, room = self.start(request)
        except Exception as exc:
            _failed("start", exc)
            return await call(request)
        token = CURRENT_SPAN.set(span)
        handling = _HANDLING.set(request)
        response: httpx.Response | None = None
        error: BaseException | None = None
        started = perf_counter()
        try:
            response = await call(request)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._end(span, origin, room, perf_counter() - started, response, error)
            _HANDLING.reset(handling)
            _reset(token)
        return response

    def _end(
        self,
        span: Span,
        origin: _Origin,
        room: bool,
        elapsed: float,
        response: httpx.Response | None,
        error: BaseException | None,
    ) -> None:
        try:
            self.finish(span, origin, room, elapsed, response, error)
        except Exception as exc:
            _failed("record", exc)
        finally:
            span.end()


_CLIENT = SpanKind.CLIENT


def _reset(token: Any) -> None:
    try:
        CURRENT_SPAN.reset(token)
    except ValueError:  # reset from another context (a generator finalised elsewhere)
        CURRENT_SPAN.set(None)


def _failed(stage: str, exc: Exception) -> None:
    _log.error(
        stage,
        "httpx instrumentation could not %s a request's telemetry; the request was sent",
        stage,
        exc_info=exc,
    )
    count_failure(HTTPX_FAILURES, failure_reason(exc))


def _limit(tracer: Tracer) -> int:
    """The tracer's per-span attribute limit (0 when it has none to tell)."""
    limit = getattr(getattr(tracer, "config", None), "max_attributes", 0)
    return limit if isinstance(limit, int) else 0


def _protocol_version(response: httpx.Response) -> str:
    """``1.1`` / ``2`` / ``3`` from the response's ``http_version`` extension."""
    raw = response.extensions.get("http_version")
    if not isinstance(raw, bytes):
        return ""
    return raw.decode("ascii", "replace").removeprefix("HTTP/")


def _type_name(error: BaseException) -> str:
    kind = type(error)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


class InstrumentedTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (sync and async) that traces and times each request.

    *transport* is the transport that sends (default: ``httpx.HTTPTransport()`` for
    ``httpx.Client``, ``httpx.AsyncHTTPTransport()`` for ``httpx.AsyncClient``, each
    created on first use); *tracer* and *collector* default to the process defaults.
    Closing this transport closes the one it wraps. See the module docstring for what
    is recorded.
    """

    def __init__(
        self,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        *,
        tracer: Tracer | None = None,
        collector: MetricsCollector | None = None,
    ) -> None:
        if transport is not None and not isinstance(
            transport, httpx.BaseTransport | httpx.AsyncBaseTransport
        ):
            raise TypeError(
                f"transport {transport!r} is not an httpx transport; pass e.g. "
                "httpx.HTTPTransport(retries=2) or httpx.AsyncHTTPTransport()"
            )
        self._sync = transport if isinstance(transport, httpx.BaseTransport) else None
        self._async = transport if isinstance(transport, httpx.AsyncBaseTransport) else None
        self._given = transport
        self._telemetry = _ClientTelemetry(tracer, collector)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._sync
        if inner is None:
            inner = self._default_sync()
        response: httpx.Response = self._telemetry.send(request, inner.handle_request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._async
        if inner is None:
            inner = self._default_async()
        response: httpx.Response = await self._telemetry.send_async(
            request, inner.handle_async_request
        )
        return response

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()

    def _default_sync(self) -> httpx.BaseTransport:
        if self._given is not None:
            raise TypeError(
                f"{type(self._given).__name__} is an async transport; use this "
                "InstrumentedTransport with httpx.AsyncClient, or wrap a sync transport"
            )
        return _created(self, "_sync", httpx.HTTPTransport)

    def _default_async(self) -> httpx.AsyncBaseTransport:
        if self._given is not None:
            raise TypeError(
                f"{type(self._given).__name__} is a sync transport; use this "
                "InstrumentedTransport with httpx.Client, or wrap an async transport"
            )
        return _created(self, "_async", httpx.AsyncHTTPTransport)


def _created(owner: InstrumentedTransport, slot: str, make: Callable[[], R]) -> R:
    """The transport in *owner*.*slot*, created once (thread safe)."""
    with owner._lock:
        existing = getattr(owner, slot)
        if existing is None:
            existing = make()
            setattr(owner, slot, existing)
        return existing  # type: ignore[no-any-return]


# -- instrument_httpx() ---------------------------------------------------------------

_patch_lock = threading.Lock()
_originals: dict[str, Any] = {}
_active: list[_ClientTelemetry] = []  # the telemetry of the current patch, if any


def instrument_httpx(
    *, tracer: Tracer | None = None, collector: MetricsCollector | None = None
) -> None:
    """Instrument every httpx client that uses httpx's own transports (``Client()``,
    ``AsyncClient()`` with their defaults or ``HTTPTransport``/``AsyncHTTPTransport``).

    Idempotent: a second call only replaces *tracer* and *collector* (default: the
    process defaults, read per request). Clients with other transports (``MockTransport``,
    ``ASGITransport``, custom ones) are reached by wrapping them in
    :class:`InstrumentedTransport`.
    """
    telemetry = _ClientTelemetry(tracer, collector)
    with _patch_lock:
        _active[:] = [telemetry]
        if _originals:
            return
        sync_send = httpx.HTTPTransport.handle_request
        async_send = httpx.AsyncHTTPTransport.handle_async_request
        _originals["sync"] = sync_send
        _originals["async"] = async_send

        def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            if _HANDLING.get() is request or not _active:
                return sync_send(self, request)
            response: httpx.Response = _active[0].send(request, lambda r: sync_send(self, r))
            return response

        async def handle_async_request(
            self: httpx.AsyncHTTPTransport, request: httpx.Request
        ) -> httpx.Response:
            if _HANDLING.get() is request or not _active:
                return await async_send(self, request)
            response: httpx.Response = await _active[0].send_async(
                request, lambda r: async_send(self, r)
            )
            return response

        httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def uninstrument_httpx() -> None:
    """Undo :func:`instrument_httpx` (a no-op when it was not called)."""
    with _patch_lock:
        _active.clear()
        if not _originals:
            return
        httpx.HTTPTransport.handle_request = _originals.pop("sync")  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = _originals.pop("async")  # type: ignore[method-assign]


def httpx_instrumented() -> bool:
    """True while :func:`instrument_httpx` is in effect."""
    return bool(_originals)
