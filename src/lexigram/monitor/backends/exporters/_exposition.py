"""The one exposition path: the process registry, content negotiation, rendering, gzip.

``get_registry()`` is the process-wide prometheus_client ``CollectorRegistry`` (created
on first use). It holds a :class:`~._bridge.SnapshotCollector` over the default
``MetricsCollector`` — every instrument of the process: the user's, the middleware's and
the library's own — plus prometheus_client's process, GC and platform collectors while
default metrics are on (:func:`set_default_metrics`, on by default).

``render()`` picks the format from the ``Accept`` header. The delimited protobuf
format (``_protobuf``: every instrument, native histograms with their native buckets)
is served when the header asks for it (``io.prometheus.client.MetricFamily``,
``encoding=delimited``, with a q-value no lower than any other type's), with or
without prometheus_client; a protobuf request of another ``proto`` or ``encoding``
falls through to the text formats. Otherwise prometheus_client's ``choose_encoder``
decides: OpenMetrics 1.0 (with exemplars and ``# EOF``) is written by
prometheus_client; the text format 0.0.4 is written by the built-in renderer
(``_text``) for the instruments — measured faster than ``generate_latest`` over
equivalent native metrics, see ``bench/bench_exposition.py`` — followed by
``generate_latest`` for the registry's other collectors. Without prometheus_client the
built-in renderer serves text 0.0.4 whatever the ``Accept`` header says; when OpenMetrics
was asked for, the body starts with a comment saying so and naming the extra that brings
it, and a warning is logged (rate limited).

Multi-process mode: the instruments are the collector's ``exposed_instruments()``, the
merge of every worker (``metrics.multiprocess``), read once per render; its process
metrics (per worker ``pid`` and the service total) replace prometheus_client's process
and GC collectors, which only know the scraping process.

Failures: an instrument that fails to collect or clashes by name is left out and
counted in ``lexigram_monitor_render_failures_total``; if prometheus_client's encoder
raises, the response falls back to the built-in text format. ``render()`` itself only
raises for programming errors such as a wrong argument type.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from ..._ratelimit import RateLimitedLogger
from ..._selfmetrics import RENDER_FAILURES, count_failure
from ._protobuf import PROTOBUF_CONTENT_TYPE, wants_protobuf
from ._text import ExposedInstrument, exposed_names, render_text

__all__ = [
    "OFFLOAD_THRESHOLD",
    "PROTOBUF_CONTENT_TYPE",
    "TEXT_CONTENT_TYPE",
    "get_registry",
    "render",
    "render_async",
    "series_count",
    "set_default_metrics",
]

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: ``render_async`` renders in a worker thread above this many series (below it the
#: thread hop costs more than the rendering, ~1 µs per series).
OFFLOAD_THRESHOLD = 5_000
#: gzip level: 6 compresses /metrics text within a few % of 9 at about half the CPU.
GZIP_LEVEL = 6

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.exposition"))
_lock = threading.Lock()
_registry: Any = None
_defaults: list[Any] = []
_reserved: frozenset[str] = frozenset()


def _client() -> ModuleType | None:
    """prometheus_client's exposition module, or None when it is not installed."""
    try:
        import prometheus_client.exposition as exposition
    except ImportError:
        return None
    return exposition


def _default_collector() -> Any:
    from ...metrics import get_default_collector

    return get_default_collector()


def _reserved_names() -> frozenset[str]:
    return _reserved


def _on_error(instrument: Any, reason: str | BaseException) -> None:
    name = getattr(instrument, "name", repr(instrument))
    if isinstance(reason, str):
        _log.warning(
            f"render:{reason}:{name}",
            "metric %r is left out of /metrics: its exposed names clash with another "
            "metric (e.g. counter 'x' and gauge 'x_total') or with the process/GC/platform "
            "collectors (process_*, python_*); rename it",
            name,
        )
        count_failure(RENDER_FAILURES, reason)
        return
    _log.error(
        f"render:collect:{name}",
        "metric %r is left out of /metrics: collecting it raised %s",
        name,
        type(reason).__name__,
        exc_info=reason,
    )
    count_failure(RENDER_FAILURES, "collect_error")


