"""Metric samples persisted to a SQL table through a database provider.

A provider is any object with ``execute(sql, params)`` and ``executemany(sql, rows)``
(sync or ``async``, decided once from the provider's methods). Sync providers run on the
store's own worker thread (never the event loop's default executor, which the
application's ``to_thread`` and DNS lookups share), so the loop never waits on the
database. Every statement has one deadline of ``timeout`` seconds: an async call is
cancelled at it; a sync call is no longer waited for (the driver's call goes on in the
worker thread, which takes no other statement meanwhile: later writes fail as ``busy``
and their rows wait in the buffer), so a flush, and the final one at shutdown, never
waits longer. :class:`SQLiteProvider` (a sqlite3 file) is the default.

:class:`SampleStore` buffers samples in memory and writes them in batches of at most
``batch_size`` rows (``INSERT`` with ``?`` placeholders; the table name is checked to be
a plain identifier, never interpolated otherwise). Bounds: at most ``max_pending``
samples wait in memory; a sample arriving when the buffer is full is dropped and
counted in ``lexigram_monitor_db_dropped_samples_total``. A failing write is logged
(rate limited), counted in ``lexigram_monitor_db_write_failures_total``, and its rows go
back to the front of the buffer to be retried on the next flush (as far as the bound
allows; the rest are dropped and counted). A batch whose write passed the deadline is
retried too, so it may be stored twice if the late write still succeeds. Nothing is
raised to the caller.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from .._clock import SYSTEM_CLOCK, Clock
from .._failure import describe_failure
from .._ratelimit import RateLimitedLogger
from .._selfmetrics import DB_DROPPED, DB_WRITE_FAILURES, count_failure
from .._worker import Worker
from ..exceptions import MonitorError

__all__ = ["DatabaseProvider", "SQLiteProvider", "SampleStore", "validate_table_name"]

DEFAULT_BATCH_SIZE = 500
DEFAULT_MAX_PENDING = 10_000
#: Seconds one statement may take before the store stops waiting for it.
DEFAULT_WRITE_TIMEOUT = 10.0
_WORKER = Worker("sqlstore", threads=1, max_pending=2)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.sqlstore"))

Row = tuple[float, str, str, str, float]


@runtime_checkable
class DatabaseProvider(Protocol):
    """What the store needs from a database: statements with ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...


def validate_table_name(table: object) -> str:
    """Return *table* if it is a plain SQL identifier, else raise :class:`MonitorError`."""
    if not isinstance(table, str) or _IDENTIFIER.fullmatch(table) is None:
        raise MonitorError(
            f"metrics_table {table!r} is not a plain SQL identifier: use letters, digits and "
            "'_', not starting with a digit, at most 63 characters (e.g. 'monitor_metrics')"
        )
    return table


class SQLiteProvider:
    """sqlite3 database file; every statement commits. Thread-safe (one lock)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
        return self._conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            conn = self._connection()
            with conn:
                return conn.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            conn = self._connection()
            with conn:
                conn.executemany(sql, rows)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class SampleStore:
    """Buffers samples and writes them to *table* through *provider* in batches."""

    def __init__(
        self,
        provider: DatabaseProvider,
        table: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_pending: int = DEFAULT_MAX_PENDING,
        timeout: float = DEFAULT_WRITE_TIMEOUT,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout {timeout!r} must be > 0 seconds")
        self.table = validate_table_name(table)
        self.timeout = timeout
        self.provider = provider
        self.batch_size = batch_size
        self.max_pending = max_pending
        self._clock = clock
        self._pending: deque[Row] = deque()
        self._lock = threading.Lock()
        self._flush_lock = asyncio.Lock()
        self._ready = False
        self._async = inspect.iscoroutinefunction(provider.executemany)
        self.dropped = 0
        self.written = 0
        self.write_failures = 0
        self._insert = (
            f"INSERT INTO {self.table} (recorded_at, name, metric_type, labels, value) "
            "VALUES (?, ?, ?, ?, ?)"
        )

    @property
    def pending(self) -> int:
        """Samples waiting to be written."""
        return len(self._pending)

    def add(self, name: str, metric_type: str, value: float, labels: dict[str, str] | None) -> bool:
        """Queue one sample; False (dropped and counted) when the buffer is full."""
        row = (
            self._clock.time(),
            name,
            metric_type,
            json.dumps(labels or {}, sort_keys=True),
            float(value),
        )
        with self._lock:
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                full = True
            else:
                self._pending.append(row)
                full = False
        if full:
            _log.warning(
                "db-full",
                "metric sample buffer is full (%d samples); dropping new samples",
                self.max_pending,
            )
            count_failure(DB_DROPPED, "buffer_full")
        return not full

    async def _call(self, method: str, sql: str, arg: Any) -> None:
        fn = getattr(self.provider, method)
        if self._async:
            await asyncio.wait_for(fn(sql, arg), self.timeout)
        else:
            await _WORKER.run(lambda: fn(sql, arg), self.timeout)

    async def _ensure_table(self) -> None:
        if not self._ready:
            await self._call(
                "execute",
                f"CREATE TABLE IF NOT EXISTS {self.table} (recorded_at REAL NOT NULL, "
                "name TEXT NOT NULL, metric_type TEXT NOT NULL, labels TEXT NOT NULL, "
                "value REAL NOT NULL)",
                (),
            )
            self._ready = True

    async def flush(self) -> int:
        """Write every pending sample; returns the number written. Never raises."""
        written = 0
        async with self._flush_lock:
            while True:
                with self._lock:
                    batch = [
                        self._pending.popleft()
                        for _ in range(min(self.batch_size, len(self._pending)))
                    ]
                if not batch:
                    return written
                try:
                    await self._ensure_table()
                    await self._call("executemany", self._insert, batch)
                except asyncio.CancelledError:
                    self._requeue(batch)
                    raise
                except Exception as exc:
                    self.write_failures += 1
                    kind, reason = describe_failure(exc, self.timeout)
                    _log.error(
                        f"db-write:{kind}",
                        "writing %d metric samples to table %r failed: %s",
                        len(batch),
                        self.table,
                        reason,
                    )
                    count_failure(DB_WRITE_FAILURES, kind)
                    self._requeue(batch)
                    return written
                written += len(batch)
                self.written += len(batch)

    def _requeue(self, batch: list[Row]) -> None:
        """Put *batch* back in front of the buffer, dropping what exceeds the bound."""
        with self._lock:
            room = max(0, self.max_pending - len(self._pending))
            keep = batch[:room]
            lost = len(batch) - len(keep)
            self._pending.extendleft(reversed(keep))
            self.dropped += lost
        if lost:
            count_failure(DB_DROPPED, "buffer_full", lost)
