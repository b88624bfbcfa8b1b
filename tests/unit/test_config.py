"""Configuration models: defaults, validators, env/YAML loading, environment rules."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from lexigram.monitor.config import (
    DEFAULT_BUCKETS,
    EXPORTER_FACTORIES,
    SECRET_MASK,
    BackendType,
    ConfigIssue,
    Environment,
    HealthCheckConfig,
    LoggingConfig,
    MetricsConfig,
    MonitorConfig,
    OpenTelemetryConfig,
    PrometheusConfig,
    SamplerType,
    StatusPageConfig,
    TracingConfig,
    is_secret_field,
    mask_secrets,
    resolve_environment,
)
from lexigram.monitor.config import monitor as config_module


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LEX_* variable of the developer's shell leaks into these tests."""
    import os

    for key in list(os.environ):
        if key.startswith("LEX_") or key == "APP_ENV":
            monkeypatch.delenv(key)


def test_monitor_config_defaults() -> None:
    """The root config defaults to the memory backend and the name 'monitor'."""
    cfg = MonitorConfig()
    assert cfg.name == "monitor"
    assert cfg.backend_type is BackendType.MEMORY
    assert cfg.enabled is True
    assert cfg.environment is Environment.DEVELOPMENT
    assert cfg.metrics.histogram_buckets == list(DEFAULT_BUCKETS)
    assert cfg.tracing.sampler_type is SamplerType.PARENT_BASED


def test_enum_values_match_reference() -> None:
    """Enum values are the lowercase strings of the reference."""
    assert [b.value for b in BackendType] == ["memory", "prometheus", "opentelemetry"]
    assert [s.value for s in SamplerType] == [
        "always_on",
        "always_off",
        "probability",
        "rate_limiting",
        "parent_based",
    ]
    assert {e.value for e in Environment} == {"development", "staging", "production", "test"}


def test_env_variables_nested(monkeypatch: pytest.MonkeyPatch) -> None:
    """LEX_MONITOR__<SECTION>__<FIELD> sets nested fields; top-level fields too."""
    monkeypatch.setenv("LEX_MONITOR__PROMETHEUS__PORT", "9123")
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "prometheus")
    monkeypatch.setenv("LEX_MONITOR__TRACING__SAMPLE_RATE", "0.25")
    cfg = MonitorConfig()
    assert cfg.prometheus.port == 9123
    assert cfg.backend_type is BackendType.PROMETHEUS
    assert cfg.tracing.sample_rate == 0.25


