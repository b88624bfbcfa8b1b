"""SLOMonitor: sampling, nearest-rank evaluation, eviction, bounds and alerting."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.exceptions import InvalidMetricError
from lexigram.monitor.hooks import AlertFiredHook, default_bus
from lexigram.monitor.metrics import MetricsCollector
from lexigram.monitor.slo import SLOMonitor
from lexigram.monitor.slo.monitor import kth_smallest

from ._slos import METRIC, example_slo

HOUR = timedelta(hours=1)


class RecordingDispatcher:
    """Fake dispatcher keeping every metric alert."""

    def __init__(self) -> None:
        self.metric_alerts: list[tuple[str, float, float, dict[str, Any] | None]] = []

    async def send_alert(
        self, title: str, message: str, severity: str, context: dict[str, Any] | None = None
    ) -> None:
        raise AssertionError("SLO violations are sent as metric alerts")

    async def send_metric_alert(
        self,
        metric_name: str,
        current_value: float,
        threshold: float,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.metric_alerts.append((metric_name, current_value, threshold, context))


class BrokenDispatcher(RecordingDispatcher):
    """Fake dispatcher that raises on every metric alert."""

    async def send_metric_alert(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("pager unreachable")


class HangingDispatcher(RecordingDispatcher):
    """Fake dispatcher that never returns."""

    async def send_metric_alert(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.Event().wait()


def make(**kwargs: Any) -> tuple[SLOMonitor, FakeClock]:
    clock = FakeClock()
    return SLOMonitor(clock=clock, **kwargs), clock


async def test_reference_example_is_a_violation_with_burn_rate_1_75() -> None:
    """150 ms and 350 ms against p99 < 200 ms: p99 is 350 ms, burn rate 1.75."""
    monitor, clock = make()
    slo = example_slo()
    monitor.register(slo)
    monitor.record_sample(METRIC, 150.0)
    monitor.record_sample(METRIC, 350.0)
    (violation,) = await monitor.evaluate()
    assert violation.slo is slo
    assert violation.measured_value == 350.0
    assert violation.burn_rate == 1.75
    assert violation.sample_count == 2
    assert violation.detected_at == datetime.fromtimestamp(clock.time(), UTC)


async def test_no_samples_or_no_slos_yield_no_violation() -> None:
    """Nothing recorded (or nothing registered) evaluates to an empty list."""
    monitor, _ = make()
    assert await monitor.evaluate() == []
    monitor.record_sample(METRIC, 999.0)
    assert await monitor.evaluate() == []
    monitor.register(example_slo(metric="other"))
    assert await monitor.evaluate() == []


async def test_within_bounds_is_no_violation() -> None:
    """A percentile at or below the threshold is compliant."""
    monitor, _ = make()
    monitor.register(example_slo())
    for _ in range(10):
        monitor.record_sample(METRIC, 200.0)
    assert await monitor.evaluate() == []


@pytest.mark.parametrize(
    ("burn_rate_threshold", "violated"), [(1.0, True), (1.75, True), (1.76, False)]
)
async def test_burn_rate_threshold_gates_the_violation(
    burn_rate_threshold: float, violated: bool
) -> None:
    """A violation needs measured/threshold >= burn_rate_threshold (equality counts)."""
    monitor, _ = make()
    monitor.register(example_slo(burn_rate_threshold=burn_rate_threshold))
    monitor.record_sample(METRIC, 350.0)
    assert bool(await monitor.evaluate()) is violated


async def test_burn_rate_threshold_below_one_still_needs_the_threshold_exceeded() -> None:
    """measured > threshold is required even when burn_rate_threshold < 1."""
    monitor, _ = make()
    monitor.register(example_slo(burn_rate_threshold=0.5))
    monitor.record_sample(METRIC, 150.0)
    assert await monitor.evaluate() == []


@pytest.mark.parametrize(
    ("percentile", "expected"), [(0.1, 10.0), (0.5, 50.0), (0.9, 90.0), (0.91, 100.0), (1.0, 100.0)]
)
async def test_percentile_is_nearest_rank(percentile: float, expected: float) -> None:
    """The measured value is the ceil(p·n)-th smallest sample, never an interpolation."""
    monitor, _ = make()
    monitor.register(example_slo(percentile=percentile, threshold_ms=1.0))
    for value in (100.0, 30.0, 10.0, 80.0, 60.0, 20.0, 90.0, 50.0, 40.0, 70.0):
        monitor.record_sample(METRIC, value)
    (violation,) = await monitor.evaluate()
    assert violation.measured_value == expected


async def test_samples_outside_the_window_are_ignored_and_evicted() -> None:
    """Only samples at most `window` old count; older ones are dropped at evaluation."""
    monitor, clock = make()
    monitor.register(example_slo(window=timedelta(minutes=5)))
    monitor.record_sample(METRIC, 900.0)
    clock.advance(240.0)
    monitor.record_sample(METRIC, 100.0)
    assert (await monitor.evaluate())[0].measured_value == 900.0
    clock.advance(60.0)  # the first sample is exactly 5 minutes old: still inside
    assert (await monitor.evaluate())[0].measured_value == 900.0
    clock.advance(0.001)
    assert await monitor.evaluate() == []
    assert monitor.sample_count(METRIC) == 1


async def test_each_slo_uses_its_own_window() -> None:
    """Two SLOs on one metric see different samples; eviction keeps the longest window."""
    monitor, clock = make()
    monitor.register(example_slo(name="short", window=timedelta(minutes=1)))
    monitor.register(example_slo(name="long", window=HOUR))
    monitor.record_sample(METRIC, 500.0)
    clock.advance(120.0)
    monitor.record_sample(METRIC, 100.0)
    violations = await monitor.evaluate()
    assert [v.slo.name for v in violations] == ["long"]
    assert monitor.sample_count(METRIC) == 2


async def test_samples_per_metric_are_bounded() -> None:
    """At most max_samples_per_metric samples are kept: the most recent ones."""
    monitor, _ = make(max_samples_per_metric=3)
    monitor.register(example_slo(percentile=1.0))
    for value in (1000.0, 1.0, 2.0, 3.0):
        monitor.record_sample(METRIC, value)
    assert monitor.sample_count(METRIC) == 3
    assert await monitor.evaluate() == []


async def test_number_of_metrics_is_bounded(
    caplog: pytest.LogCaptureFixture, collector: MetricsCollector
) -> None:
    """Past max_metrics, samples of new metrics are dropped, counted and logged once."""
    monitor, _ = make(max_metrics=2)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.slo"):
        for metric in ("a", "b", "c", "d", "c"):
            monitor.record_sample(metric, 1.0)
    assert monitor.sample_count("c") == 0
    assert monitor.dropped_samples == 3
    dropped = collector.create_counter("lexigram_monitor_slo_dropped_samples_total")
    assert dropped.get_value({"reason": "max_metrics"}) == 3
    assert len(caplog.records) == 1
    assert "max_metrics" in caplog.records[0].getMessage()
    monitor.clear_samples("a")
    monitor.record_sample("c", 1.0)
    assert monitor.sample_count("c") == 1


@pytest.mark.parametrize("value", [math.nan, -0.001, -math.inf, math.inf, "12", None, True])
def test_bad_samples_are_refused(value: Any) -> None:
    """NaN, negative, infinite and non-numeric samples raise InvalidMetricError; none stored."""
    monitor, _ = make()
    with pytest.raises(InvalidMetricError, match=f"SLO sample {value!r}"):
        monitor.record_sample(METRIC, value)
    with pytest.raises(ValueError, match="finite number of milliseconds >= 0"):
        monitor.record_sample(METRIC, value)
    assert monitor.sample_count(METRIC) == 0


@pytest.mark.parametrize("metric", ["", None, 3])
def test_bad_metric_names_are_refused(metric: Any) -> None:
    """A sample needs a non-empty metric name."""
    monitor, _ = make()
    with pytest.raises(InvalidMetricError, match="metric name"):
        monitor.record_sample(metric, 1.0)


def test_zero_and_integers_are_valid_samples() -> None:
    """0 ms and integer values are accepted."""
    monitor, _ = make()
    monitor.record_sample(METRIC, 0)
    monitor.record_sample(METRIC, 12)
    assert monitor.sample_count(METRIC) == 2


def test_register_refuses_duplicates_and_non_slos() -> None:
    """Names are unique (ValueError); only SLO objects are accepted (TypeError)."""
    monitor, _ = make()
    monitor.register(example_slo())
    with pytest.raises(ValueError, match="already registered"):
        monitor.register(example_slo(threshold_ms=1.0))
    with pytest.raises(TypeError):
        monitor.register("api")  # type: ignore[arg-type]


def test_registered_slos_is_a_copy_keyed_by_name() -> None:
    """registered_slos maps names to SLOs and cannot be used to mutate the monitor."""
    monitor, _ = make()
    slo = example_slo()
    monitor.register(slo)
    slos = monitor.registered_slos
    assert slos == {"api.p99_latency": slo}
    slos.clear()
    assert monitor.registered_slos == {"api.p99_latency": slo}


def test_clear_samples_one_metric_or_all() -> None:
    """clear_samples(metric) clears one metric; clear_samples() clears all."""
    monitor, _ = make()
    monitor.record_sample("a", 1.0)
    monitor.record_sample("b", 1.0)
    monitor.clear_samples("a")
    monitor.clear_samples("unknown")
    assert (monitor.sample_count("a"), monitor.sample_count("b")) == (0, 1)
    monitor.clear_samples()
    assert monitor.sample_count("b") == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_samples_per_metric": 0}, ValueError),
        ({"max_metrics": 0}, ValueError),
        ({"dispatch_timeout": 0}, ValueError),
        ({"suppression_window": timedelta(seconds=-1)}, ValueError),
        ({"dispatcher": object()}, TypeError),
    ],
)
def test_constructor_refuses_bad_arguments(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Bounds, timeouts and the dispatcher are checked at construction."""
    with pytest.raises(error):
        SLOMonitor(**kwargs)


