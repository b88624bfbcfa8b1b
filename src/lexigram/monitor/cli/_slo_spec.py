"""SLO spec files: which format each YAML document is in, and what ``slo`` makes of it.

A file holds one or more YAML documents (``---``), all in one format:

- our own (a mapping with ``slos:``, no ``version``/``apiVersion``), see ``_slo_own.py``;
- Sloth's ``version: prometheus/v1``, see ``_slo_sloth.py``;
- OpenSLO ``apiVersion: openslo/v1alpha`` or ``openslo/v1``, see ``_slo_openslo.py``.

Each loader turns its documents into :class:`SpecSLO` items (the rule groups and what
``slo check`` queries). Every error is an :class:`~._input.InputError` whose message
starts with the document (``slos.yaml`` or ``slos.yaml, document 2``), then the SLO
and the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from ..config import DEFAULT_BUCKETS
from ..slo.burn import BurnRateWindow
from ..slo.rules import prometheus_duration
from ._input import InputError

__all__ = [
    "Document",
    "QueryField",
    "SpecOptions",
    "SpecSLO",
    "check_windows",
    "expect_mapping",
    "expect_number",
    "expect_string",
    "expect_string_map",
    "no_unknown_keys",
]

Kind = Literal["latency", "availability"]


@dataclass(frozen=True, slots=True)
class SpecOptions:
    """Command-line settings that apply to every document."""

    default_period: timedelta = timedelta(days=30)
    """Period of Sloth SLOs (their spec has none), like Sloth's ``--default-slo-period``."""
    scrape_interval: timedelta = timedelta(minutes=1)
    """No alert window may be shorter than this (``rate()`` would see too few samples)."""
    buckets: tuple[float, ...] = tuple(DEFAULT_BUCKETS)
    """Histogram bounds (seconds) latency thresholds must be one of, unless a spec says."""


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file: its place for messages and its content."""

    file: str
    index: int
    count: int
    content: Any

    @property
    def name(self) -> str:
        """``file`` for a single-document file, else ``file, document N`` (from 1)."""
        return self.file if self.count == 1 else f"{self.file}, document {self.index + 1}"

    def error(self, message: str) -> InputError:
        """An :class:`InputError` for this document."""
        return InputError(f"{self.name}: {message}")


@dataclass(frozen=True, slots=True)
class QueryField:
    """A user-written query, rendered for one window, and the field it came from."""

    where: str
    query: str


@dataclass(frozen=True, slots=True)
class SpecSLO:
    """What one SLO of a spec becomes.

    *where* names it in messages (document and SLO); *name* is how ``slo check`` shows it
    (``sloth_id`` for Sloth-style output); *error_ratio* renders its error-ratio PromQL
    for a window (``"5m"``); *tiers* are its alert tiers as rendered (scaled, clamped);
    *groups* its rule groups; *queries* the user-written queries to check with promtool.
    """

    where: str
    name: str
    kind: Kind
    objective: float
    period: timedelta
    error_ratio: Callable[[str], str]
    tiers: tuple[BurnRateWindow, ...]
    groups: list[dict[str, Any]]
    queries: tuple[QueryField, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


def check_windows(spec: SpecSLO, options: SpecOptions, source: str) -> None:
    """``InputError`` when an alert window of *spec* is shorter than the scrape interval."""
    shortest = min(w for tier in spec.tiers for w in (tier.short, tier.long))
    if shortest < options.scrape_interval:
        raise InputError(
            f"{spec.where}: {source}: the shortest alert window, scaled to the "
            f"period {prometheus_duration(spec.period)}, is {prometheus_duration(shortest)}, "
            f"shorter than the scrape interval {prometheus_duration(options.scrape_interval)}"
            " (--scrape-interval), so rate() would find too few samples in it; use a "
            "longer period, or pass the scrape interval Prometheus really uses"
        )


def no_unknown_keys(mapping: Mapping[Any, Any], known: Sequence[str], where: str) -> None:
    """``InputError`` naming the first key of *mapping* not in *known*, with a hint."""
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            raise InputError(f"{where}: unknown field {key!r}; {hint}")


def expect_mapping(value: object, where: str, example: str = "") -> dict[str, Any]:
    """*value* if it is a mapping, else ``InputError``."""
    if not isinstance(value, dict):
        shown = "missing" if value is None else f"{type(value).__name__} {value!r}"
        hint = f", e.g. {example}" if example else ""
        raise InputError(f"{where} must be a mapping{hint}; got {shown}")
    return value


def expect_string(value: object, where: str) -> str:
    """*value* if it is a non-empty string, else ``InputError``."""
    if not isinstance(value, str) or not value.strip():
        shown = "missing" if value is None else f"{type(value).__name__} {value!r}"
        raise InputError(f"{where} must be a non-empty string; got {shown}")
    return value


def expect_number(value: object, where: str) -> float:
    """*value* if it is a number (not a bool), else ``InputError``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = " (remove the quotes)" if isinstance(value, str) else ""
        shown = "missing" if value is None else f"{type(value).__name__} {value!r}"
        raise InputError(f"{where} must be a number; got {shown}{hint}")
    return float(value)


def expect_string_map(value: object, where: str) -> dict[str, str]:
    """*value* as a str -> str mapping (None: empty), else ``InputError``."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InputError(
            f"{where} must map names to string values, e.g. {{team: payments}}; got "
            f"{value!r} (quote numbers: {{tier: '2'}})"
        )
    return dict(value)
