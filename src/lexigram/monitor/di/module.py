"""``MonitorModule``: the DynamicModule factory applications import."""

from __future__ import annotations

from typing import Any

from ..backends.noop import NoopMetricsBackend
from ..config import MonitorConfig, TracingConfig
from ..protocols import (
    AlertDispatcherProtocol,
    HealthCheckRegistryProtocol,
    MetricsBackendProtocol,
    MetricsCollectorProtocol,
    TracerProtocol,
)
from .contracts import DynamicModule
from .provider import MonitorProvider

__all__ = ["MonitorModule"]

_EXPORTS: list[Any] = [
    MetricsCollectorProtocol,
    TracerProtocol,
    HealthCheckRegistryProtocol,
    MetricsBackendProtocol,
    AlertDispatcherProtocol,
]


class MonitorModule:
    """Metrics collection, distributed tracing, health checks, and profiling.

    Call :meth:`configure` to configure the monitoring subsystem.
    """

    @classmethod
    def configure(cls, backend: Any = None, config: Any | None = None) -> DynamicModule:
        """Create a MonitorModule with explicit configuration.

        *backend* defaults to :class:`NoopMetricsBackend`; *config* to ``MonitorConfig()``.
        """
        provider = MonitorProvider(
            backend if backend is not None else NoopMetricsBackend(),
            config=config if config is not None else MonitorConfig(),
        )
        return DynamicModule(
            module=cls,
            providers=[provider],
            exports=list(_EXPORTS),
            is_global=True,
            name="monitor",
        )

    @classmethod
    def stub(cls) -> DynamicModule:
        """Return a no-op MonitorModule for unit testing: noop metrics and tracing."""
        return cls.configure(
            backend=NoopMetricsBackend(),
            config=MonitorConfig(tracing=TracingConfig(enabled=False)),
        )
