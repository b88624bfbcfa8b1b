"""BufferedMetricRecorder: sync/async delivery, cap, one flush per fill, retry, start/stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import BufferedMetricEntry, BufferedMetricRecorder


class SyncMetric:
    """Records synchronously; fails the first ``fail`` calls."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.values: list[tuple[float, dict[str, str] | None]] = []

    def record(self, value: float, labels: dict[str, str] | None = None) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("backend down")
        self.values.append((value, labels))


class AsyncMetric:
    """Records asynchronously; waits for ``gate`` when one is set."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def record(self, value: float, labels: dict[str, str] | None = None) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        self.values.append(value)


class Backend:
    def __init__(self, fail: int = 0) -> None:
        self.requests = SyncMetric(fail)
        self.latency = AsyncMetric()


class ManualSleep:
    """Replaces asyncio.sleep in the periodic flush; the test releases each sleep."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self._waiting: list[asyncio.Future[None]] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        await future

    def release(self) -> None:
        self._waiting.pop(0).set_result(None)


class CountingRecorder(BufferedMetricRecorder):
    """Counts flush() calls."""

    flushes = 0

    async def flush(self) -> int:
        self.flushes += 1
        return await super().flush()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_flush_delivers_to_sync_and_async_backends() -> None:
    """flush() calls record() on the named attribute, awaiting async ones; returns the count."""
    backend = Backend()
    recorder = BufferedMetricRecorder(backend)
    recorder.record("requests", 1.0, {"method": "GET"})
    recorder.record("latency", 0.25)
    assert recorder.buffered == 2
    assert await recorder.flush() == 2
    assert backend.requests.values == [(1.0, {"method": "GET"})]
    assert backend.latency.values == [0.25]
    assert recorder.buffered == 0
    assert await recorder.flush() == 0


def test_record_outside_a_loop_only_buffers() -> None:
    """Without a running loop, record() buffers (up to the cap) and schedules nothing."""
    recorder = BufferedMetricRecorder(Backend(), max_buffer_size=2)
    for _ in range(4):
        recorder.record("requests", 1)
    assert recorder.buffered == 2
    assert recorder.dropped == 2
    assert asyncio.run(recorder.flush()) == 2


async def test_full_buffer_schedules_exactly_one_flush_and_counts_drops() -> None:
    """Reaching the cap schedules one flush; records over the full buffer are dropped."""
    backend = Backend()
    recorder = CountingRecorder(backend, max_buffer_size=3)
    for value in range(6):
        recorder.record("requests", value)
    assert recorder.dropped == 3
    await _settle()
    assert recorder.flushes == 1
    assert [v for v, _ in backend.requests.values] == [0, 1, 2]
    recorder.record("requests", 9)
    assert recorder.buffered == 1


async def test_failed_delivery_is_retried_once_on_the_next_flush() -> None:
    """An entry that fails once is delivered by the next flush."""
    backend = Backend(fail=1)
    recorder = BufferedMetricRecorder(backend)
    recorder.record("requests", 5)
    assert await recorder.flush() == 0
    assert recorder.buffered == 1
    assert await recorder.flush() == 1
    assert backend.requests.values == [(5, None)]
    assert recorder.dropped == 0


async def test_second_failure_drops_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    """An entry failing twice is dropped, counted and logged; others still go through."""
    backend = Backend(fail=2)
    recorder = BufferedMetricRecorder(backend)
    recorder.record("requests", 1)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.metrics.buffered"):
        await recorder.flush()
        recorder.record("requests", 2)
        assert await recorder.flush() == 1
    assert recorder.dropped == 1
    assert recorder.buffered == 0
    assert backend.requests.values == [(2, None)]
    assert any("retried once" in r.getMessage() for r in caplog.records)


