"""lexigram-monitor: metrics, tracing, health probes and export for async Python services.

Every public name is importable from here. Names load lazily (PEP 562), so
``import lexigram.monitor`` imports no optional dependency; a name whose extra is
missing raises ``BackendNotAvailableError`` naming the extra when it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "HealthCheckProvider": ".middleware.health",
    "PrometheusMiddleware": ".middleware.prometheus",
    "OTelMiddleware": ".middleware.otel",
    "StatusPage": ".middleware.status",
    "mount_status_page": ".middleware.status",
    "HealthOptions": ".middleware.options",
    "MetricsOptions": ".middleware.options",
    "StatusPageOptions": ".middleware.options",
    "TracingOptions": ".middleware.options",
    "instrument": ".middleware.stack",
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
    "AvailabilitySLO": ".slo",
    "SLOStatus": ".slo",
    "RequestsSLI": ".slo",
    "HistogramSLI": ".slo",
    "EventsSLI": ".slo",
    "RawSLI": ".slo",
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
    "MetricsServer": ".backends.prometheus",
    "start_http_server": ".backends.prometheus",
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
    "InstrumentedTransport": ".instrumentation.httpx",
    "instrument_httpx": ".instrumentation.httpx",
    "uninstrument_httpx": ".instrumentation.httpx",
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

# --- static imports (generated) ---
if TYPE_CHECKING:  # static types for the lazily loaded names (kept in sync by a test)
    # isort: off
    from .alerts import (
        AlertmanagerDispatcher as AlertmanagerDispatcher,
        FanOutAlertDispatcher as FanOutAlertDispatcher,
        LoggingAlertDispatcher as LoggingAlertDispatcher,
        WebhookAlertDispatcher as WebhookAlertDispatcher,
    )
    from .backends.exporters.console import (
        ConsoleMetricsExporterHandler as ConsoleMetricsExporterHandler,
        ConsoleTracingExporterHandler as ConsoleTracingExporterHandler,
    )
    from .backends.exporters.otlp import (
        OTLPMetricsExporterHandler as OTLPMetricsExporterHandler,
        OTLPSpanExporterAdapter as OTLPSpanExporterAdapter,
        OTLPTracingExporterHandler as OTLPTracingExporterHandler,
    )
    from .backends.exporters.prometheus import (
        PrometheusMetricsExporter as PrometheusMetricsExporter,
    )
    from .backends.exporters.registry import (
        MetricsExporterRegistry as MetricsExporterRegistry,
        TracingExporterRegistry as TracingExporterRegistry,
    )
    from .backends.factory import (
        create_backend as create_backend,
    )
    from .backends.memory import (
        MemoryBackend as MemoryBackend,
    )
    from .backends.noop import (
        NoOpMetricsBackend as NoOpMetricsBackend,
        NoopMetricsBackend as NoopMetricsBackend,
    )
    from .backends.opentelemetry import (
        OpenTelemetryBackend as OpenTelemetryBackend,
    )
    from .backends.prometheus import (
        MetricsServer as MetricsServer,
        PrometheusBackend as PrometheusBackend,
        start_http_server as start_http_server,
    )
    from .config import (
        BackendType as BackendType,
        ConfigIssue as ConfigIssue,
        Environment as Environment,
        HealthCheckConfig as HealthCheckConfig,
        LoggingConfig as LoggingConfig,
        MetricsConfig as MetricsConfig,
        MonitorConfig as MonitorConfig,
        OpenTelemetryConfig as OpenTelemetryConfig,
        PrometheusConfig as PrometheusConfig,
        SamplerType as SamplerType,
        TracingConfig as TracingConfig,
    )
    from .di.contracts import (
        BootContainerProtocol as BootContainerProtocol,
        ContainerRegistrarProtocol as ContainerRegistrarProtocol,
        DynamicModule as DynamicModule,
    )
    from .di.module import (
        MonitorModule as MonitorModule,
    )
    from .di.provider import (
        MonitorProvider as MonitorProvider,
        ObservabilityModule as ObservabilityModule,
        ObservabilityProvider as ObservabilityProvider,
    )
    from .exceptions import (
        BackendNotAvailableError as BackendNotAvailableError,
        InvalidMetricError as InvalidMetricError,
        MetricNotFoundError as MetricNotFoundError,
        MonitorError as MonitorError,
        PerformanceMonitorError as PerformanceMonitorError,
        SpanError as SpanError,
    )
    from .health import (
        CachedHealthChecker as CachedHealthChecker,
        FunctionHealthCheck as FunctionHealthCheck,
        HealthCheck as HealthCheck,
        HealthCheckCategory as HealthCheckCategory,
        HealthCheckRegistry as HealthCheckRegistry,
        HealthCheckResult as HealthCheckResult,
        HealthChecker as HealthChecker,
        HealthCheckerRegistry as HealthCheckerRegistry,
        HealthStatus as HealthStatus,
        health_checker as health_checker,
    )
    from .hooks import (
        AlertFiredHook as AlertFiredHook,
        HealthCheckRunHook as HealthCheckRunHook,
        MetricRecordedHook as MetricRecordedHook,
    )
    from .instrumentation.database import (
        instrument_database as instrument_database,
    )
    from .instrumentation.decorators import (
        metered as metered,
        monitor as monitor,
        traced as traced,
    )
    from .instrumentation.httpx import (
        InstrumentedTransport as InstrumentedTransport,
        instrument_httpx as instrument_httpx,
        uninstrument_httpx as uninstrument_httpx,
    )
    from .instrumentation.messaging import (
        inject_trace_context as inject_trace_context,
        trace_consume as trace_consume,
        trace_publish as trace_publish,
    )
    from .metrics import (
        BufferedMetricEntry as BufferedMetricEntry,
        BufferedMetricRecorder as BufferedMetricRecorder,
        Counter as Counter,
        Exemplar as Exemplar,
        Gauge as Gauge,
        Histogram as Histogram,
        HistogramSnapshot as HistogramSnapshot,
        MetricValue as MetricValue,
        MetricsCollector as MetricsCollector,
        Summary as Summary,
        SummarySnapshot as SummarySnapshot,
        ValueSnapshot as ValueSnapshot,
        get_default_collector as get_default_collector,
        set_default_collector as set_default_collector,
        set_exemplar_source as set_exemplar_source,
        to_metric_name as to_metric_name,
    )
    from .middleware.health import (
        HealthCheckProvider as HealthCheckProvider,
    )
    from .middleware.otel import (
        OTelMiddleware as OTelMiddleware,
    )
    from .middleware.prometheus import (
        PrometheusMiddleware as PrometheusMiddleware,
    )
    from .middleware.options import (
        HealthOptions as HealthOptions,
        MetricsOptions as MetricsOptions,
        StatusPageOptions as StatusPageOptions,
        TracingOptions as TracingOptions,
    )
    from .middleware.stack import (
        instrument as instrument,
    )
    from .middleware.status import (
        StatusPage as StatusPage,
        mount_status_page as mount_status_page,
    )
    from .noop import (
        NoOpHealthCheckRegistry as NoOpHealthCheckRegistry,
        NoOpMetricsCollector as NoOpMetricsCollector,
        NoOpSpan as NoOpSpan,
        NoOpTracer as NoOpTracer,
    )
    from .profiling import (
        FunctionProfileResult as FunctionProfileResult,
        PerformanceMetrics as PerformanceMetrics,
        PerformanceMonitor as PerformanceMonitor,
        PerformanceMonitorConfig as PerformanceMonitorConfig,
        PerformanceMonitorState as PerformanceMonitorState,
        PerformanceSnapshot as PerformanceSnapshot,
        get_performance_summary as get_performance_summary,
        monitor_async_operation as monitor_async_operation,
        profile_async_function as profile_async_function,
    )
    from .protocols import (
        AlertDispatcherProtocol as AlertDispatcherProtocol,
        HealthCheckProtocol as HealthCheckProtocol,
        HealthCheckRegistryProtocol as HealthCheckRegistryProtocol,
        MetricProtocol as MetricProtocol,
        MetricsBackendProtocol as MetricsBackendProtocol,
        MetricsCollectorProtocol as MetricsCollectorProtocol,
        SpanExporter as SpanExporter,
        SpanProtocol as SpanProtocol,
        TracerProtocol as TracerProtocol,
    )
    from .service import (
        MetricProxy as MetricProxy,
        ObservabilityService as ObservabilityService,
    )
    from .slo import (
        SLO as SLO,
        AvailabilitySLO as AvailabilitySLO,
        BurnRateWindow as BurnRateWindow,
        EventsSLI as EventsSLI,
        HistogramSLI as HistogramSLI,
        RawSLI as RawSLI,
        RequestsSLI as RequestsSLI,
        SLOStatus as SLOStatus,
        SLOMonitor as SLOMonitor,
        SLOViolation as SLOViolation,
        render_slo_rules as render_slo_rules,
        slo_rule_group as slo_rule_group,
    )
    from .tracing import (
        ConsoleSpanExporter as ConsoleSpanExporter,
        InMemorySpanExporter as InMemorySpanExporter,
        InMemoryTraceProvider as InMemoryTraceProvider,
        Span as Span,
        SpanContext as SpanContext,
        SpanKind as SpanKind,
        SpanStatus as SpanStatus,
        Tracer as Tracer,
        get_default_tracer as get_default_tracer,
        set_default_tracer as set_default_tracer,
    )
    # isort: on
# --- end static imports ---

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
