"""Helpers of the publish tests: real 2020 precincts reported through the real ReportService."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from caucus.packaged import certified_results
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
