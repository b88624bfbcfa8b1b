"""PerformanceMonitor: lifecycle, periodic sampling, bounds, config flags, profiling."""

from __future__ import annotations

import asyncio
import logging
import tracemalloc
from typing import Any

import pydantic
import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.exceptions import MonitorError, PerformanceMonitorError
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.profiling import (
    FunctionProfileResult,
    PerformanceMonitor,
    PerformanceMonitorConfig,
    PerformanceMonitorState,
    PerformanceSnapshot,
)
from lexigram.monitor.profiling._system import ResourceReading

MB = 1024 * 1024


class FakeReader:
    """Process readings under the test's control; counts reads."""

    source = "fake"

    def __init__(self) -> None:
        self.cpu_seconds = 10.0
        self.rss_bytes = 100 * MB
        self.threads = 3
        self.reads = 0
        self.failing = False

    def read(self) -> ResourceReading:
        self.reads += 1
        if self.failing:
            raise OSError("process table unavailable")
        return ResourceReading(self.cpu_seconds, self.rss_bytes, self.threads)


class Ticker:
    """Fake sleep: each sampling interval passes only when the test calls tick()."""

    def __init__(self, clock: FakeClock, reader: FakeReader, cpu_share: float = 0.5) -> None:
        self.clock = clock
        self.reader = reader
        self.cpu_share = cpu_share
        self.requested: list[float] = []
        self._gate: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        await self._gate.get()
        self.clock.advance(seconds)
        self.reader.cpu_seconds += seconds * self.cpu_share

    async def tick(self, monitor: PerformanceMonitor, count: int = 1) -> None:
        target = monitor.metrics.samples_taken + monitor.metrics.sampling_errors + count
        for _ in range(count):
            self._gate.put_nowait(None)
        for _ in range(1000):
            if monitor.metrics.samples_taken + monitor.metrics.sampling_errors >= target:
                return
            await asyncio.sleep(0)
        raise AssertionError("the sampler did not take the expected snapshots")


@pytest.fixture
def reader() -> FakeReader:
    return FakeReader()


@pytest.fixture
def ticker(clock: FakeClock, reader: FakeReader) -> Ticker:
    return Ticker(clock, reader)


def make(clock: FakeClock, reader: FakeReader, ticker: Ticker, **config: Any) -> PerformanceMonitor:
    return PerformanceMonitor(
        PerformanceMonitorConfig(**config), reader=reader, clock=clock, sleep=ticker.sleep
    )


async def test_lifecycle_states(clock: FakeClock, reader: FakeReader, ticker: Ticker) -> None:
    """idle -> running -> stopped; a second start while running raises; restart is allowed."""
    monitor = make(clock, reader, ticker)
    assert monitor.state is PerformanceMonitorState.IDLE
    await monitor.start_monitoring()
    assert monitor.state is PerformanceMonitorState.RUNNING
    with pytest.raises(PerformanceMonitorError, match="already active") as caught:
        await monitor.start_monitoring()
    assert isinstance(caught.value, MonitorError)
    assert caught.value.details == {"state": "running"}
    await monitor.stop_monitoring()
    assert monitor.state is PerformanceMonitorState.STOPPED
    first = monitor.metrics
    await monitor.start_monitoring()
    assert monitor.metrics is not first
    await monitor.stop_monitoring()


async def test_stop_when_not_running_does_nothing(
    clock: FakeClock, reader: FakeReader, ticker: Ticker
) -> None:
    """stop_monitoring() before any start leaves the monitor idle and takes no snapshot."""
    monitor = make(clock, reader, ticker)
    await monitor.stop_monitoring()
    assert monitor.state is PerformanceMonitorState.IDLE
    assert monitor.metrics.samples_taken == 0


async def test_snapshots_are_taken_every_sampling_interval(
    clock: FakeClock, reader: FakeReader, ticker: Ticker
) -> None:
    """The sampler sleeps sampling_interval between snapshots; stop adds a final one."""
    monitor = make(clock, reader, ticker, sampling_interval=2.0)
    await monitor.start_monitoring()
    await ticker.tick(monitor, 3)
    assert monitor.metrics.samples_taken == 3
    await monitor.stop_monitoring()
    metrics = monitor.metrics
    assert set(ticker.requested) == {2.0}
    assert metrics.samples_taken == 4
    assert [s.timestamp - metrics.start_time for s in metrics.snapshots] == [2.0, 4.0, 6.0, 6.0]  # type: ignore[operator]
    first = metrics.snapshots[0]
    assert first.cpu_percent == pytest.approx(50.0)
    assert first.memory_rss_bytes == 100 * MB
    assert first.memory_mb == 100.0
    assert first.thread_count == 3
    # Only the test's own task: the sampling task does not count itself.
    assert first.active_tasks == 1


