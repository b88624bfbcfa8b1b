"""What the status page keeps from one render to the next: each instrument is read once
per render, and figures, families, health rows and trace summaries are reused only while
their data is unchanged (never shown stale)."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import timedelta
from typing import Any

import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.config import MonitorConfig, StatusPageConfig
from lexigram.monitor.metrics import (
    Counter,
    Gauge,
    Histogram,
    MetricsCollector,
    set_exemplar_source,
)
from lexigram.monitor.middleware.status import HealthHistory, StatusPage
from lexigram.monitor.middleware.status import _windows as windows_module
from lexigram.monitor.middleware.status import html as html_module
from lexigram.monitor.middleware.status.html import HtmlMemo, render_section
from lexigram.monitor.middleware.status.routes import RouteStats, read_routes
from lexigram.monitor.middleware.status.sections import MetricsView
from lexigram.monitor.middleware.status.traces import TraceView
from lexigram.monitor.slo import AvailabilitySLO, RequestsSLI, SLOMonitor
from lexigram.monitor.tracing import Tracer

TOKEN = b"Bearer t"


def _clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


def _traffic(collector: MetricsCollector, route: str, count: int, status: str = "200") -> None:
    duration = collector.create_histogram("http_request_duration_seconds", "", buckets=[0.1, 1])
    total = collector.create_counter("http_requests_total", "")
    for _ in range(count):
        duration.observe(0.05, {"method": "GET", "route": route})
        total.increment(1, {"method": "GET", "route": route, "status": status})


async def test_one_render_reads_each_instrument_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The route table, the metric list and the SLO monitor share one snapshot of every
    instrument per page render (the SLO's request counter included); an instrument only
    the metric list shows is read through ``collect_first``."""
    reads: Tally[str] = Tally()
    for kind in (Counter, Gauge, Histogram):
        for method in ("collect", "collect_first"):
            original = getattr(kind, method)

            def counted(self: Any, *args: Any, _original: Any = original) -> Any:
                reads[self.name] += 1
                return _original(self, *args)

            monkeypatch.setattr(kind, method, counted)
    collector = MetricsCollector()
    _traffic(collector, "/a", 5)
    collector.create_gauge("queue_depth", "").set(3)
    monitor = SLOMonitor(collector=collector, clock=_clock())
    for name in ("orders", "all"):
        monitor.register(AvailabilitySLO(name, 0.99, timedelta(days=1), RequestsSLI()))
    config = MonitorConfig(status_page=StatusPageConfig(auth_token="t", health_max_age=0))
    page = StatusPage(
        collector=collector, tracer=Tracer("svc", None), slo_monitor=monitor, config=config
    )
    reads.clear()
    response = await page.respond("GET", "/", "", [TOKEN], "/-/monitor")
    assert response.status == 200
    assert reads == {"http_request_duration_seconds": 1, "http_requests_total": 1, "queue_depth": 1}
    page.close()


def test_idle_routes_keep_their_figures_and_busy_ones_get_new_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A route without new requests is not computed again (no quantile is interpolated
    for it), while a route with traffic shows its new counts at once."""
    clock = _clock()
    collector = MetricsCollector(clock=clock)
    _traffic(collector, "/busy", 10)
    _traffic(collector, "/idle", 10)
    stats = RouteStats(lambda: read_routes(collector.instruments()), clock, snapshot_interval=5)
    stats.table()
    calls: list[float] = []
    original = windows_module.quantiles

    def spy(qs: Any, bounds: Any, counts: Any) -> Any:
        calls.extend(qs)
        return original(qs, bounds, counts)

    monkeypatch.setattr(windows_module, "quantiles", spy)
    clock.advance(1)
    again = {row["route"]: row for row in stats.table()}
    assert calls == []
    assert again["/idle"]["1m"]["requests"] == 10
    _traffic(collector, "/busy", 5, status="500")
    clock.advance(1)
    rows = {row["route"]: row for row in stats.table()}
    assert rows["/busy"]["1m"]["requests"] == 15
    assert rows["/busy"]["1m"]["errors"] == pytest.approx(5 / 15)
    assert rows["/idle"]["1m"]["requests"] == 10
    # the busy route's three quantiles, once: both windows of a route younger than a
    # minute count from zero, so they share what is derived from its counts
    assert calls == [0.5, 0.95, 0.99]


def test_an_unchanged_metric_family_is_the_same_data_and_a_changed_one_is_new() -> None:
    """MetricsView hands back the very family dict while its series say the same (and
    the very series entry for a series that did not change), and a new value or a new
    series shows up in the next call."""
    collector = MetricsCollector()
    gauge = collector.create_gauge("depth", "Queue depth.")
    gauge.set(1, {"queue": "a"})
    other = collector.create_gauge("other", "")
    other.set(7)
    view = MetricsView(max_series=10)

    def families() -> dict[str, Any]:
        section = view.section(collector.instruments())
        return {f["name"]: f for f in section["families"]}

    first = families()
    second = families()
    assert second["depth"] is first["depth"]
    gauge.set(2, {"queue": "a"})
    gauge.set(1, {"queue": "c"})
    grown = families()
    assert grown["depth"] is not first["depth"]
    gauge.set(2, {"queue": "a"})
    third = families()
    assert third["depth"]["series"][0]["value"] == 2
    assert third["depth"]["series"][1] is grown["depth"]["series"][1]  # queue c: unchanged
    assert third["other"] is first["other"]
    gauge.set(5, {"queue": "b"})
    assert families()["depth"]["series_count"] == 3
    filtered = view.section(collector.instruments(), filter_text="queue")
    assert [f["name"] for f in filtered["families"]] == ["depth"]


def test_the_metric_list_reads_only_the_series_it_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A family past max_series is read through collect_first (never whole) and still
    says how many series it has; a new value of a shown series is in the next call."""
    gauge = Gauge("depth", "Queue depth.")
    for i in range(30):
        gauge.set(i, {"queue": str(i)})

    def whole(self: Any) -> Any:
        raise AssertionError("read whole")

    monkeypatch.setattr(Gauge, "collect", whole)
    view = MetricsView(max_series=10)
    family = view.section([gauge])["families"][0]
    assert family["series_count"] == 30
    assert [s["value"] for s in family["series"]] == [float(i) for i in range(10)]
    gauge.set(99, {"queue": "3"})
    family = view.section([gauge])["families"][0]
    assert family["series"][3]["value"] == 99
    assert view.section([gauge], filter_text="nothing")["series_total"] == 30


