"""Multi-process mode: one service view over every worker process.

Switched on by one setting, ``MetricsConfig.multiprocess_dir``, or its environment
variable ``LEX_MONITOR__METRICS__MULTIPROCESS_DIR`` (read when a collector is created,
so set it before the workers start: ``uvicorn --workers N`` and gunicorn pass it on).
``LEX_MONITOR__METRICS__MULTIPROCESS_SERVICE`` (``multiprocess_service``) names the
service; its files live in ``<dir>/<service>/``, so two services sharing a directory
are kept apart, and a second, unrelated set of processes writing the same service
while the first is alive is refused at start-up. The directory must exist and be
writable; a missing or unwritable one, or a full disk, raises
:class:`MultiprocessError` when the collector is created (start-up), naming the path
and the fix.

A collector in this mode creates its instruments with their series in this process's
file (``metrics._shared``: the same compiled updates, on memory-mapped cells). A scrape
(:meth:`MultiProcess.instruments`) takes the directory lock, folds the files of dead
workers into the archive (``metrics._archive``), reads the archive and every live
worker's file (``metrics._merge``) and returns the merged instruments, plus the process
metrics of every live worker (``metrics._procstats``). Files that are not ours are
skipped, logged (rate limited) and counted in
``lexigram_monitor_multiprocess_skipped_files_total{reason}``; failures to write a
series or to compact are counted in ``lexigram_monitor_multiprocess_failures_total``.
A scrape that cannot read the directory raises, so ``/metrics`` answers 500 rather
than a smaller total. See ``docs/deployment.md`` for the design and its trade-offs.

Gauges declare how workers combine (``create_gauge(..., multiprocess_mode=...)``):
``all`` (the default: one series per live worker, labelled ``pid``), ``sum``,
``live_sum``, ``max``, ``min`` or ``latest``. :func:`child_exit` is the optional gunicorn
hook compacting a worker's file as soon as it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._ratelimit import RateLimitedLogger
from ..exceptions import MonitorError
from ._archive import write_archive
from ._merge import FileReader, Merger, MergeState, Meta, SkippedFileError
from ._procstats import PROCESS_KEY, ProcessRecord, process_families
from ._shared import (
    ARCHIVE_NAME,
    LOCK_NAME,
    StorageError,
    boot_id,
    parse_worker_file_name,
    process_start,
    storage_for,
)
from ._shared_series import GAUGE_MODES, Shared

if TYPE_CHECKING:
    from ..config import MetricsConfig

__all__ = [
    "DEFAULT_GAUGE_MODE",
    "DEFAULT_SERVICE",
    "ENV_DIR",
    "ENV_SERVICE",
    "GAUGE_MODES",
    "LOCK_TIMEOUT",
    "MultiProcess",
    "MultiprocessError",
    "child_exit",
    "compact",
    "gauge_mode",
    "settings",
]

ENV_DIR: Final = "LEX_MONITOR__METRICS__MULTIPROCESS_DIR"
ENV_SERVICE: Final = "LEX_MONITOR__METRICS__MULTIPROCESS_SERVICE"
DEFAULT_SERVICE: Final = "default"
DEFAULT_GAUGE_MODE: Final = "all"
#: Seconds a scrape or compaction waits for the directory lock before giving up.
LOCK_TIMEOUT: Final = 10.0
#: The library's own gauges that have a natural service-wide value.
_LIBRARY_MODES: Final = {"http_requests_in_progress": "live_sum", "active_connections": "live_sum"}
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

SKIPPED_FILES: Final = (
    "lexigram_monitor_multiprocess_skipped_files_total",
    "Files in the multi-process directory left out of /metrics (foreign, corrupt, other service).",
)
FAILURES: Final = (
    "lexigram_monitor_multiprocess_failures_total",
    "Multi-process storage failures: series kept in process only, compactions that failed.",
)

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.metrics.multiprocess"))


class MultiprocessError(MonitorError):
    """The multi-process directory cannot be used; the message names the path and fix."""


def settings(config: MetricsConfig | None = None) -> tuple[Path, str] | None:
    """``(service directory, service)`` of the mode, or None when it is off: the
    config's ``multiprocess_dir`` / ``multiprocess_service``, else the environment."""
    raw_dir = getattr(config, "multiprocess_dir", None) or os.environ.get(ENV_DIR, "")
    if not raw_dir:
        return None
    service = (
        getattr(config, "multiprocess_service", None)
        or os.environ.get(ENV_SERVICE, "")
        or DEFAULT_SERVICE
    )
    if not _SERVICE_NAME.fullmatch(service):
        raise MultiprocessError(
            f"multi-process service name {service!r} is invalid: use 1-64 letters, digits, "
            f"'_', '.' or '-' ({ENV_SERVICE})"
        )
    base = Path(raw_dir)
    if not base.is_dir():
        raise MultiprocessError(
            f"multi-process directory {str(base)!r} does not exist (or is not a "
            f"directory): create it before the workers start (mkdir -p {base}), or unset "
            f"{ENV_DIR} to run in single-process mode"
        )
    if not os.access(base, os.W_OK | os.X_OK):
        raise MultiprocessError(
            f"multi-process directory {str(base)!r} is not writable by uid {os.getuid()}: "
            f"give the service user write access (chown/chmod), or point {ENV_DIR} elsewhere"
        )
    return base / service, service


