"""Metric samples in a SQL table: batching, bounds, failing databases, table-name checks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.backends._sqlstore import SampleStore, SQLiteProvider, validate_table_name
from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import PrometheusConfig
from lexigram.monitor.exceptions import MonitorError
from lexigram.monitor.metrics import MetricsCollector


class FakeAsyncDb:
    """Async provider recording statements; fails while ``failing`` is True."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.rows: list[Sequence[Any]] = []
        self.batches: list[int] = []
        self.failing = False
        self.wrote = asyncio.Event()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.statements.append(sql)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.failing:
            raise ConnectionError("database is down")
        self.statements.append(sql)
        self.rows.extend(rows)
        self.batches.append(len(rows))
        self.wrote.set()


def counter_values(collector: MetricsCollector, name: str) -> dict[str, float]:
    metric = collector.get_metric(name)
    if metric is None:
        return {}
    return {s.label_values[0]: s.value for s in metric.collect()}  # type: ignore[attr-defined]


def read_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


async def test_samples_are_written_to_a_sqlite_file(tmp_path: Path) -> None:
    """The default provider creates the table and stores time, name, type, labels, value."""
    db = tmp_path / "metrics.db"
    store = SampleStore(SQLiteProvider(str(db)), "samples", clock=FakeClock(1000.0))

    store.add("orders", "counter", 2, {"shop": "b", "region": "eu"})
    store.add("depth", "gauge", 1.5, None)
    written = await store.flush()

    assert written == 2
    assert read_rows(db, "samples") == [
        (1000.0, "orders", "counter", json.dumps({"region": "eu", "shop": "b"}), 2.0),
        (1000.0, "depth", "gauge", "{}", 1.5),
    ]
    assert store.pending == 0


async def test_flush_writes_in_bounded_batches() -> None:
    """At most ``batch_size`` rows go to one ``executemany``."""
    db = FakeAsyncDb()
    store = SampleStore(db, "samples", batch_size=2)
    for i in range(5):
        store.add("m", "counter", i, None)

    assert await store.flush() == 5

    assert db.batches == [2, 2, 1]
    assert db.statements[0].startswith("CREATE TABLE IF NOT EXISTS samples")


async def test_a_full_buffer_drops_and_counts_new_samples(
    isolated_metrics: MetricsCollector,
) -> None:
    """Memory is bounded by ``max_pending``; overflowing samples are dropped and counted."""
    store = SampleStore(FakeAsyncDb(), "samples", max_pending=3)

    accepted = [store.add("m", "gauge", i, None) for i in range(5)]

    assert accepted == [True, True, True, False, False]
    assert store.dropped == 2
    assert counter_values(isolated_metrics, "lexigram_monitor_db_dropped_samples_total") == {
        "buffer_full": 2
    }


async def test_a_failing_database_is_counted_and_the_batch_retried(
    isolated_metrics: MetricsCollector,
) -> None:
    """A write failure never raises; its rows are kept and written once the db is back."""
    db = FakeAsyncDb()
    store = SampleStore(db, "samples")
    store.add("m", "counter", 1, None)
    db.failing = True

    assert await store.flush() == 0
    assert store.pending == 1
    db.failing = False
    assert await store.flush() == 1

    assert [row[1] for row in db.rows] == ["m"]
    assert store.write_failures == 1
    assert counter_values(isolated_metrics, "lexigram_monitor_db_write_failures_total") == {
        "unreachable": 1
    }


