"""``MonitorConfig``: every section in one settings model, read from the environment and
YAML; the backend and environment kinds; the exporter factory lookup."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .._ratelimit import RateLimitedLogger
from ..defaults import (
    SamplerType,
)
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
    "EXPORTER_FACTORIES",
    "BackendType",
    "ConfigIssue",
    "Environment",
    "MonitorConfig",
    "resolve_environment",
]

#: Entry-point group of the exporter factories :meth:`MonitorConfig.make_exporter` calls:
#: entry name = a :class:`BackendType` value, object = ``factory(config) -> exporter | None``.
EXPORTER_FACTORIES = "lexigram.monitor.exporter_factories"

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.config"))


class BackendType(StrEnum):
    """Supported monitoring backend types."""

    MEMORY = "memory"
    PROMETHEUS = "prometheus"
    OPENTELEMETRY = "opentelemetry"


class Environment(StrEnum):
    """Deployment environment used by :meth:`MonitorConfig.validate_for_environment`."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One finding of :meth:`MonitorConfig.validate_for_environment`."""

    field: str
    message: str
    severity: Literal["error", "warning", "info"]
    suggestion: str = ""


class _YamlSource(PydanticBaseSettingsSource):
    """Settings source reading the ``monitor:`` section of a YAML file."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class MonitorConfig(BaseSettings):
    """Hierarchical root configuration for Lexigram Monitor.

    Attributes: enabled, name (default "monitor"), backend_type (default memory), metrics,
    tracing, health, logging, opentelemetry, prometheus, status_page, environment, debug.
    """

    model_config: ClassVar[SettingsConfigDict] = SettingsConfigDict(
        env_prefix="LEX_MONITOR__",
        env_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
    )

    enabled: bool = True
    name: str = "monitor"
    backend_type: BackendType = BackendType.MEMORY
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    health: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    opentelemetry: OpenTelemetryConfig = Field(default_factory=OpenTelemetryConfig)
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    status_page: StatusPageConfig = Field(default_factory=StatusPageConfig)
    environment: Environment = Environment.DEVELOPMENT
    debug: bool = False

    _yaml_data: ClassVar[dict[str, Any] | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        data = _YAML_CONTEXT.get(settings_cls)
        if data is not None:
            sources = (*sources, _YamlSource(settings_cls, data))
        return sources

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], **overrides: Any) -> MonitorConfig:
        """Load the ``monitor:`` section of the YAML file at *path*.

        Precedence: keyword *overrides* > ``LEX_MONITOR__*`` env variables > the file.
        A file without a ``monitor:`` mapping raises ``ValueError``.
        """
        import yaml

        text = Path(path).read_text(encoding="utf-8")
        doc = yaml.safe_load(text) or {}
        if not isinstance(doc, dict) or not isinstance(doc.get("monitor", {}), dict):
            raise ValueError(
                f"{os.fspath(path)!r}: expected a mapping with a 'monitor:' section of settings"
            )
        section = doc.get("monitor") or {}
        _YAML_CONTEXT[cls] = section
        try:
            return cls(**overrides)
        finally:
            _YAML_CONTEXT.pop(cls, None)

    def get_backend_config(self) -> OpenTelemetryConfig | PrometheusConfig | None:
        """Configuration of the selected backend; None for the memory backend."""
        if self.backend_type is BackendType.OPENTELEMETRY:
            return self.opentelemetry
        if self.backend_type is BackendType.PROMETHEUS:
            return self.prometheus
        return None

    def make_exporter(self) -> Any | None:
        """Metrics exporter for the backend: a ``PrometheusMetricsExporter`` for Prometheus.

        None for other backends, or when prometheus_client is not installed. Never raises.

        The configuration sits below the backends in the layering, so it does not import
        them: like the OpenTelemetry SDK finding its exporters, it calls the factory
        registered under the backend type's value in the :data:`EXPORTER_FACTORIES`
        entry-point group (``lexigram.monitor.exporter_factories``) with this config.
        lexigram-monitor's ``pyproject.toml`` registers
        :func:`lexigram.monitor.backends.factory.make_exporter` for every backend type.
        When no factory is registered (a source tree used without ``pip install``) or the
        factory fails, the result is None and a rate-limited warning says why.
        """
        factory = _exporter_factory(self.backend_type.value)
        if factory is None:
            return None
        try:
            return factory(self)
        except Exception as exc:
            _log.warning(
                f"exporter-factory:{self.backend_type.value}",
                "exporter factory %r for backend %r failed: %r; running without an exporter",
                factory,
                self.backend_type.value,
                exc,
            )
            return None

    def validate_for_environment(self, env: Environment | str | None = None) -> list[ConfigIssue]:
        """Check the configuration against the rules of *env*.

        *env* defaults to ``LEX_ENV`` / ``APP_ENV``, then to :attr:`environment`.
        Production rules: tracing enabled, ``debug`` off, ``/metrics`` and ``/health``
        details protected by a token, no full sampling with an always-on sampler.
        """
        resolved = resolve_environment(env, self.environment)
        issues: list[ConfigIssue] = []
        if resolved is not Environment.PRODUCTION:
            if resolved is Environment.STAGING and self.debug:
                issues.append(
                    ConfigIssue("debug", "debug mode is on in staging", "info", "set debug=False")
                )
            return issues
        if not self.enabled:
            issues.append(
                ConfigIssue(
                    "enabled",
                    "monitoring is disabled in production",
                    "warning",
                    "set LEX_MONITOR__ENABLED=true",
                )
            )
        if not self.tracing.enabled:
            issues.append(
                ConfigIssue(
                    "tracing.enabled",
                    "tracing is disabled in production; requests cannot be followed "
                    "across services",
                    "warning",
                    "set LEX_MONITOR__TRACING__ENABLED=true",
                )
            )
        if self.debug:
            issues.append(
                ConfigIssue(
                    "debug",
                    "debug mode is on in production",
                    "error",
                    "set LEX_MONITOR__DEBUG=false",
                )
            )
        if self.backend_type is BackendType.PROMETHEUS and not self.prometheus.auth_token:
            issues.append(
                ConfigIssue(
                    "prometheus.auth_token",
                    f"{self.prometheus.path} is served without a bearer token in production",
                    "warning",
                    "set LEX_MONITOR__PROMETHEUS__AUTH_TOKEN or restrict the bind address",
                )
            )
        if self.health.enabled and self.health.include_details and not self.health.auth_token:
            issues.append(
                ConfigIssue(
                    "health.include_details",
                    f"{self.health.path} serves per-check details without a token in production",
                    "warning",
                    "set LEX_MONITOR__HEALTH__AUTH_TOKEN or include_details=false",
                )
            )
        if self.status_page.enabled and not (
            self.status_page.auth_token or self.prometheus.auth_token
        ):
            issues.append(
                ConfigIssue(
                    "status_page.auth_token",
                    f"the status page {self.status_page.path} shows health, traces and "
                    "configuration without a token in production",
                    "warning",
                    "set LEX_MONITOR__STATUS_PAGE__AUTH_TOKEN (or the Prometheus token)",
                )
            )
        full_sampling = self.tracing.sampler_type is SamplerType.ALWAYS_ON or (
            self.tracing.sample_rate >= 1.0
            and self.tracing.sampler_type in (SamplerType.PROBABILITY, SamplerType.PARENT_BASED)
        )
        if self.tracing.enabled and full_sampling:
            issues.append(
                ConfigIssue(
                    "tracing.sample_rate",
                    "every trace is sampled (rate 1.0); under high traffic this costs CPU "
                    "and exporter bandwidth",
                    "warning",
                    "use sampler_type=parent_based with sample_rate<=0.1, or rate_limiting",
                )
            )
        if self.logging.level == "DEBUG":
            issues.append(
                ConfigIssue(
                    "logging.level",
                    "DEBUG logging in production may leak data and costs I/O",
                    "info",
                    "set LEX_MONITOR__LOGGING__LEVEL=INFO",
                )
            )
        return issues


_YAML_CONTEXT: dict[type[BaseSettings], dict[str, Any]] = {}


def _exporter_factory(backend: str) -> Callable[[MonitorConfig], Any] | None:
    """The factory registered for *backend* in :data:`EXPORTER_FACTORIES`, or None
    (logged, rate limited) when none is registered or it cannot be loaded."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=EXPORTER_FACTORIES, name=backend):
        try:
            factory: Callable[[MonitorConfig], Any] = entry.load()
        except Exception as exc:
            _log.warning(
                f"exporter-factory:{backend}",
                "cannot load exporter factory %r for backend %r: %r",
                entry.value,
                backend,
                exc,
            )
            return None
        return factory
    _log.warning(
        f"exporter-factory:{backend}",
        "no exporter factory registered for backend %r in the entry-point group %r; "
        "is lexigram-monitor installed (pip install lexigram-monitor, or pip install -e . "
        "in a checkout)?",
        backend,
        EXPORTER_FACTORIES,
    )
    return None


def resolve_environment(
    env: Environment | str | None, default: Environment = Environment.DEVELOPMENT
) -> Environment:
    """The deployment environment *env* names, else ``LEX_ENV`` / ``APP_ENV``, else *default*.

    Names match case-insensitively; ``prod``, ``dev``, ``stage`` and ``testing`` are
    aliases. An unknown name raises ``ValueError`` listing the valid ones.
    """
    if env is None:
        raw = os.environ.get("LEX_ENV") or os.environ.get("APP_ENV")
        if not raw:
            return default
        env = raw
    if isinstance(env, Environment):
        return env
    aliases = {"prod": "production", "dev": "development", "stage": "staging", "testing": "test"}
    value = aliases.get(env.strip().lower(), env.strip().lower())
    try:
        return Environment(value)
    except ValueError:
        raise ValueError(
            f"environment {env!r} is not one of "
            f"{', '.join(e.value for e in Environment)} (from LEX_ENV/APP_ENV or the argument)"
        ) from None
