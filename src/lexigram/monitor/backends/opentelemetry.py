"""OpenTelemetry backend: metrics and spans exported through the OpenTelemetry SDK.

:meth:`OpenTelemetryBackend.initialize` builds one SDK ``MeterProvider`` (a
``PeriodicExportingMetricReader`` every ``export_interval`` seconds) and one SDK
``TracerProvider`` (a ``BatchSpanProcessor``: ``batch_size`` spans per export, a schedule
delay of ``export_interval``, an export timeout of ``timeout``), both with the resource
``service.name``. Their exporters come from the exporter registries for
``OpenTelemetryConfig.type`` (``otlp`` or ``console`` by default; register a handler for
others), which read ``endpoint``, ``headers``, ``insecure``, ``timeout``, ``compression``,
``protocol`` and ``batch_size``.

Spans: :meth:`OpenTelemetryBackend.create_span` returns our :class:`Span`, started by
:attr:`OpenTelemetryBackend.tracer` (sampling and limits from ``TracingConfig``). Ended
spans are converted off the caller's thread into SDK spans with the same W3C trace and
span ids and queued in the SDK batch processor, so they leave through the same exporter
as spans started from :attr:`OpenTelemetryBackend.tracer_provider`. Worst-case delay
before export: ``tracing.export_interval`` + ``export_interval``.

Metrics: :meth:`OpenTelemetryBackend.record_metric` maps ``counter`` to an SDK counter,
``gauge`` to the synchronous SDK gauge, ``histogram`` and ``summary`` to an SDK histogram
(OpenTelemetry has no summary instrument; quantiles are computed by the receiving side).
With ``MetricsConfig.native_histograms`` the histograms are exported as OTLP exponential
histograms (scale from ``native_histogram_schema``, at most
``native_histogram_max_buckets`` buckets per side; see ``_otel_instruments.sdk_views``).

Bounds: at most ``max_metrics`` instruments (past it values of new names are dropped,
logged and counted); per instrument at most ``MetricsConfig.max_series_per_metric``
attribute sets per collection (the SDK folds the rest into ``otel.metric.overflow``);
span queues as configured. Nothing blocks the caller: exports run on SDK threads, and
:meth:`~OpenTelemetryBackend.shutdown` waits at most ``timeout`` seconds, whatever the
collector does (down, slow, trickling, answering errors).

Deadlines and drops: every span export is one call of at most ``timeout`` seconds (the
OTLP/HTTP session cuts a trickling collector off; a hanging custom exporter is waited
for no longer). Spans dropped on the way — our queue full, the SDK processor's queue
full, an export failed or timed out, left at shutdown — are counted as they happen in
``lexigram_monitor_spans_dropped_total{reason}`` (see ``_otel_spans``).

Exit: the SDK providers are not shut down by the SDK's own ``atexit`` hook; the backend
registers one that first drains our tracer into the SDK processor, then shuts both
providers down, within ``timeout`` seconds, so spans ended before a normal exit are
exported.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from .._optional import require
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import SPANS_DROPPED, count_failure
from .._version import __version__
from ..config import MetricsConfig, MonitorConfig, OpenTelemetryConfig, TracingConfig
from ..exceptions import BackendNotAvailableError
from ..tracing import Span, SpanContext, SpanKind, Tracer
from ._otel_instruments import METRIC_TYPES, OTelInstruments, check, sdk_views
from ._otel_spans import (
    OTEL_BACKEND_FAILURES,
    SdkHandOff,
    guard_sdk_exporter,
    observe_sdk_drops,
    sdk_queue_length,
    wrap_foreign_exporter,
)
from ._wiring import enable_span_export_metrics
from .exporters.otlp import OTLPSpanExporterAdapter
from .exporters.registry import MetricsExporterRegistry, TracingExporterRegistry

__all__ = ["DEFAULT_MAX_METRICS", "METRIC_TYPES", "OpenTelemetryBackend"]

DEFAULT_MAX_METRICS = 10_000
"""Instruments one backend creates before values of new metric names are dropped."""

_SCOPE = "lexigram.monitor"
_NEW, _RUNNING, _STOPPED = 0, 1, 2

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.opentelemetry"))


def _split_config(
    config: Any,
) -> tuple[OpenTelemetryConfig, TracingConfig | None, MetricsConfig]:
    """(otel, tracing or None, metrics) settings from whatever *config* the caller gave."""
    if config is None:
        return OpenTelemetryConfig(), None, MetricsConfig()
    if isinstance(config, MonitorConfig):
        return config.opentelemetry, config.tracing, config.metrics
    if isinstance(config, OpenTelemetryConfig):
        return config, None, MetricsConfig()
    if isinstance(config, Mapping):
        return OpenTelemetryConfig.model_validate(dict(config)), None, MetricsConfig()
    return OpenTelemetryConfig.model_validate(config, from_attributes=True), None, MetricsConfig()


class OpenTelemetryBackend:
    """OpenTelemetry monitoring backend.

    *config* is an ``OpenTelemetryConfig``, a ``MonitorConfig`` (its ``opentelemetry``,
    ``tracing`` and ``metrics`` sections are used: prefix, default labels, histogram
    buckets, series cap, ``enabled``), a mapping or an object with the same attributes.
    *endpoint* overrides the configured endpoint. Used before :meth:`initialize`, the
    backend initializes itself. Raises :class:`BackendNotAvailableError` naming the
    ``otel`` extra when the OpenTelemetry SDK is not installed.
    """

    def __init__(
        self,
        service_name: str = "lexigram-app",
        endpoint: str | None = None,
        config: Any | None = None,
        tracing_exporter_registry: TracingExporterRegistry | None = None,
        metrics_exporter_registry: MetricsExporterRegistry | None = None,
        *,
        max_metrics: int = DEFAULT_MAX_METRICS,
    ) -> None:
        self._sdk_metrics = require("otel", "opentelemetry.sdk.metrics")
        self._sdk_metrics_export = require("otel", "opentelemetry.sdk.metrics.export")
        self._sdk_trace = require("otel", "opentelemetry.sdk.trace")
        self._sdk_trace_export = require("otel", "opentelemetry.sdk.trace.export")
        self._sdk_resources = require("otel", "opentelemetry.sdk.resources")
        if not isinstance(service_name, str) or not service_name:
            raise ValueError(f"service_name {service_name!r} must be a non-empty string")
        if isinstance(max_metrics, bool) or not isinstance(max_metrics, int) or max_metrics < 1:
            raise ValueError(f"max_metrics={max_metrics!r} must be an integer >= 1")
        otel, tracing, metrics = _split_config(config)
        if endpoint is not None:
            otel = otel.model_copy(update={"endpoint": endpoint})
        self.service_name = service_name
        self.config = otel
        self.tracing_config = (
            tracing if tracing is not None else TracingConfig(service_name=service_name)
        )
        self.metrics_config = metrics
        self.tracing_exporter_registry = (
            tracing_exporter_registry or TracingExporterRegistry.with_defaults()
        )
        self.metrics_exporter_registry = (
            metrics_exporter_registry or MetricsExporterRegistry.with_defaults()
        )
        self._max_metrics = max_metrics
        self._state = _NEW
        self._lock = threading.Lock()
        self._tracer: Tracer | None = None
        self._tracer_provider: Any = None
        self._meter_provider: Any = None
        self._meter: Any = None
        self._table: OTelInstruments | None = None
        self._span_processor: Any = None
        self._metric_reader: Any = None

    # -- lifecycle ------------------------------------------------------------------------

    async def initialize(self) -> None:
        """Initialize OpenTelemetry: build the providers, exporters and our tracer.

        Idempotent. An exporter type no registry handler knows raises
        :class:`BackendNotAvailableError`; bad exporter settings raise ``ValueError``.
        """
        self._ensure_started()

    def _ensure_started(self) -> None:
        if self._state != _NEW:
            return
        with self._lock:
            if self._state == _NEW:
                self._start()
                self._state = _RUNNING

    def _start(self) -> None:
        cfg = self.config
        resource = self._sdk_resources.Resource.create({"service.name": self.service_name})
        reader = self._make_reader(self.metrics_exporter_registry.create_exporter(cfg))
        # one series cap for every instrument of this provider, whatever the reader;
        # exponential histograms when native histograms are configured
        meter_provider = self._sdk_metrics.MeterProvider(
            metric_readers=[reader],
            resource=resource,
            views=sdk_views(self.metrics_config),
            shutdown_on_exit=False,
        )
        sdk_exporter, adapter = self._make_span_exporter(
            self.tracing_exporter_registry.create_exporter(cfg)
        )
        adapter.prepare(self.service_name)
        guarded = guard_sdk_exporter(
            sdk_exporter, self._sdk_trace_export, cfg.timeout, adapter.failure_cause
        )
        processor = self._sdk_trace_export.BatchSpanProcessor(
            guarded,
            max_queue_size=max(self.tracing_config.max_queue_size, cfg.batch_size),
            schedule_delay_millis=cfg.export_interval * 1000.0,
            max_export_batch_size=cfg.batch_size,
            export_timeout_millis=cfg.timeout * 1000.0,
            meter_provider=meter_provider,
        )
        observe_sdk_drops(processor)
        enable_span_export_metrics()
        # our atexit hook drains our tracer first, then shuts the SDK down
        tracer_provider = self._sdk_trace.TracerProvider(resource=resource, shutdown_on_exit=False)
        tracer_provider.add_span_processor(processor)
        self._metric_reader = reader
        self._span_processor = processor
        self._meter_provider = meter_provider
        self._meter = meter_provider.get_meter(_SCOPE, __version__)
        self._table = OTelInstruments(self._meter, self.metrics_config, self._max_metrics)
        self._tracer_provider = tracer_provider
        self._tracer = Tracer(
            self.service_name,
            SdkHandOff(processor.on_end, adapter.to_readable),
            config=self.tracing_config,
        )
        _at_exit(self)

    def _make_reader(self, made: Any) -> Any:
        """A reader for the registry's result: a reader as is, an exporter made periodic."""
        if made is None:
            raise self._no_handler("metrics", self.metrics_exporter_registry)
        export = self._sdk_metrics_export
        if isinstance(made, export.MetricReader):
            return made
        return export.PeriodicExportingMetricReader(
            made,
            export_interval_millis=self.config.export_interval * 1000.0,
            export_timeout_millis=self.config.timeout * 1000.0,
        )

    def _make_span_exporter(self, made: Any) -> tuple[Any, OTLPSpanExporterAdapter]:
        """(SDK span exporter, converter of our spans) for the registry's result."""
        if made is None:
            raise self._no_handler("tracing", self.tracing_exporter_registry)
        base = self._sdk_trace_export.SpanExporter
        if isinstance(made, OTLPSpanExporterAdapter) and isinstance(made.exporter, base):
            return made.exporter, made
        if not isinstance(made, base):
            if not callable(getattr(made, "export", None)):
                raise TypeError(
                    f"tracing exporter {made!r} from the registry has no export(spans) method; "
                    "a handler must return an OpenTelemetry SpanExporter or one of ours"
                )
            made = wrap_foreign_exporter(made, self.service_name, self._sdk_trace_export)
        return made, OTLPSpanExporterAdapter(made)

    def _no_handler(self, signal: str, registry: Any) -> BackendNotAvailableError:
        known = ", ".join(type(h).__name__ for h in registry.handlers) or "none"
        return BackendNotAvailableError(
            f"no {signal} exporter handler accepts OpenTelemetryConfig.type "
            f"{self.config.type!r} (handlers: {known}); use 'otlp' or 'console', or "
            f"register a handler in the {signal} exporter registry"
        )

    async def shutdown(self, timeout: float | None = None) -> None:
        """Flush and shut both providers down; waits at most *timeout* seconds.

        *timeout* defaults to ``OpenTelemetryConfig.timeout``. Idempotent and never
        raises: failures and a missed deadline are logged and counted, and exports still
        running after the deadline finish (or give up) on their own daemon threads.
        """
        with self._lock:
            if self._state != _RUNNING:
                self._state = _STOPPED
                return
            self._state = _STOPPED
        deadline = self.config.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        waits = [
            _in_daemon_thread(loop, self._stop_traces, deadline, "traces_shutdown"),
            _in_daemon_thread(loop, self._stop_metrics, deadline, "metrics_shutdown"),
        ]
        finished = await asyncio.gather(*waits)
        if not all(finished):
            _log.warning(
                "shutdown-deadline",
                "OpenTelemetry backend shutdown passed its %.1fs deadline; "
                "exports still in flight continue in the background",
                deadline,
            )
            count_failure(OTEL_BACKEND_FAILURES, "shutdown_timeout")

    def _stop_traces(self, deadline: float) -> None:
        if self._tracer is not None:
            self._tracer.shutdown(deadline)  # drains our queue into the SDK processor
        self._tracer_provider.shutdown()
        left = sdk_queue_length(self._span_processor)
        if left:  # the SDK gave up at its deadline: these spans are lost
            count_failure(SPANS_DROPPED, "shutdown", left)

    def _exit(self) -> None:
        """At interpreter exit: flush and shut down, within ``timeout`` seconds."""
        with self._lock:
            if self._state != _RUNNING:
                return
            self._state = _STOPPED
        deadline = self.config.timeout
        end = time.monotonic() + deadline
        waits = [
            _stop_in_daemon(self._stop_traces, deadline, "traces_exit"),
            _stop_in_daemon(self._stop_metrics, deadline, "metrics_exit"),
        ]
        for done in waits:
            done.wait(max(0.0, end - time.monotonic()))

    def _stop_metrics(self, deadline: float) -> None:
        self._meter_provider.shutdown(timeout_millis=deadline * 1000.0)

    def force_flush(self, timeout: float | None = None) -> bool:
        """Export queued spans and current metrics now (blocking, at most *timeout* s).

        Returns False when the deadline passed first or the backend is not running.
        """
        if self._state != _RUNNING:
            return False
        deadline = self.config.timeout if timeout is None else timeout

        def flush(_: float) -> None:
            if self._tracer is not None:
                self._tracer.force_flush(deadline)
            self._tracer_provider.force_flush(int(deadline * 1000))
            self._meter_provider.force_flush(timeout_millis=deadline * 1000.0)

        done = threading.Event()
        _start_daemon(lambda: _guarded(flush, deadline, "flush", done.set))
        return done.wait(deadline)

    # -- providers ------------------------------------------------------------------------

    @property
    def tracer(self) -> Tracer:
        """Our tracer whose sampled spans are exported through the SDK pipeline."""
        self._ensure_started()
        tracer = self._tracer
        if tracer is None:  # only after a failed start
            raise BackendNotAvailableError("the OpenTelemetry backend failed to start")
        return tracer

    @property
    def tracer_provider(self) -> Any:
        """The SDK ``TracerProvider`` (not installed globally; do it yourself if wanted)."""
        self._ensure_started()
        return self._tracer_provider

    @property
    def meter_provider(self) -> Any:
        """The SDK ``MeterProvider`` (not installed globally)."""
        self._ensure_started()
        return self._meter_provider

    @property
    def span_processor(self) -> Any:
        """The SDK ``BatchSpanProcessor`` in front of the span exporter."""
        self._ensure_started()
        return self._span_processor

    @property
    def metric_reader(self) -> Any:
        """The SDK metric reader (periodic, unless a handler returned a reader)."""
        self._ensure_started()
        return self._metric_reader

    @property
    def meter(self) -> Any:
        """The SDK meter :meth:`record_metric` creates its instruments on."""
        self._ensure_started()
        return self._meter

    # -- recording ------------------------------------------------------------------------

    def record_metric(
        self,
        name: str,
        value: Any,
        metric_type: str,
        labels: dict[str, str] | None = None,
    ) -> None:
        """Record *value* on the instrument *name* of *metric_type* (see the module doc).

        Raises :class:`InvalidMetricError` for an unknown type, a non-numeric or NaN
        value, a negative counter increment, a bad name, non-string labels, or a name
        already used with another type. After :meth:`shutdown` values are dropped
        and counted.
        """
        if self._state != _RUNNING:
            if self._state == _STOPPED:
                check(name, value, metric_type)
                count_failure(OTEL_BACKEND_FAILURES, "after_shutdown")
                return
            self._ensure_started()
        table = self._table
        if table is not None:
            table.record(name, value, metric_type, labels)

    @property
    def instruments(self) -> dict[tuple[str, str], Any]:
        """The SDK instruments created so far, by (name, kind) (a copy)."""
        return self._table.snapshot() if self._table is not None else {}

    def create_span(
        self,
        name: str,
        parent_context: SpanContext | Span | None = None,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
    ) -> Span:
        """Start one of our spans (not current until entered with ``with``).

        Parent: *parent_context* > the current span > a new trace. Once ended, a sampled
        span is exported with its ids unchanged.
        """
        return self.tracer.start_span(name, parent_context, attributes, kind)


