"""In-memory OpenTelemetry exporters for backend tests, plugged in through the registries.

``MemoryExporters`` registers, for the exporter type ``"memory"``, a tracing handler
returning the SDK ``InMemorySpanExporter`` and a metrics handler returning an
``InMemoryMetricReader`` (read on demand, no periodic thread); every config a handler
was asked to build from is kept in ``configs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lexigram.monitor.backends.exporters import MetricsExporterRegistry, TracingExporterRegistry

TYPE = "memory"


class Handler:
    """An exporter handler for *exporter_type* building with *make*; records its configs."""

    def __init__(self, make: Any, configs: list[Any], exporter_type: str = TYPE) -> None:
        self._make = make
        self._configs = configs
        self._type = exporter_type

    def can_handle(self, exporter_type: str) -> bool:
        return exporter_type == self._type

    def create_exporter(self, exp_config: Any) -> Any:
        self._configs.append(exp_config)
        return self._make()


@dataclass
class MemoryExporters:
    """Registries whose ``memory`` type yields in-memory SDK exporters."""

    spans: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    configs: list[Any] = field(default_factory=list)
    tracing: TracingExporterRegistry = field(default_factory=TracingExporterRegistry.with_defaults)
    metrics: MetricsExporterRegistry = field(default_factory=MetricsExporterRegistry.with_defaults)

    def __post_init__(self) -> None:
        self.tracing.register(Handler(lambda: self.spans, self.configs))
        self.metrics.register(Handler(lambda: self.reader, self.configs))

    def registries(self) -> dict[str, Any]:
        """Keyword arguments for ``OpenTelemetryBackend``."""
        return {
            "tracing_exporter_registry": self.tracing,
            "metrics_exporter_registry": self.metrics,
        }

    def metrics_by_name(self) -> dict[str, Any]:
        """Collect now; metric name -> SDK ``Metric`` (data points in ``.data``)."""
        data = self.reader.get_metrics_data()
        found: dict[str, Any] = {}
        if data is None:
            return found
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found[metric.name] = metric
        return found


def points(metric: Any) -> dict[frozenset[tuple[str, Any]], Any]:
    """Data points of *metric* by their attribute set."""
    return {frozenset(dict(p.attributes or {}).items()): p for p in metric.data.data_points}
