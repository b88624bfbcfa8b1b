"""Exponential (native) histogram buckets: the index rule, the bounds, the reduction,
the span/delta form and the quantile estimate of Prometheus' native histograms.

Schema ``n`` in -4..8 fixes ``base = 2 ** (2 ** -n)``; positive bucket ``i`` holds the
values in ``(base ** (i - 1), base ** i]`` (upper bound inclusive), negative bucket
``i`` the values in ``[-base ** i, -base ** (i - 1))``; values with ``|v| <=``
the zero threshold go to the zero bucket. The index is exact (no ``log``): ``v = f *
2 ** e`` by :func:`math.frexp`, then for ``n > 0`` the smallest ``j`` with ``B_j >= f``
in the table ``B_j = 2 ** (j / 2 ** n - 1)`` gives ``i = j + (e - 1) * 2 ** n``, and for
``n <= 0`` the key ``k = e`` (``e - 1`` when ``f == 0.5``) gives ``i = ceil(k / 2 **
-n)``, an integer shift. ``+inf`` gets the index of the largest float plus one.

Each ``B_j`` is the largest float not above the exact bound (checked in integers at
table build), so a float ``f`` has ``B_j >= f`` exactly when the real bound is: a value
on a bound lands in the lower bucket, its next float up in the next one.

The compiled update (``metrics._update``) looks a positive value up at ``ceil(log2(v)
* 2 ** n + 1e-9)``: ``log2`` is off by far less than the nudge, so that is the value's
index or the next one, and a comparison with the next bucket's lower bound
(:func:`upper_bound` of the index below) tells which; the values it cannot place take
:func:`index_of`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import Final

from ..defaults import DEFAULT_NATIVE_MAX_BUCKETS, DEFAULT_NATIVE_SCHEMA

__all__ = [
    "DEFAULT_MAX_BUCKETS",
    "DEFAULT_SCHEMA",
    "DEFAULT_ZERO_THRESHOLD",
    "MAX_SCHEMA",
    "MIN_SCHEMA",
    "bucket_bounds",
    "index_of",
    "infinite_index",
    "quantile",
    "reduce_buckets",
    "spans_and_deltas",
    "upper_bound",
]

MIN_SCHEMA: Final = -4
MAX_SCHEMA: Final = 8
#: Schema 3: base 2 ** (1/8) = 1.0905, at most 4.4 % off the bucket's middle.
DEFAULT_SCHEMA: Final = DEFAULT_NATIVE_SCHEMA
#: Buckets (positive plus negative) one series keeps before its schema is reduced.
DEFAULT_MAX_BUCKETS: Final = DEFAULT_NATIVE_MAX_BUCKETS
#: client_golang's default zero-bucket half-width, 2 ** -128 (always above 0: a native
#: histogram sent with threshold 0 is read as a classic one by Prometheus 2.42).
DEFAULT_ZERO_THRESHOLD: Final = 2.0**-128

_MAX_FLOAT: Final = 1.7976931348623157e308
_TABLES: dict[int, tuple[float, ...]] = {}


def _bound_below(j: int, per: int) -> float:
    """The largest float ``f`` with ``f ** per <= 2 ** (j - per)`` (``0 <= j < per``,
    *per* a power of two): ``2 ** (j / per - 1)`` rounded down, decided in integers."""
    guess: float = 2.0 ** (j / per - 1.0)

    def fits(f: float) -> bool:
        # f = n / d: f**per <= 2**(j - per)  <=>  n**per * 2**(per - j) <= d**per
        n, d = f.as_integer_ratio()
        return bool(pow(n, per) << (per - j) <= pow(d, per))

    while not fits(guess):
        guess = math.nextafter(guess, 0.0)
    while fits(up := math.nextafter(guess, 1.0)):
        guess = up
    return guess


def fractions(schema: int) -> tuple[float, ...]:
    """``B_j = 2 ** (j / 2 ** schema - 1)`` for ``j < 2 ** schema``, each rounded down
    to a float (``(0.5,)`` for a schema <= 0): the mantissa bounds the index rule
    bisects. Built once per schema (at most 256 floats)."""
    table = _TABLES.get(schema)
    if table is None:
        if schema <= 0:
            table = (0.5,)
        else:
            per = 1 << schema
            table = tuple(_bound_below(j, per) for j in range(per))
        _TABLES[schema] = table
    return table


def index_of(value: float, schema: int) -> int:
    """The bucket index of ``|value|`` (> 0, finite or infinite) at *schema*."""
    magnitude = abs(value)
    if magnitude == math.inf:
        return infinite_index(schema)
    frac, exp = math.frexp(magnitude)
    if schema > 0:
        return bisect_left(fractions(schema), frac) + (exp - 1) * (1 << schema)
    k = exp - 1 if frac == 0.5 else exp
    shift = -schema
    return (k + (1 << shift) - 1) >> shift


def infinite_index(schema: int) -> int:
    """The index of ``±inf``: the largest finite float's index plus one."""
    return index_of(_MAX_FLOAT, schema) + 1


