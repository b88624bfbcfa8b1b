"""Async performance monitor: periodic CPU/memory/task snapshots and function profiling.

The records it produces (snapshots, function profiles, their aggregate) live in
:mod:`.results`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import PROFILING_SAMPLING_FAILURES, count_failure, failure_reason
from ..exceptions import PerformanceMonitorError
from ._system import MemoryProbe, ResourceReader, default_reader, traced_memory
from .results import FunctionProfileResult, PerformanceMetrics, PerformanceSnapshot

__all__ = ["PerformanceMonitor", "PerformanceMonitorConfig", "PerformanceMonitorState"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.profiling"))


class PerformanceMonitorConfig(BaseModel):
    """Configuration for performance monitoring.

    Attributes:
        sampling_interval: Seconds between snapshots while monitoring (0 < x <= 3600).
        max_snapshots: Snapshots kept in :attr:`PerformanceMetrics.snapshots`; older
            ones are dropped (averages and peaks still cover every sample).
        max_function_profiles: Profiles kept in :attr:`PerformanceMetrics.function_profiles`.
        track_cpu: Put the process CPU usage (percent of one core) in snapshots.
        track_memory: Put the resident memory (RSS) in snapshots.
        track_tasks: Put the number of asyncio tasks of the loop (the sampler's own
            task excluded) in snapshots.
        enable_tracemalloc: Measure net Python allocations of profiled functions with a
            scoped tracemalloc (slows the profiled call down noticeably).
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore", frozen=True)

    sampling_interval: float = Field(default=1.0, gt=0, le=3600)
    max_snapshots: int = Field(default=1000, ge=1, le=1_000_000)
    max_function_profiles: int = Field(default=1000, ge=1, le=1_000_000)
    track_cpu: bool = True
    track_memory: bool = True
    track_tasks: bool = True
    enable_tracemalloc: bool = False


class PerformanceMonitorState(StrEnum):
    """State of the performance monitor: ``idle`` -> ``running`` -> ``stopped``."""

    IDLE = "idle"
    RUNNING = "running"
    STOPPED = "stopped"


Sleep = Callable[[float], Awaitable[None]]


