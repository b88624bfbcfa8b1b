"""No-op twins of the collector, tracer, span and health registry.

They satisfy the protocols, cost next to nothing and keep application code working when
monitoring is disabled or not wired. Nothing they receive is stored, except span
attributes on :class:`NoOpSpan` (bounded to 128 keys) so tests can introspect them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .health import HealthCheckResult
    from .protocols import MetricProtocol, SpanProtocol

__all__ = ["NoOpHealthCheckRegistry", "NoOpMetricsCollector", "NoOpSpan", "NoOpTracer"]

_MAX_NOOP_ATTRIBUTES = 128


class NoOpMetricsCollector:
    """Metrics collector that drops all observations.

    ``create_*`` return the collector itself, which also acts as a no-op instrument.
    """

    def __init__(self) -> None:
        pass

    @property
    def name(self) -> str:
        """Return a placeholder metric name."""
        return "noop"

    @property
    def description(self) -> str:
        """Return a placeholder metric description."""
        return "no-op metrics collector"

    def register_metric(self, metric: MetricProtocol) -> None:
        """Ignore pre-created metrics."""

    def increment(self, name: str, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        """Ignore counter increments."""

    def gauge(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Ignore gauge values."""

    def histogram(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Ignore histogram samples."""

    def create_counter(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> NoOpMetricsCollector:
        """Return the collector itself."""
        return self

    def create_gauge(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> NoOpMetricsCollector:
        """Return the collector itself."""
        return self

    def create_histogram(
        self,
        name: str,
        description: str = "",
        labels: dict[str, str] | None = None,
        buckets: list[float] | None = None,
    ) -> NoOpMetricsCollector:
        """Return the collector itself."""
        return self

    def record(self, value: float, labels: dict[str, str] | None = None) -> None:
        """Ignore recorded metric values."""


class NoOpSpan:
    """No-op span that silently drops all tracing operations (a context manager too)."""

    __slots__ = ("attributes", "ended", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.attributes: dict[str, Any] = {}
        self.ended = False

    def set_attribute(self, key: str, value: Any) -> None:
        """Store span attributes for introspection in tests (at most 128 keys)."""
        if key in self.attributes or len(self.attributes) < _MAX_NOOP_ATTRIBUTES:
            self.attributes[key] = value

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        """Ignore span events."""

    def record_exception(self, exception: BaseException) -> None:
        """Ignore recorded exceptions."""

    def set_status(self, status: Any, message: str | None = None) -> None:
        """Ignore span status updates."""

    def end(self) -> None:
        """Mark the span as ended without side effects."""
        self.ended = True

    def finish(self) -> None:
        """Alias for :meth:`end`."""
        self.ended = True

    def get_duration(self) -> float | None:
        """No-op spans have no duration."""
        return None

    def __enter__(self) -> NoOpSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.ended = True


class NoOpTracer:
    """No-op tracer that returns :class:`NoOpSpan` instances."""

    def start_span(
        self,
        name: str,
        attributes: dict[str, Any] | None = None,
        context: Any | None = None,
        **_: Any,
    ) -> NoOpSpan:
        """Start a no-op span."""
        span = NoOpSpan(name)
        if attributes:
            for key, value in attributes.items():
                span.set_attribute(key, value)
        return span

    def get_current_span(self) -> SpanProtocol | None:
        """Return no active span."""
        return None

    def inject_context(self, carrier: dict[str, str], context: Any | None = None) -> None:
        """Leave the carrier unchanged."""

    def extract_context(self, carrier: Mapping[str, str]) -> Any | None:
        """Return no extracted context."""
        return None


class NoOpHealthCheckRegistry:
    """No-op registry for categorised health checks (always HEALTHY, no checks)."""

    def add(
        self,
        name: str,
        check: Callable[[], Any],
        *,
        timeout: float | None = None,
        critical: bool = True,
        category: Any = None,
    ) -> None:
        """Ignore health check registration."""

    async def run_all(self) -> tuple[Any, dict[str, Any]]:
        """Return an empty aggregate result."""
        return _healthy(), {}

    async def run_liveness(self) -> tuple[Any, dict[str, Any]]:
        """Return an empty liveness result."""
        return _healthy(), {}

    async def run_readiness(self) -> tuple[Any, dict[str, Any]]:
        """Return an empty readiness result."""
        return _healthy(), {}

    async def run_startup(self) -> tuple[Any, dict[str, Any]]:
        """Return an empty startup result."""
        return _healthy(), {}

    async def health_check(self, timeout: float = 5.0) -> HealthCheckResult:
        """Report the no-op registry as healthy."""
        from .health import HealthCheckResult, HealthStatus

        return HealthCheckResult(
            component="noop_health_registry",
            status=HealthStatus.HEALTHY,
            message="no-op health registry",
        )


def _healthy() -> Any:
    from .health import HealthStatus

    return HealthStatus.HEALTHY
