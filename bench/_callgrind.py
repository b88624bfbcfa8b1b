"""Counting the instructions of a Python script with callgrind (Debian's ``valgrind``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def count_instructions(script: Path, args: list[str], out: Path) -> int:
    """Instructions of ``python script *args`` (all threads), hash seed fixed, this
    checkout on ``PYTHONPATH``; *out* is callgrind's file, deleted afterwards."""
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(script),
            *args,
        ],
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    text = out.read_text(errors="replace")
    out.unlink()
    return max(int(v) for v in re.findall(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE))
