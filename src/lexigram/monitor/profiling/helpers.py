"""One-call helpers over :class:`~.monitor.PerformanceMonitor`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from .monitor import PerformanceMonitor, PerformanceMonitorConfig
from .results import MIB, FunctionProfileResult, PerformanceMetrics

__all__ = ["get_performance_summary", "monitor_async_operation", "profile_async_function"]


async def get_performance_summary(metrics: PerformanceMetrics) -> dict[str, Any]:
    """Return a dictionary summary of performance metrics.

    Keys: ``duration`` (s or None), ``samples_taken``, ``snapshot_count`` (kept),
    ``samples_per_second``, ``sampling_errors``, ``avg_cpu_percent``,
    ``peak_cpu_percent``, ``avg_memory_rss_bytes``, ``peak_memory_rss_bytes``,
    ``avg_memory_mb``, ``peak_memory_mb``, ``avg_active_tasks``, ``peak_active_tasks``,
    ``function_profiles``, ``failed_function_profiles``, ``total_profiled_time`` (s)
    and ``has_profile_data``. Averages and peaks cover every sample taken; a value not
    tracked is None.
    """
    profiles = list(metrics.function_profiles)
    avg_memory = metrics.memory.mean
    peak_memory = metrics.memory.peak
    return {
        "duration": metrics.duration,
        "samples_taken": metrics.samples_taken,
        "snapshot_count": len(metrics.snapshots),
        "samples_per_second": metrics.samples_per_second,
        "sampling_errors": metrics.sampling_errors,
        "avg_cpu_percent": metrics.cpu.mean,
        "peak_cpu_percent": metrics.cpu.peak,
        "avg_memory_rss_bytes": avg_memory,
        "peak_memory_rss_bytes": None if peak_memory is None else int(peak_memory),
        "avg_memory_mb": None if avg_memory is None else avg_memory / MIB,
        "peak_memory_mb": None if peak_memory is None else peak_memory / MIB,
        "avg_active_tasks": metrics.tasks.mean,
        "peak_active_tasks": None if metrics.tasks.peak is None else int(metrics.tasks.peak),
        "function_profiles": len(profiles),
        "failed_function_profiles": sum(1 for p in profiles if not p.success),
        "total_profiled_time": sum(p.execution_time for p in profiles),
        "has_profile_data": metrics.has_profile_data,
    }


@contextlib.asynccontextmanager
async def monitor_async_operation(
    config: PerformanceMonitorConfig | None = None,
) -> AsyncGenerator[PerformanceMonitor, None]:
    """Async context manager that monitors a region of async code.

    Creates a PerformanceMonitor, starts it before entering the body, and stops it on
    exit (also when the body raises)::

        async with monitor_async_operation() as monitor:
            await do_some_work()
        print(monitor.metrics.duration)
    """
    monitor = PerformanceMonitor(config)
    async with monitor.monitor_context():
        yield monitor


async def profile_async_function(
    func: Any, /, *args: Any, **kwargs: Any
) -> tuple[Any, FunctionProfileResult]:
    """Profile a single async (or sync) function call with the default configuration.

    Returns ``(result, profile)``; an exception of *func* propagates unchanged::

        result, profile = await profile_async_function(my_async_fn, arg1)
        print(profile.execution_time)
    """
    return await PerformanceMonitor().profile_call(func, *args, **kwargs)
