"""Non-recording spans: what the tracer returns for unsampled (or disabled) spans.

They carry a context so propagation keeps working and children inherit the unsampled
flag, and they record nothing. A span started unsampled builds its context (drawing its
ids) only when someone reads it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .propagation import EMPTY_TRACE_STATE
from .span import _DEFAULT_RUNTIME, Span, SpanKind, SpanStatus, _restore
from .spancontext import RANDOM_FLAG, SpanContext, _make

__all__ = ["NonRecordingSpan", "unsampled_span"]

_EMPTY: dict[str, Any] = {}


class NonRecordingSpan(Span):
    """An unsampled span: carries its context for propagation and records nothing.

    Every recording method returns at once without inspecting its input; it is never
    exported. It still becomes current as a context manager so children inherit its
    context (and its unsampled flag).
    """

    __slots__ = ("_ctx", "_origin")

    # class-level stand-ins for the per-span fields a recording span stores
    name = ""
    kind = SpanKind.INTERNAL
    attributes = _EMPTY
    start_time = 0.0
    end_time = None
    _rt = _DEFAULT_RUNTIME

    def __init__(self, context: SpanContext) -> None:
        self._ctx: SpanContext | None = context
        self._origin: SpanContext | int | None = None

    @property
    def context(self) -> SpanContext:
        """The span's context, built on first read for spans started unsampled."""
        ctx = self._ctx
        if ctx is None:
            ctx = self._ctx = _unsampled_context(self._origin)
        return ctx

    @context.setter
    def context(self, value: SpanContext) -> None:
        self._ctx = value

    def is_recording(self) -> bool:
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        return None

    def add_event(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> None:
        return None

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        return None

    def set_status(self, status: SpanStatus | str, message: str | None = None) -> None:
        return None

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> None:
        return None

    def end(self, end_time: float | None = None) -> None:
        return None

    def get_duration(self) -> float | None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _restore(self)


_new_span = object.__new__
_getrandbits = random.getrandbits


def unsampled_span(origin: SpanContext | int | None) -> NonRecordingSpan:
    """A non-recording span whose context is built lazily from *origin*: the parent
    context, the root trace id, or None for a new random root. Ids use
    ``random.getrandbits``, so a new root carries the random-trace-id flag (``-02``); a
    child keeps its parent's."""
    span: NonRecordingSpan = _new_span(NonRecordingSpan)
    span._ctx = None
    span._origin = origin
    return span


def _unsampled_context(origin: SpanContext | int | None) -> SpanContext:
    sid = _getrandbits(64) or 1
    if origin is None:
        return _make(_getrandbits(128) or 1, sid, None, RANDOM_FLAG, EMPTY_TRACE_STATE, False)
    if type(origin) is int:
        return _make(origin, sid, None, RANDOM_FLAG, EMPTY_TRACE_STATE, False)
    assert isinstance(origin, SpanContext)
    psid = origin._sid if origin._sid is not None else origin._sid_hex
    flags = origin.trace_flags & RANDOM_FLAG
    return _make(origin._tid, sid, psid, flags, origin.trace_state, False, origin._tid_hex)
