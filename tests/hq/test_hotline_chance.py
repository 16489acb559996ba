"""Games of chance on the hotline and on HQ's worksheet transcription, and channels compared by meaning.

Real numbers: Adair 1 NW (certified 2020). 40 attendees, 8 county delegates, final alignment Biden 6,
Buttigieg 8, Klobuchar 8, Sanders 9, Warren 9. Worked by hand: threshold 15% of 40 = 6, every group viable;
raw shares 1.2, 1.6, 1.6, 1.8, 1.8 round half up to 1, 2, 2, 2, 2 = 9, one too many; of the groups holding
2, Buttigieg and Klobuchar are furthest above their share (0.4 each), so 1 of them must give one back by a
coin toss. The certified result: Buttigieg 1, Klobuchar 2 (Buttigieg lost the toss), published SDEs 0.0784
per delegate (0.1569 for 2).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from caucus.ledger import entries
from caucus.service import ReportRejected, StageReport
from caucus.web.services import Services
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import SLUG

ADAIR = "Adair/01NW"
COUNTS = {"Biden": 6, "Buttigieg": 8, "Klobuchar": 8, "Sanders": 9, "Warren": 9}
TOSS = {"kind": "lose", "among": ["Buttigieg", "Klobuchar"], "selected": ["Buttigieg"]}
CERTIFIED = {"Biden": 1, "Buttigieg": 1, "Klobuchar": 2, "Sanders": 2, "Warren": 2}
CERTIFIED_SDE = {"Biden": "0.0784", "Buttigieg": "0.0784", "Klobuchar": "0.1569", "Sanders": "0.1569",
                 "Warren": "0.1569"}
#: what a hotline operator keys: the filled boxes only, the toss as the console records it
HOTLINE = [
    ("attendance", {"attendance": 40}),
    ("first", {"counts": COUNTS}),
    ("final", {"counts": COUNTS, "chance": [TOSS]}),
    ("delegates", {"delegates": CERTIFIED}),
]


def key() -> str:
    return str(uuid.uuid4())


def keyed(hq: Web, svc: Services, operator: str, stages: list[tuple[str, dict[str, Any]]]) -> int:
    """A verified call of ``operator`` in which the stages are keyed in; its id."""
    call = svc.hotline.verify_caller(operator, ADAIR, hq.hotline_codes[ADAIR])
    for stage, payload in stages:
        svc.hotline.enter(operator, call.id, StageReport(stage, payload), key())  # type: ignore[arg-type]
    return call.id


def test_two_operators_record_the_toss_and_the_tied_precinct_is_accepted(hq: Web, svc: Services) -> None:
    keyed(hq, svc, "kim", HOTLINE)
    assert svc.review.status(ADAIR).state == "reported"  # one operator: waits for four eyes
    keyed(hq, svc, "lee", HOTLINE)
    status = svc.review.status(ADAIR)
    assert status.state == "accepted", status.reasons
    assert status.evaluation.recomputed.delegates == CERTIFIED
    assert status.evaluation.recomputed.sde == CERTIFIED_SDE
    assert [e.actor for e in status.confirmed_hotline["final"]] == ["operator:kim", "operator:lee"]
    finals = [e.payload for e in entries(hq.engine, SLUG, ADAIR) if e.stage == "final"]
    assert finals == [{"counts": COUNTS, "chance": [TOSS]}] * 2  # the app's payload shape


def test_operators_who_disagree_on_the_toss_do_not_count_and_go_to_review(hq: Web, svc: Services) -> None:
    keyed(hq, svc, "kim", HOTLINE)
    other_toss = {**TOSS, "selected": ["Klobuchar"]}
    keyed(hq, svc, "lee", [*HOTLINE[:2], ("final", {"counts": COUNTS, "chance": [other_toss]}),
                       ("delegates", {"delegates": {**CERTIFIED, "Buttigieg": 2, "Klobuchar": 1}})])
    status = svc.review.status(ADAIR)
    assert status.state == "conflicting"
    assert "the final alignment differs between hotline operators: operator:kim (entry #3), operator:lee " \
           "(entry #7)" in status.reasons
    assert status.evaluation.stages == ("attendance", "first")  # the disputed final does not count
    assert "final" not in status.confirmed_hotline
    assert svc.review.queue()[0].why[0] == "conflicting"


def test_the_app_and_the_hotline_with_the_same_numbers_agree_whatever_the_representation(
        hq: Web, svc: Services) -> None:
    chair = hq.sign_in(ADAIR)
    # the chair app: a 0 typed for Yang, the emptied group sent as 0 in the final, the toss's boxes in the
    # order ticked, "chance" always present; the delegates as the groups that won any
    app = [("attendance", {"attendance": 40}), ("first", {"counts": {**COUNTS, "Yang": 0}}),
           ("final", {"counts": {**COUNTS, "Yang": 0},
                      "chance": [{"kind": "lose", "among": ["Klobuchar", "Buttigieg"], "selected": ["Buttigieg"]}]}),
           ("delegates", {"delegates": CERTIFIED})]
    for stage, numbers in app:
        assert chair.stage(stage, numbers).status_code == 201
    # the operator typed 0 in two delegate boxes and left Yang blank
    keyed(hq, svc, "kim", [*HOTLINE[:3], ("delegates", {"delegates": {**CERTIFIED, "Steyer": 0, "Yang": 0}})])
    status = svc.review.status(ADAIR)
    assert status.state == "accepted", status.reasons
    assert set(status.confirmed_hotline) == {"attendance", "first", "final", "delegates"}
    assert {g: n for g, n in (status.evaluation.recomputed.delegates or {}).items() if n} == CERTIFIED


def test_the_app_and_the_hotline_with_different_numbers_conflict(hq: Web, svc: Services) -> None:
    chair = hq.sign_in(ADAIR)
    for stage, numbers in HOTLINE[:2]:
        assert chair.stage(stage, numbers).status_code == 201
    keyed(hq, svc, "kim", [HOTLINE[0], ("first", {"counts": {**COUNTS, "Warren": 8, "Yang": 1}})])
    status = svc.review.status(ADAIR)
    assert status.state == "conflicting"
    assert status.reasons == ("the first alignment differs between channels: app (entry #2), hotline (entry #4)",)


def test_a_toss_that_does_not_fit_is_refused_naming_the_field(hq: Web, svc: Services) -> None:
    call = keyed(hq, svc, "kim", HOTLINE[:2])

    def refused(chance: list[dict[str, Any]]) -> dict[str, str]:
        with pytest.raises(ReportRejected) as caught:
            svc.hotline.enter("kim", call, StageReport("final", {"counts": COUNTS, "chance": chance}), key())
        return {p.field: p.message for p in caught.value.fields}

    assert refused([{**TOSS, "selected": ["Sanders"]}]) == {"chance.0.selected": (
        "game of chance 1: Sanders is not one of the tied groups (Buttigieg, Klobuchar)")}
    assert refused([{**TOSS, "selected": ["Buttigieg", "Klobuchar"]}]) == {"chance.0.selected": (
        "game of chance 1: mark exactly 1 of Buttigieg, Klobuchar (who gives a delegate back); "
        "2 (Buttigieg, Klobuchar) marked")}
    assert refused([{**TOSS, "kind": "gain"}]) == {"chance.0.kind": (
        "game of chance 1: the kind must be lose, not gain: with these numbers 1 of Buttigieg, Klobuchar must "
        "lose one delegate by a game of chance")}
    assert refused([{**TOSS, "among": ["Sanders", "Warren"]}]) == {"chance.0.among": (
        "game of chance 1 was shown as a tie among Sanders, Warren, but with these numbers 1 of Buttigieg, "
        "Klobuchar must lose one delegate by a game of chance; hold or record that game instead")}
    assert refused([TOSS, TOSS]) == {"chance.1": (
        "game of chance 2: no game of chance is needed after the ones before it; with these numbers the rules "
        "settle every delegate")}
    with pytest.raises(ReportRejected) as without:
        svc.hotline.enter("kim", call, StageReport("final", {"counts": COUNTS}), key())
    assert {p.field: p.code for p in without.value.fields} == {"chance": "chance-required"}
    assert [e.stage for e in entries(hq.engine, SLUG, ADAIR)] == ["attendance", "first"]  # nothing recorded


def test_the_console_asks_who_lost_the_toss_and_records_it(hq_sqlite: Web) -> None:
    web = hq_sqlite
    add_staff(web.engine, "kim", "operator")
    kim = sign_in(web.client, "kim")
    call_url = kim.post("/hq/hotline/calls", {"precinct": ADAIR, "hotline_code": web.hotline_codes[ADAIR]}
                        ).headers["location"]
    numbers = {f"n.{g}": str(n) for g, n in COUNTS.items()}
    assert kim.post(f"{call_url}/stages", {"stage": "attendance", "attendance": "40", "key": "a"}).status_code == 303
    assert kim.post(f"{call_url}/stages", {"stage": "first", "key": "f", **numbers}).status_code == 303
    asked = kim.post(f"{call_url}/stages", {"stage": "final", "key": "k-final", **numbers, "n.Yang": "0"})
    assert asked.status_code == 422
    assert ("not recorded yet: a game of chance is required: 1 of Buttigieg, Klobuchar must lose one delegate by "
            "a game of chance") in asked.text
    assert "Before the game of chance: Biden 1, Buttigieg 2, Klobuchar 2, Sanders 2, Warren 2." in asked.text
    boxes = re.findall(r'<input type="checkbox" name="chance\.0\.selected" value="([^"]+)"', asked.text)
    assert boxes == ["Buttigieg", "Klobuchar"]
    assert 'name="key" value="k-final"' in asked.text and 'name="n.Yang" inputmode="numeric" size="5" value="0"' in \
        asked.text  # the keyed numbers and the form's key are kept
    assert len(entries(web.engine, SLUG, ADAIR)) == 2

    both = kim.post(f"{call_url}/stages", {"stage": "final", "key": "k-final", **numbers, "chance.0.kind": "lose",
                                           "chance.0.among": ["Buttigieg", "Klobuchar"],
                                           "chance.0.selected": ["Buttigieg", "Klobuchar"]})
    assert both.status_code == 422
    assert re.search(r'id="error-chance\.0\.selected">game of chance 1: mark exactly 1 of Buttigieg, Klobuchar',
                     both.text)
    # the rehearsal's way: only who was chosen (the kind and the tied groups come from the engine)
    done = kim.post(f"{call_url}/stages", {"stage": "final", "key": "k-final", **numbers,
                                           "chance.0.selected": "Buttigieg"})
    assert done.status_code == 303, done.text
    final = entries(web.engine, SLUG, ADAIR)[-1]
    assert final.payload == {"counts": COUNTS, "chance": [TOSS]}
    page = kim.get(done.headers["location"]).text
    assert "game of chance 1: Buttigieg (lose) among Buttigieg, Klobuchar" in page  # read back to the caller


def test_hq_transcribes_a_tied_worksheet_with_its_toss(hq_sqlite: Web) -> None:
    web = hq_sqlite
    add_staff(web.engine, "rita", "reviewer")
    rita = sign_in(web.client, "rita")
    numbers = {f"n.{g}": str(n) for g, n in COUNTS.items()}
    base = {"precinct": ADAIR}
    assert rita.post("/hq/review/transcribe", {**base, "stage": "attendance", "attendance": "40",
                                               "key": "p1"}).status_code == 303
    assert rita.post("/hq/review/transcribe", {**base, "stage": "first", "key": "p2", **numbers}).status_code == 303
    asked = rita.post("/hq/review/transcribe", {**base, "stage": "final", "key": "p3", **numbers})
    assert asked.status_code == 422 and "1 of Buttigieg, Klobuchar must lose one delegate" in asked.text
    assert 'action="/hq/review/transcribe"' in asked.text and 'name="chance.0.selected" value="Klobuchar"' in asked.text
    wrong = rita.post("/hq/review/transcribe", {**base, "stage": "final", "key": "p3", **numbers,
                                                "chance.0.selected": "Biden"})
    assert wrong.status_code == 422
    assert 'id="error-chance.0.selected">game of chance 1: Biden is not one of the tied groups' in wrong.text
    done = rita.post("/hq/review/transcribe", {**base, "stage": "final", "key": "p3", **numbers,
                                               "chance.0.kind": "lose", "chance.0.among": ["Buttigieg", "Klobuchar"],
                                               "chance.0.selected": "Buttigieg"})
    assert done.status_code == 303, done.text
    delegates = {f"n.{g}": str(n) for g, n in CERTIFIED.items()}
    assert rita.post("/hq/review/transcribe", {**base, "stage": "delegates", "key": "p4",
                                               **delegates}).status_code == 303
    rows = entries(web.engine, SLUG, ADAIR)
    assert [(e.channel, e.stage) for e in rows][-2:] == [("paper", "final"), ("paper", "delegates")]
    assert rows[2].payload == {"counts": COUNTS, "chance": [TOSS]}
    page = rita.get(f"/hq/review/p/{ADAIR}").text
    assert re.search(r'id="state">accepted<', page)
