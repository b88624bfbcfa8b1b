"""HealthCheckRegistry: categorised checks, criticality, timeouts, one-result summary."""

from __future__ import annotations

import asyncio

import pytest

from lexigram.monitor.health import (
    HealthChecker,
    HealthCheckProtocol,
    HealthCheckRegistry,
    HealthStatus,
)
from lexigram.monitor.protocols import HealthCheckRegistryProtocol


def test_it_satisfies_both_protocols() -> None:
    """The registry is a HealthCheckRegistryProtocol and, via check(), a HealthCheckProtocol."""
    registry = HealthCheckRegistry()
    assert isinstance(registry, HealthCheckRegistryProtocol)
    assert isinstance(registry, HealthCheckProtocol)


def test_categories_default_to_readiness() -> None:
    """Checks added without a category are readiness checks; the category lists say so."""
    registry = HealthCheckRegistry()
    registry.add("db", lambda: True)
    registry.add("loop", lambda: True, category="liveness")
    registry.add("migrations", lambda: True, category="startup")
    assert registry.readiness_checks == ["db"]
    assert registry.liveness_checks == ["loop"]
    assert registry.startup_checks == ["migrations"]
    assert registry.check_names == ["db", "loop", "migrations"]
    assert registry.has("db")
    registry.remove("db")
    assert not registry.has("db")


async def test_startup_runs_separately_from_liveness() -> None:
    """run_liveness never runs startup checks, and run_startup runs only them."""
    registry = HealthCheckRegistry()
    registry.add("loop", lambda: True, category="liveness")
    registry.add("warmup", lambda: "starting", category="startup")
    live_status, live = await registry.run_liveness()
    start_status, start = await registry.run_startup()
    assert (live_status, list(live)) == (HealthStatus.HEALTHY, ["loop"])
    assert (start_status, list(start)) == (HealthStatus.UNHEALTHY, ["warmup"])
    _, ready = await registry.run_readiness()
    assert ready == {}


async def test_non_critical_failures_degrade_and_critical_ones_fail() -> None:
    """A failing critical=False check gives DEGRADED; a failing critical one UNHEALTHY."""
    registry = HealthCheckRegistry()
    registry.add("db", lambda: True)
    registry.add("cache", lambda: False, critical=False)
    status, results = await registry.run_all()
    assert status is HealthStatus.DEGRADED
    assert results["cache"].status is HealthStatus.DEGRADED
    registry.add("queue", lambda: False)
    assert (await registry.run_all())[0] is HealthStatus.UNHEALTHY


async def test_per_check_timeouts_are_honoured() -> None:
    """A check exceeding its timeout is UNHEALTHY 'timed out after Ns'."""

    async def hang() -> None:
        await asyncio.Event().wait()

    registry = HealthCheckRegistry()
    registry.add("hang", hang, timeout=0.02)
    _, results = await registry.run_all()
    assert results["hang"].message == "timed out after 0.02s"


async def test_health_check_summarises_every_check() -> None:
    """health_check() returns one result with the aggregate and each check's status."""
    registry = HealthCheckRegistry()
    registry.add("db", lambda: True)
    registry.add("cache", lambda: "degraded")
    summary = await registry.health_check()
    assert summary.component == "health_registry"
    assert summary.status is HealthStatus.DEGRADED
    assert summary.details == {"db": "healthy", "cache": "degraded"}
    assert (await registry.check()).status is HealthStatus.DEGRADED


async def test_health_check_has_an_overall_deadline() -> None:
    """health_check(timeout) gives UNHEALTHY 'timed out after Ns' when the run takes longer."""

    async def slow() -> bool:
        await asyncio.sleep(1)
        return True

    registry = HealthCheckRegistry()
    registry.add("slow", slow, timeout=30)
    summary = await registry.health_check(timeout=0.02)
    assert summary.status is HealthStatus.UNHEALTHY
    assert summary.message == "timed out after 0.02s"
    with pytest.raises(ValueError, match="timeout=0 is invalid"):
        await registry.health_check(timeout=0)


async def test_a_registry_can_be_a_check_of_a_checker() -> None:
    """Registries nest: a HealthChecker runs a registry through its check() method."""
    inner = HealthCheckRegistry()
    inner.add("db", lambda: False)
    outer = HealthChecker()
    outer.add("inner", inner)
    assert (await outer.run_all())["inner"].status is HealthStatus.UNHEALTHY
