"""Tracing and metrics for a database provider's ``execute`` / ``execute_query``.

Each call gets a CLIENT span named ``"db {operation}"`` with ``db.system.name``
(the provider's ``db_system``/``dialect`` attribute, else ``"other_sql"``) and
``db.operation.name`` (the statement's first keyword, upper case). The statement text
is not recorded (it may hold personal data). Metrics, in the default collector:
``db_client_operations_total{operation, status}`` and
``db_client_operation_duration_seconds{operation}``; ``status`` is ``ok`` or ``error``.
``operation`` is one of a fixed set of SQL verbs, else ``OTHER``, so the series stay
bounded whatever the statements.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..metrics.collector import get_default_collector
from ..tracing.span import SpanKind, SpanStatus
from ..tracing.tracer import get_default_tracer
from ._wrap import wrap_callable

__all__ = ["instrument_database"]

_MARK = "_lexigram_monitor_instrumented"
_VERBS = frozenset(
    [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "REPLACE",
        "WITH",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "BEGIN",
        "START",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "SET",
        "SHOW",
        "EXPLAIN",
        "CALL",
        "EXEC",
        "EXECUTE",
        "PRAGMA",
        "GRANT",
        "REVOKE",
        "VACUUM",
        "ANALYZE",
        "COPY",
        "LOCK",
    ]
)


def _operation(statement: Any) -> str:
    text = statement if isinstance(statement, str) else str(getattr(statement, "text", ""))
    words = text.split(None, 1)
    verb = words[0].upper() if words else ""
    return verb if verb in _VERBS else "OTHER"


class _DbObserver:
    def __init__(self, system: str) -> None:
        self.system = system

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        statement = args[0] if args else kwargs.get("query", kwargs.get("sql", ""))
        op = _operation(statement)
        span = get_default_tracer().start_span(
            f"db {op}",
            attributes={"db.system.name": self.system, "db.operation.name": op},
            kind=SpanKind.CLIENT,
        )
        return op, span, time.perf_counter()

    def finish(self, token: Any, error: BaseException | None) -> None:
        op, span, started = token
        elapsed = time.perf_counter() - started
        if error is not None:
            span.record_exception(error)
            span.set_status(SpanStatus.ERROR, type(error).__name__)
        span.end()
        status = "ok" if error is None else "error"
        # looked up per call (a dict hit): follows a swapped default collector
        collector = get_default_collector()
        collector.create_counter(
            "db_client_operations_total", "Database operations by statement verb and outcome"
        ).increment(1, labels={"operation": op, "status": status})
        collector.create_histogram(
            "db_client_operation_duration_seconds", "Database operation duration in seconds"
        ).observe(elapsed, labels={"operation": op})


def instrument_database(provider: Any) -> None:
    """Instrument a database provider's ``execute`` and, if present, ``execute_query``.

    Sync and async methods are both supported (decided once, here). Calling it twice on
    the same provider instruments once. A provider without a callable ``execute``
    raises ``TypeError`` naming the missing method.
    """
    if getattr(provider, _MARK, False):
        return
    if not callable(getattr(provider, "execute", None)):
        raise TypeError(
            f"{type(provider).__name__} has no callable 'execute' method; instrument_database "
            "needs a provider with execute() (and optionally execute_query())"
        )
    system = str(
        getattr(provider, "db_system", None) or getattr(provider, "dialect", None) or "other_sql"
    )
    observer = _DbObserver(system)
    for method in ("execute", "execute_query"):
        original: Callable[..., Any] | None = getattr(provider, method, None)
        if callable(original):
            setattr(provider, method, wrap_callable(original, lambda: observer))
    setattr(provider, _MARK, True)
