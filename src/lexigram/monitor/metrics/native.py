"""Native histograms: Prometheus' exponential buckets, sparse, one series per label set.

``Histogram(name, native=True)`` (or with ``schema=`` / ``max_buckets=`` /
``zero_threshold=``) makes a :class:`NativeHistogram`. Each series keeps the buckets
its values touched, by index, at the series' schema (``base = 2 ** (2 ** -schema)``,
bucket ``i`` = ``(base**(i-1), base**i]``, see ``metrics._exponential``), plus a zero
bucket for ``|v| <= zero_threshold`` and the negative side for negative values. The
relative error of a value read back from its bucket is at most ``(base - 1) / (base +
1)`` around the bucket's middle (schema 3: 4.3 %, a bucket 9 % wide). ``+inf`` and
``-inf`` land in the bucket past the largest float (as in the specification); NaN is
refused like in a classic histogram (:class:`InvalidMetricError`).

Memory: at most ``max_buckets`` (default 160) positive plus negative buckets per
series. A value that would open one bucket more first reduces the series' schema by
one (buckets ``2j - 1`` and ``2j`` merge into ``j``: half the resolution), down to -4;
at -4 the zero bucket widens to the upper bound of the bucket nearest zero, absorbing
it. So a series never holds more than ``max_buckets`` buckets plus the zero bucket,
however many distinct values it sees (per series: ``max_buckets + 1`` counts, two dicts
of at most ``max_buckets`` entries, :data:`MAX_NATIVE_EXEMPLARS` exemplars, the classic
counts when kept and the ``max_observations`` recent values); the schema of a series
only goes down until ``reset()``. The latest :data:`MAX_NATIVE_EXEMPLARS` exemplars
are kept per series (plus, with classic buckets, the latest per classic bucket).

Classic buckets alongside: ``classic=True`` (the default when ``buckets`` are given)
keeps the classic buckets too, so the text and OpenMetrics formats (which cannot carry
native buckets) and ``_bucket`` queries keep working; the protobuf exposition sends
both in one message. Without them the classic view is one ``+Inf`` bucket.

The update is compiled in ``metrics._update`` like every other, on its fast path: a
positive value above the zero bucket gets its index from one ``ceil(log2(v) *
2**schema)`` (taken when it lies further than 1e-7 of a bucket from a bound; nearer, and
for the zero bucket, negative or infinite values, :meth:`NativeHistogram._far` gives the
exact index), then one dict-and-list increment; a bucket not held yet, or a schema
changed meanwhile, takes :meth:`NativeHistogram._native_miss` (under the series' lock).
Reads copy the buckets under the series' lock in one uninterruptible step, so a
snapshot's count and sum match its buckets.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final

from .._clock import SYSTEM_CLOCK, Clock
from ..exceptions import InvalidMetricError
from ._exemplars import RawExemplar, materialize
from ._exponential import (
    DEFAULT_MAX_BUCKETS,
    DEFAULT_SCHEMA,
    DEFAULT_ZERO_THRESHOLD,
    MAX_SCHEMA,
    MIN_SCHEMA,
    index_of,
    spans_and_deltas,
    upper_bound,
)
from ._series import (
    DEFAULT_MAX_LABEL_VALUE_LENGTH,
    DEFAULT_MAX_OBSERVATIONS,
    DEFAULT_MAX_SERIES,
)
from ._update import IN_PROCESS, compiled
from .bound import NATIVE_PAIRS, BoundHistogram, BoundPair
from .histogram import Histogram
from .snapshot import HistogramSnapshot, NativeBuckets

__all__ = [
    "DEFAULT_MAX_BUCKETS",
    "DEFAULT_SCHEMA",
    "DEFAULT_ZERO_THRESHOLD",
    "MAX_NATIVE_EXEMPLARS",
    "MAX_SCHEMA",
    "MIN_SCHEMA",
    "BoundClassicNativeHistogram",
    "BoundNativeHistogram",
    "ClassicNativeHistogram",
    "ClassicNativePair",
    "NativeHistogram",
    "NativePair",
    "NativeSettings",
    "check_native",
    "native_options",
    "spans_and_deltas",
]

#: Latest exemplars kept per native series (client_golang's default as well).
MAX_NATIVE_EXEMPLARS: Final = 10

NativeSettings = tuple[int, int, float]
"""``(schema, max_buckets, zero_threshold)`` of a native histogram."""


def check_native(
    metric: str,
    schema: object = None,
    max_buckets: object = None,
    zero_threshold: object = None,
) -> NativeSettings:
    """Checked ``(schema, max_buckets, zero_threshold)``, defaults filled in; raises
    :class:`InvalidMetricError` naming the value and the rule."""
    chosen_schema = DEFAULT_SCHEMA if schema is None else schema
    if (
        isinstance(chosen_schema, bool)
        or not isinstance(chosen_schema, int)
        or not MIN_SCHEMA <= chosen_schema <= MAX_SCHEMA
    ):
        raise InvalidMetricError(
            f"schema={schema!r} of native histogram {metric!r} is out of range: it must be "
            f"an integer from {MIN_SCHEMA} to {MAX_SCHEMA} (resolution 2**(2**-schema); "
            f"{DEFAULT_SCHEMA} is about 9 % per bucket)"
        )
    chosen_max = DEFAULT_MAX_BUCKETS if max_buckets is None else max_buckets
    if isinstance(chosen_max, bool) or not isinstance(chosen_max, int) or chosen_max < 1:
        raise InvalidMetricError(
            f"max_buckets={max_buckets!r} of native histogram {metric!r} is invalid: it "
            f"must be an integer >= 1 (default {DEFAULT_MAX_BUCKETS}); past it the schema "
            "is reduced"
        )
    chosen_zero = DEFAULT_ZERO_THRESHOLD if zero_threshold is None else zero_threshold
    if (
        isinstance(chosen_zero, bool)
        or not isinstance(chosen_zero, int | float)
        or not 0 < chosen_zero < math.inf
    ):
        raise InvalidMetricError(
            f"zero_threshold={zero_threshold!r} of native histogram {metric!r} is invalid: "
            f"it must be a finite number > 0 (default 2**-128); Prometheus 2.42 reads a "
            "histogram with threshold 0 as a classic one"
        )
    return chosen_schema, chosen_max, float(chosen_zero)


def native_options(collector: object) -> dict[str, Any]:
    """The ``create_histogram`` options the HTTP middlewares pass for their request-
    duration histograms: native ones (schema, bucket limit and classic buckets from the
    same config) when *collector* is a ``MetricsCollector`` whose
    ``MetricsConfig.native_histograms`` is on; else none (any other collector gets the
    plain protocol call)."""
    from ..config import MetricsConfig
    from .collector import MetricsCollector

    if not isinstance(collector, MetricsCollector):
        return {}
    config = collector.config
    if not isinstance(config, MetricsConfig) or not config.native_histograms:
        return {}
    return {
        "native": True,
        "schema": config.native_histogram_schema,
        "max_buckets": config.native_histogram_max_buckets,
        "classic": config.native_histogram_classic,
    }


class NativeSeries:
    """One native series: classic counts (when kept), the native buckets, the sum.

    ``positive`` / ``negative`` map a bucket index to the position of its count in
    ``slots``; ``zero`` is ``{0: 0}`` (the zero bucket's count is ``slots[0]``).
    ``scale`` (``2.0 ** schema``), ``schema`` and ``threshold`` say how a value finds
    its bucket. A schema change first drains the bucket dicts (:meth:`drain`), then
    replaces them and the scale in one uninterruptible run (:meth:`rescale`). Slots of
    drained buckets are reused, so ``slots`` never holds more than ``max_buckets + 1``
    counts. Subclasses keep ``slots`` elsewhere (the shared layout's cells) by
    overriding :meth:`_allocate` and :meth:`_release`.
    """

    __slots__ = (
        "_free",
        "counts",
        "created",
        "exemplars",
        "lock",
        "native_exemplars",
        "negative",
        "positive",
        "recent",
        "scale",
        "schema",
        "slots",
        "sum",
        "threshold",
        "zero",
    )

    def __init__(
        self, classic: int, created: float, max_observations: int, schema: int, threshold: float
    ) -> None:
        self.lock = threading.Lock()
        self.counts = [0] * classic
        self.sum = 0.0
        self.recent: deque[float] = deque(maxlen=max_observations)
        self.created = created
        self.exemplars: list[RawExemplar | None] | None = None
        self.native_exemplars: deque[RawExemplar] = deque(maxlen=MAX_NATIVE_EXEMPLARS)
        self.slots: Any = [0]
        self._free: list[int] = []
        self.zero: dict[int, int] = {0: 0}
        self.negative: dict[int, int] = {}
        self.positive: dict[int, int] = {}
        self.scale = 2.0**schema
        self.schema = schema
        self.threshold = threshold

    def keep_exemplar(self, index: int, exemplar: RawExemplar) -> None:
        """Keep *exemplar* among the latest of the series and, for classic bucket
        *index* (-1: none), as that bucket's latest."""
        self.native_exemplars.append(exemplar)
        if index >= 0:
            exemplars = self.exemplars
            if exemplars is None:
                exemplars = self.exemplars = [None] * len(self.counts)
            exemplars[index] = exemplar

    def locate(self, value: float) -> tuple[int, dict[int, int]]:
        """``(index, buckets)`` of *value* at the series' current schema (exact). The
        bucket dicts, schema and threshold are read in one run (no call between), so
        they belong together; dicts replaced meanwhile are drained (KeyError)."""
        positive = self.positive
        negative = self.negative
        schema = self.schema
        threshold = self.threshold
        if -threshold <= value <= threshold:
            return 0, self.zero
        return index_of(value, schema), (positive if value > 0 else negative)

    def add(self, buckets: dict[int, int], index: int, count: int) -> None:
        """Add *count* to bucket *index* of *buckets*, giving it a slot when new
        (caller holds the lock; the add itself is one uninterruptible step)."""
        if index not in buckets:
            buckets[index] = self._allocate(index, buckets is self.negative)
        self.slots[buckets[index]] += count

    def _allocate(self, index: int, negative: bool) -> int:
        """A zeroed slot for a new bucket."""
        if self._free:
            return self._free.pop()
        self.slots.append(0)
        return len(self.slots) - 1

    def _release(self, slot: int) -> None:
        """Give back the slot of a drained bucket (nobody can reach it any more)."""
        self.slots[slot] = 0
        self._free.append(slot)

    def drain(self) -> list[tuple[list[tuple[int, Any]], bool]]:
        """Empty the bucket dicts one ``pop`` at a time (caller holds the lock): an
        update racing with it either incremented a bucket before its pop or raises
        ``KeyError`` and retries under the lock. Returns ``(buckets, negative)``."""
        drained: list[tuple[list[tuple[int, Any]], bool]] = []
        for side, negative in ((self.positive, False), (self.negative, True)):
            taken: list[tuple[int, Any]] = []
            for key in list(side):
                slot = side.pop(key)
                taken.append((key, self.slots[slot]))
                self._release(slot)
            drained.append((taken, negative))
        return drained

    def rescale(self, schema: int, threshold: float) -> None:
        """Switch to *schema* and *threshold* with empty buckets (caller holds the lock,
        after :meth:`drain`)."""
        positive: dict[int, int] = {}
        negative: dict[int, int] = {}
        factor = 2.0**schema
        # one uninterruptible run (no calls), positive last
        self.scale = factor
        self.schema = schema
        self.threshold = threshold
        self.negative = negative
        self.positive = positive

    def shrink(self) -> None:
        """Halve the resolution (schema - 1), or at the lowest schema widen the zero
        bucket over the bucket nearest zero; caller holds the lock."""
        schema, threshold = self.schema, self.threshold
        if schema > MIN_SCHEMA:
            new_schema, new_threshold = schema - 1, threshold
        else:
            nearest = [min(side) for side in (self.positive, self.negative) if side]
            if not nearest:
                return
            new_schema = schema
            new_threshold = max(threshold, upper_bound(min(nearest), schema))
        drained = self.drain()
        self.rescale(new_schema, new_threshold)
        for buckets, negative in drained:
            target = self.negative if negative else self.positive
            for index, count in buckets:
                if new_schema != schema:
                    self.add(target, (index + 1) >> 1, count)
                elif upper_bound(index, schema) <= new_threshold:
                    self.add(self.zero, 0, count)
                else:
                    self.add(target, index, count)

    def copy(self) -> tuple[list[int], float, NativeBuckets]:
        """Classic counts, sum and native buckets, consistent with each other."""
        with self.lock:
            positive = {**self.positive}
            negative = {**self.negative}
            slots = self.slots[:]
            counts = self.counts[:]
            total = self.sum
            schema = self.schema
            threshold = self.threshold
        exemplars = tuple(materialize(e) for e in list(self.native_exemplars))
        return (
            counts,
            total,
            NativeBuckets(
                schema,
                threshold,
                int(slots[0]),
                tuple(sorted((i, int(slots[j])) for i, j in positive.items() if slots[j])),
                tuple(sorted((i, int(slots[j])) for i, j in negative.items() if slots[j])),
                tuple(e for e in exemplars if e is not None),
            ),
        )


def keeps_classic(args: tuple[Any, ...], options: Mapping[str, Any]) -> bool:
    """Whether constructor arguments ask for classic buckets beside the native ones
    (``classic=True``, or ``buckets`` given without ``classic``)."""
    classic = options.get("classic")
    if classic is not None:
        return bool(classic)
    buckets = args[3] if len(args) > 3 else options.get("buckets")
    return buckets is not None


class NativeHistogram(Histogram):
    """A histogram with native (exponential) buckets; see the module docstring.

    Made by ``Histogram(..., native=True)`` or with any of ``schema`` (-4..8, default
    3), ``max_buckets`` (>= 1, default 160) and ``zero_threshold`` (> 0, default
    2**-128). ``classic`` keeps classic buckets alongside (default: when ``buckets``
    are given); such a histogram is a :class:`ClassicNativeHistogram`.
    """

    __slots__ = ("_classic", "_max_buckets", "_schema", "_zero_threshold")
    native = True
    #: Whether the class keeps classic buckets beside the native ones.
    keeps_classic: ClassVar[bool] = False
    #: The class that keeps classic buckets too (``Histogram.__new__`` picks it).
    _classic_twin: ClassVar[type[NativeHistogram] | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """This class, or its twin keeping classic buckets when they are asked for."""
        if keeps_classic(args, kwargs) and not cls.keeps_classic:
            twin = cls.__dict__.get("_classic_twin")
            if twin is not None:
                cls = twin
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
        if native is False:
            raise InvalidMetricError(
                f"histogram {name!r} got native=False with native settings; drop "
                "schema/max_buckets/zero_threshold or set native=True"
            )
        settings = check_native(name, schema, max_buckets, zero_threshold)
        super().__init__(
            name,
            description,
            labels,
            buckets,
            max_observations=max_observations,
            max_series=max_series,
            max_label_value_length=max_label_value_length,
            clock=clock,
        )
        self._schema, self._max_buckets, self._zero_threshold = settings
        self._classic: tuple[float, ...] | None = self._bounds if self.keeps_classic else None
        if not self.keeps_classic:
            self._bounds = (math.inf,)

    @property
    def schema(self) -> int:
        """The schema new series start at (a series lowers its own past
        ``max_buckets``)."""
        return self._schema

    @property
    def max_buckets(self) -> int:
        """Positive plus negative buckets a series keeps at most."""
        return self._max_buckets

    @property
    def zero_threshold(self) -> float:
        """Half-width of the zero bucket of a new series."""
        return self._zero_threshold

    @compiled("NativeHistogram.observe")
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundNativeHistogram:
        """The series of *labels* as a handle whose ``observe(value)`` skips the lookup."""
        return BoundNativeHistogram(self, labels, self._classic)

    def get_native_buckets(self, labels: Mapping[str, str] | None = None) -> NativeBuckets:
        """The native buckets of the series of *labels* (empty when it has none)."""
        series = self._lookup(labels)
        if series is None:
            return NativeBuckets(self._schema, self._zero_threshold, 0, (), ())
        return self._native_copy(series)[2]

    def get_quantile(self, q: float, labels: Mapping[str, str] | None = None) -> float:
        """The *q*-quantile (0..1) from the native buckets, as Prometheus'
        ``histogram_quantile`` computes it; NaN while the series is empty."""
        return self.get_native_buckets(labels).quantile(q)

    # -- the update's slow paths ---------------------------------------------------------

    def _far(self, series: Any, value: float) -> tuple[int, dict[int, int]]:
        """``(index, buckets)`` of a value the fast rule does not take (zero bucket,
        negative, near a bucket bound, infinite); NaN raises."""
        if value != value:
            raise self._bad_value(value)
        located: tuple[int, dict[int, int]] = series.locate(value)
        return located

    def _native_miss(self, series: Any, value: float, cindex: int) -> None:
        """Record *value* whose bucket the series does not hold (or whose schema
        changed meanwhile), under the series' lock; lowers the schema first when the
        series holds ``max_buckets`` buckets."""
        with series.lock:
            index, buckets = series.locate(value)
            while (
                index not in buckets
                and buckets is not series.zero
                and len(series.positive) + len(series.negative) >= self._max_buckets
            ):
                series.shrink()
                index, buckets = series.locate(value)
            if index not in buckets:
                series.add(buckets, index, 0)
            # one run: bucket, classic count and sum together
            series.slots[buckets[index]] += 1
            if cindex >= 0:
                series.counts[cindex] += 1
            series.sum += value
        series.recent.append(value)

    # -- reads ---------------------------------------------------------------------------

    @staticmethod
    def _native_copy(series: Any) -> tuple[list[int], float, NativeBuckets]:
        copied: tuple[list[int], float, NativeBuckets] = series.copy()
        return copied

    def _copy(self, series: Any) -> tuple[list[int], float]:  # type: ignore[override]
        counts, total, native = self._native_copy(series)
        return (counts if self._classic is not None else [native.count]), total

    def _new_series(self) -> NativeSeries:  # type: ignore[override]
        return NativeSeries(
            0 if self._classic is None else len(self._classic),
            self._clock.time(),
            self._max_observations,
            self._schema,
            self._zero_threshold,
        )

    def _snapshot(
        self, names: tuple[str, ...], values: tuple[str, ...], series: Any
    ) -> HistogramSnapshot:
        counts, total, native = self._native_copy(series)
        if self._classic is None:
            counts = [native.count]
        cumulative: list[int] = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        exemplars = series.exemplars if self._classic is not None else None
        return HistogramSnapshot(
            names,
            values,
            self._bounds,
            tuple(cumulative),
            total,
            running,
            series.created,
            () if exemplars is None else tuple(materialize(e) for e in exemplars),
            native,
        )


class ClassicNativeHistogram(NativeHistogram):
    """A :class:`NativeHistogram` that keeps classic buckets alongside."""

    __slots__ = ()
    keeps_classic = True

    @compiled("ClassicNativeHistogram.observe")
    def observe(self, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Record *value* in the series of *labels* (the unlabelled one when None)."""

    def bind(self, labels: Mapping[str, str] | None = None) -> BoundNativeHistogram:
        """The series of *labels* as a handle whose ``observe(value)`` skips the lookup."""
        return BoundClassicNativeHistogram(self, labels, self._classic)


class BoundNativeHistogram(BoundHistogram):
    """One series of a :class:`NativeHistogram` (``NativeHistogram.bind``); ``_bounds``
    are the classic bounds (None without classic buckets)."""

    __slots__ = ()
    native = True
    keeps_classic: ClassVar[bool] = False

    def __init__(
        self,
        instrument: Any,
        labels: Mapping[str, str] | None,
        bounds: tuple[float, ...] | None,
    ) -> None:
        super().__init__(instrument, labels, bounds)  # type: ignore[arg-type]

    @compiled("BoundNativeHistogram.observe")
    def observe(self, value: float) -> None:
        """Record *value*; the rules of ``NativeHistogram.observe``."""


class BoundClassicNativeHistogram(BoundNativeHistogram):
    """One series of a :class:`ClassicNativeHistogram`."""

    __slots__ = ()
    keeps_classic = True

    @compiled("BoundClassicNativeHistogram.observe")
    def observe(self, value: float) -> None:
        """Record *value*; the rules of ``NativeHistogram.observe``."""


class NativePair(BoundPair):
    """:class:`~.bound.BoundPair` over a native histogram handle (chosen by
    ``BoundPair(...)``)."""

    __slots__ = ()

    @compiled("NativePair.record")
    def record(self, value: float) -> None:
        """Count one event and observe *value*."""


class ClassicNativePair(BoundPair):
    """:class:`~.bound.BoundPair` over a handle of a :class:`ClassicNativeHistogram`."""

    __slots__ = ()

    @compiled("ClassicNativePair.record")
    def record(self, value: float) -> None:
        """Count one event and observe *value*."""


NATIVE_PAIRS[IN_PROCESS, False] = NativePair
NATIVE_PAIRS[IN_PROCESS, True] = ClassicNativePair
Histogram._native_twin = NativeHistogram
NativeHistogram._classic_twin = ClassicNativeHistogram
