"""End to end: the demo under ``uvicorn --workers 3`` and gunicorn with three
``UvicornWorker``s in multi-process mode, loaded by ``wrk``, one worker SIGKILLed and
replaced mid-run, scraped by the test and by a real Prometheus."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ._servers import (
    ServerProcess,
    StartPrometheus,
    host_port,
    launch,
    require_binary,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORKERS = 3
ROUTE = "/orders/{order_id}"
LOAD_SECONDS = 6
WAIT = 60.0
"""Seconds any condition of these tests gets (generous for a busy 2-core machine)."""
COUNTED_SUFFIXES = ("_total", "_count", "_bucket", "_sum")

# Each wrk thread has one connection and stops itself right after a response once its
# time is up, so no request is left in flight when wrk reports its count.
STOP_LUA = """
local deadline
function init(args)
  deadline = os.time() + tonumber(args[1])
end
function response(status, headers, body)
  if os.time() >= deadline then
    wrk.thread:stop()
  end
end
"""


def _until(what: str, probe: object, timeout: float = WAIT) -> object:
    """Call *probe* every 0.1 s until it returns something truthy; fail after *timeout*."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()  # type: ignore[operator]
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


def _children(pid: int) -> set[int]:
    """Live worker processes of the server *pid* (its children in ``/proc``, without
    multiprocessing's resource tracker)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = text[text.rfind(b")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] not in (b"Z", b"X"):
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in command:
                found.add(int(entry))
    return found


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]]:
    """Every sample of an exposition: (name, labels) -> (family type, value)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            out[key] = (family.type, sample.value)
    return out


def _route_total(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]], name: str
) -> float:
    return sum(
        value
        for (sample, labels), (_, value) in samples.items()
        if sample == name and ("route", ROUTE) in labels
    )


@dataclass
class Scraper:
    """Scrapes ``/metrics`` in a thread and checks that no counter ever goes down."""

    url: str
    scrapes: int = 0
    failures: list[str] = field(default_factory=list)
    last: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]] = field(
        default_factory=dict
    )
    _stop: threading.Event = field(default_factory=threading.Event)

    def check(self, text: str) -> None:
        samples = _samples(text)
        for key, (kind, value) in samples.items():
            if kind not in ("counter", "histogram", "summary"):
                continue
            if not key[0].endswith(COUNTED_SUFFIXES):
                continue
            before = self.last.get(key)
            if before is not None and value < before[1]:
                self.failures.append(f"{key} went down from {before[1]} to {value}")
        self.last = samples
        self.scrapes += 1

    def run(self) -> None:
        with httpx.Client(trust_env=False, timeout=10.0) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url + "/metrics")
                except httpx.HTTPError:
                    continue  # a killed worker's connection; the next scrape retries
                if response.status_code == 200:
                    self.check(response.text)
                self._stop.wait(0.15)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Scrape in a thread while the block runs."""
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(WAIT)


@dataclass
class Server:
    """A multi-worker server: its master process and base URL."""

    process: ServerProcess
    url: str

    @property
    def master(self) -> int:
        pid = self.process.pid
        assert pid is not None
        return pid

    def workers(self) -> set[int]:
        return _children(self.master)

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]]:
        response = httpx.get(self.url + "/metrics", trust_env=False, timeout=10.0)
        assert response.status_code == 200, response.text
        return _samples(response.text)

    def scraped_pids(self) -> set[int]:
        return {
            int(dict(labels)["pid"])
            for (name, labels), _ in self.scrape().items()
            if name == "process_cpu_seconds_total" and "pid" in dict(labels)
        }


def _argv(kind: str, port: int) -> list[str]:
    app = "tests.integration._mp_app:app"
    if kind == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", app, "--workers", str(WORKERS),
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker",
        "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
        "-c", str(REPO / "tests" / "integration" / "_gunicorn_conf.py"), app,
    ]  # fmt: skip


@pytest.fixture(params=["uvicorn", "gunicorn"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """The demo in multi-process mode under 3 workers, every worker up and writing."""
    shared = tmp_path / "shared"
    shared.mkdir()
    env = {**os.environ, "LEX_MONITOR__METRICS__MULTIPROCESS_DIR": str(shared)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    process, url = launch(
        request.param,
        tmp_path,
        lambda port: _argv(request.param, port),
        ready_path="/health/live",
        env=env,
        cwd=REPO,
    )
    running = Server(process, url)
    try:
        _until(
            f"{WORKERS} workers in the process metrics",
            lambda: (
                len(running.workers()) == WORKERS and running.workers() <= running.scraped_pids()
            ),
        )
        yield running
    finally:
        process.stop()


def _wrk(binary: str, url: str, workdir: Path, seconds: int) -> subprocess.Popen[str]:
    script = workdir / "stop.lua"
    script.write_text(STOP_LUA)
    argv = [
        binary, "-t", "8", "-c", "8", "-d", f"{seconds + 5}s", "--timeout", "20s",
        "-s", str(script), f"{url}/orders/7", "--", str(seconds),
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _answered(output: str) -> int:
    """Responses wrk received (its total; socket errors are not in it)."""
    found = re.search(r"(\d+) requests in", output)
    assert found is not None, output
    return int(found.group(1))


def _killed_window(output: str) -> int:
    """How many answered requests the SIGKILL may have left uncounted.

    A worker counts a request right after its response is sent; killed between the two,
    the client has the response and the count is gone with the process. Each such
    connection then fails on its next request, so wrk's read errors bound the loss."""
    found = re.search(r"Socket errors: connect \d+, read (\d+)", output)
    return int(found.group(1)) if found is not None else 0


