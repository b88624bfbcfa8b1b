"""Span export: the console and in-memory exporters; the batch processor (``batch.py``).

:class:`BatchSpanProcessor` (re-exported here) takes ended spans on the caller's thread
and exports them in batches from a daemon worker thread, each call bounded by
``export_timeout``, flushing at shutdown and at interpreter exit; see
:mod:`lexigram.monitor.tracing.batch`.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Sequence
from typing import IO, Any

from ..protocols import SpanExporter
from .batch import BatchSpanProcessor, set_export_stats_listener
from .span import Span

__all__ = [
    "BatchSpanProcessor",
    "ConsoleSpanExporter",
    "InMemorySpanExporter",
    "SpanExporter",
    "set_export_stats_listener",
    "span_to_dict",
]


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
