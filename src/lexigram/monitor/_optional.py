"""Guard for optional dependencies: one place, one message naming the pip extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from .exceptions import BackendNotAvailableError

__all__ = ["is_available", "require"]


def require(extra: str, module: str) -> ModuleType:
    """Import *module* or raise :class:`BackendNotAvailableError` naming *extra*.

    >>> require("prometheus", "prometheus_client")  # doctest: +SKIP
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"{module!r} is not installed, but this feature needs it; "
            f"install the extra with: pip install 'lexigram-monitor[{extra}]'"
        ) from exc


def is_available(module: str) -> bool:
    """Return True when *module* can be imported (the import is attempted once)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
