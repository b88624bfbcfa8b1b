"""The README quickstart, run as written: ``shop.py`` under ``uvicorn shop:app`` (a real
process), then each ``$ curl ...`` line of the transcript in a shell, whose output must
be what the README prints after it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._servers import ServerProcess, launch, require_binary

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### One call: metrics, traces and probes"


def quickstart() -> tuple[str, list[tuple[str, list[str]]]]:
    """The ``shop.py`` source and the transcript: [(command, expected output lines)]."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    source = re.search(r"```python\n(# shop\.py\n.*?)```", section, re.S)
    console = re.search(r"```console\n(.*?)```", section, re.S)
    assert source is not None, "the quickstart has a ```python block starting with # shop.py"
    assert console is not None, "the quickstart has a ```console transcript"
    steps: list[tuple[str, list[str]]] = []
    for line in console[1].splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return source[1], steps


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[str]:
    """``uvicorn shop:app`` in a fresh directory holding the README's shop.py."""
    source, _ = quickstart()
    (tmp_path / "shop.py").write_text(source, encoding="utf-8")

    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "uvicorn", "shop:app", "--port", str(port)]

    process: ServerProcess
    process, url = launch("shop", tmp_path, argv, ready_path="/health/live")
    yield url
    process.stop()


def test_the_quickstart_prints_what_the_readme_says(shop: str) -> None:
    """Every transcript command, run by bash against the served shop.py, prints exactly
    the lines the README shows."""
    require_binary("curl", "curl")
    _, steps = quickstart()
    assert steps, "the transcript has commands"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for command, expected in steps:
        run = command.replace("localhost:8000", shop.removeprefix("http://"))
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", run],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=False,
        )
        assert done.returncode == 0, f"{command!r} failed: {done.stderr}"
        assert done.stdout.splitlines() == expected, f"$ {command}"
