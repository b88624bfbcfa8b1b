"""The span attribute rule.

Keys are non-empty strings; values are ``str``, ``bool``, ``int`` or ``float``, or a
list/tuple whose items all have one of those types (stored as a tuple; subclasses such as
``IntEnum``/``StrEnum`` members are stored as their plain value). Anything else raises
:class:`~lexigram.monitor.exceptions.SpanError` naming the key. Every attribute a span
keeps passes this rule, through :func:`check_attribute`: in ``Span`` construction,
``set_attribute``, ``set_attributes``, events and links. Attributes used again and again
(a middleware's per-route response attributes, its per-client request attributes) are
checked once into an :class:`Attributes` and then stored without a second check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from ..exceptions import SpanError

__all__ = ["AttributeValue", "Attributes", "bounded_attributes", "check_attribute"]

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


_PLAIN = frozenset((str, int, float, bool))


class Attributes(dict[str, AttributeValue]):
    """Attributes already checked against the rule: a span stores them without checking
    them again. Made only by :meth:`checked`, :meth:`plus` and :meth:`merged`, each a new object; a
    span given one at construction keeps that object as its own attributes (no copy),
    so hand each one to one span and do not change it afterwards.
    """

    __slots__ = ()

    @classmethod
    def checked(cls, attributes: Mapping[str, Any]) -> Attributes:
        """*attributes* checked one by one (``SpanError`` naming the first bad one)."""
        made = cls()
        for key, value in attributes.items():
            made[key] = check_attribute(key, value)
        return made

    def plus(self, key: str, value: Any) -> Attributes:
        """A copy of these attributes with one more, checked (the per-request step of
        a cached set: a plain ``str`` value costs one type test)."""
        made = Attributes(self)
        if value.__class__ is str and key.__class__ is str and key:
            made[key] = value
        else:
            made[key] = check_attribute(key, value)
        return made

    def merged(self, extra: Mapping[str, Any]) -> Attributes:
        """A copy of these attributes with *extra* checked and added."""
        made = Attributes(self)
        for key, value in extra.items():
            if type(value) in _PLAIN and type(key) is str and key:
                made[key] = value  # what check_attribute returns for a plain value
            else:
                made[key] = check_attribute(key, value)
        return made


def bounded_attributes(
    attributes: Mapping[str, Any] | None, limit: int
) -> tuple[dict[str, AttributeValue], int]:
    """Validate *attributes*, keep the first *limit*; returns ``(kept, dropped)``."""
    if not attributes:
        return {}, 0
    if attributes.__class__ is Attributes and len(attributes) <= limit:
        return attributes, 0
    kept: dict[str, AttributeValue] = {}
    dropped = 0
    for key, value in attributes.items():
        checked = check_attribute(key, value)
        if key in kept or len(kept) < limit:
            kept[key] = checked
        else:
            dropped += 1
    return kept, dropped
