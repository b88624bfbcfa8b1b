"""The status page's route table over a native request-duration histogram: quantiles
from the native buckets of the window, traces from native exemplars."""

from __future__ import annotations

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.metrics import MetricsCollector, NativeBuckets, set_exemplar_source
from lexigram.monitor.middleware.status.routes import RouteStats, read_routes

ROUTE = "http_request_duration_seconds"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_window_quantiles_come_from_the_native_buckets() -> None:
    """p50/p99 of the last minute are the native buckets' quantiles of the requests of
    that minute only (older ones subtracted), far finer than the classic buckets
    would give (all requests sit between the classic bounds 0.1 and 1)."""
    clock = FakeClock(1_700_000_000.0)
    collector = MetricsCollector(clock=clock)
    duration = collector.create_histogram(ROUTE, "", buckets=[0.1, 1.0], native=True)
    stats = RouteStats(lambda: read_routes(collector.instruments()), clock, snapshot_interval=5)
    labels = {"method": "GET", "route": "/a"}
    for _ in range(100):
        duration.observe(0.9, labels)
    stats.table()
    clock.advance(60)
    for _ in range(100):
        duration.observe(0.2, labels)
    row = stats.table()[0]["1m"]
    window = duration.get_native_buckets(labels).minus(
        NativeBuckets(3, 2.0**-128, 0, ((-1, 100),), ())
    )
    assert window is not None
    assert row["requests"] == 100
    assert row["p50"] == pytest.approx(window.quantile(0.5))
    # 0.2 lies in the schema-3 bucket (2**(-19/8), 2**(-18/8)] = (0.193, 0.210]
    assert 2 ** (-19 / 8) < row["p50"] < row["p99"] <= 2 ** (-18 / 8)


def test_native_traces_come_from_the_exemplar_in_the_quantiles_bucket() -> None:
    """The p50 trace is the latest native exemplar of the window lying in the p50's
    bucket; none when no exemplar lies near it."""
    clock = FakeClock(1_700_000_000.0)
    set_exemplar_source(lambda: (TRACE, "00f067aa0ba902b7"))
    collector = MetricsCollector(clock=clock)
    duration = collector.create_histogram(ROUTE, "", native=True)
    stats = RouteStats(lambda: read_routes(collector.instruments()), clock, snapshot_interval=5)
    for _ in range(3):
        duration.observe(0.25, {"method": "GET", "route": "/a"})
    row = stats.table()[0]["1m"]
    assert row["traces"]["p50"] == TRACE
    assert row["p50"] == pytest.approx(duration.get_quantile(0.5, {"method": "GET", "route": "/a"}))


def test_native_buckets_plus_and_minus_align_schema_and_zero_bucket() -> None:
    """plus() sums at the lower schema; minus() of an earlier reading gives the
    observations since, and None after a reset (counts went down)."""
    fine = NativeBuckets(3, 0.001, 1, ((0, 2), (1, 1), (2, 1)), ((8, 1),))
    coarse = NativeBuckets(2, 0.001, 0, ((1, 3),), ())
    both = fine.plus(coarse)
    assert both.schema == 2
    assert both.positive == ((0, 2), (1, 5))
    assert both.negative == ((4, 1),)
    assert both.count == fine.count + coarse.count
    assert both.minus(coarse) == NativeBuckets(2, 0.001, 1, ((0, 2), (1, 2)), ((4, 1),))
    assert coarse.minus(both) is None
    wide = NativeBuckets(3, 1.0, 0, (), ())
    assert fine.plus(wide).zero_count == 3  # buckets up to 1.0 fold into the zero bucket
