"""Security headers on every answer of the app (sent by :class:`caucus.web.middleware.EdgeMiddleware`), so that
uvicorn alone is covered as well as behind the nginx of deploy/ (which sends the same ones, docs/operations.md
"TLS and security headers").

A route that sets one of these headers itself keeps its own value (the chair app and HQ send their own,
narrower Content-Security-Policy). ``Strict-Transport-Security`` is sent only on an answer over HTTPS (as
uvicorn sees it, or as a trusted proxy says with ``X-Forwarded-Proto``): browsers ignore it over plain http.
"""

from __future__ import annotations

#: no inline script or style, nothing from another origin, never framed
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
#: two years (the value nginx sends too; see caucus/deploy/nginx/caucus.conf)
STRICT_TRANSPORT_SECURITY = "max-age=63072000"
