"""The settings of each part: metrics, tracing, health, status page, logging, and the
OpenTelemetry and Prometheus backends (sections of :class:`~.monitor.MonitorConfig`)."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..defaults import (
    DEFAULT_BUCKETS,
    DEFAULT_COLLECTION_INTERVAL,
    DEFAULT_MAX_LABEL_VALUE_LENGTH,
    DEFAULT_MAX_OBSERVATIONS,
    DEFAULT_MAX_SERIES,
    DEFAULT_MAX_SPANS,
    DEFAULT_MAX_TRACES_PER_SECOND,
    DEFAULT_NATIVE_MAX_BUCKETS,
    DEFAULT_NATIVE_SCHEMA,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_SAMPLER,
    DEFAULT_SERVICE_NAME,
    DEFAULT_SPAN_LIMIT,
    MIN_LABEL_VALUE_LENGTH,
    SamplerType,
)

__all__ = [
    "HealthCheckConfig",
    "LoggingConfig",
    "MetricsConfig",
    "OpenTelemetryConfig",
    "PrometheusConfig",
    "StatusPageConfig",
    "TracingConfig",
]

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class MetricsConfig(BaseModel):
    """Configuration for metrics collection.

    Attributes: enabled: Whether metrics collection is enabled. prefix: Prefix for all
    metric names. default_labels: Default labels added to all metrics.
    histogram_buckets: Default bucket boundaries for histograms. collection_interval:
    Interval for periodic metrics collection (seconds). max_series_per_metric: series cap
    per instrument (label sets past it go to the overflow series). max_observations:
    recent observations kept per histogram/summary for ``get_observations()``.
    multiprocess_dir: directory of the shared storage of the multi-process mode (off
    when unset; env ``LEX_MONITOR__METRICS__MULTIPROCESS_DIR``, also read by a
    collector created without a config). multiprocess_service: the service's
    subdirectory there (default ``default``; env
    ``LEX_MONITOR__METRICS__MULTIPROCESS_SERVICE``). See ``metrics.multiprocess``.
    max_label_value_length: characters (counted escaped) a label value may take; longer
    values are cut with a ``…`` marker and counted in
    ``lexigram_monitor_labels_truncated_total`` (at least 64).
    native_histograms: the request-duration histograms of ``PrometheusMiddleware``,
    ``OTelMiddleware`` (on a collector) and ``MonitorProvider.record_request`` keep
    native (exponential) buckets (``metrics.native``; off by default; env
    ``LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS=true``); native_histogram_schema (-4..8,
    default 3) and native_histogram_max_buckets (>= 1, default 160) are their resolution
    and bucket limit; native_histogram_classic (default on) keeps their classic buckets
    alongside, so ``_bucket`` series and the text formats still show them. Applies to
    histograms created after the collector gets this config. With the OpenTelemetry
    backend, its histograms are exported as OTLP exponential histograms instead (scale
    from the schema, the bucket limit per side; see ``backends._otel_instruments``).
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    enabled: bool = True
    prefix: str = ""
    default_labels: dict[str, str] = Field(default_factory=dict)
    histogram_buckets: list[float] = Field(default_factory=lambda: list(DEFAULT_BUCKETS))
    collection_interval: float = Field(default=DEFAULT_COLLECTION_INTERVAL, gt=0)
    max_series_per_metric: int = Field(default=DEFAULT_MAX_SERIES, ge=1)
    max_observations: int = Field(default=DEFAULT_MAX_OBSERVATIONS, ge=0)
    multiprocess_dir: str | None = None
    multiprocess_service: str | None = None
    max_label_value_length: int = Field(
        default=DEFAULT_MAX_LABEL_VALUE_LENGTH, ge=MIN_LABEL_VALUE_LENGTH
    )
    native_histograms: bool = False
    native_histogram_schema: int = Field(default=DEFAULT_NATIVE_SCHEMA, ge=-4, le=8)
    native_histogram_max_buckets: int = Field(default=DEFAULT_NATIVE_MAX_BUCKETS, ge=1)
    native_histogram_classic: bool = True

    @field_validator("prefix")
    @classmethod
    def _validate_prefix(cls, v: str) -> str:
        if v and not _METRIC_NAME.match(v):
            raise ValueError(
                f"metric prefix {v!r} must match [a-zA-Z_:][a-zA-Z0-9_:]* (e.g. 'myapp')"
            )
        return v

    @field_validator("histogram_buckets")
    @classmethod
    def _validate_buckets(cls, v: list[float]) -> list[float]:
        if not v:
            raise ValueError("histogram_buckets must hold at least one upper bound")
        if any(b != b for b in v):
            raise ValueError(f"histogram_buckets {v!r} contains NaN")
        if any(a >= b for a, b in pairwise(v)):
            raise ValueError(f"histogram_buckets {v!r} must be strictly increasing")
        return v

    def make_metric_name(self, name: str) -> str:
        """Create a prefixed metric name (``prefix_name``; unchanged when no prefix)."""
        if not self.prefix or name.startswith(self.prefix + "_"):
            return name
        return f"{self.prefix}_{name}"


