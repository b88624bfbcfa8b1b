"""The value rule of every metric update (``metrics._update``): a value must fit a float64.

Every public recording call is driven here: the instruments' methods, their bound
handles, ``BoundPair.record`` and the collector's name-based API. Whatever is refused
raises :class:`InvalidMetricError` and changes nothing; whatever is accepted is stored as
a plain ``int`` or ``float``, so the exposition can always print it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lexigram.monitor.backends.exporters.prometheus import render
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.metrics import Counter, Gauge, Histogram, MetricsCollector, Summary
from lexigram.monitor.metrics.bound import BoundPair

HUGE = 10**400
LARGEST = int(sys.float_info.max)  # the largest int a float64 holds

Record = Callable[[Any], None]


def recorders(collector: MetricsCollector) -> dict[str, Record]:
    """One recording call per public way of recording a value, all into *collector*."""
    counter = collector.create_counter("c", "C.")
    gauge = collector.create_gauge("g", "G.")
    histogram = collector.create_histogram("h", "H.", buckets=[1.0])
    summary = collector.create_summary("s", "S.")
    pair = BoundPair(
        collector.create_counter("p_requests", "P.").bind({"k": "v"}),
        collector.create_histogram("p_seconds", "P.", buckets=[1.0]).bind({"k": "v"}),
    )
    return {
        "Counter.increment": counter.increment,
        "Counter.record": counter.record,
        "BoundCounter.increment": counter.bind({"k": "v"}).increment,
        "Gauge.set": gauge.set,
        "Gauge.increment": gauge.increment,
        "Gauge.decrement": gauge.decrement,
        "Gauge.record": gauge.record,
        "BoundGauge.set": gauge.bind({"k": "v"}).set,
        "BoundGauge.increment": gauge.bind({"k": "v"}).increment,
        "BoundGauge.decrement": gauge.bind({"k": "v"}).decrement,
        "Histogram.observe": histogram.observe,
        "Histogram.record": histogram.record,
        "BoundHistogram.observe": histogram.bind({"k": "v"}).observe,
        "Summary.observe": summary.observe,
        "Summary.record": summary.record,
        "BoundPair.record": pair.record,
        "MetricsCollector.increment": lambda v: collector.increment("facade.c", v),
        "MetricsCollector.gauge": lambda v: collector.gauge("facade.g", v),
        "MetricsCollector.histogram": lambda v: collector.histogram("facade.h", v),
    }


CALLS = sorted(recorders(MetricsCollector()))


def state(collector: MetricsCollector) -> list[Any]:
    """Every snapshot of every instrument (what the exposition reads)."""
    return [snap for instrument in collector.instruments() for snap in instrument.collect()]


def parsed_text(collector: MetricsCollector) -> dict[str, list[float]]:
    """Sample values by name, parsed back from the text exposition by prometheus_client."""
    body, _ = render(collector)
    out: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample.value)
    return out


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    "value", [HUGE, -HUGE, 2**1024, -(2**1024)], ids=["1e400", "-1e400", "2^1024", "-2^1024"]
)
def test_an_int_beyond_float64_is_refused_by_every_call_and_changes_nothing(
    call: str, value: int
) -> None:
    """An int beyond ±1.8e308 (10**400, or 2**1024, the first int that no float64
    rounds to) raises InvalidMetricError (never OverflowError) naming its size, leaves
    every series as it was, and later updates and reads keep working."""
    collector = MetricsCollector()
    record = recorders(collector)[call]
    record(1)
    before = state(collector)

    with pytest.raises(InvalidMetricError) as info:
        record(value)

    assert "1e" in str(info.value) or ">= 0" in str(info.value)
    assert len(str(info.value)) < 400  # the 401-digit number is named, not printed
    assert state(collector) == before
    record(0.5)
    assert all(len(line) < 200 for line in render(collector)[0].decode().splitlines())
    parsed_text(collector)


@pytest.mark.parametrize("call", CALLS)
def test_the_largest_int_a_float64_holds_is_accepted(call: str) -> None:
    """The bound is inclusive: int(sys.float_info.max) is recorded (as a float, or an
    exact int for a counter) and the exposition still parses."""
    collector = MetricsCollector()
    record = recorders(collector)[call]
    record(-LARGEST if call.startswith("Gauge.decrement") else LARGEST)
    values = parsed_text(collector)
    assert any(math.isclose(abs(v), sys.float_info.max) for vs in values.values() for v in vs)


def test_a_huge_int_no_longer_poisons_a_counter() -> None:
    """Finding: ``increment(10**400)`` was accepted, then every ``increment(0.5)`` and
    ``get_value()`` raised OverflowError and the exposition printed 401 digits. Now the
    huge amount is refused and the counter goes on as if it never came."""
    collector = MetricsCollector()
    counter = collector.create_counter("orders", "Orders.")

    with pytest.raises(InvalidMetricError, match="does not fit a float64"):
        counter.increment(HUGE)
    counter.increment(0.5)
    counter.increment(2)

    assert counter.get_value() == 2.5
    assert counter.get_count() == 2.5
    body = render(collector)[0].decode()
    assert "orders_total 2.5\n" in body
    assert parsed_text(collector)["orders_total"] == [2.5]


@pytest.mark.parametrize("cls", [Histogram, Summary])
def test_observing_a_huge_int_raises_invalid_metric_error(cls: type[Histogram | Summary]) -> None:
    """Finding: ``histogram.observe(10**400)`` raised OverflowError; now it is the
    library's InvalidMetricError (a ValueError), and nothing is recorded."""
    instrument = cls("latency_seconds")
    with pytest.raises(InvalidMetricError, match="does not fit a float64"):
        instrument.observe(HUGE)
    assert instrument.collect() == ()


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    "value",
    ["1", None, [1], object(), complex(1, 1), Decimal("sNaN"), b"1"],
    ids=["str", "None", "list", "object", "complex", "signalling-NaN", "bytes"],
)
def test_non_numbers_are_refused_by_every_call(call: str, value: object) -> None:
    """Anything that is not a number raises InvalidMetricError and changes nothing."""
    collector = MetricsCollector()
    record = recorders(collector)[call]
    record(1)
    before = state(collector)
    with pytest.raises(InvalidMetricError):
        record(value)
    assert state(collector) == before


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [(Fraction(3, 4), 0.75), (Decimal("0.75"), 0.75), (True, 1.0), (Decimal("1e400"), math.inf)],
    ids=["Fraction", "Decimal", "bool", "Decimal-beyond-float64"],
)
def test_other_numeric_types_are_stored_as_plain_numbers(
    call: str, value: object, expected: float
) -> None:
    """Fraction, Decimal and bool are converted by every call (a Decimal too large for a
    float64 becomes inf, as float() makes it); what is stored is a built-in int or
    float."""
    collector = MetricsCollector()
    recorders(collector)[call](value)
    numbers = [
        getattr(snap, "value", None) if hasattr(snap, "value") else snap.sum
        for snap in state(collector)
    ]
    assert all(type(n) in (int, float) for n in numbers)
    sign = -1 if "decrement" in call else 1
    assert sign * expected in numbers


