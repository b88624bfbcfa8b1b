"""SpanContext: the propagated identity of a span (ids, flags, tracestate), id
generation, and reading / writing it in W3C Trace Context carriers.

Ids are 128-bit (trace) and 64-bit (span) integers drawn with ``random.getrandbits``
(reseeded after ``fork`` by the standard library) and never zero; their lowercase hex
form is computed on first read and cached. Knows nothing of spans: ``span`` builds on
this module, and the current span lives in ``context``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol

from ..exceptions import SpanError
from .propagation import (
    EMPTY_TRACE_STATE,
    FLAGS,
    KNOWN_FLAGS,
    RANDOM_FLAG,
    SAMPLED_FLAG,
    TRACEPARENT_HEADER,
    TRACESTATE_HEADER,
    TraceState,
    match_traceparent,
    parse_traceparent,
    parse_tracestate,
    read_trace_headers,
)

__all__ = [
    "RANDOM_FLAG",
    "SAMPLED_FLAG",
    "IdGenerator",
    "RandomIdGenerator",
    "SpanContext",
    "extract",
    "inject",
]

_HEX = re.compile(r"[0-9a-f]+")


class IdGenerator(Protocol):
    """Source of non-zero trace (128-bit) and span (64-bit) ids.

    A generator whose trace ids have (at least) their right-most 7 bytes drawn at random
    may also define ``is_trace_id_random() -> True``; the tracer then sets the W3C
    random-trace-id flag on the traces it starts (as the OpenTelemetry SDK does).
    """

    def trace_id(self) -> int: ...

    def span_id(self) -> int: ...


def trace_ids_are_random(generator: object) -> bool:
    """True when *generator* declares random trace ids (``is_trace_id_random()``)."""
    declared = getattr(generator, "is_trace_id_random", None)
    if not callable(declared):
        return False
    try:
        return declared() is True
    except Exception:  # a broken declaration is not a promise of randomness
        return False


class RandomIdGenerator:
    """Ids from ``random.getrandbits``: fast, and fork-safe (the stdlib reseeds the child).

    Every bit of a trace id is random, so traces it starts carry the random-trace-id flag.
    """

    __slots__ = ()

    def is_trace_id_random(self) -> bool:
        """True: all 128 bits of a trace id are random."""
        return True

    def trace_id(self) -> int:
        value = random.getrandbits(128)
        while not value:
            value = random.getrandbits(128)
        return value

    def span_id(self) -> int:
        value = random.getrandbits(64)
        while not value:
            value = random.getrandbits(64)
        return value


def _coerce_id(name: str, value: int | str, bits: int) -> int:
    if isinstance(value, str):
        digits = bits // 4
        if len(value) == digits and _HEX.fullmatch(value) is not None and value.strip("0"):
            return int(value, 16)
        raise SpanError(
            f"{name} {value!r} is invalid: it must be {digits} lowercase hex digits, "
            "not all zeros (W3C Trace Context)"
        )
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < (1 << bits):
        return value
    raise SpanError(
        f"{name} {value!r} is invalid: it must be a non-zero {bits}-bit int or "
        f"{bits // 4} lowercase hex digits"
    )


class SpanContext:
    """Identity of a span as propagated between services.

    ``trace_id`` / ``span_id`` / ``parent_span_id`` read as lowercase hex strings (the
    ``*_int`` twins give the integers); ``trace_flags`` is the W3C flags byte, ``sampled``
    its bit 0, ``random_trace_id`` its bit 1; ``trace_state`` the W3C tracestate;
    ``is_remote`` marks a context
    extracted from a carrier. Ids may be given as ints or hex strings; invalid ids raise
    :class:`~lexigram.monitor.exceptions.SpanError`. Passing ``sampled`` sets or clears
    bit 0 of ``trace_flags``. Treat instances as immutable.
    """

    __slots__ = ("_psid", "_sid", "_sid_hex", "_tid", "_tid_hex", "is_remote", "trace_flags",
                 "trace_state")  # fmt: skip

    def __init__(
        self,
        trace_id: int | str,
        span_id: int | str,
        parent_span_id: int | str | None = None,
        trace_flags: int = SAMPLED_FLAG,
        trace_state: TraceState | None = None,
        *,
        is_remote: bool = False,
        sampled: bool | None = None,
    ) -> None:
        self._tid: int | None = _coerce_id("trace_id", trace_id, 128)
        self._sid: int | None = _coerce_id("span_id", span_id, 64)
        self._psid: int | str | None = (
            None if parent_span_id is None else _coerce_id("parent_span_id", parent_span_id, 64)
        )
        if not isinstance(trace_flags, int) or not 0 <= trace_flags <= 0xFF:
            raise SpanError(f"trace_flags {trace_flags!r} must be an int in 0..255")
        if sampled is not None:
            trace_flags = (trace_flags | SAMPLED_FLAG) if sampled else (trace_flags & ~SAMPLED_FLAG)
        self.trace_flags = trace_flags
        self.trace_state = EMPTY_TRACE_STATE if trace_state is None else trace_state
        self.is_remote = is_remote
        self._tid_hex: str | None = None
        self._sid_hex: str | None = None

    # Each id is stored as an int, as hex text, or both: generated ids start as ints,
    # extracted ones as text, and the other form is computed on first read and cached.
    @property
    def trace_id(self) -> str:
        """The trace id as 32 lowercase hex digits."""
        text = self._tid_hex
        if text is None:
            text = self._tid_hex = f"{self._tid:032x}"
        return text

    @property
    def span_id(self) -> str:
        """The span id as 16 lowercase hex digits."""
        text = self._sid_hex
        if text is None:
            text = self._sid_hex = f"{self._sid:016x}"
        return text

    @property
    def parent_span_id(self) -> str | None:
        """The parent span id as 16 lowercase hex digits, None for a root span."""
        parent = self._psid
        if parent is None or isinstance(parent, str):
            return parent
        return f"{parent:016x}"

    @property
    def trace_id_int(self) -> int:
        number = self._tid
        if number is None:
            number = self._tid = int(self._tid_hex, 16)  # type: ignore[arg-type]
        return number

    @property
    def span_id_int(self) -> int:
        number = self._sid
        if number is None:
            number = self._sid = int(self._sid_hex, 16)  # type: ignore[arg-type]
        return number

    @property
    def parent_span_id_int(self) -> int | None:
        parent = self._psid
        if parent is None or isinstance(parent, int):
            return parent
        return int(parent, 16)

    @property
    def sampled(self) -> bool:
        """True when bit 0 of ``trace_flags`` is set."""
        return bool(self.trace_flags & SAMPLED_FLAG)

    @property
    def random_trace_id(self) -> bool:
        """True when bit 1 of ``trace_flags`` (W3C level 2 random-trace-id) is set."""
        return bool(self.trace_flags & RANDOM_FLAG)

    def to_traceparent(self) -> str:
        """The W3C ``traceparent`` header value (version 00) for this context; flags
        other than sampled and random-trace-id are not written."""
        return f"00-{self.trace_id}-{self.span_id}-{self.trace_flags & KNOWN_FLAGS:02x}"

    @classmethod
    def from_traceparent(
        cls, traceparent: str, tracestate: str | list[str] | None = None
    ) -> SpanContext | None:
        """Parse a ``traceparent`` (and optional ``tracestate``); None when invalid.

        The result is remote (``is_remote=True``). A bad traceparent means the tracestate
        is not read; a bad tracestate only yields an empty one.
        """
        parsed = parse_traceparent(traceparent)
        if parsed is None:
            return None
        state = EMPTY_TRACE_STATE if tracestate is None else parse_tracestate(tracestate)
        return _make(parsed[0], parsed[1], None, parsed[2], state, True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpanContext):
            return NotImplemented
        return (
            self.trace_id_int == other.trace_id_int
            and self.span_id_int == other.span_id_int
            and self.parent_span_id_int == other.parent_span_id_int
            and self.trace_flags == other.trace_flags
            and self.trace_state == other.trace_state
            and self.is_remote == other.is_remote
        )

    def __hash__(self) -> int:
        return hash((self.trace_id_int, self.span_id_int, self.trace_flags))

    def __repr__(self) -> str:
        return (
            f"SpanContext(trace_id={self.trace_id!r}, span_id={self.span_id!r}, "
            f"parent_span_id={self.parent_span_id!r}, trace_flags={self.trace_flags:#04x}, "
            f"trace_state={self.trace_state!r}, is_remote={self.is_remote})"
        )


_new_context = object.__new__


def _make(
    tid: int | None,
    sid: int | None,
    psid: int | str | None,
    flags: int,
    state: TraceState,
    remote: bool,
    tid_hex: str | None = None,
) -> SpanContext:
    """Build a context from trusted, already valid parts (the hot path; no checks)."""
    ctx: SpanContext = _new_context(SpanContext)
    ctx._tid = tid
    ctx._sid = sid
    ctx._psid = psid
    ctx.trace_flags = flags
    ctx.trace_state = state
    ctx.is_remote = remote
    ctx._tid_hex = tid_hex
    ctx._sid_hex = None
    return ctx


def extract(carrier: Mapping[Any, Any]) -> SpanContext | None:
    """Read a remote context from *carrier* headers; None when absent or invalid.

    Header names match case-insensitively; a duplicated or malformed ``traceparent``
    gives None (the tracestate is then not read).
    """
    traceparent, states = read_trace_headers(carrier)
    if traceparent is None:
        return None
    match = match_traceparent(traceparent)
    if match is None:
        return None
    # ids stay text until someone needs the ints (export, ratio sampling): parsing is lazy
    ctx: SpanContext = _new_context(SpanContext)
    ctx._tid = None
    ctx._sid = None
    ctx._psid = None
    ctx._tid_hex = match[1]
    ctx._sid_hex = match[2]
    ctx.trace_flags = FLAGS[match[3]]
    ctx.trace_state = parse_tracestate(states) if states else EMPTY_TRACE_STATE
    ctx.is_remote = True
    return ctx


_HEADER_NAMES = (TRACEPARENT_HEADER, TRACESTATE_HEADER)
#: The traceparent's flags field for ``trace_flags & KNOWN_FLAGS``.
_FLAG_FIELDS = ("-00", "-01", "-02", "-03")


def inject(carrier: MutableMapping[str, Any], context: SpanContext) -> None:
    """Write ``traceparent`` (and ``tracestate`` when not empty) for *context* into *carrier*.

    Both header names, in any spelling, are replaced, so the receiver never sees two
    values. The sampled and random-trace-id flags are propagated; other bits are not.
    """
    if carrier:
        stale = [k for k in carrier if isinstance(k, str) and k.lower() in _HEADER_NAMES]
        for key in stale:
            del carrier[key]
    carrier[TRACEPARENT_HEADER] = (
        "00-"
        + (context._tid_hex or context.trace_id)
        + "-"
        + (context._sid_hex or context.span_id)
        + _FLAG_FIELDS[context.trace_flags & KNOWN_FLAGS]
    )
    if context.trace_state._items:
        carrier[TRACESTATE_HEADER] = context.trace_state.to_header()
