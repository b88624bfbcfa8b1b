"""create_backend: MonitorConfig.backend_type picks the backend, importing only that one."""

from __future__ import annotations

import pytest

from lexigram.monitor.backends import create_backend
from lexigram.monitor.backends.memory import MemoryBackend
from lexigram.monitor.backends.noop import NoopMetricsBackend
from lexigram.monitor.backends.opentelemetry import OpenTelemetryBackend
from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import (
    BackendType,
    MonitorConfig,
    OpenTelemetryConfig,
    PrometheusConfig,
    TracingConfig,
)
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.tracing import Tracer
from tests._support import modules_loaded_by


def test_default_config_gives_the_memory_backend() -> None:
    """MonitorConfig() selects memory; the collector and tracer given are the ones used."""
    collector = MetricsCollector()
    tracer = Tracer("svc", None)
    backend = create_backend(collector=collector, tracer=tracer)
    assert isinstance(backend, MemoryBackend)
    assert backend.collector is collector
    assert backend.tracer is tracer


def test_prometheus_backend_gets_its_config_section() -> None:
    """backend_type=prometheus builds PrometheusBackend from config.prometheus."""
    config = MonitorConfig(
        backend_type=BackendType.PROMETHEUS,
        prometheus=PrometheusConfig(port=9464, path="/prom"),
    )
    backend = create_backend(config)
    assert isinstance(backend, PrometheusBackend)
    assert backend.config.port == 9464
    assert backend.config.path == "/prom"


async def test_opentelemetry_backend_gets_service_name_and_sections() -> None:
    """backend_type=opentelemetry: service name from tracing, the otel section as config."""
    config = MonitorConfig(
        backend_type=BackendType.OPENTELEMETRY,
        tracing=TracingConfig(service_name="checkout", max_attributes=7),
        opentelemetry=OpenTelemetryConfig(endpoint="http://collector:4318", batch_size=32),
    )
    backend = create_backend(config)
    assert isinstance(backend, OpenTelemetryBackend)
    assert backend.service_name == "checkout"
    assert backend.config.endpoint == "http://collector:4318"
    assert backend.config.batch_size == 32
    assert backend.tracing_config.max_attributes == 7
    await backend.shutdown()


def test_disabled_monitoring_gives_the_noop_backend() -> None:
    """MonitorConfig(enabled=False) records nothing, whatever the backend type."""
    config = MonitorConfig(enabled=False, backend_type=BackendType.PROMETHEUS)
    assert isinstance(create_backend(config), NoopMetricsBackend)


def test_other_arguments_are_refused() -> None:
    """Only a MonitorConfig (or None) selects a backend."""
    with pytest.raises(TypeError, match="takes a MonitorConfig"):
        create_backend({"backend_type": "memory"})  # type: ignore[arg-type]


def test_memory_selection_imports_no_exporter_library() -> None:
    """Picking the memory backend loads neither OpenTelemetry nor prometheus_client."""
    code = "from lexigram.monitor.backends import create_backend; create_backend()"
    assert modules_loaded_by(code, ["opentelemetry", "prometheus_client"]) == []
