"""Bound series handles: the same updates as the labelled API, without the lookup."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import pytest

from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import (
    OVERFLOW_VALUE,
    Counter,
    Gauge,
    Histogram,
    set_exemplar_source,
)
from lexigram.monitor.metrics.bound import BoundPair

LABELS = {"method": "GET", "route": "/orders/{order_id}"}


@pytest.fixture
def spans() -> Iterator[None]:
    """An exemplar source reporting one fixed sampled span."""
    set_exemplar_source(lambda: ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
    yield
    set_exemplar_source(None)


def test_counter_handle_updates_the_labelled_series() -> None:
    """A bound counter adds to the same series as ``increment(amount, labels)``."""
    counter = Counter("requests_total")
    handle = counter.bind(LABELS)
    handle.increment()
    handle.increment(2.5)
    counter.increment(1, LABELS)
    assert counter.get_count(LABELS) == 4.5
    assert handle.labels == LABELS


@pytest.mark.parametrize("amount", [-1, math.nan, "1"])
def test_counter_handle_refuses_bad_amounts(amount: object) -> None:
    """Negative, NaN and non-numeric amounts raise and change nothing."""
    counter = Counter("requests_total")
    handle = counter.bind(LABELS)
    with pytest.raises(InvalidMetricError, match="requests_total"):
        handle.increment(amount)  # type: ignore[arg-type]
    assert counter.get_count(LABELS) == 0


def test_bad_labels_raise_when_binding() -> None:
    """Label errors surface at ``bind``, with the labelled API's message."""
    counter = Counter("requests_total")
    counter.increment(1, {"method": "GET"})
    with pytest.raises(InvalidMetricError, match="unknown"):
        counter.bind({"verb": "GET"})
    with pytest.raises(InvalidMetricError, match="must be strings"):
        counter.bind({"method": 1})  # type: ignore[dict-item]


def test_handles_survive_reset() -> None:
    """After ``reset()`` a handle writes to a fresh series that the instrument shows."""
    counter = Counter("requests_total")
    handle = counter.bind(LABELS)
    handle.increment(5)
    counter.reset()
    assert counter.get_count(LABELS) == 0
    handle.increment()
    assert counter.get_count(LABELS) == 1


def test_unlabelled_handle() -> None:
    """``bind()`` without labels is the unlabelled series."""
    counter = Counter("jobs_total")
    counter.bind().increment(3)
    assert counter.get_count() == 3


def test_handles_past_the_series_cap_use_the_overflow_series() -> None:
    """A label set past ``max_series`` binds to the overflow series."""
    counter = Counter("requests_total", max_series=1)
    counter.bind({"route": "/a"}).increment()
    counter.bind({"route": "/b"}).increment(2)
    values = {s.label_values: s.value for s in counter.collect()}
    assert values == {("/a",): 1, (OVERFLOW_VALUE,): 2}


def test_counter_handle_keeps_exemplars(spans: None) -> None:
    """With an exemplar source, a handle's increment records the current span."""
    counter = Counter("requests_total")
    counter.bind(LABELS).increment()
    exemplar = counter.get_exemplar(LABELS)
    assert exemplar is not None
    assert exemplar.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_gauge_handle_sets_and_moves() -> None:
    """A bound gauge sets, increments and decrements its series; NaN is refused."""
    gauge = Gauge("in_progress")
    handle = gauge.bind({"method": "GET"})
    handle.set(5)
    handle.increment(2)
    handle.decrement()
    assert gauge.get_value({"method": "GET"}) == 6.0
    for bad in (math.nan, "x"):
        with pytest.raises(InvalidMetricError, match="in_progress"):
            handle.set(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidMetricError, match="decrement"):
        handle.decrement("x")  # type: ignore[arg-type]
    assert gauge.get_value({"method": "GET"}) == 6.0


def test_histogram_handle_observes(spans: None) -> None:
    """A bound histogram fills buckets, sum, count, history and bucket exemplars."""
    histogram = Histogram("duration_seconds", buckets=[0.1, 1.0])
    handle = histogram.bind(LABELS)
    for value in (0.05, 0.5, 5.0):
        handle.observe(value)
    assert histogram.get_bucket_counts(LABELS) == {0.1: 1, 1.0: 2, math.inf: 3}
    assert histogram.get_sum(LABELS) == pytest.approx(5.55)
    assert histogram.get_observations(LABELS) == [0.05, 0.5, 5.0]
    assert histogram.get_exemplars(LABELS)[1.0] is not None
    with pytest.raises(InvalidMetricError, match="NaN"):
        handle.observe(math.nan)
    with pytest.raises(InvalidMetricError, match="cannot observe"):
        handle.observe("slow")  # type: ignore[arg-type]
    assert histogram.get_count(LABELS) == 3


