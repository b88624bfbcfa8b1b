"""Why a call failed, in words and as a bounded metric label.

:func:`describe_failure` turns the exceptions of network calls (urllib, http.client,
requests, httpx, sockets, deadlines) into a reason label for the ``lexigram_monitor_*``
counters and a log text that always names the cause: ``timeout after 5s``,
``connection refused``, ``HTTP 503: ...``.
"""

from __future__ import annotations

import socket
import sys

from ._worker import WorkerBusyError

__all__ = ["describe_failure"]


def _causes(exc: BaseException) -> list[BaseException]:
    """*exc* and what it wraps (``reason`` of urllib errors, causes, contexts), outer first."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 16:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        reason = getattr(current, "reason", None)
        todo.extend([reason if isinstance(reason, BaseException) else None])
        todo.extend([current.__cause__, current.__context__])
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
    return seen


def describe_failure(exc: BaseException, timeout: float | None = None) -> tuple[str, str]:
    """(reason label, log text) naming why a network call failed.

    Labels: ``timeout`` (text ``timeout after Ns`` with the call's deadline),
    ``refused``, ``reset``, ``dns``, ``busy`` (the feature's worker was full),
    ``http_<status>`` (text ``HTTP 503``; pass an exception with an int ``status`` or
    ``code``), ``unreachable`` (another ``OSError``), else the exception's type name.
    The text always says something, even for an exception without a message.
    """
    chain = _causes(exc)
    client = sys.modules.get("http.client")  # not imported: none of its errors can occur
    for current in chain:
        status = getattr(current, "status", getattr(current, "code", None))
        if isinstance(status, int) and 100 <= status <= 599:
            return f"http_{status}", _status_text(current, status)
    for current in chain:
        limit_of = getattr(current, "timeout", None)  # _deadline.DeadlineExceededError
        if isinstance(current, TimeoutError) and isinstance(limit_of, int | float):
            return "timeout", f"timeout after {limit_of:.3g}s"
        if isinstance(current, TimeoutError | socket.timeout):
            limit = f" after {timeout:.3g}s" if timeout is not None else ""
            return "timeout", f"timeout{limit}"
        if isinstance(current, WorkerBusyError):
            return "busy", str(current)
        if isinstance(current, ConnectionRefusedError):
            return "refused", "connection refused"
        if isinstance(current, ConnectionResetError | BrokenPipeError):
            return "reset", "connection reset by the peer"
        if client is not None and isinstance(
            current, client.RemoteDisconnected | client.IncompleteRead
        ):
            return "reset", "the peer closed the connection before answering"
        if isinstance(current, socket.gaierror):
            return "dns", f"name resolution failed ({current.strerror or current})"
    for current in chain:
        if isinstance(current, OSError):
            return "unreachable", f"{type(current).__name__}: {current.strerror or current}"
    return type(exc).__name__, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _status_text(exc: BaseException, status: int) -> str:
    text = str(exc).strip()
    if text.startswith(f"HTTP {status}"):
        return text
    return f"HTTP {status}: {text}" if text and text != str(status) else f"HTTP {status}"
