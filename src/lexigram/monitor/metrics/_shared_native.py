"""Native histograms in the multi-process mode: their buckets in the shared file.

A multi-process collector makes :class:`SharedNativeHistogram` (or
:class:`SharedClassicNativeHistogram`, with classic buckets alongside) when native
buckets are asked for (``_shared_series.shared_histogram`` picks the class this module
registers when the package is imported). Its updates are the native updates of
``metrics._update`` compiled for the :data:`~._update.SHARED` layout: the bucket counts,
the classic counts and the sum are cells of this process's file. Everything else is
:class:`~.native.NativeHistogram`'s: the index rule, the bucket limit and the schema
reduction, the reads of this process's own numbers.

Memory: one record per series, of a fixed size set by the bucket limit ``m`` and the
``n`` classic buckets, ``n + 2 * m + 6`` float64 cells (``metrics._native_record``
describes it), plus the in-process bucket dicts (at most ``m`` entries): a series holds
at most ``max_buckets`` buckets (the limit lowers its schema first), so the record
never runs out of cells. A bucket gets its code before its
count moves; a schema change (drain, rescale, re-add) runs between two increments of
the record's sequence number, so a reader in another process retries a copy taken
while it changed.

Exemplars: a second record per series, made on its first exemplar, with ``n``
per-classic-bucket slots and :data:`~.native.MAX_NATIVE_EXEMPLARS` slots written in
turn (a ring); the merge keeps the newest per classic bucket and the newest
:data:`~.native.MAX_NATIVE_EXEMPLARS` of every ring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from ._exemplars import RawExemplar, materialize
from ._native_record import HEAD_CELLS, native_cells
from ._native_series import MAX_NATIVE_EXEMPLARS, NativeSeries
from ._shared import Cells, local_cells
from ._shared_series import NATIVE_HISTOGRAMS, Shared, _SharedInstrument, share_exemplar
from ._update import SHARED, compiled
from .bound import NATIVE_PAIRS, BoundPair
from .native import BoundClassicNativeHistogram, BoundNativeHistogram, NativeHistogram
from .snapshot import NativeBuckets

__all__ = [
    "SharedClassicNativeHistogram",
    "SharedNativeHistogram",
    "SharedNativeSeries",
]


class SharedNativeSeries(NativeSeries):
    """A native series whose counts, sum and bucket codes are cells of the shared file
    (see the module docstring); the bucket dicts, locks and exemplars are in process."""

    __slots__ = ("_capacity", "_classic", "_codes", "_fresh", "_head", "_home", "_key", "_raw",
                 "_ring", "_slots")  # fmt: skip

    def __init__(
        self,
        classic: tuple[float, ...],
        created: float,
        max_observations: int,
        schema: int,
        threshold: float,
        capacity: int,
        home: Shared,
    ) -> None:
        self._raw: Cells = local_cells(0)
        self._classic = len(classic)
        self._capacity = capacity
        self._home = home
        self._key = b""
        self._slots: Cells | None = None
        self._fresh = 1
        self._ring = 0
        super().__init__(classic, created, max_observations, schema, threshold)

    # the cells ------------------------------------------------------------------------

    @property
    def cells(self) -> Cells:
        """The record's cells (empty until the record is made)."""
        return self._raw

    @cells.setter
    def cells(self, cells: Cells) -> None:
        """Take *cells* as the record: lay out the head and the codes of the buckets held
        (their counts start at the cells' values: zero in a new record)."""
        head = self._classic
        first = head + HEAD_CELLS
        capacity = self._capacity
        cells[head] = 0.0
        cells[head + 1] = float(self.schema)
        cells[head + 2] = self.threshold
        codes = cells[first + capacity + 1 : first + 2 * capacity + 2]
        for slot in range(capacity + 1):
            codes[slot] = math.nan
        for side, sign in ((self.positive, 0), (self.negative, 1)):
            for index, slot in list(side.items()):
                codes[slot] = float(2 * index + sign)
        self._head = cells[head : head + HEAD_CELLS]
        self._codes = codes
        self._raw = cells
        self.slots = cells[first : first + capacity + 1]

    @property
    def counts(self) -> Cells:
        """The classic bucket counts (a view of the record)."""
        return self._raw[: self._classic]

    @counts.setter
    def counts(self, _: object) -> None:
        """The classic counts live in the record; nothing to keep."""

    @property
    def sum(self) -> float:
        """This process's sum of observations."""
        raw = self._raw
        return float(raw[-1]) if len(raw) else 0.0

    @sum.setter
    def sum(self, value: float) -> None:
        raw = self._raw
        if len(raw):
            raw[-1] = value

    def attach(self, cells: Cells | None) -> None:
        """Take *cells* (a forked child's fresh record); None forgets the exemplar slots."""
        if cells is None:
            self._slots = None
        else:
            self.cells = cells

    # buckets --------------------------------------------------------------------------

    def _allocate(self, index: int, negative: bool) -> int:
        """A free count cell for a new bucket, its code written first."""
        if self._free:
            slot = self._free.pop()
        else:
            slot = self._fresh
            if slot > self._capacity:
                raise RuntimeError(
                    f"native series holds more than its {self._capacity} buckets"
                )  # the bucket limit keeps this from happening
            self._fresh = slot + 1
        self._codes[slot] = float(2 * index + (1 if negative else 0))
        return slot

    def _release(self, slot: int) -> None:
        """Zero and free the count cell of a drained bucket."""
        self.slots[slot] = 0.0
        self._codes[slot] = math.nan
        self._free.append(slot)

    def shrink(self) -> None:
        """Lower the resolution as :class:`NativeSeries` does, between two increments of
        the record's sequence number (odd meanwhile), then write the new schema and
        threshold."""
        head = self._head
        head[0] += 1.0
        try:
            super().shrink()
        finally:
            head[1] = float(self.schema)
            head[2] = self.threshold
            head[0] += 1.0

    def copy(self) -> tuple[list[int], float, NativeBuckets]:
        """This process's classic counts, sum and native buckets, consistent with each
        other."""
        with self.lock:
            positive = {**self.positive}
            negative = {**self.negative}
            values: list[float] = self._raw.tolist()
            schema = self.schema
            threshold = self.threshold
        first = self._classic + HEAD_CELLS
        counts = values[first : first + self._capacity + 1]
        exemplars = (materialize(e) for e in list(self.native_exemplars))
        return (
            [int(c) for c in values[: self._classic]],
            values[-1] if values else 0.0,
            NativeBuckets(
                schema,
                threshold,
                int(counts[0]) if counts else 0,
                tuple(sorted((i, int(counts[j])) for i, j in positive.items() if counts[j])),
                tuple(sorted((i, int(counts[j])) for i, j in negative.items() if counts[j])),
                tuple(e for e in exemplars if e is not None),
            ),
        )

    def keep_exemplar(self, index: int, exemplar: RawExemplar) -> None:
        """Keep *exemplar* in process, then in the file: in classic bucket *index*'s slot
        (-1: none) and in the next slot of the ring."""
        super().keep_exemplar(index, exemplar)
        slots = self._classic + MAX_NATIVE_EXEMPLARS
        if index >= 0:
            share_exemplar(self, index, slots, exemplar)
        position = self._ring
        self._ring = (position + 1) % MAX_NATIVE_EXEMPLARS
        share_exemplar(self, self._classic + position, slots, exemplar)


