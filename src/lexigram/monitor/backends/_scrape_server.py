"""A minimal asyncio HTTP/1.1 server answering Prometheus scrapes on one path.

Each connection carries one request (the response says ``Connection: close``); the
request head is limited to :data:`MAX_HEAD` bytes and must arrive within
:data:`READ_TIMEOUT` seconds, otherwise the connection is closed. Requests for another
path get 404; the scrape path is answered by ``handle_scrape`` (render in a worker
thread above the size threshold, bearer-token check). Connection errors are logged
(rate limited) and never reach the event loop's exception handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .._ratelimit import RateLimitedLogger
from .exporters._app import ScrapeResponse, handle_scrape

__all__ = ["MAX_HEAD", "READ_TIMEOUT", "ScrapeServer"]

MAX_HEAD = 16 * 1024
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 30.0

_log = RateLimitedLogger(logging.getLogger("lexigram.monitor.backends.prometheus"))
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 500: "Internal Server Error"}  # fmt: skip


class ScrapeServer:
    """Serves the exposition of *collector* at *path* on *host*:*port* (0 = any free)."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        *,
        collector: Any = None,
        auth_token: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.path = path
        self.collector = collector
        self.auth_token = auth_token
        self._server: asyncio.Server | None = None

    @property
    def bound_port(self) -> int | None:
        """The port actually listened on, None when not serving."""
        if self._server is None or not self._server.sockets:
            return None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Start listening; raises ``OSError`` (e.g. address in use) from the bind."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._connection, self.host, self.port, limit=MAX_HEAD
            )

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), READ_TIMEOUT)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            response = await self._respond(head)
            await self._write(writer, response)
        except Exception as exc:  # a broken client connection is never the app's problem
            _log.warning("scrape-connection", "scrape connection failed: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, head: bytes) -> ScrapeResponse:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return ScrapeResponse(400, [("Content-Length", "0")])
        method, target, _ = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                continue
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if target.split("?", 1)[0] != self.path:
            body = b"Not Found\n"
            return ScrapeResponse(
                404,
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
                body if method != "HEAD" else b"",
            )
        return await handle_scrape(
            method, headers, collector=self.collector, auth_token=self.auth_token
        )

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: ScrapeResponse) -> None:
        reason = _REASONS.get(response.status, "")
        head = [f"HTTP/1.1 {response.status} {reason}"]
        head.extend(f"{name}: {value}" for name, value in response.headers)
        head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        writer.write(response.body)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
