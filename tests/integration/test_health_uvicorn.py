"""The health endpoints under a real uvicorn server on a loopback port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lexigram.monitor.config import HealthCheckConfig
from lexigram.monitor.health import HealthCheckCategory, HealthChecker
from lexigram.monitor.middleware import HealthCheckProvider

from ._uvicorn import ServeApp

pytestmark = pytest.mark.integration

TOKEN = "probe-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def orders_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The wrapped application: answers every HTTP request with 'orders'."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"orders"})


@pytest.fixture
def blocked() -> Iterator[threading.Event]:
    """A dependency whose sync client blocks its thread until teardown."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An HTTP client ignoring proxy settings of the environment."""
    with httpx.Client(trust_env=False, timeout=10.0) as http:
        yield http


def build_app(blocked: threading.Event) -> HealthCheckProvider:
    """Health endpoints in front of the orders app, with a hanging and a blocking dependency."""

    async def database() -> bool:
        await asyncio.sleep(0)
        return True

    async def payments() -> bool:  # a dependency that never answers
        await asyncio.Event().wait()
        return True

    checker = HealthChecker(HealthCheckConfig(timeout=2.0))
    checker.add("event_loop", lambda: True, category=HealthCheckCategory.LIVENESS)
    checker.add("database", database)
    checker.add("payments", payments, timeout=0.3)
    checker.add("ledger", lambda: blocked.wait(30), timeout=0.3)
    checker.add("migrations", lambda: True, category=HealthCheckCategory.STARTUP)
    return HealthCheckProvider(app=orders_app, checker=checker, auth_token=TOKEN)


def test_probes_under_uvicorn(
    uvicorn_server: ServeApp, blocked: threading.Event, client: httpx.Client
) -> None:
    """Liveness and startup pass, readiness fails on the hanging and blocked dependencies,
    the token is enforced and other paths reach the wrapped app."""
    url = uvicorn_server(build_app(blocked), lifespan="on")

    live = client.get(f"{url}/health/live", headers=AUTH)
    assert live.status_code == 200
    assert live.json()["status"] == "healthy"
    assert list(live.json()["checks"]) == ["event_loop"]

    startup = client.get(f"{url}/health/startup", headers=AUTH)
    assert startup.status_code == 200
    assert list(startup.json()["checks"]) == ["migrations"]

    ready = client.get(f"{url}/health/ready", headers=AUTH)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["status"] == "healthy"
    assert checks["payments"]["message"] == "timed out after 0.3s"
    assert checks["ledger"]["message"].startswith("timed out after 0.3s")

    everything = client.get(f"{url}/health", headers={**AUTH, "Accept": "application/health+json"})
    assert everything.status_code == 503
    assert everything.headers["content-type"] == "application/health+json"
    body = everything.json()
    assert body["status"] == "fail"
    assert body["checks"]["payments:responseTime"][0]["status"] == "fail"

    head = client.head(f"{url}/health/live", headers=AUTH)
    assert head.status_code == 200
    assert head.content == b""

    assert client.get(f"{url}/orders").text == "orders"


def test_token_is_required_under_uvicorn(
    uvicorn_server: ServeApp, blocked: threading.Event, client: httpx.Client
) -> None:
    """Without or with a wrong bearer token, the probes get 401 with a Bearer challenge."""
    url = uvicorn_server(build_app(blocked))
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get(f"{url}/health/live", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.post(f"{url}/health", headers=AUTH).status_code == 405


def test_standalone_endpoint_under_uvicorn(uvicorn_server: ServeApp, client: httpx.Client) -> None:
    """A standalone provider handles uvicorn's lifespan itself and answers 404 elsewhere."""
    url = uvicorn_server(HealthCheckProvider(), lifespan="on")
    assert client.get(f"{url}/health").status_code == 200
    assert client.get(f"{url}/health/ready").json()["status"] == "healthy"
    assert client.get(f"{url}/elsewhere").status_code == 404
