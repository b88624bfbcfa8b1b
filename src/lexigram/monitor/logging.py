"""Structured logging for applications that want it: JSON/text output, trace ids, redaction.

The library itself only logs through ``logging.getLogger("lexigram.monitor.<module>")``
and never configures logging on import. :func:`configure_logging` is opt-in.

The same building blocks work with structlog: :func:`add_trace_context` and
:func:`redact_processor` follow structlog's processor signature
``(logger, method_name, event_dict) -> event_dict``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

from .config import LoggingConfig

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "RedactingFilter",
    "TraceContextFilter",
    "add_trace_context",
    "configure_logging",
    "redact_processor",
]

REDACTED = "[REDACTED]"

# Attributes every LogRecord has; anything else came from `extra=` and is a structured field.
_RESERVED = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "trace_id",
    "span_id",
}

TraceIdSource = Callable[[], "tuple[str, str] | None"]


def _default_trace_ids() -> tuple[str, str] | None:
    # Imported lazily: logging sits beside tracing in the layering, not above it.
    from .tracing import current_trace_ids

    return current_trace_ids()


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` / ``span_id`` of the current span to every record (empty if none)."""

    def __init__(self, source: TraceIdSource | None = None) -> None:
        super().__init__()
        self._source = source or _default_trace_ids

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            ids = self._source()
        except Exception:  # a broken source must never break logging
            ids = None
        record.trace_id, record.span_id = ids if ids else ("", "")
        return True


class RedactingFilter(logging.Filter):
    """Replaces the values of structured fields whose name is in ``fields`` (case-insensitive)."""

    def __init__(self, fields: Iterable[str]) -> None:
        super().__init__()
        self._fields = frozenset(f.lower() for f in fields)

    def filter(self, record: logging.LogRecord) -> bool:
        for key in list(vars(record)):
            if key not in _RESERVED and key.lower() in self._fields:
                setattr(record, key, REDACTED)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace ids, structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", "")
        if trace_id:
            payload["trace_id"] = trace_id
            payload["span_id"] = getattr(record, "span_id", "")
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


_TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s span=%(span_id)s] %(message)s"
)


def configure_logging(
    config: LoggingConfig | None = None,
    *,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
    trace_ids: TraceIdSource | None = None,
) -> logging.Handler | None:
    """Install one structured handler on *logger* (the root logger by default).

    Honours every :class:`LoggingConfig` field: ``enabled`` (False: nothing is
    installed, None returned), ``level``, ``format`` (json/text),
    ``include_trace_context`` and ``redact_fields``. Calling it again replaces the
    handler it installed before instead of adding a second one.
    """
    cfg = config or LoggingConfig()
    if not cfg.enabled:
        return None
    target = logger if logger is not None else logging.getLogger()
    for old in [h for h in target.handlers if getattr(h, "_lexigram_monitor", False)]:
        target.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler._lexigram_monitor = True  # type: ignore[attr-defined]
    if cfg.redact_fields:
        handler.addFilter(RedactingFilter(cfg.redact_fields))
    if cfg.include_trace_context:
        handler.addFilter(TraceContextFilter(trace_ids))
    else:
        handler.addFilter(TraceContextFilter(lambda: None))
    handler.setFormatter(
        JsonFormatter() if cfg.format == "json" else logging.Formatter(_TEXT_FORMAT)
    )
    target.addHandler(handler)
    target.setLevel(cfg.level)
    return handler


def add_trace_context(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: add ``trace_id``/``span_id`` of the current span when there is one."""
    ids = _default_trace_ids()
    if ids:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def redact_processor(
    fields: Iterable[str],
) -> Callable[[Any, str, MutableMapping[str, Any]], MutableMapping[str, Any]]:
    """structlog processor factory replacing the values of *fields* (case-insensitive)."""
    names = frozenset(f.lower() for f in fields)

    def _redact(
        logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            if key.lower() in names:
                event_dict[key] = REDACTED
        return event_dict

    return _redact