async def test_cpu_percent_is_cpu_time_over_wall_time(
    clock: FakeClock, reader: FakeReader, ticker: Ticker
) -> None:
    """CPU percent is Δ process CPU / Δ wall time since the previous snapshot."""
    monitor = make(clock, reader, ticker)
    await monitor.start_monitoring()
    ticker.cpu_share = 1.5  # one and a half cores busy
    await ticker.tick(monitor)
    ticker.cpu_share = 0.0
    await ticker.tick(monitor)
    await monitor.stop_monitoring()  # no time passed since the last snapshot
    cpu = [s.cpu_percent for s in monitor.metrics.snapshots]
    assert cpu[:2] == [pytest.approx(150.0), pytest.approx(0.0)]
    assert cpu[2] is None


async def test_snapshot_history_is_bounded_but_aggregates_cover_everything(
    clock: FakeClock, reader: FakeReader, ticker: Ticker
) -> None:
    """Only max_snapshots snapshots are kept; averages and peaks use every sample."""
    monitor = make(clock, reader, ticker, max_snapshots=2)
    await monitor.start_monitoring()
    for rss in (100, 300, 200):
        reader.rss_bytes = rss * MB
        await ticker.tick(monitor)
    await monitor.stop_monitoring()
    metrics = monitor.metrics
    assert len(metrics.snapshots) == 2
    assert metrics.samples_taken == 4
    assert metrics.memory.peak == 300 * MB
    assert metrics.memory.mean == (100 + 300 + 200 + 200) * MB / 4


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"track_cpu": False}, ("cpu_percent",)),
        ({"track_memory": False}, ("memory_rss_bytes",)),
        ({"track_tasks": False}, ("active_tasks",)),
        ({"track_cpu": False, "track_memory": False}, ("cpu_percent", "memory_rss_bytes")),
    ],
)
async def test_tracking_flags_leave_fields_empty(
    clock: FakeClock,
    reader: FakeReader,
    ticker: Ticker,
    flags: dict[str, bool],
    expected: tuple[str, ...],
) -> None:
    """A field whose track_* flag is off is None in every snapshot; others are filled."""
    monitor = make(clock, reader, ticker, **flags)
    await monitor.start_monitoring()
    await ticker.tick(monitor)
    await monitor.stop_monitoring()
    snapshot = monitor.metrics.snapshots[0]
    for field in ("cpu_percent", "memory_rss_bytes", "active_tasks"):
        assert (getattr(snapshot, field) is None) is (field in expected), field


async def test_without_cpu_and_memory_the_process_is_never_read(
    clock: FakeClock, reader: FakeReader, ticker: Ticker
) -> None:
    """Turning both readings off skips the reader entirely."""
    monitor = make(clock, reader, ticker, track_cpu=False, track_memory=False)
    await monitor.start_monitoring()
    await ticker.tick(monitor, 2)
    await monitor.stop_monitoring()
    assert reader.reads == 0


async def test_a_failing_reading_is_counted_and_sampling_continues(
    clock: FakeClock,
    reader: FakeReader,
    ticker: Ticker,
    caplog: pytest.LogCaptureFixture,
    collector: MetricsCollector,
) -> None:
    """Errors are logged (rate limited) and counted; later snapshots still arrive."""
    monitor = make(clock, reader, ticker)
    await monitor.start_monitoring()
    reader.failing = True
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.profiling"):
        await ticker.tick(monitor, 2)
    reader.failing = False
    await ticker.tick(monitor)
    await monitor.stop_monitoring()
    assert monitor.metrics.sampling_errors == 2
    failures = collector.create_counter("lexigram_monitor_profiling_sampling_failures_total")
    assert failures.get_value({"reason": "OSError"}) == 2
    assert monitor.metrics.samples_taken == 2
    assert "OSError: process table unavailable" in caplog.text


async def test_duration_and_rate(clock: FakeClock, reader: FakeReader, ticker: Ticker) -> None:
    """duration is None before start, elapsed while running, fixed after stop."""
    monitor = make(clock, reader, ticker, sampling_interval=0.5)
    assert monitor.metrics.duration is None
    assert monitor.metrics.samples_per_second == 0.0
    await monitor.start_monitoring()
    await ticker.tick(monitor, 4)
    assert monitor.metrics.duration == 2.0
    await monitor.stop_monitoring()
    clock.advance(10.0)
    assert monitor.metrics.duration == 2.0
    assert monitor.metrics.samples_per_second == 5 / 2.0
    assert monitor.metrics.end_time == monitor.metrics.start_time + 2.0  # type: ignore[operator]


async def test_monitor_context_stops_even_when_the_body_raises(
    clock: FakeClock, reader: FakeReader, ticker: Ticker
) -> None:
    """monitor_context yields the running monitor and always stops it."""
    monitor = make(clock, reader, ticker)
    seen: list[PerformanceMonitorState] = []

    async def body() -> None:
        async with monitor.monitor_context() as running:
            assert running is monitor
            seen.append(monitor.state)
            raise KeyError("boom")

    with pytest.raises(KeyError):
        await body()
    assert seen == [PerformanceMonitorState.RUNNING]
    assert monitor.state is PerformanceMonitorState.STOPPED


