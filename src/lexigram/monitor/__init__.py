"""lexigram-monitor: metrics, tracing, health probes and export for async Python services.

Every public name is importable from here. Names load lazily (PEP 562), so
``import lexigram.monitor`` imports no optional dependency; a name whose extra is
missing raises ``BackendNotAvailableError`` naming the extra when it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__ as __version__

# public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    # exceptions
    "BackendNotAvailableError": ".exceptions",
    "InvalidMetricError": ".exceptions",
    "MetricNotFoundError": ".exceptions",
    "MonitorError": ".exceptions",
    "PerformanceMonitorError": ".exceptions",
    "SpanError": ".exceptions",
    # protocols
    "AlertDispatcherProtocol": ".protocols",
    "HealthCheckProtocol": ".protocols",
    "HealthCheckRegistryProtocol": ".protocols",
    "MetricProtocol": ".protocols",
    "MetricsBackendProtocol": ".protocols",
    "MetricsCollectorProtocol": ".protocols",
    "SpanExporter": ".protocols",
    "SpanProtocol": ".protocols",
    "TracerProtocol": ".protocols",
    # hooks
    "AlertFiredHook": ".hooks",
    "HealthCheckRunHook": ".hooks",
    "MetricRecordedHook": ".hooks",
    # config
    "BackendType": ".config",
    "ConfigIssue": ".config",
    "Environment": ".config",
    "HealthCheckConfig": ".config",
    "LoggingConfig": ".config",
    "MetricsConfig": ".config",
    "MonitorConfig": ".config",
    "OpenTelemetryConfig": ".config",
    "PrometheusConfig": ".config",
    "SamplerType": ".config",
    "TracingConfig": ".config",
    # health
    "CachedHealthChecker": ".health",
    "FunctionHealthCheck": ".health",
    "HealthCheck": ".health",
    "HealthCheckCategory": ".health",
    "HealthCheckRegistry": ".health",
    "HealthCheckResult": ".health",
    "HealthChecker": ".health",
    "HealthCheckerRegistry": ".health",
    "HealthStatus": ".health",
    "health_checker": ".health",
    # middleware
    "HealthCheckProvider": ".middleware",
    "PrometheusMiddleware": ".middleware.prometheus",
    "OTelMiddleware": ".middleware.otel",
    # alerts
    "AlertmanagerDispatcher": ".alerts",
    "FanOutAlertDispatcher": ".alerts",
    "LoggingAlertDispatcher": ".alerts",
    "WebhookAlertDispatcher": ".alerts",
    # profiling
    "FunctionProfileResult": ".profiling",
    "PerformanceMetrics": ".profiling",
    "PerformanceMonitor": ".profiling",
    "PerformanceMonitorConfig": ".profiling",
    "PerformanceMonitorState": ".profiling",
    "PerformanceSnapshot": ".profiling",
    "get_performance_summary": ".profiling",
    "monitor_async_operation": ".profiling",
    "profile_async_function": ".profiling",
    # slo
    "SLO": ".slo",
    "SLOMonitor": ".slo",
    "SLOViolation": ".slo",
    "BurnRateWindow": ".slo",
    "render_slo_rules": ".slo",
    "slo_rule_group": ".slo",
    # no-op twins
    "NoOpHealthCheckRegistry": ".noop",
    "NoOpMetricsCollector": ".noop",
    "NoOpSpan": ".noop",
    "NoOpTracer": ".noop",
    "NoOpMetricsBackend": ".backends.noop",
    "NoopMetricsBackend": ".backends.noop",
    "OpenTelemetryBackend": ".backends.opentelemetry",
    "MemoryBackend": ".backends.memory",
    "PrometheusBackend": ".backends.prometheus",
    "PrometheusMetricsExporter": ".backends.exporters.prometheus",
    "create_backend": ".backends.factory",
    # metrics
    "BufferedMetricEntry": ".metrics",
    "BufferedMetricRecorder": ".metrics",
    "Counter": ".metrics",
    "Exemplar": ".metrics",
    "Gauge": ".metrics",
    "Histogram": ".metrics",
    "HistogramSnapshot": ".metrics",
    "MetricValue": ".metrics",
    "MetricsCollector": ".metrics",
    "Summary": ".metrics",
    "SummarySnapshot": ".metrics",
    "ValueSnapshot": ".metrics",
    "get_default_collector": ".metrics",
    "set_default_collector": ".metrics",
    "set_exemplar_source": ".metrics",
    "to_metric_name": ".metrics",
    # service
    "MetricProxy": ".service",
    "ObservabilityService": ".service",
    # tracing
    "ConsoleSpanExporter": ".tracing",
    "InMemorySpanExporter": ".tracing",
    "InMemoryTraceProvider": ".tracing",
    "Span": ".tracing",
    "SpanContext": ".tracing",
    "SpanKind": ".tracing",
    "SpanStatus": ".tracing",
    "Tracer": ".tracing",
    "get_default_tracer": ".tracing",
    "set_default_tracer": ".tracing",
    # exporter handlers and registries
    "ConsoleMetricsExporterHandler": ".backends.exporters.console",
    "ConsoleTracingExporterHandler": ".backends.exporters.console",
    "MetricsExporterRegistry": ".backends.exporters.registry",
    "OTLPMetricsExporterHandler": ".backends.exporters.otlp",
    "OTLPSpanExporterAdapter": ".backends.exporters.otlp",
    "OTLPTracingExporterHandler": ".backends.exporters.otlp",
    "TracingExporterRegistry": ".backends.exporters.registry",
    # messaging propagation
    "inject_trace_context": ".instrumentation.messaging",
    "trace_consume": ".instrumentation.messaging",
    "trace_publish": ".instrumentation.messaging",
    "instrument_database": ".instrumentation.database",
    "metered": ".instrumentation.decorators",
    "monitor": ".instrumentation.decorators",
    "traced": ".instrumentation.decorators",
    # dependency injection
    "BootContainerProtocol": ".di.contracts",
    "ContainerRegistrarProtocol": ".di.contracts",
    "DynamicModule": ".di.contracts",
    "MonitorModule": ".di.module",
    "MonitorProvider": ".di.provider",
    "ObservabilityModule": ".di.provider",
    "ObservabilityProvider": ".di.provider",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lexigram.monitor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
