"""In-memory backend: the embedded default (``BackendType.MEMORY``).

Metrics go into a :class:`~lexigram.monitor.metrics.MetricsCollector` (the process one by
default, so ``/metrics`` shows them), spans come from a
:class:`~lexigram.monitor.tracing.Tracer` (the default one by default). Nothing leaves
the process. :meth:`MemoryBackend.get_records` returns the most recent values recorded
through :meth:`MemoryBackend.record_metric` — at most ``max_records`` (default 1,000),
older ones are forgotten.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from ..metrics import MetricsCollector, MetricValue, get_default_collector
from ..tracing import Span, SpanContext, Tracer, get_default_tracer
from ._recording import InstrumentTable
from ._wiring import enable_exemplars, enable_span_export_metrics

__all__ = ["DEFAULT_MAX_RECORDS", "MemoryBackend"]

DEFAULT_MAX_RECORDS = 1_000


class MemoryBackend:
    """Keeps metrics and spans in process; satisfies ``MetricsBackendProtocol``."""

    def __init__(
        self,
        *,
        collector: MetricsCollector | None = None,
        tracer: Tracer | None = None,
        max_records: int = DEFAULT_MAX_RECORDS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 0:
            raise ValueError(f"max_records={max_records!r} must be an integer >= 0")
        self._collector = collector
        self._tracer = tracer
        self._clock = clock
        self._table = InstrumentTable(lambda: self.collector)
        self._records: deque[MetricValue] = deque(maxlen=max_records)
        self._lock = threading.Lock()
        self.initialized = False

    @property
    def collector(self) -> MetricsCollector:
        """The collector metrics are recorded into."""
        return self._collector if self._collector is not None else get_default_collector()

    @property
    def tracer(self) -> Tracer:
        """The tracer :meth:`create_span` uses."""
        return self._tracer if self._tracer is not None else get_default_tracer()

    async def initialize(self) -> None:
        """Install the exemplar source (metrics remember the current span) and start the
        collector's periodic collection callbacks; idempotent."""
        enable_exemplars()
        enable_span_export_metrics()
        await self.collector.start_collection()
        self.initialized = True

    async def shutdown(self) -> None:
        """Stop the collection callbacks and export spans still queued in the tracer; the
        recorded data stays readable."""
        await self.collector.stop_collection()
        self.tracer.flush()
        self.initialized = False

    def record_metric(
        self,
        name: str,
        value: Any,
        metric_type: str,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Record *value*: ``counter`` adds, ``gauge`` sets, ``histogram``/``summary``
        observe. Names follow the facade rule (``.``/``-`` become ``_``); an unknown
        *metric_type* or a bad value raises :class:`InvalidMetricError`."""
        instrument = self._table.record(name, value, metric_type, labels)
        record = MetricValue(instrument.name, value, dict(labels or {}), self._clock.time())
        with self._lock:
            self._records.append(record)

    def create_span(self, name: str, parent_context: SpanContext | None = None) -> Span:
        """Start a span with the tracer, continuing *parent_context*'s trace when given."""
        return self.tracer.start_span(name, context=parent_context)

    def get_records(self, name: str | None = None) -> list[MetricValue]:
        """Recent values recorded through :meth:`record_metric` (oldest first), all or
        those of metric *name* (as exposed, e.g. ``orders_total`` for ``orders.total``)."""
        with self._lock:
            records = list(self._records)
        if name is None:
            return records
        return [r for r in records if r.name == name]

    def get_spans(self) -> list[Span]:
        """Recently ended sampled spans kept by the tracer (bounded by its ``max_spans``)."""
        return self.tracer.get_all_spans()

    def clear(self) -> None:
        """Forget the recorded values (instruments and spans are left alone)."""
        with self._lock:
            self._records.clear()
