"""``record_metric`` onto OpenTelemetry SDK instruments, for the OpenTelemetry backend.

``counter`` -> SDK counter (``add``), ``gauge`` -> synchronous SDK gauge (``set``),
``histogram`` and ``summary`` -> SDK histogram (``record``; OpenTelemetry has no summary
instrument, so quantiles are left to the receiving side). Each (name, type) gets one
instrument, created on first use and cached; a name keeps the type it was first used
with. ``MetricsConfig`` is honoured: ``enabled``, ``prefix`` (``prefix_name``),
``default_labels`` (merged under the given labels) and ``histogram_buckets`` (as the
histograms' bucket boundaries; with ``native_histograms`` on, :func:`sdk_views` gives
the histograms exponential buckets instead). Each recorded value fires a
``MetricRecordedHook`` when someone subscribed to it. Memory: at most ``max_metrics``
instruments; values of further names are dropped, logged (rate limited) and counted.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Mapping
from typing import Any

from .._optional import require
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import count_failure
from ..config import MetricsConfig
from ..exceptions import InvalidMetricError
from ..hooks import MetricRecordedHook, default_bus
from ._otel_spans import OTEL_BACKEND_FAILURES
from ._recording import KINDS, help_text

__all__ = ["INSTRUMENT_NAME_RULE", "METRIC_TYPES", "OTelInstruments", "sdk_views"]

#: The metric types ``record_metric`` accepts (the same for every backend).
METRIC_TYPES = KINDS
#: OpenTelemetry's instrument name rule.
INSTRUMENT_NAME_RULE = "[A-Za-z][A-Za-z0-9_./-]{0,254}"

_KIND = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "summary": "histogram"}
_NAME = re.compile(INSTRUMENT_NAME_RULE)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.opentelemetry"))


def sdk_views(config: MetricsConfig) -> list[Any]:
    """The SDK views of the backend's meter provider: every instrument capped at
    ``max_series_per_metric`` attribute sets and, when ``native_histograms`` is on, every
    histogram aggregated into exponential buckets, exported as OTLP
    ``ExponentialHistogram`` points (OpenTelemetry's form of native histograms).

    Exponential buckets: the scale starts at ``native_histogram_schema`` (the scale of
    OTLP is Prometheus' schema) and the SDK lowers it when one side would pass
    ``native_histogram_max_buckets`` buckets, so each side (positive, negative) holds at
    most that many; min and max are recorded, the temporality is the exporter's
    choice for histograms. OTLP bucket ``i`` is ``(base**i, base**(i+1)]``, Prometheus'
    ``i + 1``; receivers that turn OTLP into Prometheus native histograms shift it. One
    aggregation per instrument: ``native_histogram_classic`` has no OTLP counterpart
    (classic buckets are not sent alongside). The SDK keeps only exact zeros in the zero
    bucket.
    """
    view = require("otel", "opentelemetry.sdk.metrics.view")
    cap = config.max_series_per_metric
    if not config.native_histograms:
        return [view.View(instrument_name="*", aggregation_cardinality_limit=cap)]
    api = require("otel", "opentelemetry.metrics")
    exponential = view.ExponentialBucketHistogramAggregation(
        max_size=max(2, config.native_histogram_max_buckets),
        max_scale=config.native_histogram_schema,
    )
    views = [
        view.View(
            instrument_type=api.Histogram,
            aggregation=exponential,
            aggregation_cardinality_limit=cap,
        )
    ]
    others = ("Counter", "UpDownCounter", "_Gauge", "ObservableCounter", "ObservableGauge",
              "ObservableUpDownCounter")  # fmt: skip
    for name in others:
        kind = getattr(api, name, None)
        if kind is not None:
            views.append(view.View(instrument_type=kind, aggregation_cardinality_limit=cap))
    return views


class OTelInstruments:
    """The SDK instruments of one meter, keyed by (name, kind); see the module doc."""

    def __init__(self, meter: Any, config: MetricsConfig, max_metrics: int) -> None:
        self._meter = meter
        self._config = config
        self._max_metrics = max_metrics
        self._lock = threading.Lock()
        self._instruments: dict[tuple[str, str], Any] = {}
        self._kinds: dict[str, str] = {}

    def snapshot(self) -> dict[tuple[str, str], Any]:
        """A copy of the instruments created so far, by (name, kind)."""
        with self._lock:
            return dict(self._instruments)

    def record(
        self, name: str, value: Any, metric_type: Any, labels: Mapping[str, str] | None
    ) -> None:
        """Apply *value* to the instrument of *name* and *metric_type* (validated first)."""
        kind = check(name, value, metric_type)
        cfg = self._config
        if not cfg.enabled:
            return
        attributes = self._attributes(name, labels)
        instrument = self._instruments.get((name, kind))
        if instrument is None:
            instrument = self._create(name, kind)
            if instrument is None:
                return
        if kind == "counter":
            instrument.add(value, attributes)
        elif kind == "gauge":
            instrument.set(value, attributes)
        else:
            instrument.record(value, attributes)
        if default_bus.has_subscribers(MetricRecordedHook):
            default_bus.emit(
                MetricRecordedHook(
                    metric_name=cfg.make_metric_name(name),
                    value=float(value),
                    labels=dict(attributes or {}),
                    metric_type=metric_type.strip().lower(),
                )
            )

    def _attributes(self, name: str, labels: Mapping[str, str] | None) -> Mapping[str, str] | None:
        if labels:
            for key, val in labels.items():
                if type(val) is not str or type(key) is not str:
                    raise InvalidMetricError(
                        f"label {key!r}={val!r} of metric {name!r} is invalid: label names and "
                        f"values must be strings (e.g. {str(key)!r}: {str(val)!r})"
                    )
        defaults = self._config.default_labels
        if defaults:
            return {**defaults, **labels} if labels else defaults
        return labels

    def _create(self, name: str, kind: str) -> Any:
        """Create (once) the SDK instrument for (*name*, *kind*); None when dropped."""
        full = self._config.make_metric_name(name)
        if _NAME.fullmatch(full) is None:
            raise InvalidMetricError(
                f"metric name {name!r} is invalid for OpenTelemetry: it must match "
                f"{INSTRUMENT_NAME_RULE} (a letter, then letters, digits, '_', '.', '-' or "
                "'/'; at most 255 characters), e.g. 'orders.duration'"
            )
        with self._lock:
            existing = self._instruments.get((name, kind))
            if existing is not None:
                return existing
            other = self._kinds.get(name)
            if other is not None:
                raise InvalidMetricError(
                    f"metric {name!r} already exists as a {other}, so it cannot also be a "
                    f"{kind}: a metric name has one type; choose another name"
                )
            if len(self._instruments) >= self._max_metrics:
                _log.warning(
                    "max-metrics",
                    "dropped a value of metric %r: the backend holds %d instruments "
                    "(max_metrics); put unbounded values in labels, not in names",
                    name,
                    self._max_metrics,
                )
                count_failure(OTEL_BACKEND_FAILURES, "max_metrics")
                return None
            meter = self._meter
            description = help_text(name, kind)
            if kind == "counter":
                instrument = meter.create_counter(full, description=description)
            elif kind == "gauge":
                instrument = meter.create_gauge(full, description=description)
            else:
                instrument = meter.create_histogram(
                    full,
                    description=description,
                    explicit_bucket_boundaries_advisory=list(self._config.histogram_buckets),
                )
            self._instruments[(name, kind)] = instrument
            self._kinds[name] = kind
            return instrument


def check(name: Any, value: Any, metric_type: Any) -> str:
    """Validate a ``record_metric`` call; return the instrument kind.

    Raises :class:`InvalidMetricError` for a non-string name, an unknown type, a
    non-numeric or NaN value, or a negative counter increment.
    """
    if not isinstance(name, str):
        raise InvalidMetricError(
            f"metric name {name!r} is a {type(name).__name__}; metric names are strings "
            f"matching {INSTRUMENT_NAME_RULE}"
        )
    kind = _KIND.get(metric_type.strip().lower()) if isinstance(metric_type, str) else None
    if kind is None:
        raise InvalidMetricError(
            f"metric_type {metric_type!r} for metric {name!r} is not supported; use one "
            f"of {', '.join(METRIC_TYPES)} (summary is recorded as a histogram)"
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidMetricError(
            f"value {value!r} of metric {name!r} is a {type(value).__name__}; "
            "metric values are int or float"
        )
    if math.isnan(value):
        raise InvalidMetricError(f"value NaN of metric {name!r} is refused; record a number")
    if kind == "counter" and value < 0:
        raise InvalidMetricError(
            f"counter {name!r} cannot decrease (got {value!r}); use a gauge for values that go down"
        )
    return kind
