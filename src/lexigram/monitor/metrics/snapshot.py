"""Immutable per-series snapshots: what exporters read from an instrument.

Every instrument (:class:`Counter`, :class:`Gauge`, :class:`Histogram`, :class:`Summary`)
exposes the same read side:

- ``kind``: ``"counter" | "gauge" | "histogram" | "summary"``
- ``name``, ``description``
- ``label_names``: the label schema (default label keys first, then the keys of the first
  labelled call), a tuple; it may grow exactly once, when the schema locks
- ``collect()``: a tuple of snapshots, one per series, taken under one lock hold per
  series and without per-observation work

Each snapshot repeats the ``label_names`` it was taken with, so its ``label_values``
always line up with them even if the schema locked between two reads. The overflow
series (label sets past the series cap) has every label value ``"__overflow__"``.
``created`` is the wall-clock time (seconds) the series was created, for ``_created``
samples. Timestamps of exemplars are wall-clock seconds as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._frozen import through_slots
from ._exponential import bucket_bounds, reduce_buckets, upper_bound
from ._exponential import quantile as native_quantile

__all__ = ["Exemplar", "HistogramSnapshot", "NativeBuckets", "SummarySnapshot", "ValueSnapshot"]


@dataclass(frozen=True, slots=True)
class Exemplar:
    """A sampled trace attached to a counter series or a histogram bucket."""

    value: float
    trace_id: str
    span_id: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class ValueSnapshot:
    """One counter or gauge series.

    ``value`` is an ``int`` for a counter that only received integer amounts, else a
    ``float``. ``exemplar`` is the latest exemplar of a counter series (None for gauges
    and when no exemplar source is installed).
    """

    label_names: tuple[str, ...]
    label_values: tuple[str, ...]
    value: int | float
    created: float
    exemplar: Exemplar | None = None


@through_slots(ValueSnapshot)
def value_snapshot(
    label_names: tuple[str, ...],
    label_values: tuple[str, ...],
    value: int | float,
    created: float,
    exemplar: Exemplar | None = None,
) -> ValueSnapshot:
    """The same object as ``ValueSnapshot(...)``, built through its slots instead of the
    frozen dataclass ``__init__`` (about a third of the cost, see ``_frozen``): what
    collections of many series use."""
    return ValueSnapshot(label_names, label_values, value, created, exemplar)


@dataclass(frozen=True, slots=True)
class NativeBuckets:
    """The exponential buckets of one native histogram series (see ``metrics.native``).

    ``schema`` (-4..8) sets the resolution: bucket ``i`` of ``positive`` holds the values
    in ``(base**(i-1), base**i]`` with ``base = 2 ** (2 ** -schema)``; bucket ``i`` of
    ``negative`` those in ``[-base**i, -base**(i-1))``; ``zero_count`` counts the values
    with ``|v| <= zero_threshold``. ``positive`` and ``negative`` hold ``(index, count)``
    pairs, ascending by index, counts > 0 only. ``exemplars`` are the latest exemplars of
    the series (at most ``metrics.native.MAX_NATIVE_EXEMPLARS``), oldest first.
    """

    schema: int
    zero_threshold: float
    zero_count: int
    positive: tuple[tuple[int, int], ...]
    negative: tuple[tuple[int, int], ...]
    exemplars: tuple[Exemplar, ...] = ()

    @property
    def count(self) -> int:
        """Observations in every bucket, the zero bucket included."""
        return (
            self.zero_count
            + sum(count for _, count in self.positive)
            + sum(count for _, count in self.negative)
        )

    def bounds(self, index: int, negative: bool = False) -> tuple[float, float]:
        """``(lower, upper)`` of bucket *index* of the positive (or *negative*) side."""
        return bucket_bounds(index, self.schema, negative)

    def quantile(self, q: float) -> float:
        """The *q*-quantile (0..1) as Prometheus' ``histogram_quantile`` estimates it
        from these buckets (linear interpolation inside a bucket); NaN when empty."""
        return native_quantile(
            q, self.schema, self.zero_threshold, self.zero_count, self.positive, self.negative
        )

    def plus(self, other: NativeBuckets) -> NativeBuckets:
        """The buckets of both (e.g. two label sets summed): at the lower schema and the
        wider zero bucket, which absorbs the buckets below its threshold; no exemplars."""
        merged = _combine(self, other, 1)
        assert merged is not None  # adding never gives a negative count
        return merged

    def minus(self, earlier: NativeBuckets) -> NativeBuckets | None:
        """The observations since *earlier* (a previous reading of the same series), at
        the lower schema and the wider zero bucket; None when *earlier* holds counts
        this one does not (the series was reset meanwhile)."""
        return _combine(self, earlier, -1)


def _aligned(
    buckets: NativeBuckets, schema: int, threshold: float
) -> tuple[int, dict[int, int], dict[int, int]]:
    """Zero count and sides of *buckets* at *schema* (<= its own) and *threshold*
    (>= its own): buckets wholly inside the zero bucket join it."""
    zero = buckets.zero_count
    sides = []
    for side in (buckets.positive, buckets.negative):
        reduced = reduce_buckets(dict(side), buckets.schema - schema)
        for index in [i for i in reduced if upper_bound(i, schema) <= threshold]:
            zero += reduced.pop(index)
        sides.append(reduced)
    return zero, sides[0], sides[1]


def _combine(a: NativeBuckets, b: NativeBuckets, sign: int) -> NativeBuckets | None:
    schema = min(a.schema, b.schema)
    threshold = max(a.zero_threshold, b.zero_threshold)
    zero_a, pos_a, neg_a = _aligned(a, schema, threshold)
    zero_b, pos_b, neg_b = _aligned(b, schema, threshold)
    zero = zero_a + sign * zero_b
    out: list[tuple[tuple[int, int], ...]] = []
    for first, second in ((pos_a, pos_b), (neg_a, neg_b)):
        side = dict(first)
        for index, count in second.items():
            side[index] = side.get(index, 0) + sign * count
        if zero < 0 or any(count < 0 for count in side.values()):
            return None
        out.append(tuple(sorted((i, c) for i, c in side.items() if c)))
    return NativeBuckets(schema, threshold, zero, out[0], out[1])


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """One histogram series with cumulative bucket counts.

    ``bounds`` are the upper bounds, ascending, ending with ``inf``; ``counts[i]`` is the
    number of observations ``<= bounds[i]`` (so ``counts[-1] == count``). ``exemplars``
    is empty or aligned with ``bounds`` (latest exemplar per bucket, None where absent).
    ``native`` holds the exponential buckets of a native histogram (None for a classic
    one); a native histogram without classic buckets has ``bounds == (inf,)``.
    """

    label_names: tuple[str, ...]
    label_values: tuple[str, ...]
    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float
    count: int
    created: float
    exemplars: tuple[Exemplar | None, ...] = ()
    native: NativeBuckets | None = None

    def quantile(self, q: float) -> float:
        """The *q*-quantile (0..1) Prometheus' ``histogram_quantile`` gives for this
        series: from the native buckets when present, else from the classic ones (linear
        interpolation in the bucket where the rank falls, the first bucket starting at 0
        when its bound is positive, the largest finite bound when the rank falls in the
        ``+Inf`` bucket). NaN without observations or for a NaN *q*."""
        if self.native is not None:
            return self.native.quantile(q)
        return classic_quantile(q, self.bounds, self.counts)


@through_slots(HistogramSnapshot)
def histogram_snapshot(
    label_names: tuple[str, ...],
    label_values: tuple[str, ...],
    bounds: tuple[float, ...],
    counts: tuple[int, ...],
    sum: float,
    count: int,
    created: float,
    exemplars: tuple[Exemplar | None, ...] = (),
    native: NativeBuckets | None = None,
) -> HistogramSnapshot:
    """The same object as ``HistogramSnapshot(...)``, built through its slots (see
    :func:`value_snapshot`)."""
    return HistogramSnapshot(
        label_names, label_values, bounds, counts, sum, count, created, exemplars, native
    )


def classic_quantile(q: float, bounds: tuple[float, ...], cumulative: tuple[int, ...]) -> float:
    """Prometheus' ``histogram_quantile`` over classic cumulative buckets."""
    if q != q or not cumulative or cumulative[-1] == 0:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    rank = q * cumulative[-1]
    previous = 0
    for position, (bound, seen) in enumerate(zip(bounds, cumulative, strict=True)):
        if seen >= rank:
            if bound == math.inf:
                return bounds[-2] if len(bounds) > 1 else math.nan
            if position == 0:
                if bound <= 0:
                    return bound
                low = 0.0
            else:
                low = bounds[position - 1]
            inside = seen - previous
            if inside == 0:
                return low
            return low + (bound - low) * ((rank - previous) / inside)
        previous = seen
    return math.nan


@dataclass(frozen=True, slots=True)
class SummarySnapshot:
    """One summary series: ``quantiles`` as ``((q, value), ...)`` plus sum and count.

    Quantile values are NaN while the series holds no observation.
    """

    label_names: tuple[str, ...]
    label_values: tuple[str, ...]
    quantiles: tuple[tuple[float, float], ...]
    sum: float
    count: int
    created: float
