"""The trace section: recent and slowest traces, and one trace as a waterfall of spans.

Read from the tracer's bounded buffer of ended sampled spans (``Tracer.get_all_spans``,
``TracingConfig.max_spans``), grouped by trace id. A trace whose first spans already left
the buffer shows the spans still there. While someone looks, :class:`TraceView` also
keeps the spans of the *slowest_kept* slowest traces it has seen, so a slow trace stays
visible after the buffer moved on; nothing is kept or computed while nobody asks.

Memory: the kept slow traces hold at most *slowest_kept* traces' spans (references to
ended spans, each trace at most the tracer's ``max_spans`` spans); the traces of the last
read of the buffer are kept too (references to its spans and one summary each), so an
unchanged trace is not summed up again.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["TRACE_ID", "TraceView", "plain_value"]

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_KINDS = ("internal", "server", "client", "producer", "consumer")
_STATUSES = ("unset", "ok", "error")


def plain_value(value: Any) -> Any:
    """An attribute value as JSON holds it: non-finite floats and other objects become
    strings, sequences lists."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    return str(value)


def _attributes(attributes: Any) -> dict[str, Any]:
    return {str(k): plain_value(v) for k, v in dict(attributes or {}).items()}


def _enum(value: Any, names: Sequence[str]) -> str:
    index = int(value)
    return names[index] if 0 <= index < len(names) else str(index)


class _Trace:
    __slots__ = ("_summary", "duration", "end", "error", "root", "spans", "start", "trace_id")

    def __init__(self, trace_id: str, spans: list[Any]) -> None:
        self.trace_id = trace_id
        self.spans = spans
        self.start = min(s.start_time for s in spans)
        self.end = max(s.end_time for s in spans)
        self.duration = self.end - self.start
        ids = {s.span_id for s in spans}
        roots = [s for s in spans if s.parent_span_id is None or s.parent_span_id not in ids]
        self.root = min(roots or spans, key=lambda s: s.start_time)
        self.error = any(int(s.status) == 2 for s in spans)
        self._summary: dict[str, Any] | None = None

    def same(self, spans: Sequence[Any]) -> bool:
        """True when *spans* (this trace's spans in buffer order, read later) are the
        spans this was made of: the buffer only drops its oldest spans and appends, so
        equal length and the same first and last span mean the same spans."""
        mine = self.spans
        return len(spans) == len(mine) and spans[0] is mine[0] and spans[-1] is mine[-1]

    def summary(self) -> dict[str, Any]:
        """The trace's line in the lists (made once; the spans are ended, so final)."""
        if self._summary is None:
            self._summary = self._make_summary()
        return self._summary

    def _make_summary(self) -> dict[str, Any]:
        root = self.root
        return {
            "trace_id": self.trace_id,
            "name": root.name,
            "service": root.service_name,
            "start": self.start,
            "duration_ms": round(self.duration * 1000.0, 3),
            "spans": len(self.spans),
            "error": self.error,
        }


def _same_spans(before: Sequence[Any], now: Sequence[Any]) -> bool:
    """Whether two reads of the span buffer hold the same spans: it only drops its
    oldest spans and appends ended ones, so equal length and the same first and last
    span mean the same spans."""
    if len(before) != len(now):
        return False
    return not now or (now[0] is before[0] and now[-1] is before[-1])


