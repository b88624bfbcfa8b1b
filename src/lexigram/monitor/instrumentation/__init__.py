"""Instrumentation helpers: decorators, database instrumentation, message-queue propagation."""

from .database import instrument_database
from .decorators import metered, monitor, traced
from .messaging import inject_trace_context, trace_consume, trace_publish

__all__ = [
    "inject_trace_context",
    "instrument_database",
    "metered",
    "monitor",
    "trace_consume",
    "trace_publish",
    "traced",
]
