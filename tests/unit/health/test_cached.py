"""CachedHealthChecker (TTL, single flight, background refresh, database) and its registry."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.health import (
    CachedHealthChecker,
    HealthChecker,
    HealthCheckerRegistry,
    HealthCheckResult,
    HealthStatus,
)


class Counting:
    """An async check counting its runs; it can be held open with ``gate``."""

    def __init__(self, value: object = True) -> None:
        self.runs = 0
        self.value = value
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> object:
        self.runs += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.value


def cached_with(check: Any, clock: FakeClock, ttl: float = 5.0) -> CachedHealthChecker:
    checker = HealthChecker(clock=clock)
    checker.add("probe", check)
    return CachedHealthChecker(cache_ttl=ttl, checker=checker, clock=clock)


# -- caching ---------------------------------------------------------------------------


async def test_results_are_reused_within_the_ttl() -> None:
    """Within cache_ttl the checks do not run again; after it they do."""
    clock, check = FakeClock(), Counting()
    cached = cached_with(check, clock, ttl=5.0)
    await cached.run_all_with_summary()
    clock.advance(4.9)
    status, results = await cached.run_all_with_summary()
    assert check.runs == 1
    assert status is HealthStatus.HEALTHY
    assert results["probe"].is_healthy()
    clock.advance(0.2)
    await cached.run_all_with_summary()
    assert check.runs == 2


async def test_zero_ttl_never_reuses() -> None:
    """cache_ttl=0 runs the checks on every call."""
    clock, check = FakeClock(), Counting()
    cached = cached_with(check, clock, ttl=0)
    for _ in range(3):
        await cached.run_readiness()
    assert check.runs == 3


async def test_concurrent_callers_after_expiry_share_one_run() -> None:
    """500 concurrent probes against an expired cache run the checks once."""
    clock, check = FakeClock(), Counting()
    check.gate = asyncio.Event()
    cached = cached_with(check, clock)
    callers = [asyncio.ensure_future(cached.run_all_with_summary()) for _ in range(500)]
    await asyncio.sleep(0)
    check.gate.set()
    outcomes = await asyncio.gather(*callers)
    assert check.runs == 1
    assert {status for status, _ in outcomes} == {HealthStatus.HEALTHY}


async def test_a_cancelled_caller_does_not_cancel_the_shared_run() -> None:
    """If one waiting caller is cancelled, the others still get the shared result."""
    clock, check = FakeClock(), Counting()
    check.gate = asyncio.Event()
    cached = cached_with(check, clock)
    first = asyncio.ensure_future(cached.run_all_with_summary())
    second = asyncio.ensure_future(cached.run_all_with_summary())
    await asyncio.sleep(0)
    first.cancel()
    check.gate.set()
    status, _ = await second
    assert status is HealthStatus.HEALTHY
    assert check.runs == 1


async def test_callers_get_copies() -> None:
    """Mutating a returned mapping does not change what the next caller gets."""
    cached = cached_with(Counting(), FakeClock())
    _, results = await cached.run_all_with_summary()
    results.clear()
    _, again = await cached.run_all_with_summary()
    assert "probe" in again


async def test_each_probe_kind_has_its_own_entry() -> None:
    """Liveness and readiness are cached separately; invalidate() forgets everything."""
    clock = FakeClock()
    live, ready = Counting(), Counting()
    checker = HealthChecker(clock=clock)
    checker.add("live", live, category="liveness")
    checker.add("ready", ready)
    cached = CachedHealthChecker(checker=checker, clock=clock)
    await cached.run_liveness()
    await cached.run_liveness()
    await cached.run_readiness()
    assert (live.runs, ready.runs) == (1, 1)
    cached.invalidate()
    await cached.run_liveness()
    assert live.runs == 2
    assert (await cached.run_startup())[1] == {}


async def test_health_check_summarises_the_cached_run() -> None:
    """health_check() summarises all checks as one result."""
    cached = cached_with(Counting("degraded"), FakeClock())
    summary = await cached.health_check()
    assert summary.component == "health"
    assert summary.status is HealthStatus.DEGRADED
    assert summary.details["probe"] == "degraded"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"cache_ttl": -1}, "cache_ttl=-1"),
        ({"cache_ttl": float("nan")}, "cache_ttl=nan"),
        ({"check_timeout": 0}, "check_timeout=0"),
        ({"check_timeout": "2"}, "check_timeout='2'"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], fragment: str) -> None:
    """Negative or non-numeric TTLs and non-positive timeouts raise ValueError."""
    with pytest.raises(ValueError, match=fragment):
        CachedHealthChecker(**kwargs)


# -- database provider -----------------------------------------------------------------


class AsyncHealthDb:
    async def health_check(self) -> dict[str, Any]:
        return {"status": "degraded", "message": "replica lag", "lag_s": 3}


class SyncHealthDb:
    def health_check(self) -> HealthCheckResult:
        return HealthCheckResult(component="database", status=HealthStatus.HEALTHY)


class AsyncExecuteDb:
    def __init__(self) -> None:
        self.queries: list[str] = []

    async def execute(self, sql: str) -> None:
        self.queries.append(sql)


class SyncExecuteDb(AsyncExecuteDb):
    def execute(self, sql: str) -> None:  # type: ignore[override]
        self.queries.append(sql)


class FailingDb:
    async def execute(self, sql: str) -> None:
        raise ConnectionError("host=db.internal password=x")


class HangingDb:
    async def execute(self, sql: str) -> None:
        await asyncio.Event().wait()


async def test_db_health_check_result_or_dict_is_used() -> None:
    """A provider's health_check() (async dict or sync result) is the database status."""
    degraded = CachedHealthChecker(db_provider=AsyncHealthDb())
    status, results = await degraded.run_readiness()
    assert status is HealthStatus.DEGRADED
    assert results["database"].message == "replica lag"
    assert results["database"].details == {"lag_s": 3}
    healthy = CachedHealthChecker(db_provider=SyncHealthDb())
    assert (await healthy.run_all_with_summary())[0] is HealthStatus.HEALTHY


