"""``/metrics`` rendering, side by side with prometheus_client in one process.

The same series are held twice: in our ``MetricsCollector`` and as native
prometheus_client metrics in a ``CollectorRegistry``. Series: counters with two labels
(1,000 series per counter) plus histograms with two labels and the default 14 buckets
(one histogram series per 100 series). Each case alternates ours / prometheus_client for
every repeat and reports the median ms per rendering and the ratio ours / peer (lower is
better).

- text: ``render(collector)`` (our built-in text 0.0.4 renderer over the snapshots)
  vs ``generate_latest(registry)``;
- OpenMetrics: ``render(collector, accept=OpenMetrics)`` (our bridge feeding
  prometheus_client's encoder) vs ``openmetrics.exposition.generate_latest(registry)``.

``_created`` series are disabled on the peer (``disable_created_metrics()``) so both sides
write the same samples; the last row shows the peer's default output for reference.
"""

from __future__ import annotations

import importlib.metadata
import statistics
import time
from collections.abc import Callable

import prometheus_client
from prometheus_client.openmetrics import exposition as om_exposition

from lexigram.monitor.backends.exporters.prometheus import render
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import MetricsCollector

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
SERIES_PER_COUNTER = 1_000
METHODS = ("GET", "POST", "PUT", "DELETE")
#: (series, repeats)
SIZES = ((10_000, 11), (100_000, 5))
TARGET = 1.0


def _label_pairs(count: int) -> list[tuple[str, str]]:
    return [(METHODS[i % len(METHODS)], f"/api/v1/items/{i}") for i in range(count)]


def build(series: int) -> tuple[MetricsCollector, prometheus_client.CollectorRegistry]:
    """Hold *series* series in both libraries (same names, labels and values)."""
    ours = MetricsCollector(MetricsConfig(max_series_per_metric=SERIES_PER_COUNTER))
    registry = prometheus_client.CollectorRegistry()
    histogram_series = series // 100
    counter_series = series - histogram_series
    for c in range(0, counter_series, SERIES_PER_COUNTER):
        name = f"http_requests_{c // SERIES_PER_COUNTER}"
        mine = ours.create_counter(name, "Requests handled.")
        peer = prometheus_client.Counter(
            name, "Requests handled.", ["method", "path"], registry=registry
        )
        for i, (method, path) in enumerate(
            _label_pairs(min(SERIES_PER_COUNTER, counter_series - c))
        ):
            mine.increment(i + 1, {"method": method, "path": path})
            peer.labels(method, path).inc(i + 1)
    for h in range(0, histogram_series, SERIES_PER_COUNTER):
        name = f"request_duration_seconds_{h // SERIES_PER_COUNTER}"
        mine_h = ours.create_histogram(name, "Request duration.")
        peer_h = prometheus_client.Histogram(
            name, "Request duration.", ["method", "path"], registry=registry
        )
        for i, (method, path) in enumerate(
            _label_pairs(min(SERIES_PER_COUNTER, histogram_series - h))
        ):
            value = (i % 50) / 100
            mine_h.observe(value, {"method": method, "path": path})
            peer_h.labels(method, path).observe(value)
    return ours, registry


def _ms(fn: Callable[[], bytes]) -> tuple[float, int]:
    start = time.perf_counter_ns()
    body = fn()
    return (time.perf_counter_ns() - start) / 1e6, len(body)


def _samples(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


def _compare(
    name: str,
    ours: Callable[[], bytes],
    peer: Callable[[], bytes],
    repeats: int,
    target: float | None,
) -> None:
    ours_body, peer_body = ours(), peer()  # warm-up, and the outputs must hold the same samples
    if _samples(ours_body) != _samples(peer_body):
        raise AssertionError(f"{name}: {_samples(ours_body)} samples vs {_samples(peer_body)}")
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeats):
        a.append(_ms(ours)[0])
        b.append(_ms(peer)[0])
    mine, theirs = statistics.median(a), statistics.median(b)
    ratio = mine / theirs
    verdict = "" if target is None else (" ok" if ratio <= target else f" MISSED (<= {target})")
    print(
        f"| {name} | {mine:,.1f} | {theirs:,.1f} | {ratio:.2f}{verdict} | {_samples(ours_body):,} |"
    )


def _size(series: int, repeats: int) -> None:
    ours, registry = build(series)
    _compare(
        f"text 0.0.4, {series:,} series",
        lambda: render(ours)[0],
        lambda: prometheus_client.generate_latest(registry),
        repeats,
        TARGET,
    )
    _compare(
        f"OpenMetrics, {series:,} series",
        lambda: render(ours, accept=OPENMETRICS)[0],
        lambda: om_exposition.generate_latest(registry),  # type: ignore[no-untyped-call]
        repeats,
        None,
    )


def main() -> None:
    print(f"prometheus_client {importlib.metadata.version('prometheus_client')}")
    print("| case | lexigram ms | prometheus_client ms | ratio | samples |")
    print("|---|---:|---:|---:|---:|")
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    for series, repeats in SIZES:
        _size(series, repeats)
    prometheus_client.enable_created_metrics()  # type: ignore[no-untyped-call]
    ours, registry = build(SIZES[0][0])
    a = statistics.median(_ms(lambda: render(ours)[0])[0] for _ in range(SIZES[0][1]))
    b = statistics.median(
        _ms(lambda: prometheus_client.generate_latest(registry))[0] for _ in range(SIZES[0][1])
    )
    print(
        f"| text, {SIZES[0][0]:,} series, peer with default `_created` series | {a:,.1f} | {b:,.1f} | {a / b:.2f} | — |"
    )


if __name__ == "__main__":
    main()
