"""Reading the files of the multi-process mode and merging them into one service view.

:class:`FileReader` maps one file read-only and parses its records incrementally: a
record's key is parsed once (the offset it was found at is remembered), later reads
only pick up the cells. :class:`Merger` interns every key to a slot (one per merged
series: the metric name plus its non-empty labels) and :class:`MergeState` combines the
cells of one read by the slot's rule:

- counters, histograms (per-bucket counts and sum), summaries (count, sum) and the
  process records: summed over every file;
- gauges by mode: ``sum`` (every file, dead workers' last values included), ``live_sum``
  (live workers only), ``max``, ``min``, ``latest`` (the value with the newest stamp),
  ``all`` (one series per live worker, labelled ``pid``);
- native histograms (``metrics._shared_native``): their buckets merged by
  ``metrics._native_merge`` (lowest schema, widest zero bucket, counts summed), classic
  counts and sum summed;
- exemplars: per bucket, the one with the newest timestamp; of a native histogram's
  ring, the newest ``MAX_NATIVE_EXEMPLARS`` of every file.

A key that reuses a merged series' name and labels with another kind, mode or buckets
is a conflict: its records are skipped and reported once. A file whose header is not
ours (magic, version, service) is skipped whole and reported once. Reads are taken
under the directory lock (``metrics.multiprocess``), so a compaction never runs in the
middle of one.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from operator import add
from pathlib import Path
from typing import Any, Final

from ._native_merge import merge_parts, newest_exemplars
from ._native_record import merged_snapshot, read_record, record_parts, record_values
from ._shared import EXEMPLARS, HEADER_SIZE, MAGIC, PAD, RECORD, VERSION
from ._shared_series import SLOT_CELLS
from .snapshot import Exemplar, HistogramSnapshot, NativeBuckets, SummarySnapshot, ValueSnapshot

__all__ = ["FileReader", "MergeState", "Merger", "Meta", "SkippedFileError"]

_HEAD = struct.Struct("<8sII")

#: Merge rules (see the module docstring).
SUM, LIVE_SUM, MAX, MIN, LATEST, ALL, EXEMPLAR, CONFLICT, NATIVE = range(9)
_GAUGE_RULES: Final = {
    "sum": SUM,
    "live_sum": LIVE_SUM,
    "max": MAX,
    "min": MIN,
    "latest": LATEST,
    "all": ALL,
}
#: Rules whose values of dead workers are kept (in the archive).
KEPT: Final = frozenset({SUM, MAX, MIN, LATEST})


class SkippedFileError(Exception):
    """A file that is not ours to read; ``reason`` is the counted label value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Meta:
    """One merged series: what its key says."""

    key: bytes
    kind: str
    name: str
    description: str
    label_names: tuple[str, ...]
    label_values: tuple[str, ...]
    extra: Any
    rule: int


class FileReader:
    """One shared file, mapped read-only; ``entries`` holds ``(first cell, cells, slot,
    rule)`` per record parsed so far."""

    def __init__(self, path: Path, service: str) -> None:
        self.path = path
        fd = os.open(path, os.O_RDONLY)
        try:
            stat = os.fstat(fd)
            self.identity = (stat.st_ino, stat.st_ctime_ns)
            if stat.st_size < HEADER_SIZE or stat.st_size % 8:
                raise SkippedFileError(
                    "corrupt", f"{path} has {stat.st_size} bytes, not a shared file"
                )
            self._map = mmap.mmap(fd, stat.st_size, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)
        self._bytes = memoryview(self._map)
        self.cells = self._bytes.cast("d")
        magic, version, length = _HEAD.unpack_from(self._bytes, 0)
        if magic != MAGIC:
            self.close()
            raise SkippedFileError("foreign", f"{path} is not a lexigram-monitor shared file")
        if version != VERSION:
            self.close()
            raise SkippedFileError(
                "version", f"{path} has format version {version}, expected {VERSION}"
            )
        try:
            self.header: dict[str, Any] = json.loads(
                bytes(self._bytes[_HEAD.size : _HEAD.size + length])
            )
        except ValueError:
            self.close()
            raise SkippedFileError("corrupt", f"{path} has an unreadable header") from None
        if self.header.get("service") != service:
            self.close()
            raise SkippedFileError(
                "other_service",
                f"{path} belongs to service {self.header.get('service')!r}, not {service!r}",
            )
        self.pid: int = int(self.header.get("pid", 0))
        self.entries: list[tuple[int, int, int, int]] = []
        self._offset = HEADER_SIZE

    def close(self) -> None:
        """Release the mapping."""
        self.cells.release()
        self._bytes.release()
        self._map.close()

    def refresh(self, intern: Callable[[bytes, int], int]) -> None:
        """Parse the records written since the last call (the file may have grown)."""
        size = os.stat(self.path).st_size
        if size > len(self._map) and size % 8 == 0:
            self.close()
            fd = os.open(self.path, os.O_RDONLY)
            try:
                self._map = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
            finally:
                os.close(fd)
            self._bytes = memoryview(self._map)
            self.cells = self._bytes.cast("d")
        data = self._bytes
        end = len(data)
        offset = self._offset
        while offset + RECORD.size <= end:
            size_word, kind, key_length, cells = RECORD.unpack_from(data, offset)
            if size_word == 0:
                break
            if size_word % 8 or offset + size_word > end:
                raise SkippedFileError("corrupt", f"{self.path} has a broken record at {offset}")
            if kind != PAD:
                key = bytes(data[offset + RECORD.size : offset + RECORD.size + key_length])
                first = (offset + size_word) // 8 - cells
                slot = intern(key, kind)
                rule = EXEMPLAR if kind == EXEMPLARS else -1
                self.entries.append((first, cells, slot, rule))
            offset += size_word
        self._offset = offset


