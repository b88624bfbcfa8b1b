"""Bound series: one label set of an instrument, resolved once, updated without lookup.

``Counter.bind(labels)``, ``Gauge.bind(labels)`` and ``Histogram.bind(labels)`` return a
handle whose updates skip the label validation and the key-cache lookup: the series is
found (or created, or mapped to the overflow series past the cap) when the handle is
made, with the same rules and errors as a labelled update. Hot paths that reuse a few
label sets — a middleware caching one handle per (method, route, status), raising and
lowering an in-progress gauge with ``increment()``/``decrement()`` — touch only the
series itself. Values, exemplars and thread safety are those of the instrument's own
update methods: all of them are compiled from the same steps in ``metrics._update``.
After any instrument's ``reset()`` a handle resolves its series again on its next
update. A handle holds the instrument, a copy of the labels and one series; it adds
nothing to the instrument's bounds. :class:`BoundPair` updates a counter handle and a
histogram handle in one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ._series import Instrument
from ._update import IN_PROCESS, RESETS, Layout, compiled

__all__ = ["BoundCounter", "BoundGauge", "BoundHistogram", "BoundPair"]


class _Bound:
    __slots__ = ("_epoch", "_instrument", "_labels", "_series")
    #: Where the series of this handle class keep their numbers (``metrics._update``).
    layout: ClassVar[Layout] = IN_PROCESS

    def __init__(self, instrument: Instrument[Any, Any], labels: Mapping[str, str] | None) -> None:
        self._instrument = instrument
        self._labels = None if labels is None else dict(labels)
        self._refresh()

    @property
    def labels(self) -> dict[str, str]:
        """The label set this handle updates (a copy)."""
        return dict(self._labels or {})

    def _refresh(self) -> None:
        """Resolve the series (again, after a reset of any instrument)."""
        self._epoch = RESETS.count  # first: a reset from here on is noticed next time
        self._series: Any = self._instrument._series_of(self._labels)

    def _current(self) -> Any:
        """The series, resolved again if any instrument was reset since."""
        if self._epoch != RESETS.count:
            self._refresh()
        return self._series

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._instrument.name!r}, {self._labels or {}!r})"


class BoundCounter(_Bound):
    """One series of a :class:`~lexigram.monitor.metrics.Counter` (``Counter.bind``)."""

    __slots__ = ()

    @compiled("BoundCounter.increment")
    def increment(self, amount: float = 1) -> None:
        """Add *amount* (>= 0); the rules of ``Counter.increment``."""


class BoundGauge(_Bound):
    """One series of a :class:`~lexigram.monitor.metrics.Gauge` (``Gauge.bind``).

    ``token = handle.enter()`` ... ``handle.leave(token)`` is the in-progress pattern
    (raise by one when work starts, lower by one when it ends): one call each, no
    lookup, and the series raised is the series lowered even if the gauge is reset in
    between (the token is that series; treat it as opaque).
    """

    __slots__ = ()

    @compiled("BoundGauge.enter")
    def enter(self) -> object:
        """Add 1 to the series; returns the token :meth:`leave` takes."""

    @compiled("BoundGauge.leave")
    def leave(self, token: object) -> None:
        """Subtract 1 from the series :meth:`enter` returned *token* for."""

    @compiled("BoundGauge.increment")
    def increment(self, amount: float = 1) -> None:
        """Add *amount* (may be negative); the rules of ``Gauge.increment``."""

    @compiled("BoundGauge.decrement")
    def decrement(self, amount: float = 1) -> None:
        """Subtract *amount*; the rules of ``Gauge.decrement``."""

    @compiled("BoundGauge.set")
    def set(self, value: float) -> None:
        """Set the series to *value*; the rules of ``Gauge.set``."""


class BoundHistogram(_Bound):
    """One series of a :class:`~lexigram.monitor.metrics.Histogram` (``Histogram.bind``)."""

    __slots__ = ("_bounds",)
    #: Whether the handle's histogram keeps native buckets (``metrics.native``).
    native: ClassVar[bool] = False

    def __init__(
        self,
        instrument: Instrument[Any, Any],
        labels: Mapping[str, str] | None,
        bounds: tuple[float, ...],
    ) -> None:
        self._bounds = bounds
        super().__init__(instrument, labels)

    @compiled("BoundHistogram.observe")
    def observe(self, value: float) -> None:
        """Record *value*; the rules of ``Histogram.observe``."""


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

    __slots__ = (
        "_bounds",
        "_clock",
        "_counted",
        "_counter",
        "_epoch",
        "_histogram",
        "_observed",
        "_owner",
    )

    def __new__(cls, counter: BoundCounter, histogram: BoundHistogram) -> BoundPair:
        """The pair class compiled for the handles' layout, chosen once, here: handles
        of two layouts (instruments of a multi-process and an in-process collector)
        get a pair that calls both handles."""
        if cls is BoundPair:
            layout = getattr(counter, "layout", None)
            found: type[BoundPair] | None = None
            if layout is getattr(histogram, "layout", None):
                if getattr(histogram, "native", False):
                    classic = bool(getattr(histogram, "keeps_classic", False))
                    found = NATIVE_PAIRS.get((layout, classic))  # type: ignore[arg-type]
                else:
                    found = PAIRS.get(layout)  # type: ignore[arg-type]
            cls = found if found is not None else _SplitPair
        return object.__new__(cls)

    def __init__(self, counter: BoundCounter, histogram: BoundHistogram) -> None:
        if not isinstance(counter, BoundCounter) or not isinstance(histogram, BoundHistogram):
            raise TypeError(
                f"BoundPair takes a counter handle and a histogram handle, got "
                f"{type(counter).__name__} and {type(histogram).__name__}; pass "
                "counter.bind(labels) and histogram.bind(labels)"
            )
        self._counter = counter
        self._histogram = histogram
        self._owner = histogram._instrument
        self._bounds = histogram._bounds
        self._clock = self._owner._clock
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

    @compiled("BoundPair.record")
    def record(self, value: float) -> None:
        """Count one event and observe *value*."""


class _SplitPair(BoundPair):
    """A pair of handles of two layouts: ``increment(1)`` then ``observe(value)``."""

    __slots__ = ()

    def record(self, value: float) -> None:
        """Count one event and observe *value* (two updates)."""
        self._histogram.observe(value)  # first: a rejected value changes nothing
        self._counter.increment(1)


#: Layout -> the BoundPair class compiled for it (the shared layout registers its own).
PAIRS: dict[Layout, type[BoundPair]] = {IN_PROCESS: BoundPair}
#: (layout, keeps classic buckets) -> the pair class over a native histogram handle
#: (``metrics.native`` and the shared layout register theirs).
NATIVE_PAIRS: dict[tuple[Layout, bool], type[BoundPair]] = {}