def gauge_mode(name: str, mode: str | None) -> str:
    """The checked merge mode of gauge *name* (*mode*, else the library's own choice
    for its gauges, else :data:`DEFAULT_GAUGE_MODE`)."""
    chosen = mode if mode is not None else _LIBRARY_MODES.get(name, DEFAULT_GAUGE_MODE)
    if chosen not in GAUGE_MODES:
        raise MultiprocessError(
            f"multiprocess_mode {chosen!r} of gauge {name!r} is not one of {list(GAUGE_MODES)}"
        )
    return chosen


@contextlib.contextmanager
def _locked(directory: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the directory's exclusive lock (``flock``; released if the holder dies)."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise MultiprocessError(
                        f"the lock of {directory} was held for more than {timeout:.0f} s"
                    ) from None
                time.sleep(0.002)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _live(name: str, boot: str) -> bool:
    parsed = parse_worker_file_name(name)
    if parsed is None:
        return False
    pid, start, file_boot = parsed
    if file_boot != boot:
        return False
    if pid == os.getpid():
        return True
    found = process_start(pid)
    return found is not None and (found == start or found == 0 == start)


class _Files:
    """The readers of one process over one service directory (kept between reads)."""

    def __init__(self, directory: Path, service: str, report: Callable[[str, str], None]):
        self.directory = directory
        self.service = service
        self.report = report
        self.merger = Merger(lambda meta: report("conflict", _conflict(meta)))
        self.readers: dict[str, FileReader] = {}
        self._skipped: set[str] = set()

    def reader(self, name: str) -> FileReader | None:
        """The reader of *name*, (re)opened when needed; None when skipped or gone."""
        path = self.directory / name
        reader = self.readers.get(name)
        try:
            if reader is not None and name == ARCHIVE_NAME:
                stat = os.stat(path)
                if (stat.st_ino, stat.st_ctime_ns) != reader.identity:
                    reader.close()
                    reader = None
            if reader is None:
                reader = self.readers[name] = FileReader(path, self.service)
            reader.refresh(self.merger.intern)
        except FileNotFoundError:
            self.drop(name)
            return None
        except SkippedFileError as exc:
            self.drop(name)
            self._skip(name, exc.reason, str(exc))
            return None
        return reader

    def drop(self, name: str) -> None:
        reader = self.readers.pop(name, None)
        if reader is not None:
            reader.close()

    def _skip(self, name: str, reason: str, message: str) -> None:
        if len(self._skipped) < 10_000 and name not in self._skipped:
            self._skipped.add(name)
            self.report(reason, message)


def _conflict(meta: Meta) -> str:
    return (
        f"series {meta.name}{dict(zip(meta.label_names, meta.label_values, strict=True))} "
        f"is written as a {meta.kind} ({meta.extra!r}) and as something else; left out"
    )


