"""Configuration models (pydantic v2 / pydantic-settings).

``MonitorConfig()`` reads ``LEX_MONITOR__<FIELD>`` and ``LEX_MONITOR__<SECTION>__<FIELD>``
environment variables (e.g. ``LEX_MONITOR__PROMETHEUS__PORT=9123``);
``MonitorConfig.from_yaml(path)`` loads the ``monitor:`` section of a YAML file
(environment variables still win over the file). All models ignore unknown keys.
Invalid values raise ``pydantic.ValidationError`` (a ``ValueError``) naming the field.
"""

from __future__ import annotations

from ..defaults import DEFAULT_BUCKETS, SamplerType
from .monitor import (
    EXPORTER_FACTORIES,
    BackendType,
    ConfigIssue,
    Environment,
    MonitorConfig,
    resolve_environment,
)
from .secrets import SECRET_MASK, is_secret_field, mask_secrets
from .sections import (
    HealthCheckConfig,
    LoggingConfig,
    MetricsConfig,
    OpenTelemetryConfig,
    PrometheusConfig,
    StatusPageConfig,
    TracingConfig,
)

__all__ = [
    "DEFAULT_BUCKETS",
    "EXPORTER_FACTORIES",
    "SECRET_MASK",
    "BackendType",
    "ConfigIssue",
    "Environment",
    "HealthCheckConfig",
    "LoggingConfig",
    "MetricsConfig",
    "MonitorConfig",
    "OpenTelemetryConfig",
    "PrometheusConfig",
    "SamplerType",
    "StatusPageConfig",
    "TracingConfig",
    "is_secret_field",
    "mask_secrets",
    "resolve_environment",
]
