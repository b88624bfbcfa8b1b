"""The status page in a real browser: Debian's chromium driven by playwright, against the
demo under uvicorn with its own background traffic.

The page is behind a token; the browser context sends it on every request (page, script,
stylesheet, JSON). Each test looks at the page as a person would and checks what the
data says: every section shows real data, the route table and the health and SLO
sections follow the service without a reload, a slow trace opens as its waterfall,
``<script>`` in a route label and a span attribute stays text, and the console stays
clean. ``UPDATE_SCREENSHOT=1`` rewrites ``docs/status-page.png`` from the first test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from lexigram.monitor.cli._demo_app import DemoService, build_demo
from lexigram.monitor.config import StatusPageConfig
from lexigram.monitor.metrics import MetricsCollector, set_exemplar_source

from ._servers import in_ci, require_binary
from ._uvicorn import serve_in_thread

pytestmark = pytest.mark.integration

TOKEN = "status-page-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REFRESH = 1.0
XSS = "<script>alert(1)</script>"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "status-page.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the environment
        if in_ci():
            pytest.fail(f"playwright is not installed ({exc}); it is in the dev extra")
        pytest.skip(f"playwright is not installed: {exc}")
    return sync_playwright


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[DemoService, str]]:
    """The demo under uvicorn with ~20 requests/s of traffic, its page behind TOKEN,
    refreshing every second."""
    from ._servers import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    service = build_demo(
        spans_stream=None,
        traffic_client=lambda: httpx.AsyncClient(base_url=base, timeout=5.0, trust_env=False),
        traffic_rate=20.0,
        collector=MetricsCollector(),
        slo_period=timedelta(days=1),
        slo_interval=0.5,
        status_page=StatusPageConfig(
            auth_token=TOKEN, refresh_interval=REFRESH, health_max_age=0.5, snapshot_interval=1.0
        ),
    )
    try:
        with serve_in_thread(service.app, port) as url:
            _wait(lambda: len(service.tracer.get_all_spans()) > 60, 20.0, "traffic")
            yield service, url
    finally:
        set_exemplar_source(None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, launched by playwright from its executable path."""
    chromium = require_binary("chromium", "chromium")
    with _playwright()() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Page:
    """A browser tab on the status page, recording console errors and dialogs."""

    def __init__(self, browser: Any, url: str, **context: Any) -> None:
        self.context = browser.new_context(extra_http_headers=AUTH, **context)
        self.tab = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.tab.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.tab.on("dialog", on_dialog)
        self.response = self.tab.goto(f"{url}/-/monitor")
        self.tab.evaluate("window.__notReloaded = true")

    def refreshes(self) -> int:
        """Refreshes of every section the script completed since the page loaded."""
        return int(self.tab.evaluate("document.body.getAttribute('data-refreshed') || '0'"))

    def after_refreshes(self, count: int) -> None:
        """Wait until *count* more refreshes completed (one that was under way when
        called counts as the first)."""
        target = self.refreshes() + count
        _wait(lambda: self.refreshes() >= target, 20.0 * count, f"{count} refreshes")

    def not_reloaded(self) -> bool:
        return bool(self.tab.evaluate("window.__notReloaded === true"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture(autouse=True)
def _listening(demo: tuple[DemoService, str]) -> None:
    """The suite clears the hook bus after every test: the page listens again."""
    demo[0].status_page.history.close()
    demo[0].status_page.history.listen()


@pytest.fixture
def page(browser: Any, demo: tuple[DemoService, str]) -> Iterator[Page]:
    opened = Page(browser, demo[1], viewport={"width": 1280, "height": 900})
    yield opened
    opened.close()
    assert opened.errors == [], f"console errors: {opened.errors}"
    assert opened.dialogs == [], f"dialogs opened: {opened.dialogs}"


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)


def test_every_section_renders_real_data(page: Page, demo: tuple[DemoService, str]) -> None:
    """Overview, health (all three groups), SLOs, routes with figures linked to
    exemplar traces, traces, metrics and configuration all show the demo's data; the
    README's screenshot is taken here."""
    tab = page.tab
    assert page.response.status == 200
    overview = tab.locator("[data-section=overview]").inner_text()
    assert "lexigram-demo" in overview
    assert "memory" in overview
    assert "development" in overview
    groups = tab.locator("[data-section=health] .groups").inner_text()
    assert all(g in groups for g in ("liveness", "readiness", "startup"))
    checks = tab.locator("[data-section=health] tr[data-check]")
    assert checks.count() == 4  # database, event_loop, warm_up, payments
    assert (
        tab.locator("[data-section=slos] article[data-slo=orders-availability] meter").count() == 1
    )
    orders = tab.locator('[data-section=routes] tr[data-route="/orders/{order_id}"]')
    assert orders.count() >= 1
    assert orders.first.locator("a[data-trace]").count() >= 1  # figures link to exemplars
    assert tab.locator("[data-list=slowest] a[data-trace]").count() >= 1
    assert tab.locator("[data-list=recent] a[data-trace]").count() >= 1
    families = tab.locator("[data-section=metrics] details.family")
    assert tab.locator('details.family[data-name="http_requests_total"]').count() == 1
    assert families.count() >= 5
    config = tab.locator("[data-section=config]").inner_text()
    assert "findings" in config.lower()
    # the JavaScript refreshes the sections from JSON: the stamp changes to "updated"
    page.after_refreshes(1)
    assert "updated" in tab.locator("#updated").inner_text()
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        tab.locator("[data-section=metrics] details.family").first.evaluate("d => d.open = true")
        tab.set_viewport_size({"width": 1280, "height": 1700})
        tab.screenshot(path=str(SCREENSHOT), full_page=False)
    assert page.not_reloaded()


def test_route_table_updates_without_reload(page: Page, demo: tuple[DemoService, str]) -> None:
    """Requests to a route the background traffic never sends appear in the table at
    the next refresh, the page not reloaded."""
    _, url = demo
    row = page.tab.locator('[data-section=routes] tr[data-route="/-/faults"]')
    assert row.count() == 0
    for _ in range(30):
        assert httpx.get(f"{url}/-/faults", trust_env=False).status_code == 200
    page.after_refreshes(2)
    assert row.count() == 1
    assert row.locator("td").nth(2).inner_text() != "\u2013"  # a rate over the last minute
    assert page.not_reloaded()


def test_clicking_a_slow_trace_shows_its_waterfall(
    page: Page, demo: tuple[DemoService, str]
) -> None:
    """The slowest trace opens in place as a waterfall with one row per buffered span
    of that trace."""
    service, _ = demo
    links = page.tab.locator("[data-list=slowest] a[data-trace]")
    buffered: dict[str, int] = {}
    for span in service.tracer.get_all_spans():
        buffered[span.trace_id] = buffered.get(span.trace_id, 0) + 1
    # a slow trace still in the tracer's buffer (the page also lists slow traces it
    # keeps after the buffer moved on, whose spans the buffer no longer holds)
    shown = [links.nth(i).get_attribute("data-trace") for i in range(links.count())]
    trace_id = next(t for t in shown if t and buffered.get(t, 0) >= 2)
    expected = buffered[trace_id]
    # the link of that trace, whichever element the refreshes left in place
    page.tab.locator(f'[data-list=slowest] a[data-trace="{trace_id}"]').first.click()
    view = page.tab.locator(f'#trace-view .trace[data-trace-id="{trace_id}"]')
    view.wait_for(timeout=20_000)
    assert view.locator("li.span").count() == expected >= 2
    assert view.locator("svg.bar rect").count() == expected
    assert page.not_reloaded()


def test_faults_turn_a_check_red_and_move_the_budget(
    page: Page, demo: tuple[DemoService, str]
) -> None:
    """With the fault switch on, the ``payments`` check is red within one refresh and
    the SLO's budget bar drops; switched off, the check is green again."""
    _, url = demo
    meter = page.tab.locator("article[data-slo=orders-availability] meter")
    before = float(meter.get_attribute("value") or "nan")
    row = page.tab.locator('[data-section=health] tr[data-check="payments"]')
    assert row.get_attribute("class") == "row-healthy"
    try:
        httpx.post(f"{url}/-/faults", params={"share": "0.5"}, trust_env=False)
        page.after_refreshes(2)  # a refresh started after the switch has completed
        assert row.get_attribute("class") == "row-unhealthy"
        badge = row.locator(".badge")
        assert badge.inner_text() == "unhealthy"
        red, green, _ = _rgb(badge.evaluate("e => getComputedStyle(e).color"))
        assert red > 2 * green
        _wait(lambda: float(meter.get_attribute("value") or "nan") < before, 30.0, "budget bar")
    finally:
        httpx.post(f"{url}/-/faults", params={"share": "0"}, trust_env=False)
    page.after_refreshes(2)
    assert row.get_attribute("class") == "row-healthy"
    assert page.not_reloaded()


def _rgb(css: str) -> tuple[int, int, int]:
    parts = css[css.index("(") + 1 : css.index(")")].split(",")
    return int(parts[0]), int(parts[1]), int(parts[2])


def test_script_in_a_route_label_and_a_span_attribute_is_text(
    browser: Any, demo: tuple[DemoService, str]
) -> None:
    """A route label and a span attribute holding ``<script>alert(1)</script>`` show as
    that text, in the server-rendered page, after the script's refresh and in the
    waterfall; no dialog opens and no script element is added."""
    service, url = demo
    duration = service.collector.create_histogram("http_request_duration_seconds", "")
    duration.observe(0.2, {"method": "GET", "route": XSS})
    # started 30 s ago: the slowest trace, so it is listed whatever the traffic does
    with service.tracer.start_span(XSS, attributes={"note": XSS}, start_time=time.time() - 30):
        pass
    page = Page(browser, url)
    try:
        tab = page.tab
        row = tab.locator("[data-section=routes] tr", has_text=XSS)
        assert row.count() == 1
        page.after_refreshes(1)
        assert tab.locator("[data-section=routes] tr", has_text=XSS).count() == 1
        tab.locator("[data-list=slowest] a", has_text=XSS).first.click()
        view = tab.locator("#trace-view .trace")
        view.wait_for(timeout=20_000)
        assert XSS in (view.text_content() or "")
        assert tab.evaluate("document.querySelectorAll('script').length") == 1
        time.sleep(0.3)
        assert page.dialogs == []
        assert page.errors == []
    finally:
        page.close()


def test_without_the_token_the_page_and_its_json_answer_401(
    browser: Any, demo: tuple[DemoService, str]
) -> None:
    """No token, or a wrong one: 401 with a Bearer challenge for the page, its JSON and
    its assets; the browser gets the same."""
    _, url = demo
    for path in (
        "",
        "/",
        "/api/health",
        "/api/routes",
        "/static/status.js",
        "/trace?id=" + "a" * 32,
    ):
        bare = httpx.get(f"{url}/-/monitor{path}", trust_env=False)
        assert bare.status_code == 401, path
        assert bare.headers["www-authenticate"].startswith("Bearer")
        wrong = httpx.get(
            f"{url}/-/monitor{path}", headers={"Authorization": "Bearer nope"}, trust_env=False
        )
        assert wrong.status_code == 401, path
    context = browser.new_context()
    try:
        response = context.new_page().goto(f"{url}/-/monitor")
        assert response is not None
        assert response.status == 401
    finally:
        context.close()


def test_narrow_and_dark(browser: Any, demo: tuple[DemoService, str]) -> None:
    """At 375 px the page needs no sideways scrolling (wide tables scroll inside their
    box); in the dark scheme the background is dark."""
    page = Page(browser, demo[1], viewport={"width": 375, "height": 800}, color_scheme="dark")
    try:
        tab = page.tab
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375
        red, green, blue = _rgb(tab.evaluate("getComputedStyle(document.body).backgroundColor"))
        assert red + green + blue < 120
        assert page.errors == []
    finally:
        page.close()
