"""The current span of this thread or asyncio task, and the span-context names of old.

The current span lives in the context variable :data:`~lexigram.monitor.tracing.span.CURRENT_SPAN`
(defined next to :class:`Span`), so every thread and every asyncio task sees its own;
this module holds its accessors. :class:`SpanContext`, the id generators and
``extract`` / ``inject`` are defined in ``tracing.spancontext`` and stay importable
from here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token

from .span import CURRENT_SPAN, Span
from .spancontext import (
    SAMPLED_FLAG,
    IdGenerator,
    RandomIdGenerator,
    SpanContext,
    extract,
    inject,
)

__all__ = [
    "IdGenerator",
    "RandomIdGenerator",
    "SpanContext",
    "current_span_probe",
    "current_trace_ids",
    "extract",
    "get_current_span",
    "inject",
    "reset_current_span",
    "set_current_span",
]

#: The current span or None, called without a Python frame (the context variable's
#: ``get``): the cheap probe the metrics ask before the exemplar source.
current_span_probe: Callable[[], Span | None] = CURRENT_SPAN.get


def get_current_span() -> Span | None:
    """The span current in this thread / asyncio task, or None."""
    return CURRENT_SPAN.get()


def set_current_span(span: Span | None) -> Token[Span | None]:
    """Make *span* current; returns a token for :func:`reset_current_span`."""
    return CURRENT_SPAN.set(span)


def reset_current_span(token: Token[Span | None]) -> None:
    """Restore the span that was current before the matching :func:`set_current_span`."""
    CURRENT_SPAN.reset(token)


def current_trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` hex of the current span when it is sampled, else None.

    The exemplar hook: the wiring layer installs this into metrics, so metrics never
    import tracing.
    """
    span = CURRENT_SPAN.get()
    if span is None:
        return None
    ctx = span.context
    if not ctx.trace_flags & SAMPLED_FLAG:
        return None
    return ctx.trace_id, ctx.span_id
