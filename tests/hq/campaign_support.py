"""Helpers of the campaign tests: campaign accounts, real 2020 numbers read independently of our reader (the
csv module), and the party's ledger seeded with the certified numbers through the real ReportService."""

from __future__ import annotations

import csv
import functools
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.rehearse.chairs import ChairScript, scripts_from_results
from caucus.service import ReportService, StageReport
from caucus.service.staff import StaffService
from tests.hq.support import FAST_HASHER, PASSWORD

DATA = Path(__file__).resolve().parents[2] / "data" / "iowa2020"
#: the 6 February 2020 release (the same file as ../shared/data/iowa2020's)
FEB6 = DATA / "results-release-2020-02-06.csv"
CERTIFIED = certified_results()
Values = dict[tuple[str, str], Decimal]  # (candidate, measure) -> value


def add_campaign(engine: Engine, username: str, group: str) -> None:
    plan = load_plan("iowa-2020")
    StaffService(engine, hasher=FAST_HASHER, groups=plan.candidates).add_user(
        username, username.title(), "campaign", PASSWORD, actor="test", campaign=group)


def raw(path: Path, counties: Iterable[str]) -> dict[tuple[str, str], Values]:
    """(county, precinct as written) -> values, straight from the file (the csv module, nothing of ours)."""
    wanted = set(counties)
    out: dict[tuple[str, str], Values] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if row["county"] in wanted and row["precinct"] not in ("Total", "Total_recalc"):
                value = Decimal(row["value"])
                if row["measure"] == "sde":  # the scraped files carry float noise: SDEs are published at 4 decimals
                    value = value.quantize(Decimal("0.0001"))
                out.setdefault((row["county"], row["precinct"]), {})[(row["candidate"], row["measure"])] = value
    return out


def lines_of(path: Path, counties: Iterable[str]) -> bytes:
    """The file's header and its rows of ``counties``, as bytes (what a campaign uploads)."""
    wanted = set(counties)
    text = path.read_text(encoding="utf-8-sig").splitlines()
    kept = [text[0], *(line for line in text[1:] if next(csv.reader([line]))[0] in wanted)]
    return ("\n".join(kept) + "\n").encode()


@functools.cache
def scripts(path: Path, counties: tuple[str, ...]) -> dict[str, ChairScript]:
    """The chair scripts of ``counties``' precincts in ``path`` whose numbers pass the checks."""
    with tempfile.TemporaryDirectory() as directory:
        subset = Path(directory) / path.name
        subset.write_bytes(lines_of(path, counties))
        return {s.precinct: s for s in scripts_from_results(subset)}


def seed(reports: ReportService, counties: tuple[str, ...], path: Path = CERTIFIED, *, prefix: str = "seed"
         ) -> list[str]:
    """Report every stage of the numbers in ``path`` of each precinct of ``counties`` (those whose numbers pass
    the checks) through the ReportService, as the chairs would; returns the codes seeded."""
    known = scripts(path, counties)

    def report(code: str) -> str:
        for i, stage in enumerate(known[code].stages):
            body = dict(stage)
            name = body.pop("stage")
            reports.submit(code, StageReport(name, body), f"{prefix}-{code}-{i}", channel="app",  # type: ignore[arg-type]
                           actor=f"chair:{code}")
        return code

    # precincts in parallel, as on the night (the single Writer commits what is queued together); each
    # precinct's stages in order
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(report, sorted(known)))
