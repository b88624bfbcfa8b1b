"""One series of a native histogram: its buckets in reusable slots, the schema change.

See ``metrics.native`` for the instrument and ``metrics._update`` for the compiled
update that reads ``lookup``, ``scale``, ``lowers`` and ``slots`` lock-free.
Memory per series: at most ``max_buckets + 1`` counts in ``slots`` (freed slots are
reused) and as many lower bounds and classic indexes in ``lowers`` and ``classes``, two
dicts of at most ``max_buckets`` entries together (and ``lookup``, a copy of the
positive one), :data:`MAX_NATIVE_EXEMPLARS` exemplars, the classic counts when kept and
the ``max_observations`` recent values.
"""

from __future__ import annotations

import math
import sys
import threading
from bisect import bisect_left
from collections import deque
from typing import Any, Final

from ._exemplars import RawExemplar, materialize
from ._exponential import MIN_SCHEMA, index_of, upper_bound
from ._update import NATIVE_SHIFT
from .snapshot import NativeBuckets

__all__ = ["MAX_NATIVE_EXEMPLARS", "NativeSeries"]

_INF: Final = math.inf
_SMALLEST_NORMAL: Final = sys.float_info.min

#: Latest exemplars kept per native series (client_golang's default as well).
MAX_NATIVE_EXEMPLARS: Final = 10


