"""``python -m lexigram.monitor doctor``: interpreter, extras, configured backend, tools."""

from __future__ import annotations

import json
import os
import platform
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from lexigram.monitor._version import __version__
from lexigram.monitor.cli import main
from lexigram.monitor.cli.doctor import (
    DEPENDENCIES,
    Dependency,
    check_backend,
    find_tools,
    probe,
)

GRPC_EXPORTER = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without LEX_MONITOR__* variables and with a wide terminal."""
    for name in list(os.environ):
        if name.upper().startswith("LEX_MONITOR__"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")


def _doctor_json(capsys: pytest.CaptureFixture[str], expected_code: int) -> Any:
    assert main(["doctor", "--json"]) == expected_code
    return json.loads(capsys.readouterr().out)


def _executable(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_full_install_reports_everything_ok(capsys: pytest.CaptureFixture[str]) -> None:
    """With every extra installed and the default backend, doctor lists each dependency
    as ok with a version and exits 0."""
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"python   {platform.python_version()} ({platform.python_implementation()}" in out
    assert f"package  lexigram-monitor {__version__}" in out
    for dep in DEPENDENCIES:
        row = next(line for line in out.splitlines() if f" {dep.name} " in line)
        assert row.split()[0] == "ok"
    assert "to install what is missing" not in out
    assert "ok: memory: MemoryBackend can be built (not started by doctor)" in out
    assert out.rstrip().endswith("OK (exit 0)")


def test_json_report_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    """--json has the interpreter, package, every dependency, the backend and the tools."""
    doc = _doctor_json(capsys, 0)
    assert doc["ok"] is True
    assert doc["python"]["version"] == platform.python_version()
    assert doc["python"]["executable"] == sys.executable
    assert doc["package"]["version"] == __version__
    assert [d["name"] for d in doc["dependencies"]] == [d.name for d in DEPENDENCIES]
    prometheus = doc["dependencies"][0]
    assert prometheus["available"] is True
    assert prometheus["version"]
    assert prometheus["install"] is None
    assert doc["backend"] == {
        "type": "memory",
        "usable": True,
        "summary": "MemoryBackend can be built (not started by doctor)",
        "problems": [],
        "fix": None,
    }
    assert [t["name"] for t in doc["tools"]] == [
        "prometheus",
        "promtool",
        "pushgateway",
        "alertmanager",
    ]


def test_missing_extra_gets_its_install_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dependency that does not import is 'missing' with the pip line of its extra;
    it does not change the exit code while the backend does not need it."""
    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.setitem(sys.modules, GRPC_EXPORTER, None)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    psutil_row = next(line for line in out.splitlines() if " psutil " in line)
    assert psutil_row.split()[:3] == ["missing", "psutil", "-"]
    assert "pip install 'lexigram-monitor[system]'     # psutil" in out
    assert "pip install 'lexigram-monitor[otel-grpc]'  # otlp-grpc" in out


def test_missing_extra_in_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json carries the import error and the install line of a missing dependency."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    doc = _doctor_json(capsys, 0)
    httpx = next(d for d in doc["dependencies"] if d["name"] == "httpx")
    assert httpx["available"] is False
    assert httpx["install"] == "pip install 'lexigram-monitor[alerts]'"
    assert httpx["error"].startswith("ModuleNotFoundError")


def test_backend_without_its_extra_is_unusable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The configured Prometheus backend without prometheus_client makes doctor exit 1
    with the error and the install line."""
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "prometheus")
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "UNUSABLE: prometheus: the prometheus backend cannot be built" in out
    assert "fix: pip install 'lexigram-monitor[prometheus]'" in out
    assert "FAILED: the configured backend is unusable (exit 1)" in out


def test_invalid_backend_settings_are_unusable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Settings the configuration refuses make the backend unusable, field by field."""
    monkeypatch.setenv("LEX_MONITOR__PROMETHEUS__PORT", "abc")
    doc = _doctor_json(capsys, 1)
    backend = doc["backend"]
    assert backend["usable"] is False
    assert backend["type"] == "unknown"
    assert backend["problems"][0].startswith("prometheus.port: Input should be a valid integer")
    assert "LEX_MONITOR__PROMETHEUS__PORT" in backend["problems"][0]


