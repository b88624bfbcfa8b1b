"""InMemoryTraceProvider: create, current, list, export."""

from __future__ import annotations

from lexigram.monitor.tracing import DEFAULT_MAX_SPANS, InMemorySpanExporter, InMemoryTraceProvider


def test_defaults_follow_the_reference() -> None:
    """Service name 'lexigram-service' and DEFAULT_MAX_SPANS (1000) ended spans."""
    provider = InMemoryTraceProvider()
    assert provider.service_name == "lexigram-service"
    assert provider.tracer.max_spans == DEFAULT_MAX_SPANS == 1000


def test_create_span_with_and_without_parent() -> None:
    """create_span nests under an explicit parent, else the current span."""
    provider = InMemoryTraceProvider("orders", max_spans=10)
    root = provider.create_span("root")
    child = provider.create_span("child", parent=root)
    assert child.context.parent_span_id == root.context.span_id
    provider.set_current_span(child)
    assert provider.get_current_span() is child
    grandchild = provider.create_span("grandchild")
    assert grandchild.context.parent_span_id == child.context.span_id
    provider.set_current_span(None)
    assert provider.get_current_span() is None


def test_get_all_spans_lists_ended_spans_bounded() -> None:
    """Only ended spans are listed, at most max_spans of them."""
    provider = InMemoryTraceProvider(max_spans=2)
    spans = [provider.create_span(str(i)) for i in range(3)]
    assert provider.get_all_spans() == []
    for span in spans:
        span.end()
    assert [s.name for s in provider.get_all_spans()] == ["1", "2"]


def test_exporter_receives_spans_on_flush() -> None:
    """With an exporter, ended spans are exported through the batch processor."""
    exporter = InMemorySpanExporter()
    provider = InMemoryTraceProvider("svc", exporter=exporter)
    provider.create_span("op").end()
    provider.flush()
    assert [s.name for s in exporter.spans] == ["op"]
    assert exporter.spans[0].service_name == "svc"
    provider.shutdown()
