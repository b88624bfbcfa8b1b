"""SLOMonitor error budgets: availability SLOs, the status API, gauges and burn alerts."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.hooks import AlertFiredHook, default_bus
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.slo import AvailabilitySLO, EventsSLI, RequestsSLI, SLOMonitor, SLOStatus

from ._slos import METRIC, example_slo
from .test_monitor import RecordingDispatcher

DAY = timedelta(days=1)
EVENTS = EventsSLI("sum(rate(t[{{.window}}]))", error_query="sum(rate(e[{{.window}}]))")


def make(**kwargs: Any) -> tuple[SLOMonitor, FakeClock, MetricsCollector]:
    clock = FakeClock()
    collector = MetricsCollector()
    return SLOMonitor(clock=clock, collector=collector, **kwargs), clock, collector


def requests(collector: MetricsCollector, route: str, status: str, count: int) -> None:
    counter = collector.create_counter("http_requests_total", "Requests.")
    counter.increment(count, {"method": "GET", "route": route, "status": status})


def test_status_of_a_healthy_objective() -> None:
    """Events recorded in process give the SLI, the budget left and burn rates per window
    (the alert windows scaled to the period, and the period); nothing fires."""
    monitor, clock, _ = make()
    monitor.register(AvailabilitySLO("api", 0.99, DAY, EVENTS))
    monitor.record_event("api", good=True, count=995)
    monitor.record_event("api", good=False, count=5)
    clock.advance(1)
    (status,) = monitor.status()
    assert isinstance(status, SLOStatus)
    assert (status.name, status.kind, status.objective, status.period) == ("api", "availability",
                                                                          0.99, DAY)  # fmt: skip
    assert status.sli == pytest.approx(0.995)
    assert status.error_budget_remaining == pytest.approx(0.5)
    assert list(status.burn_rates) == ["10s", "1m", "2m", "4m", "12m", "48m", "2h24m", "1d"]
    assert all(rate == pytest.approx(0.5) for rate in status.burn_rates.values())
    assert [(p.kind, p.factor) for p in status.pairs] == [
        ("page", 14.4), ("page", 6.0), ("ticket", 3.0), ("ticket", 1.0)
    ]  # fmt: skip
    assert not status.page
    assert not status.ticket
    assert status.events == 1000
    with pytest.raises(TypeError):
        status.burn_rates["10s"] = 1.0  # type: ignore[index]


def test_a_fast_burn_pages_and_a_slow_one_tickets() -> None:
    """A burst well above 14.4x the budget pages; once it has aged out of the short
    windows only the longer tiers still see it: a ticket."""
    monitor, clock, _ = make()
    monitor.register(AvailabilitySLO("api", 0.99, DAY, EVENTS))
    for _ in range(60):  # an hour of steady, healthy traffic
        monitor.record_event("api", good=True, count=100)
        clock.advance(60)
    monitor.record_event("api", good=False, count=100)  # a second of nothing but errors
    clock.advance(1)
    (status,) = monitor.status()
    assert status.page
    assert status.pairs[0].firing
    # Five minutes later the 10s, 1m and 4m windows are clean; 2h24m and 12m still burn
    # above 1x.
    clock.advance(300)
    monitor.record_event("api", good=True, count=10)
    (status,) = monitor.status()
    assert not status.page
    assert status.ticket


def test_requests_slo_reads_the_request_counter() -> None:
    """A RequestsSLI objective counts the collector's http_requests_total: only its route,
    5xx as errors, from the counts at registration on."""
    monitor, clock, collector = make()
    requests(collector, "/orders/{order_id}", "500", 50)  # before registration: ignored
    monitor.register(AvailabilitySLO("orders", 0.9, DAY, RequestsSLI(route="/orders/{order_id}")))
    requests(collector, "/orders/{order_id}", "200", 90)
    requests(collector, "/orders/{order_id}", "404", 5)
    requests(collector, "/orders/{order_id}", "503", 5)
    requests(collector, "/checkout", "500", 100)
    clock.advance(1)
    (status,) = monitor.status()
    assert status.events == 100
    assert status.sli == pytest.approx(0.95)
    assert status.error_budget_remaining == pytest.approx(0.5)
    with pytest.raises(ValueError, match="counts the requests"):
        monitor.record_event("orders", good=False)


def test_objectives_over_one_counter_read_it_once_or_use_the_callers_snapshot() -> None:
    """status() reads each request counter once for every objective over it; snapshots
    the caller already took (by counter) are used instead of reading again, and a
    selector label the counter lacks is ignored."""
    monitor, clock, collector = make()
    requests(collector, "/a", "200", 1)
    monitor.register(AvailabilitySLO("a", 0.9, DAY, RequestsSLI(route="/a")))
    selected = RequestsSLI(route="/a", selector={"job": "api"})
    monitor.register(AvailabilitySLO("a-job", 0.9, DAY, selected))
    monitor.register(AvailabilitySLO("all", 0.9, DAY, RequestsSLI()))
    counter = collector.get_metric("http_requests_total")
    reads = 0

    class Snapshots(dict[Any, Any]):
        def __missing__(self, metric: Any) -> Any:
            nonlocal reads
            reads += 1
            assert metric is counter
            snaps = self[metric] = metric.collect()
            return snaps

    requests(collector, "/a", "500", 3)
    requests(collector, "/b", "200", 6)
    clock.advance(1)
    statuses = {s.name: s for s in monitor.status(Snapshots())}
    assert reads == 1
    assert (statuses["a"].events, statuses["a-job"].events, statuses["all"].events) == (3, 3, 9)
    assert statuses["a"].sli == statuses["a-job"].sli == 0
    taken = counter.collect()  # type: ignore[union-attr]
    requests(collector, "/a", "200", 100)  # after the caller's snapshot: not seen yet
    clock.advance(1)
    assert {s.name: s.events for s in monitor.status({counter: taken})}["a"] == 3
    assert {s.name: s.events for s in monitor.status()}["a"] == 103


def test_a_reset_counter_starts_over_without_negative_counts() -> None:
    """A counter that goes down (collector cleared) counts from its new value."""
    monitor, clock, collector = make()
    monitor.register(AvailabilitySLO("svc", 0.9, DAY))
    requests(collector, "/", "200", 10)
    monitor.poll()
    collector.clear()
    requests(collector, "/", "500", 2)
    clock.advance(1)
    (status,) = monitor.status()
    assert status.events == 12
    assert status.sli == pytest.approx(10 / 12)


def test_no_events_means_no_data() -> None:
    """Without events the SLI, budget and burn rates are None and nothing fires."""
    monitor, _, _ = make()
    monitor.register(AvailabilitySLO("api", 0.99, DAY, EVENTS))
    (status,) = monitor.status()
    assert status.sli is None
    assert status.error_budget_remaining is None
    assert set(status.burn_rates.values()) == {None}
    assert not status.page
    assert not status.ticket


def test_latency_slos_report_a_status_too() -> None:
    """A latency SLO's status counts samples above the threshold as failed events; the
    seed's evaluation is unchanged."""
    monitor, clock, _ = make()
    slo = example_slo(window=DAY, percentile=0.9)
    monitor.register(slo)
    for value in [100.0] * 8 + [300.0] * 2:
        monitor.record_sample(METRIC, value)
    clock.advance(1)
    (status,) = monitor.status()
    assert (status.kind, status.objective) == ("latency", 0.9)
    assert status.sli == pytest.approx(0.8)
    assert status.error_budget_remaining == pytest.approx(-1.0)
    # 20 % errors against a 10 % budget: a 2x burn in every window, above the 1x tier only
    assert status.ticket
    assert not status.page
    assert monitor.objectives == {"api.p99_latency": slo}


