"""Rate-limited logging."""

from __future__ import annotations

import logging

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor._ratelimit import RateLimitedLogger


def test_one_record_per_interval_then_summary(caplog: pytest.LogCaptureFixture) -> None:
    """Repeats within the interval are suppressed and counted in the next record."""
    clock = FakeClock()
    log = RateLimitedLogger(logging.getLogger("t.rl"), interval=10.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="t.rl"):
        assert log.warning("k", "export failed")
        assert not log.warning("k", "export failed")
        assert not log.warning("k", "export failed")
        assert log.warning("other", "different failure")
        clock.advance(10.0)
        assert log.warning("k", "export failed")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "export failed",
        "different failure",
        "export failed (suppressed 2 similar messages)",
    ]


def test_keys_are_bounded() -> None:
    """At most max_keys keys are remembered."""
    log = RateLimitedLogger(logging.getLogger("t.rl2"), max_keys=3, clock=FakeClock())
    for i in range(10):
        log.error(f"k{i}", "x")
    assert len(log._state) == 3


def test_reset_all_forgets_every_key(caplog: pytest.LogCaptureFixture) -> None:
    """reset_all() lets the next failure of a suppressed key be logged again."""
    from lexigram.monitor._ratelimit import reset_all

    log = RateLimitedLogger(logging.getLogger("t.rl3"), interval=60.0, clock=FakeClock())
    assert log.warning("k", "first")
    assert not log.warning("k", "again")
    reset_all()
    assert log.warning("k", "after reset")
