"""Secret settings: which settings hold secrets, and a model's settings with them masked."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["SECRET_MASK", "is_secret_field", "mask_secrets"]

#: How a secret setting is shown in logs, reports and error messages.
SECRET_MASK = "***"

# A setting whose dotted path contains one of these holds a secret (see is_secret_field).
_SECRET_PARTS = ("token", "secret", "password", "headers", "api_key")


def is_secret_field(path: str) -> bool:
    """True when the setting at *path* (a field name or dotted path such as
    ``prometheus.auth_token``) holds a secret: a token, secret, password, API key or the
    OTLP ``headers``. Case-insensitive."""
    lowered = path.lower()
    return any(part in lowered for part in _SECRET_PARTS)


def mask_secrets(model: BaseModel) -> dict[str, Any]:
    """``model.model_dump(mode="json")`` with every secret setting hidden, for logs and
    reports; works for :class:`MonitorConfig` and for each of its sections.

    A secret setting (:func:`is_secret_field`) that is set shows as :data:`SECRET_MASK`;
    an unset one (None or empty) stays, so the dump still says that none is configured.
    A mapping of secrets (the OTLP ``headers``) keeps its keys and masks every value.
    Nested sections are masked the same way; *model* itself is not changed.
    """
    data = model.model_dump(mode="json")
    _mask_into(model, data)
    return data


def _mask_into(model: BaseModel, data: dict[str, Any]) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _mask_into(value, data[name])
        elif is_secret_field(name) and data[name]:
            shown = data[name]
            data[name] = (
                dict.fromkeys(shown, SECRET_MASK) if isinstance(shown, dict) else SECRET_MASK
            )