@pytest.mark.parametrize("db_type", [AsyncExecuteDb, SyncExecuteDb])
async def test_db_without_health_check_runs_select_one(db_type: type[AsyncExecuteDb]) -> None:
    """Without health_check(), execute('SELECT 1') succeeding means healthy."""
    db = db_type()
    cached = CachedHealthChecker(db_provider=db)
    _, results = await cached.run_readiness()
    assert results["database"].is_healthy()
    assert results["database"].message == "SELECT 1 succeeded"
    assert db.queries == ["SELECT 1"]


async def test_db_failures_are_sanitised_and_hangs_time_out() -> None:
    """A raising database is UNHEALTHY without its text; a hanging one times out."""
    failing = CachedHealthChecker(db_provider=FailingDb())
    result = (await failing.run_readiness())[1]["database"]
    assert result.message == "ConnectionError: check failed"
    hanging = CachedHealthChecker(db_provider=HangingDb(), check_timeout=0.02)
    result = (await hanging.run_readiness())[1]["database"]
    assert result.message == "timed out after 0.02s"


async def test_db_provider_without_a_usable_method_is_unknown() -> None:
    """A provider with neither health_check() nor execute() is UNKNOWN and says why."""
    cached = CachedHealthChecker(db_provider=object())
    result = (await cached.run_readiness())[1]["database"]
    assert result.status is HealthStatus.UNKNOWN
    assert "neither health_check() nor execute()" in result.message


async def test_missing_db_is_not_configured_never_healthy() -> None:
    """Without a provider the database is UNKNOWN 'not configured' and does not fail probes."""
    cached = CachedHealthChecker()
    status, results = await cached.run_readiness()
    assert status is HealthStatus.HEALTHY
    database = results["database"]
    assert database.status is HealthStatus.UNKNOWN
    assert database.message == "not configured"
    assert "database" in (await cached.run_all_with_summary())[1]
    assert "database" not in (await cached.run_liveness())[1]


async def test_a_db_check_goes_on_the_given_checker() -> None:
    """With an explicit checker, the database check is added to it under 'database'."""
    checker = HealthChecker()
    CachedHealthChecker(db_provider=AsyncExecuteDb(), checker=checker)
    assert checker.check_names == ["database"]


# -- background refresh ----------------------------------------------------------------


async def test_background_refresh_runs_without_callers() -> None:
    """start_background_refresh runs the checks now and then every interval until stopped."""
    clock, check = FakeClock(), Counting()
    cached = cached_with(check, clock)
    cached.start_background_refresh(0.001)
    assert cached.is_refreshing
    for _ in range(500):
        if check.runs >= 3:
            break
        await asyncio.sleep(0.002)
    assert check.runs >= 3
    await cached.stop_background_refresh()
    assert not cached.is_refreshing
    runs = check.runs
    await asyncio.sleep(0.01)
    assert check.runs == runs
    await cached.stop_background_refresh()  # idempotent


async def test_background_refresh_survives_failures(caplog: pytest.LogCaptureFixture) -> None:
    """A failing refresh is logged and the loop keeps going."""

    class FlakyChecker:
        def __init__(self) -> None:
            self.calls = 0

        async def run_all_with_summary(self) -> tuple[HealthStatus, dict[str, Any]]:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("first refresh fails")
            return HealthStatus.HEALTHY, {}

    flaky = FlakyChecker()
    cached = CachedHealthChecker(checker=flaky, cache_ttl=0)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.health"):
        cached.start_background_refresh(0.001)
        for _ in range(500):
            if flaky.calls >= 2:
                break
            await asyncio.sleep(0.002)
        await cached.stop_background_refresh()
    assert flaky.calls >= 2
    assert "background health refresh failed" in caplog.text


def test_background_refresh_needs_a_loop_and_a_positive_interval() -> None:
    """Outside a running loop, or with interval <= 0, start_background_refresh refuses."""
    cached = CachedHealthChecker()
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        cached.start_background_refresh(1.0)
    with pytest.raises(ValueError, match="interval=0"):
        cached.start_background_refresh(0)


# -- HealthCheckerRegistry -------------------------------------------------------------


def test_get_or_create_returns_one_instance_per_key() -> None:
    """The first call creates; later calls return the same instance and ignore the arguments."""
    registry = HealthCheckerRegistry()
    api = registry.get_or_create("api", cache_ttl=1.0, check_timeout=0.5)
    again = registry.get_or_create("api", cache_ttl=99.0)
    assert again is api
    assert (api.cache_ttl, api.check_timeout) == (1.0, 0.5)
    assert registry.get_or_create() is registry.get_checker("default")
    assert registry.get_checker("worker") is None


def test_list_checkers_is_a_copy() -> None:
    """list_checkers returns a snapshot; changing it does not change the registry."""
    registry = HealthCheckerRegistry()
    api = registry.get_or_create("api")
    snapshot = registry.list_checkers()
    assert snapshot == {"api": api}
    snapshot.clear()
    assert registry.get_checker("api") is api


async def test_cleanup_stops_refreshes_clears_and_is_idempotent() -> None:
    """cleanup stops every background refresh, empties the registry and can run twice."""
    registry = HealthCheckerRegistry()
    api = registry.get_or_create("api", db_provider=AsyncExecuteDb())
    api.start_background_refresh(60)
    await registry.cleanup()
    assert not api.is_refreshing
    assert registry.list_checkers() == {}
    await registry.cleanup()