async def test_real_sampling_task_runs_on_the_loop() -> None:
    """With the real clock and sleep, a short interval yields periodic snapshots."""
    monitor = PerformanceMonitor(PerformanceMonitorConfig(sampling_interval=0.002))
    async with monitor.monitor_context():
        for _ in range(200):
            if monitor.metrics.samples_taken >= 2:
                break
            await asyncio.sleep(0.002)
    assert monitor.metrics.samples_taken >= 3
    snapshot = monitor.metrics.snapshots[-1]
    assert isinstance(snapshot, PerformanceSnapshot)
    assert snapshot.memory_rss_bytes is not None
    assert snapshot.memory_rss_bytes > 0


async def test_profile_sync_function(clock: FakeClock) -> None:
    """A sync call is timed on the clock, its CPU time measured, and recorded."""
    monitor = PerformanceMonitor(clock=clock)

    def work(n: int, *, step: float) -> int:
        clock.advance(step)
        return sum(range(n))

    profile = await monitor.profile_function(work, 50_000, step=0.25)
    assert isinstance(profile, FunctionProfileResult)
    assert profile.function_name.endswith("work")
    assert profile.execution_time == 0.25
    assert profile.cpu_time >= 0.0
    assert profile.started_at == clock.time() - 0.25
    assert profile.success
    assert profile.memory_delta_bytes is None
    assert list(monitor.metrics.function_profiles) == [profile]


async def test_profile_async_function_and_awaitable_results(clock: FakeClock) -> None:
    """Coroutine functions and callables returning awaitables are awaited."""
    monitor = PerformanceMonitor(clock=clock)

    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        clock.advance(1.5)
        return x * 2

    result, profile = await monitor.profile_call(fetch, 21)
    assert result == 42
    assert profile.execution_time == 1.5
    result, _ = await monitor.profile_call(lambda: fetch(1))
    assert result == 2


async def test_profile_records_then_reraises_exceptions(clock: FakeClock) -> None:
    """A raising function is recorded with its error, then the exception propagates."""
    monitor = PerformanceMonitor(clock=clock)

    async def broken() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await monitor.profile_function(broken)
    (profile,) = monitor.metrics.function_profiles
    assert profile.error == "ValueError: boom"
    assert not profile.success


async def test_profile_passes_a_keyword_named_func() -> None:
    """func is positional-only, so the profiled function may take a `func` keyword."""

    def call(*, func: str) -> str:
        return func

    result, _ = await PerformanceMonitor().profile_call(call, func="ok")
    assert result == "ok"


async def test_function_profiles_are_bounded() -> None:
    """Only the max_function_profiles most recent profiles are kept."""
    monitor = PerformanceMonitor(PerformanceMonitorConfig(max_function_profiles=2))
    for i in range(5):
        await monitor.profile_function(lambda i=i: i)
    assert len(monitor.metrics.function_profiles) == 2


@pytest.mark.usefixtures("_no_tracemalloc")
async def test_tracemalloc_measures_memory_only_when_enabled() -> None:
    """enable_tracemalloc measures net allocations and peak, and stops tracing afterwards."""
    kept: list[bytearray] = []

    def allocate() -> None:
        kept.append(bytearray(2 * MB))
        bytearray(8 * MB)  # freed at once: counts in the peak, not in the delta

    monitor = PerformanceMonitor(PerformanceMonitorConfig(enable_tracemalloc=True))
    profile = await monitor.profile_function(allocate)
    assert profile.memory_delta_bytes is not None
    assert 2 * MB <= profile.memory_delta_bytes < 3 * MB
    assert profile.memory_peak_bytes is not None
    assert profile.memory_peak_bytes >= 8 * MB
    assert not tracemalloc.is_tracing()
    plain = await PerformanceMonitor().profile_function(allocate)
    assert plain.memory_delta_bytes is None


@pytest.mark.usefixtures("_no_tracemalloc")
async def test_tracemalloc_started_by_someone_else_is_left_alone() -> None:
    """When tracing was already on, it stays on and the shared peak is not reported."""
    tracemalloc.start()
    try:
        monitor = PerformanceMonitor(PerformanceMonitorConfig(enable_tracemalloc=True))
        profile = await monitor.profile_function(lambda: bytearray(MB))
        assert tracemalloc.is_tracing()
        assert profile.memory_delta_bytes is not None
        assert profile.memory_peak_bytes is None
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "fields",
    [
        {"sampling_interval": 0},
        {"sampling_interval": -1},
        {"max_snapshots": 0},
        {"max_function_profiles": 0},
    ],
)
def test_config_refuses_bad_values(fields: dict[str, Any]) -> None:
    """Intervals must be positive and bounds at least 1 (pydantic ValidationError)."""
    with pytest.raises(pydantic.ValidationError):
        PerformanceMonitorConfig(**fields)


def test_config_defaults_and_unknown_keys() -> None:
    """Defaults: 1 s interval, 1000 snapshots/profiles, cpu/memory/tasks on, tracemalloc off."""
    config = PerformanceMonitorConfig(unknown="ignored")  # type: ignore[call-arg]
    assert config.sampling_interval == 1.0
    assert config.max_snapshots == 1000
    assert config.max_function_profiles == 1000
    assert (config.track_cpu, config.track_memory, config.track_tasks) == (True, True, True)
    assert config.enable_tracemalloc is False
