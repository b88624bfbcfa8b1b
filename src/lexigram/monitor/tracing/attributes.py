"""The span attribute rule.

Keys are non-empty strings; values are ``str``, ``bool``, ``int`` or ``float``, or a
list/tuple whose items all have one of those types (stored as a tuple; subclasses such as
``IntEnum``/``StrEnum`` members are stored as their plain value). Anything else raises
:class:`~lexigram.monitor.exceptions.SpanError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from ..exceptions import SpanError

__all__ = ["AttributeValue", "bounded_attributes", "check_attribute"]

AttributeValue: TypeAlias = (
    str | bool | int | float | tuple[str, ...] | tuple[bool, ...] | tuple[int, ...]
    | tuple[float, ...]
)  # fmt: skip


def _scalar(key: str, value: Any) -> str | bool | int | float:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise SpanError(
        f"attribute {key!r}: value {value!r} of type {type(value).__name__} is not allowed; "
        "use str, bool, int, float or a list/tuple of one of them (e.g. str(value))"
    )


def check_attribute(key: Any, value: Any) -> AttributeValue:
    """Validate one attribute and return the value to store (see the module rule)."""
    if type(key) is not str or not key:
        raise SpanError(f"attribute key {key!r} is invalid: keys must be non-empty strings")
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is list or kind is tuple:
        items = tuple(_scalar(key, v) for v in value)
        if items:
            first = type(items[0])
            for item in items:
                if type(item) is not first:
                    raise SpanError(
                        f"attribute {key!r}: sequence mixes {first.__name__} and "
                        f"{type(item).__name__}; all items must have one type"
                    )
        return items  # type: ignore[return-value]
    return _scalar(key, value)


def bounded_attributes(
    attributes: Mapping[str, Any] | None, limit: int
) -> tuple[dict[str, AttributeValue], int]:
    """Validate *attributes*, keep the first *limit*; returns ``(kept, dropped)``."""
    kept: dict[str, AttributeValue] = {}
    if not attributes:
        return kept, 0
    dropped = 0
    for key, value in attributes.items():
        checked = check_attribute(key, value)
        if key in kept or len(kept) < limit:
            kept[key] = checked
        else:
            dropped += 1
    return kept, dropped
