"""MonitorProvider, ObservabilityProvider and MonitorModule against the reference container."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lexigram.monitor.alerts import LoggingAlertDispatcher
from lexigram.monitor.backends.noop import NoopMetricsBackend
from lexigram.monitor.config import MonitorConfig, TracingConfig
from lexigram.monitor.di.container import SimpleContainer
from lexigram.monitor.di.contracts import DynamicModule
from lexigram.monitor.di.module import MonitorModule
from lexigram.monitor.di.provider import (
    DATABASE_PROVIDER_KEY,
    MonitorProvider,
    ObservabilityModule,
    ObservabilityProvider,
)
from lexigram.monitor.health import HealthCheckerRegistry, HealthCheckRegistry, HealthStatus
from lexigram.monitor.instrumentation.decorators import get_default_service, set_default_service
from lexigram.monitor.noop import NoOpHealthCheckRegistry, NoOpMetricsCollector, NoOpTracer
from lexigram.monitor.protocols import (
    AlertDispatcherProtocol,
    HealthCheckRegistryProtocol,
    MetricsBackendProtocol,
    MetricsCollectorProtocol,
    TracerProtocol,
)
from lexigram.monitor.service import ObservabilityService
from lexigram.monitor.tracing.tracer import Tracer, get_default_tracer, set_default_tracer


class RecordingBackend(NoopMetricsBackend):
    """A backend that remembers its lifecycle calls."""

    def __init__(self, fail_init: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_init = fail_init
        self.database: Any = None

    async def initialize(self) -> None:
        self.calls.append("initialize")
        if self.fail_init:
            raise OSError("port in use")

    async def shutdown(self) -> None:
        self.calls.append("shutdown")

    def attach_database(self, provider: Any) -> None:
        self.database = provider


@pytest.fixture(autouse=True)
def _restore_defaults() -> Iterator[None]:
    """Providers install process defaults on boot; put the previous ones back."""
    tracer = set_default_tracer(None)
    service = set_default_service(None)
    yield
    set_default_tracer(tracer)
    set_default_service(service)


async def test_register_binds_protocols_and_classes() -> None:
    """Every monitoring singleton is resolvable by protocol and by class."""
    backend = RecordingBackend()
    provider = MonitorProvider(backend)
    c = SimpleContainer()
    await provider.register(c)
    assert await c.resolve(MetricsCollectorProtocol) is provider.collector
    assert isinstance(await c.resolve(TracerProtocol), Tracer)
    assert isinstance(await c.resolve(HealthCheckRegistryProtocol), HealthCheckRegistry)
    assert isinstance(await c.resolve(HealthCheckerRegistry), HealthCheckerRegistry)
    assert await c.resolve(MetricsBackendProtocol) is backend
    assert isinstance(await c.resolve(AlertDispatcherProtocol), LoggingAlertDispatcher)
    assert isinstance(await c.resolve(ObservabilityService), ObservabilityService)
    assert isinstance(await c.resolve(MonitorConfig), MonitorConfig)


async def test_existing_alert_dispatcher_is_kept() -> None:
    """An application's own dispatcher is not replaced."""
    c = SimpleContainer()
    mine = object()
    c.singleton(AlertDispatcherProtocol, mine)
    await MonitorProvider(RecordingBackend()).register(c)
    assert await c.resolve(AlertDispatcherProtocol) is mine


async def test_boot_and_shutdown_lifecycle() -> None:
    """boot starts the backend and installs defaults; shutdown stops it once."""
    backend = RecordingBackend()
    provider = MonitorProvider(backend)
    c = SimpleContainer()
    await provider.register(c)
    assert (await provider.health_check()).status is HealthStatus.STARTING
    await provider.boot(c)
    assert backend.calls == ["initialize"]
    assert get_default_tracer() is provider.tracer
    assert get_default_service() is provider.service
    assert (await provider.health_check()).status is HealthStatus.HEALTHY
    await provider.shutdown()
    await provider.shutdown()
    assert backend.calls == ["initialize", "shutdown"]
    assert (await provider.health_check()).status is HealthStatus.UNHEALTHY


async def test_backend_failure_never_breaks_boot() -> None:
    """A backend that fails to start is logged and reported as DEGRADED."""
    provider = MonitorProvider(RecordingBackend(fail_init=True))
    c = SimpleContainer()
    await provider.register(c)
    await provider.boot(c)
    result = await provider.health_check()
    assert result.status is HealthStatus.DEGRADED
    assert "port in use" not in (result.message or "")


async def test_database_provider_wired_at_boot_when_store_in_db() -> None:
    """With store_in_db, boot hands the container's database provider to the backend."""
    backend = RecordingBackend()
    cfg = MonitorConfig(prometheus={"store_in_db": True})
    provider = MonitorProvider(backend, config=cfg)
    c = SimpleContainer()
    db = object()
    c.singleton(DATABASE_PROVIDER_KEY, db)
    await provider.register(c)
    await provider.boot(c)
    assert backend.database is db


async def test_disabled_config_registers_noops() -> None:
    """enabled=False registers the no-op twins."""
    c = SimpleContainer()
    await MonitorProvider(RecordingBackend(), config=MonitorConfig(enabled=False)).register(c)
    assert isinstance(await c.resolve(MetricsCollectorProtocol), NoOpMetricsCollector)
    assert isinstance(await c.resolve(TracerProtocol), NoOpTracer)


