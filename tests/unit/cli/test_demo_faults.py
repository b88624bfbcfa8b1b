"""The demo's fault switch and in-process SLO, in process (no server)."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest

from lexigram.monitor._clock import FakeClock
from lexigram.monitor.cli import build_parser
from lexigram.monitor.cli._demo_app import build_demo
from lexigram.monitor.cli._demo_faults import FaultSwitch
from lexigram.monitor.metrics import MetricsCollector, set_exemplar_source


@pytest.fixture(autouse=True)
def _no_exemplar_source_leaks() -> object:
    yield None
    set_exemplar_source(None)


async def _no_sleep(seconds: float) -> None:
    """The simulated database answers at once."""


def _client(share: float = 0.0) -> tuple[httpx.AsyncClient, object]:
    service = build_demo(
        spans_stream=None,
        traffic_client=None,
        collector=MetricsCollector(),
        rng=random.Random(3),
        clock=FakeClock(),
        sleep=_no_sleep,
        fault_share=share,
        slo_period=timedelta(days=1),
    )
    transport = httpx.ASGITransport(service.app)
    return httpx.AsyncClient(transport=transport, base_url="http://demo"), service


async def test_faults_fail_the_share_of_shop_requests_set_at_run_time() -> None:
    """share=1 makes every shop request a 500, probes and /metrics still answer; share=0
    restores the shop; GET shows the share; a bad share is a 400."""
    client, _ = _client()
    async with client:
        assert (await client.get("/-/faults")).json() == {"share": 0.0}
        assert (await client.post("/-/faults", params={"share": "1"})).json() == {"share": 1.0}
        orders = [(await client.get("/orders/7")).status_code for _ in range(5)]
        assert orders == [500] * 5
        assert (await client.get("/orders/7")).json() == {"error": "injected fault"}
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/health/live")).status_code == 200
        bad = await client.post("/-/faults", params={"share": "2"})
        assert bad.status_code == 400
        assert "must be a number in [0, 1]" in bad.json()["error"]
        await client.post("/-/faults", params={"share": "0"})
        assert (await client.get("/orders/7")).status_code == 200


async def test_the_in_process_slo_sees_the_faults() -> None:
    """The demo's orders-availability SLO counts the injected 500s of order lookups."""
    client, service = _client(share=0.5)
    async with client:
        codes = [(await client.get(f"/orders/{i}")).status_code for i in range(1, 201)]
    (status,) = service.slo_monitor.status()  # type: ignore[attr-defined]
    assert status.name == "orders-availability"
    assert status.events == 200
    assert status.sli == pytest.approx(codes.count(200) / 200)
    assert 40 < codes.count(500) < 160


def test_switch_refuses_bad_shares_and_demo_refuses_bad_rates() -> None:
    """FaultSwitch takes numbers in [0, 1]; so does --fault-rate."""
    for bad in (-0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="fault share"):
            FaultSwitch(bad)  # type: ignore[arg-type]
    parser = build_parser()
    assert parser.parse_args(["demo", "--fault-rate", "0.25"]).fault_rate == 0.25
    assert parser.parse_args(["demo", "--slo-period", "1d"]).slo_period == timedelta(days=1)
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--fault-rate", "2"])