class TracingConfig(BaseModel):
    """Configuration for distributed tracing.

    Attributes: enabled, service_name, sampler_type, sample_rate (0.0-1.0, probability and
    parent-based roots), max_traces_per_second (rate-limiting sampler),
    propagation_formats, max_attributes, max_events, max_links (per span; excess dropped
    and counted), max_queue_size / max_export_batch_size / export_interval /
    export_timeout (the batch span processor), max_spans (the most recent ended sampled
    spans kept for ``get_all_spans`` and the status page's trace view; memory grows with
    it, about 1 KB per span with a few attributes).
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    enabled: bool = True
    service_name: str = DEFAULT_SERVICE_NAME
    sampler_type: SamplerType = DEFAULT_SAMPLER
    sample_rate: float = DEFAULT_SAMPLE_RATE
    max_traces_per_second: float = Field(default=DEFAULT_MAX_TRACES_PER_SECOND, gt=0)
    propagation_formats: list[Literal["tracecontext"]] = Field(
        default_factory=lambda: ["tracecontext"]  # type: ignore[arg-type]
    )
    max_attributes: int = Field(default=DEFAULT_SPAN_LIMIT, ge=0)
    max_events: int = Field(default=DEFAULT_SPAN_LIMIT, ge=0)
    max_links: int = Field(default=DEFAULT_SPAN_LIMIT, ge=0)
    max_queue_size: int = Field(default=2048, ge=1)
    max_export_batch_size: int = Field(default=512, ge=1)
    export_interval: float = Field(default=5.0, gt=0)
    export_timeout: float = Field(default=30.0, gt=0)
    max_spans: int = Field(default=DEFAULT_MAX_SPANS, ge=0)

    @field_validator("sample_rate")
    @classmethod
    def validate_sample_rate(cls, v: float) -> float:
        """Validate sample rate is between 0 and 1."""
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"sample_rate {v!r} must be between 0.0 and 1.0 inclusive")
        return v


class HealthCheckConfig(BaseModel):
    """Configuration for health checks.

    Attributes: enabled: Whether health checks are enabled. path: HTTP path for the health
    endpoint. include_details: Include per-component results in responses. timeout:
    Default per-check timeout (seconds). checks: Names of the checks to include (empty:
    all). auth_token: Optional bearer token required by the endpoint.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    enabled: bool = True
    path: str = "/health"
    include_details: bool = True
    timeout: float = Field(default=5.0, gt=0)
    checks: list[str] = Field(default_factory=list)
    auth_token: str | None = None

    @field_validator("path")
    @classmethod
    def _validate_path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"health path {v!r} must start with '/' (e.g. '/health')")
        return v.rstrip("/") or "/"


