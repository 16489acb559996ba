"""Corrections of several stages at once over HTTP (POST /api/v1/corrections), on SQLite and PostgreSQL.

Grinnell 2nd Ward 07 (Poweshiek, D = 17, N = 328; RULES.md §13.3 R1): the chair first keys a final alignment
with 5 of Buttigieg's people in Warren's row (Buttigieg 50, Warren 129) and the delegates the phone derives
from it, then corrects the final alignment from the worksheet. The delegates move, so the final alignment
alone is refused (the reported delegates no longer match) and the two go together as one correction. The
expected values after it are the certified ones (tests/web/support.py), not our own arithmetic.
"""

from __future__ import annotations

import uuid
from typing import Any

from caucus.ledger import audit_events, entries, verify_chain
from caucus.rules import IOWA_2020, allocate
from tests.web.conftest import Web
from tests.web.support import (
    GRINNELL,
    GRINNELL_DELEGATES,
    GRINNELL_FINAL,
    GRINNELL_FIRST,
    GRINNELL_SDE,
    READLYN,
    SLUG,
    Chair,
    assert_error,
    fields_of,
)

MISKEYED_FINAL = {**GRINNELL_FINAL, "Buttigieg": 50, "Warren": 129}


def _phone_delegates(final: dict[str, int]) -> dict[str, int]:
    """What the chair's phone derives from a final alignment (the same exact math as caucus-math.js)."""
    allocation = allocate(17, 328, final, IOWA_2020)
    return {g: d for g, d in allocation.delegates.items() if d}


def _report_miskeyed(chair: Chair) -> dict[str, int]:
    wrong = _phone_delegates(MISKEYED_FINAL)
    for stage, numbers in [("attendance", {"attendance": 328}), ("first", {"counts": GRINNELL_FIRST}),
                           ("final", {"counts": MISKEYED_FINAL}), ("delegates", {"delegates": wrong})]:
        response = chair.stage(stage, numbers)
        assert response.status_code == 201, response.text
    return wrong


def _correct(chair: Chair, body: dict[str, Any], key: str | None = None) -> Any:
    return chair.client.post("/api/v1/corrections", json=body,
                             headers={**chair.auth, "Idempotency-Key": key or str(uuid.uuid4())})


FIX = {"reason": "worksheet: 5 of Buttigieg's people were keyed in Warren's row",
       "stages": [{"stage": "final", "supersedes_seq": 3, "counts": GRINNELL_FINAL, "chance": []},
                  {"stage": "delegates", "supersedes_seq": 4, "delegates": GRINNELL_DELEGATES}]}


