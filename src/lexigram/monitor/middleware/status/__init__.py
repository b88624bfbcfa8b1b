"""The live status page: health, SLOs, routes, traces, metrics and configuration of a
service, served from inside it.

``StatusPage`` is an ASGI app (mount it with :func:`mount_status_page`, or serve it on
the scrape server with :meth:`StatusPage.attach`); its sections are also JSON endpoints.
See ``docs/status-page.md``.
"""

from __future__ import annotations

from .history import HealthHistory
from .mount import mount_status_page
from .page import CSP, StatusPage, StatusResponse
from .routes import RouteStats

__all__ = [
    "CSP",
    "HealthHistory",
    "RouteStats",
    "StatusPage",
    "StatusResponse",
    "mount_status_page",
]
