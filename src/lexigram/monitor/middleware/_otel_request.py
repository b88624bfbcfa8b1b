"""Reading an HTTP scope for :mod:`.otel`: method, incoming trace context and the
semantic-convention request attributes, in one pass over the headers.

Header names match case-insensitively; values are decoded as latin-1. Memory: parsed
``Host`` values are cached, at most :data:`MAX_CACHED_HOSTS` of them.
"""

from __future__ import annotations

from typing import Any

from ..protocols import Scope
from ..tracing import SpanContext

__all__ = ["MAX_CACHED_HOSTS", "REDACTED", "RequestInfo", "read_request", "redact_query"]

MAX_CACHED_HOSTS = 256
REDACTED = "REDACTED"

_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY")
)
# header name -> slot; anything else is skipped
_WANTED = {b"traceparent": 0, b"tracestate": 1, b"host": 2, b"user-agent": 3,
           b"x-forwarded-for": 4}  # fmt: skip
_SENSITIVE = ("AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_hosts: dict[bytes, tuple[str, int | None]] = {}


class RequestInfo:
    """What the middleware needs from a request before calling the app."""

    __slots__ = ("attributes", "method", "method_name", "parent")

    def __init__(
        self, method: str, method_name: str, parent: SpanContext | None, attributes: dict[str, Any]
    ) -> None:
        self.method = method
        """``http.request.method``: a standard method or ``_OTHER``."""
        self.method_name = method_name
        """The method as it starts the span name (``HTTP`` for ``_OTHER``)."""
        self.parent = parent
        self.attributes = attributes


def read_request(scope: Scope) -> RequestInfo:
    """Method, parent context and request attributes of an HTTP *scope*."""
    traceparent: bytes | None = None
    duplicated = False
    states: list[str] | None = None
    host = agent = forwarded = None
    for key, value in scope.get("headers") or ():
        slot = _WANTED.get(key)
        if slot is None:
            if key.islower():
                continue
            slot = _WANTED.get(key.lower())
            if slot is None:
                continue
        if slot == 0:
            duplicated = duplicated or traceparent is not None
            traceparent = value
        elif slot == 1:
            if states is None:
                states = []
            states.append(value.decode("latin-1"))
        elif slot == 2:
            host = value
        elif slot == 3:
            agent = value
        elif forwarded is None:
            forwarded = value

    raw_method: str = scope.get("method") or "GET"
    if raw_method in _METHODS:
        method = name = raw_method
        attributes: dict[str, Any] = {"http.request.method": method}
    else:
        upper = raw_method.upper()
        if upper in _METHODS:
            method = name = upper
        else:
            method, name = "_OTHER", "HTTP"
        attributes = {"http.request.method": method, "http.request.method_original": raw_method}

    scheme: str = scope.get("scheme") or "http"
    path: str = scope.get("path") or "/"
    root: str = scope.get("root_path") or ""
    if root and not path.startswith(root):
        path = root + path  # servers predating the ASGI rule that path includes root_path
    attributes["url.path"] = path
    attributes["url.scheme"] = scheme
    query: bytes = scope.get("query_string") or b""
    if query:
        attributes["url.query"] = redact_query(query.decode("latin-1"))

    address, port = _server(host, scope, scheme)
    if address:
        attributes["server.address"] = address
        if port is not None:
            attributes["server.port"] = port
    if forwarded is not None:
        first = forwarded.split(b",", 1)[0].strip()
        if first:
            attributes["client.address"] = first.decode("latin-1")
    if "client.address" not in attributes:
        client = scope.get("client")
        if client:
            attributes["client.address"] = client[0]
    if agent is not None:
        attributes["user_agent.original"] = agent.decode("latin-1")
    version = scope.get("http_version")
    if version:
        attributes["network.protocol.version"] = version

    parent = None
    if traceparent is not None and not duplicated:
        parent = SpanContext.from_traceparent(traceparent.decode("latin-1"), states)
    return RequestInfo(method, name, parent, attributes)


def _server(host: bytes | None, scope: Scope, scheme: str) -> tuple[str | None, int | None]:
    """(server.address, server.port) from the Host header, else from ``scope["server"]``."""
    if host is None:
        server = scope.get("server")
        if not server:
            return None, None
        return server[0], server[1]
    cached = _hosts.get(host)
    if cached is None:
        cached = _parse_host(host.decode("latin-1"), scheme)
        if len(_hosts) < MAX_CACHED_HOSTS:
            _hosts[host] = cached
    return cached


def _parse_host(text: str, scheme: str) -> tuple[str, int | None]:
    """``example.com:8080`` / ``[::1]:8000`` / ``example.com`` -> (address, port)."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end > 0:
            rest = text[end + 1 :]
            port = rest[1:] if rest.startswith(":") else ""
            return text[1:end], int(port) if port.isdigit() else _DEFAULT_PORTS.get(scheme)
    address, sep, port = text.rpartition(":")
    if sep and port.isdigit() and ":" not in address:
        return address, int(port)
    return text, _DEFAULT_PORTS.get(scheme)


def redact_query(query: str) -> str:
    """*query* with the values of signature-like parameters replaced by ``REDACTED``."""
    if not any(name in query for name in _SENSITIVE):
        return query
    parts = query.split("&")
    for index, part in enumerate(parts):
        key, sep, _ = part.partition("=")
        if sep and key in _SENSITIVE:
            parts[index] = f"{key}={REDACTED}"
    return "&".join(parts)
