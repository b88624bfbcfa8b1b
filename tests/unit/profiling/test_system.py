"""Process readings (psutil or stdlib fallback) and scoped tracemalloc."""

from __future__ import annotations

import sys
import tracemalloc

import pytest

from lexigram.monitor.exceptions import BackendNotAvailableError
from lexigram.monitor.profiling._system import (
    PsutilReader,
    StdlibReader,
    default_reader,
    traced_memory,
)
from tests._support import modules_loaded_by


def test_psutil_reader_reads_the_process() -> None:
    """With psutil installed, readings are positive and CPU time only grows."""
    pytest.importorskip("psutil")
    reader = PsutilReader()
    first = reader.read()
    sum(i * i for i in range(100_000))
    second = reader.read()
    assert reader.source == "psutil"
    assert first.rss_bytes is not None
    assert first.rss_bytes > 0
    assert first.threads is not None
    assert first.threads >= 1
    assert second.cpu_seconds >= first.cpu_seconds


def test_stdlib_reader_uses_procfs_when_present() -> None:
    """On Linux the current RSS comes from /proc/self/statm."""
    reader = StdlibReader()
    reading = reader.read()
    if sys.platform.startswith("linux"):
        assert reader.source == "procfs"
    assert reading.rss_bytes is not None
    assert reading.rss_bytes > 0
    assert reading.cpu_seconds > 0
    assert reading.threads is not None
    assert reading.threads >= 1


def test_stdlib_reader_falls_back_to_resource() -> None:
    """Without procfs the peak RSS from getrusage is used."""
    pytest.importorskip("resource")
    reader = StdlibReader(statm_path="/nonexistent/statm")
    assert reader.source == "resource"
    reading = reader.read()
    assert reading.rss_bytes is not None
    assert reading.rss_bytes > 1024 * 1024


def test_missing_psutil_falls_back_and_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without psutil the default reader is the stdlib one; asking for psutil names the extra."""
    monkeypatch.setitem(sys.modules, "psutil", None)
    assert isinstance(default_reader(), StdlibReader)
    with pytest.raises(BackendNotAvailableError, match=r"lexigram-monitor\[system\]"):
        PsutilReader()


def test_default_reader_prefers_psutil() -> None:
    """When psutil is installed the default reader uses it."""
    pytest.importorskip("psutil")
    assert isinstance(default_reader(), PsutilReader)


def test_importing_profiling_does_not_import_psutil() -> None:
    """psutil is imported only when a reader is built."""
    assert modules_loaded_by("import lexigram.monitor.profiling", ["psutil"]) == []


@pytest.mark.usefixtures("_no_tracemalloc")
def test_nested_scopes_share_one_tracing_session() -> None:
    """Tracing starts with the first scope, stops with the last; inner peaks are not isolated."""
    with traced_memory() as outer:
        assert tracemalloc.is_tracing()
        with traced_memory() as inner:
            block = bytearray(1024 * 1024)
        assert tracemalloc.is_tracing()
        assert inner.delta_bytes is not None
        assert inner.delta_bytes >= 1024 * 1024
        assert inner.peak_bytes is None
    assert not tracemalloc.is_tracing()
    assert outer.delta_bytes is not None
    assert outer.delta_bytes >= 1024 * 1024
    assert outer.peak_bytes is not None
    del block


@pytest.mark.usefixtures("_no_tracemalloc")
def test_scope_stops_tracing_when_the_block_raises() -> None:
    """An exception inside the block still ends the scope."""
    with pytest.raises(RuntimeError), traced_memory():
        raise RuntimeError("boom")
    assert not tracemalloc.is_tracing()
