"""Built-in Prometheus text format 0.0.4 renderer over the instrument snapshot API.

Pure Python, no optional dependency: it serves ``/metrics`` when prometheus_client is
not installed, and it is the fast path for the text format when it is (OpenMetrics
always goes through prometheus_client). Output follows prometheus_client's text
conventions so both paths give the same series:

- a counter named ``x`` is exposed as ``x_total`` (a name already ending in ``_total``
  is kept); histograms as ``x_bucket{le=...}``, ``x_sum``, ``x_count``; summaries as
  ``x{quantile=...}``, ``x_sum``, ``x_count``;
- ``le`` and ``quantile`` values are written like Go's ``strconv.FormatFloat``
  (``0.005``, ``1.0``, ``+Inf``) and sample values as Python's ``repr`` (``+Inf``,
  ``-Inf`` and ``NaN`` spelled the Prometheus way);
- label values escape ``\\``, ``"`` and newline; HELP text escapes ``\\`` and newline;
- ``_created`` samples and exemplars are not part of this format and are left out.

An instrument whose ``collect()`` raises, or whose exposed names collide with names
already written (or with *reserved* names of other collectors), is skipped and reported
to *on_error*; the rest of the exposition stays valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

__all__ = [
    "ExposedInstrument",
    "escape_help",
    "escape_label_value",
    "exposed_names",
    "format_bound",
    "format_value",
    "render_text",
]

_INF = float("inf")

#: Called with the instrument and the reason (``"collision"`` or the exception).
ErrorHandler = Callable[[Any, "str | BaseException"], None]


class ExposedInstrument(Protocol):
    """The read side every instrument offers (see ``metrics.snapshot``)."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def collect(self) -> Sequence[Any]: ...


def escape_label_value(value: str) -> str:
    """Escape a label value: backslash, double quote and newline."""
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def escape_help(text: str) -> str:
    """Escape HELP text for the 0.0.4 format: backslash and newline."""
    if "\\" in text or "\n" in text:
        return text.replace("\\", "\\\\").replace("\n", "\\n")
    return text


def format_value(value: float) -> str:
    """A sample value: ``repr`` for finite numbers, else ``+Inf``/``-Inf``/``NaN``."""
    if value - value == 0:  # finite (int or float); inf - inf and nan - nan are NaN
        return repr(value)
    if value != value:
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def format_bound(value: float) -> str:
    """An ``le``/``quantile`` label value, formatted as Go formats floats.

    Python's ``repr`` switches to exponent notation later than Go does for large
    values, so ``1e7`` is written ``1e+07`` as the Go clients and prometheus_client do.
    """
    value = float(value)
    if value == _INF:
        return "+Inf"
    if value == -_INF:
        return "-Inf"
    if value != value:
        return "NaN"
    text = repr(value)
    dot = text.find(".")
    if value > 0 and dot > 6:
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def exposed_names(kind: str, name: str) -> tuple[str, tuple[str, ...]]:
    """``(text family name, names occupied)`` of an instrument.

    The occupied names cover both formats (a counter ``x`` is family ``x`` with sample
    ``x_total`` in OpenMetrics), so two instruments that clash in either are detected.
    """
    if kind == "counter":
        base = name[:-6] if name.endswith("_total") else name
        return base + "_total", (base, base + "_total")
    if kind == "histogram":
        return name, (name, name + "_bucket", name + "_sum", name + "_count")
    if kind == "summary":
        return name, (name, name + "_sum", name + "_count")
    return name, (name,)


_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "summary": "summary"}


