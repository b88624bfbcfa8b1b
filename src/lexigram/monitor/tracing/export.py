"""Span export: console and in-memory exporters, and the batch processor feeding exporters.

The :class:`BatchSpanProcessor` takes ended spans on the caller's thread (a deque append,
no lock, no I/O) and exports them from one daemon worker thread, in batches, off the
caller's path. Bounds: at most ``max_queue_size`` spans wait; past it new spans are
dropped and counted. An exporter that raises is logged (rate limited) and its batch
counted as dropped; one that hangs only blocks the worker, never ``Span.end()``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Any

from .._ratelimit import RateLimitedLogger
from ..protocols import SpanExporter
from .span import Span

__all__ = [
    "BatchSpanProcessor",
    "ConsoleSpanExporter",
    "InMemorySpanExporter",
    "SpanExporter",
    "span_to_dict",
]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.tracing"))


def span_to_dict(span: Span) -> dict[str, Any]:
    """A JSON-ready dict of an ended span (ids as hex, times in epoch seconds, enums by name)."""
    ctx = span.context
    return {
        "name": span.name,
        "trace_id": ctx.trace_id,
        "span_id": ctx.span_id,
        "parent_span_id": ctx.parent_span_id,
        "trace_flags": f"{ctx.trace_flags:02x}",
        "trace_state": ctx.trace_state.to_header(),
        "service_name": span.service_name,
        "kind": span.kind.name,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "duration": span.get_duration(),
        "status": span.status.name,
        "status_message": span.status_message,
        "attributes": dict(span.attributes),
        "events": [
            {"name": e.name, "timestamp": e.timestamp, "attributes": dict(e.attributes)}
            for e in span.events
        ],
        "links": [
            {
                "trace_id": link.context.trace_id,
                "span_id": link.context.span_id,
                "attributes": dict(link.attributes),
            }
            for link in span.links
        ],
        "dropped_attributes": span.dropped_attributes,
        "dropped_events": span.dropped_events,
        "dropped_links": span.dropped_links,
    }


class ConsoleSpanExporter:
    """Write each span as one JSON line (ids, name, kind, times, duration, status,
    attributes, events, service name) to *stream* (``sys.stdout`` when None, looked up at
    export time so redirected output is honoured)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream

    def export(self, spans: Sequence[Span]) -> None:
        """Write one line per span and flush the stream."""
        if not spans:
            return
        stream = self._stream if self._stream is not None else sys.stdout
        text = "".join(
            json.dumps(span_to_dict(span), separators=(",", ":"), default=str) + "\n"
            for span in spans
        )
        stream.write(text)
        stream.flush()

    def shutdown(self) -> None:
        """Nothing to release."""


class InMemorySpanExporter:
    """Keep exported spans in memory for tests: the most recent *max_spans* (default
    10,000); older ones are evicted and counted in :attr:`evicted`."""

    def __init__(self, max_spans: int = 10_000) -> None:
        if max_spans < 1:
            raise ValueError(f"max_spans {max_spans!r} must be >= 1")
        self._spans: deque[Span] = deque(maxlen=max_spans)
        self._cond = threading.Condition()
        self._received = 0
        self.evicted = 0
        self.export_calls = 0

    def export(self, spans: Sequence[Span]) -> None:
        """Store *spans* (evicting the oldest past the bound)."""
        with self._cond:
            overflow = len(self._spans) + len(spans) - (self._spans.maxlen or 0)
            if overflow > 0:
                self.evicted += overflow
            self._spans.extend(spans)
            self._received += len(spans)
            self.export_calls += 1
            self._cond.notify_all()

    def get_finished_spans(self) -> list[Span]:
        """The stored spans, oldest first."""
        with self._cond:
            return list(self._spans)

    @property
    def spans(self) -> list[Span]:
        return self.get_finished_spans()

    def wait_for_spans(self, count: int, timeout: float) -> bool:
        """Block until *count* spans were received in total, or *timeout* seconds pass."""
        with self._cond:
            return self._cond.wait_for(lambda: self._received >= count, timeout)

    def clear(self) -> None:
        """Forget stored spans and counters."""
        with self._cond:
            self._spans.clear()
            self._received = 0
            self.evicted = 0
            self.export_calls = 0

    def shutdown(self) -> None:
        """Nothing to release."""


