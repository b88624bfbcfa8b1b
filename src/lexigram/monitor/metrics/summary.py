"""Summary: quantiles over every observation, from a bounded log-bucket sketch.

Quantiles (default p50, p90, p99) are estimated by ``metrics._quantiles.LogSketch`` with
relative error ``relative_accuracy`` (default 1 %) over all observations since the last
reset; the definition of a quantile is in that module. Sum and count are exact. NaN,
non-numeric observations and integers beyond float64 raise :class:`InvalidMetricError`;
``±inf`` is accepted. Updates take the series' lock (the sketch's add is Python code).

Memory per series: the sketch (at most ``max_bins`` buckets per sign, default 1,024),
the sum, and a ring of the ``max_observations`` most recent values (default 1,000) for
``get_observations()``. Series are bounded as described in ``metrics._series``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping

from .._clock import SYSTEM_CLOCK, Clock
from ..exceptions import InvalidMetricError
from ._quantiles import DEFAULT_MAX_BINS, DEFAULT_RELATIVE_ACCURACY, LogSketch
from ._series import (
    DEFAULT_MAX_LABEL_VALUE_LENGTH,
    DEFAULT_MAX_OBSERVATIONS,
    DEFAULT_MAX_SERIES,
    ObservingInstrument,
    check_max_observations,
)
from ._update import compiled
from .snapshot import SummarySnapshot

__all__ = ["DEFAULT_QUANTILES", "Summary"]

DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.99)


def _check_quantiles(quantiles: Iterable[float], metric: str) -> tuple[float, ...]:
    try:
        values = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError):
        raise InvalidMetricError(
            f"quantiles {quantiles!r} of summary {metric!r} must be numbers in [0, 1] "
            "(e.g. (0.5, 0.9, 0.99))"
        ) from None
    for q in values:
        if not 0.0 <= q <= 1.0:
            raise InvalidMetricError(
                f"quantile {q!r} of summary {metric!r} is outside [0, 1]; write p99 as 0.99"
            )
    if len(set(values)) != len(values):
        raise InvalidMetricError(f"quantiles {values!r} of summary {metric!r} repeat a value")
    return tuple(sorted(values))


class _SummarySeries:
    __slots__ = ("created", "lock", "recent", "sketch", "sum")

    def __init__(self, sketch: LogSketch, created: float, max_observations: int) -> None:
        self.lock = threading.Lock()
        self.sketch = sketch
        self.sum = 0.0
        self.recent: deque[float] = deque(maxlen=max_observations)
        self.created = created


class Summary(ObservingInstrument[_SummarySeries, SummarySnapshot]):
    """Summary metric for calculating quantiles.

    ``labels`` given here are default labels merged into every series. The label name
    ``quantile`` is reserved.
    """

    kind = "summary"
    _reserved_labels = frozenset({"quantile"})
    _nan_rule = "NaN has no rank"
    __slots__ = ("_max_bins", "_max_observations", "_quantiles", "_relative_accuracy")

    def __init__(
        self,
        name: str,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        *,
        quantiles: Iterable[float] = DEFAULT_QUANTILES,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        max_bins: int = DEFAULT_MAX_BINS,
        max_observations: int = DEFAULT_MAX_OBSERVATIONS,
        max_series: int = DEFAULT_MAX_SERIES,
        max_label_value_length: int = DEFAULT_MAX_LABEL_VALUE_LENGTH,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(
            name,
            description,
            labels,
            max_series=max_series,
            max_label_value_length=max_label_value_length,
            clock=clock,
        )
        self._quantiles = _check_quantiles(quantiles, name)
        try:
            LogSketch(relative_accuracy, max_bins)
        except ValueError as exc:
            raise InvalidMetricError(f"summary {name!r}: {exc}") from None
        self._relative_accuracy = relative_accuracy
        self._max_bins = max_bins
        self._max_observations = check_max_observations(max_observations, name)

    @property
    def quantiles(self) -> tuple[float, ...]:
        """The quantiles reported by :meth:`get_quantiles` and ``collect()``, ascending."""
        return self._quantiles

    @compiled("Summary.observe")
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def record(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value*; the same operation as :meth:`observe`."""
        self.observe(value, labels)

    def get_quantile(self, q: float, labels: Mapping[str, str] | None = None) -> float:
        """Estimate of the *q*-quantile (any ``0 <= q <= 1``); NaN without observations."""
        if not 0.0 <= q <= 1.0:
            raise InvalidMetricError(
                f"quantile {q!r} asked of summary {self._name!r} is outside [0, 1]; "
                "write p99 as 0.99"
            )
        return self._estimate((q,), labels)[0]

    def get_quantiles(self, labels: Mapping[str, str] | None = None) -> dict[float, float]:
        """``{q: estimate}`` for the configured quantiles."""
        return dict(zip(self._quantiles, self._estimate(self._quantiles, labels), strict=True))

    def get_count(self, labels: Mapping[str, str] | None = None) -> int:
        """Number of observations of the series since the last reset."""
        series = self._lookup(labels)
        return 0 if series is None else series.sketch.count

    def _estimate(self, qs: tuple[float, ...], labels: Mapping[str, str] | None) -> list[float]:
        series = self._lookup(labels)
        if series is None:
            return [float("nan")] * len(qs)
        with series.lock:
            sketch = series.sketch.copy()
        return sketch.quantiles(qs)

    def _new_series(self) -> _SummarySeries:
        sketch = LogSketch(self._relative_accuracy, self._max_bins)
        return _SummarySeries(sketch, self._clock.time(), self._max_observations)

    def _snapshot(
        self, names: tuple[str, ...], values: tuple[str, ...], series: _SummarySeries
    ) -> SummarySnapshot:
        with series.lock:
            sketch = series.sketch.copy()
            total = series.sum
        estimates = sketch.quantiles(self._quantiles)
        return SummarySnapshot(
            names,
            values,
            tuple(zip(self._quantiles, estimates, strict=True)),
            total,
            sketch.count,
            series.created,
        )
