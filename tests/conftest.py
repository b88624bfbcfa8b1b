"""Shared fixtures: global state is reset around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _reset_hooks() -> Iterator[None]:
    """Subscribers registered by a test never leak into the next one."""
    from lexigram.monitor.hooks import default_bus

    yield
    default_bus.clear()


@pytest.fixture(autouse=True)
def _reset_log_rate_limits() -> None:
    """Each test sees the first failure of every kind logged, whatever ran before it."""
    from lexigram.monitor._ratelimit import reset_all

    reset_all()
