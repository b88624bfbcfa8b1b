"""Merging native histogram buckets of several processes (``metrics._native_merge``)
and the record a shared native series keeps (``metrics._shared_native``)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexigram.monitor.metrics import Histogram, NativeBuckets
from lexigram.monitor.metrics._exponential import index_of
from lexigram.monitor.metrics._native_merge import merge_native, newest_exemplars
from lexigram.monitor.metrics._native_record import (
    native_cells,
    read_record,
    record_parts,
    record_values,
)

ZT = 2.0**-128


def _direct(values: list[float], schema: int) -> tuple[int, tuple[Any, ...], tuple[Any, ...]]:
    """(zero count, positive, negative) of *values* bucketed straight at *schema*."""
    positive: dict[int, int] = {}
    negative: dict[int, int] = {}
    zero = 0
    for value in values:
        if abs(value) <= ZT:
            zero += 1
            continue
        side = positive if value > 0 else negative
        index = index_of(value, schema)
        side[index] = side.get(index, 0) + 1
    return zero, tuple(sorted(positive.items())), tuple(sorted(negative.items()))


magnitudes = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False)
values = st.one_of(magnitudes, magnitudes.map(lambda v: -v), st.just(0.0))


@given(
    first=st.lists(values, max_size=40),
    second=st.lists(values, max_size=40),
    schemas=st.tuples(st.integers(-4, 8), st.integers(-4, 8)),
)
@settings(max_examples=150, deadline=None)
def test_merging_equals_bucketing_everything_at_the_lowest_schema(
    first: list[float], second: list[float], schemas: tuple[int, int]
) -> None:
    """Two processes' histograms at different schemas merge into exactly the buckets all
    their observations get at the lower schema; counts add up."""
    parts = []
    for observed, schema in zip((first, second), schemas, strict=True):
        histogram = Histogram("h", native=True, schema=schema, max_buckets=10_000)
        for value in observed:
            histogram.observe(value)
        parts.append(histogram.get_native_buckets())  # type: ignore[attr-defined]
    merged = merge_native(parts, 10_000)
    lowest = min(schemas)
    assert merged.schema == lowest
    assert merged.zero_threshold == ZT
    assert (merged.zero_count, merged.positive, merged.negative) == _direct(first + second, lowest)
    assert merged.count == len(first) + len(second)


def test_the_widest_zero_bucket_wins_and_absorbs_what_it_covers() -> None:
    """The widest threshold is kept; buckets inside it go to the zero bucket, and one it
    cuts through is absorbed with the threshold widened to its upper bound (on both
    sides)."""
    narrow = NativeBuckets(0, ZT, 1, ((-1, 3), (0, 2), (3, 4)), ((-1, 5), (2, 1)))
    wide = NativeBuckets(0, 0.75, 1, ((4, 1),), ())
    merged = merge_native([narrow, wide], 160)
    # schema 0: bucket -1 = (0.25, 0.5], 0 = (0.5, 1] (cut by 0.75 -> threshold 1)
    assert merged.zero_threshold == 1.0
    assert merged.zero_count == 1 + 1 + 3 + 2 + 5
    assert merged.positive == ((3, 4), (4, 1))
    assert merged.negative == ((2, 1),)
    assert merged.count == narrow.count + wide.count


def test_the_merged_buckets_stay_within_the_bucket_limit() -> None:
    """Parts that together hold more buckets than the limit are merged at a lower
    schema (then, at -4, with a wider zero bucket): never more than the limit."""
    left = NativeBuckets(3, ZT, 0, tuple((i, 1) for i in range(0, 40)), ())
    right = NativeBuckets(3, ZT, 0, tuple((i, 2) for i in range(40, 80)), ())
    merged = merge_native([left, right], 50)
    assert merged.schema == 2
    assert len(merged.positive) == 41  # indices 0..79 halved: 0..40
    assert merged.count == 40 + 80
    tiny = merge_native([left, right], 1)
    assert len(tiny.positive) + len(tiny.negative) <= 1
    assert tiny.count == 120
    assert tiny.schema == -4
    with pytest.raises(ValueError, match="at least one part"):
        merge_native([], 10)


def test_newest_exemplars_keeps_the_latest_oldest_first() -> None:
    """The pooled ring exemplars: the *keep* newest by timestamp, oldest first."""
    entries = [(1.0, 5.0, "a", "b"), None, (2.0, 1.0, "c", "d"), (3.0, 9.0, "e", "f")]
    assert newest_exemplars(entries, 2) == [(1.0, 5.0, "a", "b"), (3.0, 9.0, "e", "f")]
    assert newest_exemplars(entries, 0) == []


def test_a_record_holds_what_it_was_written_with() -> None:
    """The cells of a record (classic counts, head, counts, codes, sum) read back into
    the same classic counts, sum and buckets; too many buckets are refused."""
    buckets = NativeBuckets(-2, 0.5, 4, ((-3, 1), (7, 2)), ((1, 5),))
    values = record_values([1, 2, 3], 12.5, buckets, 5)
    assert len(values) == native_cells(3, 5)
    assert record_parts(values, 3, 5) == ([1, 2, 3], 12.5, buckets)
    with pytest.raises(ValueError, match="do not fit"):
        record_values([], 0.0, buckets, 2)


class _ChangingCells:
    """Cells whose sequence number reads odd, then moves, then settles (a writer that
    lowers the schema while a reader copies)."""

    def __init__(self, values: list[float], sequences: list[float]) -> None:
        self.values = values
        self.sequences = sequences
        self.reads = 0

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            copy = self.values[key]
            copy[0] = self._sequence()
            return _Copied(copy)
        return self._sequence()

    def _sequence(self) -> float:
        self.reads += 1
        return self.sequences[min(self.reads - 1, len(self.sequences) - 1)]


class _Copied(list[float]):
    def tolist(self) -> list[float]:
        return list(self)


def test_a_reader_retries_a_copy_taken_while_the_schema_changed() -> None:
    """A copy is taken again while the sequence is odd or moved during the copy; the
    first copy with a steady, even sequence is returned."""
    buckets = NativeBuckets(1, ZT, 0, ((2, 7),), ())
    values = record_values([], 7.0, buckets, 3)
    cells = _ChangingCells(values, [1.0, 1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 4.0, 4.0])
    got = read_record(cells, 0, len(values), 0)
    assert got[0] == 4.0
    assert record_parts(got, 0, 3)[2] == buckets
    assert math.isnan(got[-2])
