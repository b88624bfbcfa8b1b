"""What a monitoring run produces: snapshots, function profiles and their aggregate.

Memory: :class:`PerformanceMetrics` keeps at most ``max_snapshots`` snapshots and
``max_function_profiles`` profiles; its averages and peaks are O(1) running values.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .._clock import SYSTEM_CLOCK, Clock

__all__ = ["MIB", "FunctionProfileResult", "PerformanceMetrics", "PerformanceSnapshot"]

#: Bytes in one MiB (memory figures are reported in bytes and in MiB).
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PerformanceSnapshot:
    """A single performance metrics snapshot; fields not tracked by the config are None.

    ``cpu_percent`` is the process CPU time over the wall time since the previous
    snapshot, in percent of one core (above 100 with several busy threads).
    """

    timestamp: float
    cpu_percent: float | None = None
    memory_rss_bytes: int | None = None
    active_tasks: int | None = None
    thread_count: int | None = None

    @property
    def memory_mb(self) -> float | None:
        """Resident memory in MiB."""
        return None if self.memory_rss_bytes is None else self.memory_rss_bytes / MIB


@dataclass(frozen=True, slots=True)
class FunctionProfileResult:
    """Result of profiling a function.

    ``execution_time`` is wall seconds; ``cpu_time`` the CPU seconds of the calling
    thread during the call (for a coroutine this includes other tasks that ran while
    it awaited); ``memory_delta_bytes``/``memory_peak_bytes`` come from tracemalloc
    when enabled, else None. ``error`` is ``"Type: message"`` when the call raised
    (the exception is re-raised to the caller after recording).
    """

    function_name: str
    execution_time: float
    cpu_time: float
    started_at: float
    memory_delta_bytes: int | None = None
    memory_peak_bytes: int | None = None
    error: str | None = None

    @property
    def success(self) -> bool:
        """True when the call returned normally."""
        return self.error is None


class _Stat:
    """Running count, sum and maximum (O(1) memory)."""

    __slots__ = ("count", "peak", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.peak: float | None = None

    def add(self, value: float | None) -> None:
        if value is None:
            return
        self.count += 1
        self.total += value
        self.peak = value if self.peak is None or value > self.peak else self.peak

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


class PerformanceMetrics:
    """Aggregated performance metrics of one monitoring run.

    Memory: at most ``max_snapshots`` snapshots and ``max_function_profiles`` profiles
    (oldest dropped first); averages and peaks are running values over every sample.
    Times: ``start_time``/``end_time`` are Unix seconds; ``duration`` is measured on the
    monotonic clock (while running, the time elapsed so far; None before a start).
    """

    def __init__(
        self,
        max_snapshots: int = 1000,
        max_function_profiles: int = 1000,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._clock = clock
        self.snapshots: deque[PerformanceSnapshot] = deque(maxlen=max_snapshots)
        self.function_profiles: deque[FunctionProfileResult] = deque(maxlen=max_function_profiles)
        self.start_time: float | None = None
        self.end_time: float | None = None
        self.samples_taken = 0
        self.sampling_errors = 0
        self.cpu = _Stat()
        self.memory = _Stat()
        self.tasks = _Stat()
        self._mono_start: float | None = None
        self._mono_end: float | None = None

    def mark_started(self) -> None:
        """Record the start of the run (now)."""
        self.start_time = self._clock.time()
        self._mono_start = self._clock.monotonic()

    def mark_stopped(self) -> None:
        """Record the end of the run (now)."""
        self.end_time = self._clock.time()
        self._mono_end = self._clock.monotonic()

    def add_snapshot(self, snapshot: PerformanceSnapshot) -> None:
        """Keep *snapshot* (bounded) and fold it into the averages and peaks."""
        self.snapshots.append(snapshot)
        self.samples_taken += 1
        self.cpu.add(snapshot.cpu_percent)
        self.memory.add(snapshot.memory_rss_bytes)
        self.tasks.add(snapshot.active_tasks)

    @property
    def duration(self) -> float | None:
        """Seconds between start and stop (or now while running); None if not started."""
        if self._mono_start is None:
            return None
        end = self._mono_end if self._mono_end is not None else self._clock.monotonic()
        return max(end - self._mono_start, 0.0)

    @property
    def samples_per_second(self) -> float:
        """Snapshots taken per second of duration (0.0 without a positive duration)."""
        duration = self.duration
        return self.samples_taken / duration if duration else 0.0

    @property
    def has_profile_data(self) -> bool:
        """True when at least one function profile was recorded."""
        return bool(self.function_profiles)
