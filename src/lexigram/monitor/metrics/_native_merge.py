"""Merging native histogram buckets of several processes into one set of buckets.

:func:`merge_native` combines the :class:`~.snapshot.NativeBuckets` of one series as
several processes kept it, the way Prometheus adds native histograms:

- every part is brought to the lowest schema among them (a schema ``d`` steps higher
  maps bucket ``i`` to ``ceil(i / 2**d)``: buckets merge, counts are kept);
- the zero bucket takes the widest zero threshold; a bucket that lies inside it, or
  that the threshold cuts through (whose lower bound is below it), is absorbed into the
  zero bucket, and the threshold grows to that bucket's upper bound;
- the counts of equal buckets are summed.

The result is bounded like a series: past *max_buckets* positive plus negative
buckets, the schema is lowered further (down to -4), then the zero bucket widens over
the bucket nearest zero, until it fits. Exemplars are not merged here (see
:func:`newest_exemplars`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._exponential import MIN_SCHEMA, upper_bound
from .snapshot import NativeBuckets

__all__ = ["Part", "merge_native", "merge_parts", "newest_exemplars"]

#: One process's native series: classic counts, sum, native buckets.
Part = tuple[list[int], float, NativeBuckets]
#: An exemplar as the shared files hold it: value, timestamp, trace id, span id.
Raw = tuple[float, float, str, str]


def _lowered(buckets: Iterable[tuple[int, int]], steps: int, into: dict[int, int]) -> None:
    """Add *buckets* to *into*, their indices *steps* schemas lower (``ceil(i/2**s)``)."""
    for index, count in buckets:
        target = -((-index) >> steps) if steps else index
        into[target] = into.get(target, 0) + count


def _absorb(
    schema: int, threshold: float, zero: int, sides: tuple[dict[int, int], dict[int, int]]
) -> tuple[float, int]:
    """Move every bucket whose lower bound (in magnitude) is below *threshold* into the
    zero bucket, widening the threshold to the upper bound of a bucket it cuts through;
    returns ``(threshold, zero count)``."""
    changed = True
    while changed:
        changed = False
        for side in sides:
            for index in sorted(side):
                if upper_bound(index - 1, schema) >= threshold:
                    break
                zero += side.pop(index)
                high = upper_bound(index, schema)
                if high > threshold:
                    threshold = high
                    changed = True
    return threshold, zero


def merge_native(parts: Sequence[NativeBuckets], max_buckets: int) -> NativeBuckets:
    """One :class:`NativeBuckets` holding the observations of every part (see the
    module docstring); at most *max_buckets* (>= 1) positive plus negative buckets.
    Raises ValueError for no parts."""
    if not parts:
        raise ValueError("merge_native needs at least one part")
    schema = min(part.schema for part in parts)
    threshold = max(part.zero_threshold for part in parts)
    positive: dict[int, int] = {}
    negative: dict[int, int] = {}
    zero = 0
    for part in parts:
        steps = part.schema - schema
        _lowered(part.positive, steps, positive)
        _lowered(part.negative, steps, negative)
        zero += part.zero_count
    threshold, zero = _absorb(schema, threshold, zero, (positive, negative))
    while len(positive) + len(negative) > max_buckets:
        if schema > MIN_SCHEMA:
            schema -= 1
            lower_positive: dict[int, int] = {}
            lower_negative: dict[int, int] = {}
            _lowered(positive.items(), 1, lower_positive)
            _lowered(negative.items(), 1, lower_negative)
            positive, negative = lower_positive, lower_negative
        else:
            nearest = min(min(side) for side in (positive, negative) if side)
            threshold = max(threshold, upper_bound(nearest, schema))
        threshold, zero = _absorb(schema, threshold, zero, (positive, negative))
    return NativeBuckets(
        schema,
        threshold,
        zero,
        tuple(sorted((i, c) for i, c in positive.items() if c > 0)),
        tuple(sorted((i, c) for i, c in negative.items() if c > 0)),
    )


def merge_parts(parts: Sequence[Part], max_buckets: int) -> Part:
    """Classic counts and sums summed, buckets merged by :func:`merge_native`."""
    classic = [sum(counts) for counts in zip(*(part[0] for part in parts), strict=True)]
    total = sum(part[1] for part in parts)
    return classic, total, merge_native([part[2] for part in parts], max_buckets)


def newest_exemplars(entries: Iterable[Raw | None], keep: int) -> list[Raw]:
    """The *keep* newest of *entries* ``(value, timestamp, trace id, span id)`` (None
    skipped), oldest first."""
    pooled = sorted((entry for entry in entries if entry is not None), key=lambda e: e[1])
    return pooled[-keep:] if keep > 0 else []
