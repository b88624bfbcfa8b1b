"""Counter: totals per series, exact float/int handling, bad input, thread safety."""

from __future__ import annotations

import math
import threading
from fractions import Fraction

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import Counter, ValueSnapshot


def test_increment_defaults_to_one_and_get_count_is_int() -> None:
    """increment() adds 1; an integral total is returned as an int."""
    counter = Counter("jobs_total", "Jobs run")
    counter.increment()
    counter.increment(4)
    assert counter.get_count() == 5
    assert isinstance(counter.get_count(), int)
    assert counter.get_value() == 5.0
    assert isinstance(counter.get_value(), float)


def test_float_amounts_are_kept() -> None:
    """Non-integral amounts are kept as a float total, never truncated."""
    counter = Counter("bytes_total")
    counter.increment(1)
    counter.increment(0.25)
    assert counter.get_count() == 1.25
    assert counter.get_value() == 1.25


def test_integral_float_total_is_reported_as_int() -> None:
    """A float total that is integral comes back from get_count() as an int."""
    counter = Counter("bytes_total")
    counter.increment(0.5)
    counter.increment(1.5)
    assert counter.get_count() == 2
    assert isinstance(counter.get_count(), int)


def test_large_integer_totals_stay_exact() -> None:
    """Integer totals are Python ints: no float rounding past 2**53."""
    counter = Counter("big_total")
    counter.increment(2**53)
    counter.increment(1)
    assert counter.get_count() == 2**53 + 1


def test_record_is_the_same_operation_as_increment() -> None:
    """record(value, labels) adds like increment."""
    counter = Counter("events_total")
    counter.record(3, {"kind": "a"})
    counter.increment(2, labels={"kind": "a"})
    assert counter.get_count(labels={"kind": "a"}) == 5


@pytest.mark.parametrize("amount", [-1, -0.5, math.nan, -math.inf])
def test_negative_or_nan_amounts_raise_and_change_nothing(amount: float) -> None:
    """Negative or NaN amounts raise InvalidMetricError naming the value; the total is kept."""
    counter = Counter("jobs_total")
    counter.increment(3)
    with pytest.raises(InvalidMetricError) as info:
        counter.increment(amount)
    assert "jobs_total" in str(info.value)
    assert repr(amount) in str(info.value)
    assert ">= 0" in str(info.value)
    assert counter.get_count() == 3


def test_negative_amount_with_new_labels_creates_no_series() -> None:
    """A refused amount does not create the series or lock the schema."""
    counter = Counter("jobs_total")
    with pytest.raises(InvalidMetricError):
        counter.increment(-1, labels={"queue": "a"})
    assert counter.collect() == ()
    assert counter.label_names == ()


@pytest.mark.parametrize("amount", ["1", None, [1]])
def test_non_numeric_amounts_raise(amount: object) -> None:
    """Amounts that are not numbers raise InvalidMetricError with their type."""
    counter = Counter("jobs_total")
    counter.increment()
    with pytest.raises(InvalidMetricError, match=type(amount).__name__):
        counter.increment(amount)  # type: ignore[arg-type]
    assert counter.get_count() == 1


def test_other_numeric_types_are_converted_to_plain_numbers() -> None:
    """Fractions become floats and bools ints, so totals are always int or float."""
    counter = Counter("jobs_total")
    counter.increment(Fraction(1, 4))
    counter.increment(True)
    assert counter.get_count() == 1.25
    assert type(counter.collect()[0].value) is float


def test_positive_infinity_is_accepted() -> None:
    """+inf is a valid (if extreme) amount."""
    counter = Counter("jobs_total")
    counter.increment(math.inf)
    assert counter.get_count() == math.inf


def test_unknown_series_reads_as_zero() -> None:
    """Reading a label set that was never recorded returns 0 without creating it."""
    counter = Counter("jobs_total")
    counter.increment(labels={"queue": "a"})
    assert counter.get_count(labels={"queue": "b"}) == 0
    assert counter.get_value(labels={"queue": "b"}) == 0.0
    assert len(counter.collect()) == 1


def test_reset_zeroes_every_series() -> None:
    """reset() drops all series; counting starts again from zero."""
    counter = Counter("jobs_total")
    counter.increment(5)
    counter.increment(2, labels={"queue": "a"})
    counter.reset()
    assert counter.get_count() == 0
    assert counter.get_count(labels={"queue": "a"}) == 0
    assert counter.collect() == ()
    counter.increment(labels={"queue": "a"})
    assert counter.get_count(labels={"queue": "a"}) == 1


@pytest.mark.usefixtures("update_mode")
def test_concurrent_increments_are_exact() -> None:
    """N threads x M increments give exactly N*M, for labelled and unlabelled series."""
    counter = Counter("hits_total")
    threads, per_thread = 8, 5_000
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            counter.increment()
            counter.increment(labels={"route": "/a"})

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert counter.get_count() == threads * per_thread
    assert counter.get_count(labels={"route": "/a"}) == threads * per_thread


def test_snapshot_reports_value_and_creation_time(clock: FakeClock) -> None:
    """collect() gives one immutable ValueSnapshot per series with its creation time."""
    counter = Counter("jobs_total", "Jobs", labels={"svc": "api"}, clock=clock)
    counter.increment(2, labels={"queue": "a"})
    clock.advance(5)
    counter.increment(0.5)
    snaps = sorted(counter.collect(), key=lambda s: s.label_values)
    assert snaps == [
        ValueSnapshot(("svc", "queue"), ("api", ""), 0.5, 1_700_000_005.0),
        ValueSnapshot(("svc", "queue"), ("api", "a"), 2, 1_700_000_000.0),
    ]
    assert counter.kind == "counter"
    assert counter.description == "Jobs"
    with pytest.raises(AttributeError):
        snaps[0].value = 3  # type: ignore[misc]
