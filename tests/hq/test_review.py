"""Review: the queue, accepting a version (ledger corrections), accepting findings (a decision naming the
ledger position), corrections with a reason, paper transcriptions, messages to the chair; all audited.
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from caucus.ledger import audit_events, entries
from caucus.service import StageReport
from caucus.service.hq_errors import ReviewActionInvalid
from caucus.web.services import Services
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, GRINNELL_DELEGATES, SLUG, STAGES

RITA = "reviewer:rita"
NOBODY_CAME = "Adams/AD1"  # D = 8; attendance 0 is legal but flagged (no-attendance, a warning)


def test_a_conflict_between_app_and_hotline_is_resolved_by_accepting_a_version(hq: Web, svc: Services) -> None:
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    call = svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL]).id
    svc.hotline.enter("kim", call, StageReport("attendance", {"attendance": 238}), "hot-1")  # misheard
    status = svc.review.status(GRINNELL)
    assert status.state == "conflicting"
    view = svc.review.side_by_side(status)[0]
    assert view.stage == "attendance" and view.differing == {"attendance"}
    assert [(v.entry.channel, v.numbers["attendance"]) for v in view.versions] == [("app", 328), ("hotline", 238)]
    status = svc.review.accept_version(RITA, GRINNELL, 1, "the worksheet photo shows 328", "rev-1")
    assert status.state == "accepted", status.reasons
    correction = entries(hq.engine, SLUG, GRINNELL)[-1]
    assert (correction.channel, correction.actor, correction.supersedes_seq, correction.payload) == (
        "hotline", RITA, 5, {"attendance": 328})
    assert correction.reason == "review: accepted entry #1 (app, precinct chair): the worksheet photo shows 328"
    assert "attendance" in status.confirmed_hotline
    assert svc.review.queue() == []
    event = next(e for e in audit_events(hq.engine, SLUG) if e.action == "review.accept-version")
    assert (event.actor, event.detail["corrected"]) == (RITA, [5])
    with pytest.raises(ReviewActionInvalid, match="already agrees"):
        svc.review.accept_version(RITA, GRINNELL, 1, "again", "rev-2")


def test_findings_are_accepted_as_of_a_ledger_position_and_a_later_entry_holds_it_again(
        hq: Web, svc: Services) -> None:
    chair = hq.sign_in(NOBODY_CAME)
    nobody = {"Biden": 0}
    for stage, numbers in [("attendance", {"attendance": 0}), ("first", {"counts": nobody}),
                           ("final", {"counts": nobody}), ("delegates", {"delegates": nobody})]:
        assert chair.stage(stage, numbers).status_code == 201, stage
    status = svc.review.status(NOBODY_CAME)
    assert status.state == "held-for-review" and status.evaluation.findings[0].code == "no-attendance"
    assert [i.why for i in svc.review.queue()] == [("held-for-review",)]
    # the queue page: the status once, and the reason itself (not the status again under "Why")
    add_staff(hq.engine, "rita", "reviewer")
    page = sign_in(hq.client, "rita").get("/hq/review").text
    row = page[page.index(f">{NOBODY_CAME}</a>"):][:600]
    assert row.count("held-for-review") == 2, row  # the status's class and its text
    assert "<td>–</td>" in row and "attendance" in row.split("<td>")[-1], row
    with pytest.raises(ReviewActionInvalid, match="changed since you looked"):
        svc.review.accept_precinct(RITA, NOBODY_CAME, 3, "nobody came: confirmed by phone")
    status = svc.review.accept_precinct(RITA, NOBODY_CAME, 4, "nobody came: confirmed by phone")
    assert status.state == "accepted" and status.accepted_by is not None and status.accepted_by.actor == RITA
    assert svc.review.queue() == []
    # a correction after the decision makes it stale: the precinct is held again
    chair.stage("attendance", {"attendance": 0}, supersedes_seq=1, reason="re-sent")
    assert svc.review.status(NOBODY_CAME).state == "held-for-review"


def test_impossible_numbers_cannot_be_accepted_only_corrected(hq: Web, svc: Services) -> None:
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES[:3]:
        chair.stage(stage, numbers)
    wrong = {**GRINNELL_DELEGATES, "Sanders": 3, "Warren": 7}  # the chair insists on numbers the math refutes
    assert chair.stage("delegates", {"delegates": wrong}, confirm=True).status_code == 201
    status = svc.review.status(GRINNELL)
    assert status.state == "held-for-review" and status.evaluation.blocking
    with pytest.raises(ReviewActionInvalid, match="impossible under the rules"):
        svc.review.accept_precinct(RITA, GRINNELL, 4, "the chair insists")
    status = svc.review.correct(RITA, GRINNELL, {"delegates": {"delegates": GRINNELL_DELEGATES}},
                                reason="worksheet photo: Sanders 4, Warren 6", key="fix-1")
    assert status.state == "accepted", status.reasons
    last = entries(hq.engine, SLUG, GRINNELL)[-1]
    assert (last.supersedes_seq, last.actor, last.reason) == (4, RITA, "worksheet photo: Sanders 4, Warren 6")


def test_a_reviewer_transcribes_a_photo_as_paper_and_messages_the_chair(hq: Web, svc: Services) -> None:
    result = svc.review.transcribe(RITA, GRINNELL, StageReport("attendance", {"attendance": 328}), "paper-1",
                                   photo_id=None)
    assert (result.receipt.channel, result.receipt.seq) == ("paper", 1)
    svc.review.message_chair(RITA, GRINNELL, "please call HQ about your first alignment", "call-hq")
    sent = svc.messages.for_precinct(GRINNELL)
    assert [(m.kind, m.actor, m.text) for m in sent] == [("call-hq", RITA,
                                                          "please call HQ about your first alignment")]
    actions = [e.action for e in audit_events(hq.engine, SLUG) if e.actor == RITA]
    assert "review.transcribe" in actions and "review.message" in actions
