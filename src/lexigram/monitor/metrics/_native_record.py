"""The record of a native histogram series in a shared file of the multi-process mode.

One record per series (``metrics._shared_native`` writes it), of a fixed size set by
the bucket limit ``m`` (``max_buckets``) and the number ``n`` of classic buckets (0
without them), ``n + 2 * m + 6`` float64 cells (2.6 KiB at the default 160 buckets and
no classic buckets):

- ``n`` classic bucket counts;
- a sequence number (odd while the schema or zero threshold changes), the schema, the
  zero threshold;
- ``m + 1`` count cells: the zero bucket's count, then one cell per held bucket;
- ``m + 1`` code cells: for cell ``j`` the bucket it counts, ``2 * index + 1`` on the
  negative side, ``2 * index`` on the positive side, NaN for a free cell;
- the sum.

A series holds at most ``m`` buckets (the limit lowers its schema first), so the
record never runs out of cells. A bucket gets its code before its count moves; a
schema change (drain, rescale, re-add) runs between two increments of the sequence
number, so a reader in another process (:func:`read_record`) retries a copy taken while
it changed. A worker killed in the middle of a schema change leaves an odd sequence:
its record is read as it is (buckets already moved may be missing from that worker's
last numbers).

Here: the layout (:func:`native_cells`), a record's cells for given buckets (what the
archive writes, :func:`record_values`), their reading back (:func:`record_parts`), a
consistent copy of another process's record (:func:`read_record`) and the snapshot of
merged records (:func:`merged_snapshot`).
"""

from __future__ import annotations

import math
import time
from itertools import accumulate
from typing import Any, Final

from ._native_merge import Part
from .snapshot import Exemplar, HistogramSnapshot, NativeBuckets

__all__ = [
    "HEAD_CELLS",
    "READ_ATTEMPTS",
    "merged_snapshot",
    "native_cells",
    "read_record",
    "record_parts",
    "record_values",
]

#: Cells between the classic counts and the bucket counts: sequence, schema, threshold.
HEAD_CELLS: Final = 3
#: Copies of a record a reader tries while its writer keeps changing the schema.
READ_ATTEMPTS: Final = 100


def native_cells(classic: int, max_buckets: int) -> int:
    """Cells of one series' record: *classic* counts, the head, ``max_buckets + 1``
    counts and codes, the sum."""
    return classic + HEAD_CELLS + 2 * (max_buckets + 1) + 1


def record_values(
    classic: list[int] | list[float], total: float, buckets: NativeBuckets, max_buckets: int
) -> list[float]:
    """The cells of a record holding *buckets* (at most *max_buckets* buckets), the
    *classic* counts and the sum *total* (what the archive writes)."""
    held = [(2 * i, c) for i, c in buckets.positive] + [(2 * i + 1, c) for i, c in buckets.negative]
    if len(held) > max_buckets:
        raise ValueError(f"{len(held)} buckets do not fit a record of {max_buckets}")
    counts = [float(buckets.zero_count)] + [float(c) for _, c in held]
    codes = [math.nan] + [float(code) for code, _ in held]
    spare = max_buckets + 1 - len(counts)
    return [
        *map(float, classic),
        0.0,
        float(buckets.schema),
        buckets.zero_threshold,
        *counts,
        *([0.0] * spare),
        *codes,
        *([math.nan] * spare),
        float(total),
    ]


def record_parts(
    values: list[float], classic: int, max_buckets: int
) -> tuple[list[int], float, NativeBuckets]:
    """``(classic counts, sum, buckets)`` of a record's cells *values*."""
    head = classic
    first = head + HEAD_CELLS
    counts = values[first : first + max_buckets + 1]
    codes = values[first + max_buckets + 1 : first + 2 * max_buckets + 2]
    positive: list[tuple[int, int]] = []
    negative: list[tuple[int, int]] = []
    for count, code in zip(counts[1:], codes[1:], strict=True):
        if count > 0 and code == code:
            number = int(code)
            (negative if number & 1 else positive).append((number >> 1, int(count)))
    buckets = NativeBuckets(
        int(values[head + 1]),
        values[head + 2],
        int(counts[0]),
        tuple(sorted(positive)),
        tuple(sorted(negative)),
    )
    return [int(c) for c in values[:classic]], values[-1], buckets


def merged_snapshot(
    label_names: tuple[str, ...],
    label_values: tuple[str, ...],
    classic_bounds: list[str] | None,
    merged: Part,
    exemplars: list[Exemplar | None],
    created: float,
) -> HistogramSnapshot:
    """The snapshot of a merged native series: *merged* (classic counts, sum, buckets),
    *exemplars* by slot (the classic buckets', then the ring's)."""
    classic, total, buckets = merged
    width = len(classic)
    ring = tuple(e for e in exemplars[width:] if e is not None)
    native = NativeBuckets(
        buckets.schema,
        buckets.zero_threshold,
        buckets.zero_count,
        buckets.positive,
        buckets.negative,
        ring,
    )
    if classic_bounds is None:
        bounds: tuple[float, ...] = (math.inf,)
        counts: tuple[int, ...] = (native.count,)
    else:
        bounds = tuple(float(bound) for bound in classic_bounds)
        counts = tuple(accumulate(classic))
    return HistogramSnapshot(
        label_names,
        label_values,
        bounds,
        counts,
        total,
        counts[-1],
        created,
        tuple(exemplars[:width]) if exemplars and classic_bounds is not None else (),
        native,
    )


def read_record(cells: Any, first: int, count: int, classic: int) -> list[float]:
    """A consistent copy of the record at *first* (*count* cells) of another process's
    *cells*: taken again while its sequence number is odd or moved during the copy (at
    most :data:`READ_ATTEMPTS` times, about 0.1 s, then as it is)."""
    at = first + classic
    values: list[float] = []
    for attempt in range(READ_ATTEMPTS):
        before = cells[at]
        values = cells[first : first + count].tolist()
        if before % 2 == 0 and values[classic] == before and cells[at] == before:
            return values
        # let the writer finish: another thread of this process needs the GIL for it
        time.sleep(0 if attempt < 10 else 0.001)
    return values