def test_a_correction_of_final_and_delegates_that_moves_a_delegate_is_recorded_as_one(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    wrong = _report_miskeyed(chair)
    assert wrong != GRINNELL_DELEGATES  # the miskeyed final gives other delegates: one moves back
    # the bug of issue 11: either stage alone is refused, because the other no longer matches
    alone = chair.stage("final", {"counts": GRINNELL_FINAL}, supersedes_seq=3, reason="worksheet")
    assert "delegates-differ" in fields_of(assert_error(alone, 422, "report-rejected")).values()

    response = _correct(chair, FIX, key="fix-grinnell")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["replayed"] is False
    receipts = body["receipts"]
    assert [(r["seq"], r["stage"], r["supersedes_seq"]) for r in receipts] == [(5, "final", 3), (6, "delegates", 4)]
    assert {r["correction_id"] for r in receipts} == {body["correction_id"]}
    assert [r["idempotency_key"] for r in receipts] == ["fix-grinnell/final", "fix-grinnell/delegates"]
    assert body["status"]["state"] == "accepted", body["status"]["reasons"]
    assert body["recomputed"]["delegates"] == GRINNELL_DELEGATES
    assert body["recomputed"]["sde"] == GRINNELL_SDE

    stored = entries(web.engine, SLUG, GRINNELL)
    assert [(e.seq, e.stage, e.supersedes_seq, e.correction_id) for e in stored[4:]] == [
        (5, "final", 3, body["correction_id"]), (6, "delegates", 4, body["correction_id"])]
    assert {e.reason for e in stored[4:]} == {FIX["reason"]}
    assert all(e.correction_id is None for e in stored[:4])
    assert verify_chain(web.engine, SLUG).ok

    # the precinct's own status shows each receipt's correction
    history = chair.client.get("/api/v1/precinct", headers=chair.auth).json()["history"]
    assert [(h["seq"], h["superseded_by"]) for h in history] == [(1, None), (2, None), (3, 5), (4, 6), (5, None),
                                                                  (6, None)]


def test_a_retry_returns_the_original_receipts_and_other_content_under_the_key_conflicts(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    _report_miskeyed(chair)
    first = _correct(chair, FIX, key="retry-me")
    assert first.status_code == 201
    again = _correct(chair, FIX, key="retry-me")
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert again.json()["receipts"] == first.json()["receipts"]
    assert again.json()["correction_id"] == first.json()["correction_id"]
    assert len(entries(web.engine, SLUG, GRINNELL)) == 6
    other = {**FIX, "reason": "something else"}
    error = assert_error(_correct(chair, other, key="retry-me"), 409, "idempotency-conflict")
    assert "retry-me" in error["message"]
    assert len(entries(web.engine, SLUG, GRINNELL)) == 6


def test_one_bad_stage_records_nothing_and_is_audited(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    wrong = _report_miskeyed(chair)
    # the corrected final with the OLD delegates: the whole is impossible, so neither stage is recorded
    bad = {"reason": "worksheet", "stages": [
        {"stage": "final", "counts": GRINNELL_FINAL, "chance": []},
        {"stage": "delegates", "delegates": wrong}]}
    error = assert_error(_correct(chair, bad), 422, "report-rejected")
    assert fields_of(error) == {"stages[1].delegates": "delegates-differ"}, error
    assert error["message"].startswith("the correction was not recorded")
    assert len(entries(web.engine, SLUG, GRINNELL)) == 4
    (event,) = [e for e in audit_events(web.engine, SLUG) if e.action == "report.correct"]
    assert event.outcome == "rejected:report-rejected"
    assert [s["stage"] for s in event.detail["stages"]] == ["final", "delegates"]


def test_a_stale_supersedes_seq_is_refused_naming_the_current_entry(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    _report_miskeyed(chair)
    assert _correct(chair, FIX).status_code == 201
    # a second phone (or a retry with a new key) still believes entries #3 and #4 are current
    stale = {**FIX, "reason": "again"}
    error = assert_error(_correct(chair, stale), 409, "correction-invalid")
    assert fields_of(error) == {"stages[0].supersedes_seq": "correction-invalid"}
    assert "#5" in error["message"] and "corrected by entry #5" in error["message"]
    assert len(entries(web.engine, SLUG, GRINNELL)) == 6


def test_a_chair_cannot_correct_another_precinct_or_a_stage_never_reported(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    _report_miskeyed(chair)
    error = assert_error(_correct(chair, {**FIX, "precinct": READLYN}), 403, "wrong-precinct")
    assert READLYN in error["message"]
    other = web.sign_in(READLYN)
    error = assert_error(_correct(other, {"reason": "x", "stages": [
        {"stage": "attendance", "attendance": 40}]}), 409, "correction-invalid")
    assert fields_of(error) == {"stages[0].stage": "correction-invalid"}
    # the supersedes_seq of another precinct's entry is not current here
    error = assert_error(_correct(other, {"reason": "x", "stages": [
        {"stage": "attendance", "supersedes_seq": 1, "attendance": 40}]}), 409, "correction-invalid")
    assert len(entries(web.engine, SLUG, GRINNELL)) == 4
    assert entries(web.engine, SLUG, READLYN) == []


def test_bad_bodies_name_the_field_and_the_rule(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    _report_miskeyed(chair)
    twice = {"reason": "x", "stages": [{"stage": "attendance", "attendance": 328},
                                       {"stage": "attendance", "attendance": 329}]}
    assert fields_of(assert_error(_correct(chair, twice), 422)) == {"stages[1].stage": "duplicate-stage"}
    unknown = {"reason": "x", "stages": [{"stage": "final", "counts": {**GRINNELL_FINAL, "Nobody": 3}}]}
    assert fields_of(assert_error(_correct(chair, unknown), 422, "unknown-candidate")) == {
        "stages[0].counts.Nobody": "unknown-candidate"}
    assert_error(_correct(chair, {"stages": FIX["stages"]}), 422)  # the reason is required
    assert_error(_correct(chair, {"reason": "x", "stages": []}), 422)
    assert_error(_correct(chair, {**FIX, "extra": 1}), 422)
    negative = {"reason": "x", "stages": [{"stage": "attendance", "attendance": -1}]}
    assert_error(_correct(chair, negative), 422)
    assert len(entries(web.engine, SLUG, GRINNELL)) == 4


def test_first_and_final_corrected_together(web: Web) -> None:
    """A first alignment miscounted so low that the real final alignment exceeds it: only the two together
    are possible (the final alone would exceed the old first; the first alone is below the final)."""
    chair = web.sign_in(GRINNELL)
    low_first = {**GRINNELL_FIRST, "Warren": 95}
    low_final = {**GRINNELL_FINAL, "Warren": 104}
    delegates = _phone_delegates(low_final)
    for stage, numbers in [("attendance", {"attendance": 328}), ("first", {"counts": low_first}),
                           ("final", {"counts": low_final}), ("delegates", {"delegates": delegates})]:
        assert chair.stage(stage, numbers).status_code == 201
    response = _correct(chair, {"reason": "worksheet: Warren 115 then 124", "stages": [
        {"stage": "first", "counts": GRINNELL_FIRST},
        {"stage": "final", "counts": GRINNELL_FINAL},
        {"stage": "delegates", "delegates": GRINNELL_DELEGATES}]})
    assert response.status_code == 201, response.text
    assert response.json()["status"]["state"] == "accepted"
    assert [r["stage"] for r in response.json()["receipts"]] == ["first", "final", "delegates"]
