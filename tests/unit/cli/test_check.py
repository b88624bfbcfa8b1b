"""``python -m lexigram.monitor check``: configuration findings, exit codes and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lexigram.monitor.cli import main
from lexigram.monitor.cli.check import (
    EXIT_ISSUES,
    EXIT_OK,
    EXIT_UNUSABLE,
    check_config,
    describe_backend,
    unknown_variables,
)
from lexigram.monitor.config import (
    BackendType,
    Environment,
    MonitorConfig,
    OpenTelemetryConfig,
    PrometheusConfig,
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without LEX_ENV/APP_ENV/LEX_MONITOR__* and with a wide terminal."""
    for name in list(os.environ):
        if name.upper().startswith("LEX_MONITOR__") or name in ("LEX_ENV", "APP_ENV"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")


def _yaml(tmp_path: Path, text: str, name: str = "monitor.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


PRODUCTION_READY = """
monitor:
  backend_type: prometheus
  environment: production
  tracing:
    sampler_type: parent_based
    sample_rate: 0.1
  health:
    auth_token: health-secret
  prometheus:
    auth_token: scrape-secret
"""


# -- happy paths and exit codes --------------------------------------------------------


def test_defaults_are_clean_in_development(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a file or variables the memory backend is reported and nothing is wrong."""
    assert main(["check"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "backend      memory: metrics and spans stay in process" in out
    assert "environment  development (from the config's 'environment')" in out
    assert "OK: no issues for development (exit 0)" in out


def test_a_production_ready_file_passes_even_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file meeting every production rule exits 0, with --strict too."""
    path = _yaml(tmp_path, PRODUCTION_READY)
    assert main(["check", "--config", path, "--strict"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "environment  production (from the config's 'environment')" in out
    assert "scrape endpoint http://127.0.0.1:8000/metrics; bearer token required" in out
    assert "scrape-secret" not in out


def test_an_error_finding_exits_1_and_is_tabulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """debug=true in production is an error: it is listed with its fix and exits 1."""
    path = _yaml(tmp_path, PRODUCTION_READY + "  debug: true\n")
    assert main(["check", "--config", path]) == EXIT_ISSUES
    out = capsys.readouterr().out
    assert "SEVERITY  FIELD" in out
    error_line = next(line for line in out.splitlines() if line.strip().startswith("error"))
    assert "debug" in error_line
    assert "debug mode is on in production" in error_line
    assert "fix: set LEX_MONITOR__DEBUG=false" in out
    assert "FAILED: 1 error, 0 warnings, 0 info for production (exit 1)" in out


def test_warnings_fail_only_with_strict(capsys: pytest.CaptureFixture[str]) -> None:
    """Production defaults give warnings only: exit 0, and exit 1 under --strict."""
    assert main(["check", "--env", "production"]) == EXIT_OK
    assert "warnings fail with --strict" in capsys.readouterr().out
    assert main(["check", "--env", "production", "--strict"]) == EXIT_ISSUES
    assert "--strict: warnings fail too" in capsys.readouterr().out


def test_issues_are_sorted_errors_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report lists errors before warnings before info."""
    monkeypatch.setenv("LEX_MONITOR__DEBUG", "true")
    monkeypatch.setenv("LEX_MONITOR__LOGGING__LEVEL", "debug")
    report = check_config(None, env="production")
    severities = [issue.severity for issue in report.issues]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert severities[0] == "error"
    assert severities[-1] == "info"


def test_json_report_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one document with origin, environment, backend, counts and issues."""
    path = _yaml(tmp_path, PRODUCTION_READY + "  debug: true\n")
    assert main(["check", "--config", path, "--json"]) == EXIT_ISSUES
    doc = _json(capsys)
    assert doc["ok"] is False
    assert doc["exit_code"] == 1
    assert doc["config"] == {"source": "file", "file": path}
    assert doc["environment"] == {
        "name": "production",
        "source": "the config's 'environment'",
    }
    assert doc["backend"]["type"] == "prometheus"
    assert doc["backend"]["settings"]["auth_token"] == "***"
    assert doc["counts"] == {"error": 1, "warning": 0, "info": 0}
    assert doc["issues"] == [
        {
            "field": "debug",
            "message": "debug mode is on in production",
            "severity": "error",
            "suggestion": "set LEX_MONITOR__DEBUG=false",
        }
    ]


def test_json_clean_report(capsys: pytest.CaptureFixture[str]) -> None:
    """A clean --json report says ok, exit code 0 and no issues."""
    assert main(["check", "--json"]) == EXIT_OK
    doc = _json(capsys)
    assert (doc["ok"], doc["exit_code"], doc["issues"]) == (True, 0, [])
    assert doc["config"] == {"source": "environment", "file": None}


# -- environment resolution ------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "lex_env", "app_env", "expected", "source"),
    [
        ("staging", "production", "test", Environment.STAGING, "--env"),
        (None, "production", "test", Environment.PRODUCTION, "LEX_ENV"),
        (None, None, "test", Environment.TEST, "APP_ENV"),
        (None, None, None, Environment.DEVELOPMENT, "the config's 'environment'"),
        ("prod", None, None, Environment.PRODUCTION, "--env"),
    ],
)
def test_environment_precedence(
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    lex_env: str | None,
    app_env: str | None,
    expected: Environment,
    source: str,
) -> None:
    """--env beats LEX_ENV beats APP_ENV beats the config's environment; aliases work."""
    if lex_env:
        monkeypatch.setenv("LEX_ENV", lex_env)
    if app_env:
        monkeypatch.setenv("APP_ENV", app_env)
    report = check_config(None, env=flag)
    assert (report.environment, report.environment_source) == (expected, source)


def test_unknown_environment_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An environment that is none of the four (or their aliases) is unusable input."""
    assert main(["check", "--env", "qa"]) == EXIT_UNUSABLE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "environment 'qa' (from --env) is unknown" in captured.err
    assert "development, staging, production, test" in captured.err


def test_unknown_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown LEX_ENV names the variable it came from, also in --json."""
    monkeypatch.setenv("LEX_ENV", "qa")
    assert main(["check", "--json"]) == EXIT_UNUSABLE
    doc = _json(capsys)
    assert doc["ok"] is False
    assert doc["exit_code"] == 2
    assert "(from LEX_ENV)" in doc["error"]["message"]


# -- unusable input --------------------------------------------------------------------


def test_missing_file_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config file that does not exist is reported by path on stderr."""
    missing = str(tmp_path / "nope.yaml")
    assert main(["check", "--config", missing]) == EXIT_UNUSABLE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: config file {missing!r} does not exist")
    assert "Traceback" not in captured.err


def test_missing_file_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --json the input error is a JSON document on stdout."""
    assert main(["check", "--config", str(tmp_path / "x.yaml"), "--json"]) == EXIT_UNUSABLE
    doc = _json(capsys)
    assert doc["exit_code"] == 2
    assert "does not exist" in doc["error"]["message"]


def test_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory given as the config file is unusable input."""
    assert main(["check", "--config", str(tmp_path)]) == EXIT_UNUSABLE
    assert "is a directory" in capsys.readouterr().err


def test_invalid_yaml_names_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid YAML is reported with its position."""
    path = _yaml(tmp_path, "monitor:\n  prometheus: [1, 2\n  debug: true\n")
    assert main(["check", "--config", path]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "is not valid YAML: line 3, column" in err


def test_non_utf8_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not UTF-8 text is unusable input."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("monitor:\n  name: caf\xe9\n".encode("latin-1"))
    assert main(["check", "--config", str(path)]) == EXIT_UNUSABLE
    assert "is not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- monitor\n- other\n", "holds a YAML list"),
        ("monitor:\n", "'monitor:' section of"),
        ("monitor: [backend_type]\n", "is a list; it must be a mapping"),
    ],
)
def test_wrong_shapes_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    """A top level or a 'monitor:' section that is not a mapping is unusable input."""
    path = _yaml(tmp_path, text)
    assert main(["check", "--config", path]) == EXIT_UNUSABLE
    assert expected in capsys.readouterr().err


def test_invalid_fields_are_listed_with_their_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every rejected field is listed with pydantic's reason, the value and the file key;
    secret values are masked."""
    path = _yaml(
        tmp_path,
        "monitor:\n  prometheus:\n    port: 70000\n    auth_token: 12345\n"
        "  tracing:\n    sample_rate: 2\n",
    )
    assert main(["check", "--config", path]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "3 fields rejected" in err
    assert (
        "prometheus.port: Input should be less than or equal to 65535 "
        f"(got 70000; from monitor.prometheus.port in {path})"
    ) in err
    assert "tracing.sample_rate: sample_rate 2.0 must be between 0.0 and 1.0" in err
    assert "prometheus.auth_token: Input should be a valid string (got ***;" in err
    assert "12345" not in err


def test_invalid_fields_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json carries the field errors as structured items."""
    path = _yaml(tmp_path, "monitor:\n  backend_type: graphite\n")
    assert main(["check", "--config", path, "--json"]) == EXIT_UNUSABLE
    errors = _json(capsys)["error"]["field_errors"]
    assert [(e["field"], e["value"]) for e in errors] == [("backend_type", "'graphite'")]
    assert "'memory', 'prometheus' or 'opentelemetry'" in errors[0]["message"]


def test_variable_overriding_the_file_is_blamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value from a LEX_MONITOR__ variable names the variable, not the file."""
    monkeypatch.setenv("LEX_MONITOR__PROMETHEUS__PORT", "abc")
    path = _yaml(tmp_path, "monitor:\n  prometheus:\n    port: 9000\n")
    assert main(["check", "--config", path]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "prometheus.port: Input should be a valid integer" in err
    assert "from the environment variable LEX_MONITOR__PROMETHEUS__PORT" in err


def test_non_json_variable_for_a_list_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A list setting given as non-JSON text exits 2 and says that JSON is expected."""
    monkeypatch.setenv("LEX_MONITOR__METRICS__HISTOGRAM_BUCKETS", "0.1,0.5")
    assert main(["check"]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "cannot be read" in err
    assert "must be JSON" in err
    assert "HISTOGRAM_BUCKETS='[0.1, 0.5, 1.0]'" in err


# -- keys that name no setting -----------------------------------------------------------


def test_unknown_file_keys_are_warned_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Typos in the file are warnings (ignored on load), with the likely intended key;
    free-form mappings such as default_labels take any key."""
    path = _yaml(
        tmp_path,
        "monitor:\n  prometheus:\n    prot: 9000\n  Tracing: {}\n"
        "  metrics:\n    default_labels: {team: core}\n",
    )
    assert main(["check", "--config", path, "--json"]) == EXIT_OK
    issues = {i["field"]: i for i in _json(capsys)["issues"]}
    assert set(issues) == {"monitor.prometheus.prot", "monitor.Tracing"}
    assert issues["monitor.prometheus.prot"]["severity"] == "warning"
    assert issues["monitor.prometheus.prot"]["suggestion"] == (
        "did you mean 'monitor.prometheus.port'?"
    )
    assert "case-sensitive" in issues["monitor.Tracing"]["suggestion"]


def test_unknown_keys_fail_under_strict(tmp_path: Path) -> None:
    """An unknown key is a warning, so --strict turns it into exit 1."""
    path = _yaml(tmp_path, "monitor:\n  bakend_type: prometheus\n")
    assert main(["check", "--config", path, "--strict"]) == EXIT_ISSUES


def test_file_without_monitor_section_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file with no 'monitor:' key loads defaults: check says so as a warning."""
    path = _yaml(tmp_path, "monitoring:\n  debug: true\n")
    assert main(["check", "--config", path]) == EXIT_OK
    out = capsys.readouterr().out
    assert "has no 'monitor:' section" in out


def test_unknown_variables_are_warned() -> None:
    """LEX_MONITOR__ variables naming no setting are warned about with a suggestion;
    settings, sections and keys of mapping settings are not."""
    environ = {
        "LEX_MONITOR__PROMETHEUS__PROT": "1",
        "LEX_MONITOR__PROMETHEUS__PORT": "1",
        "LEX_MONITOR__TRACING": "{}",
        "LEX_MONITOR__METRICS__DEFAULT_LABELS__TEAM": "core",
        "lex_monitor__debugg": "1",
        "PATH": "/bin",
    }
    issues = {i.field: i for i in unknown_variables(environ)}
    assert set(issues) == {"LEX_MONITOR__PROMETHEUS__PROT", "lex_monitor__debugg"}
    assert issues["LEX_MONITOR__PROMETHEUS__PROT"].suggestion == (
        "did you mean LEX_MONITOR__PROMETHEUS__PORT?"
    )
    assert issues["lex_monitor__debugg"].suggestion == "did you mean LEX_MONITOR__DEBUG?"


# -- backend description ---------------------------------------------------------------


def test_backend_descriptions_mask_secrets() -> None:
    """Each backend is summarised; tokens and OTLP header values never appear."""
    prometheus = PrometheusConfig(
        host="::1",
        port=9123,
        pushgateway_url="http://pg:9091",
        store_in_db=True,
        auth_token="t0k",
    )
    prom = describe_backend(
        MonitorConfig(backend_type=BackendType.PROMETHEUS, prometheus=prometheus)
    )
    assert prom["summary"] == (
        "scrape endpoint http://[::1]:9123/metrics; bearer token required; pushes to "
        "http://pg:9091 every 15s as job 'lexigram'; stores samples in table "
        "'monitor_metrics' of lexigram_metrics.db"
    )
    assert prom["settings"]["auth_token"] == "***"
    otel = describe_backend(
        MonitorConfig(
            backend_type=BackendType.OPENTELEMETRY,
            opentelemetry=OpenTelemetryConfig(protocol="grpc", headers={"x-api-key": "k3y"}),
        )
    )
    assert otel["summary"].startswith("otlp exporter over grpc to http://localhost:4318")
    assert otel["settings"]["headers"] == {"x-api-key": "***"}
    off = describe_backend(MonitorConfig(enabled=False, backend_type=BackendType.PROMETHEUS))
    assert (off["type"], off["configured"]) == ("noop", "prometheus")


def test_help_lists_the_commands() -> None:
    """`python -m lexigram.monitor --help` works and lists check, doctor and slo."""
    result = subprocess.run(
        [sys.executable, "-m", "lexigram.monitor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("check", "doctor", "slo", "demo"):
        assert command in result.stdout
