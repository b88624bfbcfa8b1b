"""The figures of one route over one window of the route table: the window's requests,
rate and error share, and p50/p95/p99 interpolated inside the bucket the rank falls in
(as Prometheus' ``histogram_quantile``; a native histogram from its native buckets), each
with the trace of an exemplar recorded inside the window.

What is derived from a route's counts and the reading they are compared with is kept
by the caller (``routes.RouteStats``) and passed back: :func:`window` reuses it
while both are the same objects, and answers the last window itself while its figures
would come out the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = [
    "QUANTILES",
    "Reading",
    "RouteCounts",
    "Window",
    "later",
    "quantile",
    "quantiles",
    "window",
]

QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
_LABELS = tuple(label for label, _ in QUANTILES)
_QS = tuple(q for _, q in QUANTILES)
_TRACED = ("rate", "errors", *_LABELS)


@dataclass(frozen=True, slots=True)
class RouteCounts:
    """The cumulative counts of one (method, route) at one reading."""

    count: float
    errors: float
    bounds: tuple[float, ...]
    buckets: tuple[float, ...]
    created: float
    exemplars: tuple[Any, ...] = ()
    """Latest exemplar per bucket (``metrics.snapshot.Exemplar`` or None); empty when
    no bucket has one."""
    error_exemplar: Any = None
    native: Any = None
    """The summed native buckets (``metrics.snapshot.NativeBuckets``) or None."""
    native_exemplars: tuple[Any, ...] = ()


Reading = dict[tuple[str, str], RouteCounts]


def later(a: Any, b: Any) -> Any:
    """The more recent of two exemplars (either may be None)."""
    if a is None:
        return b
    if b is None:
        return a
    return b if b.timestamp > a.timestamp else a


def quantile(
    q: float, bounds: Sequence[float], counts: Sequence[float]
) -> tuple[float, int] | None:
    """``(value, bucket index)`` of quantile *q* of cumulative bucket *counts*, None
    without observations; interpolated inside the bucket like ``histogram_quantile``."""
    return quantiles((q,), bounds, counts)[0]


def quantiles(
    qs: Sequence[float], bounds: Sequence[float], counts: Sequence[float]
) -> list[tuple[float, int] | None]:
    """:func:`quantile` of each of *qs* (ascending), in one pass over *counts*: the
    bucket of a higher quantile is never before the bucket of a lower one."""
    total = counts[-1] if counts else 0
    if total <= 0:
        return [None] * len(qs)
    found: list[tuple[float, int] | None] = []
    size = len(counts)
    i = 0
    previous = 0.0
    for q in qs:
        rank = q * total
        while i < size and not (counts[i] >= rank and counts[i] > 0):
            previous = counts[i]
            i += 1
        if i == size:
            found.append((bounds[-2] if len(bounds) > 1 else 0.0, len(bounds) - 1))
            continue
        upper = bounds[i]
        lower = bounds[i - 1] if i > 0 else min(0.0, upper)
        if math.isinf(upper):
            found.append(((lower if i > 0 else 0.0), i))
            continue
        inside = counts[i] - previous
        share = (rank - previous) / inside if inside > 0 else 1.0
        found.append((lower + (upper - lower) * share, i))
    return found


def _trace(exemplar: Any, since: float) -> str | None:
    if exemplar is None or exemplar.timestamp < since:
        return None
    return str(exemplar.trace_id)


class _Derived(NamedTuple):
    """What one window's figures take from (counts, previous): kept while both stay."""

    counts: RouteCounts
    previous: RouteCounts | None
    requests: float
    errors: float
    latest: Any
    quantiles: tuple[tuple[str, float | None, tuple[Any, ...]], ...]
    """(label, value, exemplars of the quantile's bucket) per quantile."""
    traced: bool
    """Whether any exemplar is there (else the traces do not depend on the start)."""


class Window(NamedTuple):
    """One window's figures of one route and what they were made of."""

    derived: _Derived
    start: float
    covered: float
    figures: dict[str, Any]


