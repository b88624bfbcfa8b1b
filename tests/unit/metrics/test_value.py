"""MetricValue: an immutable measurement."""

from __future__ import annotations

import dataclasses

import pytest

from lexigram.monitor.metrics import MetricValue


def test_fields_and_defaults() -> None:
    """name and value are required; labels default to {} and timestamp to now."""
    value = MetricValue("jobs_total", 3.0)
    assert value.labels == {}
    assert value.timestamp > 1_600_000_000
    explicit = MetricValue("jobs_total", 1.0, {"queue": "a"}, 12.5)
    assert (explicit.name, explicit.value, explicit.labels, explicit.timestamp) == (
        "jobs_total",
        1.0,
        {"queue": "a"},
        12.5,
    )


def test_is_frozen() -> None:
    """Fields cannot be reassigned."""
    value = MetricValue("x", 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.value = 2.0  # type: ignore[misc]
