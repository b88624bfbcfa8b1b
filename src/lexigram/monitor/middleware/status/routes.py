"""The route table: request rate, error share and p50/p95/p99 per route over 1 and 5 minutes.

Computed from the library's own request metrics, read through the snapshot API:
``http_request_duration_seconds{method,route}`` with ``http_requests_total{method,route,
status}`` (``PrometheusMiddleware``), else ``http_server_request_duration{
http_request_method,http_route,http_response_status_code}`` (``OTelMiddleware``), with
the collector's metric-name prefix. Other labels (default labels) are summed over.

**Sampling.** No timer runs: :meth:`RouteStats.table` reads the histograms when it is
asked (a page view or a JSON request) and keeps that reading in a ring when at least
``snapshot_interval`` seconds passed since the last kept one. A window's figures are the
difference between now and the newest kept reading at least a window old; while there is
none, a series created inside the window counts from zero (exact: it had no requests
before), and an older one from the oldest kept reading (``covered`` then says how many
seconds the figures span). So polling costs nothing while nobody looks, and the first
view already shows figures.

**Quantiles** are interpolated inside the bucket the rank falls in, as Prometheus'
``histogram_quantile`` does (the ``+Inf`` bucket answers its lower bound). Every figure
carries the trace id of an exemplar where one was kept inside the window: the latest of
the route for the rate, of a 5xx series for the error share, of the quantile's bucket
for p50/p95/p99. A native request-duration histogram (``MetricsConfig.native_histograms``)
answers from its native buckets (``NativeBuckets.quantile``, the window's difference by
``NativeBuckets.minus``), its trace from the latest native exemplar inside the
quantile's bucket.

**Reuse.** A route whose counts equal the previous reading's keeps that reading's object,
and the figures derived from (counts, reading compared with) are kept from one table to
the next while both are the same objects, so a route without traffic costs a lookup. A
window's figures are the same dict while, besides, the seconds it covers are equal (and
its start, where an exemplar could enter or leave it), and a row is the same dict while
its windows are, so what is made of a row (its HTML) can be kept by identity.

Memory: at most ``ceil(300 / snapshot_interval) + 2`` readings, each one entry per
(method, route) series of the duration histogram (bounded by its series cap) holding its
bucket counts (a native histogram: at most its ``max_buckets`` native buckets and ten
exemplars per series summed in), plus the last reading and the last table (one row per
route; per route and window what was derived: three quantiles and the exemplar
references of their buckets, and the figures dict).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from ..._frozen import through_slots
from ._windows import (
    QUANTILES,
    Reading,
    RouteCounts,
    Window,
    later,
    quantile,
    quantiles,
    window,
)

__all__ = [
    "QUANTILES",
    "WINDOWS",
    "RouteCounts",
    "RouteStats",
    "quantile",
    "quantiles",
    "read_routes",
    "sort_rows",
]

#: The windows of the table: label and seconds.
WINDOWS: tuple[tuple[str, float], ...] = (("1m", 60.0), ("5m", 300.0))

# (duration histogram, method label, route label, status label, request counter)
_LAYOUTS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("http_request_duration_seconds", "method", "route", "status", "http_requests_total"),
    (
        "http_server_request_duration",
        "http_request_method",
        "http_route",
        "http_response_status_code",
        None,
    ),
)


def _index(names: Sequence[str], wanted: str) -> int:
    try:
        return names.index(wanted)
    except ValueError:
        return -1


def read_routes(instruments: Iterable[Any], prefix: str = "") -> Reading:
    """The counts per (method, route) from *instruments* (objects with ``name``, ``kind``
    and ``collect()``); empty when no request metrics are there."""
    by_name = {getattr(i, "name", None): i for i in instruments}
    for hist_name, method_l, route_l, status_l, counter_name in _LAYOUTS:
        histogram = by_name.get(_prefixed(prefix, hist_name))
        if histogram is None or getattr(histogram, "kind", None) != "histogram":
            continue
        counter = by_name.get(_prefixed(prefix, counter_name)) if counter_name else None
        return _read(histogram, counter, method_l, route_l, status_l)
    return {}


def _prefixed(prefix: str, name: str | None) -> str | None:
    if name is None or not prefix or name.startswith(prefix + "_"):
        return name
    return f"{prefix}_{name}"


def _positions(
    names: Sequence[str], method_l: str, route_l: str, status_l: str
) -> tuple[int, int, int]:
    return _index(names, method_l), _index(names, route_l), _index(names, status_l)


def _read(histogram: Any, counter: Any, method_l: str, route_l: str, status_l: str) -> Reading:
    acc: dict[tuple[str, str], list[Any]] = {}
    names: Any = None
    m = r = s = -1
    for snap in histogram.collect():
        if snap.label_names is not names:  # the same tuple for every series of a read
            names = snap.label_names
            m, r, s = _positions(names, method_l, route_l, status_l)
        values = snap.label_values
        key = (values[m] if m >= 0 else "", values[r] if r >= 0 else "")
        failed = s >= 0 and values[s].startswith("5")
        entry = acc.get(key)
        if entry is None:
            # count, errors, bounds, buckets, created, exemplars, error exemplar,
            # native buckets, native exemplars
            entry = [snap.count, 0, snap.bounds, snap.counts, snap.created, None, None, None, []]
            acc[key] = entry
        else:
            entry[0] += snap.count
            entry[3] = [a + b for a, b in zip(entry[3], snap.counts, strict=False)]
            entry[4] = min(entry[4], snap.created)
        native = getattr(snap, "native", None)
        if native is not None:
            entry[7] = native if entry[7] is None else entry[7].plus(native)
            entry[8].extend(native.exemplars)
        if snap.exemplars:
            kept = entry[5]
            if kept is None:
                entry[5] = list(snap.exemplars)
            else:
                for i, ex in enumerate(snap.exemplars):
                    if ex is not None:
                        kept[i] = later(kept[i], ex)
        if failed:
            entry[1] += snap.count
            for ex in snap.exemplars:
                if ex is not None:
                    entry[6] = later(entry[6], ex)
    if counter is not None:
        names = None
        for snap in counter.collect():
            if snap.label_names is not names:
                names = snap.label_names
                m, r, s = _positions(names, method_l, route_l, status_l)
            values = snap.label_values
            if s < 0 or not values[s].startswith("5"):
                continue
            entry = acc.get((values[m] if m >= 0 else "", values[r] if r >= 0 else ""))
            if entry is not None:
                entry[1] += snap.value
                entry[6] = later(entry[6], snap.exemplar)
    reading = {}
    for key, e in acc.items():
        exemplars = tuple(e[5]) if e[5] is not None else ()
        reading[key] = _counts(
            e[0], e[1], e[2], tuple(e[3]), e[4], exemplars, e[6], e[7], tuple(e[8])
        )
    return reading


@through_slots(RouteCounts)
def _counts(
    count: float,
    errors: float,
    bounds: tuple[float, ...],
    buckets: tuple[float, ...],
    created: float,
    exemplars: tuple[Any, ...],
    error_exemplar: Any,
    native: Any,
    native_exemplars: tuple[Any, ...],
) -> RouteCounts:
    """``RouteCounts(...)`` built through its slots (``_frozen``): about half the cost
    of the frozen dataclass ``__init__``, one per route and reading."""
    return RouteCounts(
        count, errors, bounds, buckets, created, exemplars, error_exemplar, native,
        native_exemplars,
    )  # fmt: skip


class RouteStats:
    """The bounded ring of request-metric readings behind the route table; thread safe.

    *read* returns the current :data:`Reading`; *clock* gives wall-clock seconds.
    What a table derives from a route's counts (requests, error share, quantiles) is
    kept for the next table while its counts and the reading they are compared with
    stay the same objects; a window's figures (the dict in the row) are the same dict
    while, besides, the seconds they cover are equal (and the window's start, where an
    exemplar could enter or leave it), and a row is the same dict while its windows
    are. Memory: at most one kept entry per route and window and one row per route.
    """

    def __init__(self, read: Any, clock: Any, *, snapshot_interval: float = 5.0) -> None:
        if not snapshot_interval > 0:
            raise ValueError(f"snapshot_interval={snapshot_interval!r} must be > 0 seconds")
        self._read = read
        self._clock = clock
        self._interval = snapshot_interval
        longest = max(seconds for _, seconds in WINDOWS)
        self._ring: deque[tuple[float, Reading]] = deque(
            maxlen=math.ceil(longest / snapshot_interval) + 2
        )
        self._last: Reading = {}
        self._rows: dict[tuple[str, str], tuple[dict[str, Any], tuple[Window, ...]]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ring)

    def _take(self) -> Reading:
        """A reading now; a route whose counts equal the last reading's keeps that
        object, so what was derived from it can be reused."""
        current: Reading = self._read()
        last = self._last
        for key, counts in current.items():
            old = last.get(key)
            if old is not None and old.count == counts.count and old == counts:
                current[key] = old  # (the count tells most changed routes at once)
        return current

    def table(self) -> list[dict[str, Any]]:
        """One row per (method, route): for each window its ``rate`` (requests/s),
        ``errors`` (5xx share, None without requests), ``p50``/``p95``/``p99`` (seconds,
        None without requests), ``requests``, ``covered`` (seconds) and ``traces`` (an
        exemplar trace id per figure, None where none); takes a reading now. An
        unchanged row is the very dict of the last table (do not modify rows)."""
        now = self._clock.time()
        current = self._take()
        with self._lock:
            self._last = current
            history = list(self._ring)
            if not history or now - history[-1][0] >= self._interval:
                self._ring.append((now, current))
            last_rows = self._rows
        kept: dict[tuple[str, str], tuple[dict[str, Any], tuple[Window, ...]]] = {}
        windows = [(label, seconds, _base(history, now, seconds)) for label, seconds in WINDOWS]
        oldest = history[0] if history else None
        rows = []
        nothing: tuple[Window | None, ...] = (None,) * len(windows)
        for key, counts in current.items():
            last = last_rows.get(key)
            made: list[Window] = []
            twin = None
            same = last is not None
            for (_, seconds, old), prior in zip(
                windows, nothing if last is None else last[1], strict=True
            ):
                twin = window(counts, key, old, oldest, now, seconds, prior, twin)
                made.append(twin)
                same = same and twin is prior
            if same and last is not None:
                kept[key] = last
                rows.append(last[0])
                continue
            row: dict[str, Any] = {"method": key[0], "route": key[1]}
            for (label, _, _), shown in zip(windows, made, strict=True):
                row[label] = shown.figures
            kept[key] = (row, tuple(made))
            rows.append(row)
        with self._lock:
            self._rows = kept
        return rows


def _base(
    history: Sequence[tuple[float, Reading]], now: float, seconds: float
) -> tuple[float, Reading] | None:
    chosen = None
    for entry in history:
        if entry[0] <= now - seconds:
            chosen = entry
        else:
            break
    return chosen


def sort_rows(
    rows: list[dict[str, Any]], key: str, descending: bool, window: str = "1m"
) -> list[dict[str, Any]]:
    """*rows* sorted by ``route``/``method`` or by a figure of *window* (missing last)."""
    if key in ("route", "method"):
        return sorted(rows, key=lambda r: (r[key], r["method"]), reverse=descending)

    present = [r for r in rows if r[window].get(key) is not None]
    missing = [r for r in rows if r[window].get(key) is None]
    present.sort(key=lambda r: float(r[window][key]), reverse=descending)
    return present + missing
