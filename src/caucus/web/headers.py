"""Security headers on every answer of the app, so that uvicorn alone is covered as well as behind the nginx
of deploy/ (which sends the same ones, docs/operations.md "TLS and security headers").

A route that sets one of these headers itself keeps its own value (the chair app and HQ send their own,
narrower Content-Security-Policy). ``Strict-Transport-Security`` is sent only on an answer over HTTPS (as
uvicorn sees it, or as a trusted proxy says with ``X-Forwarded-Proto``): browsers ignore it over plain http.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if https and "strict-transport-security" not in headers:
                    headers["strict-transport-security"] = STRICT_TRANSPORT_SECURITY
            await send(message)

        await self.app(scope, receive, send_with_headers)
