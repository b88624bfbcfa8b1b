"""Process metrics of the multi-process mode: per worker (``pid``) and for the service.

Each worker keeps one process record in its own file: its CPU seconds and, per GC
generation, collections, objects collected and uncollectable objects. A ``gc``
callback updates it after every collection (about 1 µs, no thread, no timer) and the
scraping worker refreshes its own before reading. Those counters are summed over every
file, dead workers' archived ones included, for the service total, so the totals never
go down (a SIGKILLed worker's CPU since its last collection is not counted).

The scraping worker reads ``/proc/<pid>/{stat,statm,fd,limits}`` of every live worker
for the per-worker series: CPU (the larger of ``/proc`` and the record; a worker that
has exited meanwhile is left out rather than shown with its record alone), resident and
virtual memory, open and maximum file descriptors, start time. Gauge totals (memory,
descriptors) are sums over the live workers. Names are prometheus_client's
(``process_*``, ``python_gc_*``), so dashboards keep working; per-worker series carry
``pid``, the total has no ``pid`` label.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable
from time import process_time
from typing import Any, ClassVar, Final

from ._shared import Cells, Storage, encode_key, local_cells
from .snapshot import ValueSnapshot

__all__ = ["PROCESS_KEY", "ProcessReading", "ProcessRecord", "read_process"]

#: Cells: CPU seconds, then collections, collected and uncollectable per generation.
CELLS: Final = 10
PROCESS_KEY: Final = encode_key("process", "process", "", (), ())

try:
    _TICKS = float(os.sysconf("SC_CLK_TCK"))
    _PAGE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
    _TICKS, _PAGE = 100.0, 4096


def _boot_time() -> float:
    try:
        with open("/proc/stat", "rb") as stat:
            for line in stat:
                if line.startswith(b"btime"):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


_BOOT: Final = _boot_time()
#: Whether ``/proc`` exists here. Where it does, a worker whose ``/proc/<pid>/stat``
#: cannot be read (or shows an exited process) is left out of the per-worker CPU series:
#: its last value came from the larger of ``/proc`` and its record, and the record alone
#: may be lower, which a scraper would read as a counter reset.
_PROC: Final = os.path.isdir("/proc/self")


class ProcessRecord:
    """This process's record, kept current by a ``gc`` callback; one per storage
    (:meth:`of`), however many collectors share it."""

    _by_storage: ClassVar[dict[int, ProcessRecord]] = {}

    @classmethod
    def of(cls, storage: Storage) -> ProcessRecord:
        """The record of *storage*, made on first call."""
        record = cls._by_storage.get(id(storage))
        if record is None:
            record = cls._by_storage[id(storage)] = cls(storage)
        return record

    def __init__(self, storage: Storage) -> None:
        self.cells: Cells = storage.allocate(self, PROCESS_KEY, CELLS, ProcessRecord._moved)
        for generation, stats in enumerate(gc.get_stats()[:3]):
            self.cells[1 + generation] = stats["collections"]
            self.cells[4 + generation] = stats["collected"]
            self.cells[7 + generation] = stats["uncollectable"]
        self.cells[0] = process_time()
        gc.callbacks.append(self._after_collection)

    def _moved(self, cells: Cells | None) -> None:
        # a forked child: fresh zeroed cells count this process's collections from now
        self.cells = cells if cells is not None else local_cells(CELLS)
        self.cells[0] = process_time()

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop":
            return
        cells = self.cells
        generation = info.get("generation", 0)
        if 0 <= generation < 3:
            cells[1 + generation] += 1
            cells[4 + generation] += info.get("collected", 0)
            cells[7 + generation] += info.get("uncollectable", 0)
        cells[0] = process_time()

    def refresh(self) -> None:
        """Bring the CPU seconds up to date (before this process reads the files)."""
        self.cells[0] = process_time()

    def close(self) -> None:
        """Stop updating (the record keeps its last values)."""
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)


class ProcessReading:
    """What ``/proc`` says about one live worker (None where it could not be read)."""

    __slots__ = ("cpu", "max_fds", "open_fds", "resident", "start", "virtual")

    def __init__(self) -> None:
        self.cpu: float | None = None
        self.resident: float | None = None
        self.virtual: float | None = None
        self.open_fds: float | None = None
        self.max_fds: float | None = None
        self.start: float | None = None


def read_process(pid: int) -> ProcessReading:
    """Read ``/proc/<pid>``; fields that cannot be read stay None (never raises)."""
    reading = ProcessReading()
    try:
        with open(f"/proc/{pid}/stat", "rb") as source:
            text = source.read()
        fields = text[text.rfind(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):
            return reading  # exited, not yet reaped: not a live worker any more
        reading.cpu = (int(fields[11]) + int(fields[12])) / _TICKS
        reading.start = _BOOT + int(fields[19]) / _TICKS
        reading.virtual = float(fields[20])
        reading.resident = float(int(fields[21]) * _PAGE)
    except (OSError, IndexError, ValueError):
        pass
    with contextlib.suppress(OSError):
        reading.open_fds = float(len(os.listdir(f"/proc/{pid}/fd")))
    try:
        with open(f"/proc/{pid}/limits") as limits:
            for line in limits:
                if line.startswith("Max open files"):
                    reading.max_fds = float(line.split()[3])
    except (OSError, IndexError, ValueError):
        pass
    return reading


_GAUGES: Final = (
    ("process_resident_memory_bytes", "Resident memory size in bytes.", "resident", True),
    ("process_virtual_memory_bytes", "Virtual memory size in bytes.", "virtual", True),
    ("process_open_fds", "Number of open file descriptors.", "open_fds", True),
    ("process_max_fds", "Maximum number of open file descriptors.", "max_fds", False),
    (
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        "start",
        False,
    ),
)
_GC: Final = (
    ("python_gc_collections_total", "Number of times this generation was collected", 1),
    ("python_gc_objects_collected_total", "Objects collected during gc", 4),
    ("python_gc_objects_uncollectable_total", "Uncollectable objects found during GC", 7),
)

Family = tuple[str, str, str, list[ValueSnapshot]]


def process_families(
    live: dict[int, list[float] | None],
    total: list[float] | None,
    created: float,
    read: Callable[[int], ProcessReading] = read_process,
) -> list[Family]:
    """``(kind, name, help, snapshots)`` of the process metrics: *live* maps each live
    worker's pid to its record's cells (None without one), *total* is the sum of every
    file's record."""
    readings = {pid: read(pid) for pid in sorted(live)}
    families: list[Family] = []
    pid_names = ("pid",)
    cpu: list[ValueSnapshot] = []
    for pid, reading in readings.items():
        if _PROC and reading.cpu is None:
            continue  # gone between the liveness check and the read (see the note above)
        cells = live[pid]
        values = [v for v in (reading.cpu, cells[0] if cells else None) if v is not None]
        if values:
            cpu.append(ValueSnapshot(pid_names, (str(pid),), max(values), created))
    if total is not None:
        cpu.append(ValueSnapshot((), (), total[0], created))
    families.append(
        (
            "counter",
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            cpu,
        )
    )
    for name, description, field, with_total in _GAUGES:
        snaps = []
        sum_ = 0.0
        for pid, reading in readings.items():
            value = getattr(reading, field)
            if value is not None:
                snaps.append(ValueSnapshot(pid_names, (str(pid),), value, created))
                sum_ += value
        if with_total and snaps:
            snaps.append(ValueSnapshot((), (), sum_, created))
        families.append(("gauge", name, description, snaps))
    names = ("generation", "pid")
    for name, description, first in _GC:
        snaps = []
        for pid in readings:
            cells = live[pid]
            if cells:
                for generation in range(3):
                    value = cells[first + generation]
                    snaps.append(
                        ValueSnapshot(names, (str(generation), str(pid)), int(value), created)
                    )
        if total is not None:
            for generation in range(3):
                value = total[first + generation]
                snaps.append(
                    ValueSnapshot(("generation",), (str(generation),), int(value), created)
                )
        families.append(("counter", name, description, snaps))
    return families
