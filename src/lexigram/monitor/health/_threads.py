"""A small, bounded pool of daemon threads that runs synchronous health checks.

Why not the loop's default executor: a check that blocks forever would keep one of its
threads at every probe and finally starve the application's own ``to_thread`` work. Why
not ``ThreadPoolExecutor``: its workers are joined at interpreter exit, so one blocked
check would hang shutdown; these workers are daemon threads.

Bound: at most ``max_workers`` calls are queued or running at once, so at most
``max_workers`` threads exist and the queue never holds more than ``max_workers`` items.
A caller that finds every worker busy waits on its event loop (no thread, no busy loop)
until one frees up; that wait counts against the caller's check timeout. When every
worker is stuck in a call that never returns, further sync checks wait, time out and are
reported UNHEALTHY, and memory does not grow. Idle workers exit after ``idle_timeout``
seconds.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["SyncRunner"]

T = TypeVar("T")

_Outcome = tuple[bool, Any]
_Item = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[_Outcome]"]


def _discard(outcome: _Outcome) -> None:
    # Nobody awaits this outcome any more: close a returned coroutine so it does not
    # warn "never awaited" when collected.
    ok, value = outcome
    if ok and inspect.iscoroutine(value):
        value.close()


def _deliver(fut: asyncio.Future[_Outcome], outcome: _Outcome) -> None:
    if fut.done():
        _discard(outcome)
    else:
        fut.set_result(outcome)


class SyncRunner:
    """Run blocking callables off the event loop on at most ``max_workers`` threads."""

    def __init__(
        self, max_workers: int = 4, *, idle_timeout: float = 30.0, name: str = "lexigram-health"
    ) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(
                f"max_workers={max_workers!r} is invalid: it must be an int >= 1 "
                "(the number of threads that may run sync health checks at once)"
            )
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout={idle_timeout!r} must be > 0 seconds")
        self._max = max_workers
        self._idle_timeout = idle_timeout
        self._name = name
        self._lock = threading.Lock()
        self._busy = 0  # slots held: calls queued or running
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._threads = 0
        self._idle = 0
        self._pending = 0  # items in the queue

    @property
    def max_workers(self) -> int:
        """Most calls that run at once (and most threads that exist)."""
        return self._max

    @property
    def busy(self) -> int:
        """Calls currently queued or running."""
        return self._busy

    @property
    def threads(self) -> int:
        """Worker threads currently alive."""
        return self._threads

    @property
    def saturated(self) -> bool:
        """True when every worker is taken (new calls must wait)."""
        return self._busy >= self._max

    async def run(self, func: Callable[[], T]) -> T:
        """Call *func* on a worker thread and return its result (or raise its exception).

        Cancelling the caller abandons the call: a queued call is skipped, a running one
        finishes on its thread and its result is dropped.
        """
        await self._acquire()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[_Outcome] = loop.create_future()
        with self._lock:
            self._queue.put((func, loop, fut))
            self._pending += 1
            spawn = self._pending > self._idle
            if spawn:
                self._threads += 1
                self._idle += 1
        if spawn:
            try:
                threading.Thread(
                    target=self._work, name=f"{self._name}-worker", daemon=True
                ).start()
            except RuntimeError:
                with self._lock:
                    self._threads -= 1
                    self._idle -= 1
                fut.cancel()  # the queued item is skipped (and its slot freed) later
                raise
        ok, value = await fut
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    async def _acquire(self) -> None:
        with self._lock:
            if self._busy < self._max and not self._waiters:
                self._busy += 1
                return
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            entry = (loop, fut)
            self._waiters.append(entry)
        try:
            await fut
        except BaseException:
            with self._lock:
                try:
                    self._waiters.remove(entry)
                    removed = True
                except ValueError:
                    removed = False
            if not removed and fut.done() and not fut.cancelled():
                self._release()  # the slot was handed to us: pass it on
            raise

    def _hand_over(self, fut: asyncio.Future[None]) -> None:
        if fut.done():  # that waiter gave up meanwhile
            self._release()
        else:
            fut.set_result(None)

    def _release(self) -> None:
        while True:
            with self._lock:
                if not self._waiters:
                    self._busy -= 1
                    return
                loop, fut = self._waiters.popleft()
            try:
                loop.call_soon_threadsafe(self._hand_over, fut)
                return
            except RuntimeError:  # that waiter's loop is closed
                continue

    def _work(self) -> None:
        while True:
            try:
                func, loop, fut = self._queue.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    if self._pending < self._idle:
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._pending -= 1
                self._idle -= 1
            try:
                if fut.cancelled():
                    continue
                try:
                    outcome: _Outcome = (True, func())
                except BaseException as exc:  # contained: the caller decides what it means
                    outcome = (False, exc)
            finally:
                with self._lock:
                    self._idle += 1
                self._release()
            try:
                loop.call_soon_threadsafe(_deliver, fut, outcome)
            except RuntimeError:  # the caller's loop is closed
                _discard(outcome)
