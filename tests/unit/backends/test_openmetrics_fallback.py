"""Core-only installs: an OpenMetrics scrape answered in text says so, in the body and in
the log, naming the extra that brings OpenMetrics."""

from __future__ import annotations

import logging
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lexigram.monitor.backends.exporters._exposition import (
    OPENMETRICS_UNAVAILABLE,
    TEXT_CONTENT_TYPE,
    render,
)
from lexigram.monitor.metrics import MetricsCollector

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def _without_prometheus_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in [m for m in sys.modules if m.startswith("prometheus_client")]:
        monkeypatch.setitem(sys.modules, module, None)


def test_an_openmetrics_request_is_told_it_got_text(
    collector: MetricsCollector,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The text answer starts with a comment naming the pip extra; a WARNING says the same;
    the body is still valid text 0.0.4."""
    collector.create_counter("jobs_total", "Jobs.").increment(3)
    _without_prometheus_client(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.exposition"):
        body, headers = render(accept=OPENMETRICS)
    monkeypatch.undo()
    assert headers["Content-Type"] == TEXT_CONTENT_TYPE
    assert body.startswith(OPENMETRICS_UNAVAILABLE)
    assert b"pip install 'lexigram-monitor[prometheus]'" in body
    (record,) = [r for r in caplog.records if "OpenMetrics" in r.getMessage()]
    assert "pip install 'lexigram-monitor[prometheus]'" in record.getMessage()
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}  # type: ignore[no-untyped-call]
    assert families["jobs"].samples[0].value == 3


def test_a_text_request_gets_no_notice(
    collector: MetricsCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking for text (or nothing) is answered as asked: no notice."""
    collector.create_counter("jobs_total", "Jobs.").increment()
    _without_prometheus_client(monkeypatch)
    body, _ = render(accept="text/plain")
    monkeypatch.undo()
    assert not body.startswith(b"# OpenMetrics")
