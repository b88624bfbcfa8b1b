"""Message-queue propagation: PRODUCER/CONSUMER spans and carriers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lexigram.monitor.config import SamplerType, TracingConfig
from lexigram.monitor.instrumentation import inject_trace_context, trace_consume, trace_publish
from lexigram.monitor.tracing import SpanKind, SpanStatus, Tracer, set_default_tracer
from lexigram.monitor.tracing.context import get_current_span, reset_current_span, set_current_span


@pytest.fixture
def tracer() -> Iterator[Tracer]:
    """A sampled tracer installed as the process default for the test."""
    token = set_current_span(None)
    mine = Tracer("svc", None, config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON))
    previous = set_default_tracer(mine)
    yield mine
    set_default_tracer(previous)
    reset_current_span(token)


def test_inject_without_current_span_is_a_no_op(tracer: Tracer) -> None:
    """No current span: the carrier stays empty."""
    carrier: dict[str, str] = {}
    inject_trace_context(carrier)
    assert carrier == {}


def test_inject_writes_the_current_span(tracer: Tracer) -> None:
    """With a current span the carrier gets its traceparent (sampled, random trace id)."""
    with tracer.start_span("op") as span:
        carrier: dict[str, str] = {}
        inject_trace_context(carrier)
    assert carrier["traceparent"] == f"00-{span.context.trace_id}-{span.context.span_id}-03"


async def test_publish_span_has_semconv_attributes_and_no_recipient(tracer: Tracer) -> None:
    """PRODUCER span 'send <channel>' with messaging attributes; the address is never stored."""
    async with trace_publish("notifications", "email", "user@example.com", priority=2) as span:
        assert get_current_span() is span
    assert span.name == "send notifications"
    assert span.kind is SpanKind.PRODUCER
    assert span.attributes["messaging.destination.name"] == "notifications"
    assert span.attributes["messaging.operation.type"] == "send"
    assert span.attributes["messaging.message.type"] == "email"
    assert span.attributes["messaging.system"] == "lexigram"
    assert span.attributes["messaging.message.has_recipient"] is True
    assert span.attributes["priority"] == 2
    assert not any("user@example.com" in str(v) for v in span.attributes.values())
    assert span.ended


async def test_publish_without_recipient_has_no_flag(tracer: Tracer) -> None:
    """The recipient flag appears only when a recipient was given."""
    async with trace_publish("jobs", "task") as span:
        pass
    assert "messaging.message.has_recipient" not in span.attributes


async def test_messaging_system_can_be_overridden(tracer: Tracer) -> None:
    """Dotted attributes passed by mapping override the defaults."""
    async with trace_publish("q", **{"messaging.system": "rabbitmq"}) as span:
        pass
    assert span.attributes["messaging.system"] == "rabbitmq"


async def test_consumer_continues_the_producer_trace(tracer: Tracer) -> None:
    """The carrier filled by trace_publish makes the consumer a child of the producer."""
    headers: dict[str, str] = {}
    async with trace_publish("orders", "created", carrier=headers) as producer:
        pass
    async with trace_consume("orders", "created", carrier=headers) as consumer:
        assert get_current_span() is consumer
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.name == "process orders"
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.context.trace_id == producer.context.trace_id
    assert consumer.context.parent_span_id == producer.context.span_id


async def test_each_publish_gets_its_own_span_id(tracer: Tracer) -> None:
    """Two publishes in one trace inject the same trace id and different span ids."""
    carriers = [{}, {}]
    with tracer.start_span("request"):
        for carrier in carriers:
            async with trace_publish("q", carrier=carrier):
                pass
    parts = [c["traceparent"].split("-") for c in carriers]
    assert parts[0][1] == parts[1][1]
    assert parts[0][2] != parts[1][2]


async def test_inject_inside_publish_uses_the_producer_span(tracer: Tracer) -> None:
    """Inside the block, inject_trace_context writes the producer span's context."""
    async with trace_publish("q") as span:
        carrier: dict[str, str] = {}
        inject_trace_context(carrier)
    assert span.context.span_id in carrier["traceparent"]


async def test_consume_without_carrier_uses_current_span_or_new_trace(tracer: Tracer) -> None:
    """Missing or invalid carriers fall back to the current span, else a new trace."""
    async with trace_consume("q", carrier={"traceparent": "junk"}) as orphan:
        pass
    assert orphan.context.parent_span_id is None
    with tracer.start_span("worker") as worker:
        async with trace_consume("q") as child:
            pass
    assert child.context.parent_span_id == worker.context.span_id


async def test_exception_in_consumer_marks_error_and_propagates(tracer: Tracer) -> None:
    """An exception escaping the block is recorded on the span and re-raised."""
    with pytest.raises(RuntimeError):
        async with trace_consume("q") as span:
            raise RuntimeError("handler failed")
    assert span.status is SpanStatus.ERROR
    assert span.events[0].name == "exception"
    assert get_current_span() is None


async def test_explicit_tracer_is_used(tracer: Tracer) -> None:
    """tracer= selects another tracer than the default."""
    other = Tracer("other", None, config=TracingConfig(sampler_type=SamplerType.ALWAYS_ON))
    async with trace_publish("q", tracer=other) as span:
        pass
    assert span.service_name == "other"
    assert other.get_all_spans() == [span]
