"""RequestCounter: the (errors, total) of a RequestsSLI summed over the counter's series."""

from __future__ import annotations

import pytest

from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.slo import RequestsSLI
from lexigram.monitor.slo._tracking import RequestCounter


@pytest.fixture
def collector() -> MetricsCollector:
    collector = MetricsCollector()
    total = collector.create_counter("http_requests_total", "")
    for job, route, status, count in [
        ("api", "/a", "200", 5),
        ("api", "/a", "503", 2),
        ("api", "/b", "500", 3),
        ("web", "/a", "200", 7),
        ("web", "/a", "502", 1),
    ]:
        total.increment(count, {"job": job, "route": route, "status": status})
    return collector


@pytest.mark.parametrize(
    ("sli", "expected"),
    [
        (RequestsSLI(), (6, 18)),
        (RequestsSLI(route="/a"), (3, 15)),
        (RequestsSLI(selector={"job": "web"}), (1, 8)),
        (RequestsSLI(route="/a", selector={"job": "api"}), (2, 7)),
        (RequestsSLI(route="/c"), (0, 0)),
    ],
)
def test_totals_count_the_series_the_sli_selects(
    collector: MetricsCollector, sli: RequestsSLI, expected: tuple[int, int]
) -> None:
    """Every series, one label or two labels must match; 5xx statuses are errors."""
    assert RequestCounter(sli).totals(collector) == expected
