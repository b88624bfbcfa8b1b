"""The scrape server: its own thread, start_http_server, and the HTTP rules it keeps."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from lexigram.monitor import MetricsServer, start_http_server
from lexigram.monitor.backends._scrape_server import (
    MAX_HEAD,
    ScrapeResponse,
    parse_head,
)
from lexigram.monitor.backends.prometheus import PrometheusBackend
from lexigram.monitor.config import PrometheusConfig
from lexigram.monitor.metrics import MetricsCollector


@pytest.fixture
def servers() -> Iterator[list[MetricsServer]]:
    """Servers appended here are stopped after the test."""
    made: list[MetricsServer] = []
    yield made
    for server in made:
        server.stop()


def serve(servers: list[MetricsServer], **kwargs: object) -> MetricsServer:
    server = start_http_server(0, **kwargs)  # type: ignore[arg-type]
    servers.append(server)
    return server


def raw(port: int, request: bytes, *, read_timeout: float = 5.0) -> bytes:
    """Send *request* as is and read the whole answer (until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


# -- start_http_server ---------------------------------------------------------------------


def test_a_synchronous_program_serves_metrics(
    servers: list[MetricsServer], isolated_metrics: MetricsCollector
) -> None:
    """No event loop anywhere: start_http_server serves the default collector from its
    own daemon thread; port 0 picks a free port, shown as ``port`` and ``url``."""
    server = serve(servers)
    isolated_metrics.create_counter("jobs_total", "Jobs.").increment(3)

    status, body = fetch(str(server.url))

    assert status == 200
    assert b"jobs_total 3" in body
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}/metrics"
    assert server.serving
    thread = next(t for t in threading.enumerate() if t.name.endswith(str(server.port)))
    assert thread.daemon


def test_stop_closes_the_port_and_is_idempotent(servers: list[MetricsServer]) -> None:
    """stop() closes the socket and ends the thread; a second stop is harmless."""
    server = serve(servers)
    port = server.port

    assert server.stop()
    assert server.stop()

    assert not server.serving
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_server_is_a_context_manager() -> None:
    """``with`` stops the server on leaving."""
    with start_http_server(0) as server:
        assert fetch(str(server.url))[0] == 200
    assert not server.serving


def test_a_port_in_use_raises_in_the_caller() -> None:
    """The bind happens in the caller, so a taken port is an OSError right there."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            start_http_server(taken.getsockname()[1])


def test_own_collector_and_token(servers: list[MetricsServer]) -> None:
    """*collector* is served alone; *auth_token* is required as a bearer token."""
    collector = MetricsCollector()
    collector.create_gauge("private_depth", "Depth.").set(4)
    server = serve(servers, collector=collector, auth_token="s3cret")

    assert fetch(str(server.url))[0] == 401
    status, body = fetch(str(server.url), Authorization="Bearer s3cret")
    assert status == 200
    assert b"private_depth 4.0" in body
    assert b"python_gc" not in body


async def test_scrapes_answer_while_the_event_loop_is_blocked(
    isolated_metrics: MetricsCollector,
) -> None:
    """A handler blocking the application's loop does not delay a scrape of the
    backend's server: each answers within 100 ms while the loop sleeps for a second."""
    backend = PrometheusBackend(config=PrometheusConfig(port=0))
    await backend.initialize()
    try:
        url = f"http://127.0.0.1:{backend.port}/metrics"
        fetch(url)  # warm
        timings: list[float] = []

        def scrape() -> None:
            for _ in range(4):
                started = time.perf_counter()
                assert fetch(url)[0] == 200
                timings.append(time.perf_counter() - started)
                time.sleep(0.1)

        scraper = threading.Thread(target=scrape)
        scraper.start()
        time.sleep(1.0)  # noqa: ASYNC251 - the handler blocks the loop
        scraper.join(5)
        assert len(timings) == 4
        assert max(timings) < 0.1
    finally:
        await backend.shutdown()


def test_the_backend_keeps_serving_after_its_loop_ended(isolated_metrics: MetricsCollector) -> None:
    """``asyncio.run(backend.initialize())`` in a synchronous program: the server thread
    outlives the loop and answers."""
    backend = PrometheusBackend(config=PrometheusConfig(port=0))
    asyncio.run(backend.initialize())
    try:
        assert backend.serving
        assert fetch(f"http://127.0.0.1:{backend.port}/metrics")[0] == 200
    finally:
        asyncio.run(backend.shutdown())
    assert not backend.serving


# -- HTTP rules --------------------------------------------------------------------------


def test_an_oversized_request_head_is_answered_431(servers: list[MetricsServer]) -> None:
    """A 60 KB header gets 431 (not a silently closed connection); the server serves on."""
    server = serve(servers)
    answer = raw(
        server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 60_000 + b"\r\n\r\n"
    )

    status, headers, body = split(answer)
    assert status == 431
    assert headers["connection"] == "close"
    assert body == b"Request Header Fields Too Large\n"
    assert fetch(str(server.url))[0] == 200


