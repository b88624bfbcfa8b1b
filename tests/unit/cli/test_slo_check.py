"""``slo check``: a spec's SLOs evaluated by a Prometheus (a loopback fake answering
``/api/v1/query``), printed as a table or JSON; a Prometheus that is down is exit 2."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lexigram.monitor.cli import main
from lexigram.monitor.cli.slo import EXIT_FIRING, EXIT_OK, EXIT_UNUSABLE

from .test_slo_specs import SLOTH

Answer = Callable[[str], Any]


@pytest.fixture
def prometheus() -> Iterator[Callable[[Answer], str]]:
    """Factory: a fake Prometheus whose instant queries answer ``answer(query)`` (a
    number, None for an empty vector, or an ``("error", text)`` pair); returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                query = urllib.parse.parse_qs(body)["query"][0]
                value = answer(query)
                if isinstance(value, tuple):
                    payload, code = {"status": "error", "error": value[1]}, 400
                else:
                    result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
                    payload = {"status": "success",
                               "data": {"resultType": "vector", "result": result}}  # fmt: skip
                    code = 200
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _window(query: str) -> str:
    return re.findall(r"\[(\w+)\]", query)[0]


def _spec(tmp_path: Path) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(SLOTH, encoding="utf-8")
    return str(path)


def test_a_fast_burn_shows_the_page_firing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prometheus: Callable[[Answer], str]
) -> None:
    """2 % errors over 5m and 1h (20x a 0.1 % budget) fire the page; the table shows the
    objective, SLI, budget left and burn rates; the exit code is 1."""
    ratios = {"5m": 0.02, "1h": 0.02, "30d": 0.0005}
    url = prometheus(lambda q: ratios.get(_window(q), 0.0))
    assert main(["slo", "check", _spec(tmp_path), url]) == EXIT_FIRING
    out = capsys.readouterr().out
    assert "SLO shop-requests-availability (availability;" in out
    assert "objective 99.900 % over 30d   SLI 99.950 %   error budget remaining 50.0 %" in out
    assert "alerts: page FIRING, ticket ok" in out
    assert re.search(r"1h / 5m\s+page\s+14.4x\s+20.00x\s+20.00x\s+FIRING", out), out


def test_json_output_and_no_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prometheus: Callable[[Answer], str]
) -> None:
    """--json prints one document; windows without data are null and fire nothing."""
    url = prometheus(lambda q: None if _window(q) == "5m" else 0.0)
    assert main(["slo", "check", _spec(tmp_path), url, "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    (slo,) = report["slos"]
    assert report["ok"] is True
    assert slo["burn_rates"]["5m"] is None
    assert slo["burn_rates"]["1h"] == 0.0
    assert slo["sli"] == 1.0
    assert (slo["page"], slo["ticket"]) == (False, False)
    assert [p["alert"] for p in slo["pairs"]] == ["page", "page", "ticket", "ticket"]


def test_json_output_is_strict_json_when_prometheus_answers_non_finite_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prometheus: Callable[[Answer], str]
) -> None:
    """An error ratio Prometheus answers as +Inf (errors over a zero total) gives an
    infinite burn rate; the --json document spells it as Prometheus does ("+Inf"), never
    as the Infinity token strict JSON parsers refuse. NaN (0/0) stays "no data" (null)."""
    answers = {"5m": "NaN", "1h": "+Inf"}
    url = prometheus(lambda q: answers.get(_window(q), 0.0))
    main(["slo", "check", _spec(tmp_path), url, "--json"])
    text = capsys.readouterr().out

    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON token {token} in the output")

    report = json.loads(text, parse_constant=refuse)
    (slo,) = report["slos"]
    assert slo["burn_rates"]["5m"] is None
    assert slo["burn_rates"]["1h"] == "+Inf"


def test_a_prometheus_that_is_down_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Connection refused: a clear error, exit 2, in text and in JSON."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert main(["slo", "check", _spec(tmp_path), url, "--timeout", "2"]) == EXIT_UNUSABLE
    assert f"error: Prometheus at {url} is not reachable" in capsys.readouterr().err
    assert main(["slo", "check", _spec(tmp_path), url, "--json", "--timeout", "2"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert "is not reachable" in report["error"]["message"]


def test_a_refused_query_and_a_bad_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prometheus: Callable[[Answer], str]
) -> None:
    """Prometheus' error for a query names the SLO; a URL that is not http(s) is refused."""
    url = prometheus(lambda q: ("error", "parse error: unexpected end of input"))
    assert main(["slo", "check", _spec(tmp_path), url]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "slos[0] ('requests-availability'): Prometheus at" in err
    assert "parse error: unexpected end of input" in err
    assert main(["slo", "check", _spec(tmp_path), "localhost:9090"]) == EXIT_UNUSABLE
    assert "Prometheus URL 'localhost:9090' is invalid" in capsys.readouterr().err
