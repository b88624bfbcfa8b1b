"""The demo service and the ``demo`` command, in process (no real server, no sleeping)."""

from __future__ import annotations

import asyncio
import io
import json
import random
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.cli import build_parser, main
from lexigram.monitor.cli._demo_app import WARM_UP_SECONDS, DemoService, FakeDatabase, build_demo
from lexigram.monitor.cli._demo_traffic import DEFAULT_MIX, RequestSpec, TrafficGenerator
from lexigram.monitor.cli.demo import (
    EXIT_PORT_BUSY,
    PORT_ENV,
    DemoOptions,
    demo_urls,
    run_demo,
)
from lexigram.monitor.health import HealthStatus
from lexigram.monitor.metrics import MetricsCollector, set_exemplar_source


@pytest.fixture(autouse=True)
def _no_exemplar_source_leaks() -> Any:
    yield
    set_exemplar_source(None)


async def _no_sleep(seconds: float) -> None:
    """Stands in for asyncio.sleep: yields to the loop, takes no time."""
    await asyncio.sleep(0)


def _build(
    *,
    traffic: bool = False,
    clock: FakeClock | None = None,
    seed: int = 7,
) -> tuple[DemoService, io.StringIO]:
    spans = io.StringIO()
    box: list[DemoService] = []

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(box[0].app), base_url="http://demo")

    service = build_demo(
        spans_stream=spans,
        traffic_client=client if traffic else None,
        traffic_rate=500.0,
        collector=MetricsCollector(),
        rng=random.Random(seed),
        sleep=_no_sleep,
        clock=clock if clock is not None else FakeClock(),
    )
    box.append(service)
    return service, spans


@asynccontextmanager
async def _running(service: DemoService) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan around an in-process client."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(service.app({"type": "lifespan"}, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(service.app), base_url="http://demo"
        ) as client:
            yield client
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        await task


def _series(text: str, family: str) -> list[dict[str, str]]:
    return [
        dict(sample.labels)
        for fam in text_string_to_metric_families(text)
        if fam.name == family
        for sample in fam.samples
    ]


async def test_every_route_answers() -> None:
    """Index, orders (known and unknown), the slow report and checkout all answer."""
    service, _ = _build()
    async with _running(service) as client:
        index = await client.get("/")
        order = await client.get("/orders/7")
        unknown = await client.get("/orders/999")
        bad_id = await client.get("/orders/abc")
        report = await client.get("/reports/slow")
        checkout = await client.post("/checkout", json={"items": [{"sku": "a"}, {"sku": "b"}]})
        not_json = await client.post("/checkout", content=b"{nope")
    assert index.status_code == 200
    assert "GET /orders/{order_id}" in index.json()["try"]
    assert order.json()["order_id"] == 7
    assert (unknown.status_code, bad_id.status_code) == (404, 404)
    assert report.status_code == 200
    assert 0.2 <= report.json()["seconds"] <= 0.8
    assert checkout.status_code in (201, 500)
    assert not_json.status_code == 400


async def test_checkout_fails_sometimes_and_counts_outcomes() -> None:
    """About one checkout in five fails with 500; outcomes are counted in the backend."""
    service, _ = _build(seed=3)
    async with _running(service) as client:
        codes = [
            (await client.post("/checkout", json={"items": [{"sku": "x"}]})).status_code
            for _ in range(60)
        ]
    assert set(codes) == {201, 500}
    counter: Any = service.collector.get_metric("demo_checkouts")
    assert counter.get_count({"outcome": "failed"}) == codes.count(500)
    assert counter.get_count({"outcome": "ok"}) == codes.count(201)


async def test_metrics_show_request_series_by_route_template() -> None:
    """/metrics lists the request counter with route templates, never raw paths."""
    service, _ = _build()
    async with _running(service) as client:
        for order_id in (1, 2, 3):
            await client.get(f"/orders/{order_id}")
        await client.get("/missing")
        text = (await client.get("/metrics")).text
    series = _series(text, "http_requests")
    routes = {s["route"] for s in series if "route" in s}
    assert {"/orders/{order_id}", "<unmatched>"} <= routes
    assert not any(route.startswith("/orders/1") for route in routes)
    assert _series(text, "http_request_duration_seconds")
    assert _series(text, "http_requests_in_progress")


