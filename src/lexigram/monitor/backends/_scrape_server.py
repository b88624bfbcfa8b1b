"""The scrape endpoint's HTTP/1.1 server: its own thread and event loop, never the app's.

:class:`MetricsServer` binds its socket in the caller (so ``OSError``, e.g. a port in use,
is raised there) and serves from one daemon thread running a private asyncio loop: a
handler that blocks the application's loop, or a program with no loop at all, does not
delay a scrape. Rendering a large exposition runs on that thread (above 5,000 series on
its two render threads), never on the application's loop or default executor.

Rules, per connection:

- one request per connection; every answer says ``Connection: close``;
- the request head is at most :data:`MAX_HEAD` bytes (a larger one is answered 431) and
  must arrive whole within :data:`READ_TIMEOUT` seconds, otherwise the connection is
  closed (a client sending a byte at a time holds nothing for long);
- at most :data:`MAX_CONNECTIONS` connections are served at once; more are answered 503;
- the scrape path goes to :func:`~.exporters._app.handle_scrape` whatever the method, so
  its rules (authentication first, then the method, content negotiation, gzip) decide;
  other paths are served by handlers added with :meth:`MetricsServer.add_route`, the rest
  is 404;
- answers to ``HEAD`` carry the headers a ``GET`` would get and no body, whatever the
  status;
- header names are lower-cased, values decoded as latin-1 (the raw bytes stay
  recoverable) and repeated headers joined with ``", "``.

Connection errors are logged (rate limited) and never reach the application.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from http import HTTPStatus
from typing import Any

from .._ratelimit import RateLimitedLogger
from ._http_head import Request, RouteHandler, has_body, parse_head, plain, request_method
from .exporters._app import ScrapeResponse, handle_scrape

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_HEAD",
    "READ_TIMEOUT",
    "MetricsServer",
    "Request",
    "RouteHandler",
    "parse_head",
]

#: Bytes a request head (request line and headers) may take; larger heads get 431.
MAX_HEAD = 16 * 1024
#: Seconds the whole request head may take to arrive.
READ_TIMEOUT = 10.0
#: Seconds the whole answer may take to be sent.
WRITE_TIMEOUT = 30.0
#: Connections served at once; more are answered 503.
MAX_CONNECTIONS = 64
#: Threads rendering large expositions (above the offload threshold) at once.
RENDER_THREADS = 2
#: Seconds, and bytes, of unread request data discarded after answering, so the client
#: reads the answer before the connection closes (a close with unread data resets it).
LINGER_SECONDS = 1.0
LINGER_BYTES = 256 * 1024
_START_TIMEOUT = 10.0

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.prometheus"))


class MetricsServer:
    """Serves the exposition of *collector* at *path* on *host*:*port* (0 = any free).

    :meth:`start` binds and starts the server thread; :meth:`stop` (or :meth:`astop` from
    a loop) closes the socket and ends the thread; ``with server:`` stops it on leaving.
    *collector* None serves the process registry; *auth_token* requires
    ``Authorization: Bearer <token>`` on the scrape path. :attr:`port` is the bound port
    while serving; :attr:`url` the scrape URL.
    """

    def __init__(
        self,
        host: str,
        port: int,
        path: str = "/metrics",
        *,
        collector: Any = None,
        auth_token: str | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"scrape path {path!r} must start with '/' (e.g. '/metrics')")
        self.host = host
        self.port_requested = port
        self.path = path
        self.collector = collector
        self.auth_token = auth_token
        self._routes: dict[str, RouteHandler] = {path: self._scrape}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._bound: int | None = None
        self._stopped: concurrent.futures.Future[None] | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    # -- state ------------------------------------------------------------------------------

    @property
    def bound_port(self) -> int | None:
        """The port actually listened on, None when not serving."""
        return self._bound if self.serving else None

    @property
    def port(self) -> int:
        """The bound port while serving, else the configured one."""
        bound = self.bound_port
        return bound if bound is not None else self.port_requested

    @property
    def serving(self) -> bool:
        """True while the server thread listens."""
        thread = self._thread
        return self._bound is not None and thread is not None and thread.is_alive()

    @property
    def url(self) -> str | None:
        """``http://host:port/path`` while serving (IPv6 hosts in brackets)."""
        port = self.bound_port
        if port is None:
            return None
        host = self.host or "0.0.0.0"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}{self.path}"

    def add_route(self, path: str, handler: RouteHandler) -> None:
        """Serve *path* (exact, query ignored) with *handler*, any method.

        *handler* runs on the server's loop and must not block it for long; it answers
        every method itself (405 for those it does not serve). The scrape path cannot be
        replaced.
        """
        if not path.startswith("/") or path == self.path:
            raise ValueError(f"route {path!r} must start with '/' and differ from {self.path!r}")
        self._routes = {**self._routes, path: handler}

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and start serving from the server thread; idempotent.

        Raises ``OSError`` from the bind (e.g. address in use) in the caller.
        """
        with self._lock:
            if self._thread is not None:
                return
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.create_server(
                (self.host, self.port_requested), family=family, backlog=128
            )
            self._bound = sock.getsockname()[1]
            ready: concurrent.futures.Future[None] = concurrent.futures.Future()
            self._stopped = concurrent.futures.Future()
            thread = threading.Thread(
                target=self._run,
                args=(sock, ready),
                name=f"lexigram-monitor-scrape-{self._bound}",
                daemon=True,
            )
            self._thread = thread
            thread.start()
        try:
            ready.result(_START_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"serving {self.url}" if self.serving else "stopped"
        return f"<MetricsServer {state}>"

    def _request_stop(self) -> concurrent.futures.Future[None] | None:
        with self._lock:
            loop, stopped = self._loop, self._stopped
            if self._thread is None:
                return None
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(self._close)
        return stopped

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop listening, close open connections and end the thread.

        Waits at most *timeout* seconds; False when the thread was still busy then (it
        ends on its own; the socket is closed either way). Idempotent.
        """
        stopped = self._request_stop()
        if stopped is None:
            return True
        try:
            stopped.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        self._forget()
        return True

    async def astop(self, timeout: float = 5.0) -> bool:
        """:meth:`stop` for a running loop: the wait does not block it."""
        stopped = self._request_stop()
        if stopped is None:
            return True
        try:
            await asyncio.wait_for(asyncio.wrap_future(stopped), timeout)
        except TimeoutError:
            return False
        self._forget()
        return True

    def _forget(self) -> None:
        with self._lock:
            self._thread = None
            self._loop = None
            self._bound = None

    # -- server thread ------------------------------------------------------------------------

    def _run(self, sock: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        renderers = concurrent.futures.ThreadPoolExecutor(
            RENDER_THREADS, thread_name_prefix=f"lexigram-monitor-render-{self._bound}"
        )
        loop.set_default_executor(renderers)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._connection, sock=sock, limit=MAX_HEAD)
            )
            with self._lock:
                self._loop = loop
            ready.set_result(None)
            loop.run_forever()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            sock.close()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._wind_down())
            renderers.shutdown(wait=False, cancel_futures=True)
            loop.close()
            self._bound = None
            if self._stopped is not None and not self._stopped.done():
                self._stopped.set_result(None)

    def _close(self) -> None:
        """Stop listening and cancel the connections (on the server loop), then stop it."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._connections):
            task.cancel()
        asyncio.get_running_loop().stop()

    async def _wind_down(self) -> None:
        """After the loop stopped: let cancelled connections close, at most one second."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            if len(self._connections) > MAX_CONNECTIONS:
                await self._answer(writer, "GET", plain(503, "", ("Retry-After", "1")))
                return
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # the server is stopping
        except Exception as exc:  # a broken client connection is never the app's problem
            _log.warning("scrape-connection", "scrape connection failed: %r", exc)
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        except asyncio.LimitOverrunError:
            start = await reader.read(MAX_HEAD)
            await self._answer(writer, request_method(start), plain(431))
            await _linger(reader, writer)
            return
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            return  # the client gave up, or was too slow: nothing to answer
        try:
            request = parse_head(head)
        except ValueError:
            await self._answer(writer, request_method(head), plain(400))
            await _linger(reader, writer)
            return
        response = await self._dispatch(request)
        await self._answer(writer, request.method, response)
        if has_body(request.headers):
            await _linger(reader, writer)

    async def _dispatch(self, request: Request) -> ScrapeResponse:
        handler = self._routes.get(request.path)
        if handler is None:
            return plain(404)
        try:
            return await handler(request)
        except Exception as exc:
            _log.error(
                f"route:{request.path}",
                "handler for %s failed (%s); answered 500",
                request.path,
                type(exc).__name__,
                exc_info=exc,
            )
            return plain(500)

    async def _scrape(self, request: Request) -> ScrapeResponse:
        return await handle_scrape(
            request.method, request.headers, collector=self.collector, auth_token=self.auth_token
        )

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, method: str, response: ScrapeResponse) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        head = [f"HTTP/1.1 {response.status} {reason}"]
        head.extend(
            f"{name}: {value}" for name, value in response.headers if name.lower() != "connection"
        )
        head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if method != "HEAD":
            writer.write(response.body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Discard what the client still sends (bounded), so it reads the answer first."""
    left = LINGER_BYTES
    with contextlib.suppress(Exception):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(LINGER_SECONDS):
            while left > 0:
                chunk = await reader.read(min(left, 65536))
                if not chunk:
                    return
                left -= len(chunk)