def _compact(files: _Files, names: Sequence[str], boot: str) -> list[str]:
    """Fold the dead workers' files among *names* into the archive (caller holds the
    lock); returns the names still to read. Raises OSError when the archive cannot be
    written (nothing is deleted then)."""
    archive = files.reader(ARCHIVE_NAME) if ARCHIVE_NAME in names else None
    absorbed = set(archive.header.get("absorbed", ())) if archive is not None else set()
    dead, keep = [], []
    for name in names:
        if name in absorbed:  # absorbed, deleted by a compaction that then crashed
            files.drop(name)
            with contextlib.suppress(OSError):
                os.unlink(files.directory / name)
        elif name.startswith("archive.tmp-"):
            with contextlib.suppress(OSError):
                os.unlink(files.directory / name)
        elif parse_worker_file_name(name) is not None and not _live(name, boot):
            dead.append(name)
        elif name != ARCHIVE_NAME:
            keep.append(name)
    readers = [(n, r) for n in dead if (r := files.reader(n)) is not None]
    if not readers:
        return keep
    state = MergeState(files.merger)
    if archive is not None:
        state.add_file(archive, live=False, archive=True)
    for _, reader in readers:
        state.add_file(reader, live=False)
    write_archive(files.directory, files.service, state, [n for n, _ in readers])
    for name, _ in readers:
        files.drop(name)
        with contextlib.suppress(OSError):
            os.unlink(files.directory / name)
    return keep