class NativeSeries:
    """One native series: classic counts (when kept), the native buckets, the sum.

    ``positive`` / ``negative`` map a bucket index to the position of its count in
    ``slots``; ``zero`` is ``{0: 0}`` (the zero bucket's count is ``slots[0]``);
    ``lookup`` holds ``positive`` again with each index plus :data:`NATIVE_SHIFT`, for
    the compiled update.
    ``scale`` (``2.0 ** schema``), ``schema`` and ``threshold`` say how a value finds
    its bucket. ``lowers[j]`` is the exclusive lower bound of the positive bucket whose
    count is ``slots[j]`` (the zero threshold, or a classic bound inside the bucket,
    where that is higher; ``inf`` for other slots), and ``classes[j]`` the classic
    bucket of every value above it (``bounds``: the classic bounds, empty without
    classic buckets); both are written before the bucket enters ``positive``: the
    compiled update checks a value against ``lowers[slot]`` (see ``metrics._update``).
    A schema change first drains the bucket dicts (:meth:`drain`), then replaces them
    and the scale in one uninterruptible run (:meth:`rescale`). Slots of
    drained buckets are reused, so ``slots`` never holds more than ``max_buckets + 1``
    counts. Subclasses keep ``slots`` elsewhere (the shared layout's cells) by
    overriding :meth:`_allocate` and :meth:`_release`.
    """

    __slots__ = (
        "_free",
        "bounds",
        "classes",
        "counts",
        "created",
        "exemplars",
        "lock",
        "lookup",
        "lowers",
        "native_exemplars",
        "negative",
        "positive",
        "recent",
        "scale",
        "schema",
        "slots",
        "sum",
        "threshold",
        "zero",
    )

    def __init__(
        self,
        classic: tuple[float, ...],
        created: float,
        max_observations: int,
        schema: int,
        threshold: float,
    ) -> None:
        self.lock = threading.Lock()
        self.bounds = classic
        self.counts = [0] * len(classic)
        self.sum = 0.0
        self.recent: deque[float] = deque(maxlen=max_observations)
        self.created = created
        self.exemplars: list[RawExemplar | None] | None = None
        self.native_exemplars: deque[RawExemplar] = deque(maxlen=MAX_NATIVE_EXEMPLARS)
        self.slots: Any = [0]
        self.lowers: list[float] = [_INF]
        self.classes: list[int] = [0]
        self._free: list[int] = []
        self.zero: dict[int, int] = {0: 0}
        self.negative: dict[int, int] = {}
        self.positive: dict[int, int] = {}
        self.lookup: dict[int, int] = {}
        self.scale = 2.0**schema
        self.schema = schema
        self.threshold = threshold

    def keep_exemplar(self, index: int, exemplar: RawExemplar) -> None:
        """Keep *exemplar* among the latest of the series and, for classic bucket
        *index* (-1: none), as that bucket's latest."""
        self.native_exemplars.append(exemplar)
        if index >= 0:
            exemplars = self.exemplars
            if exemplars is None:
                exemplars = self.exemplars = [None] * len(self.counts)
            exemplars[index] = exemplar

    def locate(self, value: float) -> tuple[int, dict[int, int]]:
        """``(index, buckets)`` of *value* at the series' current schema (exact). The
        bucket dicts, schema and threshold are read in one run (no call between), so
        they belong together; dicts replaced meanwhile are drained (KeyError)."""
        positive = self.positive
        negative = self.negative
        schema = self.schema
        threshold = self.threshold
        if -threshold <= value <= threshold:
            return 0, self.zero
        return index_of(value, schema), (positive if value > 0 else negative)

    def add(self, buckets: dict[int, int], index: int, count: int) -> None:
        """Add *count* to bucket *index* of *buckets*, giving it a slot when new
        (caller holds the lock). A new bucket's lower bound and classic index are
        written first; it then enters its dict and ``lookup`` in one uninterruptible
        step, and the count is added in one more."""
        if index not in buckets:
            slot = self._allocate(index, buckets is self.negative)
            lowers, classes = self.lowers, self.classes
            while len(lowers) <= slot:
                lowers.append(_INF)
                classes.append(0)
            positive = buckets is self.positive
            # other buckets are not looked up through ``lookup``
            low, classic = self._fast_range(index) if positive else (_INF, 0)
            classes[slot] = classic
            lowers[slot] = low
            buckets[index] = slot
            if positive:
                self.lookup[index + NATIVE_SHIFT] = slot
        self.slots[buckets[index]] += count

    def _fast_range(self, index: int) -> tuple[float, int]:
        """``(lower, classic)`` for positive bucket *index*: values above *lower* (the
        bucket's own lower bound, raised to the zero threshold and to a classic bound
        inside the bucket) take the compiled fast path, all of them in classic bucket
        *classic* (0 without classic buckets); ``inf`` sends every value to the exact
        path."""
        upper = upper_bound(index, self.schema)
        low = max(upper_bound(index - 1, self.schema), self.threshold)
        classic = 0
        bounds = self.bounds
        if bounds:
            classic = bisect_left(bounds, upper)
            if classic and bounds[classic - 1] > low:
                low = bounds[classic - 1]
        if low < _SMALLEST_NORMAL:
            low = _INF  # a subnormal bound is rounded: the exact path decides
        return low, classic

    def _allocate(self, index: int, negative: bool) -> int:
        """A zeroed slot for a new bucket."""
        if self._free:
            return self._free.pop()
        self.slots.append(0)
        return len(self.slots) - 1

    def _release(self, slot: int) -> None:
        """Give back the slot of a drained bucket (nobody can reach it any more)."""
        self.slots[slot] = 0
        self._free.append(slot)

    def drain(self) -> list[tuple[list[tuple[int, Any]], bool]]:
        """Empty the bucket dicts one ``pop`` at a time (caller holds the lock): an
        update racing with it either incremented a bucket before its pop or raises
        ``KeyError`` and retries under the lock. Returns ``(buckets, negative)``."""
        drained: list[tuple[list[tuple[int, Any]], bool]] = []
        lookup = self.lookup
        for side, negative in ((self.positive, False), (self.negative, True)):
            taken: list[tuple[int, Any]] = []
            for key in list(side):
                if not negative:
                    del lookup[key + NATIVE_SHIFT]
                slot = side.pop(key)
                taken.append((key, self.slots[slot]))
                self._release(slot)
            drained.append((taken, negative))
        return drained

    def rescale(self, schema: int, threshold: float) -> None:
        """Switch to *schema* and *threshold* with empty buckets (caller holds the lock,
        after :meth:`drain`)."""
        positive: dict[int, int] = {}
        negative: dict[int, int] = {}
        lookup: dict[int, int] = {}
        factor = 2.0**schema
        # one uninterruptible run (no calls), the dicts last
        self.scale = factor
        self.schema = schema
        self.threshold = threshold
        self.negative = negative
        self.positive = positive
        self.lookup = lookup

    def shrink(self) -> None:
        """Halve the resolution (schema - 1), or at the lowest schema widen the zero
        bucket over the bucket nearest zero; caller holds the lock."""
        schema, threshold = self.schema, self.threshold
        if schema > MIN_SCHEMA:
            new_schema, new_threshold = schema - 1, threshold
        else:
            nearest = [min(side) for side in (self.positive, self.negative) if side]
            if not nearest:
                return
            new_schema = schema
            new_threshold = max(threshold, upper_bound(min(nearest), schema))
        drained = self.drain()
        self.rescale(new_schema, new_threshold)
        for buckets, negative in drained:
            target = self.negative if negative else self.positive
            for index, count in buckets:
                if new_schema != schema:
                    self.add(target, (index + 1) >> 1, count)
                elif upper_bound(index, schema) <= new_threshold:
                    self.add(self.zero, 0, count)
                else:
                    self.add(target, index, count)

    def copy(self) -> tuple[list[int], float, NativeBuckets]:
        """Classic counts, sum and native buckets, consistent with each other."""
        with self.lock:
            positive = {**self.positive}
            negative = {**self.negative}
            slots = self.slots[:]
            counts = self.counts[:]
            total = self.sum
            schema = self.schema
            threshold = self.threshold
        exemplars = tuple(materialize(e) for e in list(self.native_exemplars))
        return (
            counts,
            total,
            NativeBuckets(
                schema,
                threshold,
                int(slots[0]),
                tuple(sorted((i, int(slots[j])) for i, j in positive.items() if slots[j])),
                tuple(sorted((i, int(slots[j])) for i, j in negative.items() if slots[j])),
                tuple(e for e in exemplars if e is not None),
            ),
        )
