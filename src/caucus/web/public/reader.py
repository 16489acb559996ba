"""Reading published snapshots (files only: never the ledger), with what HTTP caching needs.

A :class:`SnapshotReader` looks at the ``latest`` pointer on every call (one readlink: cheap, and it works
across workers and when another process releases), and caches what never changes: a release's manifest,
parsed (each file's sha256, its ETag, and the release directory holding its bytes: a release directory holds
only the files that release changed), for the last few releases read. After a go-live (or a rehearsal
reset), ``epoch.json`` names the epoch's first release: the rehearsal's releases are archived, never served,
and never part of a delta.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from caucus.publish.store import SnapshotStore

MAX_CACHED_DELTAS = 256
#: parsed manifests kept (tens of megabytes each at national size)
MAX_CACHED_INDEXES = 16


class NotPublished(LookupError):
    """No release yet, or no such file in the release."""


@dataclass(frozen=True)
class Published:
    """One file of one release, with its validators."""

    number: int
    path: str
    data: bytes
    etag: str
    last_modified: str
    modified_at: datetime


@dataclass(frozen=True)
class ReleaseIndex:
    """A release's manifest: ``files[path] = (sha256, the release whose directory holds the bytes)``,
    manifest.json included."""

    number: int
    created_at: datetime
    manifest_sha256: str
    files: Mapping[str, tuple[str, int]]


class SnapshotReader:
    def __init__(self, root: Path) -> None:
        self.store = SnapshotStore(root)
        self._indexes: OrderedDict[int, ReleaseIndex] = OrderedDict()
        self._deltas: dict[tuple[int, int], dict[str, Any]] = {}  # (since, latest): both immutable
        self._lock = threading.Lock()

    def latest(self) -> int | None:
        return self.store.latest()

    def first(self) -> int:
        """The first release of the current epoch (1 unless the election went live after a rehearsal)."""
        return self.store.first_release()

    def mode(self, default: str) -> str | None:
        """The election's mode as the snapshot directory records it (after a go-live or reset), else
        ``default``."""
        return str(self.store.epoch().get("mode", default))

    def index(self, number: int) -> ReleaseIndex:
        with self._lock:
            cached = self._indexes.get(number)
            if cached is not None:
                self._indexes.move_to_end(number)
                return cached
        try:
            parsed = self.store.index(number)
        except FileNotFoundError:
            raise NotPublished(f"release {number} is not published") from None
        index = ReleaseIndex(number, datetime.fromisoformat(parsed.created_at.replace("Z", "+00:00")),
                             parsed.manifest_sha256, parsed.files)
        with self._lock:
            self._indexes[number] = index
            while len(self._indexes) > MAX_CACHED_INDEXES:
                self._indexes.popitem(last=False)
        return index

    def current(self) -> int:
        number = self.latest()
        if number is None:
            raise NotPublished("no results have been released yet")
        return number

    def file(self, path: str, number: int | None = None) -> Published:
        """A file of release ``number`` (default: the latest)."""
        number = self.current() if number is None else number
        if number < self.first():
            raise NotPublished(f"release {number} was a rehearsal release, archived when the election went live "
                               "(or the rehearsal was reset)")
        index = self.index(number)
        entry = index.files.get(path)
        if entry is None:
            raise NotPublished(f"release {number} has no file {path}")
        digest, home = entry
        data = self.store.located(home, path).read_bytes()
        return Published(number, path, data, f'"{digest}"', format_datetime(index.created_at.astimezone(UTC),
                                                                            usegmt=True), index.created_at)

    def json(self, path: str, number: int | None = None) -> dict[str, Any]:
        return dict(json.loads(self.file(path, number).data))

    def delta(self, since: int) -> dict[str, Any]:
        """What changed from release ``since`` to the latest: each precinct's numbers in release ``since``
        (``before``) and now (``after``), and the reasons of the corrections in between."""
        latest = self.current()
        first = self.first()
        if since < 0 or since > latest:
            raise NotPublished(f"release {since} is not published (the latest is {latest})")
        if 0 < since < first:
            raise NotPublished(f"release {since} was a rehearsal release, archived when the election went live "
                               f"(or the rehearsal was reset); read the latest release in full, or the delta "
                               f"since 0")
        with self._lock:
            cached = self._deltas.get((since, latest))
        if cached is not None:
            return cached
        changes: dict[str, dict[str, Any]] = {}
        for number in range(max(since, first - 1) + 1, latest + 1):
            for change in self.json("feed/changes.json", number)["changes"]:
                seen = changes.get(change["code"])
                if seen is None:
                    changes[change["code"]] = dict(change)
                else:
                    seen["after"] = change["after"]
                    seen["reasons"] = [*seen["reasons"], *change["reasons"]]
        statewide = self.json("feed/statewide.json", latest)
        delta = {
            "feed": statewide["feed"], "election": statewide["election"], "since": since, "release": latest,
            "lastUpdated": statewide["lastUpdated"], "status": statewide["status"], "test": statewide["test"],
            "precinctsReporting": statewide["precinctsReporting"], "precinctsTotal": statewide["precinctsTotal"],
            "changes": [changes[code] for code in sorted(changes)],
        }
        with self._lock:
            if len(self._deltas) >= MAX_CACHED_DELTAS:
                self._deltas.clear()
            self._deltas[(since, latest)] = delta
        return delta
