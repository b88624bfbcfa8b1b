"""Instrument hot paths side by side with prometheus_client, and memory under 10M values.

Each case times a loop of ``OPS`` calls for our instrument and for the peer, alternating
which goes first, ``REPEATS`` times; the table shows the median ns/op of each side and
their ratio (ours / peer; lower is better). Loop overhead is included on both sides.
Then 10 million observations go into one histogram and one summary while RSS is read
before and after, to show memory stays flat.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable

OPS = 100_000
REPEATS = 7
MEMORY_OPS = 10_000_000

Loop = Callable[[int], None]


def _cases() -> list[tuple[str, Loop, Loop, float | None]]:
    from prometheus_client import CollectorRegistry
    from prometheus_client import Counter as PCounter
    from prometheus_client import Gauge as PGauge
    from prometheus_client import Histogram as PHistogram
    from prometheus_client import Summary as PSummary

    from lexigram.monitor.metrics import Counter, Gauge, Histogram, Summary

    registry = CollectorRegistry()
    p_counter = PCounter("c", "c", registry=registry)
    p_labelled = PCounter("cl", "c", ["method", "status"], registry=registry)
    p_gauge = PGauge("g", "g", registry=registry)
    p_hist = PHistogram("h", "h", registry=registry)
    p_hist_l = PHistogram("hl", "h", ["method", "route"], registry=registry)
    p_summary = PSummary("s", "s", registry=registry)

    counter = Counter("c")
    labelled = Counter("cl")
    gauge = Gauge("g")
    hist = Histogram("h")
    hist_l = Histogram("hl")
    summary = Summary("s")

    def ours_inc(n: int) -> None:
        inc = counter.increment
        for _ in range(n):
            inc()

    def peer_inc(n: int) -> None:
        inc = p_counter.inc
        for _ in range(n):
            inc()

    def ours_labelled(n: int) -> None:
        inc = labelled.increment
        for _ in range(n):
            inc(labels={"method": "GET", "status": "200"})

    def peer_labelled(n: int) -> None:
        labels = p_labelled.labels
        for _ in range(n):
            labels("GET", "200").inc()

    def ours_gauge(n: int) -> None:
        set_ = gauge.set
        for _ in range(n):
            set_(3.0)

    def peer_gauge(n: int) -> None:
        set_ = p_gauge.set
        for _ in range(n):
            set_(3.0)

    def ours_hist(n: int) -> None:
        observe = hist.observe
        for _ in range(n):
            observe(0.3)

    def peer_hist(n: int) -> None:
        observe = p_hist.observe
        for _ in range(n):
            observe(0.3)

    def ours_hist_l(n: int) -> None:
        observe = hist_l.observe
        for _ in range(n):
            observe(0.3, labels={"method": "GET", "route": "/orders"})

    def peer_hist_l(n: int) -> None:
        labels = p_hist_l.labels
        for _ in range(n):
            labels("GET", "/orders").observe(0.3)

    def ours_summary(n: int) -> None:
        observe = summary.observe
        for _ in range(n):
            observe(0.3)

    def peer_summary(n: int) -> None:
        observe = p_summary.observe
        for _ in range(n):
            observe(0.3)

    return [
        ("counter increment (no labels)", ours_inc, peer_inc, 0.5),
        ("counter increment, 2 labels (dict vs .labels(a, b))", ours_labelled, peer_labelled, 0.5),
        ("gauge set", ours_gauge, peer_gauge, None),
        ("histogram observe (default buckets)", ours_hist, peer_hist, 0.7),
        ("histogram observe, 2 labels", ours_hist_l, peer_hist_l, 0.7),
        (
            "summary observe (ours: p50/p90/p99 sketch; peer: sum+count only)",
            ours_summary,
            peer_summary,
            None,
        ),
    ]


def _time(loop: Loop, ops: int) -> float:
    started = time.perf_counter_ns()
    loop(ops)
    return (time.perf_counter_ns() - started) / ops


def _rss_mib() -> float:
    try:
        import psutil

        return float(psutil.Process(os.getpid()).memory_info().rss) / 2**20
    except ImportError:  # fall back to /proc on Linux
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _speed() -> None:
    from importlib.metadata import version

    cases = _cases()
    for _, ours, peer, _ in cases:  # warm up: create series, fill caches
        ours(1000)
        peer(1000)
    print(
        f"prometheus_client {version('prometheus_client')}; {OPS:,} ops per run, "
        f"median of {REPEATS} interleaved runs; ratio = ours / prometheus_client"
    )
    print()
    print("| operation | lexigram ns/op | prometheus_client ns/op | ratio | target |")
    print("|---|---:|---:|---:|---:|")
    gc.disable()
    try:
        results: list[tuple[str, float, float, float | None]] = []
        samples: dict[str, tuple[list[float], list[float]]] = {c[0]: ([], []) for c in cases}
        for repeat in range(REPEATS):
            for name, ours, peer, _ in cases:
                mine, theirs = samples[name]
                if repeat % 2:
                    theirs.append(_time(peer, OPS))
                    mine.append(_time(ours, OPS))
                else:
                    mine.append(_time(ours, OPS))
                    theirs.append(_time(peer, OPS))
        for name, _, _, target in cases:
            mine, theirs = samples[name]
            results.append((name, statistics.median(mine), statistics.median(theirs), target))
    finally:
        gc.enable()
    for name, mine_ns, theirs_ns, target in results:
        ratio = mine_ns / theirs_ns
        goal = "—" if target is None else f"≤ {target}"
        mark = "" if target is None else (" ✓" if ratio <= target else " ✗")
        print(f"| {name} | {mine_ns:.0f} | {theirs_ns:.0f} | {ratio:.2f}{mark} | {goal} |")


def _memory() -> None:
    from lexigram.monitor.metrics import Histogram, Summary

    print()
    print(f"Memory: {MEMORY_OPS:,} observations each into one histogram and one summary")
    print()
    print("| instrument | RSS before (MiB) | RSS after (MiB) | growth (MiB) | seconds |")
    print("|---|---:|---:|---:|---:|")
    for cls in (Histogram, Summary):
        metric = cls("memory_" + cls.__name__.lower())
        observe = metric.observe
        for i in range(200_000):  # warm up: fill the observation ring and the sketch
            observe((i % 5000) * 0.002)
        gc.collect()
        before = _rss_mib()
        started = time.perf_counter()
        for i in range(MEMORY_OPS):
            observe((i % 5000) * 0.002)
        seconds = time.perf_counter() - started
        gc.collect()
        after = _rss_mib()
        print(
            f"| {cls.__name__} | {before:.1f} | {after:.1f} | {after - before:+.1f} | {seconds:.1f} |"
        )
        assert metric.get_count() == MEMORY_OPS + 200_000
        assert len(metric.get_observations()) == 1000


def main() -> None:
    """Print the hot-path table and the memory table."""
    _speed()
    _memory()
