"""Instrumentation helpers: decorators, database instrumentation, message-queue
propagation, and outgoing HTTP calls through httpx.

The httpx names (``InstrumentedTransport``, ``instrument_httpx``, ``uninstrument_httpx``)
load lazily (PEP 562): httpx is imported only when one of them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .database import instrument_database
from .decorators import metered, monitor, traced
from .messaging import inject_trace_context, trace_consume, trace_publish

if TYPE_CHECKING:
    from .httpx import InstrumentedTransport as InstrumentedTransport
    from .httpx import instrument_httpx as instrument_httpx
    from .httpx import uninstrument_httpx as uninstrument_httpx

_LAZY = ("InstrumentedTransport", "instrument_httpx", "uninstrument_httpx")

__all__ = [
    "InstrumentedTransport",
    "inject_trace_context",
    "instrument_database",
    "instrument_httpx",
    "metered",
    "monitor",
    "trace_consume",
    "trace_publish",
    "traced",
    "uninstrument_httpx",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".httpx", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
