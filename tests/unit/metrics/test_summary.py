"""Summary: quantiles over all observations, exact sum and count, bounded history."""

from __future__ import annotations

import math

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import Summary, SummarySnapshot


def test_default_quantiles_are_p50_p90_p99() -> None:
    """get_quantiles() reports p50, p90 and p99 within 1 %."""
    summary = Summary("latency_seconds")
    for i in range(1, 1001):
        summary.observe(i)
    quantiles = summary.get_quantiles()
    assert list(quantiles) == [0.5, 0.9, 0.99]
    for q, exact in [(0.5, 500), (0.9, 900), (0.99, 990)]:
        assert quantiles[q] == pytest.approx(exact, rel=0.01)
    assert summary.get_count() == 1000
    assert summary.get_sum() == 500500


def test_quantiles_cover_every_observation_not_the_window() -> None:
    """Quantiles, sum and count use all observations; get_observations() only the last ones."""
    summary = Summary("latency_seconds", max_observations=10)
    for i in range(1000):
        summary.observe(i)
    assert summary.get_observations() == [float(i) for i in range(990, 1000)]
    assert summary.get_quantile(0.0) == 0
    assert summary.get_quantile(0.5) == pytest.approx(499, rel=0.01)


def test_custom_quantiles_are_sorted_and_validated() -> None:
    """Configured quantiles must lie in [0, 1] and not repeat."""
    assert Summary("s", quantiles=[0.99, 0.5]).quantiles == (0.5, 0.99)
    with pytest.raises(InvalidMetricError, match="outside"):
        Summary("s", quantiles=[1.5])
    with pytest.raises(InvalidMetricError, match="repeat"):
        Summary("s", quantiles=[0.5, 0.5])
    with pytest.raises(InvalidMetricError, match="must be"):
        Summary("s", relative_accuracy=2.0)


def test_any_quantile_can_be_asked() -> None:
    """get_quantile(q) works for levels that are not configured; bad levels raise."""
    summary = Summary("s")
    for i in range(100):
        summary.observe(i)
    assert summary.get_quantile(0.25) == pytest.approx(24, rel=0.01)
    with pytest.raises(InvalidMetricError, match="outside"):
        summary.get_quantile(99)


def test_empty_summary_reports_nan_quantiles() -> None:
    """Without observations quantiles are NaN and sum/count are zero."""
    summary = Summary("s")
    assert all(math.isnan(v) for v in summary.get_quantiles().values())
    assert summary.get_count() == 0
    assert summary.get_sum() == 0.0
    assert summary.get_observations() == []


def test_nan_and_non_numbers_are_refused_and_nothing_changes() -> None:
    """NaN and strings raise InvalidMetricError; ±inf are accepted."""
    summary = Summary("latency_seconds")
    summary.observe(1)
    with pytest.raises(InvalidMetricError, match=r"latency_seconds.*NaN"):
        summary.observe(math.nan)
    with pytest.raises(InvalidMetricError, match="str"):
        summary.record("2")  # type: ignore[arg-type]
    assert summary.get_count() == 1
    summary.observe(math.inf)
    summary.observe(-math.inf)
    assert summary.get_quantile(1.0) == math.inf
    assert summary.get_quantile(0.0) == -math.inf


def test_series_are_separate_and_reset_clears_them() -> None:
    """Each label set has its own sketch; reset() forgets all."""
    summary = Summary("s")
    summary.observe(1, {"route": "/a"})
    summary.observe(100, {"route": "/b"})
    assert summary.get_quantile(0.5, labels={"route": "/a"}) == 1
    assert summary.get_quantile(0.5, labels={"route": "/b"}) == 100
    assert math.isnan(summary.get_quantile(0.5, labels={"route": "/c"}))
    summary.reset()
    assert summary.get_count(labels={"route": "/a"}) == 0


def test_snapshot_reports_quantiles_sum_count(clock: FakeClock) -> None:
    """collect() gives the configured quantiles with sum, count and creation time."""
    summary = Summary("s", quantiles=[0.5], clock=clock)
    summary.observe(2)
    assert summary.collect() == (SummarySnapshot((), (), ((0.5, 2.0),), 2.0, 1, 1_700_000_000.0),)
    assert summary.kind == "summary"