async def test_hanging_async_delivery_times_out_as_a_failure() -> None:
    """An async record() that never finishes is cut off by delivery_timeout."""
    backend = Backend()
    backend.latency.gate = asyncio.Event()
    recorder = BufferedMetricRecorder(backend, delivery_timeout=0.01)
    recorder.record("latency", 1)
    assert await recorder.flush() == 0
    assert await recorder.flush() == 0
    assert recorder.dropped == 1


async def test_start_is_idempotent_and_flushes_periodically() -> None:
    """start() twice runs one task; each interval a flush delivers the buffer."""
    backend = Backend()
    sleep = ManualSleep()
    recorder = BufferedMetricRecorder(backend, flush_interval=2.0, sleep=sleep)
    await recorder.start()
    await recorder.start()
    await _settle()
    assert sleep.calls == [2.0]
    assert recorder.running
    recorder.record("requests", 1)
    sleep.release()
    await _settle()
    assert backend.requests.values == [(1, None)]
    assert sleep.calls == [2.0, 2.0]
    await recorder.stop()
    assert not recorder.running


async def test_stop_delivers_everything_including_a_batch_in_flight() -> None:
    """stop() waits for the running flush and then flushes what arrived meanwhile."""
    backend = Backend()
    backend.latency.gate = asyncio.Event()
    sleep = ManualSleep()
    recorder = BufferedMetricRecorder(backend, sleep=sleep)
    await recorder.start()
    await _settle()
    recorder.record("latency", 1)
    recorder.record("latency", 2)
    sleep.release()
    await backend.latency.entered.wait()  # the periodic flush is now mid-batch
    recorder.record("latency", 3)
    stopping = asyncio.ensure_future(recorder.stop())
    await _settle()
    assert not stopping.done()
    backend.latency.gate.set()
    await stopping
    assert backend.latency.values == [1, 2, 3]
    assert recorder.buffered == 0
    assert recorder.dropped == 0


async def test_stop_gives_failed_entries_their_retry() -> None:
    """Entries failing during stop() get their one retry before stop returns."""
    backend = Backend(fail=1)
    recorder = BufferedMetricRecorder(backend)
    await recorder.start()
    recorder.record("requests", 7)
    await recorder.stop()
    assert backend.requests.values == [(7, None)]
    assert recorder.buffered == 0


async def test_stop_waits_for_a_cap_triggered_flush() -> None:
    """A flush scheduled by a full buffer is completed by stop()."""
    backend = Backend()
    recorder = BufferedMetricRecorder(backend, max_buffer_size=1)
    recorder.record("requests", 1)
    await recorder.stop()
    assert backend.requests.values == [(1, None)]


def test_bad_input_is_refused_and_nothing_is_buffered() -> None:
    """Unknown metric names and non-numbers raise InvalidMetricError."""
    recorder = BufferedMetricRecorder(Backend())
    recorder.record("requests", 1)
    with pytest.raises(InvalidMetricError, match="'missing'"):
        recorder.record("missing", 1)
    with pytest.raises(InvalidMetricError, match="not a number"):
        recorder.record("requests", "1")  # type: ignore[arg-type]
    assert recorder.buffered == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"flush_interval": 0},
        {"max_buffer_size": 0},
        {"max_buffer_size": 1.5},
        {"delivery_timeout": -1},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    """Interval, cap and timeout are validated at construction."""
    with pytest.raises(ValueError, match="must be"):
        BufferedMetricRecorder(Backend(), **kwargs)  # type: ignore[arg-type]


def test_entries_carry_a_monotonic_timestamp() -> None:
    """Entries are stamped with the clock's monotonic time; the dataclass is frozen."""
    clock = FakeClock()
    entry = BufferedMetricEntry("requests", 1.0)
    assert entry.labels is None
    with pytest.raises(AttributeError):
        entry.value = 2.0  # type: ignore[misc]
    recorder = BufferedMetricRecorder(Backend(), clock=clock)
    recorder.record("requests", 1.0)
    assert recorder._buffer[0].timestamp == clock.monotonic()
