"""Fixtures for the metrics tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from lexigram.monitor.metrics import _update


@pytest.fixture(params=[True, False], ids=["gil-atomic", "locked"])
def update_mode(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Run every compiled update lock-free (as under the GIL) and then with the series'
    locks (as on free-threaded builds), switching threads every microsecond."""
    atomic: bool = request.param
    if atomic and not _update.ATOMIC:
        pytest.skip("free-threaded interpreter: the lock-free path is not used")
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with _update.forced(atomic=atomic):
            yield atomic
    finally:
        sys.setswitchinterval(interval)