def test_names_are_unique_across_kinds_and_events_need_a_known_name() -> None:
    """One name per monitor, latency or availability; record_event checks its input."""
    monitor, _, _ = make()
    monitor.register(example_slo(name="api"))
    with pytest.raises(ValueError, match="already registered"):
        monitor.register(AvailabilitySLO("api", 0.99))
    with pytest.raises(KeyError, match="no availability SLO"):
        monitor.record_event("api")
    monitor.register(AvailabilitySLO("other", 0.99, DAY, EVENTS))
    with pytest.raises(ValueError, match="count"):
        monitor.record_event("other", count=-1)
    with pytest.raises(TypeError):
        monitor.register("api")  # type: ignore[arg-type]


async def test_evaluate_publishes_gauges() -> None:
    """evaluate() sets the lexigram_slo_* gauges in the monitor's collector."""
    monitor, clock, collector = make()
    monitor.register(AvailabilitySLO("api", 0.99, DAY, EVENTS))
    monitor.record_event("api", good=True, count=98)
    monitor.record_event("api", good=False, count=2)
    clock.advance(1)
    assert await monitor.evaluate() == []

    def gauge(name: str, **labels: str) -> float:
        metric = collector.get_metric(name)
        assert metric is not None
        return float(metric.get_value(labels={"slo": "api", **labels}))  # type: ignore[attr-defined]

    assert gauge("lexigram_slo_objective_ratio") == 0.99
    assert gauge("lexigram_slo_sli_ratio") == pytest.approx(0.98)
    assert gauge("lexigram_slo_error_budget_remaining_ratio") == pytest.approx(-1.0)
    assert gauge("lexigram_slo_burn_rate", window="10s") == pytest.approx(2.0)
    assert gauge("lexigram_slo_alert_firing", severity="ticket") == 1.0
    assert gauge("lexigram_slo_alert_firing", severity="page") == 0.0


async def test_burns_are_dispatched_with_suppression_and_announced() -> None:
    """A page goes to the dispatcher (SLOErrorBudgetBurn, labels slo and alert_kind) and
    the hook bus once per suppression window; evaluate() still returns no violation."""
    dispatcher = RecordingDispatcher()
    monitor, clock, _ = make(dispatcher=dispatcher)
    monitor.register(AvailabilitySLO("api", 0.99, DAY, EVENTS, "checkout availability"))
    fired: list[AlertFiredHook] = []
    unsubscribe = default_bus.subscribe(AlertFiredHook, fired.append)
    try:
        monitor.record_event("api", good=False, count=50)
        monitor.record_event("api", good=True, count=50)
        clock.advance(1)
        assert await monitor.evaluate() == []
        assert await monitor.evaluate() == []
    finally:
        unsubscribe()
    kinds = [context["labels"]["alert_kind"] for _, _, _, context in dispatcher.metric_alerts]
    assert sorted(kinds) == ["page", "ticket"]
    name, value, threshold, context = dispatcher.metric_alerts[0]
    assert context["alert_name"] == "SLOErrorBudgetBurn"
    assert context["description"] == "checkout availability"
    assert name == "api burn rate"
    assert value == pytest.approx(50.0)
    assert threshold in (14.4, 3.0)
    assert monitor.suppressed_alerts == 2
    assert {hook.severity for hook in fired} == {"critical", "warning"}
    assert math.isclose(fired[0].fired_at, clock.time() - 0, abs_tol=1)
