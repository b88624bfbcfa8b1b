"""``record_metric`` shared by the backends: metric type -> instrument of a collector.

Names follow the facade rule (``.`` and ``-`` become ``_``). An instrument created here
gets a HELP text naming where it comes from (``Recorded with record_metric: jobs.done
(counter).``), so ``promtool check metrics`` finds no metric without help; create the
instrument first (``collector.create_counter(name, "...")``) for a better one.
Instruments are cached per ``(metric_type, name)``, at most :data:`MAX_CACHED` entries
(past it, lookups go through the collector each time); the cache is dropped when the
collector changes. Each recorded value fires a ``MetricRecordedHook`` when someone subscribed to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..exceptions import InvalidMetricError
from ..hooks import MetricRecordedHook, default_bus
from ..metrics import MetricsCollector, to_metric_name

__all__ = ["KINDS", "MAX_CACHED", "InstrumentTable", "help_text"]

MAX_CACHED = 10_000
#: The metric types ``record_metric`` accepts.
KINDS = ("counter", "gauge", "histogram", "summary")


def help_text(name: str, kind: str) -> str:
    """The HELP of an instrument ``record_metric`` creates for *name* of type *kind*."""
    return f"Recorded with record_metric: {name} ({kind})."


class InstrumentTable:
    """Records values into the instruments of the collector returned by *collector*."""

    def __init__(self, collector: Callable[[], MetricsCollector]) -> None:
        self._collector = collector
        self._owner: MetricsCollector | None = None
        self._cache: dict[tuple[Any, str], Any] = {}

    def record(
        self, name: str, value: Any, metric_type: Any, labels: Mapping[str, str] | None
    ) -> Any:
        """Apply *value* (counter adds, gauge sets, histogram/summary observe); returns
        the instrument. Raises :class:`InvalidMetricError` for an unknown type or value."""
        kind = metric_type.lower() if isinstance(metric_type, str) else metric_type
        collector = self._collector()
        if collector is not self._owner:  # e.g. set_default_collector() replaced it
            self._cache = {}
            self._owner = collector
        instrument = self._cache.get((kind, name))
        if instrument is None:
            instrument = self._create(collector, kind, name)
        if kind == "gauge":
            instrument.set(value, labels)
        elif kind == "counter":
            instrument.increment(value, labels)
        else:
            instrument.observe(value, labels)
        if default_bus.has_subscribers(MetricRecordedHook):
            default_bus.emit(
                MetricRecordedHook(
                    metric_name=instrument.name,
                    value=float(value),
                    labels=dict(labels or {}),
                    metric_type=kind,
                )
            )
        return instrument

    def _create(self, collector: MetricsCollector, kind: Any, name: str) -> Any:
        if kind not in KINDS:
            raise InvalidMetricError(
                f"metric_type {kind!r} for metric {name!r} is not supported; use one of "
                f"{', '.join(KINDS)}"
            )
        creators: dict[str, Callable[..., Any]] = {
            "counter": collector.create_counter,
            "gauge": collector.create_gauge,
            "histogram": collector.create_histogram,
            "summary": collector.create_summary,
        }
        create = creators[kind]
        instrument = create(to_metric_name(name), help_text(name, kind))
        if len(self._cache) < MAX_CACHED:
            self._cache[(kind, name)] = instrument
        return instrument
