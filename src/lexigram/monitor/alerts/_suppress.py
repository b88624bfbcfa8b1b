"""Per-key suppression window: an alert key fires at most once per window.

Memory: one entry (key, last fire time) per key, at most ``max_keys`` entries. Expired
entries are dropped first; when every entry is still inside its window, the key that
fired longest ago is forgotten, so that key may fire again early (never silently lost).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

from .._clock import SYSTEM_CLOCK, Clock

__all__ = ["SuppressionWindow"]


class SuppressionWindow:
    """Decide whether an alert *key* may fire now; thread safe.

    ``window`` is in seconds (``0`` disables suppression); times come from
    ``clock.monotonic()`` so wall-clock jumps neither extend nor cut a window.
    """

    __slots__ = ("_clock", "_last", "_lock", "_max_keys", "_window")

    def __init__(self, window: float, *, max_keys: int = 1024, clock: Clock = SYSTEM_CLOCK) -> None:
        if not isinstance(window, int | float) or not math.isfinite(window) or window < 0:
            raise ValueError(
                f"suppression window {window!r} is invalid: it must be a finite number of "
                "seconds >= 0 (0 turns suppression off)"
            )
        if not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys {max_keys!r} is invalid: it must be an integer >= 1")
        self._window = float(window)
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        # key -> monotonic time of the last fire, oldest fire first
        self._last: OrderedDict[str, float] = OrderedDict()

    @property
    def window(self) -> float:
        """The suppression window in seconds."""
        return self._window

    def __len__(self) -> int:
        return len(self._last)

    def should_fire(self, key: str) -> bool:
        """True (and remember *key* as fired now) unless *key* fired within the window."""
        now = self._clock.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._window:
                return False
            self._last[key] = now
            self._last.move_to_end(key)
            self._evict(now)
            return True

    def reset(self, key: str | None = None) -> None:
        """Forget *key* (or every key), so it may fire again at once."""
        with self._lock:
            if key is None:
                self._last.clear()
            else:
                self._last.pop(key, None)

    def _evict(self, now: float) -> None:
        # Entries are ordered by fire time, so expired ones sit at the front.
        while self._last:
            oldest_key, oldest = next(iter(self._last.items()))
            if now - oldest < self._window and len(self._last) <= self._max_keys:
                break
            del self._last[oldest_key]
