"""Bounded worker threads: where each feature runs its blocking calls.

Network calls (pushes, alerts, span exports, database writes) never run on the event
loop's default executor, which the application's own ``to_thread`` and DNS lookups
share: each feature owns a :class:`Worker`, a bounded pool of daemon threads. Its threads
are plain daemon threads, so it keeps working during interpreter exit, when
``concurrent.futures`` executors refuse new work. Pair a call with a deadline
(``_deadline.deadline_scope``) so a hanging peer frees the thread too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Worker", "WorkerBusyError"]

T = TypeVar("T")


class WorkerBusyError(RuntimeError):
    """A feature's worker already runs and queues as many calls as its bound allows."""


class Worker:
    """A bounded pool of daemon threads for one feature's blocking calls.

    At most *threads* calls run at once and *max_pending* wait; :meth:`submit` past that
    raises :class:`WorkerBusyError` instead of queueing without bound (e.g. while a peer
    hangs every call until its deadline). Threads start on demand and stay (idle daemon
    threads cost nothing); a forked child starts its own.
    """

    def __init__(self, name: str, *, threads: int = 1, max_pending: int = 16) -> None:
        if threads < 1 or max_pending < 0:
            raise ValueError(f"worker {name!r}: threads must be >= 1 and max_pending >= 0")
        self.name = name
        self.threads = threads
        self.max_pending = max_pending
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._queue: deque[tuple[concurrent.futures.Future[Any], Callable[[], Any]]] = deque()
        self._started = 0  # threads
        self._running = 0  # calls running now

    @property
    def busy(self) -> int:
        """Calls running or waiting."""
        with self._cond:
            return self._running + len(self._queue)

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run *fn* on a worker thread; raises :class:`WorkerBusyError` when full."""
        if self._pid != os.getpid():
            self._reset()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._cond:
            waiting = len(self._queue)
            if self._running + waiting >= self.threads + self.max_pending:
                raise WorkerBusyError(
                    f"{self.name}: {self._running} calls running and {waiting} waiting "
                    "(a slow peer?); this call was not started"
                )
            self._queue.append((future, fn))
            idle = self._started - self._running - waiting
            if idle > 0:
                self._cond.notify()
            elif self._started < self.threads:
                self._started += 1
                threading.Thread(
                    target=self._run, name=f"lexigram-monitor-{self.name}", daemon=True
                ).start()
        return future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                future, fn = self._queue.popleft()
                self._running += 1
            outcome: Any = None
            failure: BaseException | None = None
            started = future.set_running_or_notify_cancel()
            if started:
                try:
                    outcome = fn()
                except BaseException as exc:
                    failure = exc
            with self._cond:
                self._running -= 1  # before the caller hears back: it may submit again
            if started:
                if failure is not None:
                    future.set_exception(failure)
                else:
                    future.set_result(outcome)
            del future, fn, outcome, failure

    def call(self, fn: Callable[[], T], timeout: float) -> T:
        """Run *fn* on a worker thread and wait at most *timeout* seconds for its result.

        Raises its exception, :class:`WorkerBusyError`, or ``TimeoutError`` (the call then
        goes on in the background; pair it with a deadline scope so it ends too).
        """
        return self.submit(fn).result(timeout)

    async def run(self, fn: Callable[[], T], timeout: float) -> T:
        """Await *fn* run on a worker thread, at most *timeout* seconds (``TimeoutError``)."""
        future = self.submit(fn)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