def test_a_health_entry_is_reused_until_the_check_runs_again() -> None:
    """The history's view keeps a check's entry while no run arrived; a run replaces it."""
    clock = _clock()
    history = HealthHistory(5, clock=clock)
    history.record("db", "healthy", 1.0, "ok", "readiness")
    history.record("cache", "healthy", 1.0, "ok", "liveness")
    first = {c["name"]: c for c in history.view()["checks"]}
    clock.advance(1)
    history.record("db", "unhealthy", 2.0, "down", "readiness")
    second = {c["name"]: c for c in history.view()["checks"]}
    assert second["cache"] is first["cache"]
    assert second["db"]["status"] == "unhealthy"
    assert [r["status"] for r in second["db"]["history"]] == ["healthy", "unhealthy"]
    assert second["db"]["changed_at"] == clock.time()


def test_a_trace_summary_follows_new_and_evicted_spans() -> None:
    """A span of a known trace ending later, or the buffer dropping one of its spans,
    gives the trace a new summary."""
    tracer = Tracer("svc", None, max_spans=3)
    view = TraceView(tracer, shown=5, slowest_kept=0)
    root = tracer.start_span("GET /a")
    tracer.start_span("child", root).end()
    root.end()
    trace_id = root.context.trace_id
    assert view.summary()["recent"][0]["spans"] == 2
    tracer.start_span("late", root).end()  # an async follow-up of the same trace
    assert view.summary()["recent"][0]["spans"] == 3
    other = tracer.start_span("GET /b")
    other.end()  # the buffer of three drops the first child
    recent = {t["trace_id"]: t for t in view.summary()["recent"]}
    assert recent[trace_id]["spans"] == 2


async def test_route_figures_link_to_their_exemplar_traces_in_the_html() -> None:
    """The server-rendered route table links each figure with an exemplar to its trace
    and leaves the others plain."""
    collector = MetricsCollector()
    tracer = Tracer("svc", None)
    duration = collector.create_histogram("http_request_duration_seconds", "", buckets=[1])
    span = tracer.start_span("GET /traced")
    ids = (span.context.trace_id, span.context.span_id)
    previous = set_exemplar_source(lambda: ids)
    try:
        duration.observe(0.5, {"method": "GET", "route": "/traced"})
    finally:
        set_exemplar_source(previous)
    span.end()
    duration.observe(0.5, {"method": "GET", "route": "/plain"})
    config = MonitorConfig(status_page=StatusPageConfig(auth_token="t", health_max_age=0))
    page = StatusPage(collector=collector, tracer=tracer, config=config)
    body = (await page.respond("GET", "/", "", [TOKEN], "/-/monitor")).body.decode()
    table = body[
        body.index('<table class="routes">') : body.index("</table>", body.index("routes"))
    ]
    traced = table[table.index('data-route="/traced"') :].split("</tr>")[0]
    plain = table[table.index('data-route="/plain"') :].split("</tr>")[0]
    link = f'href="/-/monitor/trace?id={span.context.trace_id}"'
    assert traced.count(link) == 2 * 4  # rate and three quantiles, both windows
    assert "<a " not in plain
    page.close()


