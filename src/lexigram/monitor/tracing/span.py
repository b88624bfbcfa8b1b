"""Spans: a recorded unit of work (the unsampled twin is in :mod:`.nonrecording`).

Attribute values follow the rule in :mod:`.attributes` (a bad one raises ``SpanError``).
Limits (per span, from ``TracingConfig``): at most ``max_attributes`` attributes (also per
event and per link), ``max_events`` events and ``max_links`` links; items past a limit
are dropped and counted in ``dropped_attributes`` / ``dropped_events`` /
``dropped_links``. An exception stack trace is kept up to :data:`MAX_STACKTRACE_CHARS`
characters (the tail). Once ended, a span ignores further changes; ending twice is
harmless.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from enum import IntEnum
from types import TracebackType
from typing import Any

from ..defaults import DEFAULT_SPAN_LIMIT
from ..exceptions import SpanError
from .attributes import Attributes, AttributeValue, bounded_attributes, check_attribute
from .propagation import EMPTY_TRACE_STATE
from .spancontext import RANDOM_FLAG, SAMPLED_FLAG, RandomIdGenerator, SpanContext, _make

__all__ = [
    "CURRENT_SPAN",
    "MAX_STACKTRACE_CHARS",
    "Span",
    "SpanEvent",
    "SpanKind",
    "SpanLink",
    "SpanStatus",
]

MAX_STACKTRACE_CHARS = 16_384

#: The span current in this thread / asyncio task (None: no span). ``tracing.context``
#: wraps it (``get_current_span`` ...); code on the request path may call its
#: ``get`` / ``set`` / ``reset`` directly, which costs no Python frame.
CURRENT_SPAN: ContextVar[Span | None] = ContextVar("lexigram_monitor_current_span", default=None)


class SpanKind(IntEnum):
    """Span kind following OpenTelemetry specification (same values as the OTel API)."""

    INTERNAL = 0
    SERVER = 1
    CLIENT = 2
    PRODUCER = 3
    CONSUMER = 4


class SpanStatus(IntEnum):
    """Span status following OpenTelemetry specification (``StatusCode`` values)."""

    UNSET = 0
    OK = 1
    ERROR = 2


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timestamped event on a span (``timestamp`` in epoch seconds)."""

    name: str
    timestamp: float
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    dropped_attributes: int = 0


@dataclass(frozen=True, slots=True)
class SpanLink:
    """A link from a span to another span's context."""

    context: SpanContext
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    dropped_attributes: int = 0


class SpanRuntime:
    """What spans of one tracer share: service name, limits, clocks and the end callback."""

    __slots__ = ("max_attributes", "max_events", "max_links", "monotonic", "on_end",
                 "service_name", "time")  # fmt: skip

    def __init__(
        self,
        service_name: str = "",
        *,
        max_attributes: int = DEFAULT_SPAN_LIMIT,
        max_events: int = DEFAULT_SPAN_LIMIT,
        max_links: int = DEFAULT_SPAN_LIMIT,
        time: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        on_end: Callable[[Span], None] | None = None,
    ) -> None:
        self.service_name = service_name
        self.max_attributes = max_attributes
        self.max_events = max_events
        self.max_links = max_links
        self.time = time
        self.monotonic = monotonic
        self.on_end = on_end


_DEFAULT_RUNTIME = SpanRuntime()
_IDS = RandomIdGenerator()