def test_unknown_backend_type_from_env_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown backend type fails with an error naming the field and the allowed values."""
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "graphite")
    with pytest.raises(ValidationError) as info:
        MonitorConfig()
    text = str(info.value)
    assert "backend_type" in text
    assert "graphite" in text
    assert "prometheus" in text


def test_from_yaml_reads_monitor_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """from_yaml loads the monitor: section; env variables win over the file."""
    path = tmp_path / "app.yaml"
    path.write_text(
        "other: {x: 1}\n"
        "monitor:\n"
        "  backend_type: opentelemetry\n"
        "  metrics: {prefix: shop}\n"
        "  prometheus: {port: 1, path: /m}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LEX_MONITOR__PROMETHEUS__PORT", "9200")
    cfg = MonitorConfig.from_yaml(path)
    assert cfg.backend_type is BackendType.OPENTELEMETRY
    assert cfg.metrics.prefix == "shop"
    assert cfg.prometheus.port == 9200
    assert cfg.prometheus.path == "/m"
    # the file is not remembered for later instances
    assert MonitorConfig().backend_type is BackendType.MEMORY


def test_from_yaml_overrides_win(tmp_path: Path) -> None:
    """Keyword overrides beat the file."""
    path = tmp_path / "app.yaml"
    path.write_text("monitor:\n  name: fromfile\n", encoding="utf-8")
    assert MonitorConfig.from_yaml(path, name="explicit").name == "explicit"
    assert MonitorConfig.from_yaml(path).name == "fromfile"


def test_from_yaml_without_mapping_is_refused(tmp_path: Path) -> None:
    """A YAML document whose monitor: section is not a mapping is refused with the path."""
    path = tmp_path / "bad.yaml"
    path.write_text("monitor: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="monitor"):
        MonitorConfig.from_yaml(path)


@pytest.mark.parametrize("rate", [-0.1, 1.5, 2])
def test_sample_rate_out_of_range(rate: float) -> None:
    """validate_sample_rate refuses values outside [0, 1] and names the value."""
    with pytest.raises(ValidationError, match=str(rate)):
        TracingConfig(sample_rate=rate)


def test_sample_rate_bounds_accepted() -> None:
    """0.0 and 1.0 are valid sample rates."""
    assert TracingConfig(sample_rate=0.0).sample_rate == 0.0
    assert TracingConfig(sample_rate=1.0).sample_rate == 1.0
    assert TracingConfig.validate_sample_rate(0.5) == 0.5


def test_log_level_validation() -> None:
    """Levels are case-insensitive, stored upper case; unknown levels are refused."""
    assert LoggingConfig(level="debug").level == "DEBUG"
    assert LoggingConfig(level="warn").level == "WARNING"
    with pytest.raises(ValidationError, match="VERBOSE"):
        LoggingConfig(level="VERBOSE")


def test_compression_validation() -> None:
    """Only none and gzip are accepted compressions."""
    assert OpenTelemetryConfig(compression="GZIP").compression == "gzip"
    with pytest.raises(ValidationError, match="brotli"):
        OpenTelemetryConfig(compression="brotli")


def test_make_metric_name() -> None:
    """The prefix is joined with an underscore, and not applied twice."""
    assert MetricsConfig().make_metric_name("requests") == "requests"
    cfg = MetricsConfig(prefix="shop")
    assert cfg.make_metric_name("requests") == "shop_requests"
    assert cfg.make_metric_name("shop_requests") == "shop_requests"


@pytest.mark.parametrize("prefix", ["1shop", "shop-api", "a b"])
def test_bad_prefix_refused(prefix: str) -> None:
    """A prefix that would make invalid metric names is refused up front."""
    with pytest.raises(ValidationError, match="prefix"):
        MetricsConfig(prefix=prefix)


@pytest.mark.parametrize("buckets", [[], [1.0, 0.5], [0.1, 0.1], [float("nan")]])
def test_bad_buckets_refused(buckets: list[float]) -> None:
    """Buckets must be non-empty, strictly increasing and NaN-free."""
    with pytest.raises(ValidationError, match="histogram_buckets"):
        MetricsConfig(histogram_buckets=buckets)


@pytest.mark.parametrize(
    ("model", "kwargs"),
    [
        (PrometheusConfig, {"port": 70000}),
        (PrometheusConfig, {"push_interval": 0}),
        (PrometheusConfig, {"metrics_table": "metrics; DROP TABLE x"}),
        (PrometheusConfig, {"path": "metrics"}),
        (HealthCheckConfig, {"timeout": 0}),
        (HealthCheckConfig, {"path": "health"}),
        (TracingConfig, {"max_attributes": -1}),
        (MetricsConfig, {"max_series_per_metric": 0}),
    ],
)
def test_out_of_range_values_refused(model: type, kwargs: dict[str, object]) -> None:
    """Out-of-range values raise a ValidationError naming the field."""
    with pytest.raises(ValidationError) as info:
        model(**kwargs)
    assert next(iter(kwargs)) in str(info.value)


def test_unknown_keys_are_ignored() -> None:
    """extra='ignore': unknown keys do not fail."""
    assert PrometheusConfig.model_validate({"port": 1, "nope": 2}).port == 1


def test_get_backend_config() -> None:
    """The backend section follows backend_type; memory has none."""
    assert MonitorConfig().get_backend_config() is None
    prom = MonitorConfig(backend_type="prometheus")
    assert prom.get_backend_config() is prom.prometheus
    otel = MonitorConfig(backend_type="opentelemetry")
    assert otel.get_backend_config() is otel.opentelemetry


def test_make_exporter_none_for_memory() -> None:
    """Backends other than Prometheus have no metrics exporter."""
    assert MonitorConfig().make_exporter() is None


def test_make_exporter_calls_the_factory_registered_for_each_backend_type() -> None:
    """Every backend type has an exporter factory in the entry-point group (the backends'
    ``make_exporter``), and ``MonitorConfig.make_exporter()`` returns what it builds."""
    from importlib.metadata import entry_points

    from lexigram.monitor.backends.factory import make_exporter

    registered = {e.name: e.load() for e in entry_points(group=EXPORTER_FACTORIES)}
    assert registered == {b.value: make_exporter for b in BackendType}
    for backend in BackendType:
        cfg = MonitorConfig(backend_type=backend)
        assert type(cfg.make_exporter()) is type(make_exporter(cfg))


def test_make_exporter_without_a_registered_factory_is_none_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A backend type without a registered factory (a checkout used without installing
    it) gets no exporter, and a warning names the entry-point group."""
    monkeypatch.setattr(config_module, "EXPORTER_FACTORIES", "lexigram.monitor.nothing_here")
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.config"):
        assert MonitorConfig(backend_type="prometheus").make_exporter() is None
    assert "no exporter factory registered for backend 'prometheus'" in caplog.text
    assert "lexigram.monitor.nothing_here" in caplog.text