async def test_health_endpoints_reflect_the_checks() -> None:
    """Liveness passes; startup reports 503 until the warm-up passed, then 200;
    readiness and the aggregate answer from the simulated database."""
    clock = FakeClock()
    service, _ = _build(clock=clock)
    async with _running(service) as client:
        live = await client.get("/health/live")
        starting = await client.get("/health/startup")
        clock.advance(WARM_UP_SECONDS + 1)
        started = await client.get("/health/startup")
        ready = await client.get("/health/ready")
        everything = await client.get("/health")
    assert live.status_code == 200
    assert live.json()["checks"]["event_loop"]["status"] == "healthy"
    assert starting.status_code == 503
    assert started.status_code == 200
    assert ready.status_code in (200, 207, 503)
    assert "database" in ready.json()["checks"]
    assert set(everything.json()["checks"]) == {"database", "event_loop", "warm_up", "payments"}


async def test_spans_are_written_as_json_lines_on_shutdown() -> None:
    """Request spans and their child spans reach the span stream when the app stops."""
    service, spans = _build()
    async with _running(service) as client:
        await client.get("/orders/5")
    lines = [json.loads(line) for line in spans.getvalue().splitlines()]
    server = next(s for s in lines if s["kind"] == "SERVER")
    child = next(s for s in lines if s["name"] == "SELECT orders")
    assert server["attributes"]["http.route"] == "/orders/{order_id}"
    assert child["trace_id"] == server["trace_id"]
    assert child["parent_span_id"] == server["span_id"]


async def test_request_metrics_carry_exemplars_of_the_request_span() -> None:
    """The duration histogram's exemplar names the trace of a request span."""
    service, spans = _build()
    async with _running(service) as client:
        await client.get("/")
        om = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    trace_ids = {json.loads(line)["trace_id"] for line in spans.getvalue().splitlines()}
    exemplars = [
        sample.exemplar.labels["trace_id"]
        for fam in openmetrics_families(om.text)
        for sample in fam.samples
        if sample.name.startswith("http_request_duration_seconds") and sample.exemplar
    ]
    assert exemplars
    assert set(exemplars) <= trace_ids


async def test_traffic_generator_runs_with_the_lifespan() -> None:
    """Background traffic starts on start-up, reaches the routes and stops on shut-down."""
    service, _ = _build(traffic=True)
    traffic = service.traffic
    assert traffic is not None
    async with _running(service):
        for _ in range(10_000):
            if traffic.sent >= 30:
                break
            await asyncio.sleep(0)
        assert traffic.running
    assert not traffic.running
    assert traffic.sent >= 30
    assert traffic.failed == 0
    counter: Any = service.collector.get_metric("http_requests_total")
    assert sum(s.value for s in counter.collect()) >= 30


class _ScriptedRandom(random.Random):
    """random() returns the scripted rolls; uniform() the scripted latencies."""

    def __init__(self, rolls: list[float], latencies: list[float]) -> None:
        super().__init__(0)
        self.rolls = rolls
        self.latencies = latencies

    def random(self) -> float:
        return self.rolls.pop(0)

    def uniform(self, a: float, b: float) -> float:
        return self.latencies.pop(0)


@pytest.mark.parametrize(
    ("rolls", "latency", "status", "message"),
    [
        ([0.5, 0.5], 0.01, HealthStatus.HEALTHY, "ok"),
        ([0.5, 0.05], 0.2, HealthStatus.DEGRADED, "slow responses"),
        ([0.05, 0.5], 0.01, HealthStatus.DEGRADED, "replica lagging"),
        ([0.01], 0.0, HealthStatus.UNHEALTHY, "connection refused"),
    ],
)
async def test_fake_database_probe_outcomes(
    rolls: list[float], latency: float, status: HealthStatus, message: str
) -> None:
    """The simulated database is healthy, degraded (slow, lagging) or refuses."""
    rng = _ScriptedRandom(list(rolls), [latency])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = await FakeDatabase(rng, sleep).probe()
    assert (result.status, result.message) == (status, message)


# -- the command ------------------------------------------------------------------------


def test_parser_reads_the_demo_options() -> None:
    """Every option parses to the documented destination."""
    args = build_parser().parse_args(
        [
            *("demo", "--host", "0.0.0.0", "--port", "9000"),
            *("--spans-file", "s.jsonl", "--no-traffic", "--rate", "2.5"),
        ]
    )
    assert (args.command, args.host, args.port, args.spans_file) == (
        "demo",
        "0.0.0.0",
        9000,
        "s.jsonl",
    )
    assert (args.traffic, args.rate) == (False, 2.5)


