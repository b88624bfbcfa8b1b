"""BufferedMetricRecorder: batch metric recordings and deliver them off the hot path.

Where an entry named *name* goes, decided once per name:

1. ``getattr(backend, name).record(value, labels)`` when the backend has such an
   attribute (the reference's contract: a backend exposing its metrics as attributes);
2. else ``backend.record_metric(name, value, metric_type, labels)`` for the library's
   backends (memory, Prometheus, OpenTelemetry, no-op), ``metric_type`` being the
   recorder's (``"counter"`` by default) or the one given to ``record()``;
3. else, for a collector (``get_metric`` and ``create_*``): the registered instrument's
   ``record(value, labels)`` (a counter adds, a gauge sets, a histogram or summary
   observes), created with ``metric_type`` when it does not exist yet.

A delivery may return ``None`` (sync) or an awaitable (async; awaited with
``delivery_timeout``).

Rules:
- The buffer holds at most ``max_buffer_size`` entries. The record that fills it
  schedules one flush on the running loop; while the buffer is full, further records are
  dropped and counted in :attr:`BufferedMetricRecorder.dropped`. Outside a running loop
  ``record()`` only buffers (same cap).
- A delivery that raises or times out is logged (rate limited) and retried once on the
  next flush; if it fails again it is counted as dropped.
- ``start()`` runs a periodic flush every ``flush_interval`` seconds and is idempotent;
  ``stop()`` waits for a flush in flight, then flushes everything left (giving failed
  entries their one retry), so afterwards every entry is delivered or counted as dropped.

Memory: at most ``3 * max_buffer_size`` entries (the buffer, one batch in flight and
the entries awaiting their retry), and at most :data:`MAX_CACHED_TARGETS` resolved
delivery targets (past it, names are resolved per delivery).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from ..exceptions import InvalidMetricError

__all__ = ["METRIC_TYPES", "BufferedMetricEntry", "BufferedMetricRecorder"]

#: The ``metric_type`` values for backends' ``record_metric`` and new collector metrics.
METRIC_TYPES = ("counter", "gauge", "histogram", "summary")
#: Names whose delivery target is remembered.
MAX_CACHED_TARGETS = 10_000

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.metrics.buffered"))
_Deliver = Callable[[float, "dict[str, str] | None"], Any]


@dataclass(frozen=True, slots=True)
class BufferedMetricEntry:
    """A single buffered metric recording.

    ``timestamp`` is the monotonic time (seconds) the entry was created.
    """

    name: str
    value: float
    labels: dict[str, str] | None = None
    timestamp: float = field(default_factory=time.monotonic)
    metric_type: str = "counter"
    """How a backend's ``record_metric`` or a collector records it (see the module)."""


