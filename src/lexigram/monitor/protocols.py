"""Structural contracts (all ``runtime_checkable``) and shared type aliases.

Implementations never inherit from these; any object with the right methods fits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from ._health_result import HealthCheckResult

__all__ = [
    "ASGIApp",
    "AlertDispatcherProtocol",
    "BoundCounterProtocol",
    "BoundGaugeProtocol",
    "BoundHistogramProtocol",
    "CounterProtocol",
    "GaugeProtocol",
    "HealthCheckProtocol",
    "HealthCheckRegistryProtocol",
    "HistogramProtocol",
    "Labels",
    "Message",
    "MetricProtocol",
    "MetricsBackendProtocol",
    "MetricsCollectorProtocol",
    "Receive",
    "Scope",
    "Send",
    "SpanExporter",
    "SpanProtocol",
    "TracerProtocol",
]

#: Label set of one series: label name -> label value (values are strings).
Labels: TypeAlias = Mapping[str, str]

# ASGI 3 types (as in the ASGI spec; kept loose so any framework's app fits).
Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]


@runtime_checkable
class AlertDispatcherProtocol(Protocol):
    """Protocol for dispatching operational alerts (logging, PagerDuty, Slack, ...)."""

    async def send_alert(
        self,
        title: str,
        message: str,
        severity: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Dispatch a free-form operational alert."""
        ...

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Dispatch an alert triggered by a metric threshold breach."""
        ...


@runtime_checkable
class HealthCheckProtocol(Protocol):
    """Structural contract for a single health-check component."""

    async def check(self) -> HealthCheckResult:
        """Perform the health check and return a result."""
        ...


@runtime_checkable
class MetricProtocol(Protocol):
    """Protocol for metric implementations: a named instrument that records values."""

    @property
    def name(self) -> str:
        """Metric name."""
        ...

    @property
    def description(self) -> str:
        """Metric description."""
        ...

    def record(self, value: float, labels: dict[str, str] | None = None) -> None:
        """Record a metric value with optional labels."""
        ...


@runtime_checkable
class BoundCounterProtocol(Protocol):
    """One series of a counter, resolved once (``CounterProtocol.bind``)."""

    def increment(self, amount: float = 1) -> None:
        """Add *amount* (>= 0) to the series."""
        ...


@runtime_checkable
class BoundGaugeProtocol(Protocol):
    """One series of a gauge, resolved once (``GaugeProtocol.bind``)."""

    def set(self, value: float) -> None:
        """Set the series to *value*."""
        ...

    def increment(self, amount: float = 1) -> None:
        """Add *amount* (may be negative) to the series."""
        ...

    def decrement(self, amount: float = 1) -> None:
        """Subtract *amount* from the series."""
        ...


@runtime_checkable
class BoundHistogramProtocol(Protocol):
    """One series of a histogram, resolved once (``HistogramProtocol.bind``)."""

    def observe(self, value: float) -> None:
        """Record *value* in the series."""
        ...


@runtime_checkable
class CounterProtocol(MetricProtocol, Protocol):
    """A counter: totals per label set that only go up."""

    def increment(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add *amount* (>= 0) to the series of *labels*."""
        ...

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundCounterProtocol:
        """The series of *labels* as a handle that skips the label lookup."""
        ...


@runtime_checkable
class GaugeProtocol(MetricProtocol, Protocol):
    """A gauge: a value per label set that goes up and down."""

    def set(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Set the series of *labels* to *value*."""
        ...

    def increment(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add *amount* to the series of *labels*."""
        ...

    def decrement(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Subtract *amount* from the series of *labels*."""
        ...

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundGaugeProtocol:
        """The series of *labels* as a handle that skips the label lookup."""
        ...


@runtime_checkable
class HistogramProtocol(MetricProtocol, Protocol):
    """A histogram: a distribution of observed values per label set."""

    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels*."""
        ...

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundHistogramProtocol:
        """The series of *labels* as a handle that skips the label lookup."""
        ...


@runtime_checkable
class MetricsBackendProtocol(Protocol):
    """Protocol for metrics backend implementations (metrics only)."""

    async def initialize(self) -> None:
        """Initialize the metrics backend."""
        ...

    async def shutdown(self) -> None:
        """Shutdown the metrics backend."""
        ...

    def record_metric(
        self,
        name: str,
        value: Any,
        metric_type: str,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Record a metric value (``metric_type``: counter, gauge, histogram, summary)."""
        ...


@runtime_checkable
class MetricsCollectorProtocol(Protocol):
    """Name-based metrics API resolved through DI."""

    def register_metric(self, metric: MetricProtocol) -> None: ...

    def increment(self, name: str, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        """Increment a counter metric."""
        ...

    def gauge(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Set a gauge metric."""
        ...

    def histogram(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Record a histogram value."""
        ...

    def create_counter(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> MetricProtocol:
        """A counter (a :class:`CounterProtocol` where the collector offers one)."""
        ...

    def create_gauge(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> MetricProtocol:
        """A gauge (a :class:`GaugeProtocol` where the collector offers one)."""
        ...

    def create_histogram(
        self,
        name: str,
        description: str = "",
        labels: dict[str, str] | None = None,
        buckets: list[float] | None = None,
    ) -> MetricProtocol:
        """A histogram (a :class:`HistogramProtocol` where the collector offers one)."""
        ...


@runtime_checkable
class SpanProtocol(Protocol):
    """A unit of traced work."""

    def set_attribute(self, key: str, value: Any) -> None: ...

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None: ...

    def record_exception(self, exception: BaseException) -> None: ...

    def end(self) -> None: ...


@runtime_checkable
class TracerProtocol(Protocol):
    """Creates spans and propagates their context."""

    def start_span(
        self,
        name: str,
        *,
        context: Any | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Any: ...

    def get_current_span(self) -> Any | None: ...

    def inject_context(self, carrier: dict[str, str], context: Any | None = None) -> None: ...

    def extract_context(self, carrier: Mapping[str, str]) -> Any | None: ...


@runtime_checkable
class HealthCheckRegistryProtocol(Protocol):
    """Health registry contract resolved through DI."""

    def add(
        self,
        name: str,
        check: Callable[[], Any],
        *,
        timeout: float | None = None,
        critical: bool = True,
        category: Any = None,
    ) -> None: ...

    async def run_all(self) -> tuple[Any, dict[str, Any]]: ...

    async def run_liveness(self) -> tuple[Any, dict[str, Any]]: ...

    async def run_readiness(self) -> tuple[Any, dict[str, Any]]: ...

    async def run_startup(self) -> tuple[Any, dict[str, Any]]: ...


@runtime_checkable
class SpanExporter(Protocol):
    """Receives ended spans in batches. Called off the hot path; may raise (it is guarded)."""

    def export(self, spans: Sequence[Any]) -> None: ...