def get_registry() -> Any:
    """The process-wide ``CollectorRegistry`` behind ``/metrics`` (created on first call).

    Raises :class:`~lexigram.monitor.exceptions.BackendNotAvailableError` naming the
    ``prometheus`` extra when prometheus_client is missing.
    """
    global _registry
    registry = _registry
    if registry is not None:
        return registry
    from ..._optional import require

    client = require("prometheus", "prometheus_client")
    from ._bridge import SnapshotCollector

    with _lock:
        if _registry is None:
            created = client.CollectorRegistry(auto_describe=False)
            created.register(
                SnapshotCollector(_default_collector, reserved=_reserved_names, on_error=_on_error)
            )
            _registry = created
            _set_defaults(True)
        return _registry


def set_default_metrics(enabled: bool) -> None:
    """Add (True) or remove (False) the process/GC/platform collectors; idempotent.

    Process-wide, like the registry: the last call wins. A no-op without
    prometheus_client.
    """
    if _client() is None:
        return
    get_registry()
    with _lock:
        _set_defaults(enabled)


def _set_defaults(enabled: bool) -> None:
    """Register or unregister the default collectors (caller holds ``_lock``)."""
    global _reserved
    if enabled == bool(_defaults):
        return
    if not enabled:
        for collector in _defaults:
            _registry.unregister(collector)
        _defaults.clear()
        _reserved = frozenset()
        return
    import prometheus_client as pc

    # these constructors register themselves into the registry they are given; in
    # multi-process mode the merge brings the process and GC metrics of every worker
    collectors: list[Any] = [pc.PlatformCollector(registry=_registry)]
    if getattr(_default_collector(), "multiprocess", None) is None:
        collectors += [pc.ProcessCollector(registry=_registry), pc.GCCollector(registry=_registry)]
    names: set[str] = set()
    for collector in collectors:
        _defaults.append(collector)
        for family in collector.collect():
            names.update(exposed_names(family.type, family.name)[1])
            names.update(sample.name for sample in family.samples)
    _reserved = frozenset(names)


def _instruments(collector: Any) -> Iterable[ExposedInstrument]:
    instruments = getattr(collector, "instruments", None)
    return () if instruments is None else instruments()


def exposed(collector: Any) -> list[ExposedInstrument]:
    """What the exposition of *collector* shows: its ``exposed_instruments()`` (the
    merge of every worker in multi-process mode, with the process metrics while default
    metrics are on), else its instruments. Raises when the merge cannot be read."""
    merged = getattr(collector, "exposed_instruments", None)
    if merged is None:
        return list(_instruments(collector))
    instruments: list[ExposedInstrument] = merged(process_metrics=bool(_defaults))
    return instruments


def series_count(collector: Any = None) -> int:
    """Number of series *collector* (default: the process one) would expose now."""
    target = _default_collector() if collector is None else collector
    total = 0
    for instrument in _instruments(target):
        count = getattr(instrument, "series_count", None)
        total += count() if count is not None else len(instrument.collect())
    return total


def _text(instruments: Iterable[ExposedInstrument], reserved: frozenset[str]) -> bytes:
    """Built-in text exposition; lone surrogates in label values become ``?``."""
    chunks, _ = render_text(instruments, reserved=reserved, on_error=_on_error)
    return "".join(chunks).encode("utf-8", "replace")


def _protobuf(instruments: Iterable[ExposedInstrument], process: bool, client: Any) -> bytes:
    """The delimited protobuf exposition: the instruments, then (for the process
    registry) the families of prometheus_client's other collectors."""
    from ._protobuf import encode_client_families, encode_families

    families, _ = encode_families(
        instruments, reserved=_reserved if process else frozenset(), on_error=_on_error
    )
    if process and client is not None:
        from ._bridge import bridge_suppressed

        token = bridge_suppressed.set(True)
        try:
            families += encode_client_families(get_registry().collect())
        except Exception as exc:  # the instruments are served without the process families
            _log.error(
                "render:protobuf",
                "prometheus_client's collectors could not be encoded as protobuf (%s); "
                "serving the instruments without them",
                type(exc).__name__,
                exc_info=exc,
            )
            count_failure(RENDER_FAILURES, "encoder_error")
        finally:
            bridge_suppressed.reset(token)
    return b"".join(families)


