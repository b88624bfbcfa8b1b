"""``instrument(app)``: probes, tracing, request metrics and a status page in one call.

Outermost first: health probes (:class:`~.health.HealthCheckProvider`), then the live
status page when asked for (:class:`~.status.StatusPage`, mounted as
:func:`~.status.mount_status_page` does), then tracing (:class:`~.otel.OTelMiddleware`),
then request metrics and ``/metrics`` (:class:`~.prometheus.PrometheusMiddleware`), then
the app. That order is the one that works: probes and the page's own requests are
neither counted nor traced, and each request is recorded while its span is current, so
the duration buckets carry exemplars pointing at the trace.

Each part is a *layer*: ``True`` (defaults), ``False`` (left out) or its options object
(:class:`~.options.MetricsOptions`, :class:`~.options.TracingOptions`,
:class:`~.options.HealthOptions`, :class:`~.options.StatusPageOptions`). The status page
is the one part off by default.

Two ways of wrapping, one result:

- a Starlette or FastAPI application (it has ``add_middleware``) gets the layers added
  to its own middleware stack, outermost last, and is returned itself — routes can
  still be added to it, ``TestClient(app)`` and ``app.openapi()`` keep working, and
  calling ``instrument(app)`` without using the return value is enough;
- any other ASGI callable (a plain app, a ``Router``, another framework) is wrapped and
  the outermost layer is returned: serve that.

Either way each request passes through exactly the middlewares asked for, as if composed
by hand; nothing is added per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from ..protocols import ASGIApp, MetricsCollectorProtocol, Receive, Scope, Send
from .options import HealthOptions, MetricsOptions, StatusPageOptions, TracingOptions

if TYPE_CHECKING:
    from ..health import CachedHealthChecker, HealthChecker
    from ..tracing import Tracer
    from .status import StatusPage

__all__ = [
    "HealthOptions",
    "MetricsOptions",
    "StatusPageOptions",
    "TracingOptions",
    "instrument",
]


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
    status_page: bool | StatusPageOptions | StatusPage = False,
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
    status_page: bool | StatusPageOptions | StatusPage = False,
    collector: MetricsCollectorProtocol | None = None,
    tracer: Tracer | None = None,
) -> ASGIApp: ...


def instrument(
    app: Any,
    *,
    metrics: bool | MetricsOptions = True,
    tracing: bool | TracingOptions = True,
    health: bool | HealthOptions | HealthChecker | CachedHealthChecker = True,
    status_page: bool | StatusPageOptions | StatusPage = False,
    collector: MetricsCollectorProtocol | None = None,
    tracer: Tracer | None = None,
) -> Any:
    """Instrument *app* with health probes, tracing and request metrics, in that order,
    and optionally the live status page.

    *metrics*, *tracing*, *health*: ``True`` for the defaults, ``False`` to leave the
    part out, or its options (:class:`MetricsOptions`, :class:`TracingOptions`,
    :class:`HealthOptions`); *health* also takes a checker directly
    (``health=HealthChecker()`` or a ``CachedHealthChecker``). *status_page*: off by
    default; ``True`` mounts a :class:`~.status.StatusPage` at ``/-/monitor`` showing
    this stack's collector, tracer and health checker, :class:`StatusPageOptions`
    configures it, and a ready ``StatusPage`` is mounted as it is. The page sits inside
    the probes and outside tracing and metrics (its requests are neither traced nor
    counted) and answers by its own rules, token first (see ``docs/status-page.md``).
    *collector* and *tracer* are used by every part whose options name none (default:
    the process defaults).

    Returns *app* itself for Starlette/FastAPI applications (the middlewares join its
    stack) and the outermost middleware for any other ASGI app. Bad options raise
    ``TypeError``/``ValueError`` here, before anything is served (a status page path
    that would hide ``/metrics`` or the probes included); a Starlette app that already
    served a request, or one instrumented twice, raises ``RuntimeError``.
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
    page = None
    if status_page is not False and status_page is not None:
        from ._status_part import status_page_layer

        page = status_page_layer(
            status_page,
            metrics=metrics_options,
            tracing=tracing_options,
            health=health_options,
            health_path=_health_path(health_options),
            collector=collector,
            tracer=tracer,
        )
    # innermost first
    layers = [layer for layer in (requests, traces, page, probes) if layer is not None]
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
