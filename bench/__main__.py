"""Run every ``bench/bench_*.py`` module's ``main()`` in one process, in name order.

``python -m bench`` runs all; ``python -m bench metrics tracing`` runs the named ones.
"""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys
import time
from pathlib import Path


def _machine() -> str:
    try:
        import os

        cpus = os.cpu_count()
    except Exception:  # pragma: no cover - platform oddities
        cpus = None
    return f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, {cpus} cores"


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )
    wanted = argv or names
    unknown = [w for w in wanted if w not in names]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {names}", file=sys.stderr)
        return 2
    print(f"# lexigram-monitor benchmarks — {_machine()}")
    for name in wanted:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"\n## {name}")
        started = time.perf_counter()
        module.main()
        print(f"({name}: {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
