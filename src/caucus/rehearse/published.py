"""What the public sees: the statewide document of the media feed (docs/feed.md), read over HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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


async def read_published(http: httpx.AsyncClient) -> Published:
    """The latest release's statewide totals; raises httpx.HTTPStatusError before the first release."""
    response = await http.get(STATEWIDE)
    response.raise_for_status()
    return parse_statewide(response.json())
