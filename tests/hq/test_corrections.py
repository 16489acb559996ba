"""HQ's correction forms (review queue and recanvass) correct several stages at once, through the real forms
with their CSRF tokens, on SQLite and PostgreSQL.

Grinnell 2nd Ward 07 (D = 17, N = 328): the chair's final alignment has 5 of Buttigieg's people in Warren's
row (Buttigieg 50, Warren 129) and the delegates that gives; the worksheet says Buttigieg 55, Warren 124 and
the certified delegates (tests/web/support.py). Correcting moves a delegate from Warren to Buttigieg.
"""

from __future__ import annotations

import re

from caucus.ledger import audit_events, entries, verify_chain
from caucus.web.services import Services
from tests.hq.support import Staffer, add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, GRINNELL_DELEGATES, GRINNELL_FINAL, GRINNELL_FIRST, SLUG
from tests.web.test_corrections import MISKEYED_FINAL, _report_miskeyed

RITA = "reviewer:rita"


def _form(values: dict[str, dict[str, int]], **extra: str) -> dict[str, str]:
    form = {"precinct": GRINNELL, "attendance": "328", **extra}
    for stage, numbers in values.items():
        form.update({f"{stage}.{g}": str(n) for g, n in numbers.items()})
    return form


def _value(page: str, name: str) -> str | None:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    return match.group(1) if match else None


def _rita(hq: Web) -> Staffer:
    add_staff(hq.engine, "rita", "reviewer")
    return sign_in(hq.client, "rita")


def test_a_review_correction_of_final_alignment_and_delegates_together(hq: Web) -> None:
    wrong = _report_miskeyed(hq.sign_in(GRINNELL))
    rita = _rita(hq)
    page = rita.get(f"/hq/review/p/{GRINNELL}").text
    # the form shows what the precinct holds now
    assert _value(page, "final.Warren") == "129" and _value(page, "delegates.Warren") == str(wrong["Warren"])
    assert _value(page, "supersedes.final") == "3" and _value(page, "supersedes.delegates") == "4"
    current = {"first": GRINNELL_FIRST, "final": MISKEYED_FINAL, "delegates": wrong}
    seen = {"supersedes.final": "3", "supersedes.delegates": "4"}

    # the final alone: refused as a whole (its delegates no longer match), nothing recorded, numbers kept
    alone = rita.post("/hq/review/correct", _form({**current, "final": GRINNELL_FINAL}, reason="worksheet photo",
                                                  key="c1", action="record", **seen))
    assert alone.status_code == 422 and "reported delegates differ" in alone.text
    assert _value(alone.text, "final.Warren") == "124"
    assert len(entries(hq.engine, SLUG, GRINNELL)) == 4

    # the server's delegates for the corrected numbers are offered (filled in), nothing recorded
    preview = rita.post("/hq/review/correct", _form({**current, "final": GRINNELL_FINAL}, reason="worksheet photo",
                                                    key="c2", action="recompute", **seen))
    assert preview.status_code == 200
    assert {g: _value(preview.text, f"delegates.{g}") for g in GRINNELL_DELEGATES} == {
        g: str(n) for g, n in GRINNELL_DELEGATES.items()}
    assert "nothing recorded yet" in preview.text
    assert len(entries(hq.engine, SLUG, GRINNELL)) == 4

    done = rita.post("/hq/review/correct", _form({**current, "final": GRINNELL_FINAL, "delegates": GRINNELL_DELEGATES},
                                                 reason="worksheet photo: Buttigieg 55, Warren 124", key="c3",
                                                 action="record", **seen))
    assert done.status_code == 303, done.text
    assert "corrected together: final alignment, delegates" in rita.get(done.headers["location"]).text
    stored = entries(hq.engine, SLUG, GRINNELL)
    assert [(e.seq, e.stage, e.supersedes_seq, e.actor) for e in stored[4:]] == [
        (5, "final", 3, RITA), (6, "delegates", 4, RITA)]
    assert stored[4].correction_id is not None and stored[4].correction_id == stored[5].correction_id
    assert stored[4].payload == {"counts": GRINNELL_FINAL, "chance": []}
    assert stored[5].payload == {"delegates": GRINNELL_DELEGATES}
    assert verify_chain(hq.engine, SLUG).ok
    assert rita.get(f"/hq/review/p/{GRINNELL}").text.count('class="state state-accepted"') == 1
    (event,) = [e for e in audit_events(hq.engine, SLUG) if e.action == "review.correct"]
    assert event.detail["stages"] == ["final", "delegates"] and event.detail["corrected"] == [3, 4]

    # the same form again: nothing changed now; and an old form (entries #3/#4 seen) is refused
    same = rita.post("/hq/review/correct", _form({**current, "final": GRINNELL_FINAL,
                                                  "delegates": GRINNELL_DELEGATES}, reason="again", key="c4",
                                                 action="record", **{"supersedes.final": "5",
                                                                     "supersedes.delegates": "6"}))
    assert same.status_code == 422 and "nothing changed" in same.text
    stale = rita.post("/hq/review/correct", _form(current, reason="old tab", key="c5", action="record", **seen))
    assert stale.status_code == 409 and "is not the current final alignment" in stale.text
    assert len(entries(hq.engine, SLUG, GRINNELL)) == 6
    # without the CSRF token nothing happens
    assert rita.post("/hq/review/correct", _form(current, reason="x", key="c6"), csrf=False).status_code == 403


def test_a_recanvass_correction_that_moves_a_delegate_shows_in_the_difference(hq: Web, svc: Services) -> None:
    wrong = _report_miskeyed(hq.sign_in(GRINNELL))
    rita = _rita(hq)
    request = svc.recanvass.create(RITA, campaign="Buttigieg for America", kind="recanvass", precincts=[GRINNELL],
                                   reason="our observer counted 55 for Buttigieg")
    current = {"first": GRINNELL_FIRST, "final": MISKEYED_FINAL, "delegates": wrong}
    done = rita.post(f"/hq/recanvass/{request.label}/correct",
                     _form({**current, "final": GRINNELL_FINAL, "delegates": GRINNELL_DELEGATES},
                           note="worksheet re-checked with the chair", key="r1", action="record",
                           **{"supersedes.final": "3", "supersedes.delegates": "4"}))
    assert done.status_code == 303, done.text
    (item,) = svc.recanvass.progress(request.id).precincts
    assert item.outcome == "changed"
    assert item.delegates("before") == wrong and item.delegates("after") == GRINNELL_DELEGATES
    assert {e.reason for e in item.corrections} == {"R-1 recanvass: worksheet re-checked with the chair"}
    assert len({e.correction_id for e in item.corrections}) == 1
    page = rita.get(f"/hq/recanvass/{request.label}").text
    row = re.search(r'<tr class="differs" data-group="Buttigieg">(.*?)</tr>', page)
    assert row is not None and f"<td>{wrong.get('Buttigieg', '–')}</td><td>3</td>" in row.group(1)
