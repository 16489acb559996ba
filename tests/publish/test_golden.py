"""Golden files: the feed documents and the NIST SP 1500-100 v2 export of a fixed night, byte for byte.

The night: every Poweshiek precinct, the Adair and Adams precincts whose certified 2020 numbers pass the
checks and eight CD4 satellite sites, reported stage by stage through the real ReportService with a fixed
clock, released; then Grinnell's first alignment corrected (a recanvass) and released again. Expected files
live in tests/publish/golden/ under version control. After a deliberate format change,
CAUCUS_UPDATE_GOLDEN=1 rewrites them and then FAILS the run, so a regeneration can never pass: review the
diff (``git diff tests/publish/golden``) and run again without it. The goldens themselves are checked
against the party's certified results file, read here with the standard library's csv module (first and
final alignment, SDEs, per precinct and in total), so a golden regenerated from wrong numbers fails too;
the NIST export is checked against its schema.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from caucus.plans import load_plan
from caucus.results_csv import read_results
from caucus.service import StageReport
from tests.publish.conftest import Night
from tests.publish.support import GRINNELL, RESULTS, all_scripts, report, scripts

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(__file__).resolve().parents[2] / "src" / "caucus" / "publish" / "schema" / \
    "NIST_V2_election_results_reporting.json"
UPDATE = os.environ.get("CAUCUS_UPDATE_GOLDEN") == "1"
FILES = {
    1: ("release.json", "feed/statewide.json", "feed/statewide.csv", "feed/county/poweshiek.json",
        "feed/county/poweshiek.csv", "feed/county/cd4-satellite.json", "feed/precincts.csv",
        "feed/precinct/poweshiek-7.json", "feed/changes.json", "nist/election-report.json"),
    2: ("feed/statewide.json", "feed/changes.json", "feed/precinct/poweshiek-7.json", "manifest.json",
        "manifest/0f.json"),  # the part listing poweshiek-7.json (docs/feed.md)
}


def _night(night: Night) -> None:
    for script in scripts():
        report(night.reports, script, night.clock)
    night.clock.advance(minutes=5)
    night.releases.release(actor="director:dee", note="first returns")
    night.clock.advance(minutes=30)
    grinnell = json.loads(night.read(1, "feed/precinct/poweshiek-7.json"))
    first_seq = next(s["seq"] for s in grinnell["stages"] if s["stage"] == "first")
    counts = dict(all_scripts()[GRINNELL].stages[1]["counts"])
    counts["Other"] -= 1
    counts["Bennet"] += 1
    night.reports.submit(GRINNELL, StageReport("first", {"counts": counts}, supersedes_seq=first_seq,
                                               reason="R-1: recanvass found a Bennet card counted as Other"),
                         "recanvass-1", channel="app", actor="chair:Poweshiek/7")
    night.clock.advance(minutes=2)
    night.releases.release(actor="director:dee")


def test_feed_and_nist_files_match_the_goldens(night: Night) -> None:
    _night(night)
    mismatched = []
    for number, paths in FILES.items():
        for path in paths:
            produced = night.read(number, path)
            golden = GOLDEN / f"release-{number}" / path
            if not golden.is_file() or golden.read_bytes() != produced:
                mismatched.append(f"release {number}: {path}")
                if UPDATE:
                    golden.parent.mkdir(parents=True, exist_ok=True)
                    golden.write_bytes(produced)
    if UPDATE:
        pytest.fail(f"CAUCUS_UPDATE_GOLDEN=1 rewrote {len(mismatched)} golden file(s) {mismatched}: review "
                    "`git diff tests/publish/golden`, then run again without CAUCUS_UPDATE_GOLDEN")
    assert not mismatched, f"differs from tests/publish/golden: {mismatched}"


def _certified() -> dict[tuple[str, str], dict[str, dict[str, Decimal]]]:
    """The certified file as the party published it, by (county, precinct name): candidate -> measure ->
    value (``expression_1`` first alignment, ``expression_2`` final, ``sde``)."""
    out: dict[tuple[str, str], dict[str, dict[str, Decimal]]] = {}
    with RESULTS.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            unit = out.setdefault((row["county"].strip(), row["precinct"]), {})
            unit.setdefault(row["candidate"], {})[row["measure"]] = Decimal(row["value"])
    return out


def _golden_csv(path: str) -> list[dict[str, str]]:
    with (GOLDEN / path).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _candidates(path: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads((GOLDEN / path).read_bytes())["candidates"]}


def test_the_goldens_hold_the_certified_numbers() -> None:
    """The golden files against the certified file, not against this program: every released precinct's
    first and final alignment and SDEs (4 places, IA-4.2) are the party's, and the statewide totals of both
    releases are their sums (release 2: Grinnell's recanvass moves one first-alignment card from Other to
    Bennet). Satellite sites show no SDEs: their pool is incomplete (IA-5.3)."""
    certified = _certified()
    rows = _golden_csv("release-1/feed/precincts.csv")
    units = {(r["county"], r["precinctName"]) for r in rows}
    codes = {r["precinct"] for r in rows}
    by_county = Counter(county for county, _ in units)
    assert by_county == {"Poweshiek": 10, "Adair": 3, "Adams": 4, "CD4 Satellite": 8}
    poweshiek = {name for county, name in certified if county == "Poweshiek"} - {"Total", "Total_recalc"}
    assert {name for county, name in units if county == "Poweshiek"} == poweshiek  # every one of them
    assert len(rows) == 25 * 14
    sums: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        party = certified[r["county"], r["precinctName"]][r["candidate"]]
        assert (int(r["firstAlignment"]), int(r["finalAlignment"])) == (party["expression_1"], party["expression_2"]), r
        total = sums.setdefault(r["candidate"], {"first": Decimal(0), "final": Decimal(0), "sde": Decimal(0),
                                                 "delegates": Decimal(0)})
        total["first"] += party["expression_1"]
        total["final"] += party["expression_2"]
        total["delegates"] += int(r["countyDelegates"])
        if r["county"] == "CD4 Satellite":
            assert r["sde"] == "", r
        else:
            sde = party["sde"].quantize(Decimal("0.0001"))
            assert Decimal(r["sde"]) == sde, r
            total["sde"] += sde
    grinnell = certified["Poweshiek", "2ND WARD - 07.07GR"]
    assert GRINNELL in codes and (grinnell["Other"]["expression_1"], grinnell["Bennet"]["expression_1"]) == (3, 1)
    recanvass = {"Other": -1, "Bennet": +1}
    for number, shift in ((1, {}), (2, recanvass)):
        shown = _candidates(f"release-{number}/feed/statewide.json")
        assert set(shown) == set(sums)
        for name, total in sums.items():
            c = shown[name]
            assert c["firstAlignment"] == total["first"] + shift.get(name, 0), (number, name)
            assert c["finalAlignment"] == total["final"], (number, name)
            assert Decimal(c["sde"]) == total["sde"], (number, name)
            assert c["countyDelegates"] == total["delegates"], (number, name)
    flat = {r["candidate"]: r for r in _golden_csv("release-1/feed/statewide.csv")}
    assert {n: (int(r["firstAlignment"]), int(r["finalAlignment"]), Decimal(r["sde"])) for n, r in flat.items()} \
        == {n: (t["first"], t["final"], t["sde"]) for n, t in sums.items()}
    precinct = json.loads((GOLDEN / "release-2" / "feed" / "precinct" / "poweshiek-7.json").read_bytes())
    assert precinct["first"] == {g: int(v["expression_1"]) + recanvass.get(g, 0) for g, v in grinnell.items()
                                 if v["expression_1"] + recanvass.get(g, 0)}
    assert precinct["final"] == {g: int(v["expression_2"]) for g, v in grinnell.items() if v["expression_2"]}


def test_published_numbers_agree_with_the_certified_results(sqlite_night: Night) -> None:
    """Independent of the goldens: each released precinct's SDEs are the party's certified ones, and the
    statewide totals are their sums."""
    night = sqlite_night
    _night(night)
    plan = load_plan("iowa-2020")
    certified = {}
    for unit in read_results(RESULTS, plan=plan):
        precinct = plan.find_precinct(unit.county, unit.precinct)
        assert precinct is not None
        certified[precinct.code] = unit
    released = [s.precinct for s in scripts() if not s.precinct.startswith("CD4")]
    statewide = json.loads(night.read(2, "feed/statewide.json"))
    expected: dict[str, Decimal] = {}
    for code in released:
        record = json.loads(night.read(2, f"feed/precinct/{code.lower().replace('/', '-')}.json"))
        published = {g: Decimal(v) for g, v in record["sde"].items() if Decimal(v)}
        assert published == {g: v for g, v in certified[code].sde.items() if v}, code
        for g, v in published.items():
            expected[g] = expected.get(g, Decimal(0)) + v
    shown = {c["name"]: Decimal(c["sde"]) for c in statewide["candidates"] if Decimal(c["sde"])}
    assert shown == expected
    assert statewide["precinctsReporting"] == len(scripts()) == 25  # 10 + 3 + 4 + 8 sites
    grinnell = json.loads(night.read(2, "feed/precinct/poweshiek-7.json"))
    assert grinnell["sde"] == {"Buttigieg": "0.4200", "Klobuchar": "0.5600", "Sanders": "0.5600",
                               "Warren": "0.8400"}  # RULES.md §13.3 R1
    assert json.loads(night.read(2, "feed/changes.json"))["changes"][0]["reasons"] == [
        "R-1: recanvass found a Bennet card counted as Other"]
    satellites = json.loads(night.read(2, "feed/county/cd4-satellite.json"))
    assert satellites["county"]["precinctsReporting"] == 8
    assert all(p.get("sde") is None for p in satellites["precincts"] if p["reported"])  # pool incomplete


@pytest.mark.parametrize("zero", [False, True])
def test_nist_export_is_valid_against_the_vendored_schema(sqlite_night: Night, zero: bool) -> None:
    night = sqlite_night
    if not zero:
        for script in scripts():
            report(night.reports, script, night.clock)
    night.releases.release(actor="director:dee", zero=zero)
    document = json.loads((night.snapshots / "releases" / "1" / "nist" / "election-report.json").read_bytes())
    validator = jsonschema_rs.Draft4Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, errors[:5]
    assert document["Status"] == ("pre-election" if zero else "unofficial-partial")
    assert document["IsTest"] is True
    ids = {u["@id"] for u in document["GpUnit"]}
    contests = document["Election"][0]["Contest"]
    assert [c["@id"] for c in contests] == ["contest-first-alignment", "contest-final-alignment",
                                            "contest-county-delegates", "contest-sde"]
    referenced = {vc["GpUnitId"] for c in contests for s in c["ContestSelection"] for vc in s["VoteCounts"]}
    assert referenced <= ids
    if not zero:
        first = next(c for c in contests if c["@id"] == "contest-first-alignment")
        warren = next(s for s in first["ContestSelection"] if s["CandidateIds"] == ["cand-warren"])
        grinnell = next(vc for vc in warren["VoteCounts"] if vc["GpUnitId"] == "gp-precinct-poweshiek-7")
        assert grinnell["Count"] == 115  # RULES.md §13.3 R1: Warren 115 in Grinnell's first alignment


def test_an_invalid_document_is_caught_by_the_schema() -> None:
    """The validator is live: a report without its required Status fails."""
    validator = jsonschema_rs.Draft4Validator(json.loads(SCHEMA.read_text()))
    assert not validator.is_valid({"@type": "ElectionResults.ElectionReport", "Format": "precinct-level"})
