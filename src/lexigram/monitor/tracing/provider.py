"""In-memory trace provider: a :class:`Tracer` with a simple create/current/list API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._clock import SYSTEM_CLOCK, Clock
from ..defaults import DEFAULT_MAX_SPANS, DEFAULT_SERVICE_NAME
from ..protocols import SpanExporter
from .span import CURRENT_SPAN, Span
from .tracer import Tracer

if TYPE_CHECKING:
    from ..config import TracingConfig

__all__ = ["DEFAULT_MAX_SPANS", "InMemoryTraceProvider"]


class InMemoryTraceProvider:
    """In-memory trace provider using Tracer.

    Keeps the last *max_spans* ended sampled spans in memory; when *exporter* is given,
    spans are also exported through the tracer's batch processor.
    """

    def __init__(
        self,
        service_name: str = DEFAULT_SERVICE_NAME,
        max_spans: int = DEFAULT_MAX_SPANS,
        exporter: SpanExporter | None = None,
        *,
        config: TracingConfig | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.tracer = Tracer(service_name, exporter, max_spans, config=config, clock=clock)

    @property
    def service_name(self) -> str:
        return self.tracer.service_name

    def create_span(self, name: str, parent: Span | None = None) -> Span:
        """Start a span, child of *parent* (default: the current span, else a new trace)."""
        return self.tracer.start_span(name, context=parent)

    def get_current_span(self) -> Span | None:
        """The current span of this thread / asyncio task, or None."""
        return CURRENT_SPAN.get()

    def set_current_span(self, span: Span | None) -> None:
        """Make *span* current in this thread / asyncio task (None clears it)."""
        CURRENT_SPAN.set(span)

    def get_all_spans(self) -> list[Span]:
        """Ended sampled spans, oldest first (at most ``max_spans``)."""
        return self.tracer.get_all_spans()

    def flush(self) -> None:
        """Export what is queued (when an exporter is configured)."""
        self.tracer.flush()

    def shutdown(self) -> None:
        """Drain and stop the exporter (when one is configured)."""
        self.tracer.shutdown()
