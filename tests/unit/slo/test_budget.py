"""EventWindows: sliding (errors, total) counts per window, O(1) per event, bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexigram.monitor.slo._budget import SLOTS, EventWindows


def test_events_count_in_every_window_until_they_age_out() -> None:
    """An event is in each window until that window has passed; longer windows keep it
    longer."""
    windows = EventWindows([60.0, 600.0], now=0.0)
    windows.add(1, 4, now=0.5)
    assert windows.counts(1.0) == {60.0: (1, 4), 600.0: (1, 4)}
    assert windows.counts(61.0)[60.0] == (0, 0)
    assert windows.counts(61.0)[600.0] == (1, 4)
    assert windows.counts(601.0)[600.0] == (0, 0)


def test_a_window_covers_its_length_to_one_slot() -> None:
    """Events older than the window by more than one slot are out; newer ones are in."""
    windows = EventWindows([60.0], now=0.0)
    slot = 60.0 / SLOTS
    for second in range(120):
        windows.add(0, 1, now=float(second))
    _, total = windows.counts(119.5)[60.0]
    assert 60 - slot <= total <= 60 + slot


def test_pending_events_are_counted_before_the_next_fold() -> None:
    """Events added within the current finest slot are already in the counts."""
    windows = EventWindows([10.0], now=0.0)
    windows.add(2, 3, now=0.01)
    windows.add(0, 1, now=0.02)
    assert windows.counts(0.03) == {10.0: (2, 4)}


def test_a_long_gap_empties_every_window() -> None:
    """After more than a window of silence the window is empty, however long the gap."""
    windows = EventWindows([5.0, 50.0], now=0.0)
    windows.add(1, 1, now=1.0)
    assert windows.counts(10_000.0) == {5.0: (0, 0), 50.0: (0, 0)}
    windows.add(1, 2, now=10_000.5)
    assert windows.counts(10_001.0) == {5.0: (1, 2), 50.0: (1, 2)}


def test_memory_is_fixed_per_window() -> None:
    """Each window holds SLOTS slots, whatever the number of events."""
    windows = EventWindows([1.0, 30.0], now=0.0)
    for i in range(10_000):
        windows.add(i % 2, 1, now=i * 0.01)
    assert all(len(ring.total) == SLOTS for ring in windows._rings)


def test_bad_windows_are_refused() -> None:
    """At least one window, every one positive."""
    with pytest.raises(ValueError, match="windows"):
        EventWindows([], now=0.0)
    with pytest.raises(ValueError, match="windows"):
        EventWindows([0.0], now=0.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 5.0), st.integers(0, 3), st.integers(0, 3)),
        min_size=1,
        max_size=80,
    )
)
def test_counts_match_a_naive_recount(steps: list[tuple[float, int, int]]) -> None:
    """The window totals equal a recount of the events of the last window (within the
    one-slot resolution: events exactly in the oldest slot may or may not count)."""
    window = 20.0
    windows = EventWindows([window], now=0.0)
    now = 0.0
    events: list[tuple[float, int, int]] = []
    for delay, errors, extra in steps:
        now += delay
        windows.add(errors, errors + extra, now)
        events.append((now, errors, errors + extra))
    errors, total = windows.counts(now)[window]
    slot = window / SLOTS
    surely_in = sum(t for at, _, t in events if at > now - window + slot)
    maybe_in = sum(t for at, _, t in events if at > now - window - slot)
    assert surely_in <= total <= maybe_in
    assert 0 <= errors <= total
