"""Instruments whose series live in the shared file of the multi-process mode.

``SharedCounter``, ``SharedGauge``, ``SharedHistogram`` and ``SharedSummary`` are the
four instruments with their update methods compiled for the :data:`~._update.SHARED`
layout (``series.cells[...]``, a ``memoryview`` into this process's file), chosen once
when a multi-process collector creates an instrument; their bound handles and
:class:`~.bound.BoundPair` are compiled the same way. Everything else — label schema,
series cap and overflow, value rules, the readers of this process's own numbers
(``get_count()``, ``get_value()``, ``collect()``) — is the instrument's own.

A series gets its record when it is created (the slow path, under the instrument's
lock). If the record cannot be written (disk full, directory gone), the series gets
process-local cells instead: updates still work, the failure is logged and counted by
the collector's ``report`` callback, and the service-wide merge does not see it.
Exemplars take a second record per series, made on its first exemplar: one slot of
:data:`SLOT_CELLS` cells per bucket (one for a counter), written under the series'
lock as a sequence lock so that a reader never takes half of one.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final

from ._exemplars import RawExemplar
from ._series import OVERFLOW_VALUE
from ._shared import EXEMPLARS, Cells, Storage, encode_key, local_cells
from ._update import SHARED, compiled, copy_cells
from .bound import PAIRS, BoundCounter, BoundGauge, BoundHistogram, BoundPair
from .counter import Counter
from .gauge import Gauge
from .histogram import Histogram
from .histogram import _wants_native as wants_native
from .summary import Summary

__all__ = [
    "GAUGE_MODES",
    "NATIVE_HISTOGRAMS",
    "SLOT_CELLS",
    "Shared",
    "SharedCounter",
    "SharedGauge",
    "SharedHistogram",
    "SharedSummary",
    "share_exemplar",
    "shared_histogram",
]

#: The shared native histogram class, registered by ``metrics._shared_native`` when the
#: package is imported (under ``"native"``).
NATIVE_HISTOGRAMS: dict[str, Callable[..., Any]] = {}

#: How the merge combines a gauge's values of the workers (see ``metrics.multiprocess``).
GAUGE_MODES: Final = ("all", "sum", "live_sum", "max", "min", "latest")
#: Cells per exemplar slot: sequence, value, timestamp, trace id (32 bytes), span id (16).
SLOT_CELLS: Final = 9
_TRACE = 32
_SPAN = 16


class Shared:
    """What a multi-process collector hands its instruments: the storage and the
    callback that counts a failure (``report(reason, error)``, never raises)."""

    __slots__ = ("report", "storage")

    def __init__(self, storage: Storage, report: Callable[[str, BaseException], None]) -> None:
        self.storage = storage
        self.report = report


def write_exemplar(slots: Any, index: int, exemplar: RawExemplar) -> bool:
    """Write *exemplar* into slot *index* (a sequence lock: odd while writing); False
    when its ids do not fit the slot (more than 32/16 ASCII characters)."""
    value, trace_id, span_id, timestamp = exemplar
    try:
        trace = trace_id.encode("ascii")
        span = span_id.encode("ascii")
    except UnicodeEncodeError:
        return False
    if len(trace) > _TRACE or len(span) > _SPAN:
        return False
    base = index * SLOT_CELLS
    sequence = slots[base] + 1.0
    slots[base] = sequence
    slots[base + 1] = float(value)
    slots[base + 2] = timestamp
    raw = slots.cast("B")
    first = (base + 3) * 8
    raw[first : first + _TRACE] = trace.ljust(_TRACE, b"\0")
    raw[first + _TRACE : first + _TRACE + _SPAN] = span.ljust(_SPAN, b"\0")
    slots[base] = sequence + 1.0
    return True


class _SharedSeries:
    """Base of the shared series: cells, creation time, lock, and exemplar slots."""

    __slots__ = ("_home", "_key", "_slots", "cells", "created", "lock")

    def __init__(self, created: float, home: Shared) -> None:
        self.lock = threading.Lock()
        self.cells: Cells = local_cells(0)
        self.created = created
        self._home = home
        self._key = b""
        self._slots: Cells | None = None

    def attach(self, cells: Cells | None) -> None:
        """Take *cells* (a forked child's fresh record); None forgets the exemplar slots."""
        if cells is None:
            self._slots = None
        else:
            self.cells = cells

    def _share_exemplar(self, index: int, slots: int, exemplar: RawExemplar) -> None:
        """Write *exemplar* to slot *index* of this series' exemplar record."""
        share_exemplar(self, index, slots, exemplar)


def share_exemplar(series: Any, index: int, slots: int, exemplar: RawExemplar) -> None:
    """Write *exemplar* to slot *index* of *series*' exemplar record of *slots* slots
    (made on first use; a failure is reported once and the exemplar stays in process).
    *series* offers ``lock``, ``_slots``, ``_key`` and ``_home`` (a shared series)."""
    with series.lock:
        record = series._slots
        if record is None:
            if not series._key:
                return
            try:
                record = series._home.storage.allocate(
                    series, series._key, slots * SLOT_CELLS, _reattach, EXEMPLARS
                )
            except OSError as exc:
                series._key = b""  # no second try for this series
                series._home.report("exemplar_storage", exc)
                return
            series._slots = record
        write_exemplar(record, index, exemplar)


def _reattach(series: Any, cells: Cells | None) -> None:
    series.attach(cells)


class _CounterSeries(_SharedSeries):
    __slots__ = ("_exemplar",)

    def __init__(self, created: float, home: Shared) -> None:
        super().__init__(created, home)
        self._exemplar: RawExemplar | None = None

    @property
    def value(self) -> float:
        """This process's total."""
        value: float = self.cells[0]
        return value

    @property
    def exemplar(self) -> RawExemplar | None:
        """The latest exemplar recorded in this process."""
        return self._exemplar

    @exemplar.setter
    def exemplar(self, exemplar: RawExemplar) -> None:
        self._exemplar = exemplar
        self._share_exemplar(0, 1, exemplar)


class _GaugeSeries(_SharedSeries):
    __slots__ = ()

    @property
    def value(self) -> float:
        """This process's value."""
        value: float = self.cells[0]
        return value


class _HistogramSeries(_SharedSeries):
    __slots__ = ("exemplars", "recent")

    def __init__(self, created: float, home: Shared, max_observations: int) -> None:
        super().__init__(created, home)
        self.recent: deque[float] = deque(maxlen=max_observations)
        self.exemplars: list[RawExemplar | None] | None = None

    @property
    def sum(self) -> float:
        """This process's sum of observations."""
        value: float = self.cells[-1]
        return value

    def keep_exemplar(self, index: int, exemplar: RawExemplar) -> None:
        """Keep *exemplar* as the latest of bucket *index*, here and in the file."""
        exemplars = self.exemplars
        if exemplars is None:
            exemplars = self.exemplars = [None] * (len(self.cells) - 1)
        exemplars[index] = exemplar
        self._share_exemplar(index, len(exemplars), exemplar)


class _SummarySeries(_SharedSeries):
    __slots__ = ("recent", "sketch")

    def __init__(self, created: float, home: Shared, sketch: Any, max_observations: int) -> None:
        super().__init__(created, home)
        self.sketch = sketch
        self.recent: deque[float] = deque(maxlen=max_observations)

    @property
    def sum(self) -> float:
        """This process's sum of observations."""
        value: float = self.cells[-1]
        return value


class _SharedInstrument:
    """Mixin of the shared instruments: makes each new series' record."""

    __slots__ = ()
    _cells: ClassVar[int]
    _shared: Shared

    def _extra(self) -> Any:
        """What the merge needs beyond the labels (gauge mode, histogram bounds)."""
        return None

    def _cell_count(self) -> int:
        return self._cells

    def _series_for_key(self, key: tuple[str, ...]) -> Any:
        series = super()._series_for_key(key)  # type: ignore[misc]
        if not series._key and len(series.cells) == 0:
            values = (
                (OVERFLOW_VALUE,) * len(key) if series is getattr(self, "_overflow", None) else key
            )
            self._attach(series, values)
        return series

    def _attach(self, series: _SharedSeries, values: tuple[str, ...]) -> None:
        instrument: Any = self
        key = encode_key(
            instrument.kind,
            instrument.name,
            instrument.description,
            instrument.label_names,
            values,
            self._extra(),
        )
        cells = self._cell_count()
        try:
            series.cells = self._shared.storage.allocate(series, key, cells, _reattach)
        except OSError as exc:
            series.cells = local_cells(cells)
            self._shared.report("storage", exc)
            return
        series._key = key


class SharedBoundCounter(BoundCounter):
    """A bound counter series of a multi-process collector."""

    __slots__ = ()
    layout = SHARED

    @compiled("BoundCounter.increment", SHARED)
    def increment(self, amount: float = 1) -> None:
        """Add *amount* (>= 0); the rules of ``Counter.increment``."""


class SharedBoundGauge(BoundGauge):
    """A bound gauge series of a multi-process collector."""

    __slots__ = ()
    layout = SHARED

    @compiled("BoundGauge.enter", SHARED)
    def enter(self) -> object:
        """Add 1 to the series; returns the token :meth:`leave` takes."""

    @compiled("BoundGauge.leave", SHARED)
    def leave(self, token: object) -> None:
        """Subtract 1 from the series :meth:`enter` returned *token* for."""

    @compiled("BoundGauge.increment", SHARED)
    def increment(self, amount: float = 1) -> None:
        """Add *amount* (may be negative); the rules of ``Gauge.increment``."""

    @compiled("BoundGauge.decrement", SHARED)
    def decrement(self, amount: float = 1) -> None:
        """Subtract *amount*; the rules of ``Gauge.decrement``."""

    @compiled("BoundGauge.set", SHARED)
    def set(self, value: float) -> None:
        """Set the series to *value*; the rules of ``Gauge.set``."""


class SharedBoundHistogram(BoundHistogram):
    """A bound histogram series of a multi-process collector."""

    __slots__ = ()
    layout = SHARED

    @compiled("BoundHistogram.observe", SHARED)
    def observe(self, value: float) -> None:
        """Record *value*; the rules of ``Histogram.observe``."""


class SharedBoundPair(BoundPair):
    """:class:`~.bound.BoundPair` over shared series (chosen by ``BoundPair(...)``)."""

    __slots__ = ()

    @compiled("BoundPair.record", SHARED)
    def record(self, value: float) -> None:
        """Count one event and observe *value*."""


PAIRS[SHARED] = SharedBoundPair


class SharedCounter(_SharedInstrument, Counter):
    """A :class:`~.counter.Counter` of a multi-process collector (cells: total)."""

    __slots__ = ("_shared",)
    _cells = 1

    def __init__(self, *args: Any, shared: Shared, **kwargs: Any) -> None:
        self._shared = shared
        super().__init__(*args, **kwargs)

    @compiled("Counter.increment", SHARED)
    def increment(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add *amount* (>= 0) to the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> SharedBoundCounter:
        """The series of *labels* as a handle (see ``Counter.bind``)."""
        return SharedBoundCounter(self, labels)

    def _new_series(self) -> _CounterSeries:  # type: ignore[override]
        return _CounterSeries(self._clock.time(), self._shared)


class SharedGauge(_SharedInstrument, Gauge):
    """A :class:`~.gauge.Gauge` of a multi-process collector (cells: value, time of the
    last update); *mode* says how the merge combines the workers' values."""

    __slots__ = ("_mode", "_shared")
    _cells = 2

    def __init__(self, *args: Any, shared: Shared, mode: str, **kwargs: Any) -> None:
        self._shared = shared
        self._mode = mode
        super().__init__(*args, **kwargs)

    @property
    def multiprocess_mode(self) -> str:
        """How the merge combines the workers' values (one of :data:`GAUGE_MODES`)."""
        return self._mode

    def _extra(self) -> Any:
        return self._mode

    @compiled("Gauge.set", SHARED)
    def set(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Set the series of *labels* to *value*."""

    @compiled("Gauge.increment", SHARED)
    def increment(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add *amount* (may be negative) to the series of *labels*."""

    @compiled("Gauge.decrement", SHARED)
    def decrement(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Subtract *amount* from the series of *labels*."""

    def reset(self) -> None:
        """Drop every series; their records are marked dropped (a negative stamp), so
        the merge no longer counts this process's old values."""
        with self._lock:
            series: list[Any] = list(self._series.values())
            if self._overflow is not None:
                series.append(self._overflow)
        for each in series:
            each.cells[0] = 0.0
            each.cells[-1] = -1.0
        super().reset()

    def bind(self, labels: Mapping[str, str] | None = None) -> SharedBoundGauge:
        """The series of *labels* as a handle (see ``Gauge.bind``)."""
        return SharedBoundGauge(self, labels)

    def _new_series(self) -> _GaugeSeries:  # type: ignore[override]
        return _GaugeSeries(self._clock.time(), self._shared)


class SharedHistogram(_SharedInstrument, Histogram):
    """A :class:`~.histogram.Histogram` of a multi-process collector (cells: one count
    per bucket, then the sum)."""

    __slots__ = ("_shared",)
    _cells = 0

    @staticmethod
    def _copy(series: Any) -> tuple[list[int], float]:
        """The series' counts and sum, read in one C call."""
        cells = copy_cells(series)
        return [int(c) for c in cells[:-1]], cells[-1]

    def __init__(self, *args: Any, shared: Shared, **kwargs: Any) -> None:
        self._shared = shared
        super().__init__(*args, **kwargs)

    def _cell_count(self) -> int:
        return len(self._bounds) + 1

    def _extra(self) -> Any:
        return [repr(bound) for bound in self._bounds]

    @compiled("Histogram.observe", SHARED)
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> SharedBoundHistogram:
        """The series of *labels* as a handle (see ``Histogram.bind``)."""
        return SharedBoundHistogram(self, labels, self._bounds)

    def _new_series(self) -> _HistogramSeries:  # type: ignore[override]
        return _HistogramSeries(self._clock.time(), self._shared, self._max_observations)


class SharedSummary(_SharedInstrument, Summary):
    """A :class:`~.summary.Summary` of a multi-process collector (cells: count, sum;
    the quantile sketch stays in process, so the merge shows count and sum only)."""

    __slots__ = ("_shared",)
    _cells = 2

    def __init__(self, *args: Any, shared: Shared, **kwargs: Any) -> None:
        self._shared = shared
        super().__init__(*args, **kwargs)

    @compiled("Summary.observe", SHARED)
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def _new_series(self) -> _SummarySeries:  # type: ignore[override]
        from ._quantiles import LogSketch

        sketch = LogSketch(self._relative_accuracy, self._max_bins)
        return _SummarySeries(self._clock.time(), self._shared, sketch, self._max_observations)


def shared_histogram(*args: Any, shared: Shared, **kwargs: Any) -> Histogram:
    """The histogram a multi-process collector makes: a shared native one (keeping
    classic buckets too when asked) when the options ask for native buckets, else a
    :class:`SharedHistogram`."""
    native = NATIVE_HISTOGRAMS.get("native")
    if native is not None and wants_native(kwargs):
        made: Histogram = native(*args, shared=shared, **kwargs)
        return made
    return SharedHistogram(*args, shared=shared, **kwargs)
