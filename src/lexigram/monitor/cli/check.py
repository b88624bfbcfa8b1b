"""``python -m lexigram.monitor check``: is this monitoring configuration fit for an environment?

Loads :class:`~lexigram.monitor.config.MonitorConfig` — from the ``monitor:`` section of
``--config FILE`` (``LEX_MONITOR__*`` variables still override the file, as in
``MonitorConfig.from_yaml``), else from the ``LEX_MONITOR__*`` variables alone — prints
the backend it selects and the findings of ``validate_for_environment(env)``, where
*env* is ``--env``, else ``$LEX_ENV``, else ``$APP_ENV``, else the config's
``environment``. Besides those findings it warns about keys of the file and
``LEX_MONITOR__*`` variables that name no setting (they are silently ignored when
loading, so a typo would otherwise go unnoticed) and about a file without a
``monitor:`` section. A backend that cannot be built here (its extra is not installed,
its exporter type is unknown) is an error, as ``doctor`` reports it.

Exit codes: 0 when no finding is an error (with ``--strict``: no error and no
warning); 1 otherwise; 2 when the input is unusable (missing or unreadable file,
invalid YAML, a field pydantic rejects, an unknown environment). ``--json`` prints one
JSON document in every case, the error included.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from ..config import (
    BackendType,
    ConfigIssue,
    Environment,
    MonitorConfig,
    mask_secrets,
    resolve_environment,
)
from ._input import ENV_PREFIX, InputError, env_name, read_yaml, settings_error
from ._text import print_json, table, terminal_width, wrap

__all__ = [
    "EXIT_ISSUES",
    "EXIT_OK",
    "EXIT_UNUSABLE",
    "CheckReport",
    "add_arguments",
    "backend_issues",
    "check_config",
    "describe_backend",
    "format_report",
    "run",
    "run_check",
    "unknown_keys",
    "unknown_variables",
]

EXIT_OK = 0
EXIT_ISSUES = 1
EXIT_UNUSABLE = 2
_ORDER = {"error": 0, "warning": 1, "info": 2}
_ALIASES = "prod, dev, stage, testing"


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What ``check`` found: the configuration's origin, backend and issues."""

    config_file: str | None
    environment: Environment
    environment_source: str
    backend: dict[str, Any]
    issues: list[ConfigIssue] = field(default_factory=list)
    strict: bool = False

    def count(self, severity: str) -> int:
        """Number of issues of *severity* (``error``, ``warning``, ``info``)."""
        return sum(1 for issue in self.issues if issue.severity == severity)

    @property
    def exit_code(self) -> int:
        """1 when an error (or, with ``strict``, a warning) was found, else 0."""
        failing = ("error", "warning") if self.strict else ("error",)
        return EXIT_ISSUES if any(i.severity in failing for i in self.issues) else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready mapping."""
        return {
            "ok": self.exit_code == EXIT_OK,
            "exit_code": self.exit_code,
            "config": {
                "source": "file" if self.config_file else "environment",
                "file": self.config_file,
            },
            "environment": {"name": self.environment.value, "source": self.environment_source},
            "backend": self.backend,
            "strict": self.strict,
            "counts": {s: self.count(s) for s in _ORDER},
            "issues": [asdict(issue) for issue in self.issues],
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` options to *parser*."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML file whose 'monitor:' section holds the settings "
        "(default: LEX_MONITOR__* environment variables only)",
    )
    parser.add_argument(
        "--env",
        metavar="ENV",
        help="environment whose rules apply: development, staging, production, test "
        "(default: $LEX_ENV, else $APP_ENV, else the config's 'environment')",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail (exit 1) on warnings too, not only errors"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    """Entry point of the ``check`` command."""
    return run_check(args.config, env=args.env, strict=args.strict, as_json=args.json)


def run_check(
    config_file: str | None,
    *,
    env: str | None = None,
    strict: bool = False,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Check, print the report (or the input error) and return the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        report = check_config(config_file, env=env, strict=strict)
    except InputError as exc:
        if as_json:
            print_json({"ok": False, "exit_code": EXIT_UNUSABLE, "error": exc.as_dict()}, out)
        else:
            lines = [f"error: {exc.message}", *(f"  {d}" for d in exc.details)]
            print("\n".join(lines), file=err)
        return EXIT_UNUSABLE
    if as_json:
        print_json(report.as_dict(), out)
    else:
        print(format_report(report), file=out)
    return report.exit_code


def check_config(
    config_file: str | None, *, env: str | None = None, strict: bool = False
) -> CheckReport:
    """Load the configuration and collect its issues; :class:`InputError` when unusable."""
    config, issues = _load(config_file)
    environment, source = _environment(env, config)
    issues.extend(backend_issues(config))
    issues.extend(config.validate_for_environment(environment))
    issues.sort(key=lambda issue: _ORDER.get(issue.severity, len(_ORDER)))
    return CheckReport(
        config_file=config_file,
        environment=environment,
        environment_source=source,
        backend=describe_backend(config),
        issues=issues,
        strict=strict,
    )


def _load(config_file: str | None) -> tuple[MonitorConfig, list[ConfigIssue]]:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    issues: list[ConfigIssue] = []
    if config_file is None:
        try:
            config = MonitorConfig()
        except (ValidationError, SettingsError) as exc:
            raise settings_error(exc) from None
    else:
        issues.extend(_file_issues(config_file))
        try:
            config = MonitorConfig.from_yaml(config_file)
        except (ValidationError, SettingsError) as exc:
            raise settings_error(exc, config_file=config_file) from None
        except (OSError, ValueError) as exc:  # the file changed since it was read
            raise InputError(f"config file {config_file!r} cannot be loaded: {exc}") from None
    issues.extend(unknown_variables(os.environ))
    return config, issues


def _file_issues(config_file: str) -> list[ConfigIssue]:
    doc = read_yaml(config_file, "config file")
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InputError(
            f"config file {config_file!r} holds a YAML {type(doc).__name__}; it must be a "
            "mapping with a 'monitor:' section, e.g. 'monitor: {backend_type: prometheus}'"
        )
    if "monitor" not in doc:
        return [
            ConfigIssue(
                "monitor",
                f"{config_file} has no 'monitor:' section, so only the defaults and "
                f"{ENV_PREFIX}* variables apply",
                "warning",
                "put the settings under a top-level 'monitor:' key",
            )
        ]
    section = doc["monitor"]
    if not isinstance(section, dict):
        shown = "empty" if section is None else f"a {type(section).__name__}"
        raise InputError(
            f"the 'monitor:' section of {config_file!r} is {shown}; it must be a mapping "
            "of settings, e.g. 'monitor: {backend_type: prometheus}'"
        )
    return unknown_keys(section, MonitorConfig, "monitor")


def unknown_keys(data: Mapping[Any, Any], model: Any, path: str) -> list[ConfigIssue]:
    """Warnings for the keys of *data* (a YAML section) that are no field of *model*.

    Nested sections are checked against their own models; mapping-valued settings
    (``default_labels``, ``headers``) take any key.
    """
    from pydantic import BaseModel

    fields = model.model_fields
    issues: list[ConfigIssue] = []
    for key, value in data.items():
        name = str(key)
        info = fields.get(name)
        if info is None:
            issues.append(
                ConfigIssue(
                    f"{path}.{name}",
                    f"unknown key {name!r} in '{path}:' is ignored",
                    "warning",
                    _did_you_mean(name, fields, lambda f: f"'{path}.{f}'"),
                )
            )
            continue
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and isinstance(value, Mapping):
            issues.extend(unknown_keys(value, sub, f"{path}.{name}"))
    return issues


def unknown_variables(environ: Mapping[str, str]) -> list[ConfigIssue]:
    """Warnings for ``LEX_MONITOR__*`` variables that name no setting (ignored on load)."""
    from pydantic import BaseModel

    issues: list[ConfigIssue] = []
    for key in sorted(environ):
        if not key.upper().startswith(ENV_PREFIX):
            continue
        model: Any = MonitorConfig
        walked: list[str] = []
        for part in key[len(ENV_PREFIX) :].lower().split("__"):
            fields = model.model_fields
            if part not in fields:
                issues.append(
                    ConfigIssue(
                        key,
                        f"the environment variable {key} names no setting and is ignored",
                        "warning",
                        _did_you_mean(part, fields, _variable_under(tuple(walked))),
                    )
                )
                break
            walked.append(part)
            sub = fields[part].annotation
            if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
                break  # a setting; for mapping settings the rest is a key of the mapping
            model = sub
    return issues


def _variable_under(sections: tuple[str, ...]) -> Callable[[str], str]:
    return lambda name: env_name([*sections, name])


def _did_you_mean(name: str, fields: Mapping[str, Any], show: Callable[[str], str]) -> str:
    lowered = {f.lower(): f for f in fields}
    if name.lower() in lowered and name not in fields:
        return f"keys are case-sensitive: write {show(lowered[name.lower()])}"
    close = difflib.get_close_matches(name.lower(), list(fields), n=1, cutoff=0.6)
    if close:
        return f"did you mean {show(close[0])}?"
    return "valid names: " + ", ".join(sorted(fields))


def _environment(flag: str | None, config: MonitorConfig) -> tuple[Environment, str]:
    if flag is not None:
        raw, source = flag, "--env"
    elif os.environ.get("LEX_ENV"):
        raw, source = os.environ["LEX_ENV"], "LEX_ENV"
    elif os.environ.get("APP_ENV"):
        raw, source = os.environ["APP_ENV"], "APP_ENV"
    else:
        return config.environment, "the config's 'environment'"
    try:
        return resolve_environment(raw, config.environment), source
    except ValueError:
        names = ", ".join(e.value for e in Environment)
        raise InputError(
            f"environment {raw!r} (from {source}) is unknown; use one of {names} "
            f"(aliases: {_ALIASES})"
        ) from None


def backend_issues(config: MonitorConfig) -> list[ConfigIssue]:
    """An error when the backend *config* selects cannot be built in this environment
    (the check ``doctor`` runs), else nothing."""
    from .doctor import check_backend

    status = check_backend(config)
    if status.usable:
        return []
    message = "; ".join([status.summary, *status.problems])
    return [ConfigIssue("backend_type", message, "error", status.fix or "")]


def describe_backend(config: MonitorConfig) -> dict[str, Any]:
    """The backend ``create_backend(config)`` builds, as type, summary and settings
    (bearer tokens and OTLP header values masked)."""
    if not config.enabled:
        return {
            "type": "noop",
            "configured": config.backend_type.value,
            "summary": "monitoring is disabled (enabled=false): the no-op backend records nothing",
            "settings": {},
        }
    kind = config.backend_type
    if kind is BackendType.PROMETHEUS:
        p = config.prometheus
        host = f"[{p.host}]" if ":" in p.host else p.host
        parts = [
            f"scrape endpoint http://{host}:{p.port}{p.path}",
            "bearer token required" if p.auth_token else "no bearer token",
        ]
        if p.pushgateway_url:
            parts.append(
                f"pushes to {p.pushgateway_url} every {p.push_interval:g}s as job {p.job_name!r}"
            )
        if p.store_in_db:
            parts.append(f"stores samples in table {p.metrics_table!r} of {p.db_path}")
        settings = mask_secrets(p)
    elif kind is BackendType.OPENTELEMETRY:
        o = config.opentelemetry
        parts = [
            f"{o.type} exporter over {o.protocol} to {o.endpoint}",
            f"compression {o.compression}",
            f"batches of {o.batch_size} every {o.export_interval:g}s",
        ]
        settings = mask_secrets(o)
    else:
        parts = ["metrics and spans stay in process (the collector behind /metrics)"]
        settings = {}
    summary = "; ".join(parts)
    return {"type": kind.value, "configured": kind.value, "summary": summary, "settings": settings}


def format_report(report: CheckReport) -> str:
    """The report as text: origin, backend, environment, a table of issues, the verdict."""
    origin = (
        f"{report.config_file} ('monitor:' section; {ENV_PREFIX}* variables override it)"
        if report.config_file
        else f"{ENV_PREFIX}* environment variables and defaults"
    )
    backend = report.backend
    lines = [
        "lexigram-monitor configuration check",
        f"  config       {origin}",
        f"  backend      {backend['type']}: {backend['summary']}",
        f"  environment  {report.environment.value} (from {report.environment_source})",
        "",
    ]
    if report.issues:
        width = terminal_width()
        field_width = max(len("FIELD"), *(len(i.field) for i in report.issues))
        text_width = width - len("  SEVERITY  ") - field_width - 2
        rows = []
        for issue in report.issues:
            text = issue.message + (f"\nfix: {issue.suggestion}" if issue.suggestion else "")
            rows.append([issue.severity, issue.field, wrap(text, text_width)])
        lines += [table(["SEVERITY", "FIELD", "ISSUE"], rows), ""]
    lines.append(_verdict(report))
    return "\n".join(lines)


def _verdict(report: CheckReport) -> str:
    env = report.environment.value
    if not report.issues:
        return f"OK: no issues for {env} (exit 0)"
    errors, warnings, infos = (report.count(s) for s in _ORDER)
    counts = (
        f"{errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}, {infos} info"
    )
    if report.exit_code == EXIT_OK:
        hint = "; warnings fail with --strict" if warnings else ""
        return f"OK: {counts} for {env} (exit 0{hint})"
    why = "; --strict: warnings fail too" if report.strict else ""
    return f"FAILED: {counts} for {env} (exit 1{why})"