def _meta(key: bytes) -> Meta:
    """Parse *key*; raises ValueError for a malformed one."""
    kind_name, name, description, names, values, extra = json.loads(key)
    names, values = tuple(names), tuple(values)
    if len(names) != len(values) or not isinstance(name, str):
        raise ValueError("label names and values differ in length")
    rule = _GAUGE_RULES[extra] if kind_name == "gauge" else SUM
    if kind_name == "histogram" and isinstance(extra, dict):
        rule = NATIVE
        extra["native"] = int(extra["native"])
        if extra["native"] < 1 or not isinstance(extra.get("classic", []), list | None):
            raise ValueError("malformed native histogram key")
    return Meta(key, kind_name, name, description, names, values, extra, rule)


class Merger:
    """The key table of one process's reads: key -> slot, slot -> :class:`Meta`
    (bounded by the distinct series the service ever had)."""

    def __init__(self, on_conflict: Callable[[Meta], None]) -> None:
        self.slots: dict[bytes, int] = {}
        self.metas: list[Meta] = []
        self._identities: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        self._on_conflict = on_conflict

    def intern(self, key: bytes, kind: int) -> int:
        """The slot of *key* (the series' slot for its exemplar record too); -1 for a
        conflicting or malformed key."""
        slot = self.slots.get(key)
        if slot is not None:
            return slot
        try:
            meta = _meta(key)
        except (ValueError, TypeError, KeyError):
            self.slots[key] = -1
            return -1
        identity = (
            meta.name,
            tuple(
                sorted(
                    (n, v) for n, v in zip(meta.label_names, meta.label_values, strict=True) if v
                )
            ),
        )
        found = self._identities.get(identity)
        if found is not None:
            other = self.metas[found]
            if (other.kind, other.extra) != (meta.kind, meta.extra):
                self.slots[key] = -1
                self._on_conflict(meta)
                return -1
            self.slots[key] = found
            return found
        slot = len(self.metas)
        self.metas.append(meta)
        self._identities[identity] = slot
        self.slots[key] = slot
        return slot


