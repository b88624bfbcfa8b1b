"""MetricsCollector: the registry of instruments, and the process-wide default one.

``create_*`` return the existing instrument when the name is taken by the same type and
raise :class:`InvalidMetricError` when it is taken by another type; data is never
replaced. Names given to ``create_*`` must be valid metric names; the name-based API
(``increment``/``gauge``/``histogram``) first applies ``naming.to_metric_name`` (dots and
dashes become underscores) and creates the instrument on first use.

A :class:`~lexigram.monitor.config.MetricsConfig` is honoured as follows: ``prefix``
(through ``make_metric_name``) for every name created here, ``default_labels`` merged
under each instrument's own default labels, ``histogram_buckets`` for histograms
created without buckets, ``max_series_per_metric``, ``max_label_value_length`` and
``max_observations`` for every instrument, and ``enabled=False`` turns the name-based
API into a no-op.

Bounds: at most ``max_metrics`` instruments (default 10,000). Past it ``create_*`` and
``register_metric`` raise, while the name-based API drops the value, counts it in
:attr:`MetricsCollector.dropped` and logs a rate-limited warning. The name-based
lookup cache holds at most ``2 * max_metrics`` names.

Exporters read :meth:`MetricsCollector.get_all_metrics` and, for every instrument with a
``kind``, its ``collect()`` snapshots (see ``metrics.snapshot``).

A collection callback that raises is counted in
``lexigram_monitor_collection_failures_total`` of the default collector, and label values
cut to an instrument's ``max_label_value_length`` in
``lexigram_monitor_labels_truncated_total{metric}`` (this module counts both and wires
the second into ``_series.CUT_LABELS``: ``metrics`` imports nothing above itself).

Multi-process mode (``config.multiprocess_dir`` or ``LEX_MONITOR__METRICS__MULTIPROCESS_DIR``,
see ``metrics.multiprocess``) is decided once, when the collector is created: its
instruments then keep their series in this process's shared file, and
:meth:`MetricsCollector.exposed_instruments` returns the merge of every worker.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from ..exceptions import InvalidMetricError
from ..hooks import MetricRecordedHook, default_bus
from ..protocols import MetricProtocol
from ._series import CUT_LABELS, Instrument
from .collection import COLLECTION_FAILURES, CollectionCallback, CollectionCallbacks
from .counter import Counter
from .gauge import Gauge
from .histogram import Histogram
from .multiprocess import MultiProcess, gauge_mode, settings
from .naming import to_metric_name, validate_metric_name
from .summary import DEFAULT_QUANTILES, Summary

if TYPE_CHECKING:
    from ..config import MetricsConfig

__all__ = [
    "DEFAULT_MAX_METRICS",
    "LABELS_TRUNCATED",
    "MetricsCollector",
    "get_default_collector",
    "set_default_collector",
]

DEFAULT_MAX_METRICS = 10_000

LABELS_TRUNCATED = (
    "lexigram_monitor_labels_truncated_total",
    "Label values cut to the length cap (MetricsConfig.max_label_value_length), by metric.",
)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.metrics.collector"))

InstrumentT = TypeVar("InstrumentT", bound=Instrument[Any, Any])


class _CollectorFullError(InvalidMetricError):
    """The collector holds ``max_metrics`` metrics (the facade drops instead of raising)."""


def _kind_of(metric: object) -> str:
    kind = getattr(metric, "kind", None)
    return kind if isinstance(kind, str) else type(metric).__name__


class MetricsCollector:
    """Central metrics collection and reporting.

    Thread-safe. ``config`` defaults to ``MetricsConfig()`` (built on construction, so
    importing this module does not load pydantic); ``clock`` stamps series creation times
    and exemplars of the instruments created here.
    """

    def __init__(
        self,
        config: MetricsConfig | None = None,
        *,
        max_metrics: int = DEFAULT_MAX_METRICS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if isinstance(max_metrics, bool) or not isinstance(max_metrics, int) or max_metrics < 1:
            raise InvalidMetricError(f"max_metrics={max_metrics!r} must be an integer >= 1")
        if config is None:
            from ..config import MetricsConfig

            config = MetricsConfig()
        self._config = config
        self._enabled = self._config.enabled
        self._max_metrics = max_metrics
        self._clock = clock
        self._lock = threading.Lock()
        self._metrics: dict[str, Any] = {}
        # facade name -> instrument, one table per type, so repeated names skip parsing
        self._counters: dict[str, Counter] = {}
        self._gauges: dict[str, Gauge] = {}
        self._histograms: dict[str, Histogram] = {}
        self._dropped = 0
        self._collection = CollectionCallbacks(
            self._config.collection_interval, on_failure=_count_collection_failure
        )
        found = settings(self._config)
        self._multiprocess = None if found is None else MultiProcess(*found, _count_failure)
        if self._multiprocess is not None:
            from ._shared_series import SharedCounter, SharedGauge, SharedSummary, shared_histogram

            shared = self._multiprocess.shared
            self._kinds: dict[type[Any], Callable[..., Any]] = {
                Counter: functools.partial(SharedCounter, shared=shared),
                Gauge: functools.partial(SharedGauge, shared=shared),
                Histogram: functools.partial(shared_histogram, shared=shared),
                Summary: functools.partial(SharedSummary, shared=shared),
            }
        else:
            self._kinds = {Counter: Counter, Gauge: Gauge, Histogram: Histogram, Summary: Summary}

    @property
    def config(self) -> MetricsConfig:
        """The configuration this collector honours."""
        return self._config

    @property
    def multiprocess(self) -> MultiProcess | None:
        """The multi-process mode of this collector (None in single-process mode)."""
        return self._multiprocess

    @property
    def dropped(self) -> int:
        """Values dropped by the name-based API because ``max_metrics`` was reached."""
        return self._dropped

    # -- explicit instruments -----------------------------------------------------------

    def create_counter(
        self, name: str, description: str = "", labels: dict[str, str] | None = None
    ) -> Counter:
        """Get or create the counter *name* (prefixed by ``config.prefix``)."""
        full = self._full_name(name)
        return self._get_or_create(
            Counter,
            full,
            lambda: self._kinds[Counter](
                full, description, self._labels(labels), **self._series_kwargs()
            ),
        )

    def create_gauge(
        self,
        name: str,
        description: str = "",
        labels: dict[str, str] | None = None,
        *,
        multiprocess_mode: str | None = None,
    ) -> Gauge:
        """Get or create the gauge *name* (prefixed by ``config.prefix``).

        *multiprocess_mode* says how the workers' values combine in multi-process mode
        (``all``, ``sum``, ``live_sum``, ``max``, ``min``, ``latest``; see
        ``metrics.multiprocess``); it is checked in either mode.
        """
        full = self._full_name(name)
        mode = gauge_mode(name, multiprocess_mode)

        def make() -> Gauge:
            options = self._series_kwargs()
            if self._multiprocess is not None:
                options["mode"] = mode
            gauge: Gauge = self._kinds[Gauge](full, description, self._labels(labels), **options)
            return gauge

        return self._get_or_create(Gauge, full, make)

    def create_histogram(
        self,
        name: str,
        description: str = "",
        labels: dict[str, str] | None = None,
        buckets: Iterable[float] | None = None,
        *,
        native: bool | None = None,
        schema: int | None = None,
        max_buckets: int | None = None,
        zero_threshold: float | None = None,
        classic: bool | None = None,
    ) -> Histogram:
        """Get or create the histogram *name*; buckets default to ``config.histogram_buckets``.

        ``native=True`` (or any of ``schema``, ``max_buckets``, ``zero_threshold``) makes
        a native histogram (``metrics.native``); it keeps classic buckets alongside when
        ``classic=True`` or *buckets* are given (then ``config.histogram_buckets`` when
        *buckets* is None). Settings out of range raise :class:`InvalidMetricError`. In
        multi-process mode the native buckets are shared and merged across workers
        (``metrics._shared_native``).
        """
        full = self._full_name(name)
        options: dict[str, Any] = {}
        wanted = native is True or any(v is not None for v in (schema, max_buckets, zero_threshold))
        if wanted:
            options = {
                "native": native,
                "schema": schema,
                "max_buckets": max_buckets,
                "zero_threshold": zero_threshold,
                "classic": buckets is not None if classic is None else classic,
            }
        elif native is not None or classic is not None:
            options = {"native": native, "classic": classic}
        chosen = self._config.histogram_buckets if buckets is None else buckets
        return self._get_or_create(
            Histogram,
            full,
            lambda: self._kinds[Histogram](
                full,
                description,
                self._labels(labels),
                chosen,
                max_observations=self._config.max_observations,
                **options,
                **self._series_kwargs(),
            ),
        )

    def create_summary(
        self,
        name: str,
        description: str = "",
        labels: dict[str, str] | None = None,
        *,
        quantiles: Iterable[float] = DEFAULT_QUANTILES,
    ) -> Summary:
        """Get or create the summary *name* (prefixed by ``config.prefix``)."""
        full = self._full_name(name)
        return self._get_or_create(
            Summary,
            full,
            lambda: self._kinds[Summary](
                full,
                description,
                self._labels(labels),
                quantiles=quantiles,
                max_observations=self._config.max_observations,
                **self._series_kwargs(),
            ),
        )

    def register_metric(self, metric: MetricProtocol) -> None:
        """Register an existing metric instrument under its own ``name``.

        Registering the same object twice is a no-op. When the name is taken by another
        object of the same type, the registered one is kept (its data is never replaced)
        and a warning says so; another type raises :class:`InvalidMetricError`.
        """
        name = validate_metric_name(getattr(metric, "name", None))
        with self._lock:
            existing = self._metrics.get(name)
            if existing is None:
                self._check_capacity(name)
                self._metrics[name] = metric
                return
        if existing is metric:
            return
        if _kind_of(existing) != _kind_of(metric):
            raise self._clash(name, existing, _kind_of(metric))
        _log.warning(
            f"register:{name}",
            "metric %r is already registered (another %s); keeping the registered one. "
            "Use get_metric(%r) to record into it.",
            name,
            _kind_of(existing),
            name,
        )

    def get_metric(self, name: str) -> MetricProtocol | None:
        """The metric registered as *name* (also tried as a prefixed facade name)."""
        metric: MetricProtocol | None = self._metrics.get(name)
        if metric is None and isinstance(name, str):
            try:
                candidate = self._config.make_metric_name(to_metric_name(name))
            except InvalidMetricError:
                return None
            metric = self._metrics.get(candidate)
        return metric

    def get_all_metrics(self) -> dict[str, MetricProtocol]:
        """A copy of the name -> metric table."""
        with self._lock:
            return dict(self._metrics)

    def instruments(self) -> list[Counter | Gauge | Histogram | Summary]:
        """The registered metrics that offer the snapshot API (``kind``, ``collect()``).

        This is what exporters read; objects registered through ``register_metric`` that
        are not lexigram instruments are left out.
        """
        with self._lock:
            metrics = list(self._metrics.values())
        return [m for m in metrics if isinstance(m, Counter | Gauge | Histogram | Summary)]

    def exposed_instruments(self, process_metrics: bool = True) -> list[Any]:
        """What ``/metrics`` shows: :meth:`instruments`, or in multi-process mode the
        service view — every worker's instruments merged, plus the process metrics of
        every live worker when *process_metrics* (see ``metrics.multiprocess``; raises
        ``MultiprocessError`` when the shared directory cannot be read)."""
        own = self.instruments()
        if self._multiprocess is None:
            return list(own)
        return self._multiprocess.instruments(own, process_metrics)

    def clear(self) -> None:
        """Forget every metric (instruments already handed out keep working, unregistered)."""
        with self._lock:
            self._metrics = {}
            self._counters = {}
            self._gauges = {}
            self._histograms = {}

    # -- collection callbacks -----------------------------------------------------------

    def add_collection_callback(self, callback: CollectionCallback) -> Callable[[], None]:
        """Run *callback* every ``config.collection_interval`` seconds (while collection
        runs) to refresh read-out values, e.g. ``lambda: depth.set(queue.qsize())``.

        Returns a function removing it. At most 256 callbacks; see ``metrics.collection``.
        """
        return self._collection.add(callback)

    def collect_now(self) -> int:
        """Run every collection callback once now; returns how many failed."""
        return self._collection.run()

    async def start_collection(self) -> None:
        """Start running the callbacks every ``collection_interval`` seconds (idempotent)."""
        self._collection.start()

    async def stop_collection(self) -> None:
        """Stop the periodic callbacks (idempotent)."""
        await self._collection.stop()

    @property
    def collecting(self) -> bool:
        """True while the periodic callbacks run."""
        return self._collection.running

    # -- name-based API -----------------------------------------------------------------

    def increment(self, name: str, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        """Increment the counter *name* (created on first use) by *value*."""
        if not self._enabled:
            return
        counter = self._counters.get(name)
        if counter is None:
            counter = self._named(name, self._counters, Counter, self.create_counter)
            if counter is None:
                return
        counter.increment(value, tags)
        if default_bus.has_subscribers(MetricRecordedHook):
            self._emit(counter.name, value, tags, "counter")

    def gauge(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Set the gauge *name* (created on first use) to *value*."""
        if not self._enabled:
            return
        gauge = self._gauges.get(name)
        if gauge is None:
            gauge = self._named(name, self._gauges, Gauge, self.create_gauge)
            if gauge is None:
                return
        gauge.set(value, tags)
        if default_bus.has_subscribers(MetricRecordedHook):
            self._emit(gauge.name, value, tags, "gauge")

    def histogram(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Observe *value* in the histogram *name* (created on first use)."""
        if not self._enabled:
            return
        histogram = self._histograms.get(name)
        if histogram is None:
            histogram = self._named(name, self._histograms, Histogram, self.create_histogram)
            if histogram is None:
                return
        histogram.observe(value, tags)
        if default_bus.has_subscribers(MetricRecordedHook):
            self._emit(histogram.name, value, tags, "histogram")

    # -- internals ----------------------------------------------------------------------

    def _full_name(self, name: str) -> str:
        return self._config.make_metric_name(validate_metric_name(name))

    def _labels(self, labels: Mapping[str, str] | None) -> dict[str, str]:
        return {**self._config.default_labels, **(labels or {})}

    def _series_kwargs(self) -> dict[str, Any]:
        return {
            "max_series": self._config.max_series_per_metric,
            "max_label_value_length": self._config.max_label_value_length,
            "clock": self._clock,
        }

    def _check_capacity(self, name: str) -> None:
        if len(self._metrics) >= self._max_metrics:
            raise _CollectorFullError(
                f"cannot add metric {name!r}: this collector already holds {self._max_metrics} "
                "metrics, its limit (max_metrics); metric names must not carry unbounded "
                "values such as ids — put those in labels, or raise max_metrics"
            )

    def _clash(self, name: str, existing: object, wanted: str) -> InvalidMetricError:
        return InvalidMetricError(
            f"metric {name!r} already exists as a {_kind_of(existing)}, so it cannot also be "
            f"a {wanted}: a metric name has one type. Choose another name, or use "
            f"get_metric({name!r})"
        )

    def _get_or_create(
        self, cls: type[InstrumentT], name: str, factory: Callable[[], InstrumentT]
    ) -> InstrumentT:
        with self._lock:
            existing = self._metrics.get(name)
            if existing is None:
                self._check_capacity(name)
                created = factory()
                self._metrics[name] = created
                return created
        if isinstance(existing, cls):
            return existing
        raise self._clash(name, existing, cls.kind)

    def _named(
        self,
        name: str,
        table: dict[str, InstrumentT],
        cls: type[InstrumentT],
        create: Callable[[str], InstrumentT],
    ) -> InstrumentT | None:
        """Resolve a facade name to its instrument, creating it; None when dropped."""
        full = self._config.make_metric_name(to_metric_name(name))
        existing = self._metrics.get(full)
        if existing is not None and not isinstance(existing, cls):
            raise self._clash(full, existing, cls.kind)
        try:
            instrument = create(full) if existing is None else existing
        except _CollectorFullError:
            with self._lock:
                self._dropped += 1
            _log.warning(
                "collector-full",
                "dropped a value for metric %r: the collector holds %d metrics (max_metrics)",
                full,
                self._max_metrics,
            )
            return None
        if len(table) < 2 * self._max_metrics:
            table[name] = instrument
        return instrument

    def _emit(self, name: str, value: float, tags: Mapping[str, str] | None, kind: str) -> None:
        default_bus.emit(
            MetricRecordedHook(
                metric_name=name, value=float(value), labels=dict(tags or {}), metric_type=kind
            )
        )


def _count_collection_failure(reason: str) -> None:
    """Count one failed collection callback in the default collector; never raises."""
    name, description = COLLECTION_FAILURES
    try:
        get_default_collector().create_counter(name, description).increment(1, {"reason": reason})
    except Exception:
        _log.warning(f"selfmetric:{name}", "could not count %s (reason %s)", name, reason)


_counting = threading.local()


def _count_failure(metric: tuple[str, str], reason: str, message: str) -> None:
    """Log a multi-process failure and count it in the default collector, if one exists
    already (never creates it, never recurses, never raises)."""
    _log.warning(f"multiprocess:{reason}", "multi-process mode: %s", message)
    collector = _default
    if collector is None or getattr(_counting, "active", False):
        return
    _counting.active = True
    try:
        name, description = metric
        collector.create_counter(name, description).increment(1, {"reason": reason})
    except Exception:
        _log.warning(f"selfmetric:{name}", "could not count %s (reason %s)", name, reason)
    finally:
        _counting.active = False


def _count_cut_labels(metric: str, values: int) -> None:
    """Count *values* label values of *metric* cut to the length cap; never raises."""
    name, description = LABELS_TRUNCATED
    try:
        counter = get_default_collector().create_counter(name, description)
        if counter.name != metric:  # its own label (a long metric name) is never counted
            counter.increment(values, {"metric": metric})
    except Exception:
        _log.warning(f"selfmetric:{name}", "could not count %s for %r", name, metric)


CUT_LABELS.count = _count_cut_labels

_default_lock = threading.Lock()
_default: MetricsCollector | None = None


def get_default_collector() -> MetricsCollector:
    """The process-wide collector (created on first call) that ``/metrics`` shows."""
    global _default
    collector = _default
    if collector is None:
        with _default_lock:
            if _default is None:
                _default = MetricsCollector()
            collector = _default
    return collector


def set_default_collector(collector: MetricsCollector | None) -> None:
    """Replace the process-wide collector; None makes the next call create a fresh one."""
    global _default
    if collector is not None and not isinstance(collector, MetricsCollector):
        raise TypeError(
            f"the default collector must be a MetricsCollector, got {type(collector).__name__}"
        )
    with _default_lock:
        _default = collector
