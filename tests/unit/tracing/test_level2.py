"""W3C Trace Context level 2: the random-trace-id flag and remote parents.

Bit 1 (``0x02``) of the trace flags says the trace id is random. A trace we start with a
random id carries it (``-03`` sampled, ``-02`` unsampled); a trace we continue keeps the
incoming bit in every outgoing ``traceparent``, whatever our sampler decides for bit 0.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.tracing import NonRecordingSpan, Span, SpanContext, Tracer
from lexigram.monitor.tracing.sampling import TraceIdRatioSampler

TID = "0af7651916cd43dd8448eb211c80319c"
SID = "b7ad6b7169203331"


def make(sampler: SamplerType = SamplerType.ALWAYS_ON, **kwargs: object) -> Tracer:
    config = TracingConfig(sampler_type=sampler)
    return Tracer("svc", None, config=config, clock=FakeClock(), **kwargs)  # type: ignore[arg-type]


def outgoing_flags(tracer: Tracer, span: Span) -> str:
    carrier: dict[str, str] = {}
    tracer.inject_context(carrier, span)
    return carrier["traceparent"][-2:]


class CountingIds:
    """Sequential ids: not random, so no random-trace-id flag."""

    def __init__(self) -> None:
        self.n = 0

    def trace_id(self) -> int:
        self.n += 1
        return self.n

    def span_id(self) -> int:
        self.n += 1
        return self.n


class DeclaredRandomIds(CountingIds):
    """A custom generator that declares its trace ids random."""

    def is_trace_id_random(self) -> bool:
        return True


def test_new_sampled_trace_goes_out_as_03() -> None:
    """A sampled root with a random trace id sets both defined flags."""
    tracer = make()
    span = tracer.start_span("root")
    assert span.context.trace_flags == 0x03
    assert span.context.random_trace_id
    assert outgoing_flags(tracer, span) == "03"


@pytest.mark.parametrize(
    "tracer",
    [
        pytest.param(make(SamplerType.ALWAYS_OFF), id="always_off"),
        pytest.param(Tracer("svc", None, sampler=TraceIdRatioSampler(0.0)), id="ratio_0"),
        pytest.param(
            Tracer("svc", None, sampler=TraceIdRatioSampler(0.0), id_generator=DeclaredRandomIds()),
            id="declared_random_generator",
        ),
    ],
)
def test_new_unsampled_trace_goes_out_as_02(tracer: Tracer) -> None:
    """Unsampled roots still say their trace id is random (lazy and eager paths)."""
    spans = [tracer.start_span("root") for _ in range(20)]
    unsampled = [s for s in spans if not s.context.sampled]
    assert unsampled
    for span in unsampled:
        assert isinstance(span, NonRecordingSpan)
        assert outgoing_flags(tracer, span) == "02"


def test_generator_without_declaration_leaves_the_random_flag_off() -> None:
    """Ids from a generator that does not declare them random get no random flag."""
    sampled = make(id_generator=CountingIds()).start_span("root")
    unsampled = make(SamplerType.ALWAYS_OFF, id_generator=CountingIds()).start_span("root")
    assert sampled.context.trace_flags == 0x01
    assert unsampled.context.trace_flags == 0x00


def test_declared_random_generator_sets_the_flag() -> None:
    """``is_trace_id_random() -> True`` on a custom generator turns the flag on."""
    span = make(id_generator=DeclaredRandomIds()).start_span("root")
    assert span.context.trace_flags == 0x03


@pytest.mark.parametrize(
    ("incoming", "sampler", "expected"),
    [
        ("01", SamplerType.ALWAYS_ON, "01"),  # not random upstream: we do not claim it
        ("00", SamplerType.ALWAYS_ON, "01"),
        ("02", SamplerType.ALWAYS_ON, "03"),  # random upstream, sampled here
        ("03", SamplerType.ALWAYS_OFF, "02"),  # random upstream, dropped here
        ("03", SamplerType.PARENT_BASED, "03"),
        ("02", SamplerType.PARENT_BASED, "02"),
        ("00", SamplerType.PARENT_BASED, "00"),
        ("ff", SamplerType.PARENT_BASED, "03"),  # undefined bits are never propagated
        ("fd", SamplerType.PARENT_BASED, "01"),
    ],
)
def test_continued_trace_propagates_the_incoming_random_flag(
    incoming: str, sampler: SamplerType, expected: str
) -> None:
    """Bit 1 of the incoming flags goes out unchanged; bit 0 is our sampling decision."""
    tracer = make(sampler)
    remote = tracer.extract_context({"traceparent": f"00-{TID}-{SID}-{incoming}"})
    span = tracer.start_span("server", context=remote)
    assert outgoing_flags(tracer, span) == expected
    with span:
        child = tracer.start_span("client")  # a local child keeps the flags too
    assert outgoing_flags(tracer, child) == expected


@given(st.integers(min_value=0, max_value=255), st.sampled_from(list(SamplerType)))
def test_random_flag_of_a_continued_trace_never_changes(flags: int, sampler: SamplerType) -> None:
    """Whatever the incoming flags and the sampler, outgoing bit 1 equals incoming bit 1
    and no undefined bit is written."""
    tracer = make(sampler)
    remote = tracer.extract_context({"traceparent": f"00-{TID}-{SID}-{flags:02x}"})
    out = int(outgoing_flags(tracer, tracer.start_span("op", context=remote)), 16)
    assert out & 0x02 == flags & 0x02
    assert out & ~0x03 == 0


def test_disabled_tracing_still_propagates_the_random_flag() -> None:
    """With tracing off nothing records, but the incoming flags go on unchanged."""
    tracer = Tracer("svc", None, config=TracingConfig(enabled=False))
    remote = tracer.extract_context({"traceparent": f"00-{TID}-{SID}-03"})
    span = tracer.start_span("op", context=remote)
    assert not span.is_recording()
    assert outgoing_flags(tracer, span) == "03"


def test_a_span_built_without_a_tracer_starts_a_random_sampled_trace() -> None:
    """``Span(name)`` makes its own random ids, so both flags are set."""
    assert Span("standalone").context.trace_flags == 0x03


def test_to_traceparent_writes_only_the_defined_flags() -> None:
    """SpanContext.to_traceparent masks bits other than sampled and random-trace-id."""
    assert SpanContext(TID, SID, trace_flags=0xFF).to_traceparent().endswith("-03")
    assert SpanContext(TID, SID, trace_flags=0x04).to_traceparent().endswith("-00")


def test_parent_is_remote_marks_spans_continuing_another_process() -> None:
    """A span whose parent was extracted from a carrier has parent_is_remote; roots and
    local children do not."""
    tracer = make()
    remote = tracer.extract_context({"traceparent": f"00-{TID}-{SID}-01"})
    server = tracer.start_span("server", context=remote)
    assert server.parent_is_remote
    with server:
        child = tracer.start_span("child")
    assert not child.parent_is_remote
    assert not tracer.start_span("root").parent_is_remote
