"""Wiring between metrics and tracing: the exemplar source.

Metrics never import tracing (layering); this module, above both, installs
``tracing.current_trace_ids`` as the metrics exemplar source, so counters and histogram
buckets remember the trace/span ids of the current sampled span.
"""

from __future__ import annotations

from ..metrics import get_exemplar_source, set_exemplar_source
from ..tracing import current_trace_ids

__all__ = ["disable_exemplars", "enable_exemplars", "exemplars_enabled"]


def enable_exemplars() -> None:
    """Install the current-span exemplar source; idempotent.

    A different source installed on purpose (e.g. by a test) is replaced.
    """
    if get_exemplar_source() is not current_trace_ids:
        set_exemplar_source(current_trace_ids)


def disable_exemplars() -> None:
    """Remove the current-span exemplar source if it is the installed one."""
    if get_exemplar_source() is current_trace_ids:
        set_exemplar_source(None)


def exemplars_enabled() -> bool:
    """True while the current-span exemplar source is installed."""
    return get_exemplar_source() is current_trace_ids
