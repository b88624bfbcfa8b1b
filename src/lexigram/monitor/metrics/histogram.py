"""Histogram: Prometheus cumulative buckets, exact sum and count, recent observations.

``observe`` increments one per-bucket (non-cumulative) count found by binary search;
reads cumulate (``get_bucket_counts()`` maps every upper bound, ``inf`` included, to the
number of observations ``<= bound`` since the last reset). Buckets are validated: at
least one finite bound, strictly increasing, no NaN; ``inf`` is appended when missing.
NaN observations raise :class:`InvalidMetricError`; ``±inf`` is accepted (``-inf``
lands in the first bucket, ``+inf`` only in ``+inf``).

Memory per series: one count per bucket, the sum, the latest exemplar per bucket (only
while an exemplar source is installed) and a ring of the ``max_observations`` most recent
values (default 1,000) for ``get_observations()`` — independent of how many values were
observed. Series are bounded as described in ``metrics._series``.

Thread safety: on interpreters with a GIL (``ATOMIC_ADD``) an ``int``/``float``
observation updates the sum and its bucket count in one uninterruptible bytecode
sequence (no call, no backward jump between them), and a snapshot copies the counts
and reads the sum the same way, so no observation is lost and a snapshot's sum always
matches its counts. Other number types and free-threaded builds take the series' lock.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from ..defaults import DEFAULT_BUCKETS
from ..exceptions import InvalidMetricError
from ._exemplars import RawExemplar, capture, materialize, state
from ._series import (
    ATOMIC_ADD,
    DEFAULT_MAX_OBSERVATIONS,
    DEFAULT_MAX_SERIES,
    ObservingInstrument,
    check_max_observations,
)
from .snapshot import Exemplar, HistogramSnapshot

if TYPE_CHECKING:
    from .bound import BoundHistogram

__all__ = ["Histogram", "add_locked", "validate_buckets"]

_INF = math.inf
_ATOMIC_ADD = ATOMIC_ADD  # module level so tests can force the locked path


def validate_buckets(buckets: Iterable[float], metric: str = "") -> tuple[float, ...]:
    """Checked upper bounds as floats, ending with ``inf``; raises :class:`InvalidMetricError`."""
    where = f" of histogram {metric!r}" if metric else ""
    try:
        bounds = [float(b) for b in buckets]
    except (TypeError, ValueError):
        raise InvalidMetricError(
            f"buckets{where} {buckets!r} must be numbers (upper bounds, e.g. [0.1, 0.5, 1.0])"
        ) from None
    if bounds and bounds[-1] == _INF:
        bounds.pop()
    if not bounds:
        raise InvalidMetricError(
            f"buckets{where} {buckets!r} hold no finite upper bound; give at least one "
            "(e.g. [0.1, 0.5, 1.0]); +inf is appended automatically"
        )
    if any(b != b for b in bounds):
        raise InvalidMetricError(f"buckets{where} {buckets!r} contain NaN; use numbers only")
    for low, high in pairwise(bounds):
        if not low < high:
            raise InvalidMetricError(
                f"buckets{where} {buckets!r} must be strictly increasing, but {low!r} is "
                f"followed by {high!r}; sort them and drop duplicates"
            )
    return (*bounds, _INF)


def add_locked(series: _HistogramSeries, index: int, value: float) -> None:
    """Add *value* to *series*' sum, bucket *index* and recent observations under the
    series' lock (free-threaded builds, number types other than int and float)."""
    with series.lock:
        series.sum += value  # first: an exotic number type fails before any change
        series.counts[index] += 1
        series.recent.append(value)


class _HistogramSeries:
    __slots__ = ("counts", "created", "exemplars", "lock", "recent", "sum")

    def __init__(self, buckets: int, created: float, max_observations: int) -> None:
        self.lock = threading.Lock()
        self.counts = [0] * buckets
        self.sum = 0.0
        self.recent: deque[float] = deque(maxlen=max_observations)
        self.created = created
        self.exemplars: list[RawExemplar | None] | None = None


