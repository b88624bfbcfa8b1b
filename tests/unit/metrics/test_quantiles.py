"""The log-bucket quantile sketch: relative error, memory bound, special values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexigram.monitor.metrics._quantiles import LogSketch, rank_of
from tests.strategies import sketch_values

quantile_levels = st.floats(min_value=0.0, max_value=1.0)


def _within(estimate: float, exact: float, accuracy: float) -> bool:
    return abs(estimate - exact) <= accuracy * abs(exact) * (1 + 1e-9)


@settings(max_examples=150, deadline=None)
@given(st.lists(sketch_values(), min_size=1, max_size=300), quantile_levels)
def test_relative_error_is_at_most_one_percent(values: list[float], q: float) -> None:
    """Every quantile estimate is within 1 % of the exact nearest-rank quantile."""
    sketch = LogSketch()
    for value in values:
        sketch.add(value)
    exact = sorted(values)[rank_of(q, len(values))]
    assert _within(sketch.quantile(q), exact, 0.01)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=1, max_size=200),
    st.floats(min_value=0.001, max_value=0.2),
    st.lists(quantile_levels, min_size=1, max_size=5),
)
def test_configured_accuracy_holds_for_several_quantiles(
    values: list[float], accuracy: float, qs: list[float]
) -> None:
    """quantiles() honours any relative_accuracy for all requested levels in one pass."""
    sketch = LogSketch(relative_accuracy=accuracy)
    for value in values:
        sketch.add(value)
    ordered = sorted(values)
    for q, estimate in zip(qs, sketch.quantiles(qs), strict=True):
        assert _within(estimate, ordered[rank_of(q, len(values))], accuracy)


def test_empty_sketch_returns_nan() -> None:
    """Without values every quantile is NaN."""
    assert math.isnan(LogSketch().quantile(0.5))


def test_extremes_and_constant_data_are_exact() -> None:
    """Estimates are clamped to the exact min and max seen."""
    sketch = LogSketch()
    for _ in range(10):
        sketch.add(1.0)
    assert sketch.quantiles([0.0, 0.5, 1.0]) == [1.0, 1.0, 1.0]
    sketch.add(250.0)
    assert sketch.quantile(1.0) == 250.0


def test_zero_negatives_and_infinities_are_ordered() -> None:
    """-inf < negatives < 0 < positives < +inf, each counted."""
    sketch = LogSketch()
    for value in [math.inf, -5.0, 0.0, 3.0, -math.inf, -0.0]:
        sketch.add(value)
    assert sketch.count == 6
    lowest, negative, zero, _, positive, highest = sketch.quantiles([0.0, 0.3, 0.5, 0.6, 0.7, 1.0])
    assert lowest == -math.inf
    assert _within(negative, -5.0, 0.01)
    assert zero == 0.0
    assert _within(positive, 3.0, 0.01)
    assert highest == math.inf


def test_huge_values_do_not_overflow() -> None:
    """Values near the float maximum give finite estimates."""
    sketch = LogSketch()
    sketch.add(1.7e308)
    sketch.add(1.79e308)
    assert math.isfinite(sketch.quantile(0.5))


def test_nan_is_refused() -> None:
    """NaN has no rank and raises ValueError."""
    with pytest.raises(ValueError, match="NaN"):
        LogSketch().add(math.nan)


@pytest.mark.parametrize("q", [-0.1, 1.1, math.nan])
def test_quantile_levels_outside_unit_interval_are_refused(q: float) -> None:
    """Levels must lie in [0, 1]."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        LogSketch().quantile(q)


@pytest.mark.parametrize(("accuracy", "bins"), [(0.0, 10), (1.0, 10), (0.01, 0), (0.01, True)])
def test_bad_parameters_are_refused(accuracy: float, bins: int) -> None:
    """relative_accuracy must be in (0, 1) and max_bins an int >= 1."""
    with pytest.raises(ValueError, match="must be"):
        LogSketch(accuracy, bins)


def test_memory_is_bounded_by_max_bins_per_sign() -> None:
    """Values spread over a huge range never hold more than max_bins buckets per sign."""
    sketch = LogSketch(max_bins=64)
    value = 1e-200
    while value < 1e200:
        sketch.add(value)
        sketch.add(-value)
        value *= 1.5
    assert sketch.bin_count() <= 128
    assert sketch.count > 2000


def test_high_quantiles_stay_accurate_after_collapsing() -> None:
    """Collapsing merges the lowest magnitudes, so the upper tail keeps its accuracy."""
    sketch = LogSketch(max_bins=100)
    values = [1.01**i for i in range(5_000)]
    for value in values:
        sketch.add(value)
    assert sketch.bin_count() <= 100
    exact = values[rank_of(0.99, len(values))]
    assert _within(sketch.quantile(0.99), exact, 0.01)


def test_copy_is_independent() -> None:
    """A copy does not change when the original receives more values."""
    sketch = LogSketch()
    sketch.add(1.0)
    snapshot = sketch.copy()
    sketch.add(100.0)
    assert snapshot.count == 1
    assert snapshot.quantile(1.0) == 1.0
