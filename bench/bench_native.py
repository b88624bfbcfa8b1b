"""Native histograms: observe cost beside a classic histogram, the protobuf exposition
beside the text one, and the bucket bound over 10,000 distinct values.

- **observe, instructions** (callgrind, load-independent; needs Debian's valgrind): one
  ``observe`` of our classic histogram (14 default buckets) and of a native histogram
  (schema 3, without and with classic buckets), plus their bound handles; values cycle
  over 1,000 distinct durations between 1 ms and 10 s, so many buckets are touched.
  Counted as (count(6n) - count(n)) / 5n minus the bare loop; the loop runs inside a
  function (local names), so no module-dict lookup, whose probe count depends on the
  script's other globals, is counted with the call.
- **observe, wall clock**: the same calls timed alternately (classic, native, ...) in
  ``REPEATS`` rounds of ``CALLS`` calls; medians in ns per call and the ratio.
- **exposition**: ``render(collector)`` (text 0.0.4) against ``render(collector,
  accept=protobuf)`` over the same 10,000 series (``bench_exposition.build``: counters
  with two labels and classic histograms), then with the histograms native (classic
  buckets kept); alternated, medians in ms.
- **10,000 distinct values** (client_golang's design bounds a series by
  ``NativeHistogramMaxBucketNumber``): one series observes 10,000 distinct values over
  twelve orders of magnitude; the buckets held, the final schema and the memory the
  series holds (tracemalloc) are printed against ``max_buckets``.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from bench._callgrind import per_call
from bench.bench_exposition import build
from lexigram.monitor.backends.exporters.prometheus import PROTOBUF_CONTENT_TYPE, render
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import Histogram, MetricsCollector

CALLS = 20_000
REPEATS = 15
SERIES = 10_000
OBSERVE_TARGET = 1.2
EXPOSITION_TARGET = 1.0
VALUES = [0.001 * 10 ** (4 * k / 999) for k in range(1000)]

_SCRIPT = textwrap.dedent(
    """
    import sys
    case, n = sys.argv[1], int(sys.argv[2])
    from lexigram.monitor.metrics import Histogram
    values = [0.001 * 10 ** (4 * k / 999) for k in range(1000)]
    cycle = (values * (n // 1000 + 1))[:n]
    if case.startswith("classic"):
        h = Histogram("h")
    elif case.startswith("both"):
        h = Histogram("h", native=True, classic=True)
    else:
        h = Histogram("h", native=True)
    f = h.bind().observe if case.endswith("_bound") else h.observe
    def run(f, cycle, bare):
        if bare:
            for v in cycle: pass
        else:
            for v in cycle: f(v)
    run(f, cycle, case == "loop")
    """
)


def _instructions() -> None:
    if shutil.which("valgrind") is None:
        print("instructions: skipped (needs Debian's valgrind)")
        return
    with tempfile.TemporaryDirectory(prefix="lexigram-native-") as tmp:
        workdir = Path(tmp)
        script = workdir / "observe.py"
        script.write_text(_SCRIPT)
        loop = per_call("loop", script, workdir)
        print("| observe (callgrind) | instructions per call | ratio to classic |")
        print("|---|---:|---:|")
        for suffix, title in (("", "`observe(v)`"), ("_bound", "bound handle `observe(v)`")):
            classic = per_call("classic" + suffix, script, workdir) - loop
            print(f"| classic histogram, {title} | {classic:,.0f} | 1.00 |")
            for case, name in (("native", "native"), ("both", "native + classic buckets")):
                value = per_call(case + suffix, script, workdir) - loop
                ratio = value / classic
                if case == "native":
                    verdict = " ok" if ratio <= OBSERVE_TARGET else f" MISSED (<= {OBSERVE_TARGET})"
                else:  # both updates: the native one plus the classic one
                    verdict = " (native + classic update)"
                print(f"| {name}, {title} | {value:,.0f} | {ratio:.2f}{verdict} |")


def _per_call_ns(observe: Callable[[float], None]) -> float:
    values = (VALUES * (CALLS // len(VALUES) + 1))[:CALLS]
    start = time.perf_counter_ns()
    for value in values:
        observe(value)
    return (time.perf_counter_ns() - start) / CALLS


def _wall_clock() -> None:
    cases = {
        "classic": Histogram("classic").observe,
        "native": Histogram("native", native=True).observe,
        "native + classic buckets": Histogram("both", native=True, classic=True).observe,
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for observe in cases.values():
        _per_call_ns(observe)  # warm-up: every bucket exists
    for _ in range(REPEATS):
        for name, observe in cases.items():
            timings[name].append(_per_call_ns(observe))
    base = statistics.median(timings["classic"])
    print(f"\n| observe (wall clock, median of {REPEATS} x {CALLS:,}) | ns per call | ratio |")
    print("|---|---:|---:|")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"| {name} | {median:,.0f} | {median / base:.2f} |")


def _ms(fn: Callable[[], bytes]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1e6


def _native_collector(series: int) -> MetricsCollector:
    """*series* series like ``build``, the histograms native with classic buckets."""
    collector = MetricsCollector(MetricsConfig(max_series_per_metric=1_000))
    histograms = series // 100
    for c in range(0, series - histograms, 1_000):
        counter = collector.create_counter(f"http_requests_{c // 1_000}", "Requests.")
        for i in range(min(1_000, series - histograms - c)):
            counter.increment(i + 1, {"method": "GET", "path": f"/api/v1/items/{i}"})
    for h in range(0, histograms, 1_000):
        histogram = collector.create_histogram(
            f"request_duration_seconds_{h // 1_000}", "Duration.", native=True, classic=True
        )
        for i in range(min(1_000, histograms - h)):
            for k in range(20):
                histogram.observe(VALUES[(i * 37 + k * 53) % 1000], {"path": f"/items/{i}"})
    return collector


def _exposition() -> None:
    print(
        f"\n| exposition, {SERIES:,} series (median of {REPEATS}) | text ms | protobuf ms | ratio |"
    )
    print("|---|---:|---:|---:|")
    for title, collector in (
        ("counters + classic histograms", build(SERIES)[0]),
        ("counters + native histograms (classic kept)", _native_collector(SERIES)),
    ):
        text = lambda c=collector: render(c)[0]  # noqa: E731
        proto = lambda c=collector: render(c, accept=PROTOBUF_CONTENT_TYPE)[0]  # noqa: E731
        if render(collector, accept=PROTOBUF_CONTENT_TYPE)[1]["Content-Type"] != (
            PROTOBUF_CONTENT_TYPE
        ):
            raise AssertionError("protobuf was not negotiated")
        text(), proto()
        a: list[float] = []
        b: list[float] = []
        for _ in range(REPEATS):
            a.append(_ms(text))
            b.append(_ms(proto))
        mine, theirs = statistics.median(b), statistics.median(a)
        ratio = mine / theirs
        verdict = " ok" if ratio <= EXPOSITION_TARGET else f" MISSED (<= {EXPOSITION_TARGET})"
        print(f"| {title} | {theirs:,.1f} | {mine:,.1f} | {ratio:.2f}{verdict} |")


def _distinct_values() -> None:
    print(
        "\n| 10,000 distinct values, one series | max_buckets | buckets held | schema | KiB held |"
    )
    print("|---|---:|---:|---:|---:|")
    values = [10 ** (-6 + 12 * k / 9_999) for k in range(10_000)]
    for max_buckets in (160, 40):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        histogram = Histogram("h", native=True, max_buckets=max_buckets, max_observations=0)
        for value in values:
            histogram.observe(value)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        native = histogram.get_native_buckets()
        count = len(native.positive) + len(native.negative)
        verdict = "ok" if count <= max_buckets else "MISSED"
        print(
            f"| 1e-6 .. 1e6 ({verdict}) | {max_buckets} | {count} | {native.schema} "
            f"| {held / 1024:,.1f} |"
        )


def main() -> None:
    _instructions()
    _wall_clock()
    _exposition()
    _distinct_values()


if __name__ == "__main__":
    main()
