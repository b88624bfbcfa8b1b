"""Collection callbacks refresh read-out values every collection_interval."""

from __future__ import annotations

import asyncio
import logging

import pytest

from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.metrics.collection import MAX_CALLBACKS, CollectionCallbacks


def test_collect_now_runs_callbacks_and_contains_failures(
    caplog: pytest.LogCaptureFixture, collector: MetricsCollector
) -> None:
    """Every callback runs; one that raises is logged and counted, the others still run."""
    own = MetricsCollector()
    depth = own.create_gauge("queue_depth")
    queue = [1, 2, 3]

    def broken() -> None:
        raise RuntimeError("pool gone")

    own.add_collection_callback(broken)
    own.add_collection_callback(lambda: depth.set(len(queue)))
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.metrics.collection"):
        assert own.collect_now() == 1
    assert depth.get_value() == 3
    assert "pool gone" in caplog.text
    failures = collector.get_metric("lexigram_monitor_collection_failures_total")
    assert failures is not None
    assert failures.get_count(labels={"reason": "RuntimeError"}) == 1


def test_failures_go_to_the_owners_on_failure() -> None:
    """A raising callback is handed to *on_failure* by exception type name and counted in
    ``failures``; the collection itself reports nowhere else (metrics imports nothing
    above it)."""
    reasons: list[str] = []
    callbacks = CollectionCallbacks(1.0, on_failure=reasons.append)

    def broken() -> None:
        raise KeyError("gone")

    callbacks.add(broken)
    assert callbacks.run() == 1
    assert reasons == ["KeyError"]
    assert callbacks.failures == 1
    assert CollectionCallbacks(1.0).run() == 0


def test_remove_and_bound() -> None:
    """The returned function removes a callback; more than MAX_CALLBACKS is refused."""
    callbacks = CollectionCallbacks(1.0)
    calls: list[int] = []
    remove = callbacks.add(lambda: calls.append(1))
    callbacks.run()
    remove()
    callbacks.run()
    assert calls == [1]
    for _ in range(MAX_CALLBACKS):
        callbacks.add(lambda: None)
    with pytest.raises(ValueError, match=f"limit is {MAX_CALLBACKS}"):
        callbacks.add(lambda: None)
    with pytest.raises(TypeError, match="not callable"):
        callbacks.add(42)  # type: ignore[arg-type]


async def test_periodic_task_honours_collection_interval() -> None:
    """start_collection runs the callbacks every collection_interval seconds until stopped."""
    own = MetricsCollector(MetricsConfig(collection_interval=0.01))
    runs: list[int] = []
    own.add_collection_callback(lambda: runs.append(1))
    await own.start_collection()
    await own.start_collection()  # idempotent
    assert own.collecting
    for _ in range(200):
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.005)
    await own.stop_collection()
    await own.stop_collection()
    assert not own.collecting
    assert len(runs) >= 3
    seen = len(runs)
    await asyncio.sleep(0.03)
    assert len(runs) == seen


def test_interval_must_be_positive() -> None:
    """A non-positive interval is refused (the config validator refuses it first)."""
    with pytest.raises(ValueError, match="must be > 0"):
        CollectionCallbacks(0)
