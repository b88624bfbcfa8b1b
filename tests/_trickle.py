"""A peer that trickles: it accepts, reads the request, then answers one byte at a time.

A per-read socket timeout never trips on it (a byte always arrives in time); only a
deadline for the whole call cuts it off. Used by the deadline tests of every network
call (Pushgateway, OTLP, alerts). Loopback only; every thread stops on :meth:`close`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n"


class TricklingServer:
    """Loopback server answering every request with one byte per *interval* seconds.

    *read_request* False never reads the request (a peer whose receive window fills up,
    so a large upload blocks). :attr:`cut_off` holds, per connection, the seconds from
    accept until the client closed it (a failed write); :attr:`accepted` counts them.
    """

    def __init__(self, interval: float = 0.1, *, read_request: bool = True) -> None:
        self.interval = interval
        self.read_request = read_request
        self.accepted = 0
        self.cut_off: list[float] = []
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, name="trickle-accept", daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._trickle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _trickle(self, conn: socket.socket) -> None:
        started = time.monotonic()
        with conn:
            conn.settimeout(self.interval)
            if self.read_request:
                with contextlib.suppress(OSError):
                    conn.recv(65536)
            for byte in ANSWER + b"x" * 1_000_000:
                if self._stop.wait(self.interval):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    self.cut_off.append(time.monotonic() - started)
                    return

    def wait_cut_off(self, count: int, timeout: float) -> bool:
        """Wait until *count* connections were closed by the client."""
        deadline = time.monotonic() + timeout
        while len(self.cut_off) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> TricklingServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
