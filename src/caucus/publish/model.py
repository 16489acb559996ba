"""What a snapshot is built from: a release's metadata and its released precinct records (plain JSON data).

Pure: no I/O. A precinct record is the dict :func:`caucus.service.release_records.precinct_record` makes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Record = Mapping[str, Any]

FEED_VERSION = "caucus-feed/1"
_SLUG = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1 << 20)
def slug(text: str) -> str:
    """A file- and URL-safe name: ``"CD1 Satellite/1140"`` -> ``cd1-satellite-1140``."""
    return _SLUG.sub("-", text.lower()).strip("-")


def iso(moment: datetime) -> str:
    """``2020-02-04T01:00:00Z``: UTC, whole seconds (the NIST DateTimeWithZone form)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: release timestamps must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_bytes(obj: Any, *, compact: bool = False) -> bytes:
    """The published JSON text: one key per line (diffable; ``compact``: no spaces), keys in the order built,
    UTF-8, final newline."""
    if compact:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    else:
        text = json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode()


@dataclass(frozen=True)
class ReleaseMeta:
    """A release's own facts, as published."""

    election: str
    title: str
    number: int
    created_at: datetime
    status: str  # unofficial | certified
    test: bool
    zero: bool
    note: str = ""
    certified_act: str | None = None
    previous: int | None = None
    #: the election day (ISO date) for the NIST export; default: the release's own date
    election_date: str | None = None
    #: a certified release made after an earlier certified one (of the same epoch): "certified, corrected"
    correction_of: int | None = None
    #: the ledger head the release was built from: (seq, content hash) of the election's newest entry when
    #: the release was made (0 and 64 zeros before any entry); None for a release made before heads were
    #: published (docs/ledger-format.md)
    ledger_head: tuple[int, str] | None = None

    def head_json(self) -> dict[str, Any] | None:
        """``{"seq", "hash"}`` as published in manifest.json and release.json (None: not published)."""
        if self.ledger_head is None:
            return None
        return {"seq": self.ledger_head[0], "hash": self.ledger_head[1]}

    def header(self, reporting: int, total: int) -> dict[str, Any]:
        """The fields every feed document starts with."""
        percent = f"{(100 * reporting / total):.2f}" if total else "0.00"
        return {
            "feed": FEED_VERSION,
            "election": self.election,
            "title": self.title,
            "release": self.number,
            "status": self.status,
            "test": self.test,
            "zero": self.zero,
            "lastUpdated": iso(self.created_at),
            "precinctsReporting": reporting,
            "precinctsTotal": total,
            "precinctsReportingPercent": percent,
            "note": self.note,
            "certifiedAct": self.certified_act,
            # only on a correction of certified results (docs/feed.md): the certified release it corrects
            **({"correctionOf": self.correction_of} if self.correction_of is not None else {}),
        }
