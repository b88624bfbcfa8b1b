"""Gauge: set, increment, decrement per series; NaN refused."""

from __future__ import annotations

import math
import threading

import pytest

from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import Gauge


def test_set_increment_decrement() -> None:
    """set() replaces, increment()/decrement() add and subtract (default 1)."""
    gauge = Gauge("in_flight")
    gauge.set(10)
    gauge.increment()
    gauge.increment(2.5)
    gauge.decrement()
    gauge.decrement(0.5)
    assert gauge.get_value() == 12.0
    assert isinstance(gauge.get_value(), float)


def test_record_sets_the_value() -> None:
    """record() is the same operation as set()."""
    gauge = Gauge("temperature")
    gauge.record(21.5, {"room": "a"})
    gauge.record(19.0, {"room": "a"})
    assert gauge.get_value(labels={"room": "a"}) == 19.0


def test_gauges_may_go_negative_and_to_infinity() -> None:
    """Negative values and ±inf are accepted."""
    gauge = Gauge("balance")
    gauge.decrement(5)
    assert gauge.get_value() == -5.0
    gauge.set(-math.inf)
    assert gauge.get_value() == -math.inf


@pytest.mark.parametrize("operation", ["set", "increment", "decrement", "record"])
def test_nan_is_refused_and_value_kept(operation: str) -> None:
    """NaN raises InvalidMetricError naming the gauge; the value stays."""
    gauge = Gauge("in_flight")
    gauge.set(3)
    with pytest.raises(InvalidMetricError, match=r"in_flight.*NaN"):
        getattr(gauge, operation)(math.nan)
    assert gauge.get_value() == 3.0


@pytest.mark.parametrize("operation", ["set", "increment", "decrement"])
def test_non_numbers_are_refused(operation: str) -> None:
    """Strings and None raise InvalidMetricError with their type."""
    gauge = Gauge("in_flight")
    gauge.set(1)
    with pytest.raises(InvalidMetricError, match="str"):
        getattr(gauge, operation)("2")
    assert gauge.get_value() == 1.0


def test_unknown_series_reads_zero() -> None:
    """A never-set series reads 0.0."""
    assert Gauge("in_flight").get_value(labels={"x": "y"}) == 0.0


def test_reset_clears_all_series() -> None:
    """reset() forgets every value."""
    gauge = Gauge("in_flight")
    gauge.set(4)
    gauge.reset()
    assert gauge.get_value() == 0.0
    assert gauge.collect() == ()


@pytest.mark.usefixtures("update_mode")
def test_concurrent_increments_and_decrements_balance() -> None:
    """Paired increments and decrements from many threads leave the gauge at zero."""
    gauge = Gauge("in_flight")

    def work() -> None:
        for _ in range(3_000):
            gauge.increment()
            gauge.decrement()
            gauge.increment(labels={"pool": "a"})

    workers = [threading.Thread(target=work) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert gauge.get_value() == 0.0
    assert gauge.get_value(labels={"pool": "a"}) == 18_000.0


def test_snapshot_has_no_exemplar() -> None:
    """Gauge snapshots carry the value and no exemplar."""
    gauge = Gauge("in_flight", labels={"svc": "x"})
    gauge.set(2)
    (snap,) = gauge.collect()
    assert (snap.label_names, snap.label_values, snap.value, snap.exemplar) == (
        ("svc",),
        ("x",),
        2.0,
        None,
    )
    assert gauge.kind == "gauge"
