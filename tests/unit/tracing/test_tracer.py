"""Tracer: parenting, sampling, propagation, export wiring, config and the default tracer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.exceptions import SpanError
from lexigram.monitor.noop import NoOpSpan, NoOpTracer
from lexigram.monitor.protocols import SpanProtocol, TracerProtocol
from lexigram.monitor.tracing import (
    InMemorySpanExporter,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Tracer,
    current_trace_ids,
    get_default_tracer,
    set_default_tracer,
)
from lexigram.monitor.tracing import tracer as tracer_module

TID = "0af7651916cd43dd8448eb211c80319c"
SID = "b7ad6b7169203331"


def make(sampler: SamplerType = SamplerType.ALWAYS_ON, **cfg: object) -> Tracer:
    config = TracingConfig(sampler_type=sampler, **cfg)  # type: ignore[arg-type]
    return Tracer("svc", None, config=config, clock=FakeClock())


class SequentialIds:
    def __init__(self) -> None:
        self.n = 0

    def trace_id(self) -> int:
        self.n += 1
        return self.n

    def span_id(self) -> int:
        self.n += 1
        return self.n


def test_root_span_starts_a_new_trace() -> None:
    """Without context or current span, a span is a root with fresh ids."""
    span = make().start_span("root", kind=SpanKind.SERVER)
    assert span.context.parent_span_id is None
    assert span.kind is SpanKind.SERVER
    assert len(span.context.trace_id) == 32
    assert span.context.trace_id != "0" * 32


def test_current_span_is_the_default_parent() -> None:
    """A span started inside another's block is its child in the same trace."""
    tracer = make()
    with tracer.start_span("parent") as parent:
        child = tracer.start_span("child")
    assert child.context.trace_id == parent.context.trace_id
    assert child.context.parent_span_id == parent.context.span_id
    assert child.context.span_id != parent.context.span_id


def test_explicit_context_beats_the_current_span() -> None:
    """An explicit SpanContext (or span) is the parent even when another span is current."""
    tracer = make()
    remote = SpanContext(TID, SID, is_remote=True)
    with tracer.start_span("current"):
        child = tracer.start_span("child", context=remote)
        other = tracer.start_span("other", context=child)
    assert (child.context.trace_id, child.context.parent_span_id) == (TID, SID)
    assert other.context.parent_span_id == child.context.span_id
    with pytest.raises(SpanError, match="SpanContext"):
        tracer.start_span("bad", context="nope")  # type: ignore[arg-type]


def test_continued_trace_gets_a_new_span_id_per_outgoing_call() -> None:
    """Extract then start spans: same trace id, a new span id for each call."""
    tracer = make()
    remote = tracer.extract_context({"traceparent": f"00-{TID}-{SID}-01"})
    with tracer.start_span("server", context=remote):
        carriers = []
        for _ in range(2):
            with tracer.start_span("client", kind=SpanKind.CLIENT):
                carrier: dict[str, str] = {}
                tracer.inject_context(carrier)
                carriers.append(carrier["traceparent"])
    assert all(c.split("-")[1] == TID for c in carriers)
    span_ids = {c.split("-")[2] for c in carriers}
    assert len(span_ids) == 2
    assert SID not in span_ids


def test_local_children_inherit_the_sampled_flag() -> None:
    """Children of an unsampled local span are unsampled, even with always_on."""
    tracer = make()
    parent = tracer.start_span("p", context=SpanContext(TID, SID, sampled=False))
    assert isinstance(parent, NonRecordingSpan)
    with parent:
        child = tracer.start_span("c")
    assert isinstance(child, NonRecordingSpan)
    assert not child.context.sampled
    assert child.context.trace_id == TID
    assert child.context.parent_span_id == parent.context.span_id


@pytest.mark.parametrize(
    ("sampler", "remote_sampled", "expected"),
    [
        (SamplerType.PARENT_BASED, True, True),
        (SamplerType.PARENT_BASED, False, False),
        (SamplerType.ALWAYS_ON, False, True),
        (SamplerType.ALWAYS_OFF, True, False),
    ],
)
def test_sampler_decides_for_remote_parents(
    sampler: SamplerType, remote_sampled: bool, expected: bool
) -> None:
    """parent_based follows the remote flag; the other samplers decide themselves."""
    tracer = make(sampler)
    remote = SpanContext(TID, SID, sampled=remote_sampled, is_remote=True)
    assert tracer.start_span("s", context=remote).context.sampled is expected


def test_probability_sampler_is_consistent_within_a_trace() -> None:
    """With ratio sampling all services take the same decision for a trace id."""
    a, b = (
        make(SamplerType.PROBABILITY, sample_rate=0.5),
        make(SamplerType.PROBABILITY, sample_rate=0.5),
    )
    for i in range(50):
        remote = SpanContext((i * 0x9E3779B97F4A7C15) % (1 << 128) or 1, SID, is_remote=True)
        assert (
            a.start_span("x", context=remote).context.sampled
            == b.start_span("y", context=remote).context.sampled
        )


