"""Opt-in structured logging: JSON/text, trace ids, redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from lexigram.monitor.config import LoggingConfig
from lexigram.monitor.logging import REDACTED, configure_logging, redact_processor


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A private logger so the root logger is never touched."""
    log = logging.getLogger("test.lexigram.structured")
    log.propagate = False
    yield log
    log.handlers.clear()


def test_json_output_with_trace_ids_and_fields(logger: logging.Logger) -> None:
    """JSON lines carry message, level, structured extras and the current trace ids."""
    out = io.StringIO()
    configure_logging(
        LoggingConfig(level="debug"),
        stream=out,
        logger=logger,
        trace_ids=lambda: ("a" * 32, "b" * 16),
    )
    logger.info("order placed", extra={"order_id": 42})
    record = json.loads(out.getvalue())
    assert record["message"] == "order placed"
    assert record["level"] == "INFO"
    assert record["order_id"] == 42
    assert record["trace_id"] == "a" * 32
    assert record["span_id"] == "b" * 16
    assert logger.level == logging.DEBUG


def test_redaction_of_configured_fields(logger: logging.Logger) -> None:
    """Fields named in redact_fields are replaced, whatever their case."""
    out = io.StringIO()
    configure_logging(LoggingConfig(redact_fields=["password"]), stream=out, logger=logger)
    logger.warning("login", extra={"Password": "hunter2", "user": "ann"})
    record = json.loads(out.getvalue())
    assert record["Password"] == REDACTED
    assert record["user"] == "ann"
    assert "hunter2" not in out.getvalue()


def test_trace_context_can_be_disabled(logger: logging.Logger) -> None:
    """include_trace_context=False leaves ids out even when a span is current."""
    out = io.StringIO()
    configure_logging(
        LoggingConfig(include_trace_context=False),
        stream=out,
        logger=logger,
        trace_ids=lambda: ("a" * 32, "b" * 16),
    )
    logger.info("x")
    assert "trace_id" not in json.loads(out.getvalue())


def test_text_format_and_single_handler(logger: logging.Logger) -> None:
    """Text format works, and configuring twice keeps one handler."""
    out = io.StringIO()
    configure_logging(LoggingConfig(format="text"), stream=out, logger=logger)
    configure_logging(LoggingConfig(format="text"), stream=out, logger=logger)
    logger.error("boom")
    ours = [h for h in logger.handlers if getattr(h, "_lexigram_monitor", False)]
    assert len(ours) == 1
    assert out.getvalue().count("boom") == 1
    assert "ERROR" in out.getvalue()


def test_disabled_installs_nothing(logger: logging.Logger) -> None:
    """enabled=False installs no handler."""
    assert configure_logging(LoggingConfig(enabled=False), logger=logger) is None
    assert not [h for h in logger.handlers if getattr(h, "_lexigram_monitor", False)]


def test_broken_trace_source_never_breaks_logging(logger: logging.Logger) -> None:
    """A trace-id source that raises is ignored."""
    out = io.StringIO()

    def broken() -> tuple[str, str] | None:
        raise RuntimeError("no")

    configure_logging(LoggingConfig(), stream=out, logger=logger, trace_ids=broken)
    logger.info("still logged")
    assert json.loads(out.getvalue())["message"] == "still logged"


def test_structlog_redact_processor() -> None:
    """The structlog processor redacts the named keys."""
    proc = redact_processor(["token"])
    assert proc(None, "info", {"Token": "t", "a": 1}) == {"Token": REDACTED, "a": 1}
