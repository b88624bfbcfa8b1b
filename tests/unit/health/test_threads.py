"""The bounded daemon-thread pool that runs sync health checks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from lexigram.monitor.health._threads import SyncRunner


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event that blocked workers wait on; always released at teardown."""
    event = threading.Event()
    yield event
    event.set()


async def test_runs_on_a_daemon_worker_thread() -> None:
    """The function runs on a daemon thread of the pool, and its result comes back."""
    runner = SyncRunner(2, name="t-daemon")

    def where() -> tuple[str, bool]:
        me = threading.current_thread()
        return me.name, me.daemon

    name, daemon = await runner.run(where)
    assert name.startswith("t-daemon")
    assert daemon


async def test_exceptions_come_back_to_the_caller() -> None:
    """Whatever the function raises (even a BaseException) is raised to the awaiting caller."""
    runner = SyncRunner(1)

    def fail() -> None:
        raise KeyboardInterrupt("from a check")

    with pytest.raises(KeyboardInterrupt):
        await runner.run(fail)
    assert runner.busy == 0


async def test_at_most_max_workers_run_at_once(gate: threading.Event) -> None:
    """With every worker blocked, the pool has max_workers threads and later calls wait."""
    runner = SyncRunner(2)
    started = threading.Semaphore(0)

    def block() -> str:
        started.release()
        gate.wait(10)
        return "done"

    calls = [asyncio.ensure_future(runner.run(block)) for _ in range(5)]
    await asyncio.to_thread(started.acquire, True, 5)
    await asyncio.to_thread(started.acquire, True, 5)
    await asyncio.sleep(0.01)
    assert runner.saturated
    assert runner.threads == 2
    assert runner.busy == 2
    gate.set()
    assert await asyncio.gather(*calls) == ["done"] * 5
    assert runner.threads <= 2
    assert runner.busy == 0


async def test_a_waiting_call_can_be_abandoned(gate: threading.Event) -> None:
    """A call waiting for a worker that is cancelled (timeout) frees its place and never runs."""
    runner = SyncRunner(1)
    ran: list[str] = []

    def block() -> None:
        gate.wait(10)

    blocked = asyncio.ensure_future(runner.run(block))
    await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(runner.run(lambda: ran.append("late")), 0.02)
    gate.set()
    await blocked
    assert await runner.run(lambda: "next") == "next"
    assert ran == []
    assert runner.busy == 0


async def test_abandoned_running_call_keeps_its_worker_until_it_returns(
    gate: threading.Event,
) -> None:
    """Cancelling the caller of a running call leaves the worker busy until the call returns."""
    runner = SyncRunner(1)
    entered = threading.Event()

    def block() -> None:
        entered.set()
        gate.wait(10)

    call = asyncio.ensure_future(runner.run(block))
    await asyncio.to_thread(entered.wait, 5)
    call.cancel()
    await asyncio.sleep(0)
    assert runner.busy == 1
    gate.set()
    assert await runner.run(lambda: 7) == 7


async def test_a_dropped_coroutine_result_is_closed(gate: threading.Event) -> None:
    """A coroutine returned after its caller gave up is closed (no 'never awaited' warning)."""
    runner = SyncRunner(1)
    entered = threading.Event()

    async def later() -> None:
        await asyncio.sleep(0)

    coro = later()

    def block() -> object:
        entered.set()
        gate.wait(10)
        return coro

    call = asyncio.ensure_future(runner.run(block))
    await asyncio.to_thread(entered.wait, 5)
    call.cancel()
    gate.set()
    for _ in range(200):
        if coro.cr_frame is None:
            break
        await asyncio.sleep(0.005)
    assert coro.cr_frame is None  # closed


async def test_idle_workers_exit() -> None:
    """Workers idle for idle_timeout seconds exit, and a later call starts a new one."""
    runner = SyncRunner(2, idle_timeout=0.01)
    assert await runner.run(lambda: 1) == 1
    for _ in range(200):
        if runner.threads == 0:
            break
        await asyncio.sleep(0.005)
    assert runner.threads == 0
    assert await runner.run(lambda: 2) == 2


def test_bad_sizes_are_refused() -> None:
    """max_workers must be an int >= 1 and idle_timeout positive."""
    with pytest.raises(ValueError, match="max_workers=0 is invalid"):
        SyncRunner(0)
    with pytest.raises(ValueError, match="idle_timeout"):
        SyncRunner(1, idle_timeout=0)