def test_a_head_just_under_the_limit_is_served(servers: list[MetricsServer]) -> None:
    """The limit is on the head's size: a head of nearly MAX_HEAD bytes still works."""
    server = serve(servers)
    filler = b"a" * (MAX_HEAD - 200)
    status, _, _ = split(raw(server.port, b"GET /metrics HTTP/1.1\r\nX: " + filler + b"\r\n\r\n"))
    assert status == 200


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [("/metrics", None, 200), ("/metrics", "s3cret", 401), ("/nope", None, 404)],
)
def test_head_answers_carry_no_body(
    servers: list[MetricsServer], path: str, token: str | None, status: int
) -> None:
    """HEAD gets the status and headers a GET would get (Content-Length included) and no
    body, for 200, 401 and 404 alike."""
    server = serve(servers, auth_token=token)
    request = f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()

    got, headers, body = split(raw(server.port, request))
    _, get_headers, get_body = split(raw(server.port, request.replace(b"HEAD", b"GET", 1)))

    assert got == status
    assert body == b""
    assert int(headers["content-length"]) > 0
    if status != 200:  # a 200 exposition may change between the two scrapes
        assert int(headers["content-length"]) == len(get_body)
    assert headers.get("content-type") == get_headers.get("content-type")


def test_every_method_on_the_scrape_path_reaches_handle_scrape(
    servers: list[MetricsServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server never answers 404/405 for the scrape path itself: the method, the
    headers (latin-1) and the token go to handle_scrape, whose rules decide."""
    seen: list[tuple[str, dict[str, str]]] = []

    async def recording(method: str, headers: dict[str, str], **_: object) -> ScrapeResponse:
        seen.append((method, dict(headers)))
        return ScrapeResponse(418, [("Content-Length", "0")])

    monkeypatch.setattr("lexigram.monitor.backends._scrape_server.handle_scrape", recording)
    server = serve(servers, auth_token="t")
    for method in ("GET", "POST", "DELETE", "BREW"):
        request = f"{method} /metrics HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n"
        answer = raw(server.port, request.encode("latin-1"))
        assert split(answer)[0] == 418
    assert [m for m, _ in seen] == ["GET", "POST", "DELETE", "BREW"]
    assert seen[0][1]["x-name"] == "caf\xe9"


def test_a_request_with_a_body_is_answered_and_its_body_discarded(
    servers: list[MetricsServer],
) -> None:
    """A POST with a body gets its answer (from handle_scrape) before the close."""
    server = serve(servers)
    body = b"x" * 100_000
    answer = raw(
        server.port,
        b"POST /metrics HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
    )
    assert split(answer)[0] == 405


def test_garbage_and_slow_clients_do_not_disturb_the_server(
    servers: list[MetricsServer],
) -> None:
    """A malformed request line gets 400; a client that never finishes its head holds
    nothing the next scrape needs."""
    server = serve(servers)
    idle = socket.create_connection(("127.0.0.1", server.port))
    idle.sendall(b"GET /metrics HTTP/1.1\r\n")  # never finished
    try:
        assert split(raw(server.port, b"NONSENSE\r\n\r\n"))[0] == 400
        assert fetch(str(server.url))[0] == 200
    finally:
        idle.close()


def test_routes_serve_other_paths(servers: list[MetricsServer]) -> None:
    """add_route serves another path on the same server; the scrape path stays."""
    server = serve(servers)

    async def status(request: object) -> ScrapeResponse:
        return ScrapeResponse(200, [("Content-Length", "2")], b"ok")

    server.add_route("/status", status)

    assert fetch(str(server.url).replace("/metrics", "/status")) == (200, b"ok")
    with pytest.raises(ValueError, match="differ"):
        server.add_route("/metrics", status)


def test_parse_head_reads_method_path_query_and_headers() -> None:
    """Header names are lower-cased, repeated headers joined, values kept as latin-1."""
    request = parse_head(
        b"GET /metrics?name[]=x HTTP/1.1\r\nAccept: a\r\naccept: b\r\nX-V: \xff\r\n\r\n"
    )
    assert (request.method, request.path, request.query) == ("GET", "/metrics", "name[]=x")
    assert request.headers == {"accept": "a, b", "x-v": "\xff"}
    absolute = parse_head(b"GET http://host:9/metrics HTTP/1.1\r\n\r\n")
    assert absolute.path == "/metrics"


@pytest.mark.parametrize(
    "head",
    [
        b"GET /metrics\r\n\r\n",
        b"GET  /metrics HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nno-colon\r\n\r\n",
        b"GET / HTTP/2\r\n\r\n",
    ],
)
def test_parse_head_refuses_malformed_heads(head: bytes) -> None:
    """Bad request lines, folded and colon-less header lines are refused."""
    with pytest.raises(ValueError, match=r"bad|folded"):
        parse_head(head)
