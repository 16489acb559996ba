"""Nevada's night, small: 50 units of the certified 2020 results (data/nevada2020/results-final.csv) played
through the real server with the nevada-2020 plan, seeded synthetic early ballots imported before the night
(consistent with the certified counts, caucus.rehearse.early), chairs reporting the in-person remainder (some
in Chromium), the hotline keying the worksheet's totals, a tie phoned in. Then: 0 lost, 0 duplicates, every
ledger entry holding the certified totals, and the published totals equal to the certified ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from caucus.ledger import entries, make_engine, sqlite_url_for_dir
from caucus.plans import load_plan
from caucus.rehearse.night import Behaviour, Timeline
from caucus.rehearse.report import summary
from caucus.rehearse.run import SLUG, Rehearsal, rehearse
from caucus.rehearse.truth import truth_from_results
from caucus.results_nevada import plan_precinct, read_nevada_results

pytestmark = pytest.mark.timeout(900)
RESULTS = Path(__file__).resolve().parents[2] / "data" / "nevada2020" / "results-final.csv"


def test_fifty_nevada_precincts_with_early_ballots_lose_nothing_and_publish_the_certified_totals(
        tmp_path: Path) -> None:
    truth = truth_from_results(RESULTS, plan_name="nevada-2020", limit=50, early_seed=11)
    assert truth.early is not None and truth.early.precincts >= 40 and truth.early.void > 0
    config = Rehearsal(truth=truth, directory=tmp_path, timeline=Timeline(8.0),
                       behaviour=Behaviour(hotline=0.2, both=0.1, typo=0.1, double_tap=0.05, phone_ties=1),
                       seed=5, release_interval=0.5, publish_timeout=60)
    outcome = rehearse(config)
    report = summary(outcome)
    r = report["reports"]
    assert (r["lost"], r["duplicates"], r["recorded_unacknowledged"]) == (0, 0, 0)
    assert r["chain_verified"] and r["content_mismatches"] == [] and r["unexpected_refusals"] == []
    assert r["unpublished"] == []
    assert report["totals"]["identical"], report["totals"]
    assert report["truth"]["early_ballots"]["ballots"] == truth.early.ballots
    assert any(s.channel == "hotline" and s.acked_at is not None for s in outcome.tally.sent)
    # the published county delegates are the certified ones of every published unit
    plan = load_plan("nevada-2020")
    certified = {}
    for row in read_nevada_results(RESULTS, candidates=plan.candidates):
        found = plan_precinct(plan, row.county, row.precinct)
        if found is not None:
            certified[found.code] = row
    want: dict[str, int] = {}
    for unit in truth.published:
        # a unit whose certified delegates break the rules is refused as published; the rules' award stands in
        numbers = unit.delegates if unit.impossible_delegates else certified[unit.code].reported
        for g, n in numbers.items():
            want[g] = want.get(g, 0) + n
    got = {row["candidate"]: int(row["delegates"]["published"]) for row in report["totals"]["rows"]}
    assert {g: n for g, n in got.items() if n} == {g: n for g, n in want.items() if n}
    # the chairs reported the room; the ledger holds the totals and the parts
    engine = make_engine(sqlite_url_for_dir(tmp_path / "data"))
    try:
        rows = entries(engine, SLUG)
    finally:
        engine.dispose()
    merged = [e for e in rows if e.stage == "final" and "in_person" in e.payload]
    assert merged and all(sum(e.payload["counts"].values()) >= sum(e.payload["in_person"].values()) for e in merged)
    assert outcome.ok