def test_rate_limiting_limits_roots_but_not_children() -> None:
    """Only new root traces consume tokens; children follow their parent."""
    clock = FakeClock()
    cfg = TracingConfig(sampler_type=SamplerType.RATE_LIMITING, max_traces_per_second=1)
    tracer = Tracer("svc", None, config=cfg, clock=clock)
    first = tracer.start_span("root")
    assert first.context.sampled
    with first:
        assert all(tracer.start_span("child").context.sampled for _ in range(10))
    assert not tracer.start_span("second root").context.sampled
    clock.advance(1.0)
    assert tracer.start_span("third root").context.sampled


def test_unsampled_spans_are_never_exported() -> None:
    """always_off spans are non-recording, kept nowhere and not exported."""
    exporter = InMemorySpanExporter()
    tracer = Tracer("svc", exporter, config=TracingConfig(sampler_type=SamplerType.ALWAYS_OFF))
    with tracer.start_span("op") as span:
        span.set_attribute("k", "v")
    assert isinstance(span, NonRecordingSpan)
    assert tracer.force_flush(5)
    assert exporter.spans == []
    assert tracer.get_all_spans() == []
    carrier: dict[str, str] = {}
    tracer.inject_context(carrier, span)
    assert carrier["traceparent"].endswith("-02")  # unsampled, random trace id
    tracer.shutdown(5)


def test_unsampled_root_ids_are_stable_once_read() -> None:
    """A lazily built unsampled context keeps its ids and parents its children."""
    tracer = make(SamplerType.ALWAYS_OFF)
    with tracer.start_span("root") as root:
        first = root.context
        child = tracer.start_span("child")
    assert root.context is first
    assert child.context.trace_id == first.trace_id
    assert child.context.parent_span_id == first.span_id


def test_get_all_spans_keeps_the_most_recent_max_spans() -> None:
    """Only the last max_spans ended spans are kept; max_spans=0 keeps none."""
    tracer = Tracer("svc", None, max_spans=3, config=TracingConfig(sampler_type="always_on"))
    for i in range(5):
        tracer.start_span(str(i)).end()
    assert [s.name for s in tracer.get_all_spans()] == ["2", "3", "4"]
    tracer.clear_spans()
    assert tracer.get_all_spans() == []
    none_kept = Tracer("svc", None, max_spans=0)
    none_kept.start_span("x").end()
    assert none_kept.get_all_spans() == []
    assert make(max_spans=7).max_spans == 7
    with pytest.raises(ValueError, match="max_spans"):
        Tracer("svc", None, max_spans=-1)


def test_unfinished_spans_are_not_kept_or_exported() -> None:
    """Spans are handed over only when they end."""
    exporter = InMemorySpanExporter()
    tracer = Tracer("svc", exporter, config=TracingConfig(sampler_type="always_on"))
    open_span = tracer.start_span("open")
    tracer.flush()
    assert exporter.spans == []
    assert tracer.get_all_spans() == []
    open_span.end()
    tracer.flush()
    assert exporter.spans == [open_span]
    tracer.shutdown(5)


def test_flush_is_synchronous_and_raising_exporter_never_reaches_the_caller() -> None:
    """flush exports the queue; an exporter error is counted, never raised."""

    class Boom:
        def export(self, spans: Sequence[Span]) -> None:
            raise RuntimeError("boom")

    tracer = Tracer("svc", Boom(), config=TracingConfig(sampler_type="always_on"))
    with tracer.start_span("op"):
        pass
    tracer.flush()
    assert tracer.dropped_spans == 1
    assert tracer.exported_spans == 0
    assert tracer.shutdown(5)


def test_batch_settings_come_from_the_config() -> None:
    """Queue size, batch size, interval and timeout configure the processor."""
    cfg = TracingConfig(
        max_queue_size=10, max_export_batch_size=4, export_interval=2.5, export_timeout=1.5
    )
    tracer = Tracer("svc", InMemorySpanExporter(), config=cfg)
    processor = tracer.processor
    assert processor is not None
    settings = (processor._max_queue, processor._batch, processor._interval, processor._timeout)
    assert settings == (10, 4, 2.5, 1.5)
    tracer.shutdown(1)


def test_invalid_start_attributes_raise_span_error() -> None:
    """Attributes given to start_span follow the attribute rule."""
    with pytest.raises(SpanError, match="'bad'"):
        make().start_span("op", attributes={"bad": object()})


