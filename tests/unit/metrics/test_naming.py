"""Metric and label name rules, and the facade's dotted-name rule."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor.exceptions import InvalidMetricError, MonitorError
from lexigram.monitor.metrics.naming import (
    METRIC_NAME_RULE,
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
