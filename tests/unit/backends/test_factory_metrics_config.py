"""create_backend honours config.metrics (prefix, default labels) as MonitorProvider does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lexigram.monitor.backends import create_backend
from lexigram.monitor.config import BackendType, MetricsConfig, MonitorConfig
from lexigram.monitor.di import SimpleContainer
from lexigram.monitor.di.provider import create_provider_from_config
from lexigram.monitor.instrumentation.decorators import set_default_service
from lexigram.monitor.metrics import MetricsCollector, get_default_collector
from lexigram.monitor.tracing import set_default_tracer


@pytest.fixture(autouse=True)
def _restore_defaults() -> Iterator[None]:
    """A booted provider installs process defaults; put the previous ones back."""
    tracer = set_default_tracer(None)
    service = set_default_service(None)
    yield
    set_default_tracer(tracer)
    set_default_service(service)


@pytest.mark.parametrize("kind", [BackendType.MEMORY, BackendType.PROMETHEUS])
def test_prefix_and_default_labels_reach_recorded_metrics(
    kind: BackendType, tmp_path: Path
) -> None:
    """A YAML metrics section with a prefix and default labels: record_metric creates
    shop_jobs_done_total{queue, env} in the process collector, which /metrics shows."""
    path = tmp_path / "app.yaml"
    path.write_text(
        f"monitor:\n  backend_type: {kind.value}\n"
        "  metrics:\n    prefix: shop\n    default_labels: {env: prod}\n",
        encoding="utf-8",
    )
    backend = create_backend(MonitorConfig.from_yaml(path))
    backend.record_metric("jobs.done", 1, "counter", {"queue": "emails"})
    collector = get_default_collector()
    assert backend.collector is collector
    assert collector.config.prefix == "shop"
    counter = collector.get_metric("shop_jobs_done")
    assert counter is not None
    assert counter.get_value({"queue": "emails", "env": "prod"}) == 1  # type: ignore[attr-defined]


def test_the_default_section_leaves_the_process_collector_alone(
    collector: MetricsCollector,
) -> None:
    """Default metrics settings: the process collector is kept as it is."""
    create_backend(MonitorConfig())
    assert get_default_collector() is collector


def test_a_collector_configured_the_same_is_reused(collector: MetricsCollector) -> None:
    """Two backends (or a backend and the provider) from one config share one collector."""
    config = MonitorConfig(metrics=MetricsConfig(prefix="shop"))
    create_backend(config)
    first = get_default_collector()
    assert first is not collector
    create_backend(config)
    assert get_default_collector() is first
    provider = create_provider_from_config(config)
    assert provider.collector is first


def test_an_explicit_collector_wins() -> None:
    """collector= is used as given; nothing is installed."""
    mine = MetricsCollector()
    before = get_default_collector()
    backend = create_backend(MonitorConfig(metrics=MetricsConfig(prefix="x")), collector=mine)
    assert backend.collector is mine
    assert get_default_collector() is before


async def test_provider_and_backend_record_into_one_collector() -> None:
    """Through the provider, record_metric of the backend lands in the collector the
    provider registers and boots as the process one."""
    config = MonitorConfig(metrics=MetricsConfig(prefix="shop", default_labels={"env": "prod"}))
    provider = create_provider_from_config(config)
    container = SimpleContainer()
    await provider.register(container)
    await provider.boot(container)
    provider.backend.record_metric("orders", 2, "counter")
    assert get_default_collector() is provider.collector
    counter = provider.collector.get_metric("shop_orders")
    assert counter.get_value({"env": "prod"}) == 2  # type: ignore[union-attr]
    await provider.shutdown()
