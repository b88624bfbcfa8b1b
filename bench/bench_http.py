"""HTTP middleware overhead: the apps of ``bench/_http_apps.py`` under ``wrk`` load.

Each available app runs in its own uvicorn process (uvloop, httptools, 1 worker, no access
log) on a free loopback port; all are started first and warmed up. Then, in rounds, every
app is loaded by ``wrk`` back to back with its bare framework app (the pair's order
alternates, the apps' order rotates from round to round), so each comparison is made
between two runs a few seconds apart. Per app it reports the median req/s, its share of
the bare app's req/s (median of the per-pair ratios), the median p99 latency and the
server's CPU time per request (psutil ``cpu_times`` delta / requests), also as the
excess over the bare app and as a capacity share (bare CPU/req over the app's).
Requests alternate between ``GET /`` and ``GET /items/<n>`` over 100 item ids (one route
template, many paths).

Environment knobs: ``BENCH_HTTP_SECONDS`` (2 per run), ``BENCH_HTTP_ROUNDS`` (8),
``BENCH_HTTP_CONNECTIONS`` (32), ``BENCH_HTTP_PIN`` (1: with two or more CPUs the servers
run on the first CPU and ``wrk`` on the others, so a server never competes with the load
generator for a core; 0: no pinning), ``BENCH_HTTP_APPS`` (comma-separated factory names
from ``bench/_http_apps.py``, e.g. ``lexigram_prometheus_app``; default: all; the
baseline of a chosen app is always added). Apps with a target run two pairs per round.
The whole run stops starting new load runs after ``BENCH_HTTP_BUDGET`` seconds (260),
so it stays under five minutes.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench._http_apps import APPS, AppSpec, missing

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Lua for wrk: alternate "/" and "/items/<0..99>", then print one machine-readable line.
_WRK_SCRIPT = """
local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then
    return wrk.format("GET", "/")
  end
  return wrk.format("GET", "/items/" .. (math.floor(n / 2) % 100))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LEXBENCH %d %d %d %d %d %d %d %.1f\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Run:
    """One wrk run against one app."""

    requests: int
    seconds: float
    errors: int
    p99_us: float
    cpu_seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.requests * 1e6 if self.requests else float("nan")


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(
            f"{name}={raw!r} is not a number; unset it or give e.g. {default}"
        ) from None
    if value <= 0:
        raise SystemExit(f"{name}={raw!r} must be positive; unset it or give e.g. {default}")
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_split() -> tuple[set[int], set[int]] | None:
    """(server CPUs, load CPUs) when pinning is on and possible, else None."""
    if _env_number("BENCH_HTTP_PIN", 1) == 0 or not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


class AppServer:
    """One app served by uvicorn in a subprocess; stopped by pid (TERM, then KILL)."""

    def __init__(self, spec: AppSpec, log_dir: Path, cpus: set[int] | None = None) -> None:
        self.spec = spec
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{spec.factory}.log"
        argv = [
            sys.executable, "-m", "uvicorn", f"bench._http_apps:{spec.factory}", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--loop", "uvloop", "--http", "httptools", "--lifespan", "auto",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if cpus is not None:
            os.sched_setaffinity(self.proc.pid, cpus)

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self) -> None:
        """Wait until both routes answer correctly; raise RuntimeError with the log tail."""
        import httpx

        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(base_url=self.url, trust_env=False, timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    root = client.get("/")
                    item = client.get("/items/7")
                except httpx.HTTPError:
                    pass  # not listening yet
                else:
                    if root.status_code == 200 and root.text == "ok" and item.json()["id"] == 7:
                        return
                    raise RuntimeError(
                        f"wrong answers: / -> {root.status_code} {root.text[:80]!r}, "
                        f"/items/7 -> {item.status_code} {item.text[:80]!r}"
                    )
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"not ready in {STARTUP_TIMEOUT:.0f} s:\n{self.log_tail()}")
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        import psutil

        try:
            times = psutil.Process(self.proc.pid).cpu_times()
        except psutil.Error as exc:
            raise RuntimeError(f"server process gone ({exc}):\n{self.log_tail()}") from exc
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)


