"""What the public sees: the statewide document of the media feed (docs/feed.md), read over HTTP."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import httpx

STATEWIDE = "/feed/v1/statewide.json"


@dataclass(frozen=True)
class Published:
    release: int
    reporting: int
    total: int
    status: str
    test: bool
    last_updated: str
    #: candidate -> {"first", "final", "delegates", "sde" (Decimal)}
    candidates: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_statewide(doc: dict[str, Any]) -> Published:
    rows = {r["name"]: {"first": int(r["firstAlignment"]), "final": int(r["finalAlignment"]),
                        "delegates": int(r["countyDelegates"]), "sde": Decimal(str(r["sde"]))}
            for r in doc["candidates"]}
    return Published(int(doc["release"]), int(doc["precinctsReporting"]), int(doc["precinctsTotal"]),
                     str(doc["status"]), bool(doc["test"]), str(doc["lastUpdated"]), rows)


async def current_precincts(http: httpx.AsyncClient, timeout: float = 120.0) -> list[dict[str, Any]]:
    """``/feed/v1/precincts.json``'s precincts once it is the latest release's own: a release within the bulk
    interval carries the whole-state files of an earlier one (docs/feed.md), and continuous release brings
    them up to date within the interval and one round. After ``timeout`` seconds, whatever it holds then."""
    deadline = time.monotonic() + timeout
    while True:
        latest = await http.get("/feed/v1/latest.json")
        latest.raise_for_status()
        response = await http.get("/feed/v1/precincts.json")
        response.raise_for_status()
        doc = response.json()
        if doc["release"] >= latest.json()["release"] or time.monotonic() > deadline:
            return list(doc["precincts"])
        await asyncio.sleep(0.25)


async def published_codes(http: httpx.AsyncClient, timeout: float = 120.0) -> set[str]:
    """The codes of the precincts the latest release publishes (waiting for the whole-state files, see
    :func:`current_precincts`)."""
    return {p["code"] for p in await current_precincts(http, timeout) if p.get("reported")}


class Feed:
    """The statewide document, polled through the rehearsal (the live view, the wait for publication): one
    kept-alive connection, conditional requests on the feed's ETag, parsed only when a release changed it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session: aiohttp.ClientSession | None = None
        self.etag: str | None = None
        self.last: Published | None = None

    async def statewide(self) -> Published | None:
        """The latest release's totals; None before the first release or while the server does not answer."""
        if self.session is None:
            self.session = aiohttp.ClientSession(self.base_url, timeout=aiohttp.ClientTimeout(total=5))
        headers = {"If-None-Match": self.etag} if self.etag and self.last is not None else {}
        try:
            async with self.session.get(STATEWIDE, headers=headers) as response:
                if response.status == 304:
                    return self.last
                if response.status != 200:
                    return None
                self.last = parse_statewide(await response.json(content_type=None))
                self.etag = response.headers.get("ETag")
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
            return None
        return self.last

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
