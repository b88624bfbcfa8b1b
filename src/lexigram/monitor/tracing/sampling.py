"""Samplers: decide whether a new trace (or a span continuing a remote one) is recorded.

The tracer consults its sampler for root spans and for spans whose parent is *remote*
(extracted from a carrier). A span whose parent is local always inherits the parent's
sampled flag, so a trace is never cut in half inside one process.

- ``always_on`` / ``always_off``: sample everything / nothing.
- ``probability``: trace-id ratio — the lower 64 bits of the trace id are compared with
  ``rate * 2**64``, so every service with the same rate takes the same decision for a
  trace.
- ``rate_limiting``: at most ``max_traces_per_second`` sampled traces per second (token
  bucket holding up to one second of tokens, at least 1; injectable clock).
- ``parent_based``: a remote parent's sampled flag is followed; roots use the ratio.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._clock import SYSTEM_CLOCK, Clock
from ..defaults import SamplerType
from .spancontext import SAMPLED_FLAG, SpanContext

if TYPE_CHECKING:
    from ..config import TracingConfig

__all__ = [
    "AlwaysOffSampler",
    "AlwaysOnSampler",
    "ParentBasedSampler",
    "RateLimitingSampler",
    "Sampler",
    "TraceIdRatioSampler",
    "build_sampler",
]

_LOW_64 = (1 << 64) - 1


@runtime_checkable
class Sampler(Protocol):
    """Sampling decision for a root span or a span with a remote parent."""

    def should_sample(self, parent: SpanContext | None, trace_id: int, name: str) -> bool: ...


class AlwaysOnSampler:
    """Sample every trace."""

    __slots__ = ()

    def should_sample(self, parent: SpanContext | None, trace_id: int, name: str) -> bool:
        return True


class AlwaysOffSampler:
    """Sample no trace."""

    __slots__ = ()

    def should_sample(self, parent: SpanContext | None, trace_id: int, name: str) -> bool:
        return False


class TraceIdRatioSampler:
    """Sample a fraction *rate* (0.0-1.0) of traces, deterministically per trace id."""

    __slots__ = ("_bound", "rate")

    def __init__(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"sample rate {rate!r} must be between 0.0 and 1.0 inclusive")
        self.rate = rate
        self._bound = round(rate * (1 << 64))

    def should_sample(self, parent: SpanContext | None, trace_id: int, name: str) -> bool:
        return (trace_id & _LOW_64) < self._bound


class RateLimitingSampler:
    """Sample at most *max_per_second* traces per second (token bucket, thread safe).

    Memory: constant. The bucket starts full and holds ``max(1, max_per_second)`` tokens.
    """

    __slots__ = ("_capacity", "_clock", "_last", "_lock", "_tokens", "max_per_second")

    def __init__(self, max_per_second: float, *, clock: Clock = SYSTEM_CLOCK) -> None:
        if not max_per_second > 0:
            raise ValueError(
                f"max_traces_per_second {max_per_second!r} must be > 0 "
                "(use the always_off sampler to sample nothing)"
            )
        self.max_per_second = float(max_per_second)
        self._capacity = max(1.0, self.max_per_second)
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock.monotonic()
        self._lock = threading.Lock()

    def should_sample(self, parent: SpanContext | None, trace_id: int, name: str) -> bool:
        with self._lock:
            now = self._clock.monotonic()
            elapsed = now - self._last
            if elapsed > 0:
                self._tokens = min(self._capacity, self._tokens + elapsed * self.max_per_second)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class ParentBasedSampler:
    """Follow a remote parent's sampled flag; decide roots with *root*."""

    __slots__ = ("root",)

    def __init__(self, root: Sampler) -> None:
        self.root = root

    def should_sample(self, parent: SpanContext | None, trace_id: int, name: str) -> bool:
        if parent is not None:
            return bool(parent.trace_flags & SAMPLED_FLAG)
        return self.root.should_sample(None, trace_id, name)


def build_sampler(config: TracingConfig, clock: Clock = SYSTEM_CLOCK) -> Sampler:
    """The sampler named by ``config.sampler_type`` (rate from ``sample_rate`` /
    ``max_traces_per_second``)."""
    kind = SamplerType(config.sampler_type)
    if kind is SamplerType.ALWAYS_ON:
        return AlwaysOnSampler()
    if kind is SamplerType.ALWAYS_OFF:
        return AlwaysOffSampler()
    if kind is SamplerType.PROBABILITY:
        return TraceIdRatioSampler(config.sample_rate)
    if kind is SamplerType.RATE_LIMITING:
        return RateLimitingSampler(config.max_traces_per_second, clock=clock)
    return ParentBasedSampler(TraceIdRatioSampler(config.sample_rate))