@pytest.mark.parametrize(
    "carrier",
    [
        {"traceparent": "00-garbage"},
        {"traceparent": f"00-{TID}-{SID}-01" + "0" * 500},
        {"traceparent": f"00-{TID}-{SID}-01", "TraceParent": f"00-{TID}-{SID}-01"},
        {"traceparent": [f"00-{TID}-{SID}-01", f"00-{TID}-{SID}-00"]},
        {"traceparent": f"00-{TID}-{SID}-01", "tracestate": "x" * 40_000},
    ],
)
def test_bad_headers_start_a_new_trace_without_error(carrier: dict[str, object]) -> None:
    """Malformed, oversized or duplicated headers: a new trace (or no tracestate)."""
    tracer = make()
    ctx = tracer.extract_context(carrier)
    span = tracer.start_span("server", context=ctx)
    if ctx is None:
        assert span.context.trace_id != TID
        assert span.context.parent_span_id is None
    else:
        assert len(ctx.trace_state) == 0


def test_inject_without_a_span_leaves_the_carrier_alone() -> None:
    """No current span and no context: nothing is written."""
    carrier: dict[str, str] = {}
    make().inject_context(carrier)
    assert carrier == {}


def test_inject_extract_round_trip_keeps_tracestate() -> None:
    """tracestate travels unchanged through a child span."""
    tracer = make()
    remote = tracer.extract_context({"traceparent": f"00-{TID}-{SID}-01", "tracestate": "a=1,b=2"})
    with tracer.start_span("s", context=remote):
        carrier: dict[str, str] = {}
        tracer.inject_context(carrier)
    assert carrier["tracestate"] == "a=1,b=2"


def test_disabled_tracing_records_nothing_but_propagates() -> None:
    """enabled=False: non-recording spans that keep the incoming trace id and flag."""
    exporter = InMemorySpanExporter()
    tracer = Tracer("svc", exporter, config=TracingConfig(enabled=False))
    remote = SpanContext(TID, SID, is_remote=True)
    span = tracer.start_span("s", context=remote)
    assert isinstance(span, NonRecordingSpan)
    assert span.context.sampled
    assert span.context.trace_id == TID
    assert not tracer.start_span("root").context.sampled
    tracer.shutdown(5)


def test_injected_id_generator_is_used() -> None:
    """Deterministic ids come from an injected generator, also for unsampled spans."""
    tracer = Tracer(
        "svc", None, config=TracingConfig(sampler_type="always_on"), id_generator=SequentialIds()
    )
    span = tracer.start_span("a")
    assert (span.context.trace_id_int, span.context.span_id_int) == (1, 2)
    off = Tracer(
        "svc", None, config=TracingConfig(sampler_type="always_off"), id_generator=SequentialIds()
    )
    assert off.start_span("b").context.span_id_int == 1


def test_spans_in_threads_do_not_share_the_current_span() -> None:
    """Each thread builds its own trace."""
    tracer = make()
    traces: list[str] = []

    def work() -> None:
        with tracer.start_span("root") as root, tracer.start_span("child") as child:
            assert child.context.parent_span_id == root.context.span_id
            traces.append(child.context.trace_id)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(traces)) == 4


async def test_tasks_under_one_parent_get_sibling_spans() -> None:
    """Tasks created inside a span are its children and do not see each other's spans."""
    tracer = make()

    async def step(name: str) -> Span:
        with tracer.start_span(name) as span:
            await asyncio.sleep(0)
            return span

    with tracer.start_span("parent") as parent:
        a, b = await asyncio.gather(step("a"), step("b"))
    assert a.context.parent_span_id == b.context.parent_span_id == parent.context.span_id


def test_current_trace_ids_follow_the_tracer() -> None:
    """The exemplar hook reports the current sampled span of the tracer."""
    tracer = make()
    with tracer.start_span("op") as span:
        assert current_trace_ids() == (span.context.trace_id, span.context.span_id)


def test_default_tracer_is_lazy_and_replaceable() -> None:
    """No tracer exists until asked for; set_default_tracer swaps it."""
    assert tracer_module._default_tracer is None
    first = get_default_tracer()
    assert get_default_tracer() is first
    mine = make()
    assert set_default_tracer(mine) is first
    assert get_default_tracer() is mine


def test_tracers_and_spans_satisfy_the_protocols() -> None:
    """Our Tracer/Span and the no-op twins all fit TracerProtocol / SpanProtocol."""
    tracer = make()
    for candidate in (tracer, NoOpTracer()):
        assert isinstance(candidate, TracerProtocol)
    for span in (tracer.start_span("x"), NonRecordingSpan(SpanContext(1, 2)), NoOpSpan("x")):
        assert isinstance(span, SpanProtocol)
    noop_span = NoOpTracer().start_span("x", attributes={"a": 1}, kind=SpanKind.CLIENT)
    with noop_span:
        noop_span.set_status("error")
    assert noop_span.ended
    assert noop_span.attributes == {"a": 1}


def test_empty_propagation_formats_turn_propagation_off() -> None:
    """Without 'tracecontext' nothing is injected or extracted."""
    tracer = make(propagation_formats=[])
    with tracer.start_span("op"):
        carrier: dict[str, str] = {}
        tracer.inject_context(carrier)
    assert carrier == {}
    assert tracer.extract_context({"traceparent": f"00-{TID}-{SID}-01"}) is None
