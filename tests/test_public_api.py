"""The public surface: every exported name resolves, and the import stays light."""

from __future__ import annotations

import pytest

import lexigram.monitor as monitor
from tests._support import modules_loaded_by

OPTIONAL_MODULES = ("prometheus_client", "opentelemetry", "psutil", "uvicorn", "httpx",
                    "starlette", "structlog", "yaml")  # fmt: skip


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists every exported name once, sorted."""
    assert monitor.__all__ == sorted(monitor.__all__)
    assert len(set(monitor.__all__)) == len(monitor.__all__)
    assert "__version__" in monitor.__all__


@pytest.mark.parametrize("name", [n for n in monitor.__all__ if n != "__version__"])
def test_every_exported_name_resolves(name: str) -> None:
    """Each name of __all__ is importable from lexigram.monitor."""
    assert getattr(monitor, name) is not None


def test_unknown_attribute_raises_attribute_error() -> None:
    """Unknown names fail like any module attribute."""
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        monitor.Nope  # noqa: B018


def test_import_loads_no_optional_dependency() -> None:
    """`import lexigram.monitor` (and resolving a core name) imports no optional extra."""
    code = "import lexigram.monitor as m; m.MonitorConfig; m.NoOpTracer"
    assert modules_loaded_by(code, OPTIONAL_MODULES) == []


def test_namespace_package() -> None:
    """`lexigram` is a namespace package so other lexigram-* distributions can share it."""
    import lexigram

    assert getattr(lexigram, "__file__", None) is None


#: Every public name of the API reference, with the submodule users also import it from.
REFERENCE_NAMES: tuple[tuple[str, str], ...] = (
    ("AlertDispatcherProtocol", ".alerts"),
    ("AlertDispatcherProtocol", ".protocols"),
    ("AlertFiredHook", ".hooks"),
    ("BackendNotAvailableError", ".exceptions"),
    ("BackendType", ".config"),
    ("BootContainerProtocol", ".di"),
    ("BufferedMetricEntry", ".metrics"),
    ("BufferedMetricRecorder", ".metrics"),
    ("CachedHealthChecker", ".health"),
    ("ConfigIssue", ".config"),
    ("ConsoleMetricsExporterHandler", ".backends.exporters"),
    ("ConsoleSpanExporter", ".tracing"),
    ("ConsoleTracingExporterHandler", ".backends.exporters"),
    ("ContainerRegistrarProtocol", ".di"),
    ("Counter", ".metrics"),
    ("DynamicModule", ".di"),
    ("Environment", ".config"),
    ("FunctionHealthCheck", ".health"),
    ("FunctionProfileResult", ".profiling"),
    ("Gauge", ".metrics"),
    ("HealthCheck", ".health"),
    ("HealthCheckCategory", ".health"),
    ("HealthCheckConfig", ".config"),
    ("HealthCheckProtocol", ".health"),
    ("HealthCheckProtocol", ".protocols"),
    ("HealthCheckProvider", ".middleware"),
    ("HealthCheckRegistry", ".health"),
    ("HealthCheckRegistryProtocol", ".protocols"),
    ("HealthCheckResult", ".health"),
    ("HealthCheckRunHook", ".hooks"),
    ("HealthChecker", ".health"),
    ("HealthCheckerRegistry", ".health"),
    ("HealthStatus", ".health"),
    ("Histogram", ".metrics"),
    ("InMemoryTraceProvider", ".tracing"),
    ("InvalidMetricError", ".exceptions"),
    ("LoggingAlertDispatcher", ".alerts"),
    ("LoggingConfig", ".config"),
    ("MetricNotFoundError", ".exceptions"),
    ("MetricProtocol", ".protocols"),
    ("MetricProxy", ".service"),
    ("MetricRecordedHook", ".hooks"),
    ("MetricValue", ".metrics"),
    ("MetricsBackendProtocol", ".protocols"),
    ("MetricsCollector", ".metrics"),
    ("MetricsCollectorProtocol", ".protocols"),
    ("MetricsConfig", ".config"),
    ("MetricsExporterRegistry", ".backends.exporters"),
    ("MonitorConfig", ".config"),
    ("MonitorError", ".exceptions"),
    ("MonitorModule", ".di"),
    ("MonitorProvider", ".di"),
    ("NoOpHealthCheckRegistry", ".noop"),
    ("NoOpMetricsCollector", ".noop"),
    ("NoOpSpan", ".noop"),
    ("NoOpTracer", ".noop"),
    ("NoopMetricsBackend", ".backends.noop"),
    ("OTLPMetricsExporterHandler", ".backends.exporters"),
    ("OTLPTracingExporterHandler", ".backends.exporters"),
    ("OTelMiddleware", ".middleware"),
    ("ObservabilityProvider", ".di"),
    ("ObservabilityService", ".service"),
    ("OpenTelemetryBackend", ".backends.opentelemetry"),
    ("OpenTelemetryConfig", ".config"),
    ("PerformanceMetrics", ".profiling"),
    ("PerformanceMonitor", ".profiling"),
    ("PerformanceMonitorConfig", ".profiling"),
    ("PerformanceMonitorError", ".exceptions"),
    ("PerformanceMonitorState", ".profiling"),
    ("PerformanceSnapshot", ".profiling"),
    ("PrometheusBackend", ".backends.prometheus"),
    ("PrometheusConfig", ".config"),
    ("PrometheusMetricsExporter", ".backends.exporters.prometheus"),
    ("PrometheusMiddleware", ".middleware"),
    ("SLO", ".slo"),
    ("SLOMonitor", ".slo"),
    ("SLOViolation", ".slo"),
    ("SamplerType", ".config"),
    ("Span", ".tracing"),
    ("SpanContext", ".tracing"),
    ("SpanError", ".exceptions"),
    ("SpanExporter", ".tracing"),
    ("SpanKind", ".tracing"),
    ("SpanProtocol", ".protocols"),
    ("SpanStatus", ".tracing"),
    ("Summary", ".metrics"),
    ("Tracer", ".tracing"),
    ("TracerProtocol", ".protocols"),
    ("TracingConfig", ".config"),
    ("TracingExporterRegistry", ".backends.exporters"),
    ("get_performance_summary", ".profiling"),
    ("health_checker", ".health"),
    ("inject_trace_context", ".instrumentation"),
    ("instrument_database", ".instrumentation"),
    ("metered", ".instrumentation"),
    ("monitor", ".instrumentation"),
    ("monitor_async_operation", ".profiling"),
    ("profile_async_function", ".profiling"),
    ("trace_consume", ".instrumentation"),
    ("trace_publish", ".instrumentation"),
    ("traced", ".instrumentation"),
)


@pytest.mark.parametrize(("name", "submodule"), REFERENCE_NAMES)
def test_reference_names_importable_from_facade_and_submodule(name: str, submodule: str) -> None:
    """Each reference name is exported by the facade and by the submodule users expect."""
    import importlib

    assert name in monitor.__all__
    module = importlib.import_module(f"lexigram.monitor{submodule}")
    assert getattr(module, name) is getattr(monitor, name)


def test_static_imports_match_the_lazy_table() -> None:
    """The TYPE_CHECKING imports (what type checkers see) list exactly the lazy names."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(monitor.__file__).read_text(encoding="utf-8"))
    static: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                for alias in imp.names:
                    assert alias.asname == alias.name, "re-export needs 'X as X'"
                    static[alias.name] = "." * imp.level + (imp.module or "")
    assert static == monitor._EXPORTS
