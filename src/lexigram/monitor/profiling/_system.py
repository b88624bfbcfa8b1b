"""Process resource readings and scoped tracemalloc for the profiler.

Readings come from psutil (the ``system`` extra) when it is installed, else from the
standard library: CPU time from ``time.process_time()``, resident memory from
``/proc/self/statm`` (Linux) or, elsewhere, ``resource.getrusage`` (the peak RSS, since
the current one is not available), threads from ``threading.active_count()`` (Python
threads only). psutil is imported only here, when a reader is built.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .._optional import is_available, require

__all__ = [
    "MemoryProbe",
    "PsutilReader",
    "ResourceReader",
    "ResourceReading",
    "StdlibReader",
    "default_reader",
    "traced_memory",
]


@dataclass(frozen=True, slots=True)
class ResourceReading:
    """One reading: process CPU seconds (user + system), RSS bytes, thread count."""

    cpu_seconds: float
    rss_bytes: int | None
    threads: int | None


class ResourceReader(Protocol):
    """Reads the resources of the current process."""

    @property
    def source(self) -> str: ...

    def read(self) -> ResourceReading: ...


class PsutilReader:
    """Readings from ``psutil.Process()``; needs the ``system`` extra."""

    __slots__ = ("_process",)

    def __init__(self) -> None:
        psutil = require("system", "psutil")
        self._process: Any = psutil.Process()

    @property
    def source(self) -> str:
        return "psutil"

    def read(self) -> ResourceReading:
        process = self._process
        with process.oneshot():
            cpu = process.cpu_times()
            return ResourceReading(
                cpu_seconds=float(cpu.user + cpu.system),
                rss_bytes=int(process.memory_info().rss),
                threads=int(process.num_threads()),
            )


class StdlibReader:
    """Readings from the standard library (see the module docstring for the sources)."""

    __slots__ = ("_page_size", "_statm")

    def __init__(self, statm_path: str = "/proc/self/statm") -> None:
        self._statm = statm_path if os.path.exists(statm_path) else None
        self._page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    @property
    def source(self) -> str:
        return "procfs" if self._statm is not None else "resource"

    def read(self) -> ResourceReading:
        return ResourceReading(
            cpu_seconds=time.process_time(),
            rss_bytes=self._rss(),
            threads=threading.active_count(),
        )

    def _rss(self) -> int | None:
        if self._statm is not None:
            with open(self._statm, "rb") as handle:
                return int(handle.read().split()[1]) * self._page_size
        try:
            import resource
        except ImportError:  # Windows without psutil: memory is not measured
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


def default_reader() -> ResourceReader:
    """A :class:`PsutilReader` when psutil is installed, else a :class:`StdlibReader`."""
    if is_available("psutil"):
        return PsutilReader()
    return StdlibReader()


@dataclass(slots=True)
class MemoryProbe:
    """Net bytes allocated inside a :func:`traced_memory` block (``None`` until it ends)
    and the peak above the starting point (``None`` when it cannot be isolated)."""

    delta_bytes: int | None = None
    peak_bytes: int | None = None


_lock = threading.Lock()
_scopes = 0
_started_by_us = False


@contextlib.contextmanager
def traced_memory() -> Iterator[MemoryProbe]:
    """Measure Python allocations of the block with tracemalloc, scoped.

    tracemalloc is started on entering the first scope and stopped when the last one
    exits, unless it was already tracing (then it is left running and untouched).
    ``peak_bytes`` is reported only for a scope that runs alone on tracing we started,
    since resetting the peak would disturb others. Concurrent scopes see each other's
    allocations in their deltas.
    """
    global _scopes, _started_by_us
    with _lock:
        if _scopes == 0:
            _started_by_us = not tracemalloc.is_tracing()
            if _started_by_us:
                tracemalloc.start()
        _scopes += 1
        alone = _scopes == 1 and _started_by_us
        if alone:
            tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
    probe = MemoryProbe()
    try:
        yield probe
    finally:
        with _lock:
            current, peak = tracemalloc.get_traced_memory()
            probe.delta_bytes = current - start
            probe.peak_bytes = max(peak - start, 0) if alone and _scopes == 1 else None
            _scopes -= 1
            if _scopes == 0 and _started_by_us:
                tracemalloc.stop()
                _started_by_us = False
