"""The batch span processor: ended spans queued on the caller's path, exported off it.

:class:`BatchSpanProcessor` takes ended spans on the caller's thread (a deque append, no
lock, no I/O) and exports them in batches from one daemon worker thread. Bounds: at most
``max_queue_size`` spans wait; each export call gets ``export_timeout`` seconds.

Lifetime: nothing queued is lost at a normal exit. :meth:`BatchSpanProcessor.shutdown`
exports what is queued, and every processor still running at interpreter exit is shut
down by an ``atexit`` hook, all of them together within the largest ``export_timeout``.

Drops are counted as they happen, by reason: ``queue_full`` (the queue was full),
``export_failed`` (the exporter raised), ``export_timeout`` (the exporter did not return
within ``export_timeout``: its batch is counted then, and the next export waits for that
call to return: a hanging exporter never gets a second thread) and ``shutdown`` (ended
after shutdown, or still queued when the shutdown deadline passed). Tracing never imports
metrics: the listener installed with :func:`set_export_stats_listener` (the wiring in
``backends/_wiring.py``) turns these into ``lexigram_monitor_spans_dropped_total`` and
``lexigram_monitor_span_export_failures_total``; drops that happened before it was
installed are reported at installation.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
import logging
import os
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from .._failure import describe_failure
from .._ratelimit import RateLimitedLogger
from .._worker import Worker
from ..protocols import SpanExporter
from .span import Span

__all__ = [
    "DROPPED",
    "FAILED",
    "BatchSpanProcessor",
    "ExportStatsListener",
    "flush_all",
    "get_export_stats_listener",
    "set_export_stats_listener",
    "shutdown_all",
]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.tracing"))

DROPPED = "dropped"
"""Listener event: *count* spans were dropped for *reason*."""
FAILED = "failed"
"""Listener event: *count* export calls failed for *reason*."""

#: Called as ``listener(event, reason, count)`` with *event* :data:`DROPPED` or
#: :data:`FAILED`, on the thread where the drop or failure happened.
ExportStatsListener = Callable[[str, str, int], None]
_stats_listener: ExportStatsListener | None = None
_STUCK_POLL = 0.1


def set_export_stats_listener(listener: ExportStatsListener | None) -> None:
    """Install the listener every batch processor reports its drops and failures to.

    It is called at the moment of each drop or failed export (on the caller's thread for
    a full queue, else on the export worker); drops and failures that happened before
    are reported to it now. Its exceptions are logged, rate limited.
    """
    global _stats_listener
    _stats_listener = listener
    if listener is not None:
        for processor in list(_LIVE):
            processor._report()


def get_export_stats_listener() -> ExportStatsListener | None:
    """The installed listener, if any."""
    return _stats_listener


class BatchSpanProcessor:
    """Queue ended spans and export them in batches from a daemon worker thread.

    The worker wakes every *export_interval* seconds, or as soon as a full batch of
    *max_export_batch_size* spans waits, and exports everything queued, one call of at
    most *export_timeout* seconds per batch (see the module docstring for what happens
    past it). Fork-safe: in a forked child the queue is emptied and a new worker starts.
    Counters: :attr:`dropped_spans` (:attr:`drops` by reason), :attr:`exported_spans`,
    :attr:`failed_exports` (calls).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int = 2048,
        max_export_batch_size: int = 512,
        export_interval: float = 5.0,
        export_timeout: float = 30.0,
    ) -> None:
        for name, value in (("max_queue_size", max_queue_size),
                            ("max_export_batch_size", max_export_batch_size)):  # fmt: skip
            if value < 1:
                raise ValueError(f"{name} {value!r} must be >= 1")
        for name, number in (("export_interval", export_interval),
                             ("export_timeout", export_timeout)):  # fmt: skip
            if not number > 0:
                raise ValueError(f"{name} {number!r} must be > 0 seconds")
        self.exporter = exporter
        self._max_queue = max_queue_size
        self._batch = min(max_export_batch_size, max_queue_size)
        self._interval = export_interval
        self._timeout = export_timeout
        self._queue: deque[Span] = deque()
        self._exported = 0
        self._tally: Counter[tuple[str, str]] = Counter()
        self._reported: Counter[tuple[str, str]] = Counter()
        self._shutdown = False
        self._abandoned = False
        self._limit = max_queue_size  # 0 once shut down: every span is dropped
        self._init_threading()
        _track(self)

    def _init_threading(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._flush_done: threading.Event | None = None
        self._worker: threading.Thread | None = None
        self._calls = Worker("span-export-call", threads=1, max_pending=0)
        self._stuck: concurrent.futures.Future[Any] | None = None
        self._in_flight = 0
        self._start_worker()

    # -- counters -------------------------------------------------------------------
    @property
    def dropped_spans(self) -> int:
        """Spans that never reached the exporter, whatever the reason."""
        return sum(n for (event, _), n in self._tally.items() if event == DROPPED)

    @property
    def drops(self) -> dict[str, int]:
        """Dropped spans by reason (``queue_full``, ``export_failed``, ...)."""
        return {reason: n for (event, reason), n in self._tally.items() if event == DROPPED}

    @property
    def exported_spans(self) -> int:
        return self._exported

    @property
    def failed_exports(self) -> int:
        """Export calls that raised or passed their deadline."""
        return sum(n for (event, _), n in self._tally.items() if event == FAILED)

    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def _count(self, event: str, reason: str, count: int) -> None:
        with self._lock:
            self._tally[event, reason] += count
        if _stats_listener is not None:
            self._report()

    def _report(self) -> None:
        """Hand the listener what it has not been told yet."""
        listener = _stats_listener
        if listener is None:
            return
        with self._lock:
            news = [(key, n - self._reported[key]) for key, n in self._tally.items()]
            news = [(key, n) for key, n in news if n > 0]
            for key, n in news:
                self._reported[key] += n
        for (event, reason), n in news:
            try:
                listener(event, reason, n)
            except Exception as exc:
                _log.warning("stats-listener", "span export stats listener failed: %r", exc)

    # -- hot path -------------------------------------------------------------------
    def on_end(self, span: Span) -> None:
        """Queue an ended span (dropped and counted when the queue is full or shut down)."""
        queue = self._queue
        if len(queue) >= self._limit:
            self._count(DROPPED, "shutdown" if self._shutdown else "queue_full", 1)
            return
        queue.append(span)
        if len(queue) >= self._batch and not self._wake.is_set():
            self._wake.set()

    # -- worker ---------------------------------------------------------------------
    def _start_worker(self) -> None:
        with self._lock:
            if self._worker is not None or self._shutdown:
                return
            worker = threading.Thread(
                target=self._run, name="lexigram-monitor-span-export", daemon=True
            )
            try:
                worker.start()
            except RuntimeError:
                _log.error("worker", "cannot start the span export thread", exc_info=True)
                return
            self._worker = worker

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                done, self._flush_done = self._flush_done, None
                stopping = self._shutdown
            self._drain()
            if done is not None:
                done.set()
            if stopping:
                return

    def _drain(self) -> None:
        queue = self._queue
        while queue and not self._abandoned:
            if not self._wait_for_stuck_call():
                return
            with self._lock:
                size = min(self._batch, len(queue))
                batch = [queue.popleft() for _ in range(size)]
                self._in_flight = size
            self._export(batch)

    def _wait_for_stuck_call(self) -> bool:
        """Wait for an export that outlived its deadline; False when shut down first."""
        stuck = self._stuck
        while stuck is not None and not stuck.done():
            if self._shutdown:
                return False
            concurrent.futures.wait([stuck], timeout=_STUCK_POLL)
        self._stuck = None
        return True

    def _export(self, batch: list[Span]) -> None:
        name = type(self.exporter).__name__
        call: concurrent.futures.Future[None] | None = None
        try:
            call = self._calls.submit(lambda: self._call_exporter(batch))
            call.result(self._timeout)
        except concurrent.futures.TimeoutError:
            self._stuck = call
            reason, text = "export_timeout", f"no answer within {self._timeout:g}s"
        except Exception as exc:
            reason, text = "export_failed", describe_failure(exc)[1]
        else:
            with self._lock:
                self._in_flight = 0
                self._exported += len(batch)
            return
        with self._lock:
            counted = not self._abandoned  # else shutdown() counted the batch already
            self._in_flight = 0
        if counted:
            self._count(FAILED, reason, 1)
            self._count(DROPPED, reason, len(batch))
            _log.warning(
                f"export:{name}:{reason}",
                "span exporter %s failed (%s); %d spans dropped",
                name,
                text,
                len(batch),
            )

    def _call_exporter(self, batch: list[Span]) -> None:
        result: Any = self.exporter.export(batch)  # type: ignore[func-returns-value]
        if inspect.isawaitable(result):
            asyncio.run(_wait(result))

    # -- control --------------------------------------------------------------------
    def force_flush(self, timeout: float | None = None) -> bool:
        """Export everything queued now; wait at most *timeout* (default export_timeout).

        Returns False when the deadline passed first (e.g. a hanging exporter).
        """
        worker = self._worker
        if self._shutdown and (worker is None or not worker.is_alive()):
            return not self._queue  # stopped: nothing will be exported any more
        if self._worker is None:
            if not self._queue:
                return True
            self._start_worker()
            if self._worker is None:
                return False
        done = self._request_flush()
        return done.wait(self._timeout if timeout is None else timeout)

    def _request_flush(self) -> threading.Event:
        """Ask the worker to export everything queued; the event is set when it did."""
        with self._lock:
            done = self._flush_done
            if done is None:
                done = self._flush_done = threading.Event()
        self._wake.set()
        return done

    def _begin_shutdown(self) -> tuple[bool, threading.Thread | None]:
        """Refuse new spans and wake the worker to export what is queued.

        Returns (whether this call started the shutdown, the worker thread).
        """
        with self._lock:
            if self._shutdown:
                return False, None
            self._shutdown = True
            self._limit = 0
            worker = self._worker
        self._wake.set()
        return True, worker

    def shutdown(self, timeout: float | None = None) -> bool:
        """Export what is queued, stop the worker and shut the exporter down.

        Waits at most *timeout* (default export_timeout) seconds; spans still queued or
        in an export call then are dropped (reason ``shutdown``). Further spans are
        dropped. Returns False on timeout. Idempotent.
        """
        started, worker = self._begin_shutdown()
        if not started:
            return True
        return self._finish_shutdown(worker, self._timeout if timeout is None else timeout)

    def _finish_shutdown(self, worker: threading.Thread | None, timeout: float) -> bool:
        finished = True
        if worker is not None:
            worker.join(timeout)
            finished = not worker.is_alive()
        with self._lock:
            if not finished:
                self._abandoned = True
            leftover = len(self._queue) + self._in_flight
            self._queue.clear()
            self._in_flight = 0
        if leftover:
            self._count(DROPPED, "shutdown", leftover)
        if not finished:
            _log.warning(
                "shutdown",
                "span export did not finish within the shutdown deadline; %d spans dropped",
                leftover,
            )
        self._report()
        if finished:
            close = getattr(self.exporter, "shutdown", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:
                    _log.warning("exporter-shutdown", "span exporter shutdown failed: %r", exc)
        return finished

    def _after_fork(self) -> None:
        self._init_threading()
        self._queue.clear()


async def _wait(awaitable: Any) -> None:
    await awaitable


_LIVE: weakref.WeakSet[BatchSpanProcessor] = weakref.WeakSet()
_hooks: list[bool] = []


def _track(processor: BatchSpanProcessor) -> None:
    if not _hooks:
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
        atexit.register(shutdown_all)
        _hooks.append(True)
    _LIVE.add(processor)


def _after_fork_in_child() -> None:
    for processor in list(_LIVE):
        processor._after_fork()


def flush_all(timeout: float | None = None) -> bool:
    """Export what every running processor has queued, all at once.

    Waits at most *timeout* seconds (default: each processor's ``export_timeout``). True
    when everything was exported in time. ``OTelMiddleware`` calls this at the ASGI
    lifespan shutdown, after the server answered its last request and before the
    process ends (uvicorn ends on the SIGTERM it caught, without ``atexit``).
    """
    start = time.monotonic()
    pending = [
        (p, p._request_flush())
        for p in list(_LIVE)
        if not p._shutdown and p._worker is not None and (p._queue or p._in_flight)
    ]
    finished = True
    for processor, done in pending:
        limit = processor._timeout if timeout is None else timeout
        finished = done.wait(max(0.0, start + limit - time.monotonic())) and finished
    return finished


def shutdown_all() -> bool:
    """Shut every running processor down, together, each within its ``export_timeout``.

    Registered with ``atexit`` when the first processor is made, so spans still queued at
    interpreter exit are exported; the exit waits at most the largest ``export_timeout``.
    True when every processor finished in time.
    """
    start = time.monotonic()
    stopping = []
    for processor in list(_LIVE):
        started, worker = processor._begin_shutdown()
        if started:
            stopping.append((processor, worker))
    finished = True
    for processor, worker in stopping:
        left = max(0.0, start + processor._timeout - time.monotonic())
        finished = processor._finish_shutdown(worker, left) and finished
    return finished
