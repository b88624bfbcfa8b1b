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

Values are observed as floats (ints and other numeric types converted; NaN and
integers beyond float64 refused). Thread safety: the update and the snapshot read are
those of ``metrics._update`` — lock-free and consistent under the GIL (a snapshot's sum
always matches its counts), the series' lock on free-threaded builds.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from itertools import accumulate, pairwise
from typing import Any, ClassVar

from .._clock import SYSTEM_CLOCK, Clock
from ..defaults import DEFAULT_BUCKETS
from ..exceptions import InvalidMetricError
from ._exemplars import RawExemplar, materialize
from ._series import (
    DEFAULT_MAX_LABEL_VALUE_LENGTH,
    DEFAULT_MAX_OBSERVATIONS,
    DEFAULT_MAX_SERIES,
    ObservingInstrument,
    check_max_observations,
)
from ._update import compiled, copy_histogram
from .bound import BoundHistogram
from .snapshot import Exemplar, HistogramSnapshot, classic_quantile, histogram_snapshot

__all__ = ["Histogram", "validate_buckets"]

_INF = math.inf
_NATIVE_KEYS = ("schema", "max_buckets", "zero_threshold")


def _wants_native(options: Mapping[str, Any]) -> bool:
    """Whether constructor *options* ask for native buckets."""
    native = options.get("native")
    if native is not None:
        return bool(native) or any(options.get(key) is not None for key in _NATIVE_KEYS)
    return any(options.get(key) is not None for key in _NATIVE_KEYS)


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


class _HistogramSeries:
    __slots__ = ("counts", "created", "exemplars", "lock", "recent", "sum")

    def __init__(self, buckets: int, created: float, max_observations: int) -> None:
        self.lock = threading.Lock()
        self.counts = [0] * buckets
        self.sum = 0.0
        self.recent: deque[float] = deque(maxlen=max_observations)
        self.created = created
        self.exemplars: list[RawExemplar | None] | None = None

    def keep_exemplar(self, index: int, exemplar: RawExemplar) -> None:
        """Keep *exemplar* as the latest of bucket *index* (the list is made on first use)."""
        exemplars = self.exemplars
        if exemplars is None:
            exemplars = self.exemplars = [None] * len(self.counts)
        exemplars[index] = exemplar


class Histogram(ObservingInstrument[_HistogramSeries, HistogramSnapshot]):
    """Histogram for measuring distributions.

    ``labels`` given here are default labels merged into every series; ``buckets``
    defaults to ``config.DEFAULT_BUCKETS``. The label name ``le`` is reserved.
    """

    kind = "histogram"
    _reserved_labels = frozenset({"le"})
    _nan_rule = "NaN has no bucket"
    __slots__ = ("_bounds", "_max_observations")
    #: The class a request for native buckets makes instead (``metrics.native``).
    _native_twin: ClassVar[type[Histogram] | None] = None
    #: Whether the instrument keeps native (exponential) buckets.
    native: ClassVar[bool] = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """A :class:`~.native.NativeHistogram` (of this class's layout) when native
        buckets are asked for (``native=True``, ``schema``, ``max_buckets`` or
        ``zero_threshold``), else this class."""
        if _wants_native(kwargs) and not cls.native:
            twin = cls.__dict__.get("_native_twin")
            if twin is None:
                raise InvalidMetricError(
                    f"{cls.__name__} has no native-bucket variant; create the histogram "
                    "with MetricsCollector.create_histogram(..., native=True), or drop "
                    "native/schema/max_buckets/zero_threshold for a classic one"
                )
            made: Histogram = twin.__new__(twin, *args, **kwargs)
            return made
        return object.__new__(cls)

    def __init__(
        self,
        name: str,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        buckets: Iterable[float] | None = None,
        *,
        native: bool | None = None,
        schema: int | None = None,
        max_buckets: int | None = None,
        zero_threshold: float | None = None,
        classic: bool | None = None,
        max_observations: int = DEFAULT_MAX_OBSERVATIONS,
        max_series: int = DEFAULT_MAX_SERIES,
        max_label_value_length: int = DEFAULT_MAX_LABEL_VALUE_LENGTH,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not self.native and classic is False:
            raise InvalidMetricError(
                f"histogram {name!r} got classic=False without native buckets; a classic "
                "histogram keeps its classic buckets (pass native=True to drop them)"
            )
        super().__init__(
            name,
            description,
            labels,
            max_series=max_series,
            max_label_value_length=max_label_value_length,
            clock=clock,
        )
        self._bounds = validate_buckets(DEFAULT_BUCKETS if buckets is None else buckets, name)
        self._max_observations = check_max_observations(max_observations, name)

    @property
    def buckets(self) -> tuple[float, ...]:
        """Upper bounds, ascending, ending with ``inf``."""
        return self._bounds

    @compiled("Histogram.observe")
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundHistogram:
        """The series of *labels* as a handle whose ``observe(value)`` skips the lookup (see
        ``metrics.bound``); bad labels raise here, as in :meth:`observe`."""
        return BoundHistogram(self, labels, self._bounds)

    def record(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value*; the same operation as :meth:`observe`."""
        self.observe(value, labels)

    def get_bucket_counts(self, labels: Mapping[str, str] | None = None) -> dict[float, int]:
        """``{upper bound: observations <= bound}`` for every bound, ``inf`` included."""
        series = self._lookup(labels)
        counts = [0] * len(self._bounds) if series is None else self._copy(series)[0]
        result: dict[float, int] = {}
        running = 0
        for bound, count in zip(self._bounds, counts, strict=True):
            running += count
            result[bound] = running
        return result

    def get_quantile(self, q: float, labels: Mapping[str, str] | None = None) -> float:
        """The *q*-quantile (0..1) of the series as Prometheus' ``histogram_quantile``
        estimates it from the classic buckets (native buckets in a native histogram);
        NaN while the series is empty."""
        cumulative = self.get_bucket_counts(labels)
        return classic_quantile(q, self._bounds, tuple(cumulative.values()))

    def get_count(self, labels: Mapping[str, str] | None = None) -> int:
        """Number of observations of the series since the last reset."""
        series = self._lookup(labels)
        return 0 if series is None else sum(self._copy(series)[0])

    def get_exemplars(
        self, labels: Mapping[str, str] | None = None
    ) -> dict[float, Exemplar | None]:
        """Latest exemplar per upper bound (None where no exemplar was recorded)."""
        series = self._lookup(labels)
        exemplars = None if series is None else series.exemplars
        if exemplars is None:
            return dict.fromkeys(self._bounds)
        return {b: materialize(e) for b, e in zip(self._bounds, list(exemplars), strict=True)}

    @staticmethod
    def _copy(series: Any) -> tuple[list[int], float]:
        """A series' counts and sum, consistent (the shared layout has its own)."""
        return copy_histogram(series)

    def _new_series(self) -> _HistogramSeries:
        return _HistogramSeries(len(self._bounds), self._clock.time(), self._max_observations)

    def _snapshot(
        self, names: tuple[str, ...], values: tuple[str, ...], series: _HistogramSeries
    ) -> HistogramSnapshot:
        counts, total = self._copy(series)
        cumulative = tuple(accumulate(counts))  # never empty: the bounds end with +Inf
        exemplars = series.exemplars
        return histogram_snapshot(
            names,
            values,
            self._bounds,
            cumulative,
            total,
            cumulative[-1],
            series.created,
            () if exemplars is None else tuple([materialize(e) for e in exemplars]),
        )
