"""Reading an HTTP scope for :mod:`.otel`: method, incoming trace context and the
semantic-convention request attributes, in one pass over the headers.

Header names match case-insensitively; values are decoded as latin-1. The attributes
that depend only on the method, the connection and the ``Host``/``User-Agent``/
``X-Forwarded-For`` headers are built once per distinct combination and copied per
request; every value passes the span attribute rule (checked once per cached set, the
path and query per request). Memory: at most :data:`MAX_CACHED_HOSTS` parsed ``Host`` values and
:data:`MAX_CACHED_BASES` attribute sets (past it, attributes are built per request).
"""

from __future__ import annotations

from typing import Any

from ..protocols import Scope
from ..tracing import SpanContext
from ..tracing.attributes import Attributes

__all__ = [
    "MAX_CACHED_BASES",
    "MAX_CACHED_HOSTS",
    "REDACTED",
    "RequestInfo",
    "parse_host",
    "read_request",
    "redact_query",
]

MAX_CACHED_HOSTS = 256
MAX_CACHED_BASES = 1024
REDACTED = "REDACTED"

_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY")
)
# header name -> slot; anything else is skipped
_WANTED = {b"traceparent": 0, b"tracestate": 1, b"host": 2, b"user-agent": 3,
           b"x-forwarded-for": 4}  # fmt: skip
_SENSITIVE = ("AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_hosts: dict[bytes, tuple[str, int | None]] = {}  # Host value -> (address, port)
# (method, scheme, version, Host or server, peer address, User-Agent, X-Forwarded-For)
# -> (method, span name start, attributes those determine)
_Base = tuple[str, str, Attributes]
_bases: dict[tuple[Any, ...], _Base] = {}


RequestInfo = tuple[str, str, "SpanContext | None", Attributes]
"""``(method, method_name, parent, attributes)``: ``method`` is the
``http.request.method`` value (a standard method or ``_OTHER``), ``method_name`` starts
the span name (``HTTP`` for ``_OTHER``), ``parent`` the incoming context."""


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
    scheme: str = scope.get("scheme") or "http"
    version: str = scope.get("http_version") or "1.1"
    peer = scope.get("client")
    server = host if host is not None else scope.get("server")
    key = (raw_method, scheme, version, server, peer[0] if peer else None, agent, forwarded)
    try:
        base = _bases.get(key)
    except TypeError:  # an unhashable (list) ASGI server address
        key = None
        base = None
    if base is None:
        base = _base(raw_method, scheme, version, host, scope.get("server"), peer, agent,
                     forwarded)  # fmt: skip
        if key is not None and len(_bases) < MAX_CACHED_BASES:
            _bases[key] = base
    method, name, common = base
    path: str = scope["path"]
    root: str | None = scope.get("root_path")
    if root and not path.startswith(root):
        path = root + path  # servers predating the ASGI rule that path includes root_path
    query: bytes = scope.get("query_string") or b""
    if query:
        attributes = common.merged(
            {"url.path": path, "url.query": redact_query(query.decode("latin-1"))}
        )
    else:
        attributes = common.plus("url.path", path)

    parent = None
    if traceparent is not None and not duplicated:
        parent = SpanContext.from_traceparent(traceparent.decode("latin-1"), states)
    return method, name, parent, attributes


def _base(
    raw_method: str,
    scheme: str,
    version: str,
    host: bytes | None,
    server: Any,
    peer: Any,
    agent: bytes | None,
    forwarded: bytes | None,
) -> _Base:
    """Method, span name start and the attributes that do not depend on the path."""
    method = name = raw_method
    if raw_method not in _METHODS:
        method = name = raw_method.upper()
        if method not in _METHODS:
            method, name = "_OTHER", "HTTP"
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.scheme": scheme,
        "network.protocol.version": version,
    }
    if method is not raw_method:
        attributes["http.request.method_original"] = raw_method
    if host is not None:
        address = _hosts.get(host)
        if address is None:
            address = parse_host(host.decode("latin-1"), scheme)
            if len(_hosts) < MAX_CACHED_HOSTS:
                _hosts[host] = address
        server = address
    if server and server[0]:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    client = None
    if forwarded is not None:
        client = forwarded.split(b",", 1)[0].strip().decode("latin-1")
    if not client:
        client = peer[0] if peer else None
    if client:
        attributes["client.address"] = client
    if agent is not None:
        attributes["user_agent.original"] = agent.decode("latin-1")
    return method, name, Attributes.checked(attributes)


def parse_host(text: str, scheme: str) -> tuple[str, int | None]:
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
