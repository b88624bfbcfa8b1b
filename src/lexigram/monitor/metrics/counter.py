"""Counter: a monotonically increasing total per series.

Amounts may be ints or floats: a series' total stays an exact Python ``int`` while
every amount is an integer of at most 2**53, and becomes a ``float`` once a
non-integer or larger amount is added (the float sum, no truncation). ``get_count()``
returns that total as an ``int`` whenever it is integral and a ``float`` otherwise;
``get_value()`` always returns a ``float``. Other numeric types (``Fraction``,
``Decimal``, numpy scalars) are converted to ``float`` first. Negative, NaN or
non-numeric amounts, and integers beyond float64 (±1.8e308), raise
:class:`InvalidMetricError` and change nothing (the rules of ``metrics._update``).

Memory: per series one lock, the total, the creation time and at most one exemplar;
series are bounded as described in ``metrics._series``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .._clock import SYSTEM_CLOCK, Clock
from ..exceptions import InvalidMetricError
from ._exemplars import RawExemplar, materialize
from ._series import DEFAULT_MAX_LABEL_VALUE_LENGTH, DEFAULT_MAX_SERIES, Instrument, describe
from ._update import EXACT_INT, MAX_FLOAT_INT, compiled
from .bound import BoundCounter
from .snapshot import Exemplar, ValueSnapshot, value_snapshot

__all__ = ["Counter"]


class _CounterSeries:
    __slots__ = ("created", "exemplar", "lock", "value")

    def __init__(self, created: float) -> None:
        self.lock = threading.Lock()
        self.value: int | float = 0
        self.created = created
        self.exemplar: RawExemplar | None = None


class Counter(Instrument[_CounterSeries, ValueSnapshot]):
    """Monotonically increasing counter.

    ``labels`` given here are default labels merged into every series; see
    ``metrics._series`` for the label schema, the series cap (``max_series``, default
    2,000) and the overflow series.
    """

    kind = "counter"
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

    @compiled("Counter.increment")
    def increment(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add *amount* (>= 0) to the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundCounter:
        """The series of *labels* as a handle whose ``increment(amount)`` skips the lookup
        (see ``metrics.bound``); bad labels raise here, as in :meth:`increment`."""
        return BoundCounter(self, labels)

    def record(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Add *value* (>= 0); the same operation as :meth:`increment`."""
        self.increment(value, labels)

    def get_count(self, labels: Mapping[str, str] | None = None) -> int | float:
        """Total of the series (``int`` when integral, else ``float``); 0 if it has none."""
        series = self._lookup(labels)
        if series is None:
            return 0
        value = series.value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def get_value(self, labels: Mapping[str, str] | None = None) -> float:
        """Total of the series as a float; 0.0 if the series does not exist."""
        series = self._lookup(labels)
        return 0.0 if series is None else float(series.value)

    def get_exemplar(self, labels: Mapping[str, str] | None = None) -> Exemplar | None:
        """Latest exemplar of the series, if an exemplar source recorded one."""
        series = self._lookup(labels)
        return None if series is None else materialize(series.exemplar)

    def _amount(self, amount: object) -> int | float:
        """*amount* as a number a total can take (the update's slow path, for anything but
        an int in ``[0, 2**53]`` or a float >= 0), else the error saying why not."""
        number: int | float
        if isinstance(amount, int):  # bool included
            number = int(amount)
            if number > MAX_FLOAT_INT:
                raise self._bad_amount(number)
            if number > EXACT_INT:
                number = float(number)  # beyond exact ints: the nearest float, as stored
        elif isinstance(amount, float):
            number = float(amount)  # a float subclass (numpy) becomes a plain float
        elif hasattr(type(amount), "__float__"):  # Fraction, Decimal, numpy; not str
            try:
                number = float(amount)  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                raise self._bad_amount(amount) from None
        else:
            raise self._bad_amount(amount)
        if not number >= 0:  # negative or NaN
            raise self._bad_amount(amount)
        return number

    def _bad_amount(self, amount: object) -> InvalidMetricError:
        if isinstance(amount, int) and amount > MAX_FLOAT_INT:
            return InvalidMetricError(
                f"counter {self._name!r} got amount {describe(amount)}, which does not fit "
                "a float64 (at most 1.8e308); pass a number a Prometheus sample can hold"
            )
        if isinstance(amount, int | float):
            rule = "NaN is not a count" if amount != amount else "counters only go up"
            return InvalidMetricError(
                f"counter {self._name!r} got amount {describe(amount)}: {rule}; amounts "
                "must be numbers >= 0 (use a Gauge for values that go down)"
            )
        return InvalidMetricError(
            f"counter {self._name!r} got amount {describe(amount)} "
            f"({type(amount).__name__}); amounts must be numbers >= 0"
        )

    def _new_series(self) -> _CounterSeries:
        return _CounterSeries(self._clock.time())

    def _snapshot(
        self, names: tuple[str, ...], values: tuple[str, ...], series: _CounterSeries
    ) -> ValueSnapshot:
        with series.lock:
            value = series.value
            exemplar = series.exemplar
        return value_snapshot(names, values, value, series.created, materialize(exemplar))