def _derive(counts: RouteCounts, previous: RouteCounts | None) -> _Derived:
    requests = counts.count - (previous.count if previous else 0)
    errors = counts.errors - (previous.errors if previous else 0)
    buckets: Sequence[float] = counts.buckets
    if previous is not None:
        buckets = [a - b for a, b in zip(counts.buckets, previous.buckets, strict=True)]
    latest = None
    for ex in counts.exemplars:
        if ex is not None:
            latest = later(latest, ex)
    figures: list[tuple[str, float | None, tuple[Any, ...]]] = []
    if counts.native is not None:
        figures = _native_quantiles(counts, previous)
    else:
        exemplars = counts.exemplars
        for label, found in zip(_LABELS, quantiles(_QS, counts.bounds, buckets), strict=True):
            ex = exemplars[found[1]] if found is not None and exemplars else None
            value = None if found is None else found[0]
            figures.append((label, value, () if ex is None else (ex,)))
    traced = latest is not None or counts.error_exemplar is not None
    traced = traced or bool(counts.native_exemplars)
    return _Derived(counts, previous, requests, errors, latest, tuple(figures), traced)


def _native_quantiles(
    counts: RouteCounts, previous: RouteCounts | None
) -> list[tuple[str, float | None, tuple[Any, ...]]]:
    """p50/p95/p99 of the window from the native buckets, each with the native
    exemplars that lie in the quantile's bucket."""
    window = counts.native
    if previous is not None and previous.native is not None:
        window = counts.native.minus(previous.native) or counts.native
    base = 2.0 ** (2.0**-window.schema)
    figures = []
    for label, q in QUANTILES:
        value = window.quantile(q)
        inside: tuple[Any, ...] = ()
        if value == value and value != 0:
            inside = tuple(
                ex for ex in counts.native_exemplars if 1 / base <= ex.value / value <= base
            )
        figures.append((label, None if value != value else value, inside))
    return figures


def _newest(exemplars: tuple[Any, ...], since: float) -> Any:
    """The latest of *exemplars* recorded at or after *since*, None without one."""
    chosen = None
    for ex in exemplars:
        if ex.timestamp >= since:
            chosen = later(chosen, ex)
    return chosen


def window(
    counts: RouteCounts,
    key: tuple[str, str],
    old: tuple[float, Reading] | None,
    oldest: tuple[float, Reading] | None,
    now: float,
    seconds: float,
    last: Window | None,
    twin: Window | None,
) -> Window:
    """One window of *seconds* of one route: *old* is the newest kept reading at least
    *seconds* old (None: none yet), *oldest* the oldest kept reading. *last* is this
    window in the last table, *twin* the route's window before this one: what is
    derived from the counts is taken from either when made of the same objects, and
    *last* is the answer when its figures would come out the same."""
    previous: RouteCounts | None = None
    covered = seconds  # created inside the window: it covers the whole window
    if old is not None:
        start, previous = old[0], old[1].get(key)
        covered = max(now - start, 1e-9)
    elif counts.created >= now - seconds:
        start = now - seconds
    else:
        start = oldest[0] if oldest is not None else counts.created
        previous = oldest[1].get(key) if oldest is not None else None
        covered = max(now - start, 1e-9)
    if previous is not None and (previous.bounds != counts.bounds or previous.count > counts.count):
        previous = None  # reset or re-bucketed: count from zero
    known = last.derived if last is not None else None
    if known is None or known.counts is not counts or known.previous is not previous:
        if twin is not None and twin.derived.counts is counts and twin.derived.previous is previous:
            known = twin.derived  # both windows compare with the same reading (or none)
        else:
            known = _derive(counts, previous)
    if (
        last is not None
        and last.derived is known
        and last.covered == covered
        and (last.start == start or not known.traced)
    ):
        return last
    if twin is not None and twin.derived is known and not known.traced:
        # what the figures take from the counts is the twin's: only the time differs
        figures = dict(twin.figures)
        figures["covered"] = round(covered, 3)
        figures["rate"] = known.requests / covered
        figures["traces"] = dict.fromkeys(_TRACED)
        return Window(known, start, covered, figures)
    return Window(known, start, covered, _figures(known, start, covered))


def _figures(known: _Derived, start: float, covered: float) -> dict[str, Any]:
    """The figures of a window that starts at *start* and covers *covered* seconds."""
    requests = known.requests
    out: dict[str, Any] = {
        "requests": requests,
        "covered": round(covered, 3),
        "rate": requests / covered,
        "errors": (known.errors / requests) if requests > 0 else None,
    }
    for label_q, value, _ in known.quantiles:
        out[label_q] = value
    if not known.traced:
        out["traces"] = dict.fromkeys(_TRACED)  # no exemplar at all
        return out
    counts = known.counts
    traces: dict[str, str | None] = {
        "rate": _trace(known.latest, start),
        "errors": _trace(counts.error_exemplar, start),
    }
    for label_q, _, inside in known.quantiles:
        traces[label_q] = _trace(_newest(inside, start), start)
    out["traces"] = traces
    return out