class Histogram(ObservingInstrument[_HistogramSeries, HistogramSnapshot]):
    """Histogram for measuring distributions.

    ``labels`` given here are default labels merged into every series; ``buckets``
    defaults to ``config.DEFAULT_BUCKETS``. The label name ``le`` is reserved.
    """

    kind = "histogram"
    _reserved_labels = frozenset({"le"})
    __slots__ = ("_bounds", "_max_observations")

    def __init__(
        self,
        name: str,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        buckets: Iterable[float] | None = None,
        *,
        max_observations: int = DEFAULT_MAX_OBSERVATIONS,
        max_series: int = DEFAULT_MAX_SERIES,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(name, description, labels, max_series=max_series, clock=clock)
        self._bounds = validate_buckets(DEFAULT_BUCKETS if buckets is None else buckets, name)
        self._max_observations = check_max_observations(max_observations, name)

    @property
    def buckets(self) -> tuple[float, ...]:
        """Upper bounds, ascending, ending with ``inf``."""
        return self._bounds

    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""
        try:
            index = bisect_left(self._bounds, value)
        except TypeError:
            raise self._bad_value(value) from None
        if value != value:
            raise self._bad_value(value)
        if labels is None:
            series = self._unlabelled
            if series is None:
                series = self._get_unlabelled()
        else:
            try:
                series = self._cache[tuple(labels.items())]
            except (KeyError, TypeError, AttributeError):
                series = self._resolve(labels)
        if _ATOMIC_ADD and (value.__class__ is float or value.__class__ is int):
            series.sum += value  # with the next line one uninterruptible step (module doc)
            series.counts[index] += 1
            series.recent.append(value)
        else:
            add_locked(series, index, value)
        probe = state.probe
        if probe is not None and probe() is not None:
            self._attach_exemplar(series, index, value, state.source)

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundHistogram:
        """The series of *labels* as a handle whose ``observe(value)`` skips the lookup (see
        ``metrics.bound``); bad labels raise here, as in :meth:`observe`."""
        from .bound import BoundHistogram

        return BoundHistogram(self, labels)

    def record(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value*; the same operation as :meth:`observe`."""
        self.observe(value, labels)

    def get_bucket_counts(self, labels: Mapping[str, str] | None = None) -> dict[float, int]:
        """``{upper bound: observations <= bound}`` for every bound, ``inf`` included."""
        series = self._lookup(labels)
        counts = [0] * len(self._bounds) if series is None else self._copy_counts(series)
        result: dict[float, int] = {}
        running = 0
        for bound, count in zip(self._bounds, counts, strict=True):
            running += count
            result[bound] = running
        return result

    def get_count(self, labels: Mapping[str, str] | None = None) -> int:
        """Number of observations of the series since the last reset."""
        series = self._lookup(labels)
        return 0 if series is None else sum(self._copy_counts(series))

    def get_exemplars(
        self, labels: Mapping[str, str] | None = None
    ) -> dict[float, Exemplar | None]:
        """Latest exemplar per upper bound (None where no exemplar was recorded)."""
        series = self._lookup(labels)
        exemplars = None if series is None else series.exemplars
        if exemplars is None:
            return dict.fromkeys(self._bounds)
        return {b: materialize(e) for b, e in zip(self._bounds, list(exemplars), strict=True)}

    def _copy_counts(self, series: _HistogramSeries) -> list[int]:
        with series.lock:
            return series.counts[:]

    def _attach_exemplar(
        self, series: _HistogramSeries, index: int, value: float, source: Any
    ) -> None:
        exemplar = capture(source, value, self._clock)
        if exemplar is not None:
            self._keep_exemplar(series, index, exemplar)

    def _keep_exemplar(self, series: _HistogramSeries, index: int, exemplar: RawExemplar) -> None:
        exemplars = series.exemplars
        if exemplars is None:
            exemplars = series.exemplars = [None] * len(self._bounds)
        exemplars[index] = exemplar

    def _bad_value(self, value: object) -> InvalidMetricError:
        if isinstance(value, float) and value != value:
            return InvalidMetricError(
                f"histogram {self._name!r} cannot observe NaN: NaN has no bucket; pass a "
                "number (±inf is accepted)"
            )
        return InvalidMetricError(
            f"histogram {self._name!r} cannot observe {value!r} ({type(value).__name__}); "
            "pass an int or float"
        )

    def _new_series(self) -> _HistogramSeries:
        return _HistogramSeries(len(self._bounds), self._clock.time(), self._max_observations)

    def _snapshot(
        self, names: tuple[str, ...], values: tuple[str, ...], series: _HistogramSeries
    ) -> HistogramSnapshot:
        with series.lock:
            # No call between the copy and the read (module doc): a thread switch can
            # only come while the slice allocates, before anything is copied.
            counts = series.counts[:]
            total = series.sum
        cumulative: list[int] = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        exemplars = series.exemplars
        return HistogramSnapshot(
            names,
            values,
            self._bounds,
            tuple(cumulative),
            total,
            running,
            series.created,
            () if exemplars is None else tuple(materialize(e) for e in exemplars),
        )