def test_native_histograms_switch_by_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """--native-histograms, or LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS=true, gives the demo
    a default collector whose request-duration histogram is native (classic buckets kept);
    without either it stays classic; a bad value in the environment is a clear exit."""
    from lexigram.monitor.cli.demo import DemoOptions, _collector
    from lexigram.monitor.metrics import get_default_collector
    from lexigram.monitor.middleware import PrometheusMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        """Never called."""

    assert build_parser().parse_args(["demo", "--native-histograms"]).native_histograms
    monkeypatch.delenv("LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS", raising=False)
    cases = [(DemoOptions(native_histograms=True), True), (DemoOptions(), False)]
    for options, native in cases:
        made = _collector(options)
        assert get_default_collector() is made
        PrometheusMiddleware(app, metrics_collector=made)
        duration = made.get_metric("http_request_duration_seconds")
        assert getattr(duration, "native", False) is native
    monkeypatch.setenv("LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS", "true")
    assert _collector(DemoOptions()).config.native_histograms
    monkeypatch.setenv("LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS", "maybe")
    with pytest.raises(SystemExit, match=r"(?i)native_histograms"):
        _collector(DemoOptions())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--port", "70000"], "outside 0-65535"),
        (["demo", "--port", "http"], "is not a number"),
        (["demo", "--rate", "0"], "must be > 0"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad values stop the command with exit 2 and say what is wrong."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_help_lists_the_demo_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` exits 0 and names the demo command."""
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_port_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Without ``--port`` the demo listens on ``$DEMO_PORT``."""
    seen: list[DemoOptions] = []
    monkeypatch.setenv(PORT_ENV, "0")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "lexigram.monitor.cli.demo.run_demo", lambda options: seen.append(options) or 0
    )
    assert main(["demo", "--no-traffic"]) == 0
    assert seen[0].port == 0


def test_invalid_port_in_the_environment_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad ``$DEMO_PORT`` stops the command naming the variable."""
    monkeypatch.setenv(PORT_ENV, "eighty")
    with pytest.raises(SystemExit, match="DEMO_PORT='eighty' is invalid"):
        main(["demo"])


def test_run_prints_the_urls_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Any) -> None:
    """The runner binds the port, prints every URL, serves the app (here a fake server
    that answers one request, then gets Ctrl-C) and returns 0 after flushing spans."""
    out = io.StringIO()
    served: list[int] = []
    spans_file = tmp_path / "spans.jsonl"

    def fake_serve(app: Any, sock: socket.socket, options: DemoOptions) -> None:
        async def one_request() -> None:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://demo"
            ) as client:
                served.append((await client.get("/orders/3")).status_code)

        asyncio.run(one_request())
        raise KeyboardInterrupt

    options = DemoOptions(port=0, spans_file=str(spans_file), traffic=False)
    assert run_demo(options, serve=fake_serve, out=out, err=io.StringIO()) == 0
    text = out.getvalue()
    base = text.split("listening on ")[1].split()[0]
    for url, _ in demo_urls(base):
        assert url in text
    assert "demo stopped" in text
    assert served == [200]
    names = {json.loads(line)["name"] for line in spans_file.read_text().splitlines()}
    assert "GET /orders/{order_id}" in names


def test_busy_port_is_reported_with_the_way_out(tmp_path: Any) -> None:
    """A port in use is not fatal noise: one clear message and exit code 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = io.StringIO()
        called: list[Callable[..., Any]] = []
        options = DemoOptions(port=port, spans_file=str(tmp_path / "s.jsonl"))
        code = run_demo(options, serve=lambda *a: called.append(a), out=io.StringIO(), err=err)
    assert code == EXIT_PORT_BUSY
    assert f"port {port} on 127.0.0.1 is already in use" in err.getvalue()
    assert "--port 0" in err.getvalue()
    assert not called
    assert not (tmp_path / "s.jsonl").exists()


def test_without_httpx_the_demo_runs_without_traffic(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A missing httpx is said once; the demo still serves, without background traffic."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    err = io.StringIO()
    built: list[Any] = []
    options = DemoOptions(port=0, spans_file=str(tmp_path / "s.jsonl"), traffic=True)
    code = run_demo(options, serve=lambda app, *a: built.append(app), out=io.StringIO(), err=err)
    assert code == 0
    assert len(built) == 1
    assert "no background traffic" in err.getvalue()
    assert "lexigram-monitor[alerts]" in err.getvalue()


def test_without_the_web_extra_the_demo_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Without starlette the command exits 3 naming the extra, and binds nothing."""
    monkeypatch.setitem(sys.modules, "starlette", None)
    err = io.StringIO()
    options = DemoOptions(port=0, spans_file=str(tmp_path / "s.jsonl"))
    assert run_demo(options, serve=lambda *a: None, out=io.StringIO(), err=err) == 3
    assert "lexigram-monitor[web]" in err.getvalue()
    assert not (tmp_path / "s.jsonl").exists()


