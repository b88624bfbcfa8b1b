"""Metric and label name rules, and the facade's dotted-name rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor.exceptions import InvalidMetricError, MonitorError
from lexigram.monitor.metrics import Counter, Gauge, Histogram, MetricsCollector, Summary
from lexigram.monitor.metrics.naming import (
    CUT_MARKER,
    MAX_DESCRIPTION_LENGTH,
    METRIC_NAME_RULE,
    clean_description,
    clean_text,
    escaped_length,
    fit_label_value,
    to_metric_name,
    validate_label_name,
    validate_metric_name,
)
from tests.strategies import invalid_metric_names, label_names, metric_names


@given(metric_names())
def test_valid_metric_names_are_returned_unchanged(name: str) -> None:
    """Every name matching [a-zA-Z_:][a-zA-Z0-9_:]* is accepted as is."""
    assert validate_metric_name(name) == name


@given(invalid_metric_names())
def test_invalid_metric_names_raise_quoting_name_and_rule(name: str) -> None:
    """A name breaking the rule raises InvalidMetricError quoting the name and the rule."""
    with pytest.raises(InvalidMetricError) as info:
        validate_metric_name(name)
    assert repr(name) in str(info.value)
    assert METRIC_NAME_RULE in str(info.value)


@given(st.text(max_size=40))
def test_metric_name_validation_agrees_with_the_regex(name: str) -> None:
    """Acceptance is exactly the Prometheus regular expression."""
    ok = re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name) is not None
    if ok:
        assert validate_metric_name(name) == name
    else:
        with pytest.raises(InvalidMetricError):
            validate_metric_name(name)


def test_invalid_metric_error_is_a_monitor_error_and_value_error() -> None:
    """Callers may catch the error as MonitorError or as ValueError."""
    with pytest.raises(MonitorError):
        validate_metric_name("1abc")
    with pytest.raises(ValueError, match="1abc"):
        validate_metric_name("1abc")


def test_non_string_metric_name_is_refused() -> None:
    """A name that is not a string is refused with its type in the message."""
    with pytest.raises(InvalidMetricError, match="int"):
        validate_metric_name(42)


@given(label_names())
def test_valid_label_names_are_accepted(name: str) -> None:
    """Label names matching [a-zA-Z_][a-zA-Z0-9_]* and not starting with __ are accepted."""
    assert validate_label_name(name) == name


@pytest.mark.parametrize("name", ["", "1a", "a:b", "a-b", "__reserved", "é", "a b"])
def test_invalid_label_names_raise(name: str) -> None:
    """Colons, leading digits, reserved __ prefixes and other characters are refused."""
    with pytest.raises(InvalidMetricError) as info:
        validate_label_name(name, "requests_total")
    assert repr(name) in str(info.value)
    assert "requests_total" in str(info.value)
    assert "[a-zA-Z_][a-zA-Z0-9_]*" in str(info.value)


@given(st.text(max_size=40))
def test_label_name_validation_agrees_with_the_rule(name: str) -> None:
    """Acceptance is exactly the regex plus the __ reservation."""
    ok = re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) is not None and not name.startswith("__")
    if ok:
        assert validate_label_name(name) == name
    else:
        with pytest.raises(InvalidMetricError):
            validate_label_name(name)


@pytest.mark.parametrize(
    ("facade", "metric"),
    [
        ("orders.duration", "orders_duration"),
        ("http.server.request-duration", "http_server_request_duration"),
        ("already_valid:total", "already_valid:total"),
        (".leading", "_leading"),
    ],
)
def test_facade_names_turn_dots_and_dashes_into_underscores(facade: str, metric: str) -> None:
    """The one facade rule: every '.' and '-' becomes '_'."""
    assert to_metric_name(facade) == metric


@given(metric_names(), st.lists(st.sampled_from(".-_"), min_size=1, max_size=3))
def test_facade_rule_output_is_always_a_valid_name(name: str, seps: list[str]) -> None:
    """Joining valid parts with dots or dashes always yields a valid metric name."""
    facade = name + "".join(seps) + "x"
    result = to_metric_name(facade)
    assert validate_metric_name(result) == result
    assert "." not in result
    assert "-" not in result


@pytest.mark.parametrize("name", ["9.lives", "a b", "orders/total", "", "naïve.name"])
def test_facade_names_that_stay_invalid_raise_quoting_the_original(name: str) -> None:
    """Nothing but dots and dashes is rewritten; anything else invalid is refused."""
    with pytest.raises(InvalidMetricError) as info:
        to_metric_name(name)
    assert repr(name) in str(info.value)


# -- lengths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "validate",
    [validate_metric_name, validate_label_name, to_metric_name],
    ids=lambda f: f.__name__,
)
def test_names_hold_at_most_200_characters(validate: Any) -> None:
    """200 characters pass; 201 are refused with the length and the limit, quoting only
    the start of the name."""
    assert validate("a" * 200) == "a" * 200
    with pytest.raises(InvalidMetricError) as info:
        validate("a" * 201)
    message = str(info.value)
    assert "201 characters" in message
    assert "at most 200" in message
    assert "a" * 41 not in message


def test_a_one_megabyte_metric_name_is_refused_quickly() -> None:
    """Finding: a 1 MB metric name was accepted. It is refused before any pattern is
    matched, and the error stays short."""
    name = "m" * 1_000_000
    for make in (Counter, Gauge, Histogram, Summary):
        with pytest.raises(InvalidMetricError, match="too long") as info:
            make(name)
        assert len(str(info.value)) < 300
    collector = MetricsCollector()
    with pytest.raises(InvalidMetricError, match="too long"):
        collector.increment("x." + name)
    with pytest.raises(InvalidMetricError, match="too long"):
        Counter("c").increment(labels={"l" * 201: "v"})
    assert collector.get_all_metrics() == {}


# -- text -------------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)


@given(ANY_TEXT)
def test_clean_text_is_always_valid_utf8_and_changes_only_surrogates(text: str) -> None:
    """Every surrogate becomes U+FFFD; every other character is kept, valid text is the
    same object."""
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert len(cleaned) == len(text)
    for before, after in zip(text, cleaned, strict=True):
        assert after == ("\ufffd" if "\ud800" <= before <= "\udfff" else before)
    if cleaned == text:
        assert cleaned is text


@given(ANY_TEXT, st.integers(min_value=2, max_value=80))
def test_fit_label_value_keeps_the_longest_prefix_that_fits_escaped(text: str, limit: int) -> None:
    """A value whose escaped form fits is kept whole; a longer one becomes the longest
    prefix whose escaped form plus the marker fits in the limit."""
    value, cut = fit_label_value(text, limit)
    clean = clean_text(text)
    if escaped_length(clean) <= limit:
        assert (value, cut) == (clean, False)
        return
    assert cut
    assert value.endswith(CUT_MARKER)
    prefix = value[: -len(CUT_MARKER)]
    assert clean.startswith(prefix)
    assert escaped_length(prefix) + len(CUT_MARKER) <= limit
    longer = clean[: len(prefix) + 1]
    assert escaped_length(longer) + len(CUT_MARKER) > limit


def test_escaped_length_counts_backslash_quote_and_newline_twice() -> None:
    """The three characters the exposition escapes take two places each."""
    assert escaped_length('a\\b"c\nd') == 7 + 3
    assert fit_label_value('"' * 10, 8) == ('"""' + CUT_MARKER, True)


def test_descriptions_are_cleaned_and_cut() -> None:
    """HELP text is made valid UTF-8 and cut to MAX_DESCRIPTION_LENGTH characters."""
    assert clean_description("ok \ud800") == "ok \ufffd"
    long = clean_description("h" * 100_000)
    assert len(long) == MAX_DESCRIPTION_LENGTH
    assert long.endswith(CUT_MARKER)
    assert Counter("c", "d" * 100_000).description == long.replace("h", "d")
