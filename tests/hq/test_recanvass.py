"""A recanvass end to end on a real 2020 precinct whose published numbers changed between the 6 February
release and the certified results: Dubuque_45 (D = 6). On 6 Feb it published Sanders 5 in the first
alignment, no Klobuchar group and 2 delegates each for Biden, Buttigieg and Sanders, which the checks
refute; certified: Sanders 15, Klobuchar 16 in the final alignment, delegates 2/2/1/1. The 6 Feb numbers are
in the ledger (imported, the sender insisting), held for review; a campaign asks for a recanvass; a reviewer
corrects the stages from the worksheet (here: the certified numbers) with reasons carrying R-1; the request is
complete and shows the before/after per precinct and statewide; the next release publishes the precinct with
the R-1 reasons. Expected values come from the two published files, not from our own arithmetic."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from caucus.ledger import entries
from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.results_csv import PublishedPrecinct, read_results
from caucus.service import StageReport
from caucus.service.hq_errors import StaffInputInvalid
from caucus.web.services import Services
from tests.web.conftest import Web
from tests.web.support import SLUG

DATA = Path(__file__).resolve().parents[2] / "data" / "iowa2020"
PRECINCT = "Dubuque/45"
NAME = ("Dubuque", "Dubuque_45")
RITA = "reviewer:rita"


def published(path: Path) -> PublishedPrecinct:
    plan = load_plan("iowa-2020")
    found = [p for p in read_results(path, plan=plan) if (p.county, p.precinct) == NAME]
    assert len(found) == 1
    return found[0]


def stages_of(row: PublishedPrecinct) -> dict[str, dict[str, object]]:
    """The four stages of a published row: attendance = the first alignment's total (the file has no
    attendance); delegates = published SDEs / the county's SDE ratio (S/C), which are whole numbers."""
    plan = load_plan("iowa-2020")
    ratio = plan.counties[NAME[0]].sde_ratio
    first = {g: n for g, n in row.first.items() if n}
    final = {g: n for g, n in row.final.items() if n}
    delegates = {}
    for group, sde in row.sde.items():
        if sde:
            whole = sde / Decimal(ratio.numerator) * Decimal(ratio.denominator)
            delegates[group] = int(whole.quantize(Decimal(1)))
            assert abs(whole - delegates[group]) < Decimal("0.001"), (group, whole)
    return {"attendance": {"attendance": sum(first.values())}, "first": {"counts": first},
            "final": {"counts": final}, "delegates": {"delegates": delegates}}


def test_a_recanvass_of_marion_08_corrects_it_through_the_ledger_with_the_request_id(hq: Web, svc: Services) -> None:
    before, after = published(DATA / "results-release-2020-02-06.csv"), published(certified_results())
    assert before.final != after.final  # the precinct's numbers did change between the two publications
    for stage, payload in stages_of(before).items():
        svc.reports.submit(PRECINCT, StageReport(stage, payload, confirm=True), f"feb6-{stage}",  # type: ignore[arg-type]
                           channel="import", actor="import:idp-2020-02-06")
    held = svc.review.status(PRECINCT)
    assert held.state == "held-for-review" and [f.code for f in held.evaluation.findings] == ["delegates-differ"]
    first_release = svc.releases.release(actor="director:dora")
    assert first_release.precincts_reporting == 0  # numbers the checks refute are never published

    with pytest.raises(StaffInputInvalid, match="no such precinct"):
        svc.recanvass.create(RITA, campaign="Klobuchar", kind="recanvass", precincts=["Linn/NOPE"], reason="x")
    request = svc.recanvass.create(RITA, campaign="Klobuchar for America", kind="recanvass", precincts=[PRECINCT],
                                   reason="the worksheet's first alignment does not match the app's")
    assert request.label == "R-1"
    assert svc.recanvass.progress(1).status == "open"

    corrected = stages_of(after)
    status = svc.recanvass.correct(RITA, 1, PRECINCT, corrected, note="worksheet re-checked with the chair",  # type: ignore[arg-type]
                                   key="r1-dubuque-45")
    assert status.state == "accepted", status.reasons
    corrections = [e for e in entries(hq.engine, SLUG, PRECINCT) if e.supersedes_seq is not None]
    assert [e.stage for e in corrections] == ["attendance", "first", "final", "delegates"]
    assert {e.reason for e in corrections} == {"R-1 recanvass: worksheet re-checked with the chair"}
    assert {e.actor for e in corrections} == {RITA}

    progress = svc.recanvass.progress(1)
    assert progress.status == "complete"
    (item,) = progress.precincts
    assert item.outcome == "changed"
    assert {g: v for g, v in item.sde("before").items() if v} == {g: v for g, v in before.sde.items() if v}
    assert {g: v for g, v in item.sde("after").items() if v} == {g: v for g, v in after.sde.items() if v}
    assert item.final("before") == {g: n for g, n in before.final.items() if n}
    assert item.final("after") == {g: n for g, n in after.final.items() if n}
    expected = {g: after.sde.get(g, Decimal(0)) - before.sde.get(g, Decimal(0))
                for g in {*before.sde, *after.sde} if after.sde.get(g, Decimal(0)) != before.sde.get(g, Decimal(0))}
    assert progress.statewide_change() == expected
    assert expected == {"Klobuchar": Decimal("0.2667"), "Sanders": Decimal("-0.2666")}  # a delegate moved

    # the next release publishes the precinct with the corrections' reasons
    svc.releases.release(actor="director:dora", note="after R-1")
    hq.client.cookies.clear()
    delta = hq.client.get(f"/feed/v1/delta/{first_release.number}.json").json()
    (change,) = [c for c in delta["changes"] if c["code"] == PRECINCT]
    assert change["after"]["final"] == {g: n for g, n in after.final.items() if n}
    assert {g: Decimal(v) for g, v in change["after"]["sde"].items() if Decimal(v)} == {
        g: v for g, v in after.sde.items() if v}
    assert set(change["reasons"]) == {"R-1 recanvass: worksheet re-checked with the chair"}


def test_a_precinct_whose_numbers_stand_is_confirmed_unchanged(hq: Web, svc: Services) -> None:
    before = published(DATA / "results-release-2020-02-06.csv")
    for stage, payload in stages_of(before).items():
        svc.reports.submit(PRECINCT, StageReport(stage, payload, confirm=True), f"feb6-{stage}",  # type: ignore[arg-type]
                           channel="import", actor="import:idp-2020-02-06")
    svc.recanvass.create(RITA, campaign="Biden for President", kind="recount", precincts=[PRECINCT],
                         reason="count the preference cards")
    with pytest.raises(StaffInputInvalid, match="not part of request R-1"):
        svc.recanvass.unchanged(RITA, 1, "Adair/04SE", "n/a")
    svc.recanvass.unchanged(RITA, 1, PRECINCT, "cards counted: as reported")
    progress = svc.recanvass.progress(1)
    assert progress.status == "complete" and progress.precincts[0].outcome == "unchanged"
    assert progress.statewide_change() == {}
