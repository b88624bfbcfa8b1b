"""The command line as a whole: --version, output piped into a reader that stops early,
and check agreeing with doctor about a backend whose extra is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lexigram.monitor import __version__
from lexigram.monitor.cli import EXIT_BROKEN_PIPE, main
from lexigram.monitor.cli.check import EXIT_ISSUES, check_config


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("LEX_MONITOR__") or name in ("LEX_ENV", "APP_ENV"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package version and exits 0, without a command."""
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"lexigram-monitor {__version__}\n"


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """`slo rules big.yaml | head`: when the reader has gone, the command ends without a
    traceback, with exit status 141 (as if stopped by SIGPIPE)."""
    slos = "".join(
        f"  - {{name: api{i}, metric: api.duration, percentile: 0.99, threshold_ms: 250,"
        " window: 30d}\n"
        for i in range(50)
    )
    spec = tmp_path / "slos.yaml"
    spec.write_text("slos:\n" + slos, encoding="utf-8")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: EPIPE, every time
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lexigram.monitor", "slo", "rules", str(spec)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == EXIT_BROKEN_PIPE


def test_broken_pipe_in_process_returns_141(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """main() turns a BrokenPipeError of stdout into exit status 141."""

    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    spec = tmp_path / "slos.yaml"
    spec.write_text(
        "slos:\n  - {name: api, metric: api.duration, percentile: 0.99, threshold_ms: 250,"
        " window: 30d}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["slo", "rules", str(spec)]) == EXIT_BROKEN_PIPE


def test_check_fails_like_doctor_when_the_backend_extra_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a core-only install the prometheus backend is an error for check too (exit 1),
    with the install line as the fix; doctor says UNUSABLE for the same reason."""
    monkeypatch.setenv("LEX_MONITOR__BACKEND_TYPE", "prometheus")
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    report = check_config(None, env="development")
    (issue,) = [i for i in report.issues if i.field == "backend_type"]
    assert issue.severity == "error"
    assert "the prometheus backend cannot be built" in issue.message
    assert issue.suggestion == "pip install 'lexigram-monitor[prometheus]'"
    assert main(["check"]) == EXIT_ISSUES
    assert "FAILED" in capsys.readouterr().out
    assert main(["doctor"]) == 1


def test_check_is_quiet_about_a_backend_that_can_be_built() -> None:
    """With the extras installed there is no backend finding."""
    report = check_config(None, env="development")
    assert [i for i in report.issues if i.field == "backend_type"] == []