async def test_violations_are_logged_as_structured_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each violation is a WARNING on lexigram.monitor.slo with its fields in extra."""
    monitor, _ = make()
    monitor.register(example_slo())
    monitor.record_sample(METRIC, 350.0)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.slo"):
        (violation,) = await monitor.evaluate()
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == violation.message
    assert record.slo == "api.p99_latency"  # type: ignore[attr-defined]
    assert record.burn_rate == 1.75  # type: ignore[attr-defined]
    assert record.measured_value == 350.0  # type: ignore[attr-defined]
    assert record.window_seconds == 3600.0  # type: ignore[attr-defined]


async def test_violations_are_dispatched_as_metric_alerts() -> None:
    """The dispatcher gets the metric, value, threshold and an SLO context."""
    dispatcher = RecordingDispatcher()
    monitor, _ = make(dispatcher=dispatcher)
    monitor.register(example_slo(description="checkout latency"))
    monitor.record_sample(METRIC, 350.0)
    (violation,) = await monitor.evaluate()
    ((metric, value, threshold, context),) = dispatcher.metric_alerts
    assert (metric, value, threshold) == (METRIC, 350.0, 200.0)
    assert context is not None
    assert context["alert_name"] == "SLOViolation"
    assert context["labels"] == {"slo": "api.p99_latency"}
    assert context["slo"] == "api.p99_latency"
    assert context["burn_rate"] == 1.75
    assert context["percentile"] == 0.99
    assert context["summary"] == violation.message
    assert context["description"] == "checkout latency"


async def test_alerts_are_suppressed_per_slo_within_the_window() -> None:
    """One SLO alerts once per suppression window; evaluate still returns every breach."""
    dispatcher = RecordingDispatcher()
    monitor, clock = make(dispatcher=dispatcher, suppression_window=timedelta(minutes=10))
    monitor.register(example_slo(name="a"))
    monitor.register(example_slo(name="b", threshold_ms=100.0))
    monitor.record_sample(METRIC, 350.0)
    assert len(await monitor.evaluate()) == 2
    clock.advance(300.0)
    assert len(await monitor.evaluate()) == 2
    assert len(dispatcher.metric_alerts) == 2
    assert monitor.suppressed_alerts == 2
    clock.advance(300.0)
    await monitor.evaluate()
    assert len(dispatcher.metric_alerts) == 4


async def test_a_zero_suppression_window_alerts_every_time() -> None:
    """suppression_window=0 disables suppression."""
    dispatcher = RecordingDispatcher()
    monitor, _ = make(dispatcher=dispatcher, suppression_window=0)
    monitor.register(example_slo())
    monitor.record_sample(METRIC, 350.0)
    await monitor.evaluate()
    await monitor.evaluate()
    assert len(dispatcher.metric_alerts) == 2


async def test_alert_fired_hook_is_emitted_unless_suppressed() -> None:
    """AlertFiredHook describes what fired on hooks.default_bus; suppressed repeats emit none."""
    fired: list[AlertFiredHook] = []
    default_bus.subscribe(AlertFiredHook, fired.append)
    monitor, clock = make()
    monitor.register(example_slo())
    monitor.record_sample(METRIC, 500.0)
    (violation,) = await monitor.evaluate()
    await monitor.evaluate()
    (hook,) = fired
    assert hook.alert_name == "api.p99_latency"
    assert hook.severity == "critical"  # 500 ms is more than twice 200 ms
    assert hook.message == violation.message
    assert hook.context["burn_rate"] == 2.5
    assert hook.fired_at == clock.time()


async def test_dispatcher_failures_are_contained(
    caplog: pytest.LogCaptureFixture, collector: MetricsCollector
) -> None:
    """A raising dispatcher is logged and counted; evaluate still returns the violations."""
    monitor, _ = make(dispatcher=BrokenDispatcher(), suppression_window=0)
    monitor.register(example_slo())
    monitor.record_sample(METRIC, 350.0)
    with caplog.at_level(logging.WARNING, logger="lexigram.monitor.slo"):
        assert len(await monitor.evaluate()) == 1
        assert len(await monitor.evaluate()) == 1
    assert monitor.dispatch_failures == 2
    failures = collector.create_counter("lexigram_monitor_slo_dispatch_failures_total")
    assert failures.get_value({"reason": "RuntimeError"}) == 2
    failures = [r for r in caplog.records if "dispatching" in r.getMessage()]
    assert len(failures) == 1  # rate limited
    assert "RuntimeError: pager unreachable" in failures[0].getMessage()


async def test_a_hanging_dispatcher_cannot_stall_evaluation(collector: MetricsCollector) -> None:
    """Dispatch is bounded by dispatch_timeout."""
    monitor, _ = make(dispatcher=HangingDispatcher(), dispatch_timeout=0.01)
    monitor.register(example_slo())
    monitor.record_sample(METRIC, 350.0)
    assert len(await monitor.evaluate()) == 1
    assert monitor.dispatch_failures == 1
    failures = collector.create_counter("lexigram_monitor_slo_dispatch_failures_total")
    assert failures.get_value({"reason": "timeout"}) == 1


@given(
    values=st.lists(
        st.floats(min_value=0.0, max_value=1e9, allow_nan=False), min_size=1, max_size=300
    ),
    data=st.data(),
)
def test_kth_smallest_matches_sorting(values: list[float], data: st.DataObject) -> None:
    """Selection returns exactly sorted(values)[k-1] for every rank."""
    k = data.draw(st.integers(min_value=1, max_value=len(values)))
    assert kth_smallest(values, k) == sorted(values)[k - 1]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=0.0, max_value=1e6, allow_nan=False), min_size=1, max_size=400
    ),
    percentile=st.sampled_from([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]),
)
def test_measured_percentile_matches_brute_force_nearest_rank(
    values: list[float], percentile: float
) -> None:
    """evaluate() measures the smallest sample v with #(samples <= v) >= p·n."""
    monitor, _ = make()
    monitor.register(example_slo(percentile=percentile, threshold_ms=1e-9))
    for value in values:
        monitor.record_sample(METRIC, value)
    measured = [v.measured_value for v in asyncio.run(monitor.evaluate())]
    exact = Fraction(str(percentile))
    n = len(values)
    brute = min(v for v in values if Fraction(sum(1 for w in values if w <= v), n) >= exact)
    expected = [brute] if brute > 1e-9 else []
    assert measured == expected


def test_unhashable_metric_names_get_a_clear_error() -> None:
    """A list as metric name is refused like any other non-string."""
    monitor, _ = make()
    with pytest.raises(InvalidMetricError, match="metric name"):
        monitor.record_sample(["m"], 1.0)  # type: ignore[arg-type]


async def test_large_evaluations_run_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past OFFLOAD_SAMPLES the percentiles are computed in a worker thread, same result."""
    from lexigram.monitor.slo import monitor as monitor_module

    threads: list[int] = []
    measure = monitor_module._measure

    def spy(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return measure(*args)

    monkeypatch.setattr(monitor_module, "_measure", spy)
    monitor, _ = make()
    monitor.register(example_slo())
    for value in (150.0, 350.0):
        monitor.record_sample(METRIC, value)
    assert (await monitor.evaluate())[0].measured_value == 350.0
    monkeypatch.setattr(monitor_module, "OFFLOAD_SAMPLES", 1)
    assert (await monitor.evaluate())[0].measured_value == 350.0
    assert threads[0] == threading.get_ident()
    assert threads[1] != threading.get_ident()
