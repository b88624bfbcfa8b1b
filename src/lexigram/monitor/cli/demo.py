"""``python -m lexigram.monitor demo`` (``make demo``): run the instrumented demo service.

Serves the demo shop (see ``cli._demo_app``) under uvicorn on ``--host`` (default
127.0.0.1) and ``--port`` (default ``$DEMO_PORT``, else 8080; 0 picks a free port), with
background traffic so the metrics move, spans written as JSON lines to ``--spans-file``
(default ``demo-spans.jsonl``, appended to) and a printed list of URLs to open. A busy
port is reported with the way out and exit code 2, a missing ``web`` extra (starlette,
uvicorn) with exit code 3; nothing is started then. Without httpx there is no traffic.
Ctrl-C stops it cleanly: uvicorn drains the connections, the lifespan shut-down stops
the traffic and flushes the spans, and the command exits 0 without a traceback.

Fault switch: ``--fault-rate SHARE`` makes that share (0 to 1) of the shop's requests
fail with a 500 from the start; ``curl -X POST 'http://HOST:PORT/-/faults?share=0.5'``
changes it while the demo runs (``share=0`` turns faults off). The in-process SLO
``orders-availability`` (99 % over ``--slo-period``, default 30d) shows the burn in the
``lexigram_slo_*`` gauges of ``/metrics`` and on the status page ``/-/monitor``,
whose URL the banner prints first.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from .._optional import require
from ..exceptions import BackendNotAvailableError

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_SPANS_FILE",
    "EXIT_MISSING_EXTRA",
    "EXIT_PORT_BUSY",
    "PORT_ENV",
    "DemoOptions",
    "add_arguments",
    "demo_urls",
    "run",
    "run_demo",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
PORT_ENV = "DEMO_PORT"
DEFAULT_SPANS_FILE = "demo-spans.jsonl"
DEFAULT_RATE = 4.0
EXIT_PORT_BUSY = 2
EXIT_MISSING_EXTRA = 3

Serve = Callable[[Any, socket.socket, "DemoOptions"], None]
"""Runs *app* on the bound socket until stopped (uvicorn by default; tests pass a fake)."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What the ``demo`` command was asked to do."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    spans_file: str = DEFAULT_SPANS_FILE
    traffic: bool = True
    rate: float = DEFAULT_RATE
    fault_rate: float = 0.0
    slo_period: timedelta = timedelta(days=30)
    native_histograms: bool = False


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {text!r} is not a number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 0-65535 (0 = any free port)")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate {text!r} is not a number") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"rate {value} must be > 0 and <= 1000 requests/s")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"fault rate {text!r} is not a number") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"fault rate {value} must be in [0, 1] (0.5 = half)")
    return value


