"""Counter: a monotonically increasing total per series.

Amounts may be ints or floats and are kept as given: a series' total stays a Python
``int`` (exact, unbounded) while every amount is an integer, and becomes a ``float``
once a non-integer amount is added (the float sum, no truncation). ``get_count()``
returns that total as an ``int`` whenever it is integral and a ``float`` otherwise;
``get_value()`` always returns a ``float``. Other numeric types (``Fraction``,
``Decimal``, numpy scalars) are converted to ``float`` first. Negative, NaN or
non-numeric amounts raise :class:`InvalidMetricError` and change nothing.

Memory: per series one lock, the total, the creation time and at most one exemplar;
series are bounded as described in ``metrics._series``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._clock import SYSTEM_CLOCK, Clock
from ..exceptions import InvalidMetricError
from ._exemplars import RawExemplar, capture, materialize, state
from ._series import ATOMIC_ADD, DEFAULT_MAX_SERIES, Instrument
from .snapshot import Exemplar, ValueSnapshot

if TYPE_CHECKING:
    from .bound import BoundCounter

__all__ = ["Counter"]

# Lock-free totals on GIL builds (see metrics._series, "Thread safety"); tests flip it.
_ATOMIC_ADD = ATOMIC_ADD


def _plain_number(amount: object) -> int | float:
    """Turn an exotic numeric amount (Fraction, Decimal, numpy) into an int or float."""
    if isinstance(amount, bool):
        return int(amount)
    return float(amount)  # type: ignore[arg-type]


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
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(name, description, labels, max_series=max_series, clock=clock)

    def increment(self, amount: float = 1, labels: Mapping[str, str] | None = None) -> None:
        """Add *amount* (>= 0) to the series of *labels* (the unlabelled one when None)."""
        try:
            if amount >= 0:  # False for NaN and negatives, TypeError for non-numbers
                if type(amount) is not int and type(amount) is not float:
                    amount = _plain_number(amount)
                if labels is None:
                    series = self._unlabelled
                    if series is None:
                        series = self._get_unlabelled()
                else:
                    try:
                        series = self._cache[tuple(labels.items())]
                    except (KeyError, TypeError, AttributeError):
                        series = self._resolve(labels)
                if _ATOMIC_ADD:
                    series.value += amount
                else:
                    lock = series.lock
                    lock.acquire()
                    try:
                        series.value += amount
                    finally:
                        lock.release()
                probe = state.probe
                if probe is not None and probe() is not None:
                    exemplar = capture(state.source, amount, self._clock)
                    if exemplar is not None:
                        series.exemplar = exemplar
                return
        except TypeError:
            raise self._bad_amount(amount) from None
        raise self._bad_amount(amount)

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundCounter:
        """The series of *labels* as a handle whose ``increment(amount)`` skips the lookup
        (see ``metrics.bound``); bad labels raise here, as in :meth:`increment`."""
        from .bound import BoundCounter

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

    def _bad_amount(self, amount: object) -> InvalidMetricError:
        if isinstance(amount, int | float):
            rule = "NaN is not a count" if amount != amount else "counters only go up"
            return InvalidMetricError(
                f"counter {self._name!r} got amount {amount!r}: {rule}; amounts must be "
                "numbers >= 0 (use a Gauge for values that go down)"
            )
        return InvalidMetricError(
            f"counter {self._name!r} got amount {amount!r} ({type(amount).__name__}); "
            "amounts must be numbers >= 0"
        )

    def _new_series(self) -> _CounterSeries:
        return _CounterSeries(self._clock.time())

    def _snapshot(
        self, names: tuple[str, ...], values: tuple[str, ...], series: _CounterSeries
    ) -> ValueSnapshot:
        with series.lock:
            value = series.value
            exemplar = series.exemplar
        return ValueSnapshot(names, values, value, series.created, materialize(exemplar))
