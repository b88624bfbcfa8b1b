"""``@traced``, ``@metered`` and ``@monitor``: instrument a function in one line.

Each works on sync and async functions (decided once, at decoration). Without an
explicit ``service`` they use the module default :class:`ObservabilityService`
(:func:`get_default_service`: the process-default tracer and collector, or whatever
:func:`set_default_service` installed, e.g. ``MonitorProvider.boot``) — resolved on the
first call, so decorating at import time is fine.

Failure policy: a telemetry failure is logged (rate limited) and never changes the
function's result or exception.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .._ratelimit import RateLimitedLogger
from ..metrics.collector import get_default_collector
from ..metrics.naming import to_metric_name
from ..protocols import MetricProtocol
from ..service import ObservabilityService
from ..tracing.tracer import get_default_tracer
from ._wrap import wrap_callable

__all__ = ["get_default_service", "metered", "monitor", "set_default_service", "traced"]

F = TypeVar("F", bound=Callable[..., Any])

_log = logging.getLogger("lexigram.monitor.instrumentation")
_guard = RateLimitedLogger(_log)
_default: ObservabilityService | None = None
_default_lock = threading.Lock()


class _CurrentTracer:
    """Delegates to the process-default tracer of the moment (``set_default_tracer``)."""

    __slots__ = ()

    def start_span(
        self,
        name: str,
        *,
        context: Any | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Any:
        return get_default_tracer().start_span(name, context=context, attributes=attributes)

    def get_current_span(self) -> Any | None:
        return get_default_tracer().get_current_span()

    def inject_context(self, carrier: dict[str, str], context: Any | None = None) -> None:
        get_default_tracer().inject_context(carrier, context)

    def extract_context(self, carrier: Mapping[str, str]) -> Any | None:
        return get_default_tracer().extract_context(carrier)


class _CurrentCollector:
    """Delegates to the process-default collector of the moment (``set_default_collector``)."""

    __slots__ = ()

    def register_metric(self, metric: MetricProtocol) -> None:
        get_default_collector().register_metric(metric)

    def increment(self, name: str, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        get_default_collector().increment(name, value, tags)

    def gauge(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        get_default_collector().gauge(name, value, tags)

    def histogram(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        get_default_collector().histogram(name, value, tags)

    def create_counter(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> Any:
        return get_default_collector().create_counter(name, description, labels)

    def create_gauge(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> Any:
        return get_default_collector().create_gauge(name, description, labels)

    def create_histogram(
        self,
        name: str,
        description: str = "",
        labels: dict[str, str] | None = None,
        buckets: list[float] | None = None,
        **native: Any,
    ) -> Any:
        return get_default_collector().create_histogram(
            name, description, labels, buckets, **native
        )


def get_default_service() -> ObservabilityService:
    """The module default service, created lazily.

    Unless :func:`set_default_service` installed one, it follows the process defaults
    at each call (``get_default_tracer()`` / ``get_default_collector()``), so swapping
    them (``lexigram.monitor.testing``, ``MonitorProvider.boot``) takes effect at once.
    """
    global _default
    service = _default
    if service is None:
        with _default_lock:
            if _default is None:
                _default = ObservabilityService(tracer=_CurrentTracer(), meter=_CurrentCollector())
            service = _default
    return service


def set_default_service(service: ObservabilityService | None) -> ObservabilityService | None:
    """Install the module default service (None: back to lazy creation); returns the old one."""
    global _default
    with _default_lock:
        previous, _default = _default, service
    return previous


def _qualified(func: Callable[..., Any]) -> str:
    """``module.qualname`` without ``<locals>`` markers, usable as a default name."""
    qualname = func.__qualname__.replace("<locals>.", "").replace("<lambda>", "lambda")
    return f"{func.__module__}.{qualname}"


def _start_span(
    service: ObservabilityService,
    name: str,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    try:
        span = service.tracer.start_span(
            name,
            attributes={
                "code.function.name": func.__qualname__,
                "code.namespace": func.__module__,
                "code.args.count": len(args),
                "code.kwargs.names": sorted(kwargs),
            },
        )
        enter = getattr(span, "__enter__", None)
        if enter is not None:
            enter()
        return span
    except Exception:
        _guard.warning(f"traced:{name}", "could not start span %r", name, exc_info=True)
        return None


def _end_span(span: Any, error: BaseException | None) -> None:
    if span is None:
        return
    try:
        exit_ = getattr(span, "__exit__", None)
        if exit_ is not None:
            if error is None:
                exit_(None, None, None)
            else:
                exit_(type(error), error, error.__traceback__)
        else:
            if error is not None:
                span.record_exception(error)
            span.end()
    except Exception:
        _guard.warning("traced:end", "could not end span", exc_info=True)


class _Traced:
    __slots__ = ("func", "name", "service")

    def __init__(self, func: Callable[..., Any], name: str, service: ObservabilityService) -> None:
        self.func, self.name, self.service = func, name, service

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return _start_span(self.service, self.name, self.func, args, kwargs)

    def finish(self, token: Any, error: BaseException | None) -> None:
        _end_span(token, error)


def traced(
    span_name: str | None = None, *, service: ObservabilityService | None = None
) -> Callable[[F], F]:
    """Decorator that wraps a function in a tracing span.

    The span is named *span_name* or the function's qualified name and carries
    ``code.function.name``, ``code.namespace``, the positional argument count and the
    keyword argument names (never argument values, which may be personal data). An
    exception is recorded on the span (status ERROR) and re-raised.
    """

    def decorate(func: F) -> F:
        name = span_name or func.__qualname__
        return wrap_callable(func, lambda: _Traced(func, name, service or get_default_service()))

    return decorate


class _Metered:
    __slots__ = ("proxy",)

    def __init__(self, metric: str, service: ObservabilityService) -> None:
        self.proxy = service.histogram(metric)

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return time.perf_counter()

    def finish(self, token: Any, error: BaseException | None) -> None:
        try:
            self.proxy.record(time.perf_counter() - token)
        except Exception:
            _guard.warning(f"metered:{self.proxy.name}", "could not record duration", exc_info=True)


def metered(
    metric_name: str | None = None, *, service: ObservabilityService | None = None
) -> Callable[[F], F]:
    """Decorator that records function execution time (seconds) as a histogram metric.

    The metric is *metric_name* or ``{module}.{qualname}.duration``, turned into a
    valid metric name by the facade rule (``.`` and ``-`` become ``_``; e.g.
    ``app_orders_create_duration``). An invalid name raises ``InvalidMetricError`` at
    decoration. Failed calls are timed too.
    """

    def decorate(func: F) -> F:
        metric = to_metric_name(metric_name or f"{_qualified(func)}.duration")
        return wrap_callable(func, lambda: _Metered(metric, service or get_default_service()))

    return decorate


class _Monitored:
    __slots__ = ("func", "log_args", "name", "proxy", "service")

    def __init__(self, func: Callable[..., Any], name: str, log_args: bool) -> None:
        self.func, self.name, self.log_args = func, name, log_args
        self.service = get_default_service()
        self.proxy = self.service.histogram(to_metric_name(f"{name}.duration"))

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        extra: dict[str, Any] = {"operation": self.name}
        if self.log_args:
            extra["arg_count"] = len(args) + len(kwargs)
        _log.info("operation_start %s", self.name, extra=extra)
        span = _start_span(self.service, self.name, self.func, args, kwargs)
        return (time.perf_counter(), span, extra)

    def finish(self, token: Any, error: BaseException | None) -> None:
        started, span, extra = token
        elapsed = time.perf_counter() - started
        _end_span(span, error)
        try:
            self.proxy.record(elapsed)
        except Exception:
            _guard.warning(f"monitor:{self.name}", "could not record duration", exc_info=True)
        duration_ms = round(elapsed * 1000.0, 3)
        extra = {**extra, "duration_ms": duration_ms}
        if error is None:
            _log.info("operation_end %s in %.3f ms", self.name, duration_ms, extra=extra)
        else:
            extra["error_type"] = type(error).__name__
            _log.error(
                "operation_error %s after %.3f ms: %s",
                self.name,
                duration_ms,
                extra["error_type"],
                extra=extra,
            )


def monitor(name: str | None = None, *, log_args: bool = False) -> Callable[[F], F]:
    """Wrap a function with structured logging, a span and wall-clock timing.

    Emits ``operation_start``, ``operation_end`` and ``operation_error`` log records
    (logger ``lexigram.monitor.instrumentation``) whose message names the operation and,
    at the end, its duration (``operation_end payments.charge in 12.345 ms``), so plain
    ``logging`` shows them too; ``operation``, ``duration_ms`` and ``error_type`` are
    also in ``extra`` for structured output; records the duration (seconds) in the histogram
    ``{name}.duration`` (facade naming rule) and wraps the call in a span named *name*
    (default ``{module}.{qualname}``). With ``log_args=True`` only the number of
    arguments is logged, never their values.
    """

    def decorate(func: F) -> F:
        op = name or _qualified(func)
        to_metric_name(f"{op}.duration")  # refuse an unusable name at decoration
        return wrap_callable(func, lambda: _Monitored(func, op, log_args))

    return decorate
