"""ObservabilityService and MetricProxy: one object for spans and name-based metrics.

Works without DI. Defaults: ``tracer=None`` uses :class:`~lexigram.monitor.noop.NoOpTracer`;
``meter=None`` uses the process-wide ``metrics.get_default_collector()`` (not a no-op:
this package always provides the real collector, so metrics recorded through the
service appear on ``/metrics`` with everything else).

Names given to ``counter``/``histogram``/``timed`` follow ``naming.to_metric_name``
(``orders.duration`` -> ``orders_duration``); a name that stays invalid raises
:class:`InvalidMetricError` when the proxy or timer is created.

Failure policy: a tracer that raises in ``start_span`` or ``end`` is logged (rate
limited) and the block runs with a :class:`NoOpSpan`; ``timed`` never lets a recording
failure replace the block's own outcome. Exceptions of the traced block propagate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal

from ._clock import SYSTEM_CLOCK, Clock
from ._ratelimit import RateLimitedLogger
from .exceptions import InvalidMetricError
from .metrics.collector import get_default_collector
from .metrics.naming import to_metric_name
from .noop import NoOpSpan, NoOpTracer
from .protocols import MetricProtocol, MetricsCollectorProtocol, SpanProtocol, TracerProtocol

__all__ = ["MetricProxy", "ObservabilityService"]

MetricType = Literal["counter", "gauge", "histogram"]
_TYPES: tuple[str, ...] = ("counter", "gauge", "histogram")
#: Proxies cached per service (name and type); further names get uncached proxies.
MAX_CACHED_PROXIES = 1000

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.service"))


class MetricProxy:
    """Proxy for a specific metric that provides a stateful API.

    Forwards to the name-based collector API: ``counter`` -> ``increment``, ``gauge`` ->
    ``gauge``, ``histogram`` -> ``histogram``. :attr:`value` is tracked locally: the
    total added (counter), the last value set (gauge) or the sum recorded (histogram)
    through this proxy.
    """

    __slots__ = ("_collector", "_lock", "_name", "_type", "_value")

    def __init__(self, name: str, collector: MetricsCollectorProtocol, metrics_type: str) -> None:
        if metrics_type not in _TYPES:
            raise InvalidMetricError(
                f"metrics_type {metrics_type!r} for metric {name!r} is not one of "
                f"{', '.join(_TYPES)}"
            )
        self._name = to_metric_name(name)
        self._collector = collector
        self._type = metrics_type
        self._value = 0.0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Metric name as recorded (dots and dashes turned into underscores)."""
        return self._name

    @property
    def metrics_type(self) -> str:
        """``counter``, ``gauge`` or ``histogram``."""
        return self._type

    @property
    def value(self) -> float:
        """Current value tracked locally (see the class docstring)."""
        return self._value

    def increment(self, amount: float = 1.0) -> None:
        """Increment the counter (or gauge) by *amount*; histograms refuse it."""
        if self._type == "counter":
            self._collector.increment(self._name, amount)
            with self._lock:
                self._value += amount
        elif self._type == "gauge":
            with self._lock:
                updated = self._value + amount
                self._collector.gauge(self._name, updated)
                self._value = updated
        else:
            raise InvalidMetricError(
                f"histogram {self._name!r} records values: use record(value), not increment()"
            )

    def record(self, value: float) -> None:
        """Record *value*: observe it (histogram), set it (gauge) or add it (counter)."""
        if self._type == "histogram":
            self._collector.histogram(self._name, value)
            with self._lock:
                self._value += value
        elif self._type == "gauge":
            with self._lock:
                self._collector.gauge(self._name, value)
                self._value = value
        else:
            self.increment(value)

    def __repr__(self) -> str:
        return f"MetricProxy(name={self._name!r}, metrics_type={self._type!r})"


class ObservabilityService:
    """Unified service for observability (traces, metrics, health).

    ``clock`` (monotonic seconds) times ``timed`` blocks; tests pass a fake.
    """

    def __init__(
        self,
        tracer: TracerProtocol | None = None,
        meter: MetricsCollectorProtocol | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._tracer: Any = tracer if tracer is not None else NoOpTracer()
        self._meter: MetricsCollectorProtocol = (
            meter if meter is not None else get_default_collector()
        )
        self._clock = clock
        self._proxies: dict[tuple[str, str], MetricProxy] = {}
        self._lock = threading.Lock()

    @property
    def tracer(self) -> Any:
        """The tracer spans come from."""
        return self._tracer

    @property
    def meter(self) -> MetricsCollectorProtocol:
        """The collector metrics go to."""
        return self._meter

    def register_metric(self, metric: MetricProtocol) -> None:
        """Register an existing metric instrument with the meter."""
        self._meter.register_metric(metric)

    def trace(self, name: str, **attributes: Any) -> AbstractContextManager[SpanProtocol]:
        """Create a tracing span around a block; yields the span (a NoOpSpan without tracer)."""
        return self._trace(name, attributes)

    @contextmanager
    def _trace(self, name: str, attributes: dict[str, Any]) -> Iterator[SpanProtocol]:
        try:
            span = self._tracer.start_span(name, attributes=attributes or None)
        except Exception:
            _log.warning("trace:start", "tracer failed to start span %r", name, exc_info=True)
            span = NoOpSpan(name)
        if hasattr(span, "__enter__") and hasattr(span, "__exit__"):
            with span as entered:
                yield entered if entered is not None else span
            return
        try:
            yield span
        except BaseException as exc:
            _guarded(span, "record_exception", exc)
            raise
        finally:
            _guarded(span, "end")

    def counter(self, name: str) -> MetricProxy:
        """Get or create a counter metric (a proxy with ``increment()``)."""
        return self._proxy(name, "counter")

    def histogram(self, name: str) -> MetricProxy:
        """Get or create a histogram metric (a proxy with ``record()``)."""
        return self._proxy(name, "histogram")

    def gauge(self, name: str) -> MetricProxy:
        """Get or create a gauge metric (a proxy whose ``record()`` sets the value)."""
        return self._proxy(name, "gauge")

    def timed(self, metric_name: str) -> AbstractContextManager[None]:
        """Record the block's duration in seconds into the histogram *metric_name*.

        The duration is recorded on exit, also when the block raises.
        """
        return self._timed(self._proxy(metric_name, "histogram"))

    @contextmanager
    def _timed(self, proxy: MetricProxy) -> Iterator[None]:
        started = self._clock.monotonic()
        try:
            yield
        finally:
            elapsed = self._clock.monotonic() - started
            try:
                proxy.record(elapsed)
            except Exception:
                _log.warning(
                    f"timed:{proxy.name}",
                    "could not record duration of %r",
                    proxy.name,
                    exc_info=True,
                )

    def _proxy(self, name: str, metrics_type: MetricType) -> MetricProxy:
        key = (name, metrics_type)
        proxy = self._proxies.get(key)
        if proxy is None:
            proxy = MetricProxy(name, self._meter, metrics_type)
            with self._lock:
                if len(self._proxies) < MAX_CACHED_PROXIES:
                    proxy = self._proxies.setdefault(key, proxy)
        return proxy


def _guarded(span: Any, method: str, *args: Any) -> None:
    call = getattr(span, method, None)
    if call is None:
        return
    try:
        call(*args)
    except Exception:
        _log.warning(f"span:{method}", "span.%s() failed", method, exc_info=True)
