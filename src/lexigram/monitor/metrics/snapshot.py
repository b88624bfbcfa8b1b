"""Immutable per-series snapshots: what exporters read from an instrument.

Every instrument (:class:`Counter`, :class:`Gauge`, :class:`Histogram`, :class:`Summary`)
exposes the same read side:

- ``kind``: ``"counter" | "gauge" | "histogram" | "summary"``
- ``name``, ``description``
- ``label_names``: the label schema (default label keys first, then the keys of the first
  labelled call), a tuple; it may grow exactly once, when the schema locks
- ``collect()``: a tuple of snapshots, one per series, taken under one lock hold per
  series and without per-observation work

Each snapshot repeats the ``label_names`` it was taken with, so its ``label_values``
always line up with them even if the schema locked between two reads. The overflow
series (label sets past the series cap) has every label value ``"__overflow__"``.
``created`` is the wall-clock time (seconds) the series was created, for ``_created``
samples. Timestamps of exemplars are wall-clock seconds as well.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Exemplar", "HistogramSnapshot", "SummarySnapshot", "ValueSnapshot"]


@dataclass(frozen=True, slots=True)
class Exemplar:
    """A sampled trace attached to a counter series or a histogram bucket."""

    value: float
    trace_id: str
    span_id: str
    timestamp: float


@dataclass(frozen=True, slots=True)
class ValueSnapshot:
    """One counter or gauge series.

    ``value`` is an ``int`` for a counter that only received integer amounts, else a
    ``float``. ``exemplar`` is the latest exemplar of a counter series (None for gauges
    and when no exemplar source is installed).
    """

    label_names: tuple[str, ...]
    label_values: tuple[str, ...]
    value: int | float
    created: float
    exemplar: Exemplar | None = None


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """One histogram series with cumulative bucket counts.

    ``bounds`` are the upper bounds, ascending, ending with ``inf``; ``counts[i]`` is the
    number of observations ``<= bounds[i]`` (so ``counts[-1] == count``). ``exemplars``
    is empty or aligned with ``bounds`` (latest exemplar per bucket, None where absent).
    """

    label_names: tuple[str, ...]
    label_values: tuple[str, ...]
    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float
    count: int
    created: float
    exemplars: tuple[Exemplar | None, ...] = ()


@dataclass(frozen=True, slots=True)
class SummarySnapshot:
    """One summary series: ``quantiles`` as ``((q, value), ...)`` plus sum and count.

    Quantile values are NaN while the series holds no observation.
    """

    label_names: tuple[str, ...]
    label_values: tuple[str, ...]
    quantiles: tuple[tuple[float, float], ...]
    sum: float
    count: int
    created: float
