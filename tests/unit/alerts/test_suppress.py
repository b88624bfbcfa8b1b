"""Per-key alert suppression window."""

from __future__ import annotations

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.alerts._suppress import SuppressionWindow


def test_a_key_fires_once_per_window() -> None:
    """The first alert of a key fires; repeats inside the window do not; after it, it fires."""
    clock = FakeClock()
    window = SuppressionWindow(60.0, clock=clock)
    assert window.should_fire("api")
    clock.advance(59.9)
    assert not window.should_fire("api")
    clock.advance(0.1)
    assert window.should_fire("api")


def test_a_suppressed_repeat_does_not_extend_the_window() -> None:
    """The window is measured from the last alert that fired, not from the last attempt."""
    clock = FakeClock()
    window = SuppressionWindow(10.0, clock=clock)
    assert window.should_fire("k")
    clock.advance(9.0)
    assert not window.should_fire("k")
    clock.advance(1.0)
    assert window.should_fire("k")


def test_keys_are_independent() -> None:
    """Suppressing one key never suppresses another."""
    window = SuppressionWindow(60.0, clock=FakeClock())
    assert window.should_fire("a")
    assert window.should_fire("b")
    assert not window.should_fire("a")


def test_zero_window_never_suppresses_and_keeps_nothing() -> None:
    """A window of 0 lets every alert through and remembers no key."""
    window = SuppressionWindow(0, clock=FakeClock())
    assert all(window.should_fire("k") for _ in range(3))
    assert len(window) == 0


def test_memory_is_bounded_by_max_keys() -> None:
    """At most max_keys keys are remembered; the one that fired longest ago goes first."""
    clock = FakeClock()
    window = SuppressionWindow(3600.0, max_keys=3, clock=clock)
    for key in "abcde":
        assert window.should_fire(key)
        clock.advance(1.0)
    assert len(window) == 3
    assert window.should_fire("a")  # forgotten, so it may fire early
    assert not window.should_fire("e")


def test_expired_keys_are_dropped() -> None:
    """Keys whose window has passed are forgotten when a new alert fires."""
    clock = FakeClock()
    window = SuppressionWindow(5.0, clock=clock)
    window.should_fire("old")
    clock.advance(6.0)
    window.should_fire("new")
    assert len(window) == 1


def test_reset_lets_a_key_fire_again() -> None:
    """reset(key) forgets one key, reset() every key."""
    window = SuppressionWindow(60.0, clock=FakeClock())
    window.should_fire("a")
    window.should_fire("b")
    window.reset("a")
    assert window.should_fire("a")
    assert not window.should_fire("b")
    window.reset()
    assert window.should_fire("b")


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_invalid_window_is_refused(bad: float) -> None:
    """A negative or non-finite window raises ValueError naming the value."""
    with pytest.raises(ValueError, match="suppression window"):
        SuppressionWindow(bad)


def test_invalid_max_keys_is_refused() -> None:
    """max_keys must be a positive integer."""
    with pytest.raises(ValueError, match="max_keys"):
        SuppressionWindow(1.0, max_keys=0)
