"""Helpers of the publish tests: real 2020 precincts reported through the real ReportService."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caucus.packaged import certified_results
from caucus.publish.model import json_bytes
from caucus.rehearse.chairs import ChairScript, scripts_from_results
from caucus.service import ReportService, StageReport

RESULTS = certified_results()
SLUG = "ia-2020-publish"
#: 7 pm Central on caucus night
START = datetime(2020, 2, 4, 1, 0, tzinfo=UTC)

#: the fixed set: every Poweshiek precinct, the Adair and Adams precincts whose published numbers pass the
#: checks, and the CD4 satellite sites that do (three of its eleven do not, so the pool stays incomplete)
COUNTIES = ("Poweshiek", "Adair", "Adams", "CD4 Satellite")
GRINNELL = "Poweshiek/7"  # D = 17; RULES.md §13.3 R1


@functools.cache
def all_scripts() -> dict[str, ChairScript]:
    return {s.precinct: s for s in scripts_from_results(RESULTS)}


def scripts(counties: Iterable[str] = COUNTIES) -> list[ChairScript]:
    wanted = tuple(counties)
    return sorted((s for s in all_scripts().values() if s.precinct.split("/")[0] in wanted),
                  key=lambda s: s.precinct)


class Clock:
    """A clock moved by hand (the writer thread reads it too; datetimes are immutable, so no lock)."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def report(service: ReportService, script: ChairScript, clock: Clock | None = None, *, channel: str = "app",
           prefix: str = "k") -> list[int]:
    """Submit every stage of ``script``; returns the ledger seqs."""
    seqs = []
    for i, stage in enumerate(script.stages):
        body: dict[str, Any] = dict(stage)
        name = body.pop("stage")
        if clock is not None:
            clock.advance(seconds=7)
        result = service.submit(script.precinct, StageReport(name, body), f"{prefix}-{script.precinct}-{i}",
                                channel=channel, actor=f"chair:{script.precinct}")  # type: ignore[arg-type]
        seqs.append(result.receipt.seq)
    return seqs


def manifest_entries(read: Callable[[str], bytes]) -> list[dict[str, Any]]:
    """Every entry of a release's manifest, read by ``read(path)``: the entries manifest.json lists and, for a
    manifest in parts (``partDigits``, docs/feed.md), the entries each part lists (parsed here with json
    alone, as a reader of the feed would)."""
    manifest = json.loads(read("manifest.json"))
    entries = list(manifest["files"])
    if "partDigits" in manifest:
        for part in manifest["files"]:
            entries.extend(json.loads(read(part["path"]))["files"])
    return entries


def rehash_release(directory: Path) -> None:
    """Rewrite a release directory's manifest so that every entry matches the bytes the directory holds (its
    parts first, then manifest.json), as someone who replaced files and covered their tracks would."""
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_bytes())

    def rehash(items: list[dict[str, Any]]) -> None:
        for item in items:
            data = (directory / item["path"]).read_bytes()
            item["sha256"], item["bytes"] = hashlib.sha256(data).hexdigest(), len(data)

    if "partDigits" in manifest:
        for listed in manifest["files"]:
            part = json.loads((directory / listed["path"]).read_bytes())
            rehash(part["files"])
            (directory / listed["path"]).write_bytes(json_bytes(part))
    rehash(manifest["files"])
    manifest_path.write_bytes(json_bytes(manifest))
