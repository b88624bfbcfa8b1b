"""Console exporter handlers: spans as JSON lines, metrics via OpenTelemetry's console exporter."""

from __future__ import annotations

from typing import Any

from ..._optional import require
from ...tracing.export import ConsoleSpanExporter

__all__ = ["ConsoleMetricsExporterHandler", "ConsoleTracingExporterHandler"]


class ConsoleTracingExporterHandler:
    """Handler for console tracing exporter.

    Creates a :class:`~lexigram.monitor.tracing.ConsoleSpanExporter` writing one JSON line
    per span to standard output.
    """

    def can_handle(self, exporter_type: str) -> bool:
        """True if exporter_type is "console", False otherwise."""
        return exporter_type == "console"

    def create_exporter(self, exp_config: Any) -> ConsoleSpanExporter:
        """Create a console tracing exporter instance (*exp_config* is unused)."""
        return ConsoleSpanExporter()


class ConsoleMetricsExporterHandler:
    """Handler for console metrics exporter.

    Creates OpenTelemetry's ``ConsoleMetricExporter`` (needs the ``otel`` extra).
    """

    def can_handle(self, exporter_type: str) -> bool:
        """True if exporter_type is "console", False otherwise."""
        return exporter_type == "console"

    def create_exporter(self, exp_config: Any) -> Any:
        """Create a console metrics exporter instance (*exp_config* is unused)."""
        module = require("otel", "opentelemetry.sdk.metrics.export")
        return module.ConsoleMetricExporter()
