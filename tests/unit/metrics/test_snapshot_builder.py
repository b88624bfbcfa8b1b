"""``value_snapshot`` builds the same frozen object as the dataclass constructor."""

from __future__ import annotations

import dataclasses

import pytest

from lexigram.monitor.metrics.snapshot import Exemplar, ValueSnapshot, value_snapshot


def test_value_snapshot_equals_the_constructor_and_stays_frozen() -> None:
    """Equal, equally hashed, every field set (the exemplar defaulting to None), and
    frozen like one made by ValueSnapshot(...)."""
    exemplar = Exemplar(0.25, "ab" * 16, "cd" * 8, 2.0)
    made = value_snapshot(("a",), ("x",), 3, 4.5, exemplar)
    assert made == ValueSnapshot(("a",), ("x",), 3, 4.5, exemplar)
    assert hash(made) == hash(ValueSnapshot(("a",), ("x",), 3, 4.5, exemplar))
    assert value_snapshot((), (), 1.0, 0.0) == ValueSnapshot((), (), 1.0, 0.0)
    assert value_snapshot((), (), 1.0, 0.0).exemplar is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.value = 7  # type: ignore[misc]
