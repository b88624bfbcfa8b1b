"""container.resolve("prometheus_metrics_app") works with every backend; an unknown key's
LookupError says what is registered."""

from __future__ import annotations

import httpx
import pytest

from lexigram.monitor.backends.memory import MemoryBackend
from lexigram.monitor.backends.noop import NoopMetricsBackend
from lexigram.monitor.config import BackendType, MonitorConfig, PrometheusConfig
from lexigram.monitor.di import SimpleContainer
from lexigram.monitor.di.provider import METRICS_APP_KEY, MonitorProvider
from lexigram.monitor.metrics import MetricsCollector


async def _get(app: object, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return await client.get("/metrics", headers=headers)


@pytest.mark.parametrize("backend", [MemoryBackend(), NoopMetricsBackend()])
async def test_the_metrics_app_is_registered_with_every_backend(
    backend: object, collector: MetricsCollector
) -> None:
    """Without an exporter of its own, the app serves the provider's collector."""
    provider = MonitorProvider(backend, config=MonitorConfig())
    container = SimpleContainer()
    await provider.register(container)
    collector.create_counter("orders_total", "Orders.").increment(3)
    response = await _get(await container.resolve(METRICS_APP_KEY))
    assert response.status_code == 200
    assert "orders_total 3" in response.text


async def test_the_metrics_app_honours_the_scrape_token() -> None:
    """prometheus.auth_token protects the registered app as it does the scrape port."""
    config = MonitorConfig(prometheus=PrometheusConfig(auth_token="s3cret"))
    provider = MonitorProvider(MemoryBackend(), config=config)
    container = SimpleContainer()
    await provider.register(container)
    app = await container.resolve("prometheus_metrics_app")
    assert (await _get(app)).status_code == 401
    assert (await _get(app, {"Authorization": "Bearer s3cret"})).status_code == 200


async def test_the_prometheus_backend_keeps_its_exporter_app() -> None:
    """With the Prometheus backend the exporter's prometheus_client app is registered."""
    config = MonitorConfig(backend_type=BackendType.PROMETHEUS)
    provider = MonitorProvider.from_config(config)
    container = SimpleContainer()
    await provider.register(container)
    app = await container.resolve("prometheus_metrics_app")
    assert app.__module__.startswith("prometheus_client")
    assert (await _get(app)).status_code == 200


async def test_lookup_error_names_what_is_registered() -> None:
    """A misspelt key gets the closest registered name and the list of named ones."""
    container = SimpleContainer()
    await MonitorProvider(MemoryBackend()).register(container)
    with pytest.raises(LookupError) as caught:
        await container.resolve("prometheus_metric_app")
    message = str(caught.value)
    assert "did you mean 'prometheus_metrics_app'?" in message
    assert "MonitorProvider.register(container)" in message
    empty = SimpleContainer()
    with pytest.raises(LookupError, match=r"registered by MonitorProvider\.register"):
        await empty.resolve("prometheus_metrics_app")
