"""Instructions per request and per metric update, counted by callgrind (load-independent).

Wall-clock figures on a shared machine scatter; instruction counts do not: the same
binary, inputs and environment give the same count whatever else runs. Two parts:

- **HTTP**: each app of ``bench/_http_apps.py`` (bare Starlette, then our two
  middlewares) runs in one uvicorn process (uvloop + httptools, no access log) under
  ``valgrind --tool=callgrind`` with collection off; after a warm-up of
  ``BENCH_CG_WARMUP`` requests, collection is switched on (``callgrind_control -i on``),
  ``BENCH_CG_REQUESTS`` requests are sent over one keep-alive connection (alternating
  ``GET /`` and ``GET /items/<0..99>``, the mix of the wrk benchmark), and collection is
  switched off again. Instructions per request = the collected total / requests; the
  excess over bare Starlette is the middleware's cost, user space of the server process.
- **Updates**: one counter increment, labelled increment, histogram observe and
  ``BoundPair.record``, each counted as the difference between a loop of N and of 6N
  calls (loop overhead subtracted), ours beside prometheus_client's equivalent.
- **Span buffer**: ``OTelMiddleware`` around a bare ASGI app, called in process (every
  request sampled), with the tracer keeping its last 100 and its last 1,000 ended spans
  (``TracingConfig.max_spans``): instructions per request, counted the same way.

``PYTHONHASHSEED=0`` everywhere. Needs Debian's ``valgrind`` (skipped with a message
otherwise); about two minutes.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench._callgrind import ENV, ROOT, collected, per_call

WARMUP = int(os.environ.get("BENCH_CG_WARMUP", "500"))
REQUESTS = int(os.environ.get("BENCH_CG_REQUESTS", "2000"))
APPS = ("bare_starlette", "lexigram_prometheus_app", "lexigram_otel_app")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _send(port: int, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for n in range(count):
            path = "/" if n % 2 else f"/items/{(n // 2) % 100}"
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}")
    finally:
        connection.close()


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            _send(port, 1)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def per_request(app: str, workdir: Path) -> float:
    """Instructions per request of *app* inside one uvicorn process."""
    port = _free_port()
    out = workdir / f"{app}.%p.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "uvicorn",
        f"bench._http_apps:{app}",
        "--factory",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port, process)
        _send(port, WARMUP)
        _control(process.pid, "-i", "on")
        _send(port, REQUESTS)
        _control(process.pid, "-i", "off")
    finally:
        process.terminate()
        process.wait(timeout=120)
    outputs = list(workdir.glob(f"{app}.*.out*"))
    total = sum(collected(path) for path in outputs)
    for path in outputs:
        path.unlink()
    return total / REQUESTS


_UPDATES = textwrap.dedent(
    """
    import sys
    case, n = sys.argv[1], int(sys.argv[2])
    labels = {"method": "GET", "status": "200"}
    if case.startswith("peer"):
        from prometheus_client import CollectorRegistry, Counter, Histogram
        registry = CollectorRegistry()
        counter = Counter("c", "c", registry=registry)
        labelled = Counter("cl", "c", ["method", "status"], registry=registry)
        histogram = Histogram("h", "h", registry=registry)
        if case == "peer_counter":
            f = counter.inc
            for _ in range(n): f()
        elif case == "peer_labelled":
            for _ in range(n): labelled.labels("GET", "200").inc()
        elif case == "peer_histogram":
            f = histogram.observe
            for _ in range(n): f(0.2)
    else:
        from lexigram.monitor.metrics import Counter, Histogram
        from lexigram.monitor.metrics.bound import BoundPair
        counter, labelled, histogram = Counter("c"), Counter("cl"), Histogram("h")
        pair = BoundPair(labelled.bind(labels), histogram.bind(labels))
        if case == "counter":
            f = counter.increment
            for _ in range(n): f()
        elif case == "labelled":
            f = labelled.increment
            for _ in range(n): f(1, labels)
        elif case == "histogram":
            f = histogram.observe
            for _ in range(n): f(0.2)
        elif case == "pair":
            f = pair.record
            for _ in range(n): f(0.2)
        elif case == "loop":
            for _ in range(n): pass
    """
)


_SPANS = textwrap.dedent(
    """
    import asyncio, sys
    from lexigram.monitor.config import TracingConfig
    from lexigram.monitor.metrics import MetricsCollector
    from lexigram.monitor.middleware import OTelMiddleware
    from lexigram.monitor.tracing import Tracer
    case, n = sys.argv[1], int(sys.argv[2])
    config = TracingConfig(sampler_type="always_on")
    tracer = Tracer("bench", None, max_spans=int(case.split("_")[1]), config=config)
    async def bare(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    app = OTelMiddleware(bare, tracer=tracer, collector=MetricsCollector())
    scopes = [
        {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
         "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
         "root_path": "", "headers": [(b"host", b"x")], "client": ("10.0.0.7", 5000),
         "server": ("10.0.0.1", 8000)}
        for path in ("/", *(f"/items/{i}" for i in range(100)))
    ]
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        pass
    async def run():
        for i in range(n):
            await app(dict(scopes[i % len(scopes)]), receive, send)
    asyncio.run(run())
    """
)


def main() -> None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("skipped: needs Debian's valgrind (callgrind, callgrind_control)")
        return
    with tempfile.TemporaryDirectory(prefix="lexigram-cg-") as tmp:
        workdir = Path(tmp)
        script = workdir / "updates.py"
        script.write_text(_UPDATES)
        loop = per_call("loop", script, workdir)
        print("| update | lexigram instr/call | prometheus_client instr/call | ratio |")
        print("|---|---:|---:|---:|")
        for ours, peer, title in (
            ("counter", "peer_counter", "counter increment"),
            ("labelled", "peer_labelled", "counter increment, 2 labels"),
            ("histogram", "peer_histogram", "histogram observe"),
        ):
            a = per_call(ours, script, workdir) - loop
            b = per_call(peer, script, workdir) - loop
            print(f"| {title} | {a:,.0f} | {b:,.0f} | {a / b:.2f} |")
        pair = per_call("pair", script, workdir) - loop
        print(f"| `BoundPair.record` (count + observe) | {pair:,.0f} | | |")
        print()
        spans = workdir / "spans.py"
        spans.write_text(_SPANS)
        print("OTelMiddleware in process, every request sampled, by the tracer's span buffer:")
        print("| ended spans kept | instructions per request | ratio to 100 |")
        print("|---:|---:|---:|")
        kept = {size: per_call(f"spans_{size}", spans, workdir, 2000) for size in (100, 1000)}
        for size, value in kept.items():
            print(f"| {size:,} | {value:,.0f} | {value / kept[100]:.3f} |")
        print()
        print(f"HTTP, {REQUESTS} requests after {WARMUP} of warm-up, uvicorn (uvloop, httptools):")
        print("| app | instructions per request | over bare |")
        print("|---|---:|---:|")
        bare = None
        for app in APPS:
            value = per_request(app, workdir)
            bare = value if bare is None else bare
            print(f"| {app} | {value / 1000:,.1f}k | {(value - bare) / 1000:+,.1f}k |")


if __name__ == "__main__":
    main()
