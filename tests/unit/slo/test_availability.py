"""Availability objectives and their SLIs: validation and the PromQL of the error ratio."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lexigram.monitor.slo import (
    AvailabilitySLO,
    EventsSLI,
    HistogramSLI,
    RawSLI,
    RequestsSLI,
)


def test_defaults_are_the_service_requests_over_30_days() -> None:
    """Without an SLI, non-5xx http_requests_total over all of them; period 30 days."""
    slo = AvailabilitySLO("api", 0.999)
    assert slo.period == timedelta(days=30)
    assert slo.sli == RequestsSLI()
    assert slo.error_budget == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": " "}, "name"),
        ({"objective": 1.0}, "strictly between 0 and 1"),
        ({"objective": 0.0}, "strictly between 0 and 1"),
        ({"objective": 99.9}, r"not 99\.9"),
        ({"objective": float("nan")}, "objective"),
        ({"objective": True}, "objective"),
        ({"period": timedelta(0)}, "period"),
        ({"sli": "http_requests_total"}, "sli"),
        ({"description": 3}, "description"),
    ],
)
def test_invalid_objectives_are_refused(kwargs: dict[str, Any], match: str) -> None:
    """Each bad field raises ValueError naming it and the rule."""
    fields: dict[str, Any] = {"name": "api", "objective": 0.99, **kwargs}
    with pytest.raises(ValueError, match=match):
        AvailabilitySLO(**fields)


def test_requests_sli_for_the_service_and_for_a_route() -> None:
    """Errors are the 5xx statuses (0 while none exists), per route when one is given."""
    assert RequestsSLI(selector={"job": "api"}).error_ratio_query("5m") == (
        '(sum(rate(http_requests_total{job="api",status=~"5.."}[5m])) or vector(0)) / '
        '(sum(rate(http_requests_total{job="api"}[5m])))'
    )
    route = RequestsSLI(route="/orders/{order_id}", error_status="5..|429")
    query = route.error_ratio_query("1h")
    assert 'http_requests_total{route="/orders/{order_id}",status=~"5..|429"}[1h]' in query
    assert 'http_requests_total{route="/orders/{order_id}"}[1h]' in query


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "9x"}, "metric name"),
        ({"error_status": "(5"}, "not a valid regex"),
        ({"selector": {"status": "500"}}, "'status'"),
        ({"route": "/a", "selector": {"route": "/b"}}, "'route'"),
        ({"selector": {"bad-name": "x"}}, "bad-name"),
    ],
)
def test_bad_requests_slis_are_refused(kwargs: dict[str, Any], match: str) -> None:
    """Bad metric names, regexes and selectors raise ValueError."""
    with pytest.raises(ValueError, match=match):
        RequestsSLI(**kwargs)


def test_events_sli_renders_errors_or_good_over_total() -> None:
    """{{.window}} (with or without spaces) is replaced in every query."""
    errors = EventsSLI("sum(rate(t[{{.window}}]))", error_query="sum(rate(e[{{ .window }}]))")
    assert errors.error_ratio_query("30m") == "(sum(rate(e[30m]))) / (sum(rate(t[30m])))"
    good = EventsSLI("sum(rate(t[{{.window}}]))", good_query="sum(rate(g[{{.window}}]))")
    assert good.error_ratio_query("5m") == "1 - ((sum(rate(g[5m]))) / (sum(rate(t[5m]))))"
    raw = RawSLI("1 - avg_over_time(up[{{.window}}])")
    assert raw.error_ratio_query("1h") == "1 - avg_over_time(up[1h])"


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: EventsSLI("sum(rate(t[{{.window}}]))"), "exactly one"),
        (lambda: EventsSLI("t", error_query="e[{{.window}}]"), "no {{.window}} placeholder"),
        (lambda: EventsSLI("t[{{.window}}]", "e[{{.window}}]", "g[{{.window}}]"), "exactly one"),
        (lambda: RawSLI(""), "non-empty"),
        (lambda: RawSLI("up"), "placeholder"),
        (lambda: HistogramSLI("h", 0.0), "threshold"),
        (lambda: HistogramSLI("h", 0.1, {"le": "1"}), "'le'"),
    ],
)
def test_bad_query_slis_are_refused(build: Any, match: str) -> None:
    """Missing queries, queries without the window placeholder and bad thresholds."""
    with pytest.raises(ValueError, match=match):
        build()


def test_histogram_sli_counts_observations_above_the_bound() -> None:
    """The latency error ratio matches the bound as Python and Go clients print it."""
    assert HistogramSLI("rpc_seconds", 1.0, {"job": "a"}).error_ratio_query("5m") == (
        '1 - (sum(rate(rpc_seconds_bucket{job="a",le=~"1[.]0|1"}[5m])) / '
        'sum(rate(rpc_seconds_count{job="a"}[5m])))'
    )
