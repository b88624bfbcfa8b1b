"""prometheus_client custom collector over the instrument snapshot API.

``SnapshotCollector`` implements prometheus_client's ``Collector`` protocol: every
``collect()`` reads the current instruments of a :class:`MetricsCollector` and yields one
``Metric`` family per instrument, built straight from the snapshots (no prometheus_client
metric objects are kept, so nothing is mirrored). Counters and histogram buckets carry
their latest exemplar (``trace_id``/``span_id`` labels), which only the OpenMetrics
encoder writes. ``_created`` samples are not produced (see ``_text``), so the text and
OpenMetrics expositions hold the same series, with the exceptions OpenMetrics imposes on
values: a histogram whose sum is negative or NaN, or whose buckets have negative bounds,
is written without ``_sum``/``_count`` (the ``+Inf`` bucket holds the count); a summary
leaves out a negative or NaN ``_sum`` and negative quantile values. The text format keeps
them all.

Imported only when prometheus_client is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from functools import partial
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.samples import Exemplar as PromExemplar
from prometheus_client.samples import Sample

from ...metrics.snapshot import Exemplar
from ._text import ErrorHandler, exposed_names, format_bound

__all__ = ["SnapshotCollector", "bridge_instruments", "bridge_suppressed", "keep_legacy_names"]

#: While True in the current context, every ``SnapshotCollector`` yields nothing: the
#: fast text path renders the instruments itself and asks the registry for the rest.
bridge_suppressed: ContextVar[bool] = ContextVar("lexigram_bridge_suppressed", default=False)
#: The instruments a render already read (the multi-process merge is read once per
#: render); None: the collector reads its source.
bridge_instruments: ContextVar[Sequence[Any] | None] = ContextVar(
    "lexigram_bridge_instruments", default=None
)


def keep_legacy_names(encoder: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """*encoder* (from prometheus_client's ``choose_encoder``), made to write legacy
    metric names unchanged.

    Asked for the ``underscores`` or ``values`` escaping (what Prometheus and a plain
    ``Accept: application/openmetrics-text`` get), prometheus_client's OpenMetrics
    encoder checks *sample* names against the label-name characters and rewrites every
    ``:``, while ``# HELP``/``# TYPE`` keep it: counter ``a:b`` became family ``a:b``
    with a sample ``a_b_total`` outside it. For a legacy name
    (``[a-zA-Z_:][a-zA-Z0-9_:]*``, the only kind our instruments and prometheus_client's
    own collectors have) both escapings mean no change, which is what ``allow-utf-8``
    writes, so that is asked for instead. Other encoders are returned as they are.
    """
    if (
        isinstance(encoder, partial)
        and encoder.func is openmetrics.generate_latest
        and encoder.keywords.get("escaping") in (openmetrics.UNDERSCORES, openmetrics.VALUES)
    ):
        return partial(encoder.func, **{**encoder.keywords, "escaping": openmetrics.ALLOWUTF8})
    return encoder


def _exemplar(ex: Exemplar | None) -> PromExemplar | None:
    if ex is None:
        return None
    return PromExemplar({"trace_id": ex.trace_id, "span_id": ex.span_id}, ex.value, ex.timestamp)


class SnapshotCollector:
    """Collector yielding the instruments of ``source()`` as prometheus_client families.

    *source* is called on every collect (so a replaced default collector is followed);
    *reserved* returns names owned by other collectors of the same registry; *on_error*
    is told about instruments skipped because they raised or clashed.
    """

    def __init__(
        self,
        source: Callable[[], Any],
        *,
        reserved: Callable[[], frozenset[str]] = frozenset,
        on_error: ErrorHandler | None = None,
    ) -> None:
        self._source = source
        self._reserved = reserved
        self._on_error = on_error

    def describe(self) -> list[Metric]:
        """No fixed names: instruments come and go, clashes are resolved at collect."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One family per instrument of the source collector."""
        if bridge_suppressed.get():
            return
        read = bridge_instruments.get()
        if read is None:
            source = self._source()
            exposed = getattr(source, "exposed_instruments", None)
            if exposed is not None:
                read = exposed()
            else:
                instruments = getattr(source, "instruments", None)
                if instruments is None:
                    return
                read = instruments()
        used: set[str] = set(self._reserved())
        for instrument in read:
            try:
                kind = instrument.kind
                _, occupied = exposed_names(kind, instrument.name)
                if not used.isdisjoint(occupied):
                    self._report(instrument, "collision")
                    continue
                family = _family(kind, instrument.name, instrument.description)
                _FILL[kind](family, instrument.collect())
            except Exception as exc:  # a broken instrument is skipped, never fatal
                self._report(instrument, exc)
                continue
            used.update(occupied)
            yield family

    def _report(self, instrument: Any, reason: str | BaseException) -> None:
        if self._on_error is not None:
            self._on_error(instrument, reason)


def _family(kind: str, name: str, description: str) -> Metric:
    if kind == "counter" and name.endswith("_total"):
        name = name[:-6]
    return Metric(name, description, kind)


def _labels(snap: Any) -> dict[str, str]:
    return dict(zip(snap.label_names, snap.label_values, strict=True))


def _fill_counter(family: Metric, snapshots: Sequence[Any]) -> None:
    name = family.name + "_total"
    append = family.samples.append
    for snap in snapshots:
        append(Sample(name, _labels(snap), snap.value, None, _exemplar(snap.exemplar)))


def _fill_gauge(family: Metric, snapshots: Sequence[Any]) -> None:
    name = family.name
    append = family.samples.append
    for snap in snapshots:
        append(Sample(name, _labels(snap), snap.value))


def _fill_histogram(family: Metric, snapshots: Sequence[Any]) -> None:
    name = family.name
    bucket = name + "_bucket"
    append = family.samples.append
    bounds_cache: dict[tuple[float, ...], list[str]] = {}
    for snap in snapshots:
        labels = _labels(snap)
        les = bounds_cache.get(snap.bounds)
        if les is None:
            les = bounds_cache[snap.bounds] = [format_bound(b) for b in snap.bounds]
        exemplars = snap.exemplars or (None,) * len(les)
        for le, count, ex in zip(les, snap.counts, exemplars, strict=True):
            append(Sample(bucket, {**labels, "le": le}, count, None, _exemplar(ex)))
        # OpenMetrics: a sum is a counter (never negative or NaN) and is forbidden with
        # negative bucket bounds; _count only comes with _sum. +Inf bucket == count.
        if snap.sum >= 0 and snap.bounds[0] >= 0:
            append(Sample(name + "_count", labels, snap.count))
            append(Sample(name + "_sum", labels, snap.sum))


def _fill_summary(family: Metric, snapshots: Sequence[Any]) -> None:
    name = family.name
    append = family.samples.append
    for snap in snapshots:
        labels = _labels(snap)
        for q, value in snap.quantiles:
            if not value < 0:  # OpenMetrics forbids negative quantile values (NaN is fine)
                append(Sample(name, {**labels, "quantile": format_bound(q)}, value))
        append(Sample(name + "_count", labels, snap.count))
        if snap.sum >= 0:  # a counter: never negative or NaN in OpenMetrics
            append(Sample(name + "_sum", labels, snap.sum))


_FILL: dict[str, Callable[[Metric, Sequence[Any]], None]] = {
    "counter": _fill_counter,
    "gauge": _fill_gauge,
    "histogram": _fill_histogram,
    "summary": _fill_summary,
}