#: Receives (spans newly dropped, batches newly failed) from export workers; see
#: :func:`set_export_stats_listener`. Tracing never imports metrics: the wiring layer
#: installs a listener that counts these in ``lexigram_monitor_*`` metrics.
ExportStatsListener = Callable[[int, int], None]
_stats_listener: ExportStatsListener | None = None


def set_export_stats_listener(listener: ExportStatsListener | None) -> None:
    """Install the listener every batch processor reports its new drops/failures to.

    It is called from the export worker (never on the caller's path) after each export
    cycle and at shutdown, only when something was dropped or failed; its exceptions are
    logged, rate limited.
    """
    global _stats_listener
    _stats_listener = listener


class BatchSpanProcessor:
    """Queue ended spans and export them in batches from a daemon worker thread.

    The worker wakes every *export_interval* seconds, or as soon as a full batch of
    *max_export_batch_size* spans waits, and exports everything queued. The worker starts
    with the processor. Fork-safe: in a forked child the queue is emptied and a new worker
    is started.
    Counters: :attr:`dropped_spans` (queue full, failed export, or left at shutdown),
    :attr:`exported_spans`, :attr:`failed_exports` (batches).
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
        self._dropped = 0
        self._exported = 0
        self._failed = 0
        self._reported = (0, 0)  # (dropped, failed) already given to the stats listener
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
        self._start_worker()

    # -- counters -------------------------------------------------------------------
    @property
    def dropped_spans(self) -> int:
        return self._dropped

    @property
    def exported_spans(self) -> int:
        return self._exported

    @property
    def failed_exports(self) -> int:
        return self._failed

    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def _drop(self, count: int) -> None:
        with self._lock:
            self._dropped += count

    # -- hot path -------------------------------------------------------------------
    def on_end(self, span: Span) -> None:
        """Queue an ended span (dropped and counted when the queue is full or shut down)."""
        queue = self._queue
        if len(queue) >= self._limit:
            self._drop(1)
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
            self._report()
            if done is not None:
                done.set()
            if stopping:
                return

    def _drain(self) -> None:
        queue = self._queue
        while queue and not self._abandoned:
            size = min(self._batch, len(queue))
            batch = [queue.popleft() for _ in range(size)]
            self._export(batch)

    def _report(self) -> None:
        listener = _stats_listener
        if listener is None:
            return
        with self._lock:
            current = (self._dropped, self._failed)
            dropped, failed = (c - r for c, r in zip(current, self._reported, strict=True))
            self._reported = current
        if dropped or failed:
            try:
                listener(dropped, failed)
            except Exception as exc:
                _log.warning("stats-listener", "span export stats listener failed: %r", exc)

    def _export(self, batch: list[Span]) -> None:
        try:
            result: Any = self.exporter.export(batch)  # type: ignore[func-returns-value]
            if inspect.isawaitable(result):
                asyncio.run(_wait(result))
        except Exception as exc:
            self._failed += 1
            self._drop(len(batch))
            _log.warning(
                f"export:{type(self.exporter).__name__}",
                "span exporter %s failed; %d spans dropped: %r",
                type(self.exporter).__name__,
                len(batch),
                exc,
            )
        else:
            self._exported += len(batch)

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
        with self._lock:
            done = self._flush_done
            if done is None:
                done = self._flush_done = threading.Event()
        self._wake.set()
        return done.wait(self._timeout if timeout is None else timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Export what is queued, stop the worker and shut the exporter down.

        Waits at most *timeout* (default export_timeout) seconds; spans still queued then
        are dropped and counted. Further spans are dropped. Returns False on timeout.
        """
        with self._lock:
            if self._shutdown:
                return True
            self._shutdown = True
            self._limit = 0
            worker = self._worker
        self._wake.set()
        finished = True
        if worker is not None:
            worker.join(self._timeout if timeout is None else timeout)
            finished = not worker.is_alive()
        if not finished:
            self._abandoned = True
            _log.warning(
                "shutdown",
                "span export did not finish within the shutdown deadline; %d spans dropped",
                len(self._queue),
            )
        leftover = len(self._queue)
        self._queue.clear()
        if leftover:
            self._drop(leftover)
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
_fork_hook: list[bool] = []


def _track(processor: BatchSpanProcessor) -> None:
    if not _fork_hook and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook.append(True)
    _LIVE.add(processor)


def _after_fork_in_child() -> None:
    for processor in list(_LIVE):
        processor._after_fork()
