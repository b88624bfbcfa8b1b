"""Metrics core: instruments, the collector, the buffered recorder and the snapshot API.

Exporters read instruments only through the snapshot API described in
``lexigram.monitor.metrics.snapshot`` (``kind``, ``name``, ``description``,
``label_names``, ``collect()``), usually via ``MetricsCollector.instruments()`` of
``get_default_collector()``.
"""

from __future__ import annotations

from ._exemplars import (
    ExemplarSource,
    get_exemplar_source,
    install_exemplar_source,
    set_exemplar_source,
)
from ._series import OVERFLOW_VALUE
from .buffered import BufferedMetricEntry, BufferedMetricRecorder
from .collector import MetricsCollector, get_default_collector, set_default_collector
from .counter import Counter
from .gauge import Gauge
from .histogram import Histogram
from .naming import to_metric_name, validate_label_name, validate_metric_name
from .native import NativeHistogram
from .snapshot import Exemplar, HistogramSnapshot, NativeBuckets, SummarySnapshot, ValueSnapshot
from .summary import Summary
from .value import MetricValue

# the multi-process mode's native histograms register themselves with its collector
from . import _shared_native  # noqa: F401  # isort: skip

__all__ = [
    "OVERFLOW_VALUE",
    "BufferedMetricEntry",
    "BufferedMetricRecorder",
    "Counter",
    "Exemplar",
    "ExemplarSource",
    "Gauge",
    "Histogram",
    "HistogramSnapshot",
    "MetricValue",
    "MetricsCollector",
    "NativeBuckets",
    "NativeHistogram",
    "Summary",
    "SummarySnapshot",
    "ValueSnapshot",
    "get_default_collector",
    "get_exemplar_source",
    "install_exemplar_source",
    "set_default_collector",
    "set_exemplar_source",
    "to_metric_name",
    "validate_label_name",
    "validate_metric_name",
]
