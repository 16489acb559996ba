"""A correction at HQ whose numbers reach a tie records the game of chance with them (review queue and
recanvass), through the real forms, on SQLite and PostgreSQL.

Adair 1 NW (certified 2020; worked by hand in tests/hq/test_hotline_chance.py): 40 attendees, 8 delegates,
every group viable at first alignment, so the final alignment is the first: Biden 6, Buttigieg 8,
Klobuchar 8, Sanders 9, Warren 9; shares 1.2, 1.6, 1.6, 1.8, 1.8 round to 9 delegates, one too many, and
Buttigieg or Klobuchar gives one back by a coin toss (Buttigieg lost it).

The chair typed one of Buttigieg's people in Klobuchar's row in both alignments: Buttigieg 7, Klobuchar 9
(shares 1.2, 1.4, 1.8, 1.8, 1.8 round to 1, 1, 2, 2, 2 = 8: no tie). The paper corrects first and final
alignment together, which reaches the tie: the form asks who lost the toss, then records numbers and toss
as one correction (the delegates after the toss, 1, 1, 2, 2, 2, are the ones the chair reported).
"""

from __future__ import annotations

import re

from caucus.ledger import entries
from tests.hq.support import add_staff, sign_in
from tests.hq.test_hotline_chance import ADAIR, CERTIFIED, COUNTS, TOSS
from tests.web.conftest import Web
from tests.web.support import SLUG

TYPED = {"Biden": 6, "Buttigieg": 7, "Klobuchar": 9, "Sanders": 9, "Warren": 9}
TYPED_DELEGATES = {"Biden": 1, "Buttigieg": 1, "Klobuchar": 2, "Sanders": 2, "Warren": 2}


def _form(first: dict[str, int], final: dict[str, int], delegates: dict[str, int], **extra: object
          ) -> dict[str, object]:
    form: dict[str, object] = {"precinct": ADAIR, "attendance": "40", **extra}
    for stage, numbers in (("first", first), ("final", final), ("delegates", delegates)):
        form.update({f"{stage}.{g}": str(n) for g, n in numbers.items()})
    return form


def _report_typed(hq: Web) -> None:
    chair = hq.sign_in(ADAIR)
    for stage, payload in [("attendance", {"attendance": 40}), ("first", {"counts": TYPED}),
                           ("final", {"counts": TYPED}), ("delegates", {"delegates": TYPED_DELEGATES})]:
        response = chair.stage(stage, payload)
        assert response.status_code == 201, response.text


def test_a_review_correction_that_reaches_a_tie_asks_for_the_toss_and_records_it(hq: Web) -> None:
    _report_typed(hq)
    add_staff(hq.engine, "rita", "reviewer")
    rita = sign_in(hq.client, "rita")
    base = _form(COUNTS, COUNTS, CERTIFIED, reason="worksheet: one Buttigieg card was counted for Klobuchar",
                 key="tie-1", action="record")
    asked = rita.post("/hq/review/correct", base)
    assert asked.status_code == 422, asked.text
    assert "a game of chance is required: 1 of Buttigieg, Klobuchar must lose one delegate" in asked.text
    boxes = re.findall(r'<input type="checkbox" name="chance\.0\.selected" value="([^"]+)"', asked.text)
    assert boxes == ["Buttigieg", "Klobuchar"]
    assert re.search(r'name="final\.Klobuchar"[^>]*value="8"', asked.text)  # the typed numbers are kept
    assert len(entries(hq.engine, SLUG, ADAIR)) == 4  # nothing recorded

    wrong = rita.post("/hq/review/correct", {**base, "chance.0.selected": "Sanders"})
    assert wrong.status_code == 422 and "Sanders" in wrong.text
    assert len(entries(hq.engine, SLUG, ADAIR)) == 4

    done = rita.post("/hq/review/correct", {**base, "chance.0.kind": "lose",
                                            "chance.0.among": ["Buttigieg", "Klobuchar"],
                                            "chance.0.selected": "Buttigieg"})
    assert done.status_code == 303, done.text
    stored = entries(hq.engine, SLUG, ADAIR)
    # the delegates after the toss are the ones the chair reported (1, 1, 2, 2, 2): not corrected
    assert [(e.stage, e.supersedes_seq) for e in stored[4:]] == [("first", 2), ("final", 3)]
    assert len({e.correction_id for e in stored[4:]}) == 1
    assert stored[5].payload == {"counts": COUNTS, "chance": [TOSS]}
    page = rita.get(f"/hq/review/p/{ADAIR}").text
    assert 'class="state state-accepted"' in page


def test_a_recanvass_that_reaches_a_tie_records_the_toss(hq: Web) -> None:
    _report_typed(hq)
    add_staff(hq.engine, "rita", "reviewer")
    rita = sign_in(hq.client, "rita")
    made = rita.post("/hq/recanvass", {"campaign": "Buttigieg", "kind": "recanvass", "precincts": ADAIR,
                                        "reason": "our captain counted 8 and 8"})
    assert made.status_code == 303, made.text
    label = made.headers["location"].rsplit("/", 1)[1]
    base = _form(COUNTS, COUNTS, CERTIFIED, note=f"{label}: cards recounted", key=f"{label}-1", action="record")
    asked = rita.post(f"/hq/recanvass/{label}/correct", base)
    assert asked.status_code == 422 and "must lose one delegate" in asked.text
    done = rita.post(f"/hq/recanvass/{label}/correct", {**base, "chance.0.selected": "Buttigieg"})
    assert done.status_code == 303, done.text
    final = [e for e in entries(hq.engine, SLUG, ADAIR) if e.stage == "final"][-1]
    assert final.payload == {"counts": COUNTS, "chance": [TOSS]} and final.supersedes_seq == 3
