"""The archive of the multi-process mode: dead workers' files merged into one.

Compaction (under the directory lock) folds the files of dead workers into
``archive.db``: counters, histograms, summaries and process records summed, gauges kept
by their mode (``sum``, ``max``, ``min``, ``latest``; ``live_sum`` and ``all`` drop out
with their worker), native histograms merged (``metrics._native_merge``; the archive's
record has the series' usual size, the bucket limit bounding the merged buckets too),
the newest exemplar per series and bucket kept. The new archive is
written to a temporary file, fsynced and renamed over the old one; its header lists the
worker files it absorbed, and those files are deleted only after the rename. A crash
between the rename and the deletes therefore never counts a file twice: readers skip,
and the next compaction deletes, a file the archive already absorbed. The archive has
one record per series the dead workers ever had, so the directory holds one archive
plus one file per live worker, however many workers came and went.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import Any

from ._merge import MergeState
from ._shared import ARCHIVE_NAME, EXEMPLARS, SERIES, encode_header, record_size
from ._shared_series import SLOT_CELLS

__all__ = ["write_archive"]


def _record(key: bytes, kind: int, cells: bytes) -> bytes:
    count = len(cells) // 8
    size = record_size(len(key), count)
    padded = key.ljust((len(key) + 7) // 8 * 8, b"\0")
    return struct.pack("<IIII", size, kind, len(key), count) + padded + cells


def _exemplar_cells(slots: list[Any]) -> bytes:
    out = bytearray()
    for found in slots:
        if found is None:
            out += bytes(8 * SLOT_CELLS)
            continue
        value, timestamp, trace, span = found
        out += struct.pack("<ddd", 2.0, value, timestamp)
        out += trace.encode("ascii", "replace")[:32].ljust(32, b"\0")
        out += span.encode("ascii", "replace")[:16].ljust(16, b"\0")
    return bytes(out)


def write_archive(directory: Path, service: str, state: MergeState, absorbed: list[str]) -> None:
    """Write *state* (what the archive keeps of it) as the new archive of *directory*,
    atomically (temporary file, fsync, rename, fsync of the directory); raises OSError."""
    parts = [
        encode_header(
            {
                "service": service,
                "pid": 0,
                "start": 0,
                "archive": True,
                "absorbed": absorbed,
                "created": time.time(),
            }
        )
    ]
    metas = state.metas
    for slot, value in state.scalars.items():
        meta = metas[slot]
        parts.append(_record(meta.key, SERIES, struct.pack("<d", value)))
    for slot, values in state.vectors.items():
        # built from dead workers only: live_sum and all gauges never got here
        parts.append(_record(metas[slot].key, SERIES, struct.pack(f"<{len(values)}d", *values)))
    for meta, values in state.native_records():
        parts.append(_record(meta.key, SERIES, struct.pack(f"<{len(values)}d", *values)))
    for slot, slots in state.exemplars.items():
        if any(found is not None for found in slots):
            parts.append(_record(metas[slot].key, EXEMPLARS, _exemplar_cells(slots)))
    temporary = directory / f"archive.tmp-{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = b"".join(parts)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(temporary, directory / ARCHIVE_NAME)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
