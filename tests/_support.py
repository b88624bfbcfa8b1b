"""Helpers shared by test modules in several directories."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable


def modules_loaded_by(code: str, modules: Iterable[str]) -> list[str]:
    """Which of *modules* are in ``sys.modules`` after *code* runs in a fresh interpreter.

    The way to check that an import stays light: the test process itself has imported
    everything already.
    """
    names = list(modules)
    report = f"print(json.dumps([m for m in {names!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\n{report}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded: list[str] = json.loads(out.strip().splitlines()[-1])
    return loaded


def modules_added_by(code: str) -> list[str]:
    """The modules *code* adds to ``sys.modules`` in a fresh interpreter, sorted."""
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    added: list[str] = json.loads(out.strip().splitlines()[-1])
    return added
