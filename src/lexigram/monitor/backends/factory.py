"""Backend selection: ``MonitorConfig.backend_type`` -> a backend instance.

Only the chosen backend's module is imported, so picking ``memory`` never loads
prometheus_client or OpenTelemetry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import BackendType, MonitorConfig

if TYPE_CHECKING:
    from ..metrics import MetricsCollector
    from ..tracing import Tracer

__all__ = ["create_backend"]


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
