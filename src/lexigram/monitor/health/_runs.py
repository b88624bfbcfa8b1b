"""Runs of health checks: a task and a deadline per check, one run shared by concurrent
probes, and no second start of a check that is still running.

One run (:meth:`CheckRuns.run`) starts one task and one timer (``loop.call_later``) per
check; each check is settled by whichever comes first, its task's end or its timer, and
the run returns as soon as every check is settled. A check still running at its
deadline is cancelled and reported ``"timed out after Ns"``; its task is never awaited.

A check is never started twice at once. When its last start has not ended — its task is
not done (an async check that ignores cancellation, or one simply still working) or a
worker thread is still inside its function (a blocked sync check) — a run either waits
for that start's outcome with the runs already waiting (it is within its deadline: a
readiness probe and a full probe share a check they have in common), or, when that
start is past its deadline, reports it UNHEALTHY ``"still running after Ns"`` (seconds
since it started) straight away. So at most one task and one thread per registered
check exist at any time, however often it is probed.

Single flight (:class:`Flights`): callers asking for the same key while a run for it is
in flight await that run instead of starting another; each gets its own copy of the
result mapping. A caller's cancellation leaves the shared run alone unless it was the
last caller waiting, in which case the run is cancelled with it (and takes its checks
down).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable
from functools import partial
from typing import Any, Generic, TypeVar

from .._clock import Clock
from .._ratelimit import RateLimitedLogger
from ._threads import SyncRunner
from .checks import failure_result, normalise
from .result import HealthCheckCategory, HealthCheckResult, HealthStatus

__all__ = ["CheckRuns", "Entry", "Flights"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.health"))

_FAILED = (HealthStatus.UNHEALTHY, HealthStatus.UNKNOWN)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class _Start:
    """One start of a check: when, its task and timer, the future its outcome lands in
    (the check's result, or the timed-out result at its deadline), how many runs wait
    for it, and whether a worker thread is inside the check's function (set and cleared
    by that thread)."""

    __slots__ = ("abandoned", "in_thread", "outcome", "started", "task", "timer", "waiters")

    def __init__(self, started: float, outcome: asyncio.Future[HealthCheckResult]) -> None:
        self.started = started
        self.outcome = outcome
        self.task: asyncio.Task[tuple[bool, Any]] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.waiters = 0
        self.abandoned = False  # every run waiting for it was cancelled
        self.in_thread = False

    def running(self, loop: asyncio.AbstractEventLoop) -> bool:
        """True while the check has not ended (a task of another loop does not count)."""
        if self.in_thread:
            return True
        task = self.task
        return task is not None and not task.done() and task.get_loop() is loop

    def joinable(self, loop: asyncio.AbstractEventLoop) -> bool:
        """True while a run on *loop* may wait for its outcome: not yet settled (a
        running start whose outcome is settled timed out), not abandoned by every run
        that waited, and on the same loop."""
        return not (self.abandoned or self.outcome.done()) and self.outcome.get_loop() is loop


class Entry:
    """A registered check: how to call it, its deadline, category and criticality, and
    its latest start."""

    __slots__ = ("category", "critical", "func", "is_async", "last", "name", "timeout")

    def __init__(
        self,
        name: str,
        func: Callable[[], Any],
        timeout: float | None,
        category: HealthCheckCategory,
        critical: bool,
        is_async: bool,
    ) -> None:
        self.name = name
        self.func = func
        self.timeout = timeout
        self.category = category
        self.critical = critical
        self.is_async = is_async
        self.last: _Start | None = None


async def _guarded(invoke: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
    # Runs as its own task: every outcome becomes a value, so no BaseException (SystemExit,
    # KeyboardInterrupt, ...) ever escapes into the event loop. Only a real cancellation of
    # this task propagates.
    try:
        return True, await invoke()
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        return False, exc
    except BaseException as exc:
        return False, exc


def _in_thread(func: Callable[[], Any], start: _Start) -> Any:
    start.in_thread = True
    try:
        return func()
    finally:
        start.in_thread = False


class CheckRuns:
    """Runs sets of :class:`Entry` concurrently, each under its deadline (its timeout,
    else *default_timeout*), sync functions on *runner*'s threads.

    A check already started by another run and still within its deadline is not started
    again: this run waits for that start's outcome too (probes of different kinds share
    the checks they have in common).
    """

    def __init__(self, runner: SyncRunner, clock: Clock, default_timeout: float) -> None:
        self._runner = runner
        self._clock = clock
        self._default_timeout = default_timeout

    async def run(self, entries: list[Entry]) -> list[HealthCheckResult]:
        """One result per entry, in order; returns when every check is settled."""
        loop = asyncio.get_running_loop()
        clock = self._clock
        started = clock.monotonic()
        results: list[HealthCheckResult | None] = [None] * len(entries)
        pending = len(entries)
        all_done: asyncio.Future[None] = loop.create_future()
        joined: list[_Start] = []

        def settled(index: int, outcome: asyncio.Future[HealthCheckResult]) -> None:
            nonlocal pending
            if all_done.done() or outcome.cancelled():  # this run was cancelled
                return
            elapsed_ms = (clock.monotonic() - started) * 1000.0
            results[index] = self._finish(entries[index], outcome.result(), elapsed_ms)
            pending -= 1
            if not pending:
                all_done.set_result(None)

        for index, entry in enumerate(entries):
            start = entry.last
            if start is None or not start.running(loop):
                start = self._start(entry, loop, started)
            elif not start.joinable(loop):
                results[index] = self._finish(entry, self._still_running(entry, start), 0.0)
                pending -= 1
                continue
            start.waiters += 1
            joined.append(start)
            start.outcome.add_done_callback(partial(settled, index))
        if not pending:
            all_done.set_result(None)
        try:
            await all_done
        except BaseException:  # the caller was cancelled: take down what only it awaited
            for start in joined:
                if start.waiters == 1 and not start.outcome.done():
                    self._abandon(start)
            raise
        finally:
            for start in joined:
                start.waiters -= 1
        return [r for r in results if r is not None]

    def _start(self, entry: Entry, loop: asyncio.AbstractEventLoop, started: float) -> _Start:
        timeout = entry.timeout if entry.timeout is not None else self._default_timeout
        start = _Start(started, loop.create_future())
        task = loop.create_task(_guarded(partial(self._invoke, entry, start)))
        start.task = task
        start.timer = loop.call_later(timeout, self._on_timeout, entry, start, timeout)
        task.add_done_callback(partial(self._on_done, entry, start))
        entry.last = start
        return start

    def _on_done(self, entry: Entry, start: _Start, task: asyncio.Task[tuple[bool, Any]]) -> None:
        if start.timer is not None:
            start.timer.cancel()
        if start.outcome.done():
            return
        if start.abandoned:  # nobody waits: end it quietly
            start.outcome.cancel()
            return
        start.outcome.set_result(self._outcome(entry, task))

    def _on_timeout(self, entry: Entry, start: _Start, timeout: float) -> None:
        if start.outcome.done() or start.abandoned or start.task is None:
            return
        start.task.cancel()
        start.outcome.set_result(self._timed_out(entry, timeout))

    @staticmethod
    def _abandon(start: _Start) -> None:
        start.abandoned = True
        if start.timer is not None:
            start.timer.cancel()
        if start.task is not None:
            start.task.cancel()

    async def _invoke(self, entry: Entry, start: _Start) -> Any:
        if entry.is_async:
            return await entry.func()
        value = await self._runner.run(partial(_in_thread, entry.func, start))
        if inspect.isawaitable(value):
            value = await value
        return value

    def _outcome(self, entry: Entry, task: asyncio.Task[tuple[bool, Any]]) -> HealthCheckResult:
        if task.cancelled():
            result = failure_result(entry.name, asyncio.CancelledError())
        else:
            ok, value = task.result()
            try:
                result = normalise(entry.name, value) if ok else failure_result(entry.name, value)
            except Exception as exc:  # a value whose str()/iteration raises
                result = failure_result(entry.name, exc)
            if result is value:  # the check's own object: copy it, never mutate it
                return dataclasses.replace(value, details=dict(value.details))
        result.checked_at = self._clock.time()
        return result

    def _timed_out(self, entry: Entry, timeout: float) -> HealthCheckResult:
        hint = ""
        if not entry.is_async and self._runner.saturated:
            hint = (
                f" (all {self._runner.max_workers} health-check worker threads are busy "
                "with blocked sync checks)"
            )
        _log.warning(
            f"timeout:{entry.name}", "health check %r timed out after %gs", entry.name, timeout
        )
        return HealthCheckResult(
            component=entry.name,
            status=HealthStatus.UNHEALTHY,
            message=f"timed out after {timeout:g}s{hint}",
            error="TimeoutError",
            checked_at=self._clock.time(),
        )

    def _still_running(self, entry: Entry, last: _Start) -> HealthCheckResult:
        elapsed = round(self._clock.monotonic() - last.started, 1)
        _log.warning(
            f"still-running:{entry.name}",
            "health check %r is still running after %gs; not started again until it ends",
            entry.name,
            elapsed,
        )
        return HealthCheckResult(
            component=entry.name,
            status=HealthStatus.UNHEALTHY,
            message=f"still running after {elapsed:g}s",
            error="TimeoutError",
            checked_at=self._clock.time(),
        )

    @staticmethod
    def _finish(entry: Entry, result: HealthCheckResult, elapsed_ms: float) -> HealthCheckResult:
        # a copy per run: runs sharing a start never see each other's annotations
        result = dataclasses.replace(result, details=dict(result.details))
        if result.category is None:
            result.category = entry.category
        if result.duration_ms == 0.0:
            result.duration_ms = elapsed_ms
        if not entry.critical and result.status in _FAILED:
            result.details = {
                **result.details,
                "critical": False,
                "original_status": result.status.value,
            }
            result.status = HealthStatus.DEGRADED
        return result


@dataclasses.dataclass(slots=True)
class _Flight(Generic[T]):
    task: asyncio.Task[T]
    waiters: int = 0
    dropped: bool = False  # cancelled because every caller left: joiners start anew


class Flights(Generic[K, T]):
    """At most one run in flight per key; concurrent callers of a key share it.

    Memory: one entry per key with a run in flight (the keys are the checker's four
    probe kinds).
    """

    def __init__(self) -> None:
        self._flights: dict[K, _Flight[T]] = {}

    @property
    def in_flight(self) -> int:
        """Runs currently in flight."""
        return len(self._flights)

    async def join(self, key: K, start: Callable[[], Awaitable[T]]) -> T:
        """The result of the run in flight for *key*, or of ``start()`` begun now."""
        loop = asyncio.get_running_loop()
        flight = self._flights.get(key)
        if flight is None or flight.dropped or flight.task.get_loop() is not loop:
            flight = _Flight(loop.create_task(_awaited(start)))
            self._flights[key] = flight
            flight.task.add_done_callback(partial(self._landed, key, flight))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            if flight.waiters == 1 and not flight.task.done():
                flight.dropped = True
                flight.task.cancel()
            raise
        finally:
            flight.waiters -= 1

    def _landed(self, key: K, flight: _Flight[T], task: asyncio.Task[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody awaits is not logged as lost


async def _awaited(start: Callable[[], Awaitable[T]]) -> T:
    return await start()
