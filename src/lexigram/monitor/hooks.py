"""Event payloads and a small, bounded subscriber registry.

Payloads are frozen, keyword-only dataclasses. :class:`HookBus` delivers them
synchronously to subscribers; a subscriber that raises is logged (rate limited) and
never affects the emitter. ``default_bus`` is the process-wide bus the library emits on;
tests and applications may create their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._ratelimit import RateLimitedLogger

__all__ = [
    "AlertFiredHook",
    "HealthCheckRunHook",
    "HookBus",
    "MetricRecordedHook",
    "default_bus",
]

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.hooks"))


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertFiredHook:
    """Payload fired when a monitoring alert is triggered."""

    alert_name: str
    severity: str
    message: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    fired_at: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True, slots=True)
class HealthCheckRunHook:
    """Payload fired after a health check probe completes."""

    check_name: str
    healthy: bool
    status: str = ""
    duration_ms: float = 0.0
    message: str | None = None
    category: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricRecordedHook:
    """Payload fired when a metric data point is recorded."""

    metric_name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    metric_type: str = ""


P = TypeVar("P")


class HookBus:
    """Synchronous publish/subscribe by payload type.

    Bound: at most ``max_subscribers`` callbacks per payload type; subscribing past it
    raises ``ValueError``.
    """

    def __init__(self, max_subscribers: int = 64) -> None:
        self._max = max_subscribers
        self._lock = threading.Lock()
        self._subs: dict[type[Any], tuple[Callable[[Any], object], ...]] = {}

    def subscribe(self, hook_type: type[P], callback: Callable[[P], object]) -> Callable[[], None]:
        """Call *callback* with every emitted *hook_type* payload; returns an unsubscriber."""
        with self._lock:
            current = self._subs.get(hook_type, ())
            if len(current) >= self._max:
                raise ValueError(
                    f"too many subscribers for {hook_type.__name__}: the limit is {self._max}; "
                    "unsubscribe callbacks you no longer need"
                )
            self._subs[hook_type] = (*current, callback)

        def unsubscribe() -> None:
            with self._lock:
                subs = self._subs.get(hook_type, ())
                self._subs[hook_type] = tuple(s for s in subs if s is not callback)

        return unsubscribe

    def has_subscribers(self, hook_type: type[Any]) -> bool:
        """True when someone listens for *hook_type* (lets emitters skip building payloads)."""
        return bool(self._subs.get(hook_type))

    def emit(self, payload: object) -> None:
        """Deliver *payload* to its subscribers; their exceptions are logged, never raised."""
        for callback in self._subs.get(type(payload), ()):
            try:
                callback(payload)
            except Exception:
                _log.warning(
                    f"hook:{type(payload).__name__}",
                    "hook subscriber %r failed for %s",
                    callback,
                    type(payload).__name__,
                    exc_info=True,
                )

    def clear(self) -> None:
        """Remove every subscriber."""
        with self._lock:
            self._subs.clear()


default_bus = HookBus()
