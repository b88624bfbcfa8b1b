"""Profiling helpers: summary, monitored regions and one-off profiles."""

from __future__ import annotations

import asyncio

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.profiling import (
    FunctionProfileResult,
    PerformanceMetrics,
    PerformanceMonitor,
    PerformanceMonitorConfig,
    PerformanceMonitorState,
    PerformanceSnapshot,
    get_performance_summary,
    monitor_async_operation,
    profile_async_function,
)

MB = 1024 * 1024


def profile(name: str, seconds: float, error: str | None = None) -> FunctionProfileResult:
    return FunctionProfileResult(name, seconds, seconds / 2, 0.0, error=error)


async def test_summary_of_a_run() -> None:
    """The summary reports duration, counts, CPU/memory/task averages and peaks, profiles."""
    clock = FakeClock()
    metrics = PerformanceMetrics(max_snapshots=2, clock=clock)
    metrics.mark_started()
    for cpu, rss, tasks in ((10.0, 100, 2), (30.0, 300, 6), (20.0, 200, 4)):
        clock.advance(1.0)
        metrics.add_snapshot(PerformanceSnapshot(clock.time(), cpu, rss * MB, tasks, 3))
    metrics.function_profiles.extend([profile("a", 0.5), profile("b", 1.5, "ValueError: x")])
    clock.advance(1.0)
    metrics.mark_stopped()

    summary = await get_performance_summary(metrics)
    assert summary == {
        "duration": 4.0,
        "samples_taken": 3,
        "snapshot_count": 2,
        "samples_per_second": 0.75,
        "sampling_errors": 0,
        "avg_cpu_percent": 20.0,
        "peak_cpu_percent": 30.0,
        "avg_memory_rss_bytes": 200.0 * MB,
        "peak_memory_rss_bytes": 300 * MB,
        "avg_memory_mb": 200.0,
        "peak_memory_mb": 300.0,
        "avg_active_tasks": 4.0,
        "peak_active_tasks": 6,
        "function_profiles": 2,
        "failed_function_profiles": 1,
        "total_profiled_time": 2.0,
        "has_profile_data": True,
    }


async def test_summary_of_an_empty_run() -> None:
    """Untracked or unsampled values are None; no profiles means has_profile_data False."""
    summary = await get_performance_summary(PerformanceMetrics())
    assert summary["duration"] is None
    assert summary["samples_taken"] == 0
    assert summary["avg_cpu_percent"] is None
    assert summary["peak_memory_mb"] is None
    assert summary["peak_active_tasks"] is None
    assert summary["has_profile_data"] is False


async def test_monitor_async_operation_brackets_the_region() -> None:
    """The monitor runs inside the block, is stopped after it and has a duration."""
    config = PerformanceMonitorConfig(sampling_interval=60.0, track_tasks=False)
    async with monitor_async_operation(config) as monitor:
        assert isinstance(monitor, PerformanceMonitor)
        assert monitor.state is PerformanceMonitorState.RUNNING
        assert monitor.config is config
        await asyncio.sleep(0)
    assert monitor.state is PerformanceMonitorState.STOPPED
    assert monitor.metrics.duration is not None
    assert monitor.metrics.samples_taken == 1  # the final snapshot
    assert monitor.metrics.snapshots[0].active_tasks is None


async def test_monitor_async_operation_uses_the_default_config() -> None:
    """Without a config the defaults apply."""
    async with monitor_async_operation() as monitor:
        assert monitor.config == PerformanceMonitorConfig()


async def test_profile_async_function_returns_result_and_profile() -> None:
    """The helper returns (return value, profile) for async and sync callables."""

    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    result, prof = await profile_async_function(double, 21)
    assert result == 42
    assert prof.function_name.endswith("double")
    assert prof.execution_time >= 0.0
    assert prof.success
    result, _ = await profile_async_function(max, 3, 9)
    assert result == 9


async def test_profile_async_function_propagates_exceptions() -> None:
    """The profiled function's exception reaches the caller unchanged."""

    async def broken() -> None:
        raise LookupError("missing")

    with pytest.raises(LookupError, match="missing"):
        await profile_async_function(broken)