class Span:
    """Distributed tracing span.

    Times are epoch seconds (``start_time``/``end_time``); the duration is measured on the
    monotonic clock. As a context manager it becomes the current span, restores the
    previous one on exit, records an escaping ``Exception`` (status ERROR) and ends.
    """

    # Hot fields are slots; fields most spans never change are class-level defaults,
    # written to the instance __dict__ only when a span changes them.
    __slots__ = ("__dict__", "_rt", "_start_mono", "attributes", "context", "end_time", "kind",
                 "name", "start_time")  # fmt: skip

    status: SpanStatus = SpanStatus.UNSET
    status_message: str | None = None
    events: Sequence[SpanEvent] = ()
    links: Sequence[SpanLink] = ()
    dropped_attributes: int = 0
    dropped_events: int = 0
    dropped_links: int = 0
    #: True when the parent span came from another process (extracted from a carrier).
    parent_is_remote: bool = False
    _token: Token[Span | None] | None = None

    def __init__(
        self,
        name: str,
        context: SpanContext | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[SpanContext | SpanLink] | None = None,
        start_time: float | None = None,
        runtime: SpanRuntime | None = None,
    ) -> None:
        rt = _DEFAULT_RUNTIME if runtime is None else runtime
        self._rt = rt
        self.name = name
        if context is None:
            flags = SAMPLED_FLAG | RANDOM_FLAG  # a new sampled trace with a random id
            context = _make(_IDS.trace_id(), _IDS.span_id(), None, flags, EMPTY_TRACE_STATE, False)
        self.context = context
        self.kind = kind
        self.end_time: float | None = None
        if attributes:
            self.attributes, dropped = bounded_attributes(attributes, rt.max_attributes)
            if dropped:
                self.dropped_attributes = dropped
        else:
            self.attributes = {}
        if links:
            for link in links:
                if isinstance(link, SpanLink):
                    self.add_link(link.context, link.attributes)
                else:
                    self.add_link(link)
        if start_time is None:
            self.start_time = rt.time()
            self._start_mono: float | None = rt.monotonic()
        else:
            self.start_time = start_time
            self._start_mono = None

    # -- identity -------------------------------------------------------------------
    @property
    def trace_id(self) -> str:
        return self.context.trace_id

    @property
    def span_id(self) -> str:
        return self.context.span_id

    @property
    def parent_span_id(self) -> str | None:
        return self.context.parent_span_id

    @property
    def service_name(self) -> str:
        return self._rt.service_name

    @property
    def ended(self) -> bool:
        return self.end_time is not None

    def is_recording(self) -> bool:
        """True until the span ends (always False for unsampled spans)."""
        return self.end_time is None

    # -- recording ------------------------------------------------------------------
    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute; a new key past ``max_attributes`` is dropped and counted."""
        value = check_attribute(key, value)
        if self.end_time is not None:
            return
        attrs = self.attributes
        if key in attrs or len(attrs) < self._rt.max_attributes:
            attrs[key] = value
        else:
            self.dropped_attributes += 1

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Set several attributes (same rules as :meth:`set_attribute`); checked
        :class:`~lexigram.monitor.tracing.attributes.Attributes` within the limit are
        stored together without a second check."""
        attrs = self.attributes
        if (
            attributes.__class__ is Attributes
            and self.end_time is None
            and len(attrs) + len(attributes) <= self._rt.max_attributes
        ):
            attrs.update(attributes)
            return
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Add an event (epoch-seconds *timestamp*, default now); past ``max_events`` dropped."""
        kept, dropped = bounded_attributes(attributes, self._rt.max_attributes)
        if self.end_time is not None:
            return
        if len(self.events) >= self._rt.max_events:
            self.dropped_events += 1
            return
        when = self._rt.time() if timestamp is None else timestamp
        events = self.events
        if not isinstance(events, list):
            events = self.events = list(events)
        events.append(SpanEvent(name, when, kept, dropped))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        """Link this span to *context*; past ``max_links`` dropped and counted."""
        if not isinstance(context, SpanContext):
            raise SpanError(f"link target {context!r} must be a SpanContext (e.g. span.context)")
        kept, dropped = bounded_attributes(attributes, self._rt.max_attributes)
        if self.end_time is not None:
            return
        if len(self.links) >= self._rt.max_links:
            self.dropped_links += 1
            return
        links = self.links
        if not isinstance(links, list):
            links = self.links = list(links)
        links.append(SpanLink(context, kept, dropped))

    def set_status(self, status: SpanStatus | str, message: str | None = None) -> None:
        """Set the status (OpenTelemetry rules: UNSET is ignored, OK is final).

        *status* may be a :class:`SpanStatus` or its name (``"error"``); the message is
        kept for ERROR only.
        """
        if not isinstance(status, SpanStatus):
            try:
                status = SpanStatus[str(status).upper()]
            except KeyError:
                raise SpanError(
                    f"span status {status!r} is not one of UNSET, OK, ERROR; "
                    "pass a SpanStatus member"
                ) from None
        if self.end_time is not None or status is SpanStatus.UNSET:
            return
        if self.status is SpanStatus.OK:
            return
        self.status = status
        self.status_message = message if status is SpanStatus.ERROR else None

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Add an ``exception`` event (type, message, stack trace); the status is unchanged."""
        if self.end_time is not None:
            return
        kind = type(exception)
        module = kind.__module__
        qualname = kind.__qualname__
        message = _message(exception)
        stack = "".join(traceback.format_exception(kind, exception, exception.__traceback__))
        event: dict[str, Any] = {
            "exception.type": qualname if module == "builtins" else f"{module}.{qualname}",
            "exception.message": message,
            "exception.stacktrace": stack[-MAX_STACKTRACE_CHARS:],
        }
        if attributes:
            event.update(attributes)
        self.add_event("exception", event, timestamp)

    def end(self, end_time: float | None = None) -> None:
        """End the span (epoch-seconds *end_time*, default now) and hand it to export once."""
        if self.end_time is not None:
            return
        rt = self._rt
        if end_time is None:
            start = self._start_mono
            end_time = rt.time() if start is None else self.start_time + (rt.monotonic() - start)
        self.end_time = end_time
        on_end = rt.on_end
        if on_end is not None:
            on_end(self)

    def finish(self) -> None:
        """Alias for :meth:`end` for compatibility."""
        self.end()

    def get_duration(self) -> float | None:
        """Duration in seconds once ended, else None."""
        end = self.end_time
        return None if end is None else end - self.start_time

    # -- context manager ------------------------------------------------------------
    def __enter__(self) -> Span:
        self._token = CURRENT_SPAN.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and self.end_time is None:
            self.record_exception(exc)
            if isinstance(exc, Exception):
                self.set_status(SpanStatus.ERROR, f"{type(exc).__name__}: {_message(exc)}")
        _restore(self)
        self.end()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} trace_id={self.context.trace_id} "
            f"span_id={self.context.span_id} ended={self.end_time is not None}>"
        )


def _message(exception: BaseException) -> str:
    """``str(exception)``, or a placeholder when its ``__str__`` raises."""
    try:
        return str(exception)
    except Exception:
        return f"<unprintable {type(exception).__qualname__}>"


def _restore(span: Span) -> None:
    token = span._token
    if token is None:
        return
    span._token = None
    try:
        CURRENT_SPAN.reset(token)
    except ValueError:
        # exited in another context (e.g. a generator finalised elsewhere): best effort
        CURRENT_SPAN.set(token.old_value if token.old_value is not Token.MISSING else None)
