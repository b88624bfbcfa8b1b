"""Isolation for the backend tests: a fresh default collector and no exemplar source per
test, and the process registry's default collectors restored afterwards.

Each test module wraps :func:`isolate` in its own autouse fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

from lexigram.monitor.metrics import MetricsCollector, set_default_collector, set_exemplar_source


def isolate() -> Iterator[MetricsCollector]:
    """Install a fresh default collector, yield it, then restore the global wiring."""
    collector = MetricsCollector()
    previous_source = set_exemplar_source(None)
    set_default_collector(collector)
    try:
        yield collector
    finally:
        set_default_collector(None)
        set_exemplar_source(previous_source)
        from lexigram.monitor.backends.exporters.prometheus import set_default_metrics

        set_default_metrics(True)
