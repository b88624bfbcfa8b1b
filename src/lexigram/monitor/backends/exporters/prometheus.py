"""Prometheus exposition (one path for the whole process) and PrometheusMetricsExporter.

The exposition functions used by the middleware, the backend and the CLI:

- :func:`render` / :func:`render_async` — ``(body, headers)`` for given ``Accept`` and
  ``Accept-Encoding`` headers (text 0.0.4 or OpenMetrics 1.0, gzip when accepted);
- :func:`metrics_asgi_app` — an ASGI app serving it, with an optional bearer token;
- :func:`get_registry` — the process-wide prometheus_client ``CollectorRegistry``;
- :func:`set_default_metrics` — process/GC/platform collectors on or off.

Importing this module does not import prometheus_client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._optional import require
from ..._ratelimit import RateLimitedLogger
from ...defaults import DEFAULT_BUCKETS, DEFAULT_MAX_SERIES
from ...exceptions import BackendNotAvailableError, InvalidMetricError
from ._app import metrics_asgi_app
from ._exposition import (
    OFFLOAD_THRESHOLD,
    PROTOBUF_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    get_registry,
    render,
    render_async,
    set_default_metrics,
)

__all__ = [
    "OFFLOAD_THRESHOLD",
    "PROTOBUF_CONTENT_TYPE",
    "TEXT_CONTENT_TYPE",
    "PrometheusMetricsExporter",
    "get_registry",
    "metrics_asgi_app",
    "render",
    "render_async",
    "set_default_metrics",
]

DEFAULT_MAX_METRICS = 10_000
_OVERFLOW = "__overflow__"

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.exporters.prometheus"))


@dataclass(slots=True)
class _Family:
    """One prometheus_client metric with its locked label schema and child cache."""

    kind: str
    name: str
    metric: Any
    label_names: tuple[str, ...]
    keys: frozenset[str]
    children: dict[tuple[str, ...], Any] = field(default_factory=dict)
    overflow: Any = None


class PrometheusMetricsExporter:
    """Async-compatible adapter for prometheus_client.

    Wraps prometheus_client ``Counter``, ``Gauge`` and ``Histogram`` objects in an async
    API. Updates run inline, not through ``asyncio.to_thread``: a prometheus_client
    update is a lock and an addition (a few hundred ns) while a thread hop costs tens
    of µs and would queue behind other blocking work, so inline is both faster and
    never stalls the loop.

    Names follow the facade rule (``.`` and ``-`` become ``_``). A name's type and label
    schema are locked on first use: later calls may omit keys (their value is ``""``)
    but an unknown key raises :class:`InvalidMetricError`, as do a name reused with
    another type, a negative or NaN counter amount, and NaN gauge/histogram values.

    *registry* defaults to a fresh, isolated ``CollectorRegistry``, so exporters never
    collide. Bounds: at most *max_metrics* names and *max_series_per_metric* label sets
    per name; further label sets share one overflow series (values ``"__overflow__"``).
    Raises :class:`BackendNotAvailableError` naming the extra when prometheus_client is
    missing.
    """

    def __init__(
        self,
        registry: Any = None,
        *,
        max_series_per_metric: int = DEFAULT_MAX_SERIES,
        max_metrics: int = DEFAULT_MAX_METRICS,
    ) -> None:
        self._pc = require("prometheus", "prometheus_client")
        self._registry = registry if registry is not None else self._pc.CollectorRegistry()
        self._max_series = max_series_per_metric
        self._max_metrics = max_metrics
        self._lock = threading.Lock()
        self._families: dict[str, _Family] = {}  # by metric name
        self._aliases: dict[str, _Family] = {}  # by the name as given

    @property
    def registry(self) -> Any:
        """The ``CollectorRegistry`` holding this exporter's metrics."""
        return self._registry

    @property
    def metrics_app(self) -> Any:
        """ASGI app exposing this exporter's registry (``prometheus_client.make_asgi_app``).

        Raises ``RuntimeError`` if prometheus-client is not installed.
        """
        try:
            client = require("prometheus", "prometheus_client")
        except BackendNotAvailableError as exc:
            raise RuntimeError(str(exc)) from exc
        return client.make_asgi_app(registry=self._registry)

    async def counter(self, name: str, value: int, tags: dict[str, str] | None = None) -> None:
        """Increment the counter *name* by *value* (>= 0)."""
        if not isinstance(value, int | float) or not value >= 0:
            raise InvalidMetricError(
                f"counter {name!r} got amount {value!r}: counters only go up; amounts must "
                "be numbers >= 0 (use gauge() for values that go down)"
            )
        self._child("counter", name, tags).inc(value)

    async def gauge(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Set the gauge *name* to *value*."""
        if not isinstance(value, int | float) or value != value:
            raise InvalidMetricError(
                f"gauge {name!r} got {value!r}; gauge values must be numbers, not NaN"
            )
        self._child("gauge", name, tags).set(value)

    async def histogram(self, name: str, value: float, tags: dict[str, str] | None = None) -> None:
        """Observe *value* on the histogram *name* (Prometheus default buckets)."""
        if not isinstance(value, int | float) or value != value:
            raise InvalidMetricError(f"histogram {name!r} got {value!r}; observe numbers, not NaN")
        self._child("histogram", name, tags).observe(value)

    async def flush(self) -> None:
        """No-op — prometheus_client pushes are pull-based (the registry is scraped)."""

    # -- internals ----------------------------------------------------------------------

    def _child(self, kind: str, name: str, tags: Mapping[str, str] | None) -> Any:
        family = self._aliases.get(name)
        if family is None or family.kind != kind:
            family = self._family(kind, name, tags)
        if not tags:
            key = ("",) * len(family.label_names)
        elif tags.keys() <= family.keys:
            key = tuple([tags.get(k, "") for k in family.label_names])
        else:
            raise self._unknown_keys(family, tags)
        child = family.children.get(key)
        return child if child is not None else self._new_child(family, key)

    def _family(self, kind: str, name: str, tags: Mapping[str, str] | None) -> _Family:
        from ...metrics.naming import to_metric_name, validate_label_name

        metric_name = to_metric_name(name)
        with self._lock:
            family = self._families.get(metric_name)
            if family is None:
                if len(self._families) >= self._max_metrics:
                    raise InvalidMetricError(
                        f"cannot add metric {metric_name!r}: this exporter already holds "
                        f"{self._max_metrics} metrics (max_metrics); keep unbounded values "
                        "such as ids out of metric names"
                    )
                label_names = tuple(tags or ())
                for label in label_names:
                    validate_label_name(label, metric_name)
                family = _Family(
                    kind,
                    metric_name,
                    self._create(kind, metric_name, label_names),
                    label_names,
                    frozenset(label_names),
                )
                self._families[metric_name] = family
            if family.kind != kind:
                raise InvalidMetricError(
                    f"metric {metric_name!r} is already a {family.kind}, so it cannot also be "
                    f"a {kind}: a metric name has one type; choose another name"
                )
            if len(self._aliases) < 2 * self._max_metrics:
                self._aliases[name] = family
            return family

    def _create(self, kind: str, name: str, label_names: tuple[str, ...]) -> Any:
        pc = self._pc
        options: dict[str, Any] = {"registry": self._registry}
        if kind == "histogram":
            options["buckets"] = DEFAULT_BUCKETS
        cls = {"counter": pc.Counter, "gauge": pc.Gauge, "histogram": pc.Histogram}[kind]
        try:
            return cls(name, name, label_names, **options)
        except ValueError as exc:  # duplicate timeseries in the registry, reserved label
            raise InvalidMetricError(
                f"cannot register {kind} {name!r} with labels {list(label_names)} in the "
                f"prometheus_client registry: {exc}; use another name"
            ) from exc

    def _new_child(self, family: _Family, key: tuple[str, ...]) -> Any:
        for label, value in zip(family.label_names, key, strict=True):
            if not isinstance(value, str):
                raise InvalidMetricError(
                    f"label {label!r} of metric {family.name!r} has the value {value!r} "
                    f"({type(value).__name__}); label values must be strings"
                )
        with self._lock:
            child = family.children.get(key)
            if child is not None:
                return child
            if not family.label_names:
                child = family.metric
            elif len(family.children) >= self._max_series:
                if family.overflow is None:
                    _log.warning(
                        f"overflow:{family.name}",
                        "%s %r reached %d label sets; further ones share the overflow "
                        "series (label values %r). Reduce label cardinality.",
                        family.kind,
                        family.name,
                        self._max_series,
                        _OVERFLOW,
                    )
                    family.overflow = family.metric.labels(*([_OVERFLOW] * len(family.label_names)))
                return family.overflow
            else:
                child = family.metric.labels(*key)
            family.children[key] = child
            return child

    @staticmethod
    def _unknown_keys(family: _Family, tags: Mapping[str, str]) -> InvalidMetricError:
        unknown = sorted(set(tags) - family.keys)
        return InvalidMetricError(
            f"{family.kind} {family.name!r} got label keys {list(tags)} with unknown "
            f"{unknown}; its label schema is {list(family.label_names)} (locked on first "
            "use). Use only these keys (missing ones become ''), or another metric name."
        )
