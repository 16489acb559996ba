"""The campaign's part of the rehearsal (caucus.rehearse.campaign): a small night of real 2020 precincts, two
of them miscounted and published until a recanvass; the campaign's account is made with ``caucus staff add``,
its draft upload is refused with the line named, its cross-check lists exactly the miscounted precincts and
its captain's slip, it files the recanvass from there, HQ corrects the miscounts and confirms the slip, and
the campaign's requests page shows the request decided with the published differences. And the verdict
fails when any of that breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from caucus.rehearse.campaign import CampaignPlay
from caucus.rehearse.night import Behaviour, Timeline
from caucus.rehearse.run import Rehearsal, rehearse
from caucus.rehearse.synthetic import synthetic_truth
from caucus.rehearse.truth import truth_from_results

pytestmark = pytest.mark.timeout(600)


def _good() -> CampaignPlay:
    return CampaignPlay(group="Sanders", uploaded=["A/1", "A/2", "A/3", "A/4"], unreleased="A/4", slip="A/2",
                        bad_line_named=True, expected_differing=["A/1", "A/2"], crosscheck_differing=["A/1", "A/2"],
                        unreleased_shown_as="held-for-review", request="R-1", status="decided",
                        outcomes={"A/1": "changed", "A/2": "unchanged"}, published_difference=["A/1"])


@pytest.mark.parametrize("broken", [
    {"bad_line_named": False}, {"crosscheck_differing": ["A/1"]}, {"crosscheck_differing": ["A/1", "A/2", "A/3"]},
    {"expected_differing": ["A/2"], "crosscheck_differing": ["A/2"]}, {"unreleased_shown_as": "released"},
    {"unreleased_shown_as": ""}, {"unreleased_shown_as": "not-reported", "problems": ["x"]}, {"request": None},
    {"status": "under review"},
    {"outcomes": {"A/1": "pending", "A/2": "unchanged"}}, {"outcomes": {"A/1": "changed"}},
    {"published_difference": []}, {"problems": ["the captains' file was refused (422)"]},
])
def test_the_campaign_verdict_fails_when_any_part_breaks(broken: dict[str, object]) -> None:
    assert _good().verdict({"A/1"})
    play = _good()
    for name, value in broken.items():
        setattr(play, name, value)
    assert not play.verdict({"A/1"})


@pytest.mark.parametrize("state", ["iowa-2020", "synthetic"])
def test_the_campaign_cross_checks_and_files_the_recanvass_in_a_rehearsal(tmp_path: Path, state: str) -> None:
    # the real 2020 precincts, or a generated state of its own plan (its own counties and candidates)
    truth = truth_from_results(limit=30) if state == "iowa-2020" else synthetic_truth(tmp_path / "plan", 30, seed=5)
    config = Rehearsal(truth=truth, directory=tmp_path / "night", timeline=Timeline(4.0),
                       behaviour=Behaviour(resend=0, flaky=0, double_tap=0, typo=0, photo=0, recanvass=2),
                       seed=3, release_interval=0.5, publish_timeout=60)
    outcome = rehearse(config)
    verdict = next(v for v in outcome.behaviours if v.name == "recanvass-moves-delegates")
    assert verdict.ok, verdict.detail.get("campaign")
    miscounted = sorted(outcome.tally.recanvass_units)
    assert len(miscounted) == 2
    played = verdict.detail["campaign"]
    assert played["group"] in truth.load_plan().candidates
    assert played["ok"] and played["bad_line_named"] and played["request"] == verdict.detail["request"]
    # exactly the miscounts and the captain's slip differ; the unreleased precinct is shown by its state only
    assert played["slip"] not in miscounted and played["unreleased"] not in (*miscounted, played["slip"])
    assert sorted(played["crosscheck_differing"]) == sorted([*miscounted, played["slip"]])
    if state == "iowa-2020":  # 30 of Iowa's 1,765 units reported (some held): the others are not released
        assert played["unreleased_shown_as"] in ("not-reported", "held-for-review")
    else:  # every unit of the generated state was released
        assert played["unreleased"] is None
    assert played["status"] == "decided"
    assert played["outcomes"] == {**dict.fromkeys(miscounted, "changed"), played["slip"]: "unchanged"}
    assert sorted(played["published_difference"]) == miscounted
    assert verdict.detail["confirmed"] == {played["slip"]: 303}
    assert outcome.ok
