"""The span attribute rule and checked attribute sets (``tracing.attributes``)."""

from __future__ import annotations

import enum

import pytest

from lexigram.monitor.exceptions import SpanError
from lexigram.monitor.tracing import Tracer
from lexigram.monitor.tracing.attributes import Attributes, bounded_attributes, check_attribute


class Colour(enum.IntEnum):
    RED = 1


def test_check_attribute_accepts_scalars_and_homogeneous_sequences() -> None:
    """Plain scalars pass unchanged; lists become tuples; enum members their value."""
    assert check_attribute("a", "x") == "x"
    assert check_attribute("a", 3) == 3
    assert check_attribute("a", [1, 2]) == (1, 2)
    value = check_attribute("a", Colour.RED)
    assert value == 1
    assert type(value) is int


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("", "x", "non-empty strings"),
        (1, "x", "non-empty strings"),
        ("a", object(), "not allowed"),
        ("a", [1, "x"], "mixes int and str"),
        ("a", {"k": 1}, "not allowed"),
    ],
)
def test_check_attribute_refuses_what_the_rule_forbids(
    key: object, value: object, words: str
) -> None:
    """A bad key or value is a SpanError naming what is wrong."""
    with pytest.raises(SpanError, match=words):
        check_attribute(key, value)


def test_checked_sets_are_new_objects_checked_once() -> None:
    """checked() converts like check_attribute and refuses the first bad value."""
    made = Attributes.checked({"a": [1], "b": Colour.RED})
    assert made == {"a": (1,), "b": 1}
    assert made.__class__ is Attributes
    with pytest.raises(SpanError, match="'bad'"):
        Attributes.checked({"ok": 1, "bad": object()})


def test_plus_adds_one_checked_attribute_to_a_copy() -> None:
    """plus() leaves the cached set alone and checks the new value like the rule does."""
    base = Attributes.checked({"http.request.method": "GET"})
    made = base.plus("url.path", "/items/3")
    assert made == {"http.request.method": "GET", "url.path": "/items/3"}
    assert made.__class__ is Attributes
    assert made is not base
    assert base == {"http.request.method": "GET"}
    assert base.plus("n", [1, 2])["n"] == (1, 2)
    with pytest.raises(SpanError):
        base.plus("url.path", b"/bytes")
    with pytest.raises(SpanError):
        base.plus("", "x")


def test_merged_checks_every_extra_attribute() -> None:
    """merged() adds several attributes to a copy, each checked."""
    base = Attributes.checked({"a": 1})
    assert base.merged({"b": "x", "c": [True]}) == {"a": 1, "b": "x", "c": (True,)}
    with pytest.raises(SpanError):
        base.merged({"b": None})


def test_bounded_attributes_keeps_a_checked_set_within_the_limit_as_is() -> None:
    """A checked set within the limit is kept as the same object; past it, the first
    *limit* are kept and the rest counted."""
    checked = Attributes.checked({"a": 1, "b": 2})
    kept, dropped = bounded_attributes(checked, 5)
    assert kept is checked
    assert dropped == 0
    kept, dropped = bounded_attributes({"a": 1, "b": 2, "c": 3}, 2)
    assert kept == {"a": 1, "b": 2}
    assert dropped == 1


def test_a_span_stores_checked_sets_and_still_checks_plain_dicts(tracer: Tracer) -> None:
    """Span construction and set_attributes take a checked set as it is and check a
    plain mapping value by value."""
    span = tracer.start_span("op", attributes=Attributes.checked({"a": 1}).plus("b", "x"))
    span.set_attributes(Attributes.checked({"c": 2.5}))
    assert span.attributes == {"a": 1, "b": "x", "c": 2.5}
    with pytest.raises(SpanError):
        span.set_attributes({"d": object()})
    span.end()
