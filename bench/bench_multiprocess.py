"""Multi-process mode side by side with prometheus_client's (``PROMETHEUS_MULTIPROC_DIR``).

Both libraries decide their mode when they are set up, so everything runs in fresh
subprocesses with both directories set (this process may have imported
prometheus_client in its single-process mode already):

- updates: one process times counter increments (plain and with 2 labels) and
  histogram observes (default buckets) of both libraries, ``OPS`` calls per run,
  alternating which goes first, median of ``REPEATS`` runs;
- scrape: ``WORKERS`` writer processes each create the same ``SERIES`` series in both
  libraries (counters with 2 labels plus 1 % histograms with 2 labels) and stay alive;
  another process times a full text exposition of the merge: ours ``render()`` of a
  multi-process collector, theirs ``generate_latest`` over a ``MultiProcessCollector``,
  interleaved, median of ``SCRAPES`` runs. The same scrape of one writer's series is
  timed for reference.

Ratio = ours / prometheus_client (lower is better).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

OPS = 100_000
REPEATS = 7
WORKERS = 4
SERIES = 2_000
SCRAPES = 9

_SETUP = """
import os, sys, statistics, time, gc
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import MetricsCollector
collector = MetricsCollector(MetricsConfig(multiprocess_dir=os.environ["LEX_DIR"]))
import prometheus_client as pc
from prometheus_client import multiprocess
"""

_UPDATES = (
    _SETUP
    + """
OPS, REPEATS = int(sys.argv[1]), int(sys.argv[2])
registry = pc.CollectorRegistry()
p_counter = pc.Counter("c", "c", registry=registry)
p_labelled = pc.Counter("cl", "c", ["method", "status"], registry=registry)
p_hist = pc.Histogram("h", "h", registry=registry)
counter = collector.create_counter("c")
labelled = collector.create_counter("cl")
hist = collector.create_histogram("h")

def ours_inc(n):
    inc = counter.increment
    for _ in range(n):
        inc()
def peer_inc(n):
    inc = p_counter.inc
    for _ in range(n):
        inc()
def ours_labelled(n):
    inc = labelled.increment
    for _ in range(n):
        inc(labels={"method": "GET", "status": "200"})
def peer_labelled(n):
    labels = p_labelled.labels
    for _ in range(n):
        labels("GET", "200").inc()
def ours_hist(n):
    observe = hist.observe
    for _ in range(n):
        observe(0.3)
def peer_hist(n):
    observe = p_hist.observe
    for _ in range(n):
        observe(0.3)

cases = [
    ("counter increment (no labels)", ours_inc, peer_inc, 0.3),
    ("counter increment, 2 labels", ours_labelled, peer_labelled, 0.3),
    ("histogram observe (default buckets)", ours_hist, peer_hist, 0.3),
]
def timed(loop):
    started = time.perf_counter_ns()
    loop(OPS)
    return (time.perf_counter_ns() - started) / OPS
for _, ours, peer, _ in cases:
    ours(1000); peer(1000)
gc.disable()
rows = []
for name, ours, peer, target in cases:
    mine, theirs = [], []
    for repeat in range(REPEATS):
        if repeat % 2:
            theirs.append(timed(peer)); mine.append(timed(ours))
        else:
            mine.append(timed(ours)); theirs.append(timed(peer))
    rows.append([name, statistics.median(mine), statistics.median(theirs), target])
print(json.dumps(rows))
"""
).replace("import os, sys", "import json, os, sys")

_WRITER = (
    _SETUP
    + """
SERIES = int(sys.argv[1])
hist_every = 100
p_counter = pc.Counter("bench_requests", "Requests.", ["route", "status"])
p_hist = pc.Histogram("bench_latency_seconds", "Latency.", ["route", "method"])
counter = collector.create_counter("bench_requests", "Requests.")
hist = collector.create_histogram("bench_latency_seconds", "Latency.")
for i in range(SERIES):
    if i % hist_every == 0:
        p_hist.labels(f"/r{i}", "GET").observe(0.2)
        hist.observe(0.2, {"route": f"/r{i}", "method": "GET"})
    else:
        p_counter.labels(f"/r{i}", "200").inc()
        counter.increment(1, {"route": f"/r{i}", "status": "200"})
print("ready", flush=True)
sys.stdin.read()
"""
)

_SCRAPER = (
    _SETUP
    + """
from lexigram.monitor.backends.exporters._exposition import render
SCRAPES = int(sys.argv[1])
registry = pc.CollectorRegistry()
multiprocess.MultiProcessCollector(registry)
def ours():
    started = time.perf_counter()
    body, _ = render(collector)
    return (time.perf_counter() - started) * 1000, body.count(b"\\n")
def peer():
    started = time.perf_counter()
    body = pc.generate_latest(registry)
    return (time.perf_counter() - started) * 1000, body.count(b"\\n")
ours(); peer()
mine, theirs = [], []
for repeat in range(SCRAPES):
    pair = (peer, ours) if repeat % 2 else (ours, peer)
    for side in pair:
        (mine if side is ours else theirs).append(side())
lines = (mine[0][1], theirs[0][1])
print(json.dumps([statistics.median(m for m, _ in mine), statistics.median(t for t, _ in theirs), lines]))
"""
).replace("import os, sys", "import json, os, sys")


def _env(lex_dir: Path, peer_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LEX_DIR"] = str(lex_dir)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(peer_dir)
    env.pop("LEX_MONITOR__METRICS__MULTIPROCESS_DIR", None)
    return env


def _run(code: str, env: dict[str, str], *args: object) -> object:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _scrape(workers: int) -> tuple[float, float, tuple[int, int]]:
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        env = _env(Path(ours), Path(theirs))
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, str(SERIES)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        try:
            for writer in writers:
                assert writer.stdout is not None
                if writer.stdout.readline().strip() != "ready":
                    raise RuntimeError("a writer process failed to start")
            mine, theirs_ms, lines = _run(_SCRAPER, env, SCRAPES)  # type: ignore[misc]
        finally:
            for writer in writers:
                writer.communicate("")
    return mine, theirs_ms, tuple(lines)


def main() -> None:
    from importlib.metadata import version

    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        rows = _run(_UPDATES, _env(Path(ours), Path(theirs)), OPS, REPEATS)
    print(
        f"prometheus_client {version('prometheus_client')} multiprocess mode; "
        f"{OPS:,} ops per run, median of {REPEATS} interleaved runs; ratio = ours / theirs"
    )
    print()
    print(
        "| operation (multi-process mode) | lexigram ns/op | prometheus_client ns/op | ratio | target |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, mine, theirs_ns, target in rows:  # type: ignore[attr-defined]
        ratio = mine / theirs_ns
        mark = " ✓" if ratio <= target else " ✗"
        print(f"| {name} | {mine:.0f} | {theirs_ns:.0f} | {ratio:.2f}{mark} | ≤ {target} |")
    for workers, target in ((1, None), (WORKERS, 0.5)):
        mine_ms, theirs_ms, (mine_lines, theirs_lines) = _scrape(workers)
        ratio = mine_ms / theirs_ms
        goal = "—" if target is None else f"≤ {target}"
        mark = "" if target is None else (" ✓" if ratio <= target else " ✗")
        print(
            f"| scrape (text), {workers} worker(s) x {SERIES:,} series "
            f"({mine_lines:,} / {theirs_lines:,} lines), ms | {mine_ms:.1f} | {theirs_ms:.1f} "
            f"| {ratio:.2f}{mark} | {goal} |"
        )
