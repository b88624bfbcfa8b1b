"""Exporter registries: pick the handler that builds an exporter for a config's ``type``.

Handlers are asked in order; :meth:`register` puts a new handler first, so it takes
priority over the built-in ones. Handlers import their optional dependencies only when
they build an exporter.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from ...exceptions import BackendNotAvailableError

__all__ = [
    "MetricsExporterHandler",
    "MetricsExporterRegistry",
    "TracingExporterHandler",
    "TracingExporterRegistry",
]


@runtime_checkable
class TracingExporterHandler(Protocol):
    """Builds a span exporter for the exporter types it handles."""

    def can_handle(self, exporter_type: str) -> bool: ...

    def create_exporter(self, exp_config: Any) -> Any: ...


@runtime_checkable
class MetricsExporterHandler(Protocol):
    """Builds an OpenTelemetry metric exporter for the exporter types it handles."""

    def can_handle(self, exporter_type: str) -> bool: ...

    def create_exporter(self, exp_config: Any) -> Any: ...


H = TypeVar("H", TracingExporterHandler, MetricsExporterHandler)


class _HandlerRegistry(Generic[H]):
    """Ordered handlers; the first that can handle ``exp_config.type`` builds the exporter."""

    def __init__(self) -> None:
        """Initialize the registry without any handlers."""
        self._handlers: list[H] = []

    @property
    def handlers(self) -> tuple[H, ...]:
        """The handlers, in the order they are asked."""
        return tuple(self._handlers)

    def register(self, handler: H) -> None:
        """Register *handler* at the beginning of the handler list (highest priority)."""
        if not callable(getattr(handler, "can_handle", None)) or not callable(
            getattr(handler, "create_exporter", None)
        ):
            raise TypeError(
                f"exporter handler {handler!r} must define can_handle(exporter_type) and "
                "create_exporter(exp_config)"
            )
        self._handlers.insert(0, handler)

    #: "tracing" or "metrics", for messages.
    signal = "exporter"

    def create_exporter(self, exp_config: Any) -> Any:
        """Create an exporter for *exp_config* (an object with a ``type`` attribute).

        The type is matched case-insensitively, ignoring surrounding whitespace. A type
        no handler accepts raises
        :class:`~lexigram.monitor.exceptions.BackendNotAvailableError` naming the type
        and the handlers asked (an exporter silently missing would lose every span or
        metric), rather than returning None.
        """
        kind = getattr(exp_config, "type", None)
        if not isinstance(kind, str):
            raise ValueError(
                f"exporter config {exp_config!r} has no string 'type' attribute; "
                "set e.g. OpenTelemetryConfig(type='otlp') or type='console'"
            )
        kind = kind.strip().lower()
        for handler in self._handlers:
            if handler.can_handle(kind):
                return handler.create_exporter(exp_config)
        known = ", ".join(type(h).__name__ for h in self._handlers) or "none registered"
        raise BackendNotAvailableError(
            f"no {self.signal} exporter handler accepts type {kind!r} (handlers: {known}); "
            "use 'otlp' or 'console' (with_defaults()), or register a handler for it "
            "with register(handler)"
        )


class TracingExporterRegistry(_HandlerRegistry[TracingExporterHandler]):
    """Central registry for tracing exporters.

    ``with_defaults()`` knows ``otlp`` (OpenTelemetry OTLP, keeping our W3C ids) and
    ``console`` (one JSON line per span).
    """

    signal = "tracing"

    @classmethod
    def with_defaults(cls) -> TracingExporterRegistry:
        """Create a registry pre-populated with the built-in default handlers."""
        from .console import ConsoleTracingExporterHandler
        from .otlp import OTLPTracingExporterHandler

        registry = cls()
        registry.register(ConsoleTracingExporterHandler())
        registry.register(OTLPTracingExporterHandler())
        return registry


class MetricsExporterRegistry(_HandlerRegistry[MetricsExporterHandler]):
    """Central registry for metrics exporters.

    ``with_defaults()`` knows ``otlp`` (OpenTelemetry ``OTLPMetricExporter``) and
    ``console`` (OpenTelemetry ``ConsoleMetricExporter``).
    """

    signal = "metrics"

    @classmethod
    def with_defaults(cls) -> MetricsExporterRegistry:
        """Create a registry pre-populated with the built-in default handlers."""
        from .console import ConsoleMetricsExporterHandler
        from .otlp import OTLPMetricsExporterHandler

        registry = cls()
        registry.register(ConsoleMetricsExporterHandler())
        registry.register(OTLPMetricsExporterHandler())
        return registry
