"""Gauge: a value per series that can go up and down.

Values are stored as floats. NaN, non-numeric values and integers beyond float64
raise :class:`InvalidMetricError` and change nothing; ``±inf`` is accepted (the rules
of ``metrics._update``). Memory: per
series one lock, the value and the creation time; series are bounded as described in
``metrics._series``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .._clock import SYSTEM_CLOCK, Clock
from ..exceptions import InvalidMetricError
from ._series import (
    DEFAULT_MAX_LABEL_VALUE_LENGTH,
    DEFAULT_MAX_SERIES,
    Instrument,
    as_float,
    describe,
)
from ._update import compiled
from .bound import BoundGauge
from .snapshot import ValueSnapshot, value_snapshot

__all__ = ["Gauge"]


class _GaugeSeries:
    __slots__ = ("created", "lock", "value")

    def __init__(self, created: float) -> None:
        self.lock = threading.Lock()
        self.value = 0.0
        self.created = created


class Gauge(Instrument[_GaugeSeries, ValueSnapshot]):
    """Gauge that can go up and down.

    ``labels`` given here are default labels merged into every series; see
    ``metrics._series`` for the label schema, the series cap and the overflow series.
    """

    kind = "gauge"
    __slots__ = ()

    def __init__(
        self,
        name: str,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        *,
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

    @compiled("Gauge.set")
    def set(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Set the series of *labels* to *value*."""

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundGauge:
        """The series of *labels* as a handle with ``set``/``increment``/``decrement`` that
        skip the lookup (see ``metrics.bound``); bad labels raise here."""
        return BoundGauge(self, labels)

    def record(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Set the series of *labels* to *value*; the same operation as :meth:`set`."""
        self.set(value, labels)

    @compiled("Gauge.increment")
    def increment(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add *amount* (may be negative) to the series of *labels*."""

    @compiled("Gauge.decrement")
    def decrement(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Subtract *amount* from the series of *labels*."""

    def get_value(self, labels: Mapping[str, str] | None = None) -> float:
        """Current value of the series; 0.0 if the series does not exist."""
        series = self._lookup(labels)
        return 0.0 if series is None else series.value

    def _number(self, value: object, operation: str) -> float:
        """*value* (negated for ``decrement``) as a plain float, converted as in
        ``_series.as_float``, else the error saying why not (the update's slow path)."""
        number = as_float(value)
        if number is None or number != number:
            raise self._bad_value(value if number is None else number, operation)
        return -number if operation == "decrement" else number

    def _bad_value(self, value: object, operation: str) -> InvalidMetricError:
        if isinstance(value, float) and value != value:
            return InvalidMetricError(
                f"gauge {self._name!r} cannot {operation} NaN: NaN is not a value; pass a "
                "number (±inf is accepted)"
            )
        return InvalidMetricError(
            f"gauge {self._name!r} cannot {operation} {describe(value)} "
            f"({type(value).__name__}); pass an int or float that fits a float64"
        )

    def _new_series(self) -> _GaugeSeries:
        return _GaugeSeries(self._clock.time())

    def _snapshot(
        self, names: tuple[str, ...], values: tuple[str, ...], series: _GaugeSeries
    ) -> ValueSnapshot:
        # one attribute read needs no lock; a float subclass (numpy) becomes a plain float
        return value_snapshot(names, values, float(series.value), series.created)
