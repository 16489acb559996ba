"""The live-update stream ``/events``: server-sent events naming the latest release, bounded.

- One watcher per process reads the ``latest`` pointer (every ``POLL_SECONDS`` while any stream is open) and
  wakes every open stream when it moves: an idle stream costs no work, however many are open.
- A stream ends after ``STREAM_SECONDS`` (the browser reconnects at once), so none outlives a restart.
- Each process holds at most ``events_per_client`` streams per client address and ``events_max`` in all
  (settings); one more is refused with 429 and the JSON error shape. The page's script then polls
  ``/feed/v1/latest.json`` instead (static/live.js). nginx (deploy/nginx) caps streams per address too.
- ``Last-Event-ID`` is believed only as 1-9 ASCII digits; anything else is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from caucus.web.access import access
from caucus.web.errors import error_response
from caucus.web.public.reader import SnapshotReader
from caucus.web.services import services_of

#: an event stream ends after this long (the browser reconnects at once), so no connection outlives a restart
STREAM_SECONDS = 15.0
POLL_SECONDS = 0.25
#: how long a refused client should wait before trying again (seconds)
RETRY_AFTER = 30
_EVENT_ID = re.compile(r"[0-9]{1,9}")

router = APIRouter(include_in_schema=False)  # documented in docs/feed.md


def last_event_id(value: str | None) -> int | None:
    """The release a reconnecting browser last saw, from its ``Last-Event-ID`` header: 1-9 ASCII digits, or
    None (absent or anything else: ``²``, 5,000 digits, ``-1``, ``1e3`` are ignored, never an error)."""
    if value is None or not _EVENT_ID.fullmatch(value):
        return None
    return int(value)


class ReleaseWatch:
    """The latest release number, read by one task per process for every open stream."""

    def __init__(self, reader: SnapshotReader, poll: float = POLL_SECONDS) -> None:
        self.reader = reader
        self.poll = poll
        self.number: int | None = None
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None
        self._moved = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _watch(self) -> None:
        try:
            while self._listeners:
                await asyncio.sleep(self.poll)
                number = self.reader.latest()
                if number != self.number:
                    self.number = number
                    moved, self._moved = self._moved, asyncio.Event()
                    moved.set()
        finally:
            self._task = None

    async def releases(self, known: int | None, seconds: float) -> AsyncIterator[int]:
        """Each release number different from ``known`` as it appears (the current one first), for
        ``seconds``."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests run several): start afresh
            self._loop, self._task, self._listeners, self._moved = loop, None, 0, asyncio.Event()
        self._listeners += 1
        try:
            if self._task is None:
                self.number = self.reader.latest()
                self._task = loop.create_task(self._watch())
            deadline = loop.time() + seconds
            while True:
                number = self.number
                if number is not None and number != known:
                    known = number
                    yield number
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                moved = self._moved
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(moved.wait(), remaining)
        finally:
            self._listeners -= 1


class StreamLimits:
    """Open streams of one process, by client address."""

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self.open: Counter[str] = Counter()

    def refusal(self, client: str) -> str | None:
        """Why a new stream from ``client`` is refused, or None (and the stream is counted)."""
        if self.open[client] >= self.per_client:
            return (f"this address already has {self.open[client]} live-update streams open; the limit is "
                    f"{self.per_client} per address (CAUCUS_EVENTS_PER_CLIENT): close one, or read "
                    "/feed/v1/latest.json instead")
        if self.open.total() >= self.total:
            return (f"the server has {self.open.total()} live-update streams open, its limit "
                    "(CAUCUS_EVENTS_MAX); read /feed/v1/latest.json instead")
        self.open[client] += 1
        return None

    def close(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]


class _CountedStream(StreamingResponse):
    """A stream that calls ``on_close`` once it ends, however it ends (also when the client leaves before
    the first byte, where the generator's own ``finally`` would never run)."""

    def __init__(self, content: AsyncIterator[str], on_close: Callable[[], None], **kwargs: object) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


def _state(request: Request) -> tuple[ReleaseWatch, StreamLimits]:
    state = request.app.state
    found = getattr(state, "caucus_streams", None)
    if found is None:
        services = services_of(request)
        settings = services.settings
        found = (ReleaseWatch(services.snapshots), StreamLimits(settings.events_per_client, settings.events_max))
        state.caucus_streams = found
    return found


async def _events(watch: ReleaseWatch, known: int | None, seconds: float) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    async for number in watch.releases(known, seconds):
        yield f"id: {number}\nevent: release\ndata: {json.dumps({'release': number})}\n\n"


@router.get("/events", dependencies=[access("public")])
async def events(request: Request, release: int | None = None) -> Response:
    """Server-sent events: ``event: release`` with ``{"release": n}`` whenever the latest release is not the
    one the page shows (``?release=`` or the Last-Event-ID header). A client that does not ask for
    ``text/event-stream`` gets the current state as one event and the end of the stream. 429 when the
    address (or the server) has too many streams open."""
    known = release if release else last_event_id(request.headers.get("last-event-id"))
    seconds = STREAM_SECONDS if "text/event-stream" in request.headers.get("accept", "") else 0.0
    watch, limits = _state(request)
    client = request.client.host if request.client else "unknown"
    refused = limits.refusal(client)
    if refused is not None:
        return error_response(429, "too-many-streams", refused, headers={"Retry-After": str(RETRY_AFTER)})
    return _CountedStream(_events(watch, known, seconds), lambda: limits.close(client),
                          media_type="text/event-stream",
                          headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
