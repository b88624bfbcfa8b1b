"""``python -m lexigram.monitor doctor``: what this installation can do, and what it lacks.

Reports the Python interpreter, the package version, each optional dependency
(importable or not, its version, the ``pip install 'lexigram-monitor[extra]'`` line
that brings a missing one), whether the backend the ``LEX_MONITOR__*`` variables select
can be built (``create_backend(MonitorConfig())``, not initialized: no port is bound
and nothing is sent), and which Prometheus binaries are on ``PATH`` (informational).

Exit code 0, or 1 when the configured backend is unusable: its settings are invalid,
its extra is missing, or (OpenTelemetry) no exporter handles the configured type or the
exporter for the configured protocol is not installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import platform
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .._version import __version__
from ..config import BackendType, MonitorConfig
from ._input import ENV_PREFIX, settings_error
from ._text import print_json, table

__all__ = [
    "DEPENDENCIES",
    "TOOLS",
    "BackendStatus",
    "Dependency",
    "DependencyStatus",
    "DoctorReport",
    "ToolStatus",
    "add_arguments",
    "check_backend",
    "diagnose",
    "find_tools",
    "probe",
    "run",
    "run_doctor",
]

EXIT_OK = 0
EXIT_BACKEND_UNUSABLE = 1
DISTRIBUTION = "lexigram-monitor"


@dataclass(frozen=True, slots=True)
class Dependency:
    """An optional dependency: the module imported to detect it, its distribution (for
    the version), the extra that installs it and what it is used for."""

    name: str
    module: str
    distribution: str
    extra: str
    purpose: str

    @property
    def install(self) -> str:
        """The command that installs it."""
        return f"pip install '{DISTRIBUTION}[{self.extra}]'"


DEPENDENCIES: tuple[Dependency, ...] = (
    Dependency("prometheus_client", "prometheus_client", "prometheus-client", "prometheus",
               "Prometheus exposition, scrape server, Pushgateway"),
    Dependency("opentelemetry-sdk", "opentelemetry.sdk.trace", "opentelemetry-sdk", "otel",
               "OpenTelemetry backend"),
    Dependency("otlp-http", "opentelemetry.exporter.otlp.proto.http.trace_exporter",
               "opentelemetry-exporter-otlp-proto-http", "otel", "OTLP export over HTTP"),
    Dependency("otlp-grpc", "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
               "opentelemetry-exporter-otlp-proto-grpc", "otel-grpc", "OTLP export over gRPC"),
    Dependency("psutil", "psutil", "psutil", "system", "CPU and memory profiling"),
    Dependency("starlette", "starlette", "starlette", "web", "ASGI apps, demo"),
    Dependency("uvicorn", "uvicorn", "uvicorn", "web", "demo server"),
    Dependency("httpx", "httpx", "httpx", "alerts", "alerts, httpx tracing"),
    Dependency("structlog", "structlog", "structlog", "all", "structlog logging pipelines"),
)  # fmt: skip
"""What ``doctor`` looks for, in report order."""

TOOLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("prometheus", ("prometheus",)),
    ("promtool", ("promtool",)),
    ("pushgateway", ("pushgateway", "prometheus-pushgateway")),
    ("alertmanager", ("alertmanager", "prometheus-alertmanager")),
)
"""Prometheus binaries looked up on ``PATH``: (tool, executable names tried in order)."""


@dataclass(frozen=True, slots=True)
class DependencyStatus:
    """Whether a :class:`Dependency` imports, its version, or why it does not import."""

    dependency: Dependency
    available: bool
    version: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the install line only for a missing dependency)."""
        dep = self.dependency
        return {
            **asdict(dep),
            "available": self.available,
            "version": self.version,
            "error": self.error,
            "install": None if self.available else dep.install,
        }


