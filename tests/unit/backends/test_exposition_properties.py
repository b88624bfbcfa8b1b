"""Property: whatever is recorded, both expositions stay valid and say what is stored.

Random values, label texts and names go through every public recording call
(``tests/_workload.py``); afterwards prometheus_client's text parser and its strict
OpenMetrics parser read the expositions, and every counter and gauge series appears in
both with its stored label values and value. (``promtool check metrics`` reads the same
workloads in ``tests/integration/test_exposition_promtool.py``.)
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from lexigram.monitor.metrics import MetricsCollector
from tests._workload import Workload, check_parsers, drive, new_collector, workloads


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_any_workload_leaves_both_expositions_valid(workload: Workload) -> None:
    """Every call either records or raises InvalidMetricError, and both formats parse
    back to the stored series; OpenMetrics never falls back to text."""
    collector = new_collector(workload)
    drive(collector, workload)
    check_parsers(collector)


def test_the_checks_can_fail() -> None:
    """The property has teeth: a value stored behind the instrument's back (a 401-digit
    int, as a counter could once hold) makes the parser check fail."""
    collector = MetricsCollector()
    counter = collector.create_counter("poisoned", "P.")
    counter.increment(1)
    counter.collect()  # the series exists
    series = next(iter(counter._series.values()))
    series.value = 10**400
    try:
        check_parsers(collector)
    except Exception:
        return
    raise AssertionError("a 401-digit sample value passed the parsers")