class BufferedMetricRecorder:
    """Buffers metric recordings and flushes them in configurable batches.

    ``backend``: an object with one attribute per metric name having a
    ``record(value, labels)`` method, one of the library's backends
    (``record_metric``), or a ``MetricsCollector`` (see the module docstring).
    ``metric_type`` (``counter``, ``gauge``, ``histogram`` or ``summary``) is how the
    last two record a name unless ``record()`` says otherwise. ``sleep`` is the
    awaitable sleep of the periodic flush (tests pass a fake).
    """

    def __init__(
        self,
        backend: Any,
        flush_interval: float = 5.0,
        max_buffer_size: int = 1000,
        *,
        metric_type: str = "counter",
        delivery_timeout: float = 5.0,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not flush_interval > 0:
            raise ValueError(f"flush_interval={flush_interval!r} must be > 0 seconds")
        if isinstance(max_buffer_size, bool) or not isinstance(max_buffer_size, int):
            raise ValueError(f"max_buffer_size={max_buffer_size!r} must be an integer >= 1")
        if max_buffer_size < 1:
            raise ValueError(f"max_buffer_size={max_buffer_size!r} must be an integer >= 1")
        if not delivery_timeout > 0:
            raise ValueError(f"delivery_timeout={delivery_timeout!r} must be > 0 seconds")
        _check_type(metric_type)
        self._backend = backend
        self._metric_type = metric_type
        self._targets: dict[tuple[str, str], _Deliver] = {}
        self._interval = float(flush_interval)
        self._max = max_buffer_size
        self._timeout = float(delivery_timeout)
        self._clock = clock
        self._sleep = sleep
        self._buffer_lock = threading.Lock()
        self._buffer: list[BufferedMetricEntry] = []
        self._retry: list[BufferedMetricEntry] = []
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._pending: asyncio.Task[int] | None = None
        self._dropped = 0

    @property
    def flush_interval(self) -> float:
        """Seconds between periodic flushes."""
        return self._interval

    @property
    def max_buffer_size(self) -> int:
        """Hard cap of the buffer."""
        return self._max

    @property
    def dropped(self) -> int:
        """Entries dropped: recorded into a full buffer, or failed twice on delivery."""
        return self._dropped

    @property
    def buffered(self) -> int:
        """Entries waiting for the next flush (retries included)."""
        return len(self._buffer) + len(self._retry)

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._task is not None and not self._task.done()

    def record(
        self,
        name: str,
        value: float,
        labels: dict[str, str] | None = None,
        *,
        metric_type: str | None = None,
    ) -> None:
        """Buffer a metric entry for deferred recording.

        *name* must be deliverable (see the module docstring: an attribute of the
        backend with ``record()``, or any name for a backend with ``record_metric`` or
        a collector); *metric_type* overrides the recorder's for this entry. Otherwise
        :class:`InvalidMetricError` is raised and nothing is buffered.
        """
        kind = self._metric_type if metric_type is None else metric_type
        if metric_type is not None:
            _check_type(metric_type)
        if not isinstance(name, str) or self._route(name) is None:
            raise InvalidMetricError(
                f"cannot buffer metric {name!r}: the backend {type(self._backend).__name__} "
                "has no attribute of that name with a record() method, no record_metric() "
                "and no get_metric()/create_counter() (a collector); pass one of the "
                "library's backends or collectors, or name a metric attribute of the backend"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidMetricError(
                f"cannot buffer metric {name!r}: value {value!r} ({type(value).__name__}) "
                "is not a number"
            )
        entry = BufferedMetricEntry(
            name, value, dict(labels) if labels else None, self._clock.monotonic(), kind
        )
        with self._buffer_lock:
            full = len(self._buffer) >= self._max
            if full:
                self._dropped += 1
            else:
                self._buffer.append(entry)
                full = len(self._buffer) >= self._max
        if full:
            self._schedule_flush()

    async def flush(self) -> int:
        """Flush all buffered entries to the backend; returns how many were delivered."""
        async with self._flush_lock:
            with self._buffer_lock:
                retry, self._retry = self._retry, []
                batch, self._buffer = self._buffer, []
            delivered = 0
            for entry in retry:
                if await self._deliver(entry):
                    delivered += 1
                else:
                    self._dropped += 1
            failed: list[BufferedMetricEntry] = []
            for entry in batch:
                if await self._deliver(entry):
                    delivered += 1
                else:
                    failed.append(entry)
            with self._buffer_lock:
                self._retry.extend(failed)
            return delivered

    async def start(self) -> None:
        """Start the periodic background flush task (a no-op when already running)."""
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the periodic flush and deliver everything left, including a batch in flight."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        pending = self._pending
        if pending is not None:
            with suppress(asyncio.CancelledError):
                await pending
        await self.flush()
        if self._retry:
            await self.flush()

    def _schedule_flush(self) -> None:
        if self._pending is not None and not self._pending.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop in this thread: keep buffering up to the cap
        self._pending = loop.create_task(self.flush())

    async def _run(self) -> None:
        while True:
            await self._sleep(self._interval)
            # shielded: cancelling the loop (stop) never abandons a batch half delivered
            await asyncio.shield(self.flush())

    def _route(self, name: str) -> str | None:
        """How *name* is delivered: ``attribute``, ``record_metric``, ``collector``, or
        None when it cannot be."""
        backend = self._backend
        if callable(getattr(getattr(backend, name, None), "record", None)):
            return "attribute"
        if callable(getattr(backend, "record_metric", None)):
            return "record_metric"
        if callable(getattr(backend, "get_metric", None)) and callable(
            getattr(backend, "create_counter", None)
        ):
            return "collector"
        return None

    def _target(self, entry: BufferedMetricEntry) -> _Deliver:
        """The callable delivering *entry*, resolved once per (name, type)."""
        key = (entry.name, entry.metric_type)
        target = self._targets.get(key)
        if target is not None:
            return target
        backend = self._backend
        name, kind = key
        route = self._route(name)
        if route == "attribute":
            target = getattr(backend, name).record
        elif route == "record_metric":
            record_metric = backend.record_metric

            def target(value: float, labels: dict[str, str] | None) -> Any:
                return record_metric(name, value, kind, labels)

        else:
            metric = backend.get_metric(name)
            if metric is None:
                metric = getattr(backend, f"create_{kind}")(name)
            target = metric.record
        if len(self._targets) < MAX_CACHED_TARGETS:
            self._targets[key] = target
        return target

    async def _deliver(self, entry: BufferedMetricEntry) -> bool:
        try:
            result = self._target(entry)(entry.value, entry.labels)
            if inspect.isawaitable(result):
                async with asyncio.timeout(self._timeout):
                    await result
        except Exception:
            _log.warning(
                f"deliver:{id(self)}:{entry.name}",
                "delivering metric %r to %s failed; it is retried once, then dropped",
                entry.name,
                type(self._backend).__name__,
                exc_info=True,
            )
            return False
        return True


def _check_type(metric_type: object) -> None:
    if metric_type not in METRIC_TYPES:
        raise InvalidMetricError(
            f"metric_type {metric_type!r} is not supported; use one of {', '.join(METRIC_TYPES)}"
        )
