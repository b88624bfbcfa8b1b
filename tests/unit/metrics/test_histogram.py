"""Histogram: cumulative buckets, exact sum/count, bounded recent observations."""

from __future__ import annotations

import math
import threading
from fractions import Fraction

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import DEFAULT_BUCKETS
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import Histogram, HistogramSnapshot


def test_default_buckets_end_with_inf() -> None:
    """Without buckets the config defaults are used, with +inf appended."""
    histogram = Histogram("latency_seconds")
    assert histogram.buckets == (*DEFAULT_BUCKETS, math.inf)


def test_bucket_counts_are_cumulative_over_all_observations() -> None:
    """get_bucket_counts() maps each bound to the number of observations <= bound."""
    histogram = Histogram("latency_seconds", buckets=[0.1, 1.0, 10.0])
    for value in [0.05, 0.1, 0.5, 3, 30, 0.01]:
        histogram.observe(value)
    assert histogram.get_bucket_counts() == {0.1: 3, 1.0: 4, 10.0: 5, math.inf: 6}
    assert histogram.get_count() == 6
    assert histogram.get_sum() == pytest.approx(33.66)


def test_sum_and_count_are_exact_beyond_the_observation_window() -> None:
    """Sum, count and buckets cover every observation, not only the kept window."""
    histogram = Histogram("size_bytes", buckets=[10], max_observations=5)
    for value in range(100):
        histogram.observe(value)
    assert histogram.get_count() == 100
    assert histogram.get_sum() == sum(range(100))
    assert histogram.get_bucket_counts() == {10.0: 11, math.inf: 100}
    assert histogram.get_observations() == [95, 96, 97, 98, 99]


def test_observation_window_defaults_to_1000() -> None:
    """At most max_observations (default 1,000) recent values are kept."""
    histogram = Histogram("latency_seconds")
    for value in range(1500):
        histogram.observe(value)
    observations = histogram.get_observations()
    assert len(observations) == 1000
    assert observations[0] == 500


def test_zero_observation_window_keeps_no_history() -> None:
    """max_observations=0 keeps no values but still counts them."""
    histogram = Histogram("latency_seconds", max_observations=0)
    histogram.observe(1)
    assert histogram.get_observations() == []
    assert histogram.get_count() == 1


def test_infinities_are_accepted() -> None:
    """-inf lands in the first bucket, +inf only in the +inf bucket."""
    histogram = Histogram("x", buckets=[0, 1])
    histogram.observe(-math.inf)
    histogram.observe(math.inf)
    assert histogram.get_bucket_counts() == {0.0: 1, 1.0: 1, math.inf: 2}


def test_nan_is_refused_and_nothing_changes() -> None:
    """NaN raises InvalidMetricError naming the histogram; counts stay."""
    histogram = Histogram("latency_seconds", buckets=[1])
    histogram.observe(0.5)
    with pytest.raises(InvalidMetricError, match=r"latency_seconds.*NaN"):
        histogram.observe(math.nan)
    with pytest.raises(InvalidMetricError, match="str"):
        histogram.record("1")  # type: ignore[arg-type]
    assert histogram.get_bucket_counts() == {1.0: 1, math.inf: 1}
    assert histogram.get_observations() == [0.5]


@pytest.mark.parametrize(
    ("buckets", "rule"),
    [
        ([1.0, 0.5], "strictly increasing"),
        ([1.0, 1.0], "strictly increasing"),
        ([0.1, math.nan], "NaN"),
        ([], "no finite upper bound"),
        ([math.inf], "no finite upper bound"),
        (["a"], "numbers"),
    ],
)
def test_bad_buckets_are_refused(buckets: list[float], rule: str) -> None:
    """Buckets must be numbers, sorted, without NaN and hold a finite bound."""
    with pytest.raises(InvalidMetricError, match=rule):
        Histogram("latency_seconds", buckets=buckets)


def test_explicit_inf_bucket_is_not_duplicated() -> None:
    """A trailing +inf given by the caller is kept once."""
    assert Histogram("x", buckets=[1, math.inf]).buckets == (1.0, math.inf)


def test_series_are_separate_per_label_set() -> None:
    """Per-series getters read the series of the given labels."""
    histogram = Histogram("latency_seconds", buckets=[1])
    histogram.observe(0.5, labels={"route": "/a"})
    histogram.observe(2, labels={"route": "/b"})
    assert histogram.get_bucket_counts(labels={"route": "/a"}) == {1.0: 1, math.inf: 1}
    assert histogram.get_observations(labels={"route": "/b"}) == [2]
    assert histogram.get_count(labels={"route": "/c"}) == 0
    assert histogram.get_bucket_counts(labels={"route": "/c"}) == {1.0: 0, math.inf: 0}
    assert histogram.get_sum(labels={"route": "/b"}) == 2


def test_reset_clears_buckets_and_history() -> None:
    """reset() empties every series."""
    histogram = Histogram("latency_seconds", buckets=[1])
    histogram.observe(0.5)
    histogram.reset()
    assert histogram.get_count() == 0
    assert histogram.get_observations() == []


@pytest.mark.usefixtures("update_mode")
def test_concurrent_observations_are_all_counted() -> None:
    """Threads observing concurrently lose no observation."""
    histogram = Histogram("latency_seconds", buckets=[0.5])

    def work() -> None:
        for i in range(2_000):
            histogram.observe(i % 2)

    workers = [threading.Thread(target=work) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert histogram.get_bucket_counts() == {0.5: 6_000, math.inf: 12_000}
    assert histogram.get_sum() == 6_000


@pytest.mark.usefixtures("update_mode")
def test_snapshots_never_split_an_observation() -> None:
    """A snapshot taken while threads observe has a sum matching its count (all values 1)."""
    histogram = Histogram("latency_seconds", buckets=[0.5, 2.0])
    done = threading.Event()
    torn: list[tuple[float, int]] = []

    def work() -> None:
        for _ in range(5_000):
            histogram.observe(1.0)

    def read() -> None:
        while not done.is_set():
            for snap in histogram.collect():
                if snap.sum != snap.count:
                    torn.append((snap.sum, snap.count))

    reader = threading.Thread(target=read)
    reader.start()
    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    reader.join()
    assert torn == []
    assert histogram.get_count() == 20_000


def test_exotic_number_types_take_the_locked_path() -> None:
    """A Fraction or a bool is observed like the float it stands for."""
    histogram = Histogram("latency_seconds", buckets=[0.5, 2.0])
    histogram.observe(Fraction(1, 4))
    histogram.observe(True)
    assert histogram.get_bucket_counts() == {0.5: 1, 2.0: 2, math.inf: 2}
    assert histogram.get_sum() == 1.25


def test_snapshot_has_cumulative_counts(clock: FakeClock) -> None:
    """collect() reports bounds, cumulative counts, sum, count and creation time."""
    histogram = Histogram("latency_seconds", buckets=[1, 2], clock=clock)
    histogram.observe(0.5, {"route": "/a"})
    histogram.observe(1.5, {"route": "/a"})
    histogram.observe(5, {"route": "/a"})
    assert histogram.collect() == (
        HistogramSnapshot(
            ("route",),
            ("/a",),
            (1.0, 2.0, math.inf),
            (1, 2, 3),
            7.0,
            3,
            1_700_000_000.0,
        ),
    )
    assert histogram.kind == "histogram"
