"""The tracer: starts spans, resolves parents, samples, propagates and feeds export.

Also holds the process-default tracer (:func:`get_default_tracer`), created lazily on
first use — importing this module has no side effect.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from .._ratelimit import RateLimitedLogger
from ..defaults import DEFAULT_SERVICE_NAME
from ..exceptions import SpanError
from ..protocols import SpanExporter
from .export import BatchSpanProcessor
from .nonrecording import NonRecordingSpan, unsampled_span
from .propagation import EMPTY_TRACE_STATE
from .sampling import (
    AlwaysOffSampler,
    AlwaysOnSampler,
    ParentBasedSampler,
    Sampler,
    TraceIdRatioSampler,
    build_sampler,
)
from .span import CURRENT_SPAN, Span, SpanKind, SpanLink, SpanRuntime
from .spancontext import (
    RANDOM_FLAG,
    SAMPLED_FLAG,
    IdGenerator,
    RandomIdGenerator,
    SpanContext,
    _make,
    extract,
    inject,
    trace_ids_are_random,
)

if TYPE_CHECKING:
    from ..config import TracingConfig

__all__ = ["Tracer", "get_default_tracer", "set_default_tracer"]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.tracing"))
_getrandbits = random.getrandbits
_new_span = object.__new__


class Tracer:
    """Distributed tracer logic.

    *exporter* receives ended, sampled spans through a :class:`BatchSpanProcessor`
    configured from *config* (``max_queue_size``, ``max_export_batch_size``,
    ``export_interval``, ``export_timeout``); None exports nothing. The last *max_spans*
    ended sampled spans (default ``config.max_spans``, 1,000) stay readable through
    :meth:`get_all_spans` (the status page's trace view reads them): a ring, so
    memory is bounded by *max_spans* spans, each holding at most
    ``config.max_attributes`` attributes, ``max_events`` events and ``max_links`` links;
    keeping a span costs one ``deque.append`` whatever the size. *sampler* overrides the
    one built from ``config.sampler_type``.
    With ``config.enabled`` false every span is non-recording, but incoming trace ids and
    sampled flags still propagate. ``config.propagation_formats`` without ``"tracecontext"``
    turns inject/extract into no-ops. *clock* and *id_generator* are injectable for tests.

    Trace flags (W3C level 2): a trace started here carries the random-trace-id flag
    when its id is random (the default generator, or one whose ``is_trace_id_random()``
    is True), so a new sampled root goes out as ``-03`` and an unsampled one as ``-02``;
    a span continuing a trace keeps its parent's random-trace-id flag whatever the
    sampler decides for the sampled flag. A span whose parent came from another process
    has ``parent_is_remote`` set (exported as such over OTLP).
    """

    def __init__(
        self,
        service_name: str,
        exporter: SpanExporter | None,
        max_spans: int | None = None,
        *,
        config: TracingConfig | None = None,
        sampler: Sampler | None = None,
        clock: Clock = SYSTEM_CLOCK,
        id_generator: IdGenerator | None = None,
    ) -> None:
        if config is None:
            from ..config import TracingConfig

            config = TracingConfig(service_name=service_name)
        cfg = config
        self.service_name = service_name
        self.config = cfg
        self._enabled = cfg.enabled
        # W3C Trace Context is the only format; an empty list turns propagation off
        self._propagate = "tracecontext" in cfg.propagation_formats
        if not cfg.enabled:
            sampler = ParentBasedSampler(AlwaysOffSampler())
        self.sampler: Sampler = sampler if sampler is not None else build_sampler(cfg, clock)
        self._sample = self.sampler.should_sample
        # decided once: samplers whose root decision is fixed are not asked per span
        roots = _fixed_root_decision(self.sampler)
        self._roots_off = roots is False
        self._roots_on = roots is True
        self._ids: IdGenerator = id_generator if id_generator is not None else RandomIdGenerator()
        self._fast_ids = id_generator is None
        # flags of a new trace: random-trace-id when the generator promises random ids
        self._random_flag = RANDOM_FLAG if trace_ids_are_random(self._ids) else 0
        self._root_flags = SAMPLED_FLAG | self._random_flag
        self._lazy_roots_off = self._roots_off and self._fast_ids
        limit = cfg.max_spans if max_spans is None else max_spans
        if limit < 0:
            raise ValueError(f"max_spans {limit!r} must be >= 0 (0 keeps no ended spans)")
        self.max_spans = limit
        self._recent: deque[Span] | None = deque(maxlen=limit) if limit else None
        self.exporter = exporter
        self.processor: BatchSpanProcessor | None = None
        if exporter is not None:
            self.processor = BatchSpanProcessor(
                exporter,
                max_queue_size=cfg.max_queue_size,
                max_export_batch_size=cfg.max_export_batch_size,
                export_interval=cfg.export_interval,
                export_timeout=cfg.export_timeout,
            )
        system = clock is SYSTEM_CLOCK
        self._runtime = SpanRuntime(
            service_name,
            max_attributes=cfg.max_attributes,
            max_events=cfg.max_events,
            max_links=cfg.max_links,
            time=time.time if system else clock.time,
            monotonic=time.monotonic if system else clock.monotonic,
            on_end=self._build_on_end(),
        )

    def _build_on_end(self) -> Any:
        recent = self._recent
        processor = self.processor
        if processor is not None and recent is not None:
            keep = recent.append
            queue = processor.on_end

            def on_end(span: Span) -> None:
                keep(span)
                queue(span)

            return on_end
        if processor is not None:
            return processor.on_end
        if recent is not None:
            return recent.append
        return None

    # -- spans ----------------------------------------------------------------------
    def start_span(
        self,
        name: str,
        context: SpanContext | Span | None = None,
        attributes: Mapping[str, Any] | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        *,
        links: Sequence[SpanContext | SpanLink] | None = None,
        start_time: float | None = None,
    ) -> Span:
        """Start a span (not current until entered with ``with``).

        Parent: explicit *context* (a :class:`SpanContext` or a span) > the current span >
        none (a new trace). A local parent's sampled flag is inherited; the sampler
        decides roots and remote parents. Unsampled spans are :class:`NonRecordingSpan`.
        Invalid *attributes* raise :class:`~lexigram.monitor.exceptions.SpanError`.
        """
        if context is None:
            current = CURRENT_SPAN.get()
            parent = None if current is None else current.context
        elif isinstance(context, SpanContext):
            parent = context
        elif isinstance(context, Span):
            parent = context.context
        else:
            raise SpanError(
                f"context {context!r} must be a SpanContext, a Span or None "
                "(e.g. tracer.extract_context(headers))"
            )
        tid: int | None
        remote = False
        if parent is None:
            if self._lazy_roots_off:
                # the cheapest span there is: ids are drawn only if someone reads them
                span: NonRecordingSpan = _new_span(NonRecordingSpan)
                span._ctx = None
                span._origin = None
                return span
            if self._roots_off:
                return self._unsampled(None)
            if self._fast_ids:
                tid = _getrandbits(128) or self._ids.trace_id()
            else:
                tid = self._ids.trace_id()
            if not self._roots_on and not self._sample(None, tid, name):
                return unsampled_span(tid) if self._fast_ids else self._unsampled(tid)
            psid = None
            state = EMPTY_TRACE_STATE
            tid_hex = None
            flags = self._root_flags
        else:
            remote = parent.is_remote
            if remote:
                sampled = self._sample(parent, parent.trace_id_int, name)
            else:
                sampled = bool(parent.trace_flags & SAMPLED_FLAG)
            if not sampled:
                return unsampled_span(parent) if self._fast_ids else self._unsampled(parent)
            tid = parent._tid
            psid = parent._sid if parent._sid is not None else parent._sid_hex
            state = parent.trace_state
            tid_hex = parent._tid_hex
            # the random-trace-id flag travels with the trace id, unchanged
            flags = SAMPLED_FLAG | (parent.trace_flags & RANDOM_FLAG)
        sid = (_getrandbits(64) or self._ids.span_id()) if self._fast_ids else self._ids.span_id()
        ctx = _make(tid, sid, psid, flags, state, False, tid_hex)
        if not self._enabled:
            return NonRecordingSpan(ctx)
        recorded = Span(name, ctx, kind, attributes, links, start_time, self._runtime)
        if remote:
            recorded.parent_is_remote = True
        return recorded

    def _unsampled(self, origin: SpanContext | int | None) -> Span:
        """Unsampled span with ids from the injected id generator."""
        sid = self._ids.span_id()
        if isinstance(origin, SpanContext):
            psid = origin._sid if origin._sid is not None else origin._sid_hex
            flags = origin.trace_flags & RANDOM_FLAG
            return NonRecordingSpan(
                _make(origin._tid, sid, psid, flags, origin.trace_state, False, origin._tid_hex)
            )
        tid = self._ids.trace_id() if origin is None else origin
        return NonRecordingSpan(_make(tid, sid, None, self._random_flag, EMPTY_TRACE_STATE, False))

    def get_current_span(self) -> Span | None:
        """The span current in this thread / asyncio task, or None."""
        return CURRENT_SPAN.get()

    def get_all_spans(self) -> list[Span]:
        """The most recent ended sampled spans (at most ``max_spans``), oldest first."""
        return list(self._recent) if self._recent is not None else []

    def clear_spans(self) -> None:
        """Forget the spans kept for :meth:`get_all_spans`."""
        if self._recent is not None:
            self._recent.clear()

    # -- propagation ----------------------------------------------------------------
    def inject_context(
        self, carrier: MutableMapping[str, Any], context: SpanContext | Span | None = None
    ) -> None:
        """Inject trace context into carrier dict.

        Writes ``traceparent``/``tracestate`` for *context* (default: the current span);
        does nothing when there is neither.
        """
        if not self._propagate:
            return
        if context is None:
            current = CURRENT_SPAN.get()
            if current is None:
                return
            ctx = current.context
        elif isinstance(context, Span):
            ctx = context.context
        else:
            ctx = context
        inject(carrier, ctx)

    def extract_context(self, carrier: Mapping[Any, Any]) -> SpanContext | None:
        """Extract trace context from carrier (None when absent or invalid; never raises)."""
        return extract(carrier) if self._propagate else None

    # -- export ---------------------------------------------------------------------
    @property
    def dropped_spans(self) -> int:
        """Spans that never reached the exporter (queue full, export failed, shutdown)."""
        return self.processor.dropped_spans if self.processor is not None else 0

    @property
    def exported_spans(self) -> int:
        return self.processor.exported_spans if self.processor is not None else 0

    def flush(self) -> None:
        """Export what is queued now, waiting at most ``export_timeout`` seconds."""
        self.force_flush()

    def force_flush(self, timeout: float | None = None) -> bool:
        """Like :meth:`flush`; returns False when the deadline passed first."""
        if self.processor is None:
            return True
        done = self.processor.force_flush(timeout)
        if not done:
            _log.warning(
                "flush-timeout", "span flush did not finish in time; the exporter may hang"
            )
        return done

    def shutdown(self, timeout: float | None = None) -> bool:
        """Drain the queue within *timeout* (default ``export_timeout``) and stop exporting."""
        if self.processor is None:
            return True
        return self.processor.shutdown(timeout)


def _fixed_root_decision(sampler: Sampler) -> bool | None:
    """True/False when *sampler* always/never samples root spans, None when it depends."""
    if isinstance(sampler, ParentBasedSampler):
        sampler = sampler.root
    if isinstance(sampler, TraceIdRatioSampler):
        if sampler.rate == 0.0:
            return False
        return True if sampler.rate == 1.0 else None
    if isinstance(sampler, AlwaysOffSampler):
        return False
    if isinstance(sampler, AlwaysOnSampler):
        return True
    return None


_default_tracer: Tracer | None = None
_default_lock = threading.Lock()


def get_default_tracer() -> Tracer:
    """The process-default tracer, created on first use (service ``lexigram-service``,
    no exporter) unless :func:`set_default_tracer` installed one."""
    global _default_tracer
    tracer = _default_tracer
    if tracer is None:
        with _default_lock:
            if _default_tracer is None:
                _default_tracer = Tracer(DEFAULT_SERVICE_NAME, None)
            tracer = _default_tracer
    return tracer


def set_default_tracer(tracer: Tracer | None) -> Tracer | None:
    """Install *tracer* as the process default (None: back to lazy creation); returns the
    previous one."""
    global _default_tracer
    with _default_lock:
        previous, _default_tracer = _default_tracer, tracer
    return previous
