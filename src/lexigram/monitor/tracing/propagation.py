"""W3C Trace Context (``traceparent`` / ``tracestate``): pure parse and format functions.

Nothing here raises on bad input read from the wire: a malformed header yields ``None``
(``traceparent``) or an empty :class:`TraceState`, so the receiver starts a new trace.

``traceparent`` rules (W3C Trace Context level 2): ``version-traceid-spanid-flags``;
version ``ff`` is invalid; version ``00`` is exactly 55 characters; a higher version may
be longer only if character 55 is ``-`` (the suffix is ignored); ids are 32 / 16
lowercase hex digits, not all zeros; flags are 2 lowercase hex digits. Two flags are
defined: bit 0 *sampled* (:data:`SAMPLED_FLAG`) and bit 1 *random-trace-id*
(:data:`RANDOM_FLAG`, the trace id's right-most 7 bytes are random); the other bits are
read but never written (:data:`KNOWN_FLAGS` masks them on output).

``tracestate`` rules (level 2): repeated header values are joined with ``,``; optional
whitespace (space, tab) around members is stripped and empty members are skipped; a key
is ``[a-z0-9][a-z0-9_-*/@]{0,255}`` (``@`` anywhere after the first character, any
number of times, which covers the level-1 ``tenant@system`` keys); a value is 1-256
printable ASCII characters without ``,`` or ``=`` and not ending in a space; more than
32 members, a duplicated key, a raw header over :data:`MAX_TRACESTATE_LENGTH`
characters, or any malformed member drops the whole tracestate (never the traceparent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..exceptions import SpanError

__all__ = [
    "EMPTY_TRACE_STATE",
    "KNOWN_FLAGS",
    "MAX_TRACESTATE_LENGTH",
    "MAX_TRACESTATE_MEMBERS",
    "RANDOM_FLAG",
    "SAMPLED_FLAG",
    "TRACEPARENT_HEADER",
    "TRACESTATE_HEADER",
    "TraceState",
    "format_traceparent",
    "match_traceparent",
    "parse_traceparent",
    "parse_tracestate",
    "read_trace_headers",
    "split_traceparent",
]

#: Bit 0 of the trace flags: the caller may have recorded the trace.
SAMPLED_FLAG = 0x01
#: Bit 1 of the trace flags (level 2): the trace id's right-most 7 bytes are random.
RANDOM_FLAG = 0x02
#: The flags written in a version ``00`` traceparent; other bits are never propagated.
KNOWN_FLAGS = SAMPLED_FLAG | RANDOM_FLAG

TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"
#: At most this many list members; a longer tracestate is dropped whole.
MAX_TRACESTATE_MEMBERS = 32
#: Longest raw (joined) tracestate read; longer input is dropped without being parsed.
#: 32 maximal members (key 256 + ``=`` + value 256) plus separators and some whitespace.
MAX_TRACESTATE_LENGTH = 32 * 513 + 31 + 1024

# version (not ff), trace id and span id (not all zeros), flags; one C-level match
_TRACEPARENT = re.compile(
    r"(?!ff)[0-9a-f]{2}-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-([0-9a-f]{2})"
)
_FULLMATCH = _TRACEPARENT.fullmatch
#: Two lowercase hex digits -> flags byte.
FLAGS = {f"{i:02x}": i for i in range(256)}
_KEY = r"[a-z0-9][a-z0-9_\-*/@]{0,255}"
_VALUE = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
_KEY_RE = re.compile(_KEY)
_VALUE_RE = re.compile(_VALUE)
_MEMBER_RE = re.compile(rf"({_KEY})=({_VALUE})")
_OWS = " \t"


def match_traceparent(value: str) -> re.Match[str] | None:
    """Validate a ``traceparent`` value; the match has groups (trace id, span id, flags).

    Surrounding optional whitespace is ignored; everything else follows the module rules.
    """
    if type(value) is str and len(value) == 55:
        return _FULLMATCH(value)
    if not isinstance(value, str):
        return None
    value = str.__str__(value).strip(_OWS)
    size = len(value)
    if size < 55:
        return None
    if size > 55:
        # only versions after 00 may carry a suffix, and it must start with "-"
        if value[55] != "-" or value.startswith("00"):
            return None
        value = value[:55]
    return _FULLMATCH(value)


def split_traceparent(value: str) -> tuple[str, str, int] | None:
    """Validate a ``traceparent`` value; ``(trace_id_hex, span_id_hex, flags)`` or None."""
    match = match_traceparent(value)
    if match is None:
        return None
    trace_hex, span_hex, flags = match.groups()
    return trace_hex, span_hex, FLAGS[flags]


def parse_traceparent(value: str) -> tuple[int, int, int] | None:
    """Parse a ``traceparent`` value into ``(trace_id, span_id, flags)``; None if invalid."""
    parts = split_traceparent(value)
    if parts is None:
        return None
    return int(parts[0], 16), int(parts[1], 16), parts[2]


def format_traceparent(trace_id: int, span_id: int, flags: int) -> str:
    """Format a version ``00`` ``traceparent`` value (lowercase hex); only the
    :data:`KNOWN_FLAGS` bits of *flags* are written."""
    return f"00-{trace_id:032x}-{span_id:016x}-{flags & KNOWN_FLAGS:02x}"


class TraceState:
    """Immutable, ordered ``tracestate`` list (at most 32 members, first is newest).

    Construct from ``(key, value)`` pairs; a pair that breaks the grammar or repeats a
    key raises :class:`~lexigram.monitor.exceptions.SpanError` naming it. Text read from
    the wire goes through :func:`parse_tracestate`, which never raises.
    """

    __slots__ = ("_header", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        seen: dict[str, str] = {}
        for key, value in items:
            _check_member(key, value)
            if key in seen:
                raise SpanError(
                    f"tracestate key {key!r} is given twice; W3C allows each key once "
                    "(keep one value per vendor, e.g. with TraceState.update)"
                )
            seen[key] = value
        if len(seen) > MAX_TRACESTATE_MEMBERS:
            raise SpanError(
                f"tracestate has {len(seen)} members; W3C allows at most "
                f"{MAX_TRACESTATE_MEMBERS} (drop the oldest vendors' entries)"
            )
        self._items: tuple[tuple[str, str], ...] = tuple(seen.items())
        self._header: str | None = None

    @classmethod
    def _trusted(cls, items: tuple[tuple[str, str], ...]) -> TraceState:
        state = cls.__new__(cls)
        state._items = items
        state._header = None
        return state

    def get(self, key: str, default: str | None = None) -> str | None:
        """Value for *key*, or *default*."""
        for k, v in self._items:
            if k == key:
                return v
        return default

    def update(self, key: str, value: str) -> TraceState:
        """Return a copy with *key* set to *value* and moved to the front.

        When that makes 33 members, the right-most (oldest) member is dropped.
        """
        _check_member(key, value)
        rest = tuple(item for item in self._items if item[0] != key)
        return TraceState._trusted(((key, value), *rest)[:MAX_TRACESTATE_MEMBERS])

    def delete(self, key: str) -> TraceState:
        """Return a copy without *key* (unchanged when absent)."""
        return TraceState._trusted(tuple(item for item in self._items if item[0] != key))

    def items(self) -> tuple[tuple[str, str], ...]:
        """The ``(key, value)`` members, in header order."""
        return self._items

    def to_header(self) -> str:
        """The ``tracestate`` header value (empty string when there are no members)."""
        header = self._header
        if header is None:
            header = self._header = ",".join(f"{k}={v}" for k, v in self._items)
        return header

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TraceState):
            return self._items == other._items
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"TraceState({list(self._items)!r})"


#: The tracestate of contexts that carry none.
EMPTY_TRACE_STATE = TraceState._trusted(())


def _check_member(key: Any, value: Any) -> None:
    if not isinstance(key, str) or _KEY_RE.fullmatch(key) is None:
        raise SpanError(
            f"tracestate key {key!r} is invalid: it must match [a-z0-9][a-z0-9_-*/@]{{0,255}} "
            "(W3C Trace Context); start with a lowercase letter or digit"
        )
    if not isinstance(value, str) or _VALUE_RE.fullmatch(value) is None:
        raise SpanError(
            f"tracestate value {value!r} for key {key!r} is invalid: it must be 1-256 "
            "printable ASCII characters without ',' or '=' and must not end in a space"
        )


def parse_tracestate(value: str | Iterable[str] | None) -> TraceState:
    """Parse one or several ``tracestate`` header values; invalid input gives an empty state."""
    if value is None:
        return EMPTY_TRACE_STATE
    if not isinstance(value, str):
        parts = list(value)
        if not all(isinstance(p, str) for p in parts):
            return EMPTY_TRACE_STATE
        value = ",".join(parts)
    if len(value) > MAX_TRACESTATE_LENGTH:
        return EMPTY_TRACE_STATE
    members: dict[str, str] = {}
    count = 0
    for raw in value.split(","):
        member = raw.strip(_OWS)
        if not member:
            continue
        count += 1
        if count > MAX_TRACESTATE_MEMBERS:
            return EMPTY_TRACE_STATE
        match = _MEMBER_RE.fullmatch(member)
        if match is None or match[1] in members:
            return EMPTY_TRACE_STATE
        members[match[1]] = match[2]
    if not members:
        return EMPTY_TRACE_STATE
    return TraceState._trusted(tuple(members.items()))


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return None


def _values(value: Any) -> list[str] | None:
    """A header value as a list of strings; None when it is of an unusable type."""
    text = _as_text(value)
    if text is not None:
        return [text]
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            item_text = _as_text(item)
            if item_text is None:
                return None
            out.append(item_text)
        return out
    return None


def read_trace_headers(carrier: Mapping[Any, Any]) -> tuple[str | None, Sequence[str]]:
    """Find ``traceparent`` and ``tracestate`` in *carrier*, matching names case-insensitively.

    Returns ``(traceparent, tracestate_values)``. The traceparent is None when missing,
    of an unusable type, or given more than once (two keys, a list of two values, or two
    values joined with a comma) — duplicates make it invalid. Values may be ``str``,
    ``bytes`` (decoded as latin-1) or lists of them.
    """
    if type(carrier) is dict:
        # Fast path: when every key is one of the exact lowercase names, no other spelling
        # can hide in the carrier and no scan is needed.
        exact = carrier.get(TRACEPARENT_HEADER)
        state = carrier.get(TRACESTATE_HEADER)
        if (
            len(carrier) == (exact is not None) + (state is not None)
            and type(exact) is str
            and (state is None or type(state) is str)
        ):
            states_found: tuple[str, ...] = () if state is None else (state,)
            return (None if "," in exact else exact), states_found
    parent: str | None = None
    count = 0
    states: list[str] | None = None
    try:
        items = carrier.items()
    except Exception:  # not a mapping after all: nothing to read
        return None, ()
    for key, value in items:
        if type(key) is not str:
            key = _as_text(key)
            if key is None:
                continue
        size = len(key)
        if size == 11:
            if key != TRACEPARENT_HEADER and (
                key[0] not in "tT" or key.lower() != TRACEPARENT_HEADER
            ):
                continue
            if type(value) is str:
                parent = value
                count += 1
                continue
            found = _values(value)
            if found is None:
                count += 2  # unusable value: invalid
            else:
                count += len(found)
                parent = found[0] if found else parent
        elif size == 10:
            if key != TRACESTATE_HEADER and (
                key[0] not in "tT" or key.lower() != TRACESTATE_HEADER
            ):
                continue
            found = [value] if type(value) is str else _values(value)
            if found:
                states = found if states is None else states + found
    if count != 1 or parent is None or "," in parent:
        return None, states or ()
    return parent, states or ()
