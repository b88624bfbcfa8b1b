"""Test doubles for applications: capture metrics and spans without patching.

>>> from lexigram.monitor.testing import capture_metrics, capture_spans
>>> with capture_metrics() as metrics, capture_spans() as spans:  # doctest: +SKIP
...     handle_order()
...     assert metrics.value("orders_total", {"status": "ok"}) == 1
...     assert spans.names() == ["handle_order"]

Both install fresh process defaults (collector / tracer + in-memory exporter) for the
duration of the ``with`` block and restore the previous ones afterwards, so code that
uses the defaults (decorators, middlewares, ``MetricsCollector`` users) is observed as
it runs in production. Captured spans are bounded (``max_spans``, default 10,000).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .config import MetricsConfig, SamplerType, TracingConfig
from .exceptions import MetricNotFoundError
from .metrics.collector import MetricsCollector, get_default_collector, set_default_collector
from .tracing.export import InMemorySpanExporter
from .tracing.span import Span
from .tracing.tracer import Tracer, set_default_tracer

__all__ = ["MetricsCapture", "SpanCapture", "capture_metrics", "capture_spans"]


class MetricsCapture:
    """Read access to the metrics recorded while capturing."""

    def __init__(self, collector: MetricsCollector) -> None:
        self.collector = collector

    def get(self, name: str) -> Any:
        """The instrument *name*; :class:`MetricNotFoundError` listing the known names."""
        metric = self.collector.get_metric(name)
        if metric is None:
            known = ", ".join(sorted(self.collector.get_all_metrics())) or "none"
            raise MetricNotFoundError(f"no metric named {name!r} was recorded; known: {known}")
        return metric

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """Counter total / gauge value / histogram or summary count of one series."""
        metric = self.get(name)
        if metric.kind in ("counter", "gauge"):
            return float(metric.get_value(labels=labels))
        return float(metric.get_count(labels=labels))

    def names(self) -> list[str]:
        """Sorted names of every instrument created while capturing."""
        return sorted(self.collector.get_all_metrics())


class SpanCapture:
    """Read access to the spans ended while capturing."""

    def __init__(self, tracer: Tracer, exporter: InMemorySpanExporter) -> None:
        self.tracer = tracer
        self.exporter = exporter

    @property
    def spans(self) -> list[Span]:
        """Ended sampled spans, oldest first (pending exports are flushed first)."""
        self.tracer.flush()
        return self.exporter.get_finished_spans()

    def names(self) -> list[str]:
        """Names of the ended spans, oldest first."""
        return [s.name for s in self.spans]

    def find(self, name: str) -> list[Span]:
        """Ended spans called *name*."""
        return [s for s in self.spans if s.name == name]

    def clear(self) -> None:
        """Forget the spans captured so far."""
        self.tracer.flush()
        self.exporter.clear()


@contextmanager
def capture_metrics(config: MetricsConfig | None = None) -> Iterator[MetricsCapture]:
    """Install a fresh default collector for the block; restore the previous one after."""
    previous = get_default_collector()
    collector = MetricsCollector(config)
    set_default_collector(collector)
    try:
        yield MetricsCapture(collector)
    finally:
        set_default_collector(previous)


@contextmanager
def capture_spans(service_name: str = "test", *, max_spans: int = 10_000) -> Iterator[SpanCapture]:
    """Install a default tracer sampling every span into memory; restore the previous one."""
    exporter = InMemorySpanExporter(max_spans=max_spans)
    tracer = Tracer(
        service_name,
        exporter,
        config=TracingConfig(service_name=service_name, sampler_type=SamplerType.ALWAYS_ON),
    )
    previous = set_default_tracer(tracer)
    try:
        yield SpanCapture(tracer, exporter)
    finally:
        tracer.shutdown()
        set_default_tracer(previous)
