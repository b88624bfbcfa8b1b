"""uvicorn in a thread, for testing ASGI code against a real server in the test process."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

STARTUP_TIMEOUT = 30.0
"""Seconds uvicorn gets to start listening."""
STOP_TIMEOUT = 10.0
"""Seconds uvicorn gets to finish after ``should_exit`` (then ``force_exit``, as long again)."""


class ServeApp(Protocol):
    """Signature of the ``uvicorn_server`` factory."""

    def __call__(self, app: Any, port: int | None = None, **config: Any) -> str: ...


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int | None = None, **config: Any) -> Iterator[str]:
    """Serve ASGI *app* with uvicorn in a thread; yield its base URL, stop on exit.

    The listening socket is bound here (port *port*, or a free one) and handed to uvicorn,
    so there is no window in which another process can take the port. *config* goes to
    ``uvicorn.Config`` (defaults: ``log_level="warning"``, ``lifespan="auto"``).
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port or 0))
        bound = sock.getsockname()[1]
        options: dict[str, Any] = {"log_level": "warning", "lifespan": "auto", **config}
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=bound, **options))
        failures: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # SystemExit on a failed lifespan start-up too
                failures.append(exc)

        thread = threading.Thread(target=run, name=f"uvicorn-{bound}", daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not server.started:
                if not thread.is_alive():
                    raise AssertionError(
                        f"uvicorn stopped before serving on port {bound}: {failures!r}"
                    )
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"uvicorn did not start on port {bound} in {STARTUP_TIMEOUT:.0f} s"
                    )
                time.sleep(0.01)
            yield f"http://127.0.0.1:{bound}"
        finally:
            server.should_exit = True
            thread.join(STOP_TIMEOUT)
            if thread.is_alive():
                server.force_exit = True
                thread.join(STOP_TIMEOUT)
            if thread.is_alive() and sys.exc_info()[0] is None:
                raise AssertionError(
                    f"uvicorn on port {bound} did not stop in {2 * STOP_TIMEOUT} s"
                )
    finally:
        sock.close()