class _LabelCache:
    """Per-render caches of ``name="`` prefixes and of ``le`` label strings."""

    __slots__ = ("bounds", "prefixes")

    def __init__(self) -> None:
        self.prefixes: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.bounds: dict[tuple[float, ...], tuple[str, ...]] = {}

    def label_body(self, names: tuple[str, ...], values: tuple[str, ...]) -> str:
        """``a="x",b="y"`` (no braces) for one series; empty without labels."""
        if not names:
            return ""
        prefixes = self.prefixes.get(names)
        if prefixes is None:
            prefixes = self.prefixes[names] = tuple(f'{n}="' for n in names)
        esc = escape_label_value
        return '",'.join([p + esc(v) for p, v in zip(prefixes, values, strict=True)]) + '"'

    def bound_labels(self, bounds: tuple[float, ...]) -> tuple[str, ...]:
        """``le="0.1"`` strings for histogram bounds (cached per bounds tuple)."""
        labels = self.bounds.get(bounds)
        if labels is None:
            labels = self.bounds[bounds] = tuple(f'le="{format_bound(b)}"' for b in bounds)
        return labels


def render_text(
    instruments: Iterable[ExposedInstrument],
    *,
    reserved: frozenset[str] = frozenset(),
    on_error: ErrorHandler | None = None,
) -> tuple[list[str], int]:
    """Render *instruments* as text 0.0.4; returns ``(chunks, series written)``.

    ``"".join(chunks)`` is the exposition. *reserved* holds sample names owned by other
    collectors rendered alongside; an instrument that would repeat one is skipped.
    """
    out: list[str] = []
    used: set[str] = set(reserved)
    cache = _LabelCache()
    series = 0
    for instrument in instruments:
        try:
            kind = instrument.kind
            family, samples = exposed_names(kind, instrument.name)
            if not used.isdisjoint(samples):
                if on_error is not None:
                    on_error(instrument, "collision")
                continue
            snapshots = instrument.collect()
            chunk: list[str] = [
                f"# HELP {family} {escape_help(instrument.description)}\n"
                f"# TYPE {family} {_TYPES.get(kind, 'untyped')}\n"
            ]
            if kind == "histogram":
                _histogram_lines(chunk, family, snapshots, cache)
            elif kind == "summary":
                _summary_lines(chunk, family, snapshots, cache)
            else:
                _value_lines(chunk, family, snapshots, cache)
        except Exception as exc:  # one broken instrument never breaks the exposition
            if on_error is not None:
                on_error(instrument, exc)
            continue
        used.update(samples)
        out.extend(chunk)
        series += len(snapshots)
    return out, series


def _value_lines(out: list[str], family: str, snapshots: Sequence[Any], cache: _LabelCache) -> None:
    body = cache.label_body
    fmt = format_value
    append = out.append
    for snap in snapshots:
        names = snap.label_names
        if names:
            append(f"{family}{{{body(names, snap.label_values)}}} {fmt(snap.value)}\n")
        else:
            append(f"{family} {fmt(snap.value)}\n")


def _histogram_lines(
    out: list[str], family: str, snapshots: Sequence[Any], cache: _LabelCache
) -> None:
    fmt = format_value
    append = out.append
    bucket = family + "_bucket{"
    for snap in snapshots:
        labels = cache.label_body(snap.label_names, snap.label_values)
        head = bucket + labels + "," if labels else bucket
        for le, count in zip(cache.bound_labels(snap.bounds), snap.counts, strict=True):
            append(f"{head}{le}}} {count}\n")
        if labels:
            append(f"{family}_sum{{{labels}}} {fmt(snap.sum)}\n")
            append(f"{family}_count{{{labels}}} {snap.count}\n")
        else:
            append(f"{family}_sum {fmt(snap.sum)}\n{family}_count {snap.count}\n")


def _summary_lines(
    out: list[str], family: str, snapshots: Sequence[Any], cache: _LabelCache
) -> None:
    fmt = format_value
    append = out.append
    for snap in snapshots:
        labels = cache.label_body(snap.label_names, snap.label_values)
        head = family + "{" + labels + "," if labels else family + "{"
        for q, value in snap.quantiles:
            append(f'{head}quantile="{format_bound(q)}"}} {fmt(value)}\n')
        if labels:
            append(f"{family}_sum{{{labels}}} {fmt(snap.sum)}\n")
            append(f"{family}_count{{{labels}}} {snap.count}\n")
        else:
            append(f"{family}_sum {fmt(snap.sum)}\n{family}_count {snap.count}\n")