async def test_a_failing_client_factory_stops_only_the_traffic() -> None:
    """If the HTTP client cannot be made, the generator ends quietly and counts it."""

    def no_client() -> Any:
        raise RuntimeError("no network stack")

    traffic = TrafficGenerator(no_client, sleep=_no_sleep)
    traffic.start()
    for _ in range(100):
        if not traffic.running:
            break
        await asyncio.sleep(0)
    await traffic.stop()
    assert traffic.failed == 1
    assert traffic.sent == 0


class _FakeResponse:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class _FakeClient:
    """Answers every request with *status*, or hangs (``hang=True``), or raises."""

    def __init__(self, status: int = 200, *, hang: bool = False, error: bool = False) -> None:
        self.status, self.hang, self.error = status, hang, error
        self.requests: list[tuple[str, str]] = []
        self.cancelled = 0
        self.closed = False

    async def request(self, method: str, path: str, json: Any = None) -> _FakeResponse:
        self.requests.append((method, path))
        if self.error:
            raise httpx.ConnectError("connection refused")
        if self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return _FakeResponse(self.status)

    async def aclose(self) -> None:
        self.closed = True


def test_request_mix_draws_every_route_with_order_ids() -> None:
    """The mix reaches every entry; ``{id}`` becomes an order id between 1 and 1000."""
    traffic = TrafficGenerator(_FakeClient, rng=random.Random(1))
    drawn = [traffic.next_request() for _ in range(2_000)]
    paths = {path for _, path, _ in drawn}
    for spec in DEFAULT_MIX:
        if "{id}" not in spec.path:
            assert spec.path in paths
    ids = [int(p.rsplit("/", 1)[1]) for _, p, _ in drawn if p.startswith("/orders/")]
    assert ids
    assert 1 <= min(ids) <= max(ids) <= 1000
    assert any(body for _, _, body in drawn)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate": 0}, "rate 0 must be > 0"),
        ({"max_in_flight": 0}, "max_in_flight=0"),
        ({"mix": ()}, "at least one entry"),
        ({"mix": (RequestSpec("GET", "/", 0),)}, "weight > 0"),
    ],
)
def test_bad_traffic_settings_are_refused(kwargs: dict[str, Any], match: str) -> None:
    """Each invalid setting raises ValueError naming it."""
    with pytest.raises(ValueError, match=match):
        TrafficGenerator(_FakeClient, **kwargs)


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(10_000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_busy_generator_skips_ticks_and_stop_cancels_requests_in_flight() -> None:
    """With every slot taken by hanging requests, ticks are skipped; ``stop`` cancels the
    requests in flight and closes the client."""
    client = _FakeClient(hang=True)
    traffic = TrafficGenerator(lambda: client, max_in_flight=2, sleep=_no_sleep)
    traffic.start()
    traffic.start()  # idempotent
    await _until(lambda: traffic.skipped >= 5)
    await traffic.stop()
    assert len(client.requests) == 2
    assert client.cancelled == 2
    assert client.closed
    assert not traffic.running


async def test_failed_requests_are_counted_not_raised() -> None:
    """Connection errors are counted; the generator keeps going."""
    client = _FakeClient(error=True)
    traffic = TrafficGenerator(lambda: client, sleep=_no_sleep)
    traffic.start()
    await _until(lambda: traffic.failed >= 10)
    assert traffic.running
    await traffic.stop()
    assert traffic.sent == 0


async def test_answers_are_counted_by_status() -> None:
    """Every answer counts, by status code."""
    client = _FakeClient(status=503)
    traffic = TrafficGenerator(lambda: client, sleep=_no_sleep)
    traffic.start()
    await _until(lambda: traffic.sent >= 10)
    await traffic.stop()
    assert set(traffic.statuses) == {503}
    assert traffic.statuses[503] == traffic.sent
