"""Counting the instructions of a Python script with callgrind (Debian's ``valgrind``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Environment of every counted run: hash seed fixed, this checkout importable.
ENV = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}


def collected(out_file: Path) -> int:
    """The instruction total of a callgrind output (its ``summary:`` / ``totals:`` line)."""
    text = out_file.read_text(errors="replace")
    found = re.findall(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if not found:
        raise RuntimeError(f"no totals in {out_file}")
    return max(int(value) for value in found)


def per_call(
    case: str, script: Path, workdir: Path, n: int = 20_000, extra: Sequence[str] = ()
) -> float:
    """Instructions of one call of *case*: (count(6n) - count(n)) / 5n, where count(k)
    runs ``python script case k *extra`` under callgrind (all threads counted)."""

    def count(calls: int) -> int:
        out = workdir / f"{script.stem}-{case}-{calls}.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(script),
                case,
                str(calls),
                *extra,
            ],
            env=ENV,
            check=True,
            capture_output=True,
        )
        total = collected(out)
        out.unlink()
        return total

    return (count(6 * n) - count(n)) / (5 * n)