def test_make_exporter_contains_a_failing_factory(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A factory that raises yields None and a warning: make_exporter() never raises."""

    def broken(config: MonitorConfig) -> object:
        raise RuntimeError("exporter down")

    monkeypatch.setattr(config_module, "_exporter_factory", lambda backend: broken)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.config"):
        assert MonitorConfig(backend_type="prometheus").make_exporter() is None
    assert "exporter down" in caplog.text


def test_resolve_environment_names_aliases_variables_and_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An explicit name wins (any case, with aliases), then LEX_ENV, then APP_ENV, then
    the default; an unknown name is refused with the valid ones."""
    assert resolve_environment("PROD") is Environment.PRODUCTION
    assert resolve_environment(" stage ", Environment.TEST) is Environment.STAGING
    assert resolve_environment(None, Environment.TEST) is Environment.TEST
    assert resolve_environment(None) is Environment.DEVELOPMENT
    monkeypatch.setenv("APP_ENV", "testing")
    assert resolve_environment(None) is Environment.TEST
    monkeypatch.setenv("LEX_ENV", "dev")
    assert resolve_environment(None, Environment.PRODUCTION) is Environment.DEVELOPMENT
    with pytest.raises(ValueError, match="'moon' is not one of development, staging"):
        resolve_environment("moon")


def test_is_secret_field_by_name_or_dotted_path() -> None:
    """Tokens, secrets, passwords, API keys and OTLP headers are secret; others are not."""
    for path in ("auth_token", "prometheus.auth_token", "opentelemetry.headers.X-Key",
                 "DB_PASSWORD", "api_key", "client_secret"):  # fmt: skip
        assert is_secret_field(path), path
    for path in ("prometheus.port", "metrics.prefix", "logging.redact_fields"):
        assert not is_secret_field(path), path


def test_mask_secrets_hides_set_secrets_and_keeps_the_rest() -> None:
    """Set tokens become '***', unset ones stay None, OTLP headers keep their names with
    masked values, everything else is the plain dump; the config itself is unchanged."""
    cfg = MonitorConfig(
        prometheus=PrometheusConfig(auth_token="s3cr3t", port=9100),
        opentelemetry=OpenTelemetryConfig(headers={"x-api-key": "k", "x-empty": ""}),
        metrics=MetricsConfig(default_labels={"token_bucket": "a"}),
    )
    masked = mask_secrets(cfg)
    expected = cfg.model_dump(mode="json")
    expected["prometheus"]["auth_token"] = SECRET_MASK
    expected["opentelemetry"]["headers"] = {"x-api-key": SECRET_MASK, "x-empty": SECRET_MASK}
    assert masked == expected
    assert masked["health"]["auth_token"] is None
    assert masked["metrics"]["default_labels"] == {"token_bucket": "a"}  # a label, not a field
    assert cfg.prometheus.auth_token == "s3cr3t"
    assert mask_secrets(cfg.prometheus) == masked["prometheus"]
    assert mask_secrets(OpenTelemetryConfig())["headers"] == {}


def test_validate_for_development_is_quiet() -> None:
    """A development config yields no issues."""
    assert MonitorConfig(debug=True).validate_for_environment("development") == []


def test_validate_for_production_flags_risky_settings() -> None:
    """Production: tracing off, debug on, unprotected endpoints and full sampling are flagged."""
    cfg = MonitorConfig(
        backend_type="prometheus",
        debug=True,
        tracing=TracingConfig(enabled=False),
    )
    issues = cfg.validate_for_environment(Environment.PRODUCTION)
    assert all(isinstance(i, ConfigIssue) for i in issues)
    fields = {i.field: i for i in issues}
    assert fields["debug"].severity == "error"
    assert "tracing.enabled" in fields
    assert "prometheus.auth_token" in fields
    assert "health.include_details" in fields
    assert all(i.suggestion for i in issues)


def test_validate_production_full_sampling() -> None:
    """Sampling every trace in production is a warning; a low ratio is not."""
    full = MonitorConfig().validate_for_environment("production")
    assert any(i.field == "tracing.sample_rate" for i in full)
    low = MonitorConfig(
        tracing=TracingConfig(sample_rate=0.05),
        health=HealthCheckConfig(auth_token="t"),
        status_page=StatusPageConfig(auth_token="t"),
    ).validate_for_environment("production")
    assert low == []


def test_validate_env_from_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """With env=None the environment comes from LEX_ENV, then APP_ENV."""
    monkeypatch.setenv("APP_ENV", "prod")
    assert MonitorConfig(debug=True).validate_for_environment()
    monkeypatch.setenv("LEX_ENV", "development")
    assert MonitorConfig(debug=True).validate_for_environment() == []


def test_validate_unknown_environment() -> None:
    """An unknown environment name is refused with the allowed names."""
    with pytest.raises(ValueError, match="production"):
        MonitorConfig().validate_for_environment("moon")
