"""Instrumentation helpers: message-queue trace propagation."""

from .messaging import inject_trace_context, trace_consume, trace_publish

__all__ = ["inject_trace_context", "trace_consume", "trace_publish"]
