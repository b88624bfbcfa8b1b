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
however many distinct values it sees (per series: ``max_buckets + 1`` counts and as
many lower bounds and classic indexes for the fast path, the positive and negative
bucket dicts of at most ``max_buckets`` entries together and the fast path's copy of
the positive one, :data:`MAX_NATIVE_EXEMPLARS` exemplars, the classic counts
when kept and the ``max_observations`` recent values: about 34 KiB at 160 buckets);
the schema of a series
only goes down until ``reset()``. The latest :data:`MAX_NATIVE_EXEMPLARS` exemplars
are kept per series (plus, with classic buckets, the latest per classic bucket).

Classic buckets alongside: ``classic=True`` (the default when ``buckets`` are given)
keeps the classic buckets too, so the text and OpenMetrics formats (which cannot carry
native buckets) and ``_bucket`` queries keep working; the protobuf exposition sends
both in one message. Without them the classic view is one ``+Inf`` bucket.

The update is compiled in ``metrics._update`` like every other, on its fast path: a
positive value finds its bucket's count with one index computation, ``ceil(log2(v) *
2**schema + 1e-9)``, one dict lookup and one comparison with the bucket's lower bound
(which makes it exact), then one increment; everything else (a bucket not held yet, a
schema changed meanwhile, the zero bucket, negative and infinite values, a value within
about 1e-9 of a bucket from its lower bound) takes :meth:`NativeHistogram._native_miss`,
which locates the value exactly under the series' lock.
Reads copy the buckets under the series' lock in one uninterruptible step, so a
snapshot's count and sum match its buckets.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from .._clock import SYSTEM_CLOCK, Clock
from ..exceptions import InvalidMetricError
from ._exemplars import materialize
from ._exponential import (
    DEFAULT_MAX_BUCKETS,
    DEFAULT_SCHEMA,
    DEFAULT_ZERO_THRESHOLD,
    MAX_SCHEMA,
    MIN_SCHEMA,
    spans_and_deltas,
)
from ._native_series import MAX_NATIVE_EXEMPLARS, NativeSeries
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
    "NativeSeries",
    "NativeSettings",
    "check_native",
    "native_options",
    "spans_and_deltas",
]

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

    def _native_miss(self, series: Any, value: float) -> None:
        """Record *value* exactly, under the series' lock: the values the compiled fast
        path leaves (a bucket not held yet, a schema changed meanwhile, the zero bucket,
        negative and infinite values, a value next to a bucket's lower bound or, with
        classic buckets, below a classic bound inside its native bucket); lowers the
        schema first when a new bucket would pass ``max_buckets``."""
        bounds = self._classic
        cindex = -1 if bounds is None else bisect_left(bounds, value)
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
            self._classic or (),
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
