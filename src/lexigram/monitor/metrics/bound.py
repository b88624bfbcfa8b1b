"""Bound series: one label set of an instrument, resolved once, updated without lookup.

``Counter.bind(labels)``, ``Gauge.bind(labels)`` and ``Histogram.bind(labels)`` return a
handle whose updates skip the label validation and the key-cache lookup: the series is
found (or created, or mapped to the overflow series past the cap) when the handle is
made, with the same rules and errors as a labelled update. Hot paths that reuse a few
label sets — a middleware caching one handle per (method, route, status) — touch only
the series itself. Values, exemplars and thread safety are those of the instrument's
own update methods. After the instrument's ``reset()`` a handle
resolves its series again on its next update. A handle holds the instrument, a copy of
the labels and one series; it adds nothing to the instrument's bounds.
:class:`BoundPair` updates a counter handle and a histogram handle in one call.

The handles' ``_series``/``_table``/``_current`` are read directly by
``PrometheusMiddleware`` for its in-progress gauge (an inline ``+= 1`` per request).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._exemplars import capture, state
from ._series import ATOMIC_ADD, RESETS, Instrument
from .counter import _plain_number
from .histogram import add_locked

if TYPE_CHECKING:
    from .counter import Counter
    from .gauge import Gauge
    from .histogram import Histogram

__all__ = ["BoundCounter", "BoundGauge", "BoundHistogram", "BoundPair"]


class _Bound:
    __slots__ = ("_instrument", "_labels", "_series", "_table")

    def __init__(self, instrument: Instrument[Any, Any], labels: Mapping[str, str] | None) -> None:
        self._instrument = instrument
        self._labels = None if labels is None else dict(labels)
        self._table: object = None
        self._series: Any = self._resolve()

    @property
    def labels(self) -> dict[str, str]:
        """The label set this handle updates (a copy)."""
        return dict(self._labels or {})

    def _resolve(self) -> Any:
        instrument = self._instrument
        self._table = instrument._series
        if self._labels is None:
            return instrument._get_unlabelled()
        return instrument._resolve(self._labels)

    def _current(self) -> Any:
        """The series, resolved again if the instrument was reset since."""
        if self._instrument._series is self._table:
            return self._series
        series = self._series = self._resolve()
        return series


class BoundCounter(_Bound):
    """One series of a :class:`~lexigram.monitor.metrics.Counter` (``Counter.bind``)."""

    __slots__ = ()
    _instrument: Counter

    def increment(self, amount: float = 1) -> None:
        """Add *amount* (>= 0); the rules of ``Counter.increment``."""
        series = self._series if self._instrument._series is self._table else self._current()
        try:
            if amount >= 0:  # False for NaN and negatives, TypeError for non-numbers
                if type(amount) is not int and type(amount) is not float:
                    amount = _plain_number(amount)
                if ATOMIC_ADD:
                    series.value += amount
                else:
                    with series.lock:
                        series.value += amount
                probe = state.probe
                if probe is not None and probe() is not None:
                    exemplar = capture(state.source, amount, self._instrument._clock)
                    if exemplar is not None:
                        series.exemplar = exemplar
                return
        except TypeError:
            raise self._instrument._bad_amount(amount) from None
        raise self._instrument._bad_amount(amount)


class BoundGauge(_Bound):
    """One series of a :class:`~lexigram.monitor.metrics.Gauge` (``Gauge.bind``)."""

    __slots__ = ()
    _instrument: Gauge

    def increment(self, amount: float = 1) -> None:
        """Add *amount* (may be negative); the rules of ``Gauge.increment``."""
        try:
            number = amount + 0.0
        except (TypeError, OverflowError):
            raise self._instrument._bad_value(amount, "increment") from None
        if number != number:
            raise self._instrument._bad_value(amount, "increment")
        series = self._series if self._instrument._series is self._table else self._current()
        if ATOMIC_ADD:
            series.value += number
        else:
            with series.lock:
                series.value += number

    def decrement(self, amount: float = 1) -> None:
        """Subtract *amount*; the rules of ``Gauge.decrement``."""
        try:
            number = -amount + 0.0
        except (TypeError, OverflowError):
            raise self._instrument._bad_value(amount, "decrement") from None
        if number != number:
            raise self._instrument._bad_value(amount, "decrement")
        series = self._series if self._instrument._series is self._table else self._current()
        if ATOMIC_ADD:
            series.value += number
        else:
            with series.lock:
                series.value += number

    def set(self, value: float) -> None:
        """Set the series to *value*; the rules of ``Gauge.set``."""
        try:
            number = value + 0.0
        except (TypeError, OverflowError):
            raise self._instrument._bad_value(value, "set") from None
        if number != number:
            raise self._instrument._bad_value(value, "set")
        series = self._series if self._instrument._series is self._table else self._current()
        if ATOMIC_ADD:
            series.value = number
        else:
            with series.lock:
                series.value = number


class BoundHistogram(_Bound):
    """One series of a :class:`~lexigram.monitor.metrics.Histogram` (``Histogram.bind``)."""

    __slots__ = ()
    _instrument: Histogram

    def observe(self, value: float) -> None:
        """Record *value*; the rules of ``Histogram.observe``."""
        histogram = self._instrument
        try:
            index = bisect_left(histogram._bounds, value)
        except TypeError:
            raise histogram._bad_value(value) from None
        if value != value:
            raise histogram._bad_value(value)
        series = self._series if histogram._series is self._table else self._current()
        if ATOMIC_ADD and (value.__class__ is float or value.__class__ is int):
            series.sum += value  # with the next line one uninterruptible step
            series.counts[index] += 1
            series.recent.append(value)
        else:
            add_locked(series, index, value)
        probe = state.probe
        if probe is not None and probe() is not None:
            histogram._attach_exemplar(series, index, value, state.source)


class BoundPair:
    """A counter series and a histogram series updated by one call.

    ``BoundPair(counter.bind(labels), histogram.bind(other_labels)).record(value)`` adds
    1 to the counter's series and observes *value* in the histogram's (the RED pattern:
    a request counted by status, its duration observed by route). The result is that of
    ``increment(1)`` then ``observe(value)`` on the two handles, for less: one call, one
    uninterruptible update of both series under the GIL (otherwise the histogram series'
    lock, then the counter's) and one question to the exemplar source; while a sampled
    span is current both series keep its exemplar (the counter's with value 1). *value*
    follows ``Histogram.observe``'s rules and nothing changes when it is rejected. Holds
    the two handles and their current series (taken again after any instrument's
    ``reset()``), nothing more.
    """

    __slots__ = ("_bounds", "_counted", "_counter", "_epoch", "_histogram", "_observed")

    def __init__(self, counter: BoundCounter, histogram: BoundHistogram) -> None:
        if not isinstance(counter, BoundCounter) or not isinstance(histogram, BoundHistogram):
            raise TypeError(
                f"BoundPair takes a counter handle and a histogram handle, got "
                f"{type(counter).__name__} and {type(histogram).__name__}; pass "
                "counter.bind(labels) and histogram.bind(labels)"
            )
        self._counter = counter
        self._histogram = histogram
        self._bounds = histogram._instrument._bounds
        self._refresh()

    def _refresh(self) -> None:
        """Take the handles' current series (again, after a reset of any instrument)."""
        self._epoch = RESETS.count  # first: a reset from here on is noticed next time
        self._counted: Any = self._counter._current()
        self._observed: Any = self._histogram._current()

    @property
    def counter(self) -> BoundCounter:
        """The counter series' handle."""
        return self._counter

    @property
    def histogram(self) -> BoundHistogram:
        """The histogram series' handle."""
        return self._histogram

    def record(self, value: float) -> None:
        """Count one event and observe *value*."""
        try:
            index = bisect_left(self._bounds, value)
        except TypeError:
            raise self._histogram._instrument._bad_value(value) from None
        if value != value:
            raise self._histogram._instrument._bad_value(value)
        if self._epoch != RESETS.count:
            self._refresh()
        observed = self._observed
        counted = self._counted
        if ATOMIC_ADD and (value.__class__ is float or value.__class__ is int):
            observed.sum += value  # up to `counted.value += 1`: one uninterruptible step
            observed.counts[index] += 1
            counted.value += 1
            observed.recent.append(value)
        else:
            add_locked(observed, index, value)
            with counted.lock:
                counted.value += 1
        probe = state.probe
        if probe is not None and probe() is not None:
            histogram = self._histogram._instrument
            exemplar = capture(state.source, value, histogram._clock)
            if exemplar is not None:
                histogram._keep_exemplar(observed, index, exemplar)
                counted.exemplar = (1, exemplar[1], exemplar[2], exemplar[3])