class MergeState:
    """The combined cells of one read: per slot, per ``(slot, pid)`` for ``all`` gauges,
    and the newest exemplar per slot and bucket."""

    def __init__(self, merger: Merger) -> None:
        self.metas = merger.metas
        self.scalars: dict[int, float] = {}
        self.vectors: dict[int, list[float]] = {}
        self.per_pid: dict[tuple[int, int], list[float]] = {}
        self.exemplars: dict[int, list[tuple[float, float, str, str] | None]] = {}
        #: native histograms: per slot, the (classic counts, sum, buckets) of each file
        self.natives: dict[int, list[tuple[list[int], float, NativeBuckets]]] = {}

    def add_file(self, reader: FileReader, live: bool, archive: bool = False) -> None:
        """Combine every record of *reader* (a worker that is *live* or not)."""
        cells: Any = reader.cells
        metas = self.metas
        scalars = self.scalars
        vectors = self.vectors
        for first, count, slot, rule in reader.entries:
            if slot < 0:
                continue
            if rule == EXEMPLAR:
                self._exemplars(reader, first, count, slot)
                continue
            meta = metas[slot]
            rule = meta.rule
            if rule == NATIVE:
                classic, capacity = _native_shape(meta)
                values = read_record(cells, first, count, classic)
                self.natives.setdefault(slot, []).append(record_parts(values, classic, capacity))
                continue
            if rule == SUM and count == 1:
                value = cells[first]
                scalars[slot] = scalars.get(slot, 0.0) + value
                continue
            values = cells[first : first + count].tolist()
            if metas[slot].kind == "gauge" and values[-1] < 0:
                continue  # a gauge series dropped by reset()
            if rule == SUM or (rule == LIVE_SUM and live):
                current = vectors.get(slot)
                vectors[slot] = values if current is None else list(map(add, current, values))
            elif rule == ALL:
                if live and not archive:
                    self.per_pid[slot, reader.pid] = values
            elif rule in (MAX, MIN, LATEST):
                self._pick(slot, rule, values)

    def _pick(self, slot: int, rule: int, values: list[float]) -> None:
        current = self.vectors.get(slot)
        if (
            current is None
            or (rule == MAX and values[0] > current[0])
            or (rule == MIN and values[0] < current[0])
            or (rule == LATEST and values[-1] > current[-1])
        ):
            self.vectors[slot] = values

    def _exemplars(self, reader: FileReader, first: int, count: int, slot: int) -> None:
        cells: Any = reader.cells
        data = reader.cells.cast("B")
        try:
            best = self.exemplars.get(slot)
            slots = count // SLOT_CELLS
            if best is None:
                best = self.exemplars[slot] = [None] * slots
            meta = self.metas[slot]
            ring = _native_shape(meta)[0] if meta.rule == NATIVE else len(best)
            pooled = best[ring:]
            for index in range(min(slots, len(best))):
                base = first + index * SLOT_CELLS
                sequence = cells[base]
                if sequence == 0 or sequence % 2:
                    continue
                value, timestamp = cells[base + 1], cells[base + 2]
                ids = bytes(data[(base + 3) * 8 : (base + 9) * 8])
                if cells[base] != sequence:
                    continue  # rewritten while read
                current = best[index]
                if index >= ring or current is None or timestamp > current[1]:
                    trace = ids[:32].rstrip(b"\0").decode("ascii", "replace")
                    span = ids[32:].rstrip(b"\0").decode("ascii", "replace")
                    if index >= ring:
                        pooled.append((value, timestamp, trace, span))
                    else:
                        best[index] = (value, timestamp, trace, span)
        finally:
            data.release()
        if ring < len(best):  # a native ring: the newest of every file's ring
            newest = newest_exemplars(pooled, len(best) - ring)
            best[ring:] = [*newest, *([None] * (len(best) - ring - len(newest)))]

    def exemplar(self, slot: int, index: int) -> Exemplar | None:
        found = self.exemplars.get(slot)
        if found is None or index >= len(found) or found[index] is None:
            return None
        value, timestamp, trace, span = found[index]  # type: ignore[misc]
        return Exemplar(value, trace, span, timestamp)

    def snapshots(self, created: float) -> dict[str, tuple[Meta, list[Any]]]:
        """Snapshots per metric name, in the order the names were first seen."""
        families: dict[str, tuple[Meta, list[Any]]] = {}
        for slot, value in self.scalars.items():
            meta = self.metas[slot]
            if meta.kind == "process":
                continue
            number: int | float = int(value) if value.is_integer() and abs(value) < 2**53 else value
            snap = ValueSnapshot(
                meta.label_names, meta.label_values, number, created, self.exemplar(slot, 0)
            )
            families.setdefault(meta.name, (meta, []))[1].append(snap)
        for slot, values in self.vectors.items():
            meta = self.metas[slot]
            if meta.kind == "process":
                continue
            families.setdefault(meta.name, (meta, []))[1].append(
                self._snapshot(meta, slot, values, created)
            )
        for slot in self.natives:
            meta = self.metas[slot]
            families.setdefault(meta.name, (meta, []))[1].append(
                self._native_snapshot(meta, slot, created)
            )
        for (slot, pid), values in sorted(self.per_pid.items()):
            meta = self.metas[slot]
            snap = ValueSnapshot(
                (*meta.label_names, "pid"), (*meta.label_values, str(pid)), values[0], created
            )
            families.setdefault(meta.name, (meta, []))[1].append(snap)
        return families

    def native_records(self) -> list[tuple[Meta, list[float]]]:
        """``(meta, cells)`` of every native histogram, merged (what the archive keeps)."""
        records = []
        for slot, parts in self.natives.items():
            meta = self.metas[slot]
            capacity = meta.extra["native"]
            records.append((meta, record_values(*merge_parts(parts, capacity), capacity)))
        return records

    def _native_snapshot(self, meta: Meta, slot: int, created: float) -> HistogramSnapshot:
        capacity = _native_shape(meta)[1]
        found = self.exemplars.get(slot)
        return merged_snapshot(
            meta.label_names,
            meta.label_values,
            meta.extra.get("classic"),
            merge_parts(self.natives[slot], capacity),
            [self.exemplar(slot, i) for i in range(len(found))] if found else [],
            created,
        )

    def _snapshot(self, meta: Meta, slot: int, values: list[float], created: float) -> Any:
        if meta.kind == "histogram":
            bounds = tuple(float(b) for b in meta.extra)
            counts = tuple(accumulate(int(c) for c in values[:-1]))
            exemplars: tuple[Exemplar | None, ...] = ()
            if slot in self.exemplars:
                exemplars = tuple(self.exemplar(slot, i) for i in range(len(bounds)))
            return HistogramSnapshot(
                meta.label_names,
                meta.label_values,
                bounds,
                counts,
                values[-1],
                counts[-1] if counts else 0,
                created,
                exemplars,
            )
        if meta.kind == "summary":
            return SummarySnapshot(
                meta.label_names, meta.label_values, (), values[-1], int(values[0]), created
            )
        return ValueSnapshot(meta.label_names, meta.label_values, values[0], created)


def _native_shape(meta: Meta) -> tuple[int, int]:
    """``(classic buckets, bucket limit)`` of a native histogram's record."""
    classic = meta.extra.get("classic")
    return (0 if classic is None else len(classic)), meta.extra["native"]
