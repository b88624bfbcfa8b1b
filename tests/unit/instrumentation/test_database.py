"""instrument_database: spans and metrics around execute/execute_query."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lexigram.monitor.instrumentation.database import instrument_database
from lexigram.monitor.metrics.collector import (
    MetricsCollector,
    get_default_collector,
    set_default_collector,
)
from lexigram.monitor.tracing.span import SpanKind, SpanStatus
from lexigram.monitor.tracing.tracer import Tracer, set_default_tracer


@pytest.fixture
def tracer() -> Iterator[Tracer]:
    """A default tracer keeping ended spans, and a fresh default collector."""
    t = Tracer("db-test", None, max_spans=100)
    previous = set_default_tracer(t)
    old_collector = get_default_collector()
    set_default_collector(MetricsCollector())
    yield t
    set_default_tracer(previous)
    set_default_collector(old_collector)


class SyncDb:
    db_system = "sqlite"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def execute(self, sql: str, params: Any = None) -> int:
        self.calls.append(sql)
        if "boom" in sql:
            raise RuntimeError("syntax error near boom")
        return 1


class AsyncDb:
    dialect = "postgresql"

    async def execute(self, sql: str) -> str:
        return "done"

    async def execute_query(self, sql: str) -> list[int]:
        return [1, 2]


def test_sync_provider_spans_and_metrics(tracer: Tracer) -> None:
    """Each execute gets a CLIENT span and is counted by verb and outcome."""
    db = SyncDb()
    instrument_database(db)
    assert db.execute("SELECT 1") == 1
    with pytest.raises(RuntimeError):
        db.execute("boom")
    ok, failed = tracer.get_all_spans()
    assert ok.name == "db SELECT"
    assert ok.kind is SpanKind.CLIENT
    assert ok.attributes["db.system.name"] == "sqlite"
    assert failed.status is SpanStatus.ERROR
    total = get_default_collector().get_metric("db_client_operations_total")
    assert total.get_count(labels={"operation": "SELECT", "status": "ok"}) == 1
    assert total.get_count(labels={"operation": "OTHER", "status": "error"}) == 1
    # the statement text is never recorded
    assert all("SELECT 1" not in str(s.attributes) for s in tracer.get_all_spans())


async def test_async_provider_both_methods(tracer: Tracer) -> None:
    """Async execute and execute_query are both wrapped and still awaited."""
    db = AsyncDb()
    instrument_database(db)
    assert await db.execute("UPDATE t SET x=1") == "done"
    assert await db.execute_query("select * from t") == [1, 2]
    names = [s.name for s in tracer.get_all_spans()]
    assert names == ["db UPDATE", "db SELECT"]
    assert tracer.get_all_spans()[0].attributes["db.system.name"] == "postgresql"
    hist = get_default_collector().get_metric("db_client_operation_duration_seconds")
    assert hist.get_count(labels={"operation": "UPDATE"}) == 1


def test_instrumenting_twice_wraps_once(tracer: Tracer) -> None:
    """A second instrument_database call is a no-op."""
    db = SyncDb()
    instrument_database(db)
    instrument_database(db)
    db.execute("SELECT 1")
    assert len(tracer.get_all_spans()) == 1


def test_provider_without_execute_is_refused() -> None:
    """A provider without execute() gets a TypeError naming the method."""
    with pytest.raises(TypeError, match="execute"):
        instrument_database(object())
