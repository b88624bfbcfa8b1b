"""The public surface: every exported name resolves, and the import stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lexigram.monitor as monitor

OPTIONAL_MODULES = ("prometheus_client", "opentelemetry", "psutil", "uvicorn", "httpx",
                    "starlette", "structlog", "yaml")  # fmt: skip


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists every exported name once, sorted."""
    assert monitor.__all__ == sorted(monitor.__all__)
    assert len(set(monitor.__all__)) == len(monitor.__all__)
    assert "__version__" in monitor.__all__


@pytest.mark.parametrize("name", [n for n in monitor.__all__ if n != "__version__"])
def test_every_exported_name_resolves(name: str) -> None:
    """Each name of __all__ is importable from lexigram.monitor."""
    assert getattr(monitor, name) is not None


def test_unknown_attribute_raises_attribute_error() -> None:
    """Unknown names fail like any module attribute."""
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        monitor.Nope  # noqa: B018


def test_import_loads_no_optional_dependency() -> None:
    """`import lexigram.monitor` (and resolving a core name) imports no optional extra."""
    code = (
        "import sys, lexigram.monitor as m; m.MonitorConfig; m.NoOpTracer; "
        f"print([n for n in {OPTIONAL_MODULES!r} if n in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_namespace_package() -> None:
    """`lexigram` is a namespace package so other lexigram-* distributions can share it."""
    import lexigram

    assert getattr(lexigram, "__file__", None) is None
