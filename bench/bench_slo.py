"""SLO sampling and percentile evaluation, side by side with the obvious alternatives.

- ``record_sample`` against prometheus_client ``Histogram.observe`` (the per-request cost
  of feeding an SLO versus feeding a Prometheus histogram).
- Nearest-rank percentile of 10,000 samples: our selection (``kth_smallest``: a bounded
  heap near either end, a sort in the middle) against ``sorted(values)[k - 1]``.
- ``SLOMonitor.evaluate()`` over 10,000 samples against the same evaluation done by a
  full sort.

Each case alternates ours / peer for every repeat and reports the median of each and
the ratio ours / peer (lower is better).
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from prometheus_client import CollectorRegistry, Histogram

from lexigram.monitor.slo import SLO, SLOMonitor
from lexigram.monitor.slo.monitor import kth_smallest

REPEATS = 11
SAMPLES = 10_000


def _time(fn: Callable[[int], None], loops: int) -> float:
    start = time.perf_counter_ns()
    fn(loops)
    return (time.perf_counter_ns() - start) / loops


def _compare(
    name: str, ours: Callable[[int], None], peer: Callable[[int], None], loops: int, unit: str
) -> None:
    ours(max(loops // 10, 1))
    peer(max(loops // 10, 1))
    a: list[float] = []
    b: list[float] = []
    for _ in range(REPEATS):
        a.append(_time(ours, loops))
        b.append(_time(peer, loops))
    scale = 1.0 if unit == "ns/op" else 1000.0
    mine, theirs = statistics.median(a) / scale, statistics.median(b) / scale
    print(f"| {name} | {mine:,.1f} | {theirs:,.1f} | {mine / theirs:.3f} | {unit} |")


def main() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(4.5, 0.6) for _ in range(SAMPLES)]
    print("| case | ours | peer | ratio | unit |")
    print("|---|---|---|---|---|")

    monitor = SLOMonitor(max_samples_per_metric=SAMPLES)
    histogram = Histogram("bench_latency_ms", "Latency.", registry=CollectorRegistry())
    record, observe = monitor.record_sample, histogram.observe

    def ours_record(loops: int) -> None:
        for i in range(loops):
            record("http.request.duration", values[i % SAMPLES])

    def peer_record(loops: int) -> None:
        for i in range(loops):
            observe(values[i % SAMPLES])

    _compare("record_sample vs Histogram.observe", ours_record, peer_record, 20_000, "ns/op")

    for percentile in (0.5, 0.9, 0.95, 0.99, 0.999):
        k = math.ceil(percentile * SAMPLES)

        def ours_pick(loops: int, k: int = k) -> None:
            for _ in range(loops):
                kth_smallest(values, k)

        def peer_pick(loops: int, k: int = k) -> None:
            for _ in range(loops):
                sorted(values)[k - 1]

        _compare(
            f"p{percentile * 100:g} of 10k: selection vs sorted()",
            ours_pick,
            peer_pick,
            20,
            "us/op",
        )

    slo_monitor = SLOMonitor(max_samples_per_metric=SAMPLES)
    slo_monitor.register(SLO("p99", "m", 0.99, 1e9, timedelta(hours=1)))
    for value in values:
        slo_monitor.record_sample("m", value)
    loop = asyncio.new_event_loop()

    def ours_evaluate(loops: int) -> None:
        for _ in range(loops):
            loop.run_until_complete(slo_monitor.evaluate())

    def sort_evaluate(loops: int) -> None:
        # The same work done naively: copy the window, sort it, index the rank.
        for _ in range(loops):
            window = list(values)
            sorted(window)[math.ceil(0.99 * len(window)) - 1]

    _compare("evaluate() p99 over 10k vs copy+sort", ours_evaluate, sort_evaluate, 20, "us/op")
    loop.close()
