"""Self-telemetry: duration histogram, status gauge and HealthCheckRunHook per check run."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from lexigram.monitor.health import HealthChecker, HealthStatus
from lexigram.monitor.health._telemetry import DURATION_METRIC, STATUS_METRIC
from lexigram.monitor.hooks import HealthCheckRunHook, default_bus
from lexigram.monitor.metrics import MetricsCollector, get_default_collector


class BrokenCollector:
    """A collector whose instruments cannot be created."""

    def create_histogram(self, name: str, description: str = "") -> Any:
        raise RuntimeError("metrics backend down")

    def create_gauge(self, name: str, description: str = "") -> Any:
        raise RuntimeError("metrics backend down")


async def test_each_run_records_duration_and_status_per_check() -> None:
    """Every run observes the duration (seconds) and sets the status gauge, labelled by check."""
    collector = MetricsCollector()
    checker = HealthChecker(collector=collector)
    checker.add("db", lambda: True)
    checker.add("cache", lambda: "degraded")
    checker.add("queue", lambda: False)
    await checker.run_all()
    await checker.run_all()
    duration = collector.create_histogram(DURATION_METRIC)
    status = collector.create_gauge(STATUS_METRIC)
    assert duration.get_count(labels={"check": "db"}) == 2
    assert duration.get_sum(labels={"check": "db"}) >= 0.0
    assert status.get_value(labels={"check": "db"}) == 1.0
    assert status.get_value(labels={"check": "cache"}) == 0.5
    assert status.get_value(labels={"check": "queue"}) == 0.0


async def test_the_default_collector_is_used_when_none_is_given() -> None:
    """Without a collector the process default collector receives the self-metrics."""
    checker = HealthChecker()
    checker.add("db", lambda: True)
    await checker.run_liveness()
    await checker.run_readiness()
    status = get_default_collector().create_gauge(STATUS_METRIC)
    assert status.get_value(labels={"check": "db"}) == 1.0


async def test_a_hook_is_emitted_per_check_when_subscribed() -> None:
    """Subscribers of HealthCheckRunHook get one payload per check with its outcome."""
    seen: list[HealthCheckRunHook] = []
    default_bus.subscribe(HealthCheckRunHook, seen.append)
    checker = HealthChecker(collector=MetricsCollector())
    checker.add("db", lambda: True)
    checker.add("cache", lambda: False, category="liveness")
    await checker.run_all()
    by_name = {hook.check_name: hook for hook in seen}
    assert set(by_name) == {"db", "cache"}
    assert by_name["db"].healthy
    assert by_name["db"].status == "healthy"
    assert not by_name["cache"].healthy
    assert by_name["cache"].message == "check returned False"
    assert by_name["cache"].category == "liveness"
    assert by_name["db"].duration_ms >= 0.0


async def test_broken_metrics_never_break_a_run(caplog: pytest.LogCaptureFixture) -> None:
    """When recording fails the results still come back; the failure is logged and counted."""
    checker = HealthChecker(collector=BrokenCollector())
    checker.add("db", lambda: True)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.health"):
        status, results = await checker.run_all_with_summary()
    assert status is HealthStatus.HEALTHY
    assert results["db"].is_healthy()
    assert checker.telemetry_errors == 1
    assert "recording health check metrics failed" in caplog.text