def _busiest(pids: set[int]) -> int:
    """The worker holding the most descriptors (connections) right now."""
    return max(pids, key=lambda pid: len(os.listdir(f"/proc/{pid}/fd")))


def test_counts_stay_exact_and_monotonic_across_workers_and_a_sigkill(
    server: Server, prometheus_server: StartPrometheus, tmp_path: Path
) -> None:
    """Under wrk load, with one worker SIGKILLed and replaced mid-run: no counter goes
    down in any scrape (the test's, every 0.15 s, nor Prometheus': ``resets()`` is 0),
    every scrape after the load shows the same count, which is the requests wrk got
    answered up to the killed worker's race (see :func:`_killed_window`), and the process
    metrics show each live worker's pid and not the killed one."""
    wrk = require_binary("wrk", "wrk")
    prometheus = prometheus_server([host_port(server.url)], scrape_interval="1s")
    prometheus.wait_for('up{job="app"} == 1', timeout=WAIT)
    scraper = Scraper(server.url)
    with scraper.running():
        load = _wrk(wrk, server.url, tmp_path, LOAD_SECONDS)
        time.sleep(LOAD_SECONDS / 3)  # let the load build up before the kill
        before = server.workers()
        victim = _busiest(before)
        os.kill(victim, signal.SIGKILL)
        _until("a replacement worker", lambda: len(server.workers() - before) == 1)
        output, _ = load.communicate(timeout=LOAD_SECONDS + WAIT)
        answered = _answered(output)
        assert answered > 100, output
        scrapes_at_end = scraper.scrapes
        _until("two more scrapes", lambda: scraper.scrapes >= scrapes_at_end + 2)
    assert scraper.failures == [], scraper.failures[:5]

    totals = set()
    for _ in range(2 * WORKERS):  # the scrapes land on different workers
        samples = server.scrape()
        total = _route_total(samples, "http_requests_total")
        assert _route_total(samples, "http_request_duration_seconds_count") == total
        totals.add(total)
    assert len(totals) == 1, totals  # every worker serves the same merged view
    total = totals.pop()
    assert answered - _killed_window(output) <= total <= answered, output

    live = _until(
        "every live worker in the process metrics",
        lambda: server.workers() if server.workers() == server.scraped_pids() else None,
    )
    assert victim not in live  # type: ignore[operator]

    query = f'sum(http_requests_total{{route="{ROUTE}"}})'
    prometheus.wait_for(f"{query} == {total:g}", timeout=WAIT)
    names = prometheus.http.get("/api/v1/label/__name__/values").json()["data"]
    counted = [n for n in names if n.endswith(("_total", "_count", "_bucket"))]
    assert "http_requests_total" in counted, counted
    resets = {
        name: prometheus.query(f'sum(resets({name}{{job="app"}}[10m]))')[0]["value"][1]
        for name in counted
    }
    assert {name: n for name, n in resets.items() if n != "0"} == {}, resets