def test_concurrent_handle_updates_lose_nothing() -> None:
    """Threads sharing handles keep exact counts."""
    counter = Counter("requests_total")
    histogram = Histogram("duration_seconds")
    count, observe = counter.bind(LABELS).increment, histogram.bind(LABELS).observe

    def work() -> None:
        for _ in range(5_000):
            count(1)
            observe(0.01)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.get_count(LABELS) == 20_000
    assert histogram.get_count(LABELS) == 20_000


def test_a_failing_exemplar_source_never_breaks_a_handle_update() -> None:
    """A source that raises is counted as a failure; the update itself is applied."""
    from lexigram.monitor.metrics import _exemplars

    def broken() -> tuple[str, str]:
        raise RuntimeError("tracer gone")

    before = _exemplars.source_failures()
    set_exemplar_source(broken)
    try:
        counter = Counter("requests_total")
        histogram = Histogram("duration_seconds")
        counter.bind(LABELS).increment()
        histogram.bind(LABELS).observe(0.2)
    finally:
        set_exemplar_source(None)
    assert counter.get_count(LABELS) == 1
    assert histogram.get_count(LABELS) == 1
    assert counter.get_exemplar(LABELS) is None
    assert _exemplars.source_failures() == before + 2


def test_no_exemplar_without_a_current_span() -> None:
    """A source reporting no span leaves the series without exemplars."""
    set_exemplar_source(lambda: None)
    try:
        counter = Counter("requests_total")
        counter.bind(LABELS).increment()
    finally:
        set_exemplar_source(None)
    assert counter.get_exemplar(LABELS) is None


def _pair() -> tuple[Counter, Histogram, BoundPair]:
    counter = Counter("requests_total")
    histogram = Histogram("duration_seconds", buckets=[0.1, 1.0])
    status = {**LABELS, "status": "200"}
    return counter, histogram, BoundPair(counter.bind(status), histogram.bind(LABELS))


def test_pair_counts_and_observes() -> None:
    """``record`` is ``increment(1)`` on the counter and ``observe`` on the histogram."""
    counter, histogram, pair = _pair()
    for value in (0.05, 0.5, 5.0):
        pair.record(value)
    assert counter.get_count({**LABELS, "status": "200"}) == 3
    assert histogram.get_bucket_counts(LABELS) == {0.1: 1, 1.0: 2, math.inf: 3}
    assert histogram.get_sum(LABELS) == pytest.approx(5.55)
    assert histogram.get_observations(LABELS) == [0.05, 0.5, 5.0]
    assert pair.counter.labels == {**LABELS, "status": "200"}
    assert pair.histogram.labels == LABELS


def test_pair_keeps_the_span_in_both_series(spans: None) -> None:
    """With a sampled span current, the counter and the bucket both get its exemplar."""
    counter, histogram, pair = _pair()
    pair.record(0.5)
    counted = counter.get_exemplar({**LABELS, "status": "200"})
    observed = histogram.get_exemplars(LABELS)[1.0]
    assert counted is not None
    assert observed is not None
    assert (counted.value, observed.value) == (1.0, 0.5)
    assert counted.trace_id == observed.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize("value", [math.nan, "slow", None])
def test_pair_refuses_bad_values_and_changes_nothing(value: object) -> None:
    """A value ``observe`` refuses raises the same error and counts nothing."""
    counter, histogram, pair = _pair()
    with pytest.raises(InvalidMetricError, match="duration_seconds"):
        pair.record(value)  # type: ignore[arg-type]
    assert counter.get_count({**LABELS, "status": "200"}) == 0
    assert histogram.get_count(LABELS) == 0


def test_pair_takes_handles_only() -> None:
    """Instruments instead of handles are refused with the way to fix it."""
    counter, histogram, _ = _pair()
    with pytest.raises(TypeError, match=r"counter\.bind"):
        BoundPair(counter, histogram)  # type: ignore[arg-type]


def test_pair_survives_reset() -> None:
    """After either instrument's ``reset()`` the pair writes to the fresh series."""
    counter, histogram, pair = _pair()
    pair.record(0.5)
    counter.reset()
    histogram.reset()
    pair.record(0.05)
    assert counter.get_count({**LABELS, "status": "200"}) == 1
    assert histogram.get_bucket_counts(LABELS)[0.1] == 1
    Counter("unrelated_total").reset()  # any reset makes the pair look again: same series
    pair.record(0.05)
    assert counter.get_count({**LABELS, "status": "200"}) == 2
    assert histogram.get_bucket_counts(LABELS)[0.1] == 2


@pytest.mark.usefixtures("update_mode")
def test_concurrent_pair_records_lose_nothing() -> None:
    """Threads sharing a pair keep exact counts and sums, lock-free or locked."""
    counter, histogram, pair = _pair()

    def work() -> None:
        for _ in range(5_000):
            pair.record(0.5)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.get_count({**LABELS, "status": "200"}) == 20_000
    assert histogram.get_count(LABELS) == 20_000
    assert histogram.get_sum(LABELS) == 10_000
