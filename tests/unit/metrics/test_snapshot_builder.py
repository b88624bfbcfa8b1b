"""``value_snapshot`` and ``histogram_snapshot`` build the same frozen objects as the
dataclass constructors."""

from __future__ import annotations

import dataclasses

import pytest

from lexigram.monitor.metrics.snapshot import (
    Exemplar,
    HistogramSnapshot,
    NativeBuckets,
    ValueSnapshot,
    histogram_snapshot,
    value_snapshot,
)


def test_value_snapshot_equals_the_constructor_and_stays_frozen() -> None:
    """Equal, equally hashed, every field set (the exemplar defaulting to None), and
    frozen like one made by ValueSnapshot(...)."""
    exemplar = Exemplar(0.25, "ab" * 16, "cd" * 8, 2.0)
    made = value_snapshot(("a",), ("x",), 3, 4.5, exemplar)
    assert made == ValueSnapshot(("a",), ("x",), 3, 4.5, exemplar)
    assert hash(made) == hash(ValueSnapshot(("a",), ("x",), 3, 4.5, exemplar))
    assert value_snapshot((), (), 1.0, 0.0) == ValueSnapshot((), (), 1.0, 0.0)
    assert value_snapshot((), (), 1.0, 0.0).exemplar is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.value = 7  # type: ignore[misc]


def test_histogram_snapshot_equals_the_constructor_and_stays_frozen() -> None:
    """Every field set (exemplars and native buckets defaulting to empty and None), equal
    to and hashed like one made by HistogramSnapshot(...), and frozen."""
    exemplar = Exemplar(0.25, "ab" * 16, "cd" * 8, 2.0)
    native = NativeBuckets(3, 0.0, 1, ((0, 2),), ())
    fields = (("a",), ("x",), (0.5, float("inf")), (2, 3), 1.5, 3, 4.0)
    made = histogram_snapshot(*fields, (exemplar, None), native)
    assert made == HistogramSnapshot(*fields, (exemplar, None), native)
    assert hash(made) == hash(HistogramSnapshot(*fields, (exemplar, None), native))
    plain = histogram_snapshot(*fields)
    assert plain == HistogramSnapshot(*fields)
    assert plain.exemplars == ()
    assert plain.native is None
    assert plain.quantile(0.5) == HistogramSnapshot(*fields).quantile(0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.count = 7  # type: ignore[misc]


def test_through_slots_needs_exactly_the_fields() -> None:
    """A builder whose parameters are not exactly the dataclass's fields is refused at
    definition, naming the fields."""
    from lexigram.monitor._frozen import through_slots

    with pytest.raises(TypeError, match="exactly the fields of ValueSnapshot"):

        @through_slots(ValueSnapshot)
        def missing(label_names: tuple[str, ...], value: float) -> ValueSnapshot:
            return ValueSnapshot(label_names, (), value, 0.0)

    with pytest.raises(TypeError, match="exactly the fields of Exemplar"):

        @through_slots(Exemplar)
        def extra(value: float, trace_id: str, span_id: str, timestamp: float, x: int) -> Exemplar:
            return Exemplar(value, trace_id, span_id, timestamp)