def compact(directory: Path, service: str) -> None:
    """Fold the files of *service*'s dead workers in *directory* into its archive."""
    files = _Files(directory, service, _log_only)
    with _locked(directory):
        _compact(files, sorted(os.listdir(directory)), boot_id())
    for name in list(files.readers):
        files.drop(name)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: compact the exited worker's file now (optional:
    scrapes compact too). ``from lexigram.monitor.metrics.multiprocess import
    child_exit`` in ``gunicorn.conf.py``. Never raises."""
    try:
        found = settings()
        if found is not None:
            compact(*found)
    except Exception as exc:
        _log.warning("child_exit", "multi-process compaction after a worker exit failed: %s", exc)


def _log_only(reason: str, message: str) -> None:
    _log.warning(f"multiprocess:{reason}", "%s", message)


class MergedInstrument:
    """A merged metric, shaped like an instrument for the exposition (``kind``,
    ``name``, ``description``, ``collect()``)."""

    __slots__ = ("_snapshots", "description", "kind", "name")

    def __init__(self, kind: str, name: str, description: str, snapshots: Sequence[Any]):
        self.kind = kind
        self.name = name
        self.description = description
        self._snapshots = tuple(snapshots)

    def collect(self) -> tuple[Any, ...]:
        """The merged snapshots."""
        return self._snapshots

    def series_count(self) -> int:
        """Number of merged series."""
        return len(self._snapshots)


class MultiProcess:
    """The multi-process mode of one collector: its storage and its service view."""

    def __init__(
        self,
        directory: Path,
        service: str,
        report: Callable[[tuple[str, str], str, str], None],
    ) -> None:
        self.directory = directory
        self.service = service
        self._report = report
        try:
            directory.mkdir(exist_ok=True)
            self._check_alone()
            storage = storage_for(directory, service)
            self._process = ProcessRecord.of(storage)
        except StorageError as exc:
            raise MultiprocessError(
                f"cannot use the multi-process directory {str(directory)!r}: {exc.strerror or exc}"
            ) from None
        except OSError as exc:
            raise MultiprocessError(
                f"cannot use the multi-process directory {str(directory)!r}: {exc.strerror}; "
                f"make it writable or point {ENV_DIR} elsewhere"
            ) from None
        self.shared = Shared(storage, self._storage_failure)
        self._files = _Files(directory, service, self._skipped)

    def _storage_failure(self, reason: str, error: BaseException) -> None:
        self._report(FAILURES, reason, f"series kept in this process only: {error}")

    def _skipped(self, reason: str, message: str) -> None:
        self._report(FAILURES if reason == "conflict" else SKIPPED_FILES, reason, message)

    def _check_alone(self) -> None:
        """Refuse a directory that live, unrelated processes write (another service)."""
        boot = boot_id()
        me, parent = os.getpid(), os.getppid()
        for name in os.listdir(self.directory):
            parsed = parse_worker_file_name(name)
            if parsed is None or parsed[0] == me or not _live(name, boot):
                continue
            try:
                reader = FileReader(self.directory / name, self.service)
            except (OSError, SkippedFileError):
                continue
            other, other_parent = reader.pid, int(reader.header.get("ppid", -1))
            reader.close()
            if other_parent in (parent, me) or other == parent:
                continue
            raise MultiprocessError(
                f"service {self.service!r} in {str(self.directory.parent)!r} is being written "
                f"by pid {other} (parent {other_parent}), which is not a worker of this "
                f"process's server (pid {me}, parent {parent}): two services cannot share "
                f"it. Give each its own {ENV_DIR} or {ENV_SERVICE}."
            )

    def instruments(self, own: Sequence[Any], process_metrics: bool = True) -> list[Any]:
        """The service view: merged instruments of every worker, past and present, the
        process metrics (when *process_metrics*), then *own* instruments that are not
        shared. Raises :class:`MultiprocessError` when the directory cannot be read."""
        files = self._files
        self._process.refresh()
        try:
            with _locked(self.directory):
                names = sorted(os.listdir(self.directory))
                try:
                    names = _compact(files, names, boot_id())
                except OSError as exc:
                    self._report(FAILURES, "compaction", f"compaction failed: {exc}")
                state = MergeState(files.merger)
                boot = boot_id()
                live: dict[int, list[float] | None] = {}
                created = time.time()
                archive = files.reader(ARCHIVE_NAME)
                if archive is not None:
                    state.add_file(archive, live=False, archive=True)
                    absorbed = set(archive.header.get("absorbed", ()))
                    created = min(created, float(archive.header.get("created", created)))
                else:
                    absorbed = set()
                for name in names:
                    if name in absorbed or name in (ARCHIVE_NAME, LOCK_NAME):
                        continue
                    if parse_worker_file_name(name) is None:
                        files._skip(
                            name, "foreign", f"{self.directory / name} is not a shared file"
                        )
                        continue
                    reader = files.reader(name)
                    if reader is None:
                        continue
                    is_live = _live(name, boot)
                    state.add_file(reader, live=is_live)
                    created = min(created, float(reader.header.get("created", created)))
                    if is_live:
                        live[reader.pid] = self._process_cells(reader)
                for name in list(files.readers):
                    if name not in names and name != ARCHIVE_NAME:
                        files.drop(name)
        except OSError as exc:
            raise MultiprocessError(
                f"cannot read the multi-process directory {str(self.directory)!r}: {exc}"
            ) from exc
        merged: list[Any] = [
            MergedInstrument(meta.kind, name, meta.description, snaps)
            for name, (meta, snaps) in state.snapshots(created).items()
        ]
        if process_metrics:
            slot = files.merger.slots.get(PROCESS_KEY)
            total = state.vectors.get(slot) if slot is not None else None
            for kind, name, description, snaps in process_families(live, total, created):
                merged.append(MergedInstrument(kind, name, description, snaps))
        merged.extend(i for i in own if not hasattr(i, "_shared"))
        return merged

    def _process_cells(self, reader: FileReader) -> list[float] | None:
        slot = self._files.merger.slots.get(PROCESS_KEY)
        cells: Any = reader.cells
        for first, count, found, _ in reader.entries:
            if found == slot:
                values: list[float] = cells[first : first + count].tolist()
                return values
        return None

    def live_workers(self) -> list[int]:
        """Pids of the live worker processes writing this service's directory (this
        process included), ascending; empty when the directory cannot be read. Reads
        the directory listing only, without its lock."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        boot = boot_id()
        pids: set[int] = set()
        for name in names:
            parsed = parse_worker_file_name(name)
            if parsed is not None and _live(name, boot):
                pids.add(parsed[0])
        return sorted(pids)

    def compact(self) -> None:
        """Fold the dead workers' files into the archive now (scrapes do it too)."""
        with _locked(self.directory):
            _compact(self._files, sorted(os.listdir(self.directory)), boot_id())
