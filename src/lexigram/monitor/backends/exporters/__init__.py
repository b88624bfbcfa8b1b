"""Exporter handlers and registries (console, OTLP); Prometheus exposition lives in
:mod:`.prometheus` and is imported from there."""

from .console import ConsoleMetricsExporterHandler, ConsoleTracingExporterHandler
from .otlp import OTLPMetricsExporterHandler, OTLPSpanExporterAdapter, OTLPTracingExporterHandler
from .registry import (
    MetricsExporterHandler,
    MetricsExporterRegistry,
    TracingExporterHandler,
    TracingExporterRegistry,
)

__all__ = [
    "ConsoleMetricsExporterHandler",
    "ConsoleTracingExporterHandler",
    "MetricsExporterHandler",
    "MetricsExporterRegistry",
    "OTLPMetricsExporterHandler",
    "OTLPSpanExporterAdapter",
    "OTLPTracingExporterHandler",
    "TracingExporterHandler",
    "TracingExporterRegistry",
]