_EXITING: weakref.WeakSet[OpenTelemetryBackend] = weakref.WeakSet()
_exit_hook: list[bool] = []


def _at_exit(backend: OpenTelemetryBackend) -> None:
    """Flush *backend* at interpreter exit (one hook for every backend)."""
    if not _exit_hook:
        atexit.register(_exit_all)
        _exit_hook.append(True)
    _EXITING.add(backend)


def _exit_all() -> None:
    for backend in list(_EXITING):
        backend._exit()


def _guarded(
    fn: Callable[[float], None], deadline: float, what: str, done: Callable[[], None]
) -> None:
    try:
        fn(deadline)
    except Exception as exc:
        _log.warning(f"{what}-failed", "OpenTelemetry %s failed: %r", what, exc)
        count_failure(OTEL_BACKEND_FAILURES, f"{what}_failed")
    finally:
        done()


def _stop_in_daemon(fn: Callable[[float], None], deadline: float, what: str) -> threading.Event:
    """Run ``fn(deadline)`` guarded on a daemon thread; the event is set when it ended."""
    done = threading.Event()
    _start_daemon(lambda: _guarded(fn, deadline, what, done.set))
    return done


def _start_daemon(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="lexigram-monitor-otel-stop", daemon=True).start()


async def _in_daemon_thread(
    loop: asyncio.AbstractEventLoop, fn: Callable[[float], None], deadline: float, what: str
) -> bool:
    """Run ``fn(deadline)`` on a daemon thread; True when it finished within *deadline*."""
    finished = asyncio.Event()

    def wake() -> None:
        # the loop may have closed meanwhile: then nobody waits any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(finished.set)

    _start_daemon(lambda: _guarded(fn, deadline, what, wake))
    try:
        await asyncio.wait_for(finished.wait(), deadline)
    except TimeoutError:
        return False
    return True
