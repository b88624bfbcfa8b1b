"""The bearer-token rule of every protected endpoint (``/metrics``, ``/health*``).

A request is authorised when it carries exactly one ``Authorization`` header whose value,
without the spaces and tabs around it, is the scheme word ``Bearer`` in any letter case,
one or more spaces (RFC 9110 ``credentials = auth-scheme 1*SP token68``), then the
token. The token is compared as bytes: the header's raw bytes against the UTF-8 bytes of
the configured token, with :func:`hmac.compare_digest` (constant time for equal
lengths), so a non-ASCII token matches on every path exactly when the client sends it
UTF-8 encoded. A refused request gets 401 with the ``WWW-Authenticate`` challenge of
:meth:`BearerToken.refusal` (``error="invalid_token"`` when credentials were sent,
RFC 6750 §3).

Callers that hold header values as ``str`` decoded as Latin-1 (ASGI apps joining
headers, :mod:`http.server`) turn them back into their bytes with :func:`header_bytes`.
Standard library only.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

__all__ = ["BearerToken", "header_bytes"]

_OWS = b" \t"


def header_bytes(value: str) -> bytes:
    """The raw bytes of a header *value* held as ``str``.

    A value decoded as Latin-1 (what ASGI servers' bytes become with ``decode("latin-1")``
    and what :mod:`http.server` hands out) is encoded back as Latin-1; a value holding a
    character beyond U+00FF was not decoded that way and is taken as text, as UTF-8.
    """
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


class BearerToken:
    """A configured bearer token and the realm named in its challenge."""

    __slots__ = ("_expected", "_realm")

    def __init__(self, token: str, realm: str) -> None:
        if not isinstance(token, str) or not token:
            raise ValueError("a bearer token must be a non-empty string")
        self._expected = token.encode("utf-8")
        self._realm = realm

    def matches(self, authorization: Sequence[bytes]) -> bool:
        """True when *authorization* (every ``Authorization`` header value of the
        request, raw bytes) is one header carrying this token."""
        if len(authorization) != 1:
            return False
        scheme, space, rest = authorization[0].strip(_OWS).partition(b" ")
        if not space or scheme.lower() != b"bearer":
            return False
        credentials = rest.lstrip(b" ")
        return bool(credentials) and hmac.compare_digest(credentials, self._expected)

    def refusal(self, authorization: Sequence[bytes]) -> str | None:
        """None when the request is authorised, else the ``WWW-Authenticate`` value of
        the 401 answer."""
        if self.matches(authorization):
            return None
        if not authorization:
            return f'Bearer realm="{self._realm}"'
        return f'Bearer realm="{self._realm}", error="invalid_token"'
