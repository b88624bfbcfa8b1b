"""Exemplar source hook (dependency inversion: metrics never imports tracing).

The wiring layer installs a function returning the current *sampled* span's ids::

    set_exemplar_source(lambda: ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))

While a source is installed, ``Counter.increment`` keeps the latest exemplar per series
and ``Histogram.observe`` the latest per bucket. Without one, the hot path pays a single
``is None`` check; with one, an update first asks the probe (which never raises) and
asks the source only when the probe reports a current span. A
source that raises or returns something malformed is counted in
:func:`source_failures`, logged (rate limited) and yields no exemplar; it never breaks
the update that called it.

Recording keeps a plain ``(value, trace_id, span_id, timestamp)`` tuple (about 25 ns);
the :class:`Exemplar` objects are built only when someone reads them (``materialize``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .._clock import Clock
from .._ratelimit import RateLimitedLogger
from .snapshot import Exemplar

__all__ = [
    "ExemplarSource",
    "RawExemplar",
    "get_exemplar_source",
    "install_exemplar_source",
    "materialize",
    "set_exemplar_source",
    "source_failures",
]

#: Returns ``(trace_id_hex, span_id_hex)`` of the current sampled span, or None.
ExemplarSource = Callable[[], "tuple[str, str] | None"]
#: What an instrument stores per exemplar: ``(value, trace_id, span_id, timestamp)``.
RawExemplar = tuple[float, str, str, float]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.metrics.exemplars"))


class _State:
    """Mutable holder read by the instruments' hot paths (one attribute load)."""

    __slots__ = ("failures", "probe", "source")

    def __init__(self) -> None:
        self.source: ExemplarSource | None = None
        self.probe: Callable[[], object] | None = None
        self.failures = 0


state = _State()


def set_exemplar_source(
    source: ExemplarSource | None, *, probe: Callable[[], object] | None = None
) -> ExemplarSource | None:
    """Install (or with None, remove) the exemplar source; returns the previous one.

    *probe* is an optional cheap check asked first on every update: while it returns
    None no span is current and *source* is not called. A probe that raises counts as
    "ask the source". Without a probe the source is asked on every update.
    """
    if source is not None and not callable(source):
        raise TypeError(
            f"exemplar source {source!r} is not callable; pass a function returning "
            "(trace_id_hex, span_id_hex) or None"
        )
    if probe is not None and not callable(probe):
        raise TypeError(f"exemplar probe {probe!r} is not callable; pass a function or None")
    return install_exemplar_source(source, None if probe is None else _guarded(probe))


def install_exemplar_source(
    source: ExemplarSource | None, probe: Callable[[], object] | None
) -> ExemplarSource | None:
    """:func:`set_exemplar_source` for a *probe* that never raises, used as given (not
    wrapped in a guard), e.g. a context variable's ``get``, a call without a Python frame
    (the wiring installs the current-span variable's); returns the previous source."""
    previous = state.source
    state.source = source
    state.probe = None if source is None else (probe or _ASK_SOURCE)
    return previous


#: The probe when none is given: a C-level call returning ``()``, never None, so the
#: source is asked on every update (``capture`` counts it when it fails).
_ASK_SOURCE: Callable[[], object] = tuple


def _guarded(probe: Callable[[], object]) -> Callable[[], object]:
    """*probe* made safe for the updates: an exception means "ask the source"."""

    def ask() -> object:
        try:
            return probe()
        except Exception:
            return ()

    return ask


def get_exemplar_source() -> ExemplarSource | None:
    """The installed exemplar source, or None."""
    return state.source


def source_failures() -> int:
    """How many times the installed source raised or returned a malformed value."""
    return state.failures


def capture(source: ExemplarSource | None, value: float, clock: Clock) -> RawExemplar | None:
    """Ask *source* for the current span and record an exemplar; None when unsampled
    (or when *source* is None: removed by another thread since the probe answered)."""
    if source is None:
        return None
    try:
        ids = source()
        if ids is None:
            return None
        trace_id, span_id = ids
        if not isinstance(trace_id, str) or not isinstance(span_id, str):
            raise TypeError(f"expected two hex strings, got {ids!r}")
    except Exception:
        state.failures += 1
        _log.warning(
            "exemplar-source",
            "exemplar source %r failed; no exemplar recorded",
            source,
            exc_info=True,
        )
        return None
    return (value, trace_id, span_id, clock.time())


def materialize(raw: RawExemplar | None) -> Exemplar | None:
    """The public :class:`Exemplar` for a recorded tuple (None stays None)."""
    if raw is None:
        return None
    value, trace_id, span_id, timestamp = raw
    return Exemplar(float(value), trace_id, span_id, timestamp)
