"""Default values shared by the configuration models and the core, free of pydantic.

``config`` builds its models' defaults from these names, and ``metrics`` and ``tracing``
use them directly, so importing the core never loads pydantic. Every value here is the
default of the config field named beside it; change it here and both follow.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_COLLECTION_INTERVAL",
    "DEFAULT_MAX_LABEL_VALUE_LENGTH",
    "DEFAULT_MAX_OBSERVATIONS",
    "DEFAULT_MAX_SERIES",
    "DEFAULT_MAX_SPANS",
    "DEFAULT_MAX_TRACES_PER_SECOND",
    "DEFAULT_NATIVE_MAX_BUCKETS",
    "DEFAULT_NATIVE_SCHEMA",
    "DEFAULT_SAMPLER",
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_SERVICE_NAME",
    "DEFAULT_SPAN_LIMIT",
    "MIN_LABEL_VALUE_LENGTH",
    "SamplerType",
]

#: Prometheus' default histogram buckets (seconds); ``MetricsConfig.histogram_buckets``.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

#: Schema of native histograms (base 2**(1/8), buckets about 9 % wide);
#: ``MetricsConfig.native_histogram_schema``.
DEFAULT_NATIVE_SCHEMA = 3

#: Buckets a native histogram series keeps before lowering its schema;
#: ``MetricsConfig.native_histogram_max_buckets``.
DEFAULT_NATIVE_MAX_BUCKETS = 160

#: Series per instrument before new label sets go to the overflow series;
#: ``MetricsConfig.max_series_per_metric``.
DEFAULT_MAX_SERIES = 2000

#: Characters a label value takes in the exposition (escaped) before it is cut with a
#: ``…`` marker and counted in ``lexigram_monitor_labels_truncated_total``;
#: ``MetricsConfig.max_label_value_length``.
DEFAULT_MAX_LABEL_VALUE_LENGTH = 4096
#: Smallest label value cap accepted (shorter caps would cut ordinary values).
MIN_LABEL_VALUE_LENGTH = 64

#: Recent observations a histogram or summary keeps for ``get_observations()``;
#: ``MetricsConfig.max_observations``.
DEFAULT_MAX_OBSERVATIONS = 1000

#: Seconds between two runs of the collection callbacks; ``MetricsConfig.collection_interval``.
DEFAULT_COLLECTION_INTERVAL = 15.0

#: Service name of spans when none is configured; ``TracingConfig.service_name``.
DEFAULT_SERVICE_NAME = "lexigram-service"

#: Attributes, events and links kept per span (each; the excess is dropped and counted);
#: ``TracingConfig.max_attributes`` / ``max_events`` / ``max_links``.
DEFAULT_SPAN_LIMIT = 128

#: Ended sampled spans a tracer keeps readable (``TracingConfig.max_spans``): enough for
#: the status page to show whole recent traces and pick the slow ones (about 1 MB).
DEFAULT_MAX_SPANS = 1000


class SamplerType(StrEnum):
    """Supported tracing sampler types."""

    ALWAYS_ON = "always_on"
    ALWAYS_OFF = "always_off"
    PROBABILITY = "probability"
    RATE_LIMITING = "rate_limiting"
    PARENT_BASED = "parent_based"


#: ``TracingConfig.sampler_type``: follow a remote parent, sample roots by ratio.
DEFAULT_SAMPLER = SamplerType.PARENT_BASED

#: Share of root traces sampled (0.0-1.0); ``TracingConfig.sample_rate``.
DEFAULT_SAMPLE_RATE = 1.0

#: Sampled traces per second of the rate-limiting sampler;
#: ``TracingConfig.max_traces_per_second``.
DEFAULT_MAX_TRACES_PER_SECOND = 100.0
