"""Request body limit: a body over ``max_bytes`` is refused with 413 before the app sees it.

``larger`` raises the limit for the exact paths it names (the chair app's worksheet photo upload).

A declared ``Content-Length`` over the limit is refused without reading the body; otherwise the body is
read (at most ``max_bytes`` + 1 bytes are kept) and handed to the app unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caucus.web.errors import BodyTooLarge, InvalidRequest, render_error


def _kib(size: int) -> str:
    return f"{size / 1024:g} KiB"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    @staticmethod
    def _too_large(size: int | None, limit: int) -> BodyTooLarge:
        told = f"is {size} bytes" if size is not None else "is larger than that"
        return BodyTooLarge(f"the request body {told}; the limit is {limit} bytes ({_kib(limit)})")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await render_error(InvalidRequest(f"Content-Length {declared!r} is not a number of bytes"))(
                    scope, receive, send)
                return
            if int(declared) > limit:
                await render_error(self._too_large(int(declared), limit))(scope, receive, send)
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
                await render_error(self._too_large(None, limit))(scope, receive, send)
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

        await self.app(scope, replay, send)


class LocalTimeMiddleware:
    """Messages that name a time (a throttle's end, a session's expiry, an earlier receipt) say it in the
    election's plan time zone: sets :data:`caucus.service.errors.DISPLAY_SETTINGS` for each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from caucus.service.errors import DISPLAY_SETTINGS  # noqa: PLC0415
        from caucus.web.services import STATE_KEY  # noqa: PLC0415

        services = (scope.get("state") or {}).get(STATE_KEY) if scope["type"] == "http" else None
        if services is None:
            await self.app(scope, receive, send)
            return
        token = DISPLAY_SETTINGS.set(services.context.plan.settings)
        try:
            await self.app(scope, receive, send)
        finally:
            DISPLAY_SETTINGS.reset(token)
