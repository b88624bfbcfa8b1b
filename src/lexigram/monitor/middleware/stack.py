"""``instrument(app)``: probes, tracing and request metrics in one call, in the right order.

Outermost first: health probes (:class:`~.health.HealthCheckProvider`), then tracing
(:class:`~.otel.OTelMiddleware`), then request metrics and ``/metrics``
(:class:`~.prometheus.PrometheusMiddleware`), then the app. That order is the one that
works: probes are neither counted nor traced, and each request is recorded while its
span is current, so the duration buckets carry exemplars pointing at the trace.

Each part is a *layer*: ``True`` (defaults), ``False`` (left out) or its options object
(:class:`MetricsOptions`, :class:`TracingOptions`, :class:`HealthOptions`). A new part
(such as a status page under ``/-/monitor``) is one more options class, one more
keyword parameter of :func:`instrument` and one more entry in its list of layers (kept
innermost first; a page belongs inside the probes and outside tracing, with its path
added to the paths tracing leaves alone).

Two ways of wrapping, one result:

- a Starlette or FastAPI application (it has ``add_middleware``) gets the layers added
  to its own middleware stack, outermost last, and is returned itself — routes can
  still be added to it, ``TestClient(app)`` and ``app.openapi()`` keep working, and
  calling ``instrument(app)`` without using the return value is enough;
- any other ASGI callable (a plain app, a ``Router``, another framework) is wrapped and
  the outermost layer is returned: serve that.

Either way each request passes through exactly the three middlewares, as if composed by
hand; nothing is added per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from ..protocols import ASGIApp, MetricsCollectorProtocol, Receive, Scope, Send
from .prometheus import DEFAULT_MAX_ROUTES

if TYPE_CHECKING:
    from ..backends.opentelemetry import OpenTelemetryBackend
    from ..config import HealthCheckConfig, TracingConfig
    from ..health import CachedHealthChecker, HealthChecker
    from ..tracing import Tracer

__all__ = ["HealthOptions", "MetricsOptions", "TracingOptions", "instrument"]


@dataclass(frozen=True, slots=True)
class MetricsOptions:
    """Request metrics and the scrape endpoint (:class:`PrometheusMiddleware`).

    ``path``: where the exposition is served (and never counted); ``auth_token``:
    bearer token required there; ``collector``: where requests are recorded (default:
    ``instrument``'s ``collector``, else the process default); ``max_routes``: distinct
    route labels before ``<overflow>``; ``buckets``: duration histogram bounds in
    seconds; ``serve_metrics=False`` leaves ``path`` to the app.
    """

    path: str = "/metrics"
    auth_token: str | None = None
    collector: MetricsCollectorProtocol | None = None
    max_routes: int = DEFAULT_MAX_ROUTES
    buckets: tuple[float, ...] | None = None
    serve_metrics: bool = True


@dataclass(frozen=True, slots=True)
class TracingOptions:
    """One SERVER span and one duration per request (:class:`OTelMiddleware`).

    ``tracer``/``collector``/``backend``/``config``/``max_routes`` as for
    ``OTelMiddleware`` (``tracer`` and ``collector`` default to ``instrument``'s).
    ``excluded_paths``: paths not traced (exact, or as a prefix followed by ``/``), on top
    of the metrics path and the health path in use (their defaults when that part is
    off), which are never traced.
    """

    tracer: Tracer | None = None
    collector: MetricsCollectorProtocol | None = None
    backend: OpenTelemetryBackend | None = None
    config: TracingConfig | None = None
    excluded_paths: tuple[str, ...] = ()
    max_routes: int = DEFAULT_MAX_ROUTES


@dataclass(frozen=True, slots=True)
class HealthOptions:
    """The health endpoints (:class:`HealthCheckProvider`): ``path`` and ``path/live``,
    ``/ready``, ``/startup``, answered from ``checker`` (a ``HealthChecker``, a
    ``CachedHealthChecker``) or ``registry``; ``config``, ``auth_token``,
    ``service_id`` and ``description`` as for ``HealthCheckProvider``. ``path`` None
    means ``config.path`` (``/health`` by default)."""

    path: str | None = None
    checker: Any = None
    registry: Any = None
    config: HealthCheckConfig | None = None
    auth_token: str | None = None
    service_id: str | None = None
    description: str | None = None


class MiddlewareHost(Protocol):
    """What ``instrument`` needs of a Starlette-style application."""

    user_middleware: list[Any]

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None: ...


Host = TypeVar("Host", bound=MiddlewareHost)

_Layer = Callable[[ASGIApp], Any]  # wraps the next app, returns the middleware
_METRICS_DEFAULT = MetricsOptions()
_HEALTH_DEFAULT_PATH = "/health"


@overload
def instrument(
    app: Host,
    *,
    metrics: bool | MetricsOptions = True,
    tracing: bool | TracingOptions = True,
    health: bool | HealthOptions | HealthChecker | CachedHealthChecker = True,
    collector: MetricsCollectorProtocol | None = None,
    tracer: Tracer | None = None,
) -> Host: ...


@overload
def instrument(
    app: ASGIApp,
    *,
    metrics: bool | MetricsOptions = True,
    tracing: bool | TracingOptions = True,
    health: bool | HealthOptions | HealthChecker | CachedHealthChecker = True,
    collector: MetricsCollectorProtocol | None = None,
    tracer: Tracer | None = None,
) -> ASGIApp: ...


def instrument(
    app: Any,
    *,
    metrics: bool | MetricsOptions = True,
    tracing: bool | TracingOptions = True,
    health: bool | HealthOptions | HealthChecker | CachedHealthChecker = True,
    collector: MetricsCollectorProtocol | None = None,
    tracer: Tracer | None = None,
) -> Any:
    """Instrument *app* with health probes, tracing and request metrics, in that order.

    *metrics*, *tracing*, *health*: ``True`` for the defaults, ``False`` to leave the
    part out, or its options (:class:`MetricsOptions`, :class:`TracingOptions`,
    :class:`HealthOptions`); *health* also takes a checker directly
    (``health=HealthChecker()`` or a ``CachedHealthChecker``). *collector* and *tracer*
    are used by every part whose options name none (default: the process defaults).

    Returns *app* itself for Starlette/FastAPI applications (the middlewares join its
    stack) and the outermost middleware for any other ASGI app. Bad options raise
    ``TypeError``/``ValueError`` here, before anything is served; a Starlette app that
    already served a request, or one instrumented twice, raises ``RuntimeError``.
    """
    if not callable(app):
        raise TypeError(f"instrument() needs an ASGI app, got {app!r}")
    metrics_options = _options("metrics", metrics, MetricsOptions)
    tracing_options = _options("tracing", tracing, TracingOptions)
    health_options = _health_options(health)
    # built (and so validated) one part at a time, each part's own errors first
    probes = _health_layer(health_options) if health_options is not None else None
    requests = _metrics_layer(metrics_options, collector) if metrics_options is not None else None
    traces = None
    if tracing_options is not None:
        excluded = (
            (metrics_options or _METRICS_DEFAULT).path,
            _health_path(health_options),
            *tracing_options.excluded_paths,
        )
        traces = _tracing_layer(tracing_options, excluded, collector, tracer)
    # innermost first; a status page would join after `traces`, inside the probes
    layers = [layer for layer in (requests, traces, probes) if layer is not None]
    if _is_host(app):
        return _add_to_stack(app, layers)
    wrapped: Any = app
    for layer in layers:
        wrapped = layer(wrapped)
    return wrapped


def _options(name: str, value: Any, kind: type[Any]) -> Any:
    if value is True:
        return kind()
    if value is False or value is None:
        return None
    if isinstance(value, kind):
        return value
    raise TypeError(
        f"instrument({name}={value!r}): pass True, False or {kind.__name__}(...), "
        f"e.g. {name}={kind.__name__}()"
    )


def _health_options(value: Any) -> HealthOptions | None:
    if value is True:
        return HealthOptions()
    if value is False or value is None:
        return None
    if isinstance(value, HealthOptions):
        return value
    if callable(getattr(value, "run_all_with_summary", None)):
        return HealthOptions(checker=value)  # a checker given directly
    raise TypeError(
        f"instrument(health={value!r}): pass True, False, a checker (HealthChecker, "
        "CachedHealthChecker) or HealthOptions(...), e.g. health=HealthOptions(registry=r)"
    )


def _health_path(options: HealthOptions | None) -> str:
    if options is None:
        return _HEALTH_DEFAULT_PATH
    if options.path is not None:
        return options.path
    return options.config.path if options.config is not None else _HEALTH_DEFAULT_PATH


def _metrics_layer(options: MetricsOptions, collector: MetricsCollectorProtocol | None) -> _Layer:
    from .prometheus import PrometheusMiddleware

    middleware = PrometheusMiddleware(
        None,
        options.path,
        options.collector if options.collector is not None else collector,
        auth_token=options.auth_token,
        max_routes=options.max_routes,
        buckets=options.buckets,
        serve_metrics=options.serve_metrics,
    )
    return _attach(middleware)


def _tracing_layer(
    options: TracingOptions,
    excluded: Iterable[str],
    collector: MetricsCollectorProtocol | None,
    tracer: Tracer | None,
) -> _Layer:
    from .otel import OTelMiddleware

    middleware = OTelMiddleware(
        _unattached,
        tracer=options.tracer if options.tracer is not None else tracer,
        collector=options.collector if options.collector is not None else collector,
        config=options.config,
        backend=options.backend,
        excluded_paths=tuple(excluded),
        max_routes=options.max_routes,
    )
    return _attach(middleware)


def _health_layer(options: HealthOptions) -> _Layer:
    from .health import HealthCheckProvider

    middleware = HealthCheckProvider(
        path=options.path,
        checker=options.checker,
        registry=options.registry,
        config=options.config,
        auth_token=options.auth_token,
        service_id=options.service_id,
        description=options.description,
    )
    return _attach(middleware)


def _attach(middleware: Any) -> _Layer:
    """A layer handing *middleware* (built without its next app) the app it wraps."""

    def layer(app: ASGIApp) -> Any:
        middleware.set_next_app(app)
        return middleware

    return layer


async def _unattached(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands in for the next app until the layer is attached (never called)."""
    raise RuntimeError("an instrument() layer was called before it was attached")


def _is_host(app: Any) -> bool:
    return callable(getattr(app, "add_middleware", None)) and isinstance(
        getattr(app, "user_middleware", None), list
    )


def _stack_layer(app: ASGIApp, layer: _Layer) -> Any:
    """Starlette middleware factory: the layer's middleware wrapping *app* (Starlette
    calls it once, when it builds its middleware stack)."""
    return layer(app)


def _add_to_stack(app: Host, layers: list[_Layer]) -> Host:
    """Add *layers* (innermost first) to a Starlette app's stack, outermost last."""
    if any(getattr(m, "cls", None) is _stack_layer for m in app.user_middleware):
        raise RuntimeError(
            f"{type(app).__name__} is already instrumented; call instrument(app) once"
        )
    try:
        for layer in layers:  # add_middleware puts each new one outside the previous
            app.add_middleware(_stack_layer, layer=layer)
    except RuntimeError as exc:
        raise RuntimeError(
            f"cannot instrument {type(app).__name__}: {exc}; call instrument(app) before "
            "the app serves (at import, next to where the app is created)"
        ) from exc
    return app