def _group(spans: Iterable[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for span in spans:
        if span.end_time is None:
            continue
        groups.setdefault(span.trace_id, []).append(span)
    return groups


class TraceView:
    """Trace summaries and waterfalls over *tracer*'s buffer of ended spans; thread safe."""

    def __init__(self, tracer: Any, *, shown: int = 20, slowest_kept: int = 20) -> None:
        if shown < 1 or slowest_kept < 0:
            raise ValueError(f"shown={shown!r} must be >= 1 and slowest_kept={slowest_kept!r} >= 0")
        self._tracer = tracer
        self._shown = shown
        self._kept_max = slowest_kept
        self._kept: dict[str, _Trace] = {}
        self._known: dict[str, _Trace] = {}
        self._last: tuple[Sequence[Any], Any, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def _traces(self, spans: Sequence[Any]) -> tuple[dict[str, _Trace], int]:
        """The traces of *spans* (the buffer now); a trace whose spans did not change
        since the last call is the object made then (at most one per trace of the buffer
        kept)."""
        known = self._known
        traces = {}
        for tid, group in _group(spans).items():
            trace = known.get(tid)
            traces[tid] = trace if trace is not None and trace.same(group) else _Trace(tid, group)
        self._known = traces
        return traces, len(spans)

    def summary(self) -> dict[str, Any]:
        """``recent`` (newest end first) and ``slowest`` trace summaries, at most
        *shown* each, and the ``buffer`` (spans held, capacity). While the buffer holds
        the same spans (see :func:`_same_spans`) it is the very dict of the last call
        (do not modify it); only that one is kept."""
        spans = self._tracer.get_all_spans()
        capacity = getattr(self._tracer, "max_spans", None)
        last = self._last
        if last is not None and last[1] == capacity and _same_spans(last[0], spans):
            return last[2]
        traces, held = self._traces(spans)
        recent = sorted(traces.values(), key=lambda t: t.end, reverse=True)[: self._shown]
        with self._lock:
            pool = dict(traces)
            for tid, kept in self._kept.items():
                if tid not in pool:
                    pool[tid] = kept
            slowest = sorted(pool.values(), key=lambda t: t.duration, reverse=True)
            self._kept = {t.trace_id: t for t in slowest[: self._kept_max]}
        made = {
            "buffer": {"spans": held, "capacity": capacity},
            "recent": [t.summary() for t in recent],
            "slowest": [t.summary() for t in slowest[: self._shown]],
        }
        self._last = (spans, capacity, made)
        return made

    def trace_ids(self) -> set[str]:
        """Ids of the traces the buffer holds spans of."""
        return {s.trace_id for s in self._tracer.get_all_spans()}

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """The waterfall of trace *trace_id* (32 lower-case hex digits), None when no
        span of it is held."""
        spans = _group(s for s in self._tracer.get_all_spans() if s.trace_id == trace_id)
        found = spans.get(trace_id)
        if not found:
            with self._lock:
                kept = self._kept.get(trace_id)
            if kept is None:
                return None
            found = list(kept.spans)
        trace = _Trace(trace_id, found)
        return {**trace.summary(), "waterfall": _waterfall(trace)}


def _waterfall(trace: _Trace) -> list[dict[str, Any]]:
    """The spans depth first in start order, each with offsets from the trace start."""
    children: dict[str | None, list[Any]] = {}
    ids = {s.span_id for s in trace.spans}
    for span in trace.spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: s.start_time)
    out: list[dict[str, Any]] = []
    stack: list[tuple[Any, int]] = [(s, 0) for s in reversed(children.get(None, []))]
    start = trace.start
    while stack:
        span, depth = stack.pop()
        out.append(_span(span, depth, start))
        stack.extend((c, depth + 1) for c in reversed(children.get(span.span_id, [])))
    return out


def _span(span: Any, depth: int, start: float) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": _enum(span.kind, _KINDS),
        "service": span.service_name,
        "depth": depth,
        "offset_ms": round((span.start_time - start) * 1000.0, 3),
        "duration_ms": round((span.end_time - span.start_time) * 1000.0, 3),
        "status": _enum(span.status, _STATUSES),
        "status_message": span.status_message,
        "attributes": _attributes(span.attributes),
        "events": [
            {
                "name": e.name,
                "offset_ms": round((e.timestamp - start) * 1000.0, 3),
                "attributes": _attributes(e.attributes),
            }
            for e in span.events
        ],
        "links": [
            {
                "trace_id": link.context.trace_id,
                "span_id": link.context.span_id,
                "attributes": _attributes(link.attributes),
            }
            for link in span.links
        ],
        "dropped": {
            "attributes": span.dropped_attributes,
            "events": span.dropped_events,
            "links": span.dropped_links,
        },
    }
