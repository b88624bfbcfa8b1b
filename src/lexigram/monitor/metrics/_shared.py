"""The file format of the multi-process mode and the writer of one worker's file.

Every worker process writes its series into its own file
``<directory>/<service>/w-<pid>-<start>.db`` (``start``: the process start time in clock
ticks, so a reused pid gets a new file) and nothing else; the merge (``metrics._merge``)
reads all of them. Layout of a file:

- a header page of :data:`HEADER_SIZE` bytes: the magic ``LXMONMP`` plus a format
  byte, the format version (u32), the length of a JSON object (u32) and the object
  itself: ``service``, ``pid``, ``start``, ``ppid``, ``created`` and, in an archive,
  ``absorbed`` (the worker files it holds);
- records, back to back, each 8-byte aligned: ``size, type, key length, cells`` (four
  u32), the key (UTF-8 JSON ``[kind, name, help, label names, label values, extra]``,
  zero-padded to 8 bytes), then ``cells`` float64 cells. A record's ``size`` word is
  written last, so a reader that finds a non-zero size finds a complete record; a zero
  size ends the records. Type :data:`PAD` fills the end of a chunk.

The file grows in chunks of at least :data:`CHUNK_SIZE` bytes, each reserved on disk
with ``posix_fallocate`` (a full disk fails here, at series creation, never as a SIGBUS
on an update) and memory-mapped on its own (``MAP_SHARED``) and never unmapped, so the
``memoryview`` cells handed to series stay valid for the life of the process. An update
is a store into the page cache: it survives SIGKILL of the worker (not a power loss;
nothing is fsynced). A record never spans two chunks.

Memory and disk: one record per series (about 100 bytes for a counter, 16 + 8 per
bucket more for a histogram), exemplar slots only for series that got an exemplar; a
file is at least one chunk (256 KiB). Fork safety: a child process never writes its
parent's file; right after ``fork`` (an ``os.register_at_fork`` hook) it opens its own
file and moves every series of the parent's storage to fresh, zeroed cells there (the
parent's counts stay in the parent's file).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

__all__ = [
    "ARCHIVE_NAME",
    "CHUNK_SIZE",
    "EXEMPLARS",
    "HEADER_SIZE",
    "LOCK_NAME",
    "MAGIC",
    "PAD",
    "RECORD",
    "SERIES",
    "VERSION",
    "Cells",
    "Storage",
    "StorageError",
    "boot_id",
    "encode_header",
    "encode_key",
    "local_cells",
    "parse_worker_file_name",
    "process_start",
    "record_size",
    "storage_for",
    "worker_file_name",
]

MAGIC: Final = b"LXMONMP\x01"
VERSION: Final = 1
HEADER_SIZE: Final = 4096
CHUNK_SIZE: Final = 256 * 1024
#: A record's fixed part: size, type, key length, number of cells (u32 each).
RECORD: Final = struct.Struct("<IIII")
_HEAD: Final = struct.Struct("<8sII")

PAD: Final = 0
SERIES: Final = 1
EXEMPLARS: Final = 2

ARCHIVE_NAME: Final = "archive.db"
LOCK_NAME: Final = ".lock"

_GRANULARITY = mmap.ALLOCATIONGRANULARITY


class StorageError(OSError):
    """The shared directory cannot be used (missing, unwritable, full, in use)."""


def process_start(pid: int) -> int | None:
    """Start time of process *pid* in clock ticks since boot (``/proc/<pid>/stat``
    field 22), 0 where ``/proc`` does not exist, None when the process is gone or a
    zombie (dead, waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
        try:  # no /proc (not Linux): the pid alone says whether it lives
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0
        return 0
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()
    if not fields or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def boot_id() -> str:
    """An id of the running system boot (8 hex characters; ``"0"`` without ``/proc``):
    a file written before a reboot belongs to a dead process whatever its pid says."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as source:
            return source.read().strip().replace("-", "")[:8] or "0"
    except OSError:
        return "0"


def worker_file_name(pid: int, start: int, boot: str) -> str:
    """The file of the worker *pid* started at *start* (clock ticks) in boot *boot*."""
    return f"w-{pid}-{start}-{boot}.db"


def parse_worker_file_name(name: str) -> tuple[int, int, str] | None:
    """``(pid, start, boot)`` of a worker file name, None for any other name."""
    if not (name.startswith("w-") and name.endswith(".db")):
        return None
    parts = name[2:-3].split("-")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def encode_header(info: dict[str, Any]) -> bytes:
    """The header page for *info* (raises ValueError when it does not fit)."""
    body = json.dumps(info, separators=(",", ":")).encode()
    if _HEAD.size + len(body) > HEADER_SIZE:
        raise ValueError(f"header of {len(body)} bytes does not fit {HEADER_SIZE}")
    return (_HEAD.pack(MAGIC, VERSION, len(body)) + body).ljust(HEADER_SIZE, b"\0")


def encode_key(
    kind: str,
    name: str,
    description: str,
    label_names: tuple[str, ...],
    label_values: tuple[str, ...],
    extra: Any = None,
) -> bytes:
    """A series' identity in a file (see the module docstring)."""
    key = [kind, name, description, list(label_names), list(label_values), extra]
    return json.dumps(key, separators=(",", ":")).encode()


def record_size(key_length: int, cells: int) -> int:
    """Bytes of a record with a *key_length*-byte key and *cells* cells."""
    return RECORD.size + (key_length + 7) // 8 * 8 + 8 * cells


class _Chunk:
    __slots__ = ("map", "offset", "size", "view")

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.map = mmap.mmap(
            fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=offset
        )
        self.view = memoryview(self.map)
        self.offset = offset
        self.size = size


#: Float64 cells: a ``memoryview`` cast to ``'d'`` (typed loosely: typeshed's
#: memoryview items are ints).
Cells = Any


def local_cells(cells: int) -> Cells:
    """Zeroed float64 cells in this process's memory only: what a series gets when its
    record cannot be written (the failure is counted; the merge never sees them)."""
    return memoryview(bytearray(8 * cells)).cast("d")


Attach = Callable[[Any, "Cells | None"], None]


class Storage:
    """This process's file in ``<directory>/<service>``: allocates records and hands
    out their cells as ``memoryview``s of float64.

    One per directory and service per process (:func:`storage_for`). :meth:`allocate`
    is the slow path of series creation (one lock); it raises :class:`StorageError`
    when the disk is full or the file cannot grow. Every record is remembered with the
    owner to re-attach (bounded by the series caps of the instruments) so that a forked
    child can move it to its own file.
    """

    def __init__(self, directory: Path, service: str) -> None:
        self.directory = directory
        self.service = service
        self._lock = threading.Lock()
        self._owners: list[tuple[Any, bytes, int, int, Attach]] = []
        self._open()

    @property
    def path(self) -> Path:
        """This process's file."""
        return self._path

    def _open(self) -> None:
        self.pid = os.getpid()
        self.start = process_start(self.pid) or 0
        self.boot = boot_id()
        self._path = self.directory / worker_file_name(self.pid, self.start, self.boot)
        self._chunks: list[_Chunk] = []
        self._cursor = HEADER_SIZE
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as exc:
            raise StorageError(exc.errno, f"cannot create {self._path}: {exc.strerror}") from exc
        self._fd = fd
        header = encode_header(
            {
                "service": self.service,
                "pid": self.pid,
                "start": self.start,
                "ppid": os.getppid(),
                "boot": self.boot,
                "created": time.time(),
            }
        )
        try:
            self._grow(CHUNK_SIZE)
        except StorageError:
            os.close(fd)
            self._path.unlink(missing_ok=True)
            raise
        self._chunks[0].view[:HEADER_SIZE] = header

    def _grow(self, needed: int) -> None:
        """Append a chunk of at least *needed* bytes (reserved on disk, then mapped)."""
        size = max(CHUNK_SIZE, -(-needed // _GRANULARITY) * _GRANULARITY)
        offset = self._chunks[-1].offset + self._chunks[-1].size if self._chunks else 0
        try:
            os.posix_fallocate(self._fd, offset, size)
            chunk = _Chunk(self._fd, offset, size)
        except OSError as exc:
            raise StorageError(
                exc.errno,
                f"cannot grow {self._path} by {size} bytes: {exc.strerror}; free disk space "
                f"in {self.directory} or point the multi-process directory elsewhere",
            ) from exc
        self._chunks.append(chunk)
        self._cursor = offset + (HEADER_SIZE if offset == 0 else 0)

    def allocate(
        self, owner: Any, key: bytes, cells: int, attach: Attach, kind: int = SERIES
    ) -> Cells:
        """A new record for *key* with *cells* zeroed cells. Should this process fork,
        the child calls ``attach(owner, fresh_cells)`` for a series record and
        ``attach(owner, None)`` for exemplar slots (made again on their next use)."""
        with self._lock:
            if self.pid != os.getpid():
                raise StorageError(0, f"storage of pid {self.pid} used in pid {os.getpid()}")
            view = self._write(key, cells, kind)
            self._owners.append((owner, key, cells, kind, attach))
            return view

    def _write(self, key: bytes, cells: int, kind: int) -> Cells:
        size = record_size(len(key), cells)
        chunk = self._chunks[-1]
        end = chunk.offset + chunk.size
        if self._cursor + size > end:
            if end > self._cursor:  # pad the rest of the chunk
                local = self._cursor - chunk.offset
                struct.pack_into("<III", chunk.view, local + 4, PAD, 0, 0)
                struct.pack_into("<I", chunk.view, local, end - self._cursor)
            self._grow(size)
            chunk = self._chunks[-1]
        local = self._cursor - chunk.offset
        view = chunk.view
        struct.pack_into("<III", view, local + 4, kind, len(key), cells)
        view[local + RECORD.size : local + RECORD.size + len(key)] = key
        first = local + size - 8 * cells
        struct.pack_into("<I", view, local, size)  # last: the record is complete
        self._cursor += size
        return view[first : first + 8 * cells].cast("d")

    def after_fork(self) -> None:
        """In a forked child: open this process's own file and move every series there
        (zeroed cells); the parent's mappings are never written again. When the child
        cannot create its file, its series get process-local cells (never the
        parent's) and later allocations raise :class:`StorageError`."""
        self._lock = threading.Lock()
        owners = self._owners
        self._owners = []
        try:
            self._open()
        except OSError:
            self.pid = -1
            for owner, _, cells, kind, attach in owners:
                attach(owner, local_cells(cells) if kind == SERIES else None)
            return
        for owner, key, cells, kind, attach in owners:
            if kind != SERIES:
                attach(owner, None)
                continue
            try:
                view = self._write(key, cells, SERIES)
            except OSError:
                attach(owner, local_cells(cells))
                continue
            self._owners.append((owner, key, cells, kind, attach))
            attach(owner, view)


_STORAGES: dict[tuple[Path, str], Storage] = {}
_STORAGES_LOCK = threading.Lock()


def storage_for(directory: Path, service: str) -> Storage:
    """This process's :class:`Storage` in *directory* for *service* (opened once)."""
    key = (directory, service)
    with _STORAGES_LOCK:
        storage = _STORAGES.get(key)
        if storage is None or storage.pid != os.getpid():
            storage = _STORAGES[key] = Storage(directory, service)
        return storage


def _after_fork_in_child() -> None:
    global _STORAGES_LOCK
    _STORAGES_LOCK = threading.Lock()
    for storage in list(_STORAGES.values()):
        storage.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
