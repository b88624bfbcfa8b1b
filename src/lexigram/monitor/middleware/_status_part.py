"""The status page part of ``instrument()``: a :class:`~.status.StatusPage` built from
:class:`~.options.StatusPageOptions` and the other parts of the stack, mounted the way
:func:`~.status.mount_status_page` mounts it.

Loaded only when ``instrument(app, status_page=...)`` asks for a page, so an app without
one imports nothing of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import MonitorConfig, StatusPageConfig
from ..protocols import ASGIApp, MetricsCollectorProtocol, Receive, Scope, Send
from .options import HealthOptions, MetricsOptions, StatusPageOptions, TracingOptions
from .status import StatusPage, mount_status_page

__all__ = ["status_page_layer"]


def status_page_layer(
    value: Any,
    *,
    metrics: MetricsOptions | None,
    tracing: TracingOptions | None,
    health: HealthOptions | None,
    health_path: str,
    collector: MetricsCollectorProtocol | None,
    tracer: Any,
) -> Callable[[ASGIApp], ASGIApp]:
    """A layer mounting the page *value* asks for (``True``, :class:`StatusPageOptions`
    or a ready :class:`StatusPage`) in front of the app it is given.

    The page's sources default to the other parts': the metrics part's collector, the
    tracing part's tracer, the health part's checker, then *collector*/*tracer*. Raises
    ``TypeError`` for anything else than those three, ``ValueError`` for a bad path or
    one that would hide ``/metrics`` or the health probes (the page answers first).
    """
    if isinstance(value, StatusPage):
        page = value
    elif value is True or isinstance(value, StatusPageOptions):
        options = StatusPageOptions() if value is True else value
        page = _build(options, metrics, tracing, health, collector, tracer)
    else:
        raise TypeError(
            f"instrument(status_page={value!r}): pass True, False, StatusPageOptions(...) "
            "or a StatusPage, e.g. status_page=StatusPageOptions(auth_token=token)"
        )
    path = page.path
    mount_status_page(_unattached, page, path)  # the mount's own path rule, checked now
    if metrics is not None and metrics.serve_metrics:
        _apart(path, metrics.path, "the metrics path")
    if health is not None:
        _apart(path, health_path, "the health probes' path")

    def layer(app: ASGIApp) -> ASGIApp:
        return mount_status_page(app, page, path)

    return layer


def _build(
    options: StatusPageOptions,
    metrics: MetricsOptions | None,
    tracing: TracingOptions | None,
    health: HealthOptions | None,
    collector: MetricsCollectorProtocol | None,
    tracer: Any,
) -> StatusPage:
    config = _config(options)
    settings = config.status_page
    token = options.auth_token
    if token is None and not (settings.auth_token or config.prometheus.auth_token):
        token = metrics.auth_token if metrics is not None else None  # /metrics' token
    return StatusPage(
        collector=_first(options.collector, metrics and metrics.collector, collector),
        tracer=_first(options.tracer, tracing and tracing.tracer, tracer),
        checker=_first(options.checker, health and health.checker),
        slo_monitor=options.slo_monitor,
        config=config,
        auth_token=token,
        service_name=options.service_name,
        service_version=options.service_version,
    )


def _config(options: StatusPageOptions) -> MonitorConfig:
    """The page's ``MonitorConfig``, with ``options.path`` as its ``status_page.path``."""
    given = options.config
    if given is None:
        config = MonitorConfig()
    elif isinstance(given, StatusPageConfig):
        config = MonitorConfig(status_page=given)
    elif isinstance(given, MonitorConfig):
        config = given
    else:
        raise TypeError(
            f"StatusPageOptions(config={given!r}): pass a MonitorConfig or a "
            "StatusPageConfig, e.g. config=StatusPageConfig(refresh_interval=10)"
        )
    if options.path is None:
        return config
    # validated by StatusPageConfig's own path rule (pydantic's ValidationError is a
    # ValueError naming the field)
    settings = StatusPageConfig.model_validate(
        {**config.status_page.model_dump(), "path": options.path}
    )
    return config.model_copy(update={"status_page": settings})


def _first(*values: Any) -> Any:
    """The first of *values* that is not None (or None)."""
    for value in values:
        if value is not None:
            return value
    return None


def _apart(page_path: str, other: str, what: str) -> None:
    other = other.rstrip("/") or "/"
    if page_path == other or other.startswith(page_path + "/") or page_path.startswith(other + "/"):
        raise ValueError(
            f"instrument(status_page=...): the page's path {page_path!r} overlaps {what} "
            f"{other!r}, so one would hide the other; mount the page elsewhere, e.g. "
            "StatusPageOptions(path='/-/monitor')"
        )


async def _unattached(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands in for the app while the page's path is checked (never called)."""
    raise RuntimeError("the status page layer was called before it was attached")