def upper_bound(index: int, schema: int) -> float:
    """The upper bound of positive bucket *index* (``inf`` past the float range)."""
    if schema > 0:
        per = 1 << schema
        frac = fractions(schema)[index & (per - 1)]
        exp = (index >> schema) + 1
        if exp > 1024:
            return math.inf
        return math.ldexp(frac, exp) if exp >= -1073 else 0.0
    exp = index << -schema
    if exp >= 1024:
        return math.inf
    return math.ldexp(1.0, exp) if exp >= -1074 else 0.0


def bucket_bounds(index: int, schema: int, negative: bool = False) -> tuple[float, float]:
    """``(lower, upper)`` of bucket *index*: ``(base**(i-1), base**i]`` for a positive
    bucket, ``[-base**i, -base**(i-1))`` for a negative one."""
    low, high = upper_bound(index - 1, schema), upper_bound(index, schema)
    return (-high, -low) if negative else (low, high)


def reduce_buckets(buckets: Mapping[int, int], steps: int = 1) -> dict[int, int]:
    """*buckets* at a schema *steps* lower: index ``i`` becomes ``ceil(i / 2)`` per step
    (buckets ``2j - 1`` and ``2j`` merge into ``j``)."""
    reduced: dict[int, int] = {}
    for index, count in buckets.items():
        target = index
        for _ in range(steps):
            target = (target + 1) >> 1
        reduced[target] = reduced.get(target, 0) + count
    return reduced


def spans_and_deltas(
    buckets: Iterable[tuple[int, int]], gap_fill: int = 2
) -> tuple[list[tuple[int, int]], list[int]]:
    """The protobuf form of one side's ``(index, count)`` pairs (ascending): spans
    ``(offset, length)`` (the first offset is the first index, later ones the empty
    buckets since the previous span) and one count delta per bucket in the spans.
    Gaps of at most *gap_fill* empty buckets are written as zero-count buckets instead
    of a new span (as client_golang does)."""
    spans: list[tuple[int, int]] = []
    deltas: list[int] = []
    previous_index: int | None = None
    previous_count = 0
    offset = length = 0
    for index, count in buckets:
        if previous_index is None:
            offset, length = index, 1
        else:
            gap = index - previous_index - 1
            if gap <= gap_fill:
                for _ in range(gap):
                    deltas.append(-previous_count)
                    previous_count = 0
                length += gap + 1
            else:
                spans.append((offset, length))
                offset, length = gap, 1
        deltas.append(count - previous_count)
        previous_count = count
        previous_index = index
    if previous_index is not None:
        spans.append((offset, length))
    return spans, deltas


def quantile(
    q: float,
    schema: int,
    zero_threshold: float,
    zero_count: int,
    positive: Iterable[tuple[int, int]],
    negative: Iterable[tuple[int, int]],
) -> float:
    """The *q*-quantile Prometheus' ``histogram_quantile`` returns for these buckets.

    Linear interpolation inside the bucket where the rank falls (Prometheus 2.42's
    rule), counting the negative buckets from the most negative, then the zero bucket
    (``[-threshold, threshold]``, from 0 when only positive buckets exist, up to 0 when
    only negative ones do), then the positive buckets. NaN without observations or for
    a NaN *q*; ``-inf`` below 0, ``+inf`` above 1.
    """
    if q != q:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    pos = sorted((i, c) for i, c in positive if c > 0)
    neg = sorted(((i, c) for i, c in negative if c > 0), reverse=True)
    total = zero_count + sum(c for _, c in pos) + sum(c for _, c in neg)
    if total == 0:
        return math.nan
    rank = q * total
    ordered: list[tuple[float, float, int]] = []
    for index, count in neg:
        low, high = bucket_bounds(index, schema, negative=True)
        ordered.append((low, high, count))
    if zero_count:
        low, high = -zero_threshold, zero_threshold
        if not neg and pos:
            low = 0.0
        elif not pos and neg:
            high = 0.0
        ordered.append((low, high, zero_count))
    for index, count in pos:
        low, high = bucket_bounds(index, schema)
        ordered.append((low, high, count))
    seen = 0
    for low, high, count in ordered:
        seen += count
        if seen >= rank:
            return low + (high - low) * ((rank - (seen - count)) / count)
    low, high, _ = ordered[-1]
    return high
