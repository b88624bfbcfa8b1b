"""SLO definitions and violations."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lexigram.monitor.slo import SLO, SLOViolation
from lexigram.monitor.slo.objective import percentile_label

from ._slos import example_slo

HOUR = timedelta(hours=1)


def test_defaults_and_positional_order() -> None:
    """Fields in order: name, metric, percentile, threshold_ms, window, burn rate, description."""
    slo = SLO("a", "m", 0.5, 10, HOUR)
    assert slo.burn_rate_threshold == 1.0
    assert slo.description == ""
    assert isinstance(slo.threshold_ms, float)
    assert slo == SLO("a", "m", 0.5, 10.0, HOUR, 1.0, "")


def test_slo_is_immutable() -> None:
    """A registered SLO cannot change under the monitor."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        example_slo().threshold_ms = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("name", "", "name"),
        ("name", "   ", "name"),
        ("metric", "", "metric"),
        ("percentile", 0.0, r"percentile .* \(0, 1\]"),
        ("percentile", -0.1, "percentile"),
        ("percentile", 1.0000001, "percentile"),
        ("percentile", 99, "not 99"),
        ("percentile", math.nan, "percentile"),
        ("percentile", True, "percentile"),
        ("percentile", "0.99", "percentile"),
        ("threshold_ms", 0.0, "threshold_ms"),
        ("threshold_ms", -5.0, "threshold_ms"),
        ("threshold_ms", math.inf, "threshold_ms"),
        ("threshold_ms", math.nan, "threshold_ms"),
        ("window", timedelta(0), "window"),
        ("window", timedelta(seconds=-1), "window"),
        ("window", 3600, "timedelta"),
        ("burn_rate_threshold", 0.0, "burn_rate_threshold"),
        ("burn_rate_threshold", -1.0, "burn_rate_threshold"),
        ("burn_rate_threshold", math.nan, "burn_rate_threshold"),
        ("description", None, "description"),
    ],
)
def test_bad_slos_are_refused_at_construction(field: str, value: Any, match: str) -> None:
    """Each invalid field raises ValueError naming the field and the rule."""
    with pytest.raises(ValueError, match=match):
        example_slo(**{field: value})


def test_percentile_one_is_allowed() -> None:
    """p100 (the maximum) is a valid target."""
    assert example_slo(percentile=1).percentile == 1.0


@pytest.mark.parametrize(
    ("percentile", "label"),
    [(0.99, "p99"), (0.999, "p99.9"), (0.5, "p50"), (1.0, "p100"), (0.29, "p29")],
)
def test_percentile_label(percentile: float, label: str) -> None:
    """Percentiles print as pNN without binary noise."""
    assert percentile_label(percentile) == label
    assert example_slo(percentile=percentile).percentile_label == label


@pytest.mark.parametrize(
    ("percentile", "count", "rank"),
    [
        (0.99, 2, 2),
        (0.99, 100, 99),
        (0.99, 101, 100),
        (0.5, 10, 5),
        (0.5, 11, 6),
        (0.1, 10, 1),  # 0.1 in binary is slightly above 1/10: still rank 1
        (0.29, 100, 29),
        (0.57, 100, 57),
        (1.0, 7, 7),
        (0.001, 3, 1),
    ],
)
def test_rank_is_the_nearest_rank(percentile: float, count: int, rank: int) -> None:
    """rank(n) = ceil(p·n) with p taken as the decimal written, never below 1."""
    assert example_slo(percentile=percentile).rank(count) == rank


@given(
    digits=st.integers(min_value=1, max_value=10_000),
    count=st.integers(min_value=1, max_value=20_000),
)
def test_rank_matches_a_brute_force_search(digits: int, count: int) -> None:
    """rank(n) is the smallest r in 1..n with r/n >= p, for every 4-digit decimal p."""
    percentile = float(f"0.{digits:04d}") if digits < 10_000 else 1.0
    exact = Fraction(f"{percentile}")
    expected = next(r for r in range(1, count + 1) if Fraction(r, count) >= exact)
    assert example_slo(percentile=percentile).rank(count) == expected


def test_violation_message_is_generated() -> None:
    """An empty message is replaced by a summary naming the SLO, values and burn rate."""
    violation = SLOViolation(
        slo=example_slo(), measured_value=350.0, burn_rate=1.75, sample_count=2
    )
    assert violation.message == (
        "SLO 'api.p99_latency' violated: p99 of 2 samples of 'http.request.duration' over "
        "the last 1:00:00 is 350.00 ms, above the 200.00 ms threshold (burn rate 1.75, "
        "alerting at 1.00)"
    )
    assert violation.detected_at.tzinfo is UTC


def test_violation_keeps_a_given_message() -> None:
    """A non-empty message is kept as is."""
    assert SLOViolation(example_slo(), 300.0, 1.5, message="custom").message == "custom"


def test_violation_time_is_utc() -> None:
    """An aware time is converted to UTC; a naive one is refused."""
    paris = timezone(timedelta(hours=2))
    violation = SLOViolation(example_slo(), 300.0, 1.5, datetime(2024, 1, 1, 12, tzinfo=paris))
    assert violation.detected_at == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert violation.detected_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="naive"):
        SLOViolation(example_slo(), 300.0, 1.5, datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("burn", "severity"), [(1.2, "warning"), (2.0, "warning"), (2.01, "critical")]
)
def test_violation_severity(burn: float, severity: str) -> None:
    """Critical past twice the threshold (the metric-alert rule), else warning."""
    assert SLOViolation(example_slo(), 200.0 * burn, burn).severity == severity
