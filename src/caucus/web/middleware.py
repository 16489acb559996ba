"""Request body limit: a body over ``max_bytes`` is refused with 413 before the app sees it.

A declared ``Content-Length`` over the limit is refused without reading the body; otherwise the body is
read (at most ``max_bytes`` + 1 bytes are kept) and handed to the app unchanged.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caucus.web.errors import BodyTooLarge, InvalidRequest, render_error


def _kib(size: int) -> str:
    return f"{size / 1024:g} KiB"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, size: int | None) -> BodyTooLarge:
        told = f"is {size} bytes" if size is not None else "is larger than that"
        return BodyTooLarge(f"the request body {told}; the limit is {self.max_bytes} bytes ({_kib(self.max_bytes)})")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await render_error(InvalidRequest(f"Content-Length {declared!r} is not a number of bytes"))(
                    scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await render_error(self._too_large(int(declared)))(scope, receive, send)
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
            if size > self.max_bytes:
                await render_error(self._too_large(None))(scope, receive, send)
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