def test_unknown_otel_exporter_type_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OpenTelemetry backend whose exporter type no registry handles cannot start."""
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "opentelemetry")
    monkeypatch.setenv("LEX_MONITOR__OPENTELEMETRY__TYPE", "zipkin")
    status = check_backend()
    assert not status.usable
    assert status.problems == [
        "no tracing exporter handles opentelemetry.type='zipkin'",
        "no metrics exporter handles opentelemetry.type='zipkin'",
    ]


def test_otel_grpc_without_its_exporter_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    """protocol=grpc needs the gRPC exporter: without it the fix names the otel-grpc extra."""
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "opentelemetry")
    monkeypatch.setenv("LEX_MONITOR__OPENTELEMETRY__PROTOCOL", "grpc")
    assert check_backend().usable
    monkeypatch.setitem(sys.modules, GRPC_EXPORTER, None)
    status = check_backend()
    assert not status.usable
    assert status.fix == "pip install 'lexigram-monitor[otel-grpc]'"
    assert "opentelemetry-exporter-otlp-proto-grpc" in status.problems[0]


def test_console_exporter_needs_no_otlp(monkeypatch: pytest.MonkeyPatch) -> None:
    """type=console does not need an OTLP exporter to be importable."""
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "opentelemetry")
    monkeypatch.setenv("LEX_MONITOR__OPENTELEMETRY__TYPE", "console")
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    assert check_backend().usable


def test_disabled_monitoring_uses_the_noop_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """enabled=false builds the no-op backend, which needs nothing."""
    monkeypatch.setenv("LEX_MONITOR__ENABLED", "false")
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "prometheus")
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    status = check_backend()
    assert (status.type, status.usable) == ("noop", True)
    assert status.summary.startswith("NoopMetricsBackend can be built")


def test_tools_are_found_on_path_informationally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Binaries on PATH are listed (Debian names included); absent ones never fail."""
    promtool = _executable(tmp_path, "promtool")
    pushgateway = _executable(tmp_path, "prometheus-pushgateway")
    monkeypatch.setenv("PATH", str(tmp_path))
    doc = _doctor_json(capsys, 0)
    tools = {t["name"]: t["path"] for t in doc["tools"]}
    assert tools == {
        "prometheus": None,
        "promtool": str(promtool),
        "pushgateway": str(pushgateway),
        "alertmanager": None,
    }
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "alertmanager  not found (tried alertmanager, prometheus-alertmanager)" in out


def test_find_tools_prefers_the_first_name() -> None:
    """The first executable name found wins for each tool."""
    found = {"pushgateway": "/opt/pushgateway", "prometheus-pushgateway": "/usr/bin/ppg"}
    tools = {t.name: t.path for t in find_tools(found.get)}
    assert tools["pushgateway"] == "/opt/pushgateway"
    assert tools["prometheus"] is None


def test_probe_reports_broken_and_unversioned_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module raising on import is missing with its error; a module without
    distribution metadata takes its version from __version__."""
    (tmp_path / "doctor_broken_mod.py").write_text("raise RuntimeError('half installed')\n")
    (tmp_path / "doctor_plain_mod.py").write_text("__version__ = '3.2.1'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = probe(Dependency("broken", "doctor_broken_mod", "no-such-dist", "x", "tests"))
    assert not broken.available
    assert broken.error == "RuntimeError: half installed"
    plain = probe(Dependency("plain", "doctor_plain_mod", "no-such-dist", "x", "tests"))
    assert (plain.available, plain.version) == (True, "3.2.1")
