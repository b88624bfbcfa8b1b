"""Mounting the status page in front of an ASGI app."""

from __future__ import annotations

from ...protocols import ASGIApp, Receive, Scope, Send
from .page import StatusPage

__all__ = ["mount_status_page"]


class _Mounted:
    """Sends HTTP requests under *prefix* to the page, everything else to *app*."""

    __slots__ = ("app", "page", "prefix")

    def __init__(self, app: ASGIApp, page: StatusPage, prefix: str) -> None:
        self.app = app
        self.page = page
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope.get("path") or "/"
            root: str = scope.get("root_path") or ""
            relative = path[len(root) :] if root and path.startswith(root) else path
            prefix = self.prefix
            if relative == prefix or relative.startswith(prefix + "/"):
                await self.page({**scope, "root_path": root + prefix}, receive, send)
                return
        await self.app(scope, receive, send)


def mount_status_page(app: ASGIApp, page: StatusPage, path: str | None = None) -> ASGIApp:
    """*app* with *page* answering every request under *path* (default ``page.path``,
    ``/-/monitor``); the rest, lifespan and websockets included, goes to *app*.

    Mount it outermost, so the page's own requests are neither traced nor counted in
    the request metrics.
    """
    prefix = (path if path is not None else page.path).rstrip("/")
    if not prefix.startswith("/"):
        raise ValueError(f"status page path {path!r} must start with '/' and not be '/'")
    return _Mounted(app, page, prefix)
