"""Collection callbacks: refresh instruments from state every ``collection_interval``.

Some values are read rather than recorded (queue depths, pool sizes, cache entries). A
callback registered with :meth:`MetricsCollector.add_collection_callback` sets such
gauges; :class:`CollectionCallbacks` runs every callback once per
``MetricsConfig.collection_interval`` seconds in an asyncio task (started by the
backends' ``initialize``), or on demand with ``collect_now()``.

Bounds and failures: at most :data:`MAX_CALLBACKS` callbacks (more raise ``ValueError``);
a callback that raises is logged (rate limited) and handed to the owner's *on_failure*
(the collector counts it in ``lexigram_monitor_collection_failures_total``); the others
still run. Callbacks run on the event loop, so they must be quick and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from .._ratelimit import RateLimitedLogger

__all__ = ["COLLECTION_FAILURES", "MAX_CALLBACKS", "CollectionCallback", "CollectionCallbacks"]

MAX_CALLBACKS = 256
CollectionCallback = Callable[[], object]

COLLECTION_FAILURES = (
    "lexigram_monitor_collection_failures_total",
    "Collection callbacks that raised while refreshing instruments.",
)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.metrics.collection"))


class CollectionCallbacks:
    """The callbacks of one collector and the periodic task that runs them.

    *on_failure* is called with the exception type name of every callback that raises
    (after logging); it must not raise.
    """

    def __init__(
        self, interval: float, *, on_failure: Callable[[str], object] | None = None
    ) -> None:
        if not interval > 0:
            raise ValueError(f"collection interval {interval!r} must be > 0 seconds")
        self.interval = interval
        self._lock = threading.Lock()
        self._callbacks: tuple[CollectionCallback, ...] = ()
        self._task: asyncio.Task[None] | None = None
        self._on_failure = on_failure
        self.failures = 0

    def add(self, callback: CollectionCallback) -> Callable[[], None]:
        """Register *callback*; returns a function that removes it again."""
        if not callable(callback):
            raise TypeError(f"collection callback {callback!r} is not callable")
        with self._lock:
            if len(self._callbacks) >= MAX_CALLBACKS:
                raise ValueError(
                    f"too many collection callbacks: the limit is {MAX_CALLBACKS}; "
                    "remove callbacks you no longer need"
                )
            self._callbacks = (*self._callbacks, callback)

        def remove() -> None:
            with self._lock:
                self._callbacks = tuple(c for c in self._callbacks if c is not callback)

        return remove

    def __len__(self) -> int:
        return len(self._callbacks)

    def run(self) -> int:
        """Run every callback once; returns how many raised (logged and counted)."""
        failed = 0
        for callback in self._callbacks:
            try:
                callback()
            except Exception as exc:
                failed += 1
                self.failures += 1
                _log.warning(
                    f"callback:{getattr(callback, '__qualname__', type(callback).__name__)}",
                    "collection callback %r failed: %r",
                    callback,
                    exc,
                )
                if self._on_failure is not None:
                    self._on_failure(type(exc).__name__)
        return failed

    @property
    def running(self) -> bool:
        """True while the periodic task runs."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the periodic task on the running loop; idempotent."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(
            self._loop(), name="lexigram-metrics-collection"
        )

    async def stop(self) -> None:
        """Stop the periodic task (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            self.run()
            await asyncio.sleep(self.interval)
