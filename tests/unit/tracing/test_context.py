"""SpanContext, id generation, carrier inject/extract and the current-span variable."""

from __future__ import annotations

import asyncio
import threading

import pytest

from lexigram.monitor.exceptions import SpanError
from lexigram.monitor.tracing import RandomIdGenerator, Span, SpanContext, TraceState
from lexigram.monitor.tracing.context import (
    current_trace_ids,
    extract,
    get_current_span,
    inject,
)

TID = "0af7651916cd43dd8448eb211c80319c"
SID = "b7ad6b7169203331"


def test_ids_read_as_lowercase_hex_and_ints() -> None:
    """Ids given as hex read back as hex and as the matching ints."""
    ctx = SpanContext(TID, SID, parent_span_id="00f067aa0ba902b7")
    assert ctx.trace_id == TID
    assert ctx.trace_id_int == int(TID, 16)
    assert ctx.span_id == SID
    assert ctx.span_id_int == int(SID, 16)
    assert ctx.parent_span_id == "00f067aa0ba902b7"
    assert ctx.parent_span_id_int == int("00f067aa0ba902b7", 16)


def test_int_ids_are_formatted_with_zero_padding() -> None:
    """Small ints become 32/16 hex digits."""
    ctx = SpanContext(1, 2)
    assert ctx.trace_id == "0" * 31 + "1"
    assert ctx.span_id == "0" * 15 + "2"


@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [("0" * 32, SID), (TID, "0" * 16), (TID.upper(), SID), (TID[:-1], SID), (0, 1), (1 << 128, 1)],
)
def test_invalid_ids_raise_span_error(trace_id: int | str, span_id: int | str) -> None:
    """All-zero, uppercase, short or out-of-range ids are refused with SpanError."""
    with pytest.raises(SpanError, match="_id"):
        SpanContext(trace_id, span_id)


def test_sampled_is_bit_zero_of_flags() -> None:
    """sampled reads bit 0; the sampled argument sets or clears it."""
    assert SpanContext(TID, SID, trace_flags=3).sampled
    assert not SpanContext(TID, SID, trace_flags=2).sampled
    assert SpanContext(TID, SID, trace_flags=2, sampled=True).trace_flags == 3
    assert SpanContext(TID, SID, sampled=False).trace_flags == 0


def test_to_traceparent_and_back() -> None:
    """to_traceparent / from_traceparent round trip; the parsed context is remote."""
    ctx = SpanContext(TID, SID, trace_flags=1)
    header = ctx.to_traceparent()
    assert header == f"00-{TID}-{SID}-01"
    back = SpanContext.from_traceparent(header, "a=1")
    assert back is not None
    assert back.is_remote
    assert (back.trace_id, back.span_id, back.sampled) == (TID, SID, True)
    assert back.trace_state.get("a") == "1"


def test_from_traceparent_invalid_returns_none() -> None:
    """A bad header gives None, never an exception."""
    assert SpanContext.from_traceparent("00-bad") is None


def test_random_ids_are_nonzero_and_distinct() -> None:
    """Generated ids are non-zero and (practically) unique."""
    ids = RandomIdGenerator()
    traces = {ids.trace_id() for _ in range(500)}
    spans = {ids.span_id() for _ in range(500)}
    assert len(traces) == 500
    assert len(spans) == 500
    assert all(0 < t < 1 << 128 for t in traces)
    assert all(0 < s < 1 << 64 for s in spans)


def test_contexts_compare_by_value() -> None:
    """Two contexts with the same ids, flags and state are equal, however built."""
    parsed = SpanContext.from_traceparent(f"00-{TID}-{SID}-01")
    built = SpanContext(int(TID, 16), int(SID, 16), is_remote=True)
    assert parsed == built
    assert hash(parsed) == hash(built)


def test_inject_writes_traceparent_and_tracestate() -> None:
    """inject writes both headers with the sampled and random-trace-id flags."""
    ctx = SpanContext(TID, SID, trace_flags=3, trace_state=TraceState([("a", "1")]))
    carrier: dict[str, str] = {"Traceparent": "stale", "TRACESTATE": "old=1", "other": "x"}
    inject(carrier, ctx)
    assert carrier == {"traceparent": f"00-{TID}-{SID}-03", "tracestate": "a=1", "other": "x"}


def test_inject_without_tracestate_removes_a_stale_one() -> None:
    """Re-injecting into a carrier never leaves an old tracestate behind."""
    carrier = {"tracestate": "old=1"}
    inject(carrier, SpanContext(TID, SID))
    assert "tracestate" not in carrier


def test_extract_reads_remote_context_case_insensitively() -> None:
    """extract matches header names in any case and marks the context remote."""
    ctx = extract({"TRACEPARENT": f"00-{TID}-{SID}-00", "TraceState": "a=1"})
    assert ctx is not None
    assert ctx.is_remote
    assert not ctx.sampled
    assert ctx.trace_id_int == int(TID, 16)
    assert ctx.trace_state.get("a") == "1"


def test_bad_traceparent_means_tracestate_is_not_read() -> None:
    """Without a valid traceparent nothing is extracted."""
    assert extract({"traceparent": "junk", "tracestate": "a=1"}) is None
    assert extract({}) is None


def test_bad_tracestate_keeps_the_traceparent() -> None:
    """A malformed tracestate is dropped but the trace continues."""
    ctx = extract({"traceparent": f"00-{TID}-{SID}-01", "tracestate": "BAD"})
    assert ctx is not None
    assert len(ctx.trace_state) == 0


def test_current_span_is_isolated_per_thread() -> None:
    """A span made current in one thread is not current in another."""
    seen: list[object] = []
    with Span("main"):

        def worker() -> None:
            seen.append(get_current_span())

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == [None]


async def test_current_span_is_isolated_per_task() -> None:
    """Concurrent asyncio tasks each see their own current span."""

    async def run(name: str) -> str:
        with Span(name):
            await asyncio.sleep(0)
            current = get_current_span()
            assert current is not None
            return current.name

    assert await asyncio.gather(run("a"), run("b"), run("c")) == ["a", "b", "c"]
    assert get_current_span() is None


def test_current_trace_ids_for_sampled_spans_only() -> None:
    """The exemplar hook gives hex ids of the current sampled span, else None."""
    assert current_trace_ids() is None
    with Span("s", SpanContext(TID, SID)):
        assert current_trace_ids() == (TID, SID)
    with Span("u", SpanContext(TID, SID, sampled=False)):
        assert current_trace_ids() is None