class SharedBoundNativeHistogram(BoundNativeHistogram):
    """A bound series of a :class:`SharedNativeHistogram`."""

    __slots__ = ()
    layout = SHARED

    @compiled("BoundNativeHistogram.observe", SHARED)
    def observe(self, value: float) -> None:
        """Record *value*; the rules of ``NativeHistogram.observe``."""


class SharedBoundClassicNativeHistogram(BoundClassicNativeHistogram):
    """A bound series of a :class:`SharedClassicNativeHistogram`."""

    __slots__ = ()
    layout = SHARED

    @compiled("BoundClassicNativeHistogram.observe", SHARED)
    def observe(self, value: float) -> None:
        """Record *value*; the rules of ``NativeHistogram.observe``."""


class SharedNativePair(BoundPair):
    """:class:`~.bound.BoundPair` over a shared counter and a shared native handle."""

    __slots__ = ()

    @compiled("NativePair.record", SHARED)
    def record(self, value: float) -> None:
        """Count one event and observe *value*."""


class SharedClassicNativePair(BoundPair):
    """:class:`SharedNativePair` over a handle that keeps classic buckets too."""

    __slots__ = ()

    @compiled("ClassicNativePair.record", SHARED)
    def record(self, value: float) -> None:
        """Count one event and observe *value*."""


NATIVE_PAIRS[SHARED, False] = SharedNativePair
NATIVE_PAIRS[SHARED, True] = SharedClassicNativePair


class SharedNativeHistogram(_SharedInstrument, NativeHistogram):
    """A :class:`~.native.NativeHistogram` of a multi-process collector (one record
    per series, see the module docstring)."""

    __slots__ = ("_shared",)
    _cells = 0

    def __init__(self, *args: Any, shared: Shared, **kwargs: Any) -> None:
        self._shared = shared
        super().__init__(*args, **kwargs)

    def _cell_count(self) -> int:
        return native_cells(len(self._classic or ()), self._max_buckets)

    def _extra(self) -> Any:
        classic = None if self._classic is None else [repr(bound) for bound in self._classic]
        return {"native": self._max_buckets, "classic": classic}

    @compiled("NativeHistogram.observe", SHARED)
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundNativeHistogram:
        """The series of *labels* as a handle (see ``NativeHistogram.bind``)."""
        return SharedBoundNativeHistogram(self, labels, self._classic)

    def _new_series(self) -> SharedNativeSeries:  # type: ignore[override]
        return SharedNativeSeries(
            self._classic or (),
            self._clock.time(),
            self._max_observations,
            self._schema,
            self._zero_threshold,
            self._max_buckets,
            self._shared,
        )


class SharedClassicNativeHistogram(SharedNativeHistogram):
    """A :class:`SharedNativeHistogram` that keeps classic buckets alongside."""

    __slots__ = ()
    keeps_classic: ClassVar[bool] = True

    @compiled("ClassicNativeHistogram.observe", SHARED)
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundNativeHistogram:
        """The series of *labels* as a handle (see ``NativeHistogram.bind``)."""
        return SharedBoundClassicNativeHistogram(self, labels, self._classic)


SharedNativeHistogram._classic_twin = SharedClassicNativeHistogram
NATIVE_HISTOGRAMS["native"] = SharedNativeHistogram