class PerformanceMonitor:
    """Async performance monitor with periodic CPU/memory sampling.

    Collects snapshots at ``config.sampling_interval`` intervals while active, in an
    asyncio task of the running loop; a final snapshot is taken by
    :meth:`stop_monitoring`, so every run has at least one. Use
    start_monitoring / stop_monitoring or the async :meth:`monitor_context` to bracket
    monitored regions; each start begins a fresh :class:`PerformanceMetrics`. A failing
    reading is logged (rate limited) and counted in ``metrics.sampling_errors`` and
    ``lexigram_monitor_profiling_sampling_failures_total``; the sampling task keeps going.
    *reader*, *clock* and *sleep* are injectable for tests.
    """

    def __init__(
        self,
        config: PerformanceMonitorConfig | None = None,
        *,
        reader: ResourceReader | None = None,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._config = config if config is not None else PerformanceMonitorConfig()
        self._reader = reader
        self._clock = clock
        self._sleep = sleep
        self._state = PerformanceMonitorState.IDLE
        self._metrics = self._new_metrics()
        self._task: asyncio.Task[None] | None = None
        self._last: tuple[float, float] | None = None  # (monotonic, cpu seconds)

    @property
    def config(self) -> PerformanceMonitorConfig:
        """The configuration in use."""
        return self._config

    @property
    def state(self) -> PerformanceMonitorState:
        """Return the current monitoring state."""
        return self._state

    @property
    def metrics(self) -> PerformanceMetrics:
        """Return the accumulated performance metrics (of the current or last run)."""
        return self._metrics

    async def start_monitoring(self) -> None:
        """Start periodic metrics collection.

        Raises :class:`PerformanceMonitorError` if monitoring is already active.
        """
        if self._state is PerformanceMonitorState.RUNNING:
            raise PerformanceMonitorError(
                "performance monitoring is already active: call stop_monitoring() before "
                "starting again, or use a separate PerformanceMonitor",
                state=self._state.value,
            )
        if self._reader is None:
            self._reader = default_reader()
        self._metrics = self._new_metrics()
        self._metrics.mark_started()
        self._last = self._baseline()
        self._state = PerformanceMonitorState.RUNNING
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="lexigram-monitor-profiling"
        )

    async def stop_monitoring(self) -> None:
        """Stop metrics collection and finalise metrics (a final snapshot, the end time).

        Does nothing when monitoring is not active.
        """
        if self._state is not PerformanceMonitorState.RUNNING:
            return
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.sample_now()
        self._metrics.mark_stopped()
        self._state = PerformanceMonitorState.STOPPED

    @contextlib.asynccontextmanager
    async def monitor_context(self) -> AsyncGenerator[PerformanceMonitor, None]:
        """Async context manager that starts and stops monitoring automatically."""
        await self.start_monitoring()
        try:
            yield self
        finally:
            await self.stop_monitoring()

    def sample_now(self) -> PerformanceSnapshot | None:
        """Take a snapshot now and add it to the metrics; None if the reading failed."""
        try:
            snapshot = self._snapshot()
        except Exception as exc:
            self._metrics.sampling_errors += 1
            count_failure(PROFILING_SAMPLING_FAILURES, failure_reason(exc))
            _log.warning(
                f"profiling:sample:{type(exc).__name__}",
                "performance sampling failed: %s: %s",
                type(exc).__name__,
                exc,
            )
            return None
        self._metrics.add_snapshot(snapshot)
        return snapshot

    async def profile_function(
        self, func: Any, /, *args: Any, **kwargs: Any
    ) -> FunctionProfileResult:
        """Profile a synchronous or asynchronous function.

        Calls ``func(*args, **kwargs)`` (awaiting the result when it is awaitable) and
        records a :class:`FunctionProfileResult` in ``metrics.function_profiles``. If
        the call raises, the result is recorded with ``error`` set and the exception is
        re-raised. A sync function runs in the caller's thread, as a direct call would.
        """
        _, profile = await self.profile_call(func, *args, **kwargs)
        return profile

    async def profile_call(
        self, func: Any, /, *args: Any, **kwargs: Any
    ) -> tuple[Any, FunctionProfileResult]:
        """Like :meth:`profile_function`, returning ``(return value, profile)``."""
        name = getattr(func, "__qualname__", None) or repr(func)
        scope: contextlib.AbstractContextManager[MemoryProbe | None] = (
            traced_memory() if self._config.enable_tracemalloc else contextlib.nullcontext()
        )
        error: Exception | None = None
        result: Any = None
        started_at = self._clock.time()
        with scope as probe:
            wall0, cpu0 = self._clock.monotonic(), time.thread_time()
            try:
                result = func(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                error = exc
            wall1, cpu1 = self._clock.monotonic(), time.thread_time()
        profile = FunctionProfileResult(
            function_name=name,
            execution_time=wall1 - wall0,
            cpu_time=cpu1 - cpu0,
            started_at=started_at,
            memory_delta_bytes=probe.delta_bytes if probe is not None else None,
            memory_peak_bytes=probe.peak_bytes if probe is not None else None,
            error=None if error is None else f"{type(error).__name__}: {error}",
        )
        self._metrics.function_profiles.append(profile)
        if error is not None:
            raise error
        return result, profile

    def _new_metrics(self) -> PerformanceMetrics:
        config = self._config
        return PerformanceMetrics(
            config.max_snapshots, config.max_function_profiles, clock=self._clock
        )

    def _baseline(self) -> tuple[float, float] | None:
        if not self._config.track_cpu or self._reader is None:
            return None
        try:
            return self._clock.monotonic(), self._reader.read().cpu_seconds
        except Exception:
            return None

    async def _run(self) -> None:
        interval = self._config.sampling_interval
        while True:
            await self._sleep(interval)
            self.sample_now()

    def _snapshot(self) -> PerformanceSnapshot:
        config = self._config
        reading = None
        if self._reader is not None and (config.track_cpu or config.track_memory):
            reading = self._reader.read()
        cpu_percent = None
        if reading is not None and config.track_cpu:
            now = self._clock.monotonic()
            if self._last is not None and now > self._last[0]:
                cpu_percent = max(
                    (reading.cpu_seconds - self._last[1]) / (now - self._last[0]) * 100.0, 0.0
                )
            self._last = (now, reading.cpu_seconds)
        tasks = None
        if config.track_tasks:
            with contextlib.suppress(RuntimeError):  # no running loop
                # The sampling task itself is not part of the application's work.
                tasks = sum(1 for task in asyncio.all_tasks() if task is not self._task)
        return PerformanceSnapshot(
            timestamp=self._clock.time(),
            cpu_percent=cpu_percent,
            memory_rss_bytes=reading.rss_bytes if reading and config.track_memory else None,
            active_tasks=tasks,
            thread_count=reading.threads if reading is not None else None,
        )