@dataclass(frozen=True, slots=True)
class BackendStatus:
    """Can the configured backend be built? *problems* say why not, *fix* how to fix it."""

    type: str
    usable: bool
    summary: str
    problems: list[str] = field(default_factory=list)
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class ToolStatus:
    """A Prometheus binary: the names tried and where it was found (None: not found)."""

    name: str
    candidates: tuple[str, ...]
    path: str | None


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Everything ``doctor`` found."""

    python: dict[str, str]
    package: dict[str, str | None]
    dependencies: list[DependencyStatus]
    backend: BackendStatus
    tools: list[ToolStatus]

    @property
    def exit_code(self) -> int:
        """1 when the configured backend is unusable, else 0."""
        return EXIT_OK if self.backend.usable else EXIT_BACKEND_UNUSABLE

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready mapping."""
        return {
            "ok": self.exit_code == EXIT_OK,
            "exit_code": self.exit_code,
            "python": self.python,
            "package": self.package,
            "dependencies": [d.as_dict() for d in self.dependencies],
            "backend": asdict(self.backend),
            "tools": [asdict(t) for t in self.tools],
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``doctor`` options to *parser*."""
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    """Entry point of the ``doctor`` command."""
    return run_doctor(as_json=args.json)


def run_doctor(*, as_json: bool = False, out: TextIO | None = None) -> int:
    """Diagnose, print the report and return the exit code."""
    out = out if out is not None else sys.stdout
    report = diagnose()
    if as_json:
        print_json(report.as_dict(), out)
    else:
        print(format_report(report), file=out)
    return report.exit_code


def diagnose(which: Callable[[str], str | None] = shutil.which) -> DoctorReport:
    """Collect the report; *which* finds executables (default ``shutil.which``)."""
    return DoctorReport(
        python={
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        package=_package(),
        dependencies=[probe(dep) for dep in DEPENDENCIES],
        backend=check_backend(),
        tools=find_tools(which),
    )


def _package() -> dict[str, str | None]:
    try:
        installed: str | None = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    return {
        "name": DISTRIBUTION,
        "version": __version__,
        "installed_version": installed,
        "location": str(Path(__file__).resolve().parent.parent),
    }


def probe(dependency: Dependency) -> DependencyStatus:
    """Import *dependency*'s module; its version comes from the distribution metadata,
    else from ``__version__``. A module that fails to import for any reason is missing."""
    try:
        module = importlib.import_module(dependency.module)
    except Exception as exc:  # ImportError, or a broken install raising anything else
        return DependencyStatus(dependency, False, error=f"{type(exc).__name__}: {exc}")
    try:
        version: str | None = importlib.metadata.version(dependency.distribution)
    except importlib.metadata.PackageNotFoundError:
        found = getattr(module, "__version__", None)
        version = found if isinstance(found, str) else None
    return DependencyStatus(dependency, True, version)


def check_backend(config: MonitorConfig | None = None) -> BackendStatus:
    """Build the backend of *config* (default: ``MonitorConfig()``, from the
    environment) without initializing it. ``check`` asks the same question."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from ..backends.factory import create_backend
    from ..exceptions import BackendNotAvailableError

    if config is None:
        try:
            config = MonitorConfig()
        except (ValidationError, SettingsError) as exc:
            error = settings_error(exc)
            return BackendStatus(
                "unknown",
                False,
                error.message,
                error.details,
                f"correct the {ENV_PREFIX}* variables named above",
            )
    kind = config.backend_type.value if config.enabled else "noop"
    try:
        backend = create_backend(config)
    except BackendNotAvailableError as exc:
        return BackendStatus(
            kind, False, f"the {kind} backend cannot be built", [str(exc)], _install_hint(str(exc))
        )
    except Exception as exc:
        return BackendStatus(
            kind, False, f"the {kind} backend cannot be built", [f"{type(exc).__name__}: {exc}"]
        )
    name = type(backend).__name__
    if config.enabled and config.backend_type is BackendType.OPENTELEMETRY:
        problems, fix = _otel_exporter_problems(backend, config)
        if problems:
            return BackendStatus(kind, False, f"{name} builds but cannot start", problems, fix)
    return BackendStatus(kind, True, f"{name} can be built (not started by doctor)")


def _install_hint(message: str) -> str | None:
    start = message.find("pip install")
    return message[start:] if start >= 0 else None


def _otel_exporter_problems(backend: Any, config: MonitorConfig) -> tuple[list[str], str | None]:
    otel = config.opentelemetry
    kind = otel.type.strip().lower()
    problems: list[str] = []
    for signal, registry in (
        ("tracing", backend.tracing_exporter_registry),
        ("metrics", backend.metrics_exporter_registry),
    ):
        if not any(handler.can_handle(kind) for handler in registry.handlers):
            problems.append(f"no {signal} exporter handles opentelemetry.type={otel.type!r}")
    if problems:
        return problems, "set LEX_MONITOR__OPENTELEMETRY__TYPE to 'otlp' or 'console'"
    if kind != "otlp":
        return [], None
    wanted = next(
        d
        for d in DEPENDENCIES
        if d.name == ("otlp-grpc" if otel.protocol == "grpc" else "otlp-http")
    )
    status = probe(wanted)
    if status.available:
        return [], None
    return [
        f"opentelemetry.protocol={otel.protocol!r} needs {wanted.distribution}, which does not "
        f"import ({status.error})"
    ], wanted.install


def find_tools(which: Callable[[str], str | None] = shutil.which) -> list[ToolStatus]:
    """Look the Prometheus binaries of :data:`TOOLS` up with *which*."""
    found = []
    for name, candidates in TOOLS:
        path = next((p for p in map(which, candidates) if p), None)
        found.append(ToolStatus(name, candidates, path))
    return found


def format_report(report: DoctorReport) -> str:
    """The report as text."""
    py, pkg = report.python, report.package
    installed = pkg["installed_version"]
    dist = f"installed as {installed}" if installed else "not installed as a distribution"
    lines = [
        "lexigram-monitor doctor",
        f"  python   {py['version']} ({py['implementation']}, {py['executable']})",
        f"  package  {pkg['name']} {pkg['version']} ({dist}; {pkg['location']})",
        "",
        "optional dependencies",
        table(
            ["STATUS", "NAME", "VERSION", "EXTRA", "USED FOR"],
            [_dependency_row(s) for s in report.dependencies],
        ),
    ]
    missing = _install_lines(report.dependencies)
    if missing:
        lines += ["", "to install what is missing:", *missing]
    backend = report.backend
    lines += ["", f"configured backend ({ENV_PREFIX}* variables)"]
    lines.append(f"  {'ok' if backend.usable else 'UNUSABLE'}: {backend.type}: {backend.summary}")
    lines += [f"    {problem}" for problem in backend.problems]
    if backend.fix:
        lines.append(f"    fix: {backend.fix}")
    lines += ["", "Prometheus tools on PATH (informational)"]
    rows = [
        [t.name, t.path or f"not found (tried {', '.join(t.candidates)})"] for t in report.tools
    ]
    lines.append(table(["TOOL", "PATH"], rows))
    verdict = (
        "OK (exit 0)"
        if report.exit_code == EXIT_OK
        else f"FAILED: the configured backend is unusable (exit {report.exit_code})"
    )
    lines += ["", verdict]
    return "\n".join(lines)


def _dependency_row(status: DependencyStatus) -> list[str]:
    dep = status.dependency
    return [
        "ok" if status.available else "missing",
        dep.name,
        status.version or "-",
        dep.extra,
        dep.purpose,
    ]


def _install_lines(statuses: Sequence[DependencyStatus]) -> list[str]:
    by_line: dict[str, list[str]] = {}
    for status in statuses:
        if not status.available:
            by_line.setdefault(status.dependency.install, []).append(status.dependency.name)
    width = max((len(line) for line in by_line), default=0)
    return [f"  {line:<{width}}  # {', '.join(names)}" for line, names in by_line.items()]
