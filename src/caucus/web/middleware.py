"""The app's edge: one pure-ASGI middleware (:class:`EdgeMiddleware`) for what every request needs before the app
sees it, in this order (it was four middlewares; one costs less per request: issue 15):

1. **The client's address** (:mod:`caucus.web.clients`): ``scope["client"]`` becomes the real client, and for a
   trusted proxy ``scope["scheme"]`` follows ``X-Forwarded-Proto`` (HTTP and WebSocket).
2. **Security headers** (:mod:`caucus.web.headers`) on every HTTP answer, the refusals below included.
3. **The request body limit**: a body over ``max_bytes`` is refused with 413 before the app sees it; ``larger``
   raises the limit for the exact paths it names (the chair app's worksheet photo upload). A declared
   ``Content-Length`` over the limit is refused without reading the body; otherwise the body is read (at most
   ``max_bytes`` + 1 bytes are kept) and handed to the app unchanged.
4. **Times in messages** in the election's plan time zone: :data:`caucus.service.errors.DISPLAY_SETTINGS` is set
   for each HTTP request (a throttle's end, a session's expiry, an earlier receipt).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caucus.service.errors import DISPLAY_SETTINGS
from caucus.web.clients import TrustedProxies
from caucus.web.errors import BodyTooLarge, InvalidRequest, render_error
from caucus.web.headers import HEADERS, STRICT_TRANSPORT_SECURITY
from caucus.web.services import STATE_KEY

_HEADERS = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in HEADERS.items()]
_HSTS = (b"strict-transport-security", STRICT_TRANSPORT_SECURITY.encode("latin-1"))


def _kib(size: int) -> str:
    return f"{size / 1024:g} KiB"


def _too_large(size: int | None, limit: int) -> BodyTooLarge:
    told = f"is {size} bytes" if size is not None else "is larger than that"
    return BodyTooLarge(f"the request body {told}; the limit is {limit} bytes ({_kib(limit)})")


@functools.lru_cache(maxsize=4096)
def _client(proxies: TrustedProxies, peer: str | None, forwarded_for: str | None) -> tuple[str, bool]:
    """(the client's address, whether the peer is a trusted proxy): the same few peers and headers come again
    and again, and parsing addresses is not free."""
    return proxies.client_of(peer, forwarded_for), proxies.trusts_peer(peer)


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies, max_bytes: int,
                 larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.proxies = proxies
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        declared = forwarded_for = forwarded_proto = None
        for name, value in scope["headers"]:  # (the first of each, as starlette's Headers.get)
            if name == b"content-length":
                declared = value.decode("latin-1") if declared is None else declared
            elif name == b"x-forwarded-for":
                forwarded_for = value.decode("latin-1") if forwarded_for is None else forwarded_for
            elif name == b"x-forwarded-proto":
                forwarded_proto = value.decode("latin-1") if forwarded_proto is None else forwarded_proto
        # 1. the client's address
        peer, port = scope.get("client") or (None, 0)
        client, trusted = _client(self.proxies, peer, forwarded_for)
        scope = dict(scope)
        scope["client"] = (client, port)
        if trusted:
            proto = (forwarded_proto or "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto if kind == "http" else {"http": "ws", "https": "wss"}[proto]
        if kind != "http":
            await self.app(scope, receive, send)
            return
        # 2. security headers on every answer (a route that sets one keeps its own)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = message["headers"] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in raw}
                raw.extend(pair for pair in _HEADERS if pair[0] not in present)
                if https and _HSTS[0] not in present:
                    raw.append(_HSTS)
            await send(message)

        # 3. the body limit
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        if declared is not None:
            if not declared.isdigit():
                await render_error(InvalidRequest(f"Content-Length {declared!r} is not a number of bytes"))(
                    scope, receive, send_with_headers)
                return
            if int(declared) > limit:
                await render_error(_too_large(int(declared), limit))(scope, receive, send_with_headers)
                return
        chunks: list[bytes] = []
        size = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # a disconnect: pass it on
                break
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await render_error(_too_large(None, limit))(scope, receive, send_with_headers)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        buffered: Message = first or {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return buffered
            return await receive()

        # 4. times in messages in the plan's zone
        services = (scope.get("state") or {}).get(STATE_KEY)
        if services is None:
            await self.app(scope, replay, send_with_headers)
            return
        token = DISPLAY_SETTINGS.set(services.context.plan.settings)
        try:
            await self.app(scope, replay, send_with_headers)
        finally:
            DISPLAY_SETTINGS.reset(token)
