"""Per-worker process metrics of the multi-process mode: a worker that is gone is left
out of the per-worker CPU series instead of falling back to a lower value."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lexigram.monitor.metrics import _procstats
from lexigram.monitor.metrics._procstats import ProcessReading, process_families, read_process

HAS_PROC = Path("/proc/self/stat").exists()


def _cpu_series(families: list[_procstats.Family]) -> dict[str, float]:
    for kind, name, _, snapshots in families:
        if name == "process_cpu_seconds_total":
            assert kind == "counter"
            return {
                dict(zip(s.label_names, s.label_values, strict=True)).get("pid", ""): s.value
                for s in snapshots
            }
    raise AssertionError("no process_cpu_seconds_total family")


def _reading(cpu: float | None) -> ProcessReading:
    reading = ProcessReading()
    reading.cpu = cpu
    return reading


def _record(cpu: float) -> list[float]:
    return [cpu] + [0.0] * (_procstats.CELLS - 1)


@pytest.mark.skipif(not HAS_PROC, reason="needs /proc")
def test_cpu_is_the_larger_reading_and_a_gone_worker_is_left_out() -> None:
    """A live worker's CPU is the larger of /proc and its record; a worker whose /proc
    entry cannot be read any more has no per-worker CPU series (its record alone may be
    lower than what was shown, a false counter reset), while the total keeps every
    record."""
    readings = {1: _reading(0.47), 2: _reading(None), 3: _reading(0.10)}
    live = {1: _record(0.44), 2: _record(0.45), 3: _record(0.20)}
    families = process_families(live, _record(1.5), 0.0, read=readings.__getitem__)
    assert _cpu_series(families) == {"1": 0.47, "3": 0.20, "": 1.5}


@pytest.mark.skipif(not HAS_PROC or not hasattr(os, "fork"), reason="needs /proc and fork")
def test_an_exited_unreaped_process_reads_as_gone() -> None:
    """A child that has exited but is not reaped yet (a zombie) gives no CPU reading."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child exits at once
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}/stat").read_bytes().split(b") ")[1][:1] != b"Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        assert read_process(pid).cpu is None
        assert read_process(os.getpid()).cpu is not None
    finally:
        os.waitpid(pid, 0)