def test_an_unchanged_route_row_is_the_same_dict_until_a_figure_changes() -> None:
    """A route without new requests keeps its very row while the seconds its windows
    cover stay the same; a request, or time moving a window's base, gives a new row with
    the new figures."""
    clock = _clock()
    collector = MetricsCollector(clock=clock)
    _traffic(collector, "/idle", 4)
    _traffic(collector, "/busy", 4)
    stats = RouteStats(lambda: read_routes(collector.instruments()), clock, snapshot_interval=5)

    def rows() -> dict[str, dict[str, Any]]:
        return {row["route"]: row for row in stats.table()}

    first = rows()
    clock.advance(1)
    second = rows()
    assert second["/idle"] is first["/idle"]
    assert second["/busy"] is first["/busy"]
    _traffic(collector, "/busy", 2)
    clock.advance(1)
    third = rows()
    assert third["/idle"] is first["/idle"]
    assert third["/busy"] is not second["/busy"]
    assert third["/busy"]["1m"]["requests"] == 6
    assert third["/busy"]["1m"]["rate"] == pytest.approx(6 / 60)
    five = third["/busy"]["5m"]  # the same counts over a longer window
    assert (five["requests"], five["covered"]) == (6, 300.0)
    assert five["rate"] == pytest.approx(6 / 300)
    same = ("errors", "p50", "p95", "p99", "traces")
    assert {k: five[k] for k in same} == {k: third["/busy"]["1m"][k] for k in same}
    assert five["traces"] is not third["/busy"]["1m"]["traces"]
    clock.advance(70)  # the series are now older than a minute: the 1m base moves
    later = rows()
    assert later["/idle"] is not first["/idle"]
    assert later["/idle"]["1m"]["covered"] == pytest.approx(72.0)
    clock.advance(1)
    assert rows()["/idle"]["1m"]["covered"] == pytest.approx(73.0)


async def test_the_page_shows_new_figures_traces_and_settings_on_the_next_render() -> None:
    """What the page keeps between renders (rows, trace lines, the settings table) is
    replaced as soon as what it shows changed: a route's new requests, a new trace, a
    changed setting."""
    clock = _clock()
    collector = MetricsCollector(clock=clock)
    _traffic(collector, "/a", 3)
    _traffic(collector, "/b", 3)
    tracer = Tracer("svc", None)
    tracer.start_span("GET /first").end()
    config = MonitorConfig(status_page=StatusPageConfig(auth_token="t", health_max_age=0))
    page = StatusPage(collector=collector, tracer=tracer, config=config, clock=clock)

    async def body() -> str:
        return (await page.respond("GET", "/", "", [TOKEN], "/-/monitor")).body.decode()

    def row(html: str, route: str) -> str:
        return html[html.index(f'data-route="{route}"') :].split("</tr>")[0]

    first = await body()
    clock.advance(1)
    again = await body()
    assert row(again, "/a") == row(first, "/a")
    assert row(again, "/b") == row(first, "/b")
    _traffic(collector, "/b", 57)  # 60 requests in the minute: 1.00/s
    tracer.start_span("GET /second").end()
    config.status_page.slowest_kept = 7
    clock.advance(1)
    second = await body()
    assert row(second, "/a") == row(first, "/a")
    assert ">1.00/s<" in row(second, "/b")
    assert ">1.00/s<" not in row(first, "/b")
    assert "GET /second" in second
    assert "GET /second" not in first
    assert "<code>status_page.slowest_kept</code></td><td><code>7</code>" in second
    page.close()


def test_kept_html_tells_true_from_one() -> None:
    """Settings that compare equal but read differently (True, 1) are not taken for the
    same text."""
    memo = HtmlMemo()
    data: dict[str, Any] = {"settings": [["flag", True]], "findings": []}
    assert "<code>true</code>" in render_section("config", data, base="", memo=memo)
    memo.done()
    data = {"settings": [["flag", 1]], "findings": []}
    assert "<code>1</code>" in render_section("config", data, base="", memo=memo)


def test_the_trace_lists_are_kept_while_the_buffer_holds_the_same_spans() -> None:
    """The same buffer gives the very same summary; a new span, or a cleared buffer,
    gives new lists at once."""
    tracer = Tracer("svc", None, max_spans=10)
    view = TraceView(tracer, shown=5, slowest_kept=0)
    tracer.start_span("GET /a").end()
    first = view.summary()
    assert view.summary() is first
    tracer.start_span("GET /b").end()
    second = view.summary()
    assert second is not first
    assert sorted(t["name"] for t in second["recent"]) == ["GET /a", "GET /b"]
    tracer.clear_spans()
    assert view.summary()["recent"] == []


def test_a_family_kept_whole_keeps_its_rows_for_the_render_where_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After renders where a family was reused whole, a change of one of its series
    makes only that series' row again, and the new value is shown."""
    gauge = Gauge("depth", "Queue depth.")
    for i in range(5):
        gauge.set(i, {"queue": str(i)})
    view = MetricsView(max_series=10)
    memo = HtmlMemo()
    made: list[Any] = []
    original = html_module._series_row

    def spy(kind: str, series: Any) -> str:
        made.append(series["labels"])
        return original(kind, series)

    monkeypatch.setattr(html_module, "_series_row", spy)

    def render() -> str:
        text = render_section("metrics", view.section([gauge]), base="", memo=memo)
        memo.done()
        return text

    render()
    render()
    assert len(made) == 5
    gauge.set(42, {"queue": "3"})
    text = render()
    assert made[5:] == [{"queue": "3"}]
    assert ">42<" in text
