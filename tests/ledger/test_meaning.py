"""Entries compared by meaning (caucus.ledger.meaning): the payloads as the chair app and the hotline console
really store them. Numbers: Adair 1 NW (certified 2020: 40 attendees, 8 delegates, Buttigieg and Klobuchar
tied for the delegate too many; Buttigieg gave it back)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from caucus.ledger import Ledger, precinct_state
from caucus.ledger.meaning import normal_payload, payload_meaning
from caucus.ledger.model import canonical_json
from tests.ledger.support import SLUG, sub

FINAL = {"Biden": 6, "Buttigieg": 8, "Klobuchar": 8, "Sanders": 9, "Warren": 9}
TOSS = {"kind": "lose", "among": ["Buttigieg", "Klobuchar"], "selected": ["Buttigieg"]}
#: the chair app's final alignment: every group of the first alignment (0 if it emptied), always "chance"
APP_FINAL = {"counts": {"Biden": 6, "Buttigieg": 8, "Klobuchar": 8, "Sanders": 9, "Warren": 9, "Yang": 0,
                        "Steyer": 0}, "chance": [TOSS]}
#: the hotline console's: the boxes the operator filled in, in the form's order
HOTLINE_FINAL = {"counts": {"Warren": 9, "Sanders": 9, "Klobuchar": 8, "Buttigieg": 8, "Biden": 6},
                 "chance": [{"kind": "lose", "among": ["Klobuchar", "Buttigieg"], "selected": ["Buttigieg"]}]}
DELEGATES = {"Biden": 1, "Buttigieg": 1, "Klobuchar": 2, "Sanders": 2, "Warren": 2}


def meaning(stage: str, payload: dict[str, Any]) -> str:
    return payload_meaning(stage, canonical_json(payload))


def test_the_apps_and_the_hotlines_final_alignment_mean_the_same() -> None:
    assert meaning("final", APP_FINAL) == meaning("final", HOTLINE_FINAL)
    assert normal_payload("final", APP_FINAL) == {"counts": FINAL, "chance": [TOSS]}


def test_no_game_is_the_same_whether_chance_is_absent_empty_or_null() -> None:
    plain = {"counts": FINAL}
    assert meaning("final", plain) == meaning("final", {"counts": FINAL, "chance": []})
    assert meaning("final", plain) == meaning("final", {"counts": {**FINAL, "Yang": 0}, "chance": None})
    assert normal_payload("final", plain) == {"counts": FINAL, "chance": []}


def test_a_typed_zero_and_a_blank_are_the_same_for_counts_and_delegates() -> None:
    assert meaning("first", {"counts": {**FINAL, "Bennet": 0}}) == meaning("first", {"counts": FINAL})
    app = {"delegates": DELEGATES}  # the app sends the groups that won delegates
    keyed = {"delegates": {**DELEGATES, "Yang": 0, "Steyer": 0}}  # an operator typed 0 in two boxes
    assert meaning("delegates", app) == meaning("delegates", keyed)


def test_the_confirmed_flag_is_not_meaning() -> None:
    confirmed = {"counts": FINAL, "chance": [], "confirmed": True}
    assert meaning("final", confirmed) == meaning("final", {"counts": FINAL})
    assert "confirmed" not in normal_payload("final", confirmed)


def test_different_numbers_or_outcomes_are_different_meanings() -> None:
    assert meaning("final", APP_FINAL) != meaning("final", {**APP_FINAL, "counts": {**FINAL, "Biden": 7}})
    other_toss = {**TOSS, "selected": ["Klobuchar"]}
    assert meaning("final", APP_FINAL) != meaning("final", {**APP_FINAL, "chance": [other_toss]})
    assert meaning("final", APP_FINAL) != meaning("final", {"counts": FINAL})  # the toss left out
    assert meaning("attendance", {"attendance": 40}) != meaning("attendance", {"attendance": 41})
    assert meaning("attendance", {"attendance": 0}) != meaning("attendance", {})  # 0 attendees is a number
    assert meaning("delegates", {"delegates": DELEGATES}) != meaning(
        "delegates", {"delegates": {**DELEGATES, "Biden": 0, "Buttigieg": 2}})


def test_successive_games_keep_their_order() -> None:
    drop = {"kind": "drop", "among": ["Sanders", "Warren"], "selected": ["Warren"]}
    both = {"counts": FINAL, "chance": [drop, TOSS]}
    assert meaning("final", both) != meaning("final", {"counts": FINAL, "chance": [TOSS, drop]})


def test_channels_conflict_only_on_meaning(engine: Engine, ledger: Ledger) -> None:
    ledger.submit(sub("app-final", APP_FINAL, stage="final"))
    ledger.submit(sub("hq-final", HOTLINE_FINAL, stage="final", channel="paper", actor="reviewer:ann"))
    state = precinct_state(engine, SLUG, "Adair/01NW")
    assert state.status == "reported" and state.conflicts == ()
    assert state.payload("final") == APP_FINAL  # the earliest agreeing entry, as it was sent
    other = {**HOTLINE_FINAL, "chance": [{**TOSS, "selected": ["Klobuchar"]}]}
    ledger.submit(sub("hotline-final", other, stage="final", channel="hotline", actor="operator:kim"))
    state = precinct_state(engine, SLUG, "Adair/01NW")
    assert state.status == "conflicting"
    assert [c.seqs for c in state.conflicts] == [(1, 2, 3)]
    assert state.payload("final") is None
