"""Property: ``promtool check metrics`` accepts the text exposition after any workload.

The random workloads of ``tests/_workload.py`` (every public recording call, hostile
values, label texts and names) are applied to a fresh collector each; every text
exposition is checked by prometheus_client's parsers as in the unit test, then all of
them — names prefixed per workload so they stay distinct — and the process exposition
(which holds the label-cut counter) go through one ``promtool check metrics`` run.
promtool exits 3 for lint advice (names, missing HELP); only exit 1, "error while
linting", means the exposition could not be parsed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from lexigram.monitor.backends.exporters.prometheus import render
from lexigram.monitor.metrics import MetricsCollector, set_default_collector
from tests._workload import (
    Workload,
    check_parsers,
    drive,
    new_collector,
    with_index_prefix,
    workloads,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_default_collector() -> Iterator[MetricsCollector]:
    """The process-wide collector (where cut label values are counted) is this test's."""
    collector = MetricsCollector()
    set_default_collector(collector)
    yield collector
    set_default_collector(None)


def promtool_check(promtool: str, body: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )


def parsed_by_promtool(result: subprocess.CompletedProcess[bytes]) -> bool:
    """True when promtool parsed the exposition (exit 0, or 3 for lint advice only)."""
    output = result.stdout + result.stderr
    return result.returncode in (0, 3) and b"error while linting" not in output


def test_promtool_accepts_every_workloads_text_exposition(promtool: str) -> None:
    """Two hundred random workloads: each exposition passes prometheus_client's parsers,
    and promtool parses all of them and the process exposition."""
    bodies: list[bytes] = []

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(workloads())
    def collect(workload: Workload) -> None:
        collector = new_collector(workload)
        drive(collector, workload)
        bodies.append(check_parsers(collector))

    collect()
    combined = b"".join(with_index_prefix(body, i) for i, body in enumerate(bodies))
    process, _ = render()
    assert b"lexigram_monitor_labels_truncated_total" in process

    for body in (combined, process):
        result = promtool_check(promtool, body)
        if not parsed_by_promtool(result):
            failing = next(
                (b for b in bodies if not parsed_by_promtool(promtool_check(promtool, b))), body
            )
            pytest.fail(
                f"promtool could not parse an exposition:\n{result.stdout.decode()}"
                f"{result.stderr.decode()}\n--- exposition ---\n{failing[:4000]!r}"
            )


def test_promtool_check_fails_on_an_unparsable_exposition(promtool: str) -> None:
    """The check has teeth: a sample value of 401 digits (what a huge int once put in a
    counter) and a label value that is not UTF-8 are both reported as parse errors."""
    digits = b"# HELP c_total C.\n# TYPE c_total counter\nc_total " + b"9" * 401 + b"\n"
    surrogate = b'# HELP g G.\n# TYPE g gauge\ng{v="a\xed\xa0\x80b"} 1\n'
    for body in (digits, surrogate):
        assert not parsed_by_promtool(promtool_check(promtool, body))
