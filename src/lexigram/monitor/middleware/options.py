"""The options of :func:`~lexigram.monitor.middleware.instrument`, one class per part.

Each part of ``instrument(app, ...)`` is ``True`` (these defaults), ``False`` (left out)
or one of these frozen objects; a field left ``None`` takes ``instrument``'s shared
``collector``/``tracer`` or the part's own default. Building an options object checks
nothing: ``instrument`` validates each part when it builds it, before anything is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocols import MetricsCollectorProtocol
from .prometheus import DEFAULT_MAX_ROUTES

if TYPE_CHECKING:
    from ..backends.opentelemetry import OpenTelemetryBackend
    from ..config import HealthCheckConfig, MonitorConfig, StatusPageConfig, TracingConfig
    from ..tracing import Tracer

__all__ = ["HealthOptions", "MetricsOptions", "StatusPageOptions", "TracingOptions"]


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


@dataclass(frozen=True, slots=True)
class StatusPageOptions:
    """The live status page (:class:`~.status.StatusPage`), mounted the way
    :func:`~.status.mount_status_page` mounts it: every request under ``path`` goes to the
    page, everything else (lifespan and websockets included) to the app.

    ``path``: where (None: ``config``'s ``status_page.path``, ``/-/monitor``).
    ``config``: a ``MonitorConfig`` (shown in the page's configuration section; its
    ``status_page`` section configures the page) or just a ``StatusPageConfig``.
    ``auth_token``: the bearer token the page and its JSON require; None follows the
    page's rule (``status_page.auth_token``, else ``prometheus.auth_token``), then the
    metrics part's ``auth_token``, so the page sits behind the same token as ``/metrics``;
    no token anywhere leaves the page open (serve it only where operators alone reach).
    ``checker``: whose checks the page shows (None: the health part's checker);
    ``slo_monitor``: an ``SLOMonitor`` for the SLO section. ``collector``/``tracer``
    default to the metrics and tracing parts' (else ``instrument``'s, else the process
    defaults). ``service_name``/``service_version``: shown in the overview.
    """

    path: str | None = None
    config: MonitorConfig | StatusPageConfig | None = None
    auth_token: str | None = None
    checker: Any = None
    slo_monitor: Any = None
    collector: MetricsCollectorProtocol | None = None
    tracer: Tracer | None = None
    service_name: str | None = None
    service_version: str | None = None
