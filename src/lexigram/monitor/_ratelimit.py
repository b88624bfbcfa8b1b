"""Rate-limited logging used by every failure guard.

A failing exporter may fail thousands of times per second; the log shows the first
failure per key and then at most one line per ``interval`` seconds, with the number of
occurrences suppressed in between. Memory: one entry per distinct key, at most
``max_keys`` keys (the oldest key is forgotten first).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from typing import Any

from ._clock import SYSTEM_CLOCK, Clock

__all__ = ["RateLimitedLogger", "reset_all"]

_instances: weakref.WeakSet[RateLimitedLogger] = weakref.WeakSet()


class RateLimitedLogger:
    """Log at most one record per key and interval; count the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        *,
        max_keys: int = 256,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        # key -> [last emitted (monotonic), suppressed since then]
        self._state: OrderedDict[str, list[float]] = OrderedDict()
        _instances.add(self)

    def reset(self) -> None:
        """Forget every key, so the next failure of each kind is logged again."""
        with self._lock:
            self._state.clear()

    def log(self, level: int, key: str, msg: str, *args: Any, **kwargs: Any) -> bool:
        """Log *msg* unless *key* was logged less than ``interval`` ago; True if emitted."""
        now = self._clock.monotonic()
        with self._lock:
            entry = self._state.get(key)
            if entry is not None and now - entry[0] < self._interval:
                entry[1] += 1
                return False
            suppressed = int(entry[1]) if entry is not None else 0
            self._state[key] = [now, 0]
            self._state.move_to_end(key)
            while len(self._state) > self._max_keys:
                self._state.popitem(last=False)
        if suppressed:
            msg = f"{msg} (suppressed {suppressed} similar messages)"
        self._logger.log(level, msg, *args, **kwargs)
        return True

    def warning(self, key: str, msg: str, *args: Any, **kwargs: Any) -> bool:
        return self.log(logging.WARNING, key, msg, *args, **kwargs)

    def error(self, key: str, msg: str, *args: Any, **kwargs: Any) -> bool:
        return self.log(logging.ERROR, key, msg, *args, **kwargs)


def reset_all() -> None:
    """Reset every rate-limited logger of the process (test isolation)."""
    for instance in list(_instances):
        instance.reset()
