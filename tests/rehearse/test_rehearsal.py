"""A small caucus night, end to end, as CI's integration test of the whole system: 100 real precincts of
the certified 2020 results reported through the API (some by the hotline, with two operators), the server
SIGKILLed and restarted mid-night, slow responses for a while, the director's continuous release on; then
0 reports lost, 0 duplicates, a verified hash chain, every ledger entry holding the truth's numbers, and
the published statewide totals equal to the ground truth's (computed independently with the rules core).

The unscripted night is played too, each behaviour with its own verdict: chairs rehearse and the election
goes live; an attacker floods wrong credentials; precincts report on both channels; chairs correct final
alignment and delegates at once; a recanvass moves delegates; tied precincts phone in their toss."""

from __future__ import annotations

from pathlib import Path

import pytest

from caucus.rehearse.night import Behaviour, Timeline
from caucus.rehearse.report import summary, to_html
from caucus.rehearse.run import Rehearsal, rehearse
from caucus.rehearse.truth import truth_from_results

# a whole night against real servers: longer than the suite's default limit on a loaded machine
pytestmark = pytest.mark.timeout(900)


def test_a_night_of_100_precincts_with_a_server_kill_loses_nothing_and_publishes_the_truth(tmp_path: Path) -> None:
    truth = truth_from_results(limit=100)
    assert len(truth.precincts) == 100
    held = [p for p in truth.precincts if p.held]
    config = Rehearsal(truth=truth, directory=tmp_path, timeline=Timeline(12.0),
                       behaviour=Behaviour(hotline=0.15, photo=0.2, typo=0.1, flaky=0.1, double_tap=0.05,
                                           resend=0.1, both=0.1, move=0.1, recanvass=2, phone_ties=2),
                       kills=(0.45,), slow=(0.2, 0.3, 0.2), seed=7, release_interval=0.5, publish_timeout=60,
                       attack=150, attack_addresses=60, go_live=4)
    outcome = rehearse(config)
    report = summary(outcome)
    r = report["reports"]
    events = [w for _, w in outcome.tally.events]
    assert "fault: server SIGKILL and restart" in events
    # the election went live after a rehearsal; then the director released a zero-count release and switched
    # continuous release on, through HQ's page
    assert events[0].startswith("the election went live after a rehearsal of 4 precincts; public feed answers 404")
    assert events[1:3] == ["director: zero-count rehearsal release", "director: continuous release on"]
    assert r["acknowledged"] == r["sent"] > 400, [s for s in outcome.tally.sent if s.acked_at is None]
    assert (r["lost"], r["duplicates"], r["recorded_unacknowledged"]) == (0, 0, 0)
    assert r["chain_verified"] and r["content_mismatches"] == [] and r["unexpected_refusals"] == []
    assert r["photos"]["lost"] == 0 and r["photos"]["acknowledged"] > 0
    assert report["published"] is not None
    assert (report["published"]["reporting"], r["unpublished"]) == (100 - len(held), [])
    assert report["totals"]["identical"], report["totals"]
    # the hotline took calls, and corrections and replays happened
    kinds = {s.kind for s in outcome.tally.sent}
    assert {"report", "correction"} <= kinds
    phoned = [s for s in outcome.tally.sent if s.channel == "hotline"]
    assert phoned and all(s.acked_at is not None for s in phoned)
    assert any(s.key and s.precinct for s in outcome.tally.sent if s.kind == "report" and s.attempts > 1)
    # every behaviour of the unscripted night was played and held
    behaviours = {v["behaviour"]: v for v in report["behaviours"]}
    assert set(behaviours) == {"credential-flood", "both-channels-agree", "corrections-move-delegates",
                               "go-live-after-rehearsal", "recanvass-moves-delegates", "ties-phoned-in"}
    assert all(v["played"] > 0 and v["ok"] for v in behaviours.values()), behaviours
    flood = behaviours["credential-flood"]["detail"]
    # every one of the 150 wrong sign-ins was sent (chair credentials and HQ passwords)
    assert flood["attack"]["attempts"] + flood["attack"]["staff_attempts"] == 150
    assert flood["attack"]["wrong_credentials_accepted"] == 0
    assert behaviours["recanvass-moves-delegates"]["detail"]["published_difference"]
    assert outcome.ok
    assert "PASS" in to_html(report, outcome.tally.latencies())
    # what the night cost, from /proc: the load generator and the server (every instance across the kill,
    # and the releaser), per acknowledged report; and the receipt latency a chair saw
    cost = report["cost"]
    assert cost["acknowledged_reports"] == r["acknowledged"]
    assert cost["app_cpu_seconds"] > 0 and cost["releaser_cpu_seconds"] > 0 and cost["client_cpu_seconds"] > 0
    assert report["receipt_latency_ms"]["p50"] <= report["receipt_latency_ms"]["p99"]
