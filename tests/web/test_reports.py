"""Submitting stages over HTTP, on SQLite and PostgreSQL: what lands in the ledger, what is refused, replays.

The happy path is a real precinct: Grinnell 2nd Ward 07 (Poweshiek), D = 17, N = 328 (RULES.md §13.3 R1).
"""

from __future__ import annotations

from caucus.ledger import audit_events, entries, verify_chain
from tests.web.conftest import Web
from tests.web.support import (
    GRINNELL,
    GRINNELL_DELEGATES,
    GRINNELL_FINAL,
    GRINNELL_FIRST,
    GRINNELL_SDE,
    READLYN,
    READLYN_COUNTS,
    SLUG,
    STAGES,
    Chair,
    assert_error,
    fields_of,
)


def _refusals(web: Web) -> list[dict[str, object]]:
    return [e.detail for e in audit_events(web.engine, SLUG) if e.action == "report.submit"]


def test_a_real_precinct_reports_every_stage_and_the_ledger_holds_exactly_what_was_sent(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    expected_states = ["reported", "reported", "reported", "accepted"]
    for seq, ((stage, numbers), state) in enumerate(zip(STAGES, expected_states, strict=True), start=1):
        response = chair.stage(stage, numbers)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["replayed"] is False
        assert body["receipt"]["seq"] == seq and body["receipt"]["stage"] == stage
        assert body["receipt"]["idempotency_key"] == chair.keys[-1]
        assert body["receipt"]["received_at"].startswith("2020-02-04T01:00:00")
        assert body["precinct"]["state"] == state
        assert body["findings"] == []
    recomputed = body["recomputed"]
    assert recomputed["delegates"] == GRINNELL_DELEGATES
    assert recomputed["sde"] == GRINNELL_SDE
    assert (recomputed["threshold"], recomputed["delegates_to_elect"], recomputed["attendance"]) == (50, 17, 328)
    assert recomputed["pending_chance"] is None and recomputed["status"] == "complete"
    assert body["precinct"]["reasons"] == ["all four stages reported; the server reproduces the delegates"]

    stored = entries(web.engine, SLUG, GRINNELL)
    assert [(e.seq, e.stage, e.channel, e.actor) for e in stored] == [
        (1, "attendance", "app", f"chair:{GRINNELL}"),
        (2, "first", "app", f"chair:{GRINNELL}"),
        (3, "final", "app", f"chair:{GRINNELL}"),
        (4, "delegates", "app", f"chair:{GRINNELL}"),
    ]
    assert [e.payload for e in stored] == [
        {"attendance": 328},
        {"counts": GRINNELL_FIRST},
        {"counts": GRINNELL_FINAL, "chance": []},
        {"delegates": GRINNELL_DELEGATES},
    ]
    assert [e.idempotency_key for e in stored] == chair.keys
    assert [e.content_hash for e in stored][-1] == body["receipt"]["content_hash"]
    assert verify_chain(web.engine, SLUG).ok


def test_a_retry_with_the_same_key_gets_the_same_receipt_and_stores_one_row(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    first = chair.stage("attendance", {"attendance": 328}, key="retry-1")
    again = chair.stage("attendance", {"attendance": 328}, key="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"] is True
    assert again.json()["receipt"] == first.json()["receipt"]
    assert {k: v for k, v in again.json().items() if k != "replayed"} == {
        k: v for k, v in first.json().items() if k != "replayed"}
    assert len(entries(web.engine, SLUG, GRINNELL)) == 1


def test_the_same_key_with_other_numbers_is_a_conflict_naming_the_key_and_the_original_entry(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    assert chair.stage("attendance", {"attendance": 328}, key="k-7").status_code == 201
    error = assert_error(chair.stage("attendance", {"attendance": 329}, key="k-7"), 409, "idempotency-conflict")
    assert error["message"] == ("idempotency key 'k-7' was already used by entry #1 with a different payload; "
                                "use a new key for new content")
    assert fields_of(error) == {"idempotency_key": "idempotency-conflict"}
    # another precinct's chair reusing the key: refused by the ledger itself
    other = web.sign_in(READLYN)
    assert_error(other.stage("attendance", {"attendance": 37}, key="k-7"), 409, "idempotency-conflict")
    assert [e.payload for e in entries(web.engine, SLUG)] == [{"attendance": 328}]
    assert [d["payload"] for d in _refusals(web)] == [{"attendance": 329}]


def test_a_correction_names_the_entry_it_replaces_and_why(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    assert chair.stage("attendance", {"attendance": 330}).status_code == 201
    no_reason = assert_error(chair.stage("attendance", {"attendance": 328}, supersedes_seq=1), 422, "invalid-report")
    assert no_reason["message"] == "a correction (superseding entry #1) needs a reason"
    stray = assert_error(chair.stage("attendance", {"attendance": 328}, reason="typo"), 422, "invalid-report")
    assert fields_of(stray) == {"reason": "reason-without-correction"}
    again = assert_error(chair.stage("attendance", {"attendance": 328}), 409, "stage-already-reported")
    assert again["message"].startswith("the attendance stage was already reported (entry #1 at 7:00 pm CST); "
                                       "to correct it, send supersedes_seq 1 with a reason")

    fixed = chair.stage("attendance", {"attendance": 328}, supersedes_seq=1, reason="miscounted the sign-in sheet")
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["receipt"]["supersedes_seq"] == 1
    precinct = fixed.json()["precinct"]
    assert precinct["stages"]["attendance"][0]["numbers"] == {"attendance": 328}
    assert [(h["seq"], h["superseded_by"], h["reason"]) for h in precinct["history"]] == [
        (1, 2, None), (2, None, "miscounted the sign-in sheet")]

    twice = assert_error(chair.stage("attendance", {"attendance": 327}, supersedes_seq=1, reason="again"), 409,
                         "correction-invalid")
    assert twice["message"] == "entry #1 was already corrected by entry #2; to correct it again, supersede #2"
    assert chair.stage("first", {"counts": GRINNELL_FIRST}).status_code == 201
    wrong_stage = assert_error(chair.stage("first", {"counts": GRINNELL_FIRST}, supersedes_seq=2, reason="x"), 409,
                               "correction-invalid")
    assert wrong_stage["message"] == ("entry #2 is the attendance, not the first alignment; a correction replaces a "
                                      "report of the same stage")
    foreign = assert_error(chair.stage("first", {"counts": GRINNELL_FIRST}, supersedes_seq=99, reason="x"), 409,
                           "correction-invalid")
    assert foreign["message"] == f"entry #99 is not one of precinct {GRINNELL}'s reports"
    assert [e.payload for e in entries(web.engine, SLUG)] == [
        {"attendance": 330}, {"attendance": 328}, {"counts": GRINNELL_FIRST}]
    assert [d["error"] for d in _refusals(web)][:2] == [no_reason["message"], stray["message"]]


def test_a_blocking_finding_refuses_the_stage_per_field_and_stores_only_an_audit_event(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    chair.stage("attendance", {"attendance": 328})
    too_many = dict(GRINNELL_FIRST, Warren=116)  # 329 people at first alignment, 328 attended
    error = assert_error(chair.stage("first", {"counts": too_many}), 422, "report-rejected")
    assert error["message"] == "the first alignment was not recorded: first alignment total 329 exceeds attendance 328"
    assert error["fields"] == [{"field": "counts", "code": "first-exceeds-attendance",
                                "message": "first alignment total 329 exceeds attendance 328"}]

    chair.stage("first", {"counts": GRINNELL_FIRST})
    realigned = dict(GRINNELL_FINAL, Warren=110, Biden=14)  # a viable group may not lose members
    error = assert_error(chair.stage("final", {"counts": realigned}), 422, "report-rejected")
    assert fields_of(error) == {"counts.Warren": "viable-group-lost-members"}
    assert "Warren was viable at first alignment with 115 people but has 110" in error["message"]

    assert [e.stage for e in entries(web.engine, SLUG, GRINNELL)] == ["attendance", "first"]
    refused = _refusals(web)
    assert [(d["stage"], d["payload"]) for d in refused] == [
        ("first", {"counts": too_many}), ("final", {"counts": realigned, "chance": []})]
    assert refused[0]["fields"] == [{"field": "counts", "code": "first-exceeds-attendance",
                                     "message": "first alignment total 329 exceeds attendance 328"}]
    events = [e for e in audit_events(web.engine, SLUG) if e.action == "report.submit"]
    assert {e.outcome for e in events} == {"rejected:report-rejected"}
    assert {e.actor for e in events} == {f"chair:{GRINNELL}"}


def test_reported_delegates_that_differ_from_the_recomputation_are_refused(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    for stage, numbers in STAGES[:3]:
        assert chair.stage(stage, numbers).status_code == 201
    wrong = {"Buttigieg": 4, "Klobuchar": 4, "Sanders": 4, "Warren": 5}
    error = assert_error(chair.stage("delegates", {"delegates": wrong}), 422, "report-rejected")
    assert error["message"] == ("the delegates were not recorded: reported delegates differ from the recomputed ones: "
                                "Buttigieg 4 (recomputed 3), Warren 5 (recomputed 6)")
    assert fields_of(error) == {"delegates": "delegates-differ"}
    assert len(entries(web.engine, SLUG, GRINNELL)) == 3


def test_a_warning_is_stored_and_holds_the_precinct_for_review(web: Web) -> None:
    chair = web.sign_in("Adair/01NW")
    response = chair.stage("attendance", {"attendance": 0})
    assert response.status_code == 201, response.text
    body = response.json()
    assert [f["code"] for f in body["findings"]] == ["no-attendance"]
    assert body["findings"][0]["severity"] == "warning"
    assert body["precinct"]["state"] == "held-for-review"
    assert body["precinct"]["reasons"] == [
        "no-attendance: attendance is 0: nobody caucused, so no delegates are awarded of the precinct's 8"]
    assert chair.status().json()["state"] == "held-for-review"
    assert [e.payload for e in entries(web.engine, SLUG, "Adair/01NW")] == [{"attendance": 0}]


def test_a_required_game_of_chance_without_its_outcome_is_refused_naming_who_is_tied(web: Web) -> None:
    chair: Chair = web.sign_in(READLYN)
    chair.stage("attendance", {"attendance": 37})
    chair.stage("first", {"counts": READLYN_COUNTS})
    error = assert_error(chair.stage("final", {"counts": READLYN_COUNTS}), 422, "report-rejected")
    assert error["message"] == ("the final alignment was not recorded: a game of chance is required: 1 of Sanders, "
                                "Warren must lose viability by a game of chance")
    assert fields_of(error) == {"chance": "chance-required"}

    coin = [{"kind": "drop", "among": ["Sanders", "Warren"], "selected": ["Sanders"]}]
    response = chair.stage("final", {"counts": READLYN_COUNTS, "chance": coin})
    assert response.status_code == 201, response.text
    assert response.json()["recomputed"]["delegates"] == {
        "Biden": 1, "Buttigieg": 1, "Klobuchar": 1, "Sanders": 0, "Warren": 1}
    done = chair.stage("delegates", {"delegates": {"Biden": 1, "Buttigieg": 1, "Klobuchar": 1, "Warren": 1}})
    assert done.status_code == 201, done.text
    assert done.json()["precinct"]["state"] == "accepted"
    bad = [{"kind": "drop", "among": ["Sanders", "Warren"], "selected": ["Biden"]}]
    other = web.sign_in("Adair/01NW")
    assert other.stage("attendance", {"attendance": 37}).status_code == 201
    assert other.stage("first", {"counts": READLYN_COUNTS}).status_code == 201
    wrong = assert_error(other.stage("final", {"counts": READLYN_COUNTS, "chance": bad}), 422, "report-rejected")
    assert fields_of(wrong) == {"chance": "chance-outcome-invalid"}


def test_a_chair_cannot_report_for_another_precinct(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    error = assert_error(chair.stage("attendance", {"attendance": 10}, precinct="Adair/01NW"), 403, "wrong-precinct")
    assert error["message"] == f"this session is for precinct {GRINNELL}; it cannot report for Adair/01NW"
    assert chair.stage("attendance", {"attendance": 328}, precinct=GRINNELL).status_code == 201
    assert [e.precinct_code for e in entries(web.engine, SLUG)] == [GRINNELL]
    assert [d["error"] for d in _refusals(web)] == [error["message"]]


def test_stages_come_in_order(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    error = assert_error(chair.stage("final", {"counts": GRINNELL_FINAL}), 409, "stage-out-of-order")
    assert error["message"] == (
        "report the attendance and the first alignment before the final alignment: stages come in the order "
        f"attendance, first alignment, final alignment, delegates (precinct {GRINNELL} has reported nothing yet)")
    chair.stage("attendance", {"attendance": 328})
    error = assert_error(chair.stage("delegates", {"delegates": GRINNELL_DELEGATES}), 409, "stage-out-of-order")
    assert "(precinct Poweshiek/7 has reported attendance)" in error["message"]
    assert entries(web.engine, SLUG, GRINNELL)[-1].stage == "attendance"


def test_a_chair_can_confirm_flagged_numbers_which_are_recorded_and_held_for_review(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    for stage, numbers in STAGES[:2]:
        assert chair.stage(stage, numbers).status_code == 201
    realigned = dict(GRINNELL_FINAL, Warren=110, Biden=14)  # what the worksheet says, against the rules
    assert_error(chair.stage("final", {"counts": realigned}), 422, "report-rejected")
    response = chair.stage("final", {"counts": realigned}, confirm=True)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["precinct"]["state"] == "held-for-review"
    assert "viable-group-lost-members" in {f["code"] for f in body["findings"]}
    stored = entries(web.engine, SLUG, GRINNELL)[-1]
    assert stored.payload == {"counts": realigned, "chance": [], "confirmed": True}
    # a retry of the same confirmed report is a replay, not a second row
    again = chair.stage("final", {"counts": realigned}, key=chair.keys[-1], confirm=True)
    assert again.status_code == 200 and again.json()["receipt"]["seq"] == stored.seq
    assert len(entries(web.engine, SLUG, GRINNELL)) == 3
