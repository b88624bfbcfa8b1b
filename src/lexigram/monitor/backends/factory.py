"""Backend selection: ``MonitorConfig.backend_type`` -> a backend and its metrics exporter.

Only the chosen backend's module is imported, so picking ``memory`` never loads
prometheus_client or OpenTelemetry. :func:`make_exporter` is what
``MonitorConfig.make_exporter()`` calls, found through the
``lexigram.monitor.exporter_factories`` entry points (the configuration sits below the
backends and does not import them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import BackendType, MonitorConfig

if TYPE_CHECKING:
    from ..metrics import MetricsCollector
    from ..tracing import Tracer

__all__ = ["create_backend", "make_exporter"]


def create_backend(
    config: MonitorConfig | None = None,
    *,
    collector: MetricsCollector | None = None,
    tracer: Tracer | None = None,
) -> Any:
    """The backend ``config.backend_type`` names (``MonitorConfig()`` when None).

    - ``memory``: ``MemoryBackend(collector=..., tracer=...)``;
    - ``prometheus``: ``PrometheusBackend(config.prometheus.port,
      config=config.prometheus, collector=..., tracer=...)``;
    - ``opentelemetry``: ``OpenTelemetryBackend(config.tracing.service_name,
      config=config)`` (its ``opentelemetry``, ``tracing`` and ``metrics`` sections;
      *collector* and *tracer* are not used, spans and metrics go through the SDK).

    ``config.metrics`` is honoured as ``MonitorProvider`` honours it: without a
    *collector*, a metrics section other than the defaults (a ``prefix``,
    ``default_labels``, buckets, caps) gets a ``MetricsCollector(config.metrics)``
    installed as the process collector — unless the process collector already has that
    configuration — so ``backend.record_metric``, ``/metrics`` and the middlewares built
    afterwards all use it (build the backend before the middlewares, or pass
    *collector*).

    With ``config.enabled`` false the result is a ``NoopMetricsBackend``. A backend
    whose extra is missing raises
    :class:`~lexigram.monitor.exceptions.BackendNotAvailableError` naming the extra.
    The backend is not initialized: ``await backend.initialize()``.
    """
    cfg = config if config is not None else MonitorConfig()
    if not isinstance(cfg, MonitorConfig):
        raise TypeError(
            f"create_backend() takes a MonitorConfig, got {type(cfg).__name__}; "
            "e.g. create_backend(MonitorConfig(backend_type='prometheus'))"
        )
    if not cfg.enabled:
        from .noop import NoopMetricsBackend

        return NoopMetricsBackend()
    kind = cfg.backend_type
    if collector is None and kind is not BackendType.OPENTELEMETRY:
        _install_configured_collector(cfg)
    if kind is BackendType.PROMETHEUS:
        from .prometheus import PrometheusBackend

        return PrometheusBackend(
            cfg.prometheus.port, config=cfg.prometheus, collector=collector, tracer=tracer
        )
    if kind is BackendType.OPENTELEMETRY:
        from .opentelemetry import OpenTelemetryBackend

        return OpenTelemetryBackend(cfg.tracing.service_name, config=cfg)
    from .memory import MemoryBackend

    return MemoryBackend(collector=collector, tracer=tracer)


def _install_configured_collector(config: MonitorConfig) -> None:
    """Make a collector built from ``config.metrics`` the process collector when the
    section is not the default one and the process collector is configured otherwise."""
    from ..config import MetricsConfig
    from ..metrics import MetricsCollector, get_default_collector, set_default_collector

    metrics = config.metrics
    if metrics == MetricsConfig() or get_default_collector().config == metrics:
        return
    set_default_collector(MetricsCollector(metrics))


def make_exporter(config: MonitorConfig) -> Any | None:
    """The metrics exporter for ``config.backend_type``; never raises.

    A ``PrometheusMetricsExporter`` for ``prometheus``; None for ``memory`` and
    ``opentelemetry`` (the SDK exports its own metrics), and None when prometheus_client
    is not installed. Registered for every backend type in the
    ``lexigram.monitor.exporter_factories`` entry-point group, which is how
    :meth:`MonitorConfig.make_exporter` reaches it.
    """
    if config.backend_type is not BackendType.PROMETHEUS:
        return None
    try:
        from .exporters.prometheus import PrometheusMetricsExporter
    except ImportError:
        return None
    try:
        return PrometheusMetricsExporter()
    except Exception:  # BackendNotAvailableError when the extra is missing
        return None