def _encode(collector: Any, accept: str) -> tuple[bytes, str]:
    """The exposition of *collector* (None: the process registry) and its content type."""
    process = collector is None or collector is _default_collector()
    target = _default_collector() if collector is None else collector
    client = _client()
    if wants_protobuf(accept):
        if process and client is not None:
            get_registry()  # the default collectors decide what the merge includes
        return _protobuf(exposed(target), process, client), PROTOBUF_CONTENT_TYPE
    if client is None:
        return _text_instead_of(accept) + _text(exposed(target), frozenset()), TEXT_CONTENT_TYPE
    if process:
        get_registry()  # the default collectors decide what the merge includes
    # read once (in multi-process mode, the merge of every worker); a failure here
    # propagates: the scrape answers 500 instead of a partial exposition
    instruments = exposed(target)
    encoder, content_type = client.choose_encoder(accept)
    fast_text = content_type.startswith("text/plain") and "escaping=dots" not in content_type
    try:
        if fast_text and process:
            from ._bridge import bridge_suppressed

            registry = get_registry()
            token = bridge_suppressed.set(True)
            try:
                rest: bytes = client.generate_latest(registry)
            finally:
                bridge_suppressed.reset(token)
            return _text(instruments, _reserved) + rest, content_type
        if fast_text:
            return _text(instruments, frozenset()), content_type
        from ._bridge import SnapshotCollector, bridge_instruments, keep_legacy_names

        encode = keep_legacy_names(encoder)
        if not process:
            return encode(SnapshotCollector(lambda: target, on_error=_on_error)), content_type
        read = bridge_instruments.set(instruments)
        try:
            return encode(get_registry()), content_type
        finally:
            bridge_instruments.reset(read)
    except Exception as exc:
        _log.error(
            "render:encoder",
            "prometheus_client could not encode /metrics as %r (%s); serving the built-in "
            "text format instead",
            content_type,
            type(exc).__name__,
            exc_info=exc,
        )
        count_failure(RENDER_FAILURES, "encoder_error")
        return _text(instruments, frozenset()), TEXT_CONTENT_TYPE


#: First line of a text answer to an OpenMetrics request when prometheus_client is missing.
OPENMETRICS_UNAVAILABLE = (
    b"# OpenMetrics was requested, but it needs prometheus_client: "
    b"pip install 'lexigram-monitor[prometheus]'. This is the text format 0.0.4.\n"
)


def _text_instead_of(accept: str) -> bytes:
    """The notice for an OpenMetrics request answered in text (logged too), else b""."""
    if "application/openmetrics-text" not in accept.lower():
        return b""
    _log.warning(
        "openmetrics-unavailable",
        "an OpenMetrics scrape was answered in the text format 0.0.4 because "
        "prometheus_client is not installed (exemplars are left out); install it with: "
        "pip install 'lexigram-monitor[prometheus]'",
    )
    return OPENMETRICS_UNAVAILABLE


def _gzip_accepted(accept_encoding: str) -> bool:
    """True when ``gzip`` is listed in *accept_encoding* with a q-value above 0."""
    for item in accept_encoding.split(","):
        coding, *params = item.split(";")
        if coding.strip().lower() != "gzip":
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def render(
    collector: Any = None, *, accept: str = "", accept_encoding: str = ""
) -> tuple[bytes, dict[str, str]]:
    """Render ``/metrics``: ``(body, headers)`` for the request's Accept headers.

    *collector* None (or the default collector) means the whole process registry;
    another ``MetricsCollector`` renders just its instruments. ``headers`` holds
    ``Content-Type`` and, when the body is gzipped (``Accept-Encoding: gzip``),
    ``Content-Encoding``. CPU cost grows linearly with the number of series; use
    :func:`render_async` inside an event loop.
    """
    body, content_type = _encode(collector, accept or "")
    headers = {"Content-Type": content_type}
    if accept_encoding and _gzip_accepted(accept_encoding):
        body = gzip.compress(body, compresslevel=GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return body, headers


async def render_async(
    collector: Any = None, *, accept: str = "", accept_encoding: str = ""
) -> tuple[bytes, dict[str, str]]:
    """:func:`render` for event loops: above :data:`OFFLOAD_THRESHOLD` series the
    rendering runs in a worker thread, so a large exposition never stalls the loop."""
    if series_count(collector) > OFFLOAD_THRESHOLD:
        return await asyncio.to_thread(
            render, collector, accept=accept, accept_encoding=accept_encoding
        )
    return render(collector, accept=accept, accept_encoding=accept_encoding)