class StatusPageConfig(BaseModel):
    """Configuration of the live status page (``lexigram.monitor.middleware.status``).

    Attributes: enabled: serve the page (False: its path answers 404). path: where it is
    mounted (default ``/-/monitor``). auth_token: bearer token the page and its JSON
    require (None: the Prometheus ``auth_token``, so the page sits behind the same token
    as ``/metrics``). refresh_interval: seconds between the browser's refreshes of the
    sections. health_history: runs kept per health check for the history strip.
    health_max_age: the page runs the health checks itself when its newest result is
    older than this many seconds (0: never; it then shows the runs of the probes only).
    traces_shown: recent and slowest traces listed. slowest_kept: slowest traces the page
    keeps beyond the tracer's buffer while someone looks. max_routes: rows of the route
    table. snapshot_interval: least seconds between two snapshots of the request metrics
    (the route table's 1- and 5-minute figures come from them). max_series_shown: series
    values shown per metric family.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    enabled: bool = True
    path: str = "/-/monitor"
    auth_token: str | None = None
    refresh_interval: float = Field(default=5.0, ge=0.5, le=3600.0)
    health_history: int = Field(default=30, ge=1, le=1000)
    health_max_age: float = Field(default=5.0, ge=0.0)
    traces_shown: int = Field(default=20, ge=1, le=500)
    slowest_kept: int = Field(default=20, ge=0, le=500)
    max_routes: int = Field(default=200, ge=1, le=10_000)
    snapshot_interval: float = Field(default=5.0, gt=0.0, le=60.0)
    max_series_shown: int = Field(default=50, ge=1, le=10_000)

    @field_validator("path")
    @classmethod
    def _validate_path(cls, v: str) -> str:
        path = v.rstrip("/")
        if not v.startswith("/") or not path:
            raise ValueError(
                f"status page path {v!r} must start with '/' and not be '/' (e.g. '/-/monitor')"
            )
        return path


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class LoggingConfig(BaseModel):
    """Configuration for structured logging.

    Attributes: enabled, level, format (json, text), include_trace_context, redact_fields.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    enabled: bool = True
    level: str = "INFO"
    format: Literal["json", "text"] = "json"
    include_trace_context: bool = True
    redact_fields: list[str] = Field(
        default_factory=lambda: ["password", "token", "secret", "authorization", "api_key"]
    )

    @field_validator("level")
    @classmethod
    def validate_level(cls, v: str) -> str:
        """Validate log level (case-insensitive; stored upper case)."""
        upper = v.upper()
        if upper == "WARN":
            upper = "WARNING"
        if upper not in _LEVELS:
            raise ValueError(f"log level {v!r} is not one of {', '.join(_LEVELS)}")
        return upper


class OpenTelemetryConfig(BaseModel):
    """Configuration for the OpenTelemetry backend.

    Attributes: endpoint: OTLP endpoint URL. headers: Headers sent with OTLP requests.
    insecure: Use an insecure connection (gRPC). timeout: Export timeout (seconds).
    compression: none or gzip. batch_size: Spans per export batch. export_interval:
    Export interval (seconds). protocol: ``http/protobuf`` (default) or ``grpc``.
    type: exporter type picked from the exporter registries (``otlp``, ``console``).
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    endpoint: str = "http://localhost:4318"
    headers: dict[str, str] = Field(default_factory=dict)
    insecure: bool = False
    timeout: float = Field(default=10.0, gt=0)
    compression: str = "none"
    batch_size: int = Field(default=512, ge=1)
    export_interval: float = Field(default=5.0, gt=0)
    protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    type: str = "otlp"

    @field_validator("compression")
    @classmethod
    def validate_compression(cls, v: str) -> str:
        """Validate compression type (``none`` or ``gzip``)."""
        lowered = v.lower()
        if lowered not in ("none", "gzip"):
            raise ValueError(f"compression {v!r} is not supported; use 'none' or 'gzip'")
        return lowered


class PrometheusConfig(BaseModel):
    """Configuration for the Prometheus backend.

    Attributes: port, host (bind address, loopback by default), path,
    enable_default_metrics (process/GC/platform collectors), pushgateway_url,
    push_interval (seconds), job_name (Pushgateway job), store_in_db, metrics_table,
    db_path (sqlite file of the default database provider), auth_token (bearer token for
    the scrape endpoint).
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    port: int = Field(default=8000, ge=0, le=65535)
    host: str = "127.0.0.1"
    path: str = "/metrics"
    enable_default_metrics: bool = True
    pushgateway_url: str | None = None
    push_interval: float = Field(default=15.0, gt=0)
    job_name: str = "lexigram"
    store_in_db: bool = False
    metrics_table: str = "monitor_metrics"
    db_path: str = "lexigram_metrics.db"
    auth_token: str | None = None

    @field_validator("path")
    @classmethod
    def _validate_path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"metrics path {v!r} must start with '/' (e.g. '/metrics')")
        return v

    @field_validator("metrics_table")
    @classmethod
    def _validate_table(cls, v: str) -> str:
        if not _IDENTIFIER.match(v):
            raise ValueError(
                f"metrics_table {v!r} is not a plain SQL identifier "
                "(letters, digits, underscore; not starting with a digit; at most 63 chars)"
            )
        return v