def _period(text: str) -> timedelta:
    from ._duration import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _default_port() -> int:
    raw = os.environ.get(PORT_ENV)
    if not raw:
        return DEFAULT_PORT
    try:
        return _port(raw)
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"{PORT_ENV}={raw!r} is invalid: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` options to *parser*."""
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=None,
        help=f"port to listen on (default ${PORT_ENV}, else {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--spans-file",
        default=DEFAULT_SPANS_FILE,
        help=f"file the spans are appended to as JSON lines (default {DEFAULT_SPANS_FILE})",
    )
    parser.add_argument(
        "--no-traffic",
        dest="traffic",
        action="store_false",
        help="do not send background requests (default: about --rate requests/s)",
    )
    parser.add_argument(
        "--rate",
        type=_rate,
        default=DEFAULT_RATE,
        help=f"background requests per second (default {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--fault-rate",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="share of shop requests that fail with a 500, 0 to 1 (default 0); change it "
        "at run time with POST /-/faults?share=0.5",
    )
    parser.add_argument(
        "--slo-period",
        type=_period,
        default=timedelta(days=30),
        metavar="DURATION",
        help="period of the demo's availability SLO, e.g. 1d to see burns within "
        "minutes (default 30d)",
    )
    parser.add_argument(
        "--native-histograms",
        action="store_true",
        help="record request durations as native histograms (classic buckets kept), "
        "served in protobuf to a Prometheus started with "
        "--enable-feature=native-histograms; the same as "
        "LEX_MONITOR__METRICS__NATIVE_HISTOGRAMS=true",
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of the ``demo`` command."""
    options = DemoOptions(
        host=args.host,
        port=args.port if args.port is not None else _default_port(),
        spans_file=args.spans_file,
        traffic=args.traffic,
        rate=args.rate,
        fault_rate=args.fault_rate,
        slo_period=args.slo_period,
        native_histograms=args.native_histograms,
    )
    return run_demo(options)


def demo_urls(base: str) -> list[tuple[str, str]]:
    """(URL, what it shows) for the banner."""
    return [
        (f"{base}/-/monitor", "live status page: health, SLOs, routes, traces, metrics"),
        (f"{base}/", "index of the demo shop"),
        (f"{base}/orders/7", "an order (route template /orders/{order_id})"),
        (f"{base}/reports/slow", "a slow report (200-800 ms)"),
        (f"{base}/metrics", "Prometheus metrics (text; OpenMetrics on request)"),
        (f"{base}/health", "all health checks"),
        (f"{base}/health/live", "liveness probe"),
        (f"{base}/health/ready", "readiness probe (simulated database)"),
        (f"{base}/health/startup", "startup probe"),
        (f"{base}/-/faults", "fault switch (POST ?share=0.5 makes half the requests fail)"),
    ]


def run_demo(
    options: DemoOptions,
    *,
    serve: Serve | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Bind the port, build the demo, print the URLs and serve until stopped.

    Returns 0 after a clean stop (Ctrl-C included), :data:`EXIT_PORT_BUSY` when the port
    cannot be bound and :data:`EXIT_MISSING_EXTRA` without starlette/uvicorn (the
    ``web`` extra). Without httpx the demo runs without background traffic.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        require("web", "starlette")
        if serve is None:
            require("web", "uvicorn")
    except BackendNotAvailableError as exc:
        print(f"error: the demo needs the web extra: {exc}", file=err)
        return EXIT_MISSING_EXTRA
    try:
        sock = _bind(options.host, options.port)
    except OSError as exc:
        print(_bind_failure(options, exc), file=err)
        return EXIT_PORT_BUSY
    try:
        port = sock.getsockname()[1]
        base = f"http://{_display_host(options.host)}:{port}"
        spans_path = Path(options.spans_file)
        stream = spans_path.open("a", encoding="utf-8", buffering=1)
        try:
            service = _build(options, base, stream, err)
        except BaseException:
            stream.close()
            raise
        service.closers.append(stream.close)
        _banner(out, options, base, spans_path)
        try:
            (serve if serve is not None else _serve_with_uvicorn)(service.app, sock, options)
        except KeyboardInterrupt:
            pass  # uvicorn re-raises SIGINT after its graceful shut-down
        finally:
            service.close()
        print(f"demo stopped; spans are in {spans_path}", file=out)
        return 0
    finally:
        sock.close()


def _build(options: DemoOptions, base: str, stream: TextIO, err: TextIO) -> Any:
    """The demo service; without httpx it runs without background traffic (said on *err*)."""
    from ._demo_app import build_demo

    traffic_client = None
    if options.traffic:
        try:
            httpx = require("alerts", "httpx")
        except BackendNotAvailableError as exc:
            print(f"note: no background traffic: {exc}", file=err)
        else:

            def traffic_client() -> Any:
                return httpx.AsyncClient(base_url=base, timeout=5.0, trust_env=False)

    return build_demo(
        collector=_collector(options),
        spans_stream=stream,
        traffic_client=traffic_client,
        traffic_rate=options.rate,
        fault_share=options.fault_rate,
        slo_period=options.slo_period,
    )


def _collector(options: DemoOptions) -> Any:
    """The demo's collector, made the process default: the metrics settings of the
    environment (``LEX_MONITOR__METRICS__*``, as ``MonitorConfig`` reads them), native
    request-duration histograms also with ``--native-histograms``."""
    from ..config import MonitorConfig
    from ..metrics import MetricsCollector, set_default_collector

    try:
        config = MonitorConfig().metrics
    except ValueError as exc:  # pydantic's ValidationError names the variable and the rule
        raise SystemExit(f"error: the LEX_MONITOR__ settings are invalid: {exc}") from None
    if options.native_histograms and not config.native_histograms:
        config = config.model_copy(update={"native_histograms": True})
    collector = MetricsCollector(config=config)
    set_default_collector(collector)
    return collector


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_failure(options: DemoOptions, exc: OSError) -> str:
    where = f"{options.host}:{options.port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"error: port {options.port} on {options.host} is already in use, so the demo "
            f"cannot listen on {where}.\nStop the process using it, or pick another port: "
            f"`{PORT_ENV}={options.port + 1 if options.port < 65535 else 8081} make demo` or "
            "`python -m lexigram.monitor demo --port 0` (any free port)."
        )
    return f"error: cannot listen on {where}: {exc.strerror or exc}. Check --host and --port."


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _banner(out: TextIO, options: DemoOptions, base: str, spans_path: Path) -> None:
    lines = [f"lexigram-monitor demo listening on {base}", ""]
    width = max(len(url) for url, _ in demo_urls(base))
    lines += [f"  {url:<{width}}  {what}" for url, what in demo_urls(base)]
    lines.append("")
    if options.traffic:
        lines.append(f"background traffic: about {options.rate:g} requests/s (--no-traffic: none)")
    if options.fault_rate:
        lines.append(f"faults: {options.fault_rate:.0%} of shop requests fail (/-/faults)")
    lines.append(f"spans: appended to {spans_path} as JSON lines")
    lines.append("press Ctrl-C to stop")
    print("\n".join(lines), file=out, flush=True)


def _serve_with_uvicorn(app: Any, sock: socket.socket, options: DemoOptions) -> None:
    uvicorn = require("web", "uvicorn")
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
