"""SLO sampling and percentile evaluation, side by side with the obvious alternatives.

- ``record_sample`` against prometheus_client ``Histogram.observe`` (the per-request cost
  of feeding an SLO versus feeding a Prometheus histogram).
- Nearest-rank percentile of 10,000 samples: our selection (``kth_smallest``: a bounded
  heap near either end, a sort in the middle) against ``sorted(values)[k - 1]``.
- ``SLOMonitor.evaluate()`` over 10,000 samples against the same evaluation done by a
  full sort.
- Availability SLOs: ``record_event`` against prometheus_client ``Counter.inc`` (the
  per-event cost of an error budget versus a plain counter), and ``status()`` /
  ``evaluate()`` of 100 availability objectives against a naive error budget that keeps
  one timestamped entry per event and recounts every window (target: evaluating 100
  objectives takes at most 10 ms).
- Memory of one availability objective after 1,000 and after 200,000 events
  (tracemalloc): bounded, independent of the number of events.

Each case alternates ours / peer for every repeat and reports the median of each and
the ratio ours / peer (lower is better).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import statistics
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram

from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.slo import SLO, AvailabilitySLO, EventsSLI, SLOMonitor
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
    _availability(loop, rng)
    loop.close()


OBJECTIVES = 100
EVENTS_PER_OBJECTIVE = 10_000
SLI = EventsSLI("sum(rate(t[{{.window}}]))", error_query="sum(rate(e[{{.window}}]))")
WINDOWS = (300.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0, 259200.0, 2592000.0)


class _NaiveBudget:
    """The obvious error budget: one (time, good) entry per event, every window recounted."""

    def __init__(self) -> None:
        self.events: deque[tuple[float, bool]] = deque()

    def record(self, now: float, good: bool) -> None:
        self.events.append((now, good))

    def status(self, now: float) -> list[tuple[int, int]]:
        return [
            (sum(1 for t, g in self.events if t >= now - w and not g),
             sum(1 for t, _ in self.events if t >= now - w))
            for w in WINDOWS
        ]  # fmt: skip


def _availability(loop: asyncio.AbstractEventLoop, rng: random.Random) -> None:
    logging.getLogger("lexigram.monitor.slo").setLevel(logging.ERROR)
    monitor = SLOMonitor(collector=MetricsCollector())
    monitor.register(AvailabilitySLO("one", 0.999, sli=SLI))
    counter = Counter("bench_events", "Events.", registry=CollectorRegistry())
    record, inc = monitor.record_event, counter.inc

    def ours_record(loops: int) -> None:
        for i in range(loops):
            record("one", i % 1000 != 0)

    def peer_record(loops: int) -> None:
        for _ in range(loops):
            inc()

    _compare("record_event vs Counter.inc", ours_record, peer_record, 20_000, "ns/op")

    many = SLOMonitor(collector=MetricsCollector())
    naive = [_NaiveBudget() for _ in range(OBJECTIVES)]
    now = time.monotonic()
    for i in range(OBJECTIVES):
        many.register(AvailabilitySLO(f"slo{i}", 0.999, sli=SLI))
        # 0.05 % errors, half the budget: nothing fires, nothing is logged
        many.record_event(f"slo{i}", True, count=EVENTS_PER_OBJECTIVE - 5)
        many.record_event(f"slo{i}", False, count=5)
        for j in range(EVENTS_PER_OBJECTIVE):
            naive[i].record(now - j * 0.01, j % 2000 != 0)

    def ours_status(loops: int) -> None:
        for _ in range(loops):
            many.status()

    def ours_evaluate(loops: int) -> None:
        for _ in range(loops):
            loop.run_until_complete(many.evaluate())

    def naive_status(loops: int) -> None:
        for _ in range(loops):
            for budget in naive:
                budget.status(now)

    label = f"{OBJECTIVES} objectives x {EVENTS_PER_OBJECTIVE:,} events"
    _compare(f"status() of {label} vs naive recount", ours_status, naive_status, 1, "us/op")
    _compare(f"evaluate() of {label} vs naive recount", ours_evaluate, naive_status, 1, "us/op")
    print(
        f"| memory of one objective after 1,000 / 200,000 events | {_memory(1_000):,} | "
        f"{_memory(200_000):,} | {_memory(200_000) / _memory(1_000):.3f} | bytes |"
    )


def _memory(events: int) -> int:
    """Bytes one availability objective holds after *events* events (tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        monitor = SLOMonitor(collector=MetricsCollector())
        monitor.register(AvailabilitySLO("m", 0.999, sli=SLI))
        for i in range(events):
            monitor.record_event("m", i % 100 != 0)
        monitor.status()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
