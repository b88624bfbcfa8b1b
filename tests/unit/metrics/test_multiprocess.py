"""Multi-process mode: shared files per worker, the merged service view, compaction of
dead workers, bad directories, fork safety (``metrics.multiprocess``)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import MetricsCollector, _update, set_exemplar_source
from lexigram.monitor.metrics import multiprocess as mp
from lexigram.monitor.metrics._shared import ARCHIVE_NAME, encode_header
from lexigram.monitor.metrics.bound import BoundPair

CHILD = """
import os, sys
from lexigram.monitor.config import MetricsConfig
from lexigram.monitor.metrics import MetricsCollector, set_exemplar_source
collector = MetricsCollector(MetricsConfig(multiprocess_dir=sys.argv[1]))
{body}
"""


def _collector(directory: Path, service: str | None = None) -> MetricsCollector:
    return MetricsCollector(
        MetricsConfig(multiprocess_dir=str(directory), multiprocess_service=service)
    )


def _child(directory: Path, body: str) -> None:
    """Run *body* in a fresh interpreter with a multi-process collector; it exits."""
    code = CHILD.format(body=textwrap.dedent(body))
    done = subprocess.run(
        [sys.executable, "-c", code, str(directory)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _view(collector: MetricsCollector) -> dict[str, Any]:
    """name -> {label tuple: snapshot} of the merged view (process metrics left out)."""
    out: dict[str, Any] = {}
    for instrument in collector.exposed_instruments(process_metrics=False):
        out[instrument.name] = {
            tuple(zip(s.label_names, s.label_values, strict=True)): s for s in instrument.collect()
        }
    return out


def test_off_unless_a_directory_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the setting or the environment variable there is no multi-process mode."""
    monkeypatch.delenv(mp.ENV_DIR, raising=False)
    assert mp.settings(MetricsConfig()) is None
    assert MetricsCollector().multiprocess is None


def test_the_environment_variable_switches_it_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``LEX_MONITOR__METRICS__MULTIPROCESS_DIR`` alone turns the mode on for a collector
    made without a config; the service directory is ``<dir>/default``."""
    monkeypatch.setenv(mp.ENV_DIR, str(tmp_path))
    collector = MetricsCollector()
    assert collector.multiprocess is not None
    assert collector.multiprocess.directory == tmp_path / "default"
    collector.create_counter("hits").increment()
    assert _view(collector)["hits"][()].value == 1


def test_a_missing_directory_is_a_clear_start_up_error(tmp_path: Path) -> None:
    """A missing directory (or a file in its place) fails at creation, naming the path
    and the fix; so does an invalid service name."""
    missing = tmp_path / "nope"
    with pytest.raises(mp.MultiprocessError, match=r"does not exist.*mkdir -p"):
        _collector(missing)
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(mp.MultiprocessError, match="not a directory"):
        _collector(afile)
    with pytest.raises(mp.MultiprocessError, match="service name"):
        _collector(tmp_path, "../escape")


def test_an_unwritable_directory_is_a_clear_start_up_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory the process cannot write fails at creation, naming the fix."""
    monkeypatch.setattr(mp.os, "access", lambda path, mode: False)
    with pytest.raises(mp.MultiprocessError, match="not writable"):
        _collector(tmp_path)


def test_bad_gauge_modes_are_refused(tmp_path: Path) -> None:
    """A gauge mode outside the documented six is an error, in either mode."""
    with pytest.raises(mp.MultiprocessError, match="multiprocess_mode 'avg'"):
        MetricsCollector().create_gauge("g", multiprocess_mode="avg")
    gauge = _collector(tmp_path).create_gauge("in_flight", multiprocess_mode="live_sum")
    assert gauge.multiprocess_mode == "live_sum"  # type: ignore[attr-defined]


