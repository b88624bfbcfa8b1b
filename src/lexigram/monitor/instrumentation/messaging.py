"""Trace context across message queues: PRODUCER/CONSUMER spans and carrier propagation.

Span attributes follow the OpenTelemetry messaging semantic conventions:
``messaging.system`` (default ``"lexigram"``; override with
``**{"messaging.system": "rabbitmq"}``), ``messaging.destination.name`` (the channel),
``messaging.operation.type`` / ``messaging.operation.name`` (``send`` or ``process``),
plus ``messaging.message.type`` for the message type. A recipient address is personal
data and is never recorded: only ``messaging.message.has_recipient=True`` says one was
given.

Carrier: ``trace_publish(..., carrier=headers)`` writes ``traceparent``/``tracestate`` of
the PRODUCER span into *headers* on entry; inside the block the producer span is current,
so :func:`inject_trace_context` fills any other carrier the same way. ``trace_consume``
reads the carrier and continues the producer's trace (same trace id, a new span id).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from ..tracing.span import Span, SpanKind
from ..tracing.tracer import Tracer, get_default_tracer

__all__ = ["inject_trace_context", "trace_consume", "trace_publish"]


def inject_trace_context(carrier: MutableMapping[str, Any]) -> None:
    """Inject current trace context into carrier for propagation.

    Call this before sending a message. Does nothing when no span is current.
    """
    get_default_tracer().inject_context(carrier)


def _attributes(
    channel: str, operation: str, message_type: str, extra: dict[str, Any]
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": "lexigram",
        "messaging.destination.name": channel,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.message.type": message_type,
    }
    attributes.update(extra)
    return attributes


@asynccontextmanager
async def trace_publish(
    channel: str,
    message_type: str = "email",
    recipient: str | None = None,
    *,
    carrier: MutableMapping[str, Any] | None = None,
    tracer: Tracer | None = None,
    **attributes: Any,
) -> AsyncGenerator[Span, None]:
    """Context manager for tracing message publishing.

    Yields the current PRODUCER span ``send <channel>``; *carrier*, when given, receives
    its trace context on entry. Exceptions escaping the block mark the span as ERROR.
    *tracer* defaults to the process-default tracer.
    """
    active = tracer if tracer is not None else get_default_tracer()
    fields = _attributes(channel, "send", message_type, attributes)
    if recipient:
        fields["messaging.message.has_recipient"] = True
    span = active.start_span(f"send {channel}", attributes=fields, kind=SpanKind.PRODUCER)
    with span:
        if carrier is not None:
            active.inject_context(carrier, span)
        yield span


@asynccontextmanager
async def trace_consume(
    channel: str,
    message_type: str = "unknown",
    carrier: MutableMapping[str, Any] | None = None,
    *,
    tracer: Tracer | None = None,
    **attributes: Any,
) -> AsyncGenerator[Span, None]:
    """Context manager for tracing message consumption.

    Yields the current CONSUMER span ``process <channel>``, a child of the producer's
    context read from *carrier* (else of the current span, else a new trace).
    """
    active = tracer if tracer is not None else get_default_tracer()
    parent = active.extract_context(carrier) if carrier else None
    fields = _attributes(channel, "process", message_type, attributes)
    span = active.start_span(
        f"process {channel}", context=parent, attributes=fields, kind=SpanKind.CONSUMER
    )
    with span:
        yield span
