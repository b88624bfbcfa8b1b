"""Span API: attributes, events, links, status, exceptions, limits and ending."""

from __future__ import annotations

from enum import IntEnum, StrEnum

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import TracingConfig
from lexigram.monitor.exceptions import SpanError
from lexigram.monitor.tracing import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    SpanStatus,
    Tracer,
)
from lexigram.monitor.tracing.context import get_current_span


def make_tracer(clock: FakeClock, **limits: int) -> Tracer:
    return Tracer(
        "svc", None, config=TracingConfig(sampler_type="always_on", **limits), clock=clock
    )


def test_kind_and_status_use_opentelemetry_values() -> None:
    """SpanKind and SpanStatus carry the OpenTelemetry API numbers."""
    assert [k.value for k in SpanKind] == [0, 1, 2, 3, 4]
    assert [k.name for k in SpanKind] == ["INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
    assert (SpanStatus.UNSET, SpanStatus.OK, SpanStatus.ERROR) == (0, 1, 2)


@pytest.mark.parametrize("value", ["s", True, 3, 2.5, ["a", "b"], (1, 2), [True], [1.5, 2.0], []])
def test_supported_attribute_values_are_stored(value: object) -> None:
    """Scalars and homogeneous sequences are accepted (sequences stored as tuples)."""
    span = Span("op")
    span.set_attribute("k", value)
    expected = tuple(value) if isinstance(value, list | tuple) else value
    assert span.attributes["k"] == expected


class Color(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


def test_enum_members_are_stored_as_plain_values() -> None:
    """str/int enum members are stored as their plain value."""
    span = Span("op")
    span.set_attribute("color", Color.RED)
    span.set_attribute("level", Level.HIGH)
    assert span.attributes == {"color": "red", "level": 3}
    assert type(span.attributes["color"]) is str
    assert type(span.attributes["level"]) is int


@pytest.mark.parametrize(
    "value", [None, {"a": 1}, object(), [1, "a"], [1, True], [None], b"bytes", {1, 2}]
)
def test_unsupported_attribute_values_raise_naming_the_key(value: object) -> None:
    """Other types and mixed sequences raise SpanError naming the key."""
    span = Span("op")
    with pytest.raises(SpanError, match=r"'user\.id'"):
        span.set_attribute("user.id", value)
    assert "user.id" not in span.attributes


def test_invalid_attribute_key_raises() -> None:
    """Empty or non-string keys are refused."""
    with pytest.raises(SpanError, match="key"):
        Span("op").set_attribute("", 1)
    with pytest.raises(SpanError, match="key"):
        Span("op", attributes={1: "x"})  # type: ignore[dict-item]


def test_attribute_limit_drops_and_counts(clock: FakeClock) -> None:
    """New keys past max_attributes are dropped and counted; existing keys still update."""
    span = make_tracer(clock, max_attributes=2).start_span("op", attributes={"a": 1})
    span.set_attribute("b", 2)
    span.set_attribute("c", 3)
    span.set_attribute("a", 10)
    assert span.attributes == {"a": 10, "b": 2}
    assert span.dropped_attributes == 1


def test_event_limit_drops_and_counts(clock: FakeClock) -> None:
    """Events past max_events are dropped and counted; event attributes are limited too."""
    span = make_tracer(clock, max_events=1, max_attributes=1).start_span("op")
    span.add_event("first", {"x": 1, "y": 2})
    span.add_event("second")
    assert [e.name for e in span.events] == ["first"]
    assert span.events[0].attributes == {"x": 1}
    assert span.events[0].dropped_attributes == 1
    assert span.dropped_events == 1


def test_link_limit_drops_and_counts(clock: FakeClock) -> None:
    """Links past max_links are dropped and counted."""
    other = SpanContext(1, 2)
    tracer = make_tracer(clock, max_links=1)
    span = tracer.start_span("op", links=[other, SpanContext(3, 4)])
    assert [link.context for link in span.links] == [other]
    assert span.dropped_links == 1
    with pytest.raises(SpanError, match="SpanContext"):
        span.add_link("nope")  # type: ignore[arg-type]


def test_event_timestamp_comes_from_the_clock(clock: FakeClock) -> None:
    """Events are stamped with the tracer's wall clock unless given a timestamp."""
    span = make_tracer(clock).start_span("op")
    span.add_event("now")
    span.add_event("then", timestamp=5.0)
    assert [e.timestamp for e in span.events] == [clock.time(), 5.0]


def test_duration_uses_the_monotonic_clock(clock: FakeClock) -> None:
    """get_duration is None until ended, then the elapsed seconds."""
    span = make_tracer(clock).start_span("op")
    assert span.get_duration() is None
    clock.advance(1.5)
    span.end()
    assert span.get_duration() == pytest.approx(1.5)
    assert span.end_time == pytest.approx(span.start_time + 1.5)


def test_explicit_start_and_end_times() -> None:
    """Explicit epoch-second times are used as given."""
    span = Span("op", start_time=100.0)
    span.end(end_time=103.0)
    assert span.get_duration() == 3.0


def test_status_rules() -> None:
    """UNSET is ignored, ERROR keeps its message, OK is final; names are accepted."""
    span = Span("op")
    span.set_status(SpanStatus.ERROR, "boom")
    assert (span.status, span.status_message) == (SpanStatus.ERROR, "boom")
    span.set_status(SpanStatus.UNSET)
    assert span.status is SpanStatus.ERROR
    span.set_status("ok", "ignored message")
    assert (span.status, span.status_message) == (SpanStatus.OK, None)
    span.set_status(SpanStatus.ERROR, "late")
    assert span.status is SpanStatus.OK
    with pytest.raises(SpanError, match="bogus"):
        span.set_status("bogus")


def test_record_exception_adds_an_event_without_changing_status() -> None:
    """record_exception adds an 'exception' event with type, message and stack trace."""
    span = Span("op")
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        span.record_exception(exc)
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "bad value"
    assert "bad value" in str(event.attributes["exception.stacktrace"])
    assert span.status is SpanStatus.UNSET


def test_record_exception_survives_a_broken_str() -> None:
    """An exception whose __str__ raises is still recorded."""

    class WeirdError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    span = Span("op")
    span.record_exception(WeirdError())
    assert "unprintable" in str(span.events[0].attributes["exception.message"])
    escaping = Span("op")
    with pytest.raises(WeirdError), escaping:
        raise WeirdError
    assert "unprintable" in str(escaping.status_message)


def test_context_manager_makes_current_and_restores() -> None:
    """Entering makes the span current; exiting restores the previous one and ends it."""
    outer = Span("outer")
    with outer:
        inner = Span("inner")
        with inner:
            assert get_current_span() is inner
        assert get_current_span() is outer
        assert inner.ended
    assert get_current_span() is None
    assert outer.ended


def test_escaping_exception_is_recorded_with_error_status() -> None:
    """An exception leaving the block is recorded, sets ERROR and propagates."""
    span = Span("op")
    with pytest.raises(KeyError), span:
        raise KeyError("k")
    assert span.status is SpanStatus.ERROR
    assert "KeyError" in str(span.status_message)
    assert span.events[0].name == "exception"
    assert span.ended


def test_cancellation_is_recorded_but_not_an_error() -> None:
    """BaseExceptions like KeyboardInterrupt add an event but leave the status unset."""
    span = Span("op")
    with pytest.raises(KeyboardInterrupt), span:
        raise KeyboardInterrupt
    assert span.status is SpanStatus.UNSET
    assert span.events[0].name == "exception"


def test_ending_twice_is_harmless(clock: FakeClock) -> None:
    """A second end() changes nothing and does not export again."""
    tracer = make_tracer(clock)
    span = tracer.start_span("op")
    span.end()
    first_end = span.end_time
    clock.advance(5)
    span.end()
    span.finish()
    assert span.end_time == first_end
    assert tracer.get_all_spans() == [span]


def test_ended_span_ignores_changes() -> None:
    """After end, attributes, events, links and status are not changed."""
    span = Span("op")
    span.end()
    span.set_attribute("a", 1)
    span.add_event("e")
    span.add_link(SpanContext(1, 2))
    span.set_status(SpanStatus.ERROR)
    span.record_exception(ValueError())
    assert (span.attributes, list(span.events), list(span.links)) == ({}, [], [])
    assert span.status is SpanStatus.UNSET
    assert not span.is_recording()


def test_non_recording_span_ignores_everything_but_keeps_context() -> None:
    """An unsampled span records nothing yet has a context and can be current."""
    ctx = SpanContext(1, 2, sampled=False)
    span = NonRecordingSpan(ctx)
    span.set_attribute("k", object())
    span.add_event("e")
    span.set_status(SpanStatus.ERROR)
    span.record_exception(ValueError())
    with span:
        assert get_current_span() is span
    assert span.context is ctx
    assert not span.is_recording()
    assert span.attributes == {}
    assert span.get_duration() is None