def test_every_update_path_writes_the_shared_cells(tmp_path: Path, update_mode: bool) -> None:
    """Counters, gauges, histograms, summaries, bound handles and BoundPair update the
    shared cells, lock-free and locked alike; the process's own readers still work."""
    collector = _collector(tmp_path)
    counter = collector.create_counter("requests")
    histogram = collector.create_histogram("latency", buckets=[0.1, 1.0])
    gauge = collector.create_gauge("depth", multiprocess_mode="sum")
    summary = collector.create_summary("size")
    counter.increment()
    counter.increment(2, {"code": "200"})
    counter.bind({"code": "500"}).increment(3)
    histogram.observe(0.05)
    histogram.bind({"code": "200"}).observe(5)
    pair = BoundPair(counter.bind({"code": "201"}), histogram.bind({"code": "201"}))
    assert type(pair).__name__ == "SharedBoundPair"
    pair.record(0.5)
    gauge.set(7)
    gauge.increment(2)
    handle = gauge.bind({"queue": "a"})
    token = handle.enter()
    handle.enter()
    handle.leave(token)
    summary.observe(3)
    summary.observe(5)
    threads = [threading.Thread(target=lambda: [counter.increment() for _ in range(2000)])]
    threads += [threading.Thread(target=lambda: [counter.increment() for _ in range(2000)])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert counter.get_count() == 4001
    assert histogram.get_bucket_counts() == {0.1: 1, 1.0: 1, float("inf"): 1}
    assert summary.get_count() == 2
    assert summary.get_sum() == 8
    view = _view(collector)
    assert view["requests"][()].value == 4001
    assert view["requests"][(("code", "500"),)].value == 3
    assert view["requests"][(("code", "201"),)].value == 1
    latency = view["latency"][(("code", "201"),)]
    assert (latency.counts, latency.sum, latency.count) == ((0, 1, 1), 0.5, 1)
    assert view["depth"][()].value == 9
    assert view["depth"][(("queue", "a"),)].value == 1
    assert (view["size"][()].count, view["size"][()].sum) == (2, 8)


def test_workers_are_merged_by_rule(tmp_path: Path) -> None:
    """Two worker processes that exited and this one: counters, histogram buckets and
    sums, summary counts and sums add up; gauges follow their declared mode (dead
    workers keep ``sum``/``max``/``min``/``latest`` values, drop out of ``live_sum`` and
    ``all``); the newest exemplar is kept."""
    body = """
    set_exemplar_source(lambda: ("{trace}", "00f067aa0ba902b7"))
    collector.create_counter("jobs").increment({n})
    collector.create_histogram("dur", buckets=[1.0]).observe({n})
    collector.create_summary("payload").observe({n})
    for mode in ("sum", "max", "min", "latest", "live_sum", "all"):
        collector.create_gauge("g_" + mode, multiprocess_mode=mode).set({n})
    """
    _child(tmp_path, body.format(n=2, trace="a" * 32))
    _child(tmp_path, body.format(n=5, trace="b" * 32))
    collector = _collector(tmp_path)
    collector.create_counter("jobs").increment(1)
    collector.create_gauge("g_live_sum", multiprocess_mode="live_sum").set(10)
    collector.create_gauge("g_all", multiprocess_mode="all").set(10)
    view = _view(collector)
    jobs = view["jobs"][()]
    assert jobs.value == 8
    assert jobs.exemplar is not None
    assert jobs.exemplar.trace_id == "b" * 32
    duration = view["dur"][()]
    assert (duration.counts, duration.sum, duration.count) == ((0, 2), 7.0, 2)
    assert (view["payload"][()].count, view["payload"][()].sum) == (2, 7.0)
    assert view["g_sum"][()].value == 7
    assert view["g_max"][()].value == 5
    assert view["g_min"][()].value == 2
    assert view["g_latest"][()].value == 5
    assert view["g_live_sum"][()].value == 10
    assert list(view["g_all"]) == [(("pid", str(os.getpid())),)]
    names = sorted(os.listdir(tmp_path / "default"))
    assert ARCHIVE_NAME in names
    assert len([n for n in names if n.startswith("w-")]) == 1  # only this process


def test_a_crash_after_the_archive_rename_never_counts_twice(tmp_path: Path) -> None:
    """A worker file the archive already absorbed (a compaction died before deleting it)
    is skipped by the merge and deleted by the next compaction."""
    _child(tmp_path, 'collector.create_counter("jobs").increment(4)')
    service = tmp_path / "default"
    worker = next(n for n in os.listdir(service) if n.startswith("w-"))
    shutil.copy(service / worker, tmp_path / "saved")
    collector = _collector(tmp_path)
    assert _view(collector)["jobs"][()].value == 4
    shutil.copy(tmp_path / "saved", service / worker)  # the leftover reappears
    assert _view(collector)["jobs"][()].value == 4
    assert worker not in os.listdir(service)


def test_foreign_and_corrupt_files_are_skipped_and_counted(tmp_path: Path) -> None:
    """Garbage with a worker's name, a stranger's file and another service's file are
    left out of the totals, logged and counted by reason; nothing raises."""
    _child(tmp_path, 'collector.create_counter("jobs").increment(3)')
    service = tmp_path / "default"
    (service / "w-1-1-deadbeef.db").write_bytes(b"\x00" * 10)
    (service / "notes.txt").write_text("hello")
    (service / "w-2-2-deadbeef.db").write_bytes(
        encode_header({"service": "other", "pid": 2}) + bytes(4096)
    )
    default = MetricsCollector()
    from lexigram.monitor.metrics import set_default_collector

    set_default_collector(default)
    collector = _collector(tmp_path)
    assert _view(collector)["jobs"][()].value == 3
    assert _view(collector)["jobs"][()].value == 3
    skipped = default.get_metric("lexigram_monitor_multiprocess_skipped_files_total")
    assert skipped is not None
    counts = {r: skipped.get_count({"reason": r}) for r in ("corrupt", "foreign", "other_service")}  # type: ignore[attr-defined]
    assert counts == {"corrupt": 1, "foreign": 1, "other_service": 1}


def test_a_full_disk_keeps_updates_in_process_and_counts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the file cannot grow (ENOSPC at series creation) the series keeps working in
    this process, the failure is counted, and no update raises."""
    from lexigram.monitor.metrics import _shared, set_default_collector

    default = MetricsCollector()
    set_default_collector(default)
    collector = _collector(tmp_path)

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    counter = collector.create_counter("big")
    monkeypatch.setattr(_shared.os, "posix_fallocate", full)
    padding = "x" * 4000  # 100 such series outgrow the first 256 KiB chunk
    for i in range(100):
        counter.increment(1, {"id": f"{padding}{i}"})
    assert counter.get_count({"id": f"{padding}99"}) == 1
    failures = default.get_metric("lexigram_monitor_multiprocess_failures_total")
    assert failures is not None
    assert failures.get_count({"reason": "storage"}) > 0


def test_a_forked_child_writes_its_own_file(tmp_path: Path) -> None:
    """After ``fork`` the child's series move to its own zeroed file: the parent's
    counts are neither written by the child nor counted twice."""
    collector = _collector(tmp_path)
    counter = collector.create_counter("forked")
    counter.increment(10)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            counter.increment(5)
            code = 0 if counter.get_count() == 5 else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert counter.get_count() == 10
    assert _view(collector)["forked"][()].value == 15


def test_two_services_are_kept_apart_by_name(tmp_path: Path) -> None:
    """Services with different names share a directory without mixing."""
    first, second = _collector(tmp_path, "shop"), _collector(tmp_path, "billing")
    first.create_counter("orders").increment(2)
    second.create_counter("orders").increment(7)
    assert _view(first)["orders"][()].value == 2
    assert _view(second)["orders"][()].value == 7


def test_an_unrelated_live_writer_is_refused(tmp_path: Path) -> None:
    """A second server writing the same service while the first lives is refused at
    start-up (its workers are not our siblings, parent or children)."""
    code = CHILD.format(body="import time; print('ready', flush=True); time.sleep(30)")
    script = tmp_path / "writer.py"
    script.write_text(code)
    # a shell that exits at once: the writer is re-parented, unrelated to us
    shell = subprocess.run(
        [
            "sh",
            "-c",
            f'"{sys.executable}" "{script}" "{tmp_path}" > "{tmp_path}/out" 2>&1 & echo $!',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    writer = int(shell.stdout.strip())
    try:
        started = time.monotonic()
        while "ready" not in (tmp_path / "out").read_text():
            assert time.monotonic() - started < 60, (tmp_path / "out").read_text()
            time.sleep(0.05)
        with pytest.raises(mp.MultiprocessError, match="cannot share"):
            _collector(tmp_path)
    finally:
        os.kill(writer, 9)


def test_child_exit_compacts_the_exited_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gunicorn's hook folds dead workers' files into the archive (and never raises)."""
    _child(tmp_path, 'collector.create_counter("jobs").increment(6)')
    monkeypatch.setenv(mp.ENV_DIR, str(tmp_path))
    mp.child_exit(None, None)
    names = os.listdir(tmp_path / "default")
    assert ARCHIVE_NAME in names
    assert not [n for n in names if n.startswith("w-")]
    monkeypatch.setenv(mp.ENV_DIR, str(tmp_path / "missing"))
    mp.child_exit(None, None)  # logged, not raised
    assert _view(_collector(tmp_path))["jobs"][()].value == 6


def test_exemplar_slots_survive_concurrent_writers(tmp_path: Path) -> None:
    """Exemplars of a shared histogram reach the merged view per bucket."""
    collector = _collector(tmp_path)
    histogram = collector.create_histogram("lat", buckets=[1.0])
    set_exemplar_source(lambda: ("c" * 32, "d" * 16))
    try:
        histogram.observe(0.5)
        histogram.observe(3.0)
    finally:
        set_exemplar_source(None)
    snap = _view(collector)["lat"][()]
    assert [e.value if e else None for e in snap.exemplars] == [0.5, 3.0]
    assert snap.exemplars[0] is not None
    assert snap.exemplars[0].span_id == "d" * 16


def test_the_update_source_of_the_shared_layout_reads_its_cells() -> None:
    """The shared layout compiles the same steps against ``series.cells``."""
    text = _update.source("Counter.increment", _update.SHARED)
    assert "series.cells[0] += amount" in text
    assert "series.cells[-1] = now" in _update.source("Gauge.set", _update.SHARED)


def test_label_order_and_empty_labels_do_not_split_a_series(tmp_path: Path) -> None:
    """Workers that locked their label schema in another key order, or wrote the
    unlabelled series before the schema grew, still merge into one series each."""
    _child(tmp_path, 'collector.create_counter("hits").increment(1, {"b": "2", "a": "1"})')
    collector = _collector(tmp_path)
    counter = collector.create_counter("hits")
    counter.increment(1)  # unlabelled before the schema locks: no labels in its key
    counter.increment(2, {"a": "1", "b": "2"})
    counter.increment(4, {"a": "", "b": ""})
    view = _view(collector)["hits"]
    assert sorted(s.value for s in view.values()) == [3, 5]


def test_a_reset_gauge_leaves_the_merge(tmp_path: Path) -> None:
    """``reset()`` of a shared gauge marks its records dropped: old values stop counting."""
    collector = _collector(tmp_path)
    gauge = collector.create_gauge("queue", multiprocess_mode="max")
    gauge.set(50)
    gauge.reset()
    gauge.set(3)
    assert _view(collector)["queue"][()].value == 3
