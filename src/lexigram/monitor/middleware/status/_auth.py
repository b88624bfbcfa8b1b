"""The status page's token rule: the bearer-token rule of ``/metrics`` and ``/health``.

One function, so the page follows whatever rule the library's other protected endpoints
follow: a request is authorised when it carries exactly one ``Authorization`` header
whose value is ``Bearer`` (any letter case), spaces, then the token; the token is
compared as bytes in constant time (:func:`hmac.compare_digest`). A refused request gets
401 with ``WWW-Authenticate: Bearer realm="status"`` (plus ``error="invalid_token"``
when credentials were sent, RFC 6750 §3).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

__all__ = ["REALM", "refusal"]

REALM = "status"


def refusal(authorization: Sequence[bytes], token: bytes | None) -> str | None:
    """None when the request may see the page, else the ``WWW-Authenticate`` value.

    *authorization* holds every ``Authorization`` header value of the request (raw
    bytes); *token* is the UTF-8 encoded token (None: no token required).
    """
    if token is None:
        return None
    if len(authorization) == 1:
        scheme, space, rest = authorization[0].strip(b" \t").partition(b" ")
        credentials = rest.lstrip(b" ")
        if (
            space
            and scheme.lower() == b"bearer"
            and credentials
            and hmac.compare_digest(credentials, token)
        ):
            return None
    if not authorization:
        return f'Bearer realm="{REALM}"'
    return f'Bearer realm="{REALM}", error="invalid_token"'
