"""Distributed tracing: spans, W3C Trace Context propagation, sampling and export."""

from ..protocols import SpanExporter
from .context import IdGenerator, RandomIdGenerator, SpanContext, current_trace_ids
from .export import BatchSpanProcessor, ConsoleSpanExporter, InMemorySpanExporter
from .nonrecording import NonRecordingSpan
from .propagation import TraceState
from .provider import DEFAULT_MAX_SPANS, InMemoryTraceProvider
from .sampling import (
    AlwaysOffSampler,
    AlwaysOnSampler,
    ParentBasedSampler,
    RateLimitingSampler,
    Sampler,
    TraceIdRatioSampler,
    build_sampler,
)
from .span import Span, SpanEvent, SpanKind, SpanLink, SpanStatus
from .tracer import Tracer, get_default_tracer, set_default_tracer

__all__ = [
    "DEFAULT_MAX_SPANS",
    "AlwaysOffSampler",
    "AlwaysOnSampler",
    "BatchSpanProcessor",
    "ConsoleSpanExporter",
    "IdGenerator",
    "InMemorySpanExporter",
    "InMemoryTraceProvider",
    "NonRecordingSpan",
    "ParentBasedSampler",
    "RandomIdGenerator",
    "RateLimitingSampler",
    "Sampler",
    "Span",
    "SpanContext",
    "SpanEvent",
    "SpanExporter",
    "SpanKind",
    "SpanLink",
    "SpanStatus",
    "TraceIdRatioSampler",
    "TraceState",
    "Tracer",
    "build_sampler",
    "current_trace_ids",
    "get_default_tracer",
    "set_default_tracer",
]
