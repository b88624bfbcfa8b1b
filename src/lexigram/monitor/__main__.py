"""``python -m lexigram.monitor`` runs the command line (see :mod:`lexigram.monitor.cli`)."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
