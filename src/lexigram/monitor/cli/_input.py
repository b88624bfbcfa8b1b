"""Reading the commands' input: YAML files and configuration errors, as plain messages.

Every problem with a file the user named (missing, unreadable, not UTF-8, not YAML) or
with the settings it or the environment holds becomes a :class:`InputError` whose text
says which file or field, what is wrong and how to fix it. The commands turn it into
exit code 2 and a message, never a traceback.
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import SECRET_MASK, is_secret_field
from ..exceptions import MonitorError

__all__ = [
    "ENV_PREFIX",
    "FieldError",
    "InputError",
    "env_name",
    "field_errors",
    "read_yaml",
    "read_yaml_documents",
    "settings_error",
]

ENV_PREFIX = "LEX_MONITOR__"
_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid setting: dotted *field*, pydantic's *message*, the *value* given
    (``"***"`` for secrets) and where it came from (*source*)."""

    field: str
    message: str
    value: str
    source: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (got {self.value}; {self.source})"

    def as_dict(self) -> dict[str, str]:
        """The error as a JSON-ready mapping."""
        return {
            "field": self.field,
            "message": self.message,
            "value": self.value,
            "source": self.source,
        }


class InputError(MonitorError):
    """The input of a command cannot be used (exit code 2).

    *details* are extra lines (one per invalid field, say); *field_errors* the same
    information, structured, for ``--json``.
    """

    def __init__(
        self,
        message: str,
        details: Iterable[str] = (),
        field_errors: Iterable[FieldError] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[str] = list(details)
        self.field_errors: list[FieldError] = list(field_errors)

    def as_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready mapping."""
        out: dict[str, Any] = {"message": self.message, "details": self.details}
        if self.field_errors:
            out["field_errors"] = [e.as_dict() for e in self.field_errors]
        return out


def read_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """Parse the YAML file at *path*; *what* names it in messages (e.g. ``"config file"``).

    Raises :class:`InputError` for a missing or unreadable file, a directory, text that
    is not UTF-8 and invalid YAML (with line and column). An empty file is ``None``.
    """
    import yaml

    text = _read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(
            f"{what} {os.fspath(path)!r} is not valid YAML: {_yaml_problem(exc)}"
        ) from None


def read_yaml_documents(path: str | os.PathLike[str], what: str) -> list[Any]:
    """Every YAML document of the file at *path* (``---`` separated; empty file: none);
    errors as for :func:`read_yaml`."""
    import yaml

    text = _read_text(path, what)
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise InputError(
            f"{what} {os.fspath(path)!r} is not valid YAML: {_yaml_problem(exc)}"
        ) from None


def _read_text(path: str | os.PathLike[str], what: str) -> str:
    shown = os.fspath(path)
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{what} {shown!r} does not exist (looked for {file.absolute()}); "
            "check the path or create the file"
        ) from None
    except IsADirectoryError:
        raise InputError(f"{what} {shown!r} is a directory; pass the path of a YAML file") from None
    except PermissionError:
        raise InputError(
            f"{what} {shown!r} cannot be read: permission denied; check its permissions"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} {shown!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise InputError(f"{what} {shown!r} cannot be read: {exc.strerror or exc}") from None


def _yaml_problem(exc: Any) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}" + (f" ({context})" if context else "")


def env_name(loc: Iterable[str | int]) -> str:
    """The ``LEX_MONITOR__...`` variable that sets the field at *loc* (sections and field)."""
    parts = [str(p).upper() for p in loc if isinstance(p, str)]
    return ENV_PREFIX + "__".join(parts)


def _source(loc: tuple[str | int, ...], config_file: str | None, environ: Mapping[str, str]) -> str:
    # The deepest variable that exists wins: LEX_MONITOR__PROMETHEUS__PORT, then
    # LEX_MONITOR__PROMETHEUS (a JSON object), as pydantic-settings reads them.
    names = {k.upper() for k in environ}
    keys = [p for p in loc if isinstance(p, str)]
    for depth in range(len(keys), 0, -1):
        name = env_name(keys[:depth])
        if name in names:
            return f"from the environment variable {name}"
    if config_file is not None:
        dotted = ".".join(str(p) for p in loc)
        return f"from monitor.{dotted} in {config_file}"
    return f"set it with {env_name(keys)}"


def field_errors(
    exc: Any,
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[FieldError]:
    """The field errors of a pydantic ``ValidationError``, secrets masked, each with the
    file key or environment variable that holds the bad value."""
    env = os.environ if environ is None else environ
    errors: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        dotted = ".".join(str(p) for p in loc) or "(root)"
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        value = SECRET_MASK if is_secret_field(dotted) else _short.repr(err.get("input"))
        errors.append(FieldError(dotted, message, value, _source(loc, config_file, env)))
    return errors


def settings_error(
    exc: BaseException,
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> InputError:
    """An :class:`InputError` for settings that failed to load: a pydantic
    ``ValidationError`` (one line per field) or a pydantic-settings ``SettingsError``
    (an environment variable holding a value that is not JSON where JSON is needed)."""
    from pydantic import ValidationError

    origin = f" (file {config_file} and LEX_MONITOR__* variables)" if config_file else ""
    if isinstance(exc, ValidationError):
        errors = field_errors(exc, config_file=config_file, environ=environ)
        count = len(errors)
        return InputError(
            f"the monitoring configuration{origin} is invalid: "
            f"{count} field{'s' if count != 1 else ''} rejected",
            [str(e) for e in errors],
            errors,
        )
    cause = exc.__cause__ or exc.__context__
    detail = f"{exc}" + (f": {cause}" if cause is not None else "")
    return InputError(
        f"the monitoring configuration{origin} cannot be read: {detail}",
        [
            "lists and mappings set through environment variables must be JSON, e.g. "
            f"{ENV_PREFIX}METRICS__HISTOGRAM_BUCKETS='[0.1, 0.5, 1.0]'"
        ],
    )