@pytest.mark.parametrize("cls", [Gauge, Histogram, Summary])
def test_nan_is_refused_where_it_has_no_meaning(cls: type[Gauge | Histogram | Summary]) -> None:
    """NaN is refused by gauges, histograms and summaries, also as a Decimal."""
    instrument = cls("x")
    record = instrument.set if isinstance(instrument, Gauge) else instrument.observe
    for nan in (math.nan, Decimal("NaN")):
        with pytest.raises(InvalidMetricError, match="NaN"):
            record(nan)
    assert instrument.collect() == ()


def test_counter_adds_ints_beyond_2_53_as_the_nearest_float() -> None:
    """Ints up to 2**53 keep a counter's total exact; a larger int is added as the float
    the exposition would print anyway."""
    counter = Counter("big_total")
    counter.increment(2**53)
    counter.increment(1)
    assert counter.get_count() == 2**53 + 1
    counter.increment(2**60 + 1)
    assert type(counter.collect()[0].value) is float
    assert counter.get_value() == float(2**53 + 1) + float(2**60 + 1)


class Scalar(float):
    """A float subclass with its own repr and arithmetic, as numpy's float64 has."""

    def __repr__(self) -> str:
        return f"Scalar({float(self)!r})"

    def __add__(self, other: object) -> Scalar:
        return Scalar(float(self) + float(other))  # type: ignore[arg-type]

    __radd__ = __add__


@pytest.mark.parametrize("call", CALLS)
def test_float_subclasses_are_exposed_as_plain_floats(call: str) -> None:
    """A float subclass (numpy's float64 is one) is recorded by every call and exposed
    as a plain float, never with its own repr."""
    collector = MetricsCollector()
    recorders(collector)[call](Scalar(1.5))
    body = render(collector)[0].decode()
    assert "Scalar" not in body
    assert all(type(getattr(s, "value", 0.0)) in (int, float) for s in state(collector))
    parsed_text(collector)