class HangingSyncDb:
    """A synchronous provider whose writes block until released (a stuck database)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.rows: list[Sequence[Any]] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        pass

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.release.wait(10)
        self.rows.extend(rows)


async def test_a_hanging_sync_database_is_not_waited_for_past_the_deadline(
    isolated_metrics: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """A sync write that hangs costs a flush at most ``timeout`` seconds: it is logged and
    counted as ``timeout``, its rows stay buffered for the next flush, and the loop's
    default executor is never asked to run it."""
    db = HangingSyncDb()
    store = SampleStore(db, "samples", timeout=0.3)
    store.add("m", "counter", 1, None)
    submitted: list[Any] = []

    class Recording(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    with Recording(1) as executor:
        asyncio.get_running_loop().set_default_executor(executor)
        started = time.monotonic()
        assert await store.flush() == 0
        elapsed = time.monotonic() - started

    assert elapsed < 1.5
    assert store.pending == 1
    assert submitted == []
    assert counter_values(isolated_metrics, "lexigram_monitor_db_write_failures_total") == {
        "timeout": 1
    }
    assert "timeout after 0.3s" in caplog.text
    db.release.set()


async def test_requeue_respects_the_bound(isolated_metrics: MetricsCollector) -> None:
    """Rows of a failed batch that no longer fit are dropped and counted."""
    db = FakeAsyncDb()
    store = SampleStore(db, "samples", max_pending=2, batch_size=2)
    store.add("a", "gauge", 1, None)
    store.add("b", "gauge", 1, None)
    db.failing = True
    flushing = asyncio.ensure_future(store.flush())
    await asyncio.sleep(0)  # the batch is taken out of the buffer ...
    store.add("c", "gauge", 1, None)  # ... and a new sample takes a free slot
    await flushing

    assert store.pending == 2
    assert store.dropped == 1


def test_sync_providers_run_off_the_loop(tmp_path: Path) -> None:
    """Providers with plain methods are detected once and called in a worker thread."""
    store = SampleStore(SQLiteProvider(str(tmp_path / "x.db")), "t")

    assert store._async is False
    assert SampleStore(FakeAsyncDb(), "t")._async is True


@pytest.mark.parametrize(
    "table", ["", "1abc", "samples; DROP TABLE users", "a-b", "x" * 64, "sp ace", None]
)
def test_table_names_must_be_plain_identifiers(table: Any) -> None:
    """Anything but a plain identifier is refused with a message naming the rule."""
    with pytest.raises(MonitorError, match="plain SQL identifier"):
        validate_table_name(table)
    with pytest.raises(ValueError, match="metrics_table"):
        PrometheusConfig(metrics_table=table)


# -- through the backend -------------------------------------------------------------------


async def test_backend_stores_recorded_samples_in_db_path(
    tmp_path: Path, backends: list[PrometheusBackend]
) -> None:
    """``store_in_db`` + ``metrics_table`` + ``db_path``: samples land in that sqlite table."""
    db = tmp_path / "backend.db"
    config = PrometheusConfig(
        port=0, store_in_db=True, metrics_table="app_metrics", db_path=str(db)
    )
    backend = PrometheusBackend(config=config)
    backends.append(backend)
    await backend.initialize()

    backend.record_metric("jobs.done", 3, "counter", {"queue": "q"})
    backend.record_metric("temp", 20.5, "gauge")
    await backend.shutdown()  # final write

    rows = read_rows(db, "app_metrics")
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("jobs_done", "counter", '{"queue": "q"}', 3.0),
        ("temp", "gauge", "{}", 20.5),
    ]


async def test_a_full_batch_is_written_without_waiting_for_the_interval(
    backends: list[PrometheusBackend],
) -> None:
    """Reaching ``batch_size`` wakes the writer at once."""
    db = FakeAsyncDb()
    backend = PrometheusBackend(config=PrometheusConfig(port=0, store_in_db=True), db_provider=db)
    backends.append(backend)
    await backend.initialize()
    assert backend.store is not None

    for i in range(backend.store.batch_size):
        backend.record_metric("burst", i, "gauge")
    async with asyncio.timeout(5):  # the interval is 5 s: this must not wait for it
        await db.wrote.wait()

    assert db.batches == [backend.store.batch_size]


async def test_an_invalid_table_disables_storage_but_not_the_backend(
    isolated_metrics: MetricsCollector, backends: list[PrometheusBackend]
) -> None:
    """A table name that bypassed validation is refused at start; /metrics keeps working."""
    fields = PrometheusConfig(port=0, store_in_db=True).model_dump()
    config = PrometheusConfig.model_construct(**{**fields, "metrics_table": "x; DROP TABLE y"})
    backend = PrometheusBackend(config=config, db_provider=FakeAsyncDb())
    backends.append(backend)

    await backend.initialize()
    backend.record_metric("fine", 1, "counter")

    assert backend.serving
    assert backend.store is None
    assert counter_values(isolated_metrics, "lexigram_monitor_db_write_failures_total") == {
        "invalid_table": 1
    }