def _load(wrk: str, script: Path, server: AppServer, seconds: float, connections: int) -> Run:
    """Run wrk against *server* for *seconds*; measure the server's CPU over the run."""
    argv = [
        wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
        "-s", str(script), server.url,
    ]  # fmt: skip
    cpu_before = server.cpu_seconds()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu_after = server.cpu_seconds()
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("LEXBENCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    requests, duration_us, *errors, p99 = line.split()[1:]
    return Run(
        requests=int(requests),
        seconds=int(duration_us) / 1e6,
        errors=sum(int(e) for e in errors),
        p99_us=float(p99),
        cpu_seconds=cpu_after - cpu_before,
    )


def _table(
    results: dict[str, list[Run]],
    pairs: dict[str, list[tuple[Run, Run]]],
    notes: dict[str, str],
) -> str:
    """Markdown table per app: req/s, its share of the bare app's req/s, p99, server CPU
    per request, the CPU added over the bare app, and the capacity share by CPU
    (bare CPU/req divided by the app's), with the target.

    Comparisons with the baseline are medians of per-pair ratios/differences, each pair
    an app run and the baseline run right next to it, which cancels most of the drift of
    a shared machine; the CPU figures count only the server's own time.
    """
    by_factory = {spec.factory: spec for spec in APPS}
    rows = [
        "| app | baseline | req/s | req/s % of bare | p99 ms | CPU µs/req "
        "| CPU µs/req over bare | capacity % of bare (CPU) | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for spec in APPS:
        if spec.name not in results and spec.name not in notes:
            continue  # not chosen (BENCH_HTTP_APPS)
        baseline = by_factory[spec.baseline].name
        runs = results.get(spec.name, [])
        if not runs:
            note = notes.get(spec.name, "not run")
            rows.append(f"| {spec.name} | {baseline} | {note} | | | | | | {spec.target} |")
            continue
        paired = [(run, bare) for run, bare in pairs.get(spec.name, []) if bare.requests]
        if spec.baseline == spec.factory:
            paired = [(run, run) for run in runs if run.requests]
        share = extra = capacity = "n/a"
        if paired:
            rps_ratio = statistics.median(run.rps / bare.rps for run, bare in paired)
            cpu_added = statistics.median(
                run.cpu_us_per_request - bare.cpu_us_per_request for run, bare in paired
            )
            cpu_ratio = statistics.median(
                bare.cpu_us_per_request / run.cpu_us_per_request for run, bare in paired
            )
            share = f"{100 * rps_ratio:.0f} %"
            extra = f"{cpu_added:+.0f}"
            capacity = f"{100 * cpu_ratio:.0f} %"
        rps = statistics.median(r.rps for r in runs)
        p99_ms = statistics.median(r.p99_us for r in runs) / 1000
        cpu = statistics.median(r.cpu_us_per_request for r in runs)
        errors = sum(r.errors for r in runs)
        flag = f" ({errors} errors)" if errors else ""
        rows.append(
            f"| {spec.name}{flag} | {baseline} | {rps:,.0f} | {share} | {p99_ms:.2f} "
            f"| {cpu:.0f} | {extra} | {capacity} | {spec.target} |"
        )
    return "\n".join(rows)


def _chosen_apps() -> list[AppSpec]:
    """The apps named in ``BENCH_HTTP_APPS`` plus their baselines (all when unset)."""
    raw = os.environ.get("BENCH_HTTP_APPS", "").strip()
    if not raw:
        return list(APPS)
    wanted = {name.strip() for name in raw.split(",") if name.strip()}
    known = {spec.factory for spec in APPS}
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(
            f"BENCH_HTTP_APPS names unknown apps {unknown}; choose from {sorted(known)}"
        )
    wanted |= {spec.baseline for spec in APPS if spec.factory in wanted}
    return [spec for spec in APPS if spec.factory in wanted]


def main() -> None:
    """Benchmark every available app; print the settings, per-round figures and the table."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed (Debian package 'wrk'; .ci/run installs it): skipping http")
        return
    seconds = _env_number("BENCH_HTTP_SECONDS", 2)
    rounds = int(_env_number("BENCH_HTTP_ROUNDS", 8))
    connections = int(_env_number("BENCH_HTTP_CONNECTIONS", 32))
    budget = _env_number("BENCH_HTTP_BUDGET", 260)
    print(
        f"wrk -t1 -c{connections} -d{seconds:g}s --latency; {rounds} rounds, each app back to "
        "back with its bare app; uvicorn 1 worker, uvloop + httptools, no access log; "
        "requests alternate / and /items/<n>"
    )

    notes: dict[str, str] = {}
    results: dict[str, list[Run]] = {}
    pairs: dict[str, list[tuple[Run, Run]]] = {}
    chosen = _chosen_apps()
    split = _cpu_split()
    if split is not None:
        server_cpus, load_cpus = split
        os.sched_setaffinity(0, load_cpus)  # wrk inherits it
        print(f"servers pinned to CPU {sorted(server_cpus)}, wrk to CPU {sorted(load_cpus)}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp, ExitStack() as stack:
        script = Path(tmp) / "mix.lua"
        script.write_text(_WRK_SCRIPT)
        servers: list[AppServer] = []
        for spec in chosen:
            reason = missing(spec)
            if reason is not None:
                notes[spec.name] = f"not available: {reason}"
                continue
            server = AppServer(spec, Path(tmp), None if split is None else split[0])
            stack.callback(server.stop)
            servers.append(server)
        ready: list[AppServer] = []
        for server in servers:
            try:
                server.wait_ready()
                _load(wrk, script, server, 1, connections)  # warm-up, discarded
            except RuntimeError as exc:
                notes[server.spec.name] = "failed to start"
                print(f"{server.spec.name}: {exc}", file=sys.stderr)
                continue
            ready.append(server)

        by_factory = {server.spec.factory: server for server in ready}
        compared = [s for s in ready if s.spec.baseline != s.spec.factory]
        compared = [s for s in compared if s.spec.baseline in by_factory]
        for round_no in range(rounds):
            shift = round_no % len(compared) if compared else 0
            figures: list[str] = []
            # apps with a target get two pairs per round: twice the samples for a verdict
            queue: list[AppServer] = []
            for server in compared[shift:] + compared[:shift]:
                queue += [server] * (2 if server.spec.target else 1)
            for index, server in enumerate(queue):
                if time.monotonic() - started > budget:
                    figures.append(f"{server.spec.name}: skipped (time budget)")
                    continue
                base = by_factory[server.spec.baseline]
                # the pair runs back to back, in alternating order
                order = (base, server) if (round_no + index) % 2 == 0 else (server, base)
                try:
                    done = {s.spec.name: _load(wrk, script, s, seconds, connections) for s in order}
                except RuntimeError as exc:
                    figures.append(f"{server.spec.name}: failed")
                    print(f"{server.spec.name}: {exc}", file=sys.stderr)
                    continue
                run, bare = done[server.spec.name], done[base.spec.name]
                results.setdefault(server.spec.name, []).append(run)
                results.setdefault(base.spec.name, []).append(bare)
                pairs.setdefault(server.spec.name, []).append((run, bare))
                figures.append(f"{server.spec.name} {100 * run.rps / max(bare.rps, 1):.0f} %")
            print(f"round {round_no + 1} (% of bare req/s): " + "; ".join(figures))

    for name, reason in notes.items():
        print(f"{name}: {reason}")
    print()
    print(_table(results, pairs, notes))


if __name__ == "__main__":
    main()
