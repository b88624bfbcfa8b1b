"""DI providers: the full ``MonitorProvider`` and the no-op ``ObservabilityProvider``.

``MonitorProvider.register`` binds every monitoring singleton (collector, tracer, health
registries, alert dispatcher, backend, service, config) under its protocol and its
class; ``boot`` starts the backend, installs the process defaults (tracer, service)
and wires the database provider of the SQL sample store; ``shutdown`` stops all of it.
Telemetry never takes the application down: a backend that fails to start or stop is
logged and reported by :meth:`MonitorProvider.health_check`, never raised.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..config import MonitorConfig, mask_secrets
from ..noop import NoOpHealthCheckRegistry, NoOpMetricsCollector, NoOpTracer
from ..protocols import (
    AlertDispatcherProtocol,
    HealthCheckRegistryProtocol,
    MetricsBackendProtocol,
    MetricsCollectorProtocol,
    TracerProtocol,
)
from .contracts import BootContainerProtocol, ContainerRegistrarProtocol

if TYPE_CHECKING:
    from ..health import HealthCheckResult
    from ..metrics import Counter, Gauge, Histogram, MetricsCollector
    from ..tracing import Tracer

__all__ = [
    "DATABASE_PROVIDER_KEY",
    "METRICS_APP_KEY",
    "MonitorProvider",
    "ObservabilityModule",
    "ObservabilityProvider",
    "create_provider_from_config",
]

_log = logging.getLogger("lexigram.monitor.di")

#: Container key under which the application registers its database provider
#: (an object with ``execute``/``executemany``) for ``PrometheusConfig.store_in_db``.
DATABASE_PROVIDER_KEY = "database_provider"
#: Container key of the ``/metrics`` ASGI app (mount it in your web application).
METRICS_APP_KEY = "prometheus_metrics_app"


class ObservabilityProvider:
    """Provides observability: registers no-op stubs for every observability contract.

    Application code can always resolve ``MetricsCollectorProtocol``,
    ``TracerProtocol`` and ``HealthCheckRegistryProtocol``; :class:`MonitorProvider`
    runs at a higher priority and overrides these registrations. Keys already
    registered are left alone.
    """

    name = "observability"
    priority = 10

    async def register(self, container: ContainerRegistrarProtocol) -> None:
        """Register no-op observability stubs into the container."""
        stubs: tuple[tuple[Any, Any], ...] = (
            (MetricsCollectorProtocol, NoOpMetricsCollector()),
            (TracerProtocol, NoOpTracer()),
            (HealthCheckRegistryProtocol, NoOpHealthCheckRegistry()),
        )
        for key, stub in stubs:
            if not container.has(key):
                container.singleton(key, stub)

    async def boot(self, container: Any) -> None:
        """No boot-time work required for the observability module."""

    async def shutdown(self) -> None:
        """No resources to release for the observability module."""


#: The reference names the no-op provider's module ``ObservabilityModule``.
ObservabilityModule = ObservabilityProvider


class MonitorProvider:
    """Monitoring and observability provider for Lexigram Framework.

    *backend* is any ``MetricsBackendProtocol``; *exporter* an optional metrics
    exporter (``MonitorConfig.make_exporter()``); *config* a :class:`MonitorConfig`
    (defaults apply). Whatever the backend, ``"prometheus_metrics_app"``
    (:data:`METRICS_APP_KEY`) resolves to a ``/metrics`` ASGI app to mount: the
    exporter's ``metrics_app`` when it has one (the Prometheus backend's
    ``PrometheusMetricsExporter``), else the exposition of the provider's collector
    (the whole process registry for the default collector), behind
    ``config.prometheus.auth_token`` when set. ``config.enabled=False`` registers the
    no-op twins instead; ``config.name`` names the provider and its health component;
    ``config.debug`` turns the library's loggers to DEBUG at boot and logs the effective
    configuration (secrets masked).
    """

    priority = 100

    def __init__(
        self,
        backend: MetricsBackendProtocol,
        exporter: Any | None = None,
        config: MonitorConfig | None = None,
    ) -> None:
        from ..health import HealthCheckerRegistry, HealthCheckRegistry
        from ..metrics.collector import MetricsCollector, get_default_collector
        from ..service import ObservabilityService

        self.backend = backend
        self.exporter = exporter
        self.config: MonitorConfig = config if config is not None else MonitorConfig()
        cfg = self.config
        self.name = cfg.name
        self._enabled = cfg.enabled
        self.collector: MetricsCollector
        default = get_default_collector()
        if cfg.metrics == type(cfg.metrics)() or default.config == cfg.metrics:
            # the process collector already has this configuration (create_backend
            # installs one for a configured metrics section): share it
            self.collector = default
        else:
            self.collector = MetricsCollector(cfg.metrics)
        self.tracer: Tracer | NoOpTracer = self._make_tracer()
        self.health_registry = HealthCheckRegistry(cfg.health, collector=self.collector)
        self.checker_registry = HealthCheckerRegistry()
        self.service = ObservabilityService(tracer=self.tracer, meter=self.collector)
        self._booted = False
        self._backend_error: str | None = None
        self._shut_down = False

    def _make_tracer(self) -> Tracer | NoOpTracer:
        tracing = self.config.tracing
        if not (self.config.enabled and tracing.enabled):
            return NoOpTracer()
        from ..tracing.tracer import Tracer

        return Tracer(tracing.service_name, None, config=tracing)

    @classmethod
    def from_config(cls, config: MonitorConfig, **context: Any) -> MonitorProvider:
        """Create a MonitorProvider from config (see :func:`create_provider_from_config`)."""
        return create_provider_from_config(config, **context)

    async def register(self, container: ContainerRegistrarProtocol) -> None:
        """Register monitoring services with the container (protocols and classes)."""
        from ..alerts import LoggingAlertDispatcher
        from ..health import HealthCheckerRegistry, HealthCheckRegistry
        from ..service import ObservabilityService

        if not self._enabled:
            await ObservabilityProvider().register(container)
            container.singleton(MonitorConfig, self.config)
            return
        bindings: tuple[tuple[Any, Any], ...] = (
            (MonitorConfig, self.config),
            (MetricsCollectorProtocol, self.collector),
            (type(self.collector), self.collector),
            (TracerProtocol, self.tracer),
            (type(self.tracer), self.tracer),
            (HealthCheckRegistryProtocol, self.health_registry),
            (HealthCheckRegistry, self.health_registry),
            (HealthCheckerRegistry, self.checker_registry),
            (MetricsBackendProtocol, self.backend),
            (type(self.backend), self.backend),
            (ObservabilityService, self.service),
            (MonitorProvider, self),
        )
        for key, value in bindings:
            container.singleton(key, value)
        if not container.has(AlertDispatcherProtocol):
            container.singleton(AlertDispatcherProtocol, LoggingAlertDispatcher())
        if self.exporter is not None:
            container.singleton("metrics_exporter", self.exporter)
        container.singleton(METRICS_APP_KEY, factory=self._metrics_app)

    def _metrics_app(self) -> Any:
        """The ``/metrics`` ASGI app registered under :data:`METRICS_APP_KEY`."""
        exporter = self.exporter
        if exporter is not None and hasattr(type(exporter), "metrics_app"):
            return exporter.metrics_app
        from ..backends.exporters._app import metrics_asgi_app

        return metrics_asgi_app(self.collector, auth_token=self.config.prometheus.auth_token)

    async def boot(self, container: BootContainerProtocol) -> None:
        """Start the backend, wire the database provider, install the process defaults."""
        if not self._enabled or self._booted:
            return
        from ..instrumentation.decorators import set_default_service

        if self.config.debug:
            # debug mode: the library's own loggers speak at DEBUG, starting with the
            # effective configuration (secrets masked)
            logging.getLogger("lexigram.monitor").setLevel(logging.DEBUG)
            _log.debug("monitoring configuration %r: %s", self.name, mask_secrets(self.config))

        if self.config.prometheus.store_in_db:
            provider = await container.resolve_optional(DATABASE_PROVIDER_KEY)
            attach = getattr(self.backend, "attach_database", None)
            if provider is not None and callable(attach):
                attach(provider)
        from ..metrics.collector import get_default_collector, set_default_collector

        if self.collector is not get_default_collector():
            # a configured collector becomes the process one, so /metrics shows it
            set_default_collector(self.collector)
        try:
            await self.backend.initialize()
        except Exception as exc:  # telemetry never takes the application down
            self._backend_error = f"{type(exc).__name__}: backend failed to start"
            _log.error("monitoring backend %r failed to start", self.backend, exc_info=True)
        else:
            self._adopt_backend_tracer(container)
        if not isinstance(self.tracer, NoOpTracer):
            from ..tracing.tracer import set_default_tracer

            set_default_tracer(self.tracer)
        set_default_service(self.service)
        self._booted = True

    def _adopt_backend_tracer(self, container: BootContainerProtocol) -> None:
        """Use the tracer of a backend that exports spans itself (the OpenTelemetry
        backend has ``tracer`` and ``tracer_provider``), so spans reach its exporter."""
        if isinstance(self.tracer, NoOpTracer) or not hasattr(self.backend, "tracer_provider"):
            return
        tracer = getattr(self.backend, "tracer", None)
        if tracer is None or tracer is self.tracer:
            return
        self.tracer = tracer
        self.service = type(self.service)(tracer=tracer, meter=self.collector)
        container.bind(TracerProtocol, tracer)
        container.bind(type(tracer), tracer)
        from ..service import ObservabilityService

        container.bind(ObservabilityService, self.service)

    async def shutdown(self) -> None:
        """Shutdown the monitoring provider (idempotent; failures are logged, not raised)."""
        if self._shut_down:
            return
        self._shut_down = True
        try:
            await self.backend.shutdown()
        except Exception:
            _log.error("monitoring backend %r failed to stop", self.backend, exc_info=True)
        shutdown = getattr(self.tracer, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception:
                _log.error("tracer failed to shut down", exc_info=True)
        await self.checker_registry.cleanup()

    async def health_check(self, timeout: float = 5.0) -> HealthCheckResult:
        """Check monitoring provider health: HEALTHY once booted with a working backend."""
        from ..health import HealthCheckResult, HealthStatus

        if self._shut_down:
            status, message = HealthStatus.UNHEALTHY, "monitoring is shut down"
        elif self._backend_error is not None:
            status, message = HealthStatus.DEGRADED, self._backend_error
        elif not self._booted:
            status, message = HealthStatus.STARTING, "monitoring is not booted yet"
        else:
            status, message = HealthStatus.HEALTHY, "monitoring is running"
        return HealthCheckResult(
            component=self.name,
            status=status,
            message=message,
            details={"backend": type(self.backend).__name__},
        )

    def record_request(self, method: str, path: str, duration: float, status_code: int) -> None:
        """Record an HTTP request (``requests_total`` and ``request_duration_seconds``).

        *path* should be a route template; raw paths are bounded by the series cap
        (overflow series past ``max_series_per_metric``).
        """
        from ..metrics.native import native_options

        labels = {"method": method.upper(), "path": path, "status_code": str(status_code)}
        self.collector.create_counter("requests_total", "HTTP requests").increment(1, labels=labels)
        self.collector.create_histogram(
            "request_duration_seconds",
            "HTTP request duration in seconds",
            **native_options(self.collector),
        ).observe(duration, labels={"method": labels["method"], "path": path})

    def record_connection_change(self, delta: int) -> None:
        """Record connection count change (gauge ``active_connections``)."""
        self.collector.create_gauge("active_connections", "Open connections").increment(delta)

    def create_counter(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> Counter:
        """Create a counter metric."""
        return self.collector.create_counter(name, description, labels)

    def create_gauge(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> Gauge:
        """Create a gauge metric."""
        return self.collector.create_gauge(name, description, labels)

    def create_histogram(
        self,
        name: str,
        description: str = "",
        labels: dict[str, str] | None = None,
        buckets: list[float] | None = None,
        **native: Any,
    ) -> Histogram:
        """Create a histogram metric; *native* are ``MetricsCollector.create_histogram``'s
        native-bucket options (``native``, ``schema``, ``max_buckets``,
        ``zero_threshold``, ``classic``)."""
        return self.collector.create_histogram(name, description, labels, buckets, **native)


def create_provider_from_config(config: MonitorConfig, **context: Any) -> MonitorProvider:
    """Build the backend that ``config.backend_type`` names, its exporter and the provider.

    ``context`` may carry ``backend=`` (used as is) or ``exporter=``.
    """
    from ..backends import create_backend

    backend = context.get("backend") or create_backend(config)
    exporter = context.get("exporter", config.make_exporter())
    return MonitorProvider(backend, exporter=exporter, config=config)
