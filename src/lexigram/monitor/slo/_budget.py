"""Event counts over sliding windows: O(1) per event, bounded memory per objective.

Each window ``w`` is a ring of :data:`SLOTS` slots of ``w / SLOTS`` seconds holding
(errors, total) with running sums, so reading a window is O(1). Events are first added
to a pending pair (two additions); the pending pair is folded into every ring once per
*finest* slot (the shortest window's), and whenever the counts are read. A window
therefore covers between ``(SLOTS - 1) / SLOTS`` of its length and all of it, and an
event may be dated up to one finest slot late. Memory: ``2 x SLOTS`` numbers per window.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SLOTS", "EventWindows"]

SLOTS = 60
"""Slots per window: a window is exact to within 1/60 of its length."""


class _Ring:
    """(errors, total) per slot of one window, with running sums; times in seconds."""

    __slots__ = ("errors", "slot", "sum_errors", "sum_total", "total", "width")

    def __init__(self, window: float, now: float) -> None:
        self.width = window / SLOTS
        self.errors: list[float] = [0] * SLOTS
        self.total: list[float] = [0] * SLOTS
        self.slot = int(now // self.width)
        self.sum_errors: float = 0
        self.sum_total: float = 0

    def advance(self, now: float) -> None:
        """Move to the slot of *now*, emptying the slots that fall out of the window."""
        slot = int(now // self.width)
        steps = slot - self.slot
        if steps <= 0:
            return
        if steps >= SLOTS:
            self.errors = [0] * SLOTS
            self.total = [0] * SLOTS
            self.sum_errors = self.sum_total = 0
        else:
            errors, total = self.errors, self.total
            for absolute in range(self.slot + 1, slot + 1):
                i = absolute % SLOTS
                self.sum_errors -= errors[i]
                self.sum_total -= total[i]
                errors[i] = total[i] = 0
        self.slot = slot

    def add(self, errors: float, total: float) -> None:
        i = self.slot % SLOTS
        self.errors[i] += errors
        self.total[i] += total
        self.sum_errors += errors
        self.sum_total += total


class EventWindows:
    """(errors, total) event counts over several windows (seconds); not thread safe
    (the monitor calls it under its lock)."""

    __slots__ = ("_errors", "_fine", "_next", "_rings", "_total", "windows")

    def __init__(self, windows: Sequence[float], now: float) -> None:
        if not windows or min(windows) <= 0:
            raise ValueError(f"windows {windows!r} must be a non-empty list of seconds > 0")
        self.windows = tuple(sorted(set(windows)))
        self._rings = [_Ring(w, now) for w in self.windows]
        self._fine = self._rings[0].width
        self._next = (int(now // self._fine) + 1) * self._fine
        self._errors: float = 0
        self._total: float = 0

    def add(self, errors: float, total: float, now: float) -> None:
        """Count *total* events, *errors* of them failed, at monotonic time *now*."""
        if now >= self._next:
            self._fold(now)
        self._errors += errors
        self._total += total

    def counts(self, now: float) -> dict[float, tuple[float, float]]:
        """(errors, total) per window (seconds) at *now*; negative float drift reads as 0."""
        self._fold(now)
        return {
            window: (max(ring.sum_errors, 0), max(ring.sum_total, 0))
            for window, ring in zip(self.windows, self._rings, strict=True)
        }

    def _fold(self, now: float) -> None:
        # Pending events happened before *now*: they go into the current slots first.
        errors, total = self._errors, self._total
        self._errors = self._total = 0
        for ring in self._rings:
            if total:
                ring.add(errors, total)
            ring.advance(now)
        self._next = (int(now // self._fine) + 1) * self._fine