async def test_record_request_and_connections() -> None:
    """record_request and record_connection_change land in the collector."""
    provider = MonitorProvider(RecordingBackend(), config=MonitorConfig(metrics={"prefix": "t"}))
    provider.record_request("get", "/orders/{id}", 0.05, 200)
    provider.record_connection_change(3)
    provider.record_connection_change(-1)
    total = provider.collector.get_metric("t_requests_total")
    assert (
        total.get_count(labels={"method": "GET", "path": "/orders/{id}", "status_code": "200"}) == 1
    )
    assert provider.collector.get_metric("t_active_connections").get_value() == 2


async def test_create_instruments_delegate() -> None:
    """create_counter/gauge/histogram return the collector's instruments."""
    provider = MonitorProvider(RecordingBackend(), config=MonitorConfig(metrics={"prefix": "d"}))
    counter = provider.create_counter("jobs_total", "jobs")
    assert provider.create_counter("jobs_total") is counter
    assert provider.create_histogram("latency_seconds", buckets=[0.1, 1.0]).name.endswith(
        "latency_seconds"
    )
    assert provider.create_gauge("depth").name.endswith("depth")


async def test_observability_provider_registers_noops_only_when_missing() -> None:
    """The no-op provider fills gaps and leaves existing registrations alone."""
    assert ObservabilityModule is ObservabilityProvider
    c = SimpleContainer()
    real = object()
    c.singleton(TracerProtocol, real)
    await ObservabilityProvider().register(c)
    assert await c.resolve(TracerProtocol) is real
    assert isinstance(await c.resolve(MetricsCollectorProtocol), NoOpMetricsCollector)
    assert isinstance(await c.resolve(HealthCheckRegistryProtocol), NoOpHealthCheckRegistry)


def test_monitor_module_configure_and_stub() -> None:
    """configure() defaults to the no-op backend; stub() also disables tracing."""
    module = MonitorModule.configure()
    assert isinstance(module, DynamicModule)
    assert module.module is MonitorModule
    (provider,) = module.providers
    assert isinstance(provider.backend, NoopMetricsBackend)
    assert MetricsCollectorProtocol in module.exports
    stub = MonitorModule.stub().providers[0]
    assert isinstance(stub.tracer, NoOpTracer)
    cfg = MonitorConfig(tracing=TracingConfig(service_name="svc"))
    assert MonitorModule.configure(config=cfg).providers[0].tracer.service_name == "svc"


def test_from_config_builds_backend_by_type() -> None:
    """from_config picks the backend that backend_type names (memory here)."""
    from lexigram.monitor.backends.memory import MemoryBackend

    provider = MonitorProvider.from_config(MonitorConfig())
    assert isinstance(provider.backend, MemoryBackend)
    assert provider.exporter is None
    given = RecordingBackend()
    assert MonitorProvider.from_config(MonitorConfig(), backend=given).backend is given


async def test_debug_logs_masked_configuration_and_name_is_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """debug=True logs the effective config at boot with secrets masked; name is the
    provider's and its health component's."""
    import logging

    cfg = MonitorConfig(
        name="billing",
        debug=True,
        health={"auth_token": "s3cret"},
        opentelemetry={"headers": {"x-api-key": "k3y"}},
    )
    provider = MonitorProvider(RecordingBackend(), config=cfg)
    c = SimpleContainer()
    library = logging.getLogger("lexigram.monitor")
    level = library.level
    try:
        with caplog.at_level(logging.DEBUG, logger="lexigram.monitor.di"):
            await provider.register(c)
            await provider.boot(c)
        assert library.level == logging.DEBUG
    finally:
        library.setLevel(level)
    assert "billing" in caplog.text
    assert "s3cret" not in caplog.text
    assert "k3y" not in caplog.text
    assert provider.name == "billing"
    assert (await provider.health_check()).component == "billing"


async def test_health_registry_follows_health_config() -> None:
    """The registered health registry uses MonitorConfig.health (its default timeout)."""
    import asyncio

    provider = MonitorProvider(RecordingBackend(), config=MonitorConfig(health={"timeout": 0.05}))

    async def hangs() -> bool:
        await asyncio.sleep(10)
        return True

    provider.health_registry.add("slow", hangs)
    status, results = await provider.health_registry.run_all()
    assert status is HealthStatus.UNHEALTHY
    assert "timed out after 0.05s" in (results["slow"].message or "")


async def test_boot_adopts_the_tracer_of_a_span_exporting_backend() -> None:
    """A backend with its own exporting tracer (OpenTelemetry) supplies the tracer."""
    backend_tracer = Tracer("otel-backed", None)

    class ExportingBackend(RecordingBackend):
        tracer_provider = object()

        @property
        def tracer(self) -> Tracer:
            return backend_tracer

    provider = MonitorProvider(ExportingBackend())
    c = SimpleContainer()
    await provider.register(c)
    await provider.boot(c)
    assert provider.tracer is backend_tracer
    assert await c.resolve(TracerProtocol) is backend_tracer
    assert (await c.resolve(ObservabilityService)).tracer is backend_tracer
    assert get_default_tracer() is backend_tracer


async def test_configured_collector_becomes_the_process_collector() -> None:
    """A non-default MetricsConfig gets its own collector, installed as the default at boot."""
    from lexigram.monitor.metrics.collector import get_default_collector

    provider = MonitorProvider(RecordingBackend(), config=MonitorConfig(metrics={"prefix": "shop"}))
    assert provider.collector is not get_default_collector()
    c = SimpleContainer()
    await provider.register(c)
    await provider.boot(c)
    assert get_default_collector() is provider.collector
