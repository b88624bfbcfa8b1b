"""Reading an HTTP/1.1 request head, for the scrape server (``_scrape_server``).

Header names are lower-cased, values decoded as latin-1 (the raw bytes stay recoverable)
and repeated headers joined with ``", "``; a bad request line, a folded or colon-less
header line is refused with ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from .exporters._app import ScrapeResponse

__all__ = ["Request", "RouteHandler", "has_body", "parse_head", "plain", "request_method"]


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request head: method, target, path, query and lower-cased headers."""

    method: str
    target: str
    path: str
    query: str
    headers: Mapping[str, str]


RouteHandler = Callable[[Request], Awaitable[ScrapeResponse]]


def plain(status: int, text: str = "", *extra: tuple[str, str]) -> ScrapeResponse:
    body = (text or f"{HTTPStatus(status).phrase}\n").encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        *extra,
    ]
    return ScrapeResponse(status, headers, body)


class _BadRequestError(ValueError):
    pass


def parse_head(head: bytes) -> Request:
    """Parse a request head (up to and including the blank line); ``ValueError`` if bad."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[0].isalpha():
        raise _BadRequestError(f"bad request line {lines[0][:80]!r}")
    method, target, _ = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise _BadRequestError("folded header lines are not accepted")
        name, sep, value = line.partition(":")
        key = name.lower()
        if not sep or not key or key != key.strip():
            raise _BadRequestError(f"bad header line {line[:80]!r}")
        value = value.strip(" \t")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if target.startswith(("http://", "https://")):
        split = urlsplit(target)
        path, query = split.path or "/", split.query
    else:
        path, _, query = target.partition("?")
    return Request(method, target, path, query, headers)


def request_method(data: bytes) -> str:
    """The method of a (possibly cut) request head, '' when unreadable."""
    method = data.split(b" ", 1)[0]
    return method.decode("latin-1") if method.isalpha() else ""


def has_body(headers: Mapping[str, str]) -> bool:
    """True when the request announces a body (``Content-Length`` > 0 or chunked)."""
    length = headers.get("content-length", "0").strip()
    return "transfer-encoding" in headers or (length != "0" and length != "")
