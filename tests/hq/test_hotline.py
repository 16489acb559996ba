"""The hotline: no hotline code, no entry; the app's checks; four eyes (a second operator or the chair's own
report must match before a hotline entry counts; a mismatch goes to review); the call log. Real numbers:
Grinnell 2nd ward (RULES.md §13.3 R1) on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from caucus.ledger import IdempotencyConflict, audit_events, entries, revoke_credential
from caucus.service import ReportRejected, StageReport, TooManySignIns
from caucus.service.hq_errors import CallerNotVerified
from caucus.web.services import Services
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, GRINNELL_DELEGATES, GRINNELL_FINAL, GRINNELL_FIRST, SLUG, STAGES


def key() -> str:
    return str(uuid.uuid4())


def keyed(svc: Services, operator: str, call: int, stages: list[tuple[str, dict[str, object]]]) -> None:
    for stage, payload in stages:
        svc.hotline.enter(operator, call, StageReport(stage, payload), key())  # type: ignore[arg-type]


def test_no_code_no_entry_and_prank_calls_never_lock_the_precinct(hq: Web, svc: Services) -> None:
    with pytest.raises(CallerNotVerified, match="take no numbers from this call"):
        svc.hotline.verify_caller("kim", GRINNELL, "ABCD-EFGH-JKMN", "prank?")
    with pytest.raises(CallerNotVerified, match="verify the caller first"):
        svc.hotline.enter("kim", 1, StageReport("attendance", {"attendance": 328}), key())
    assert entries(hq.engine, SLUG, GRINNELL) == []
    for _ in range(3):
        with pytest.raises(CallerNotVerified):
            svc.hotline.verify_caller("lee", GRINNELL, "ABCD-EFGH-JKMP")
    with pytest.raises(TooManySignIns, match="hand the call to another operator") as throttled:
        svc.hotline.verify_caller("lee", GRINNELL, hq.hotline_codes[GRINNELL])
    assert throttled.value.retry_after == 5
    # four prank calls: the chair still signs in to the app, and kim verifies the real call at once
    response = hq.client.post("/api/v1/session", json={"precinct": GRINNELL, "credential": hq.secrets[GRINNELL]})
    assert response.status_code == 201, response.text
    call = svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL])
    log = svc.hotline.calls(GRINNELL)
    assert [c.outcome for c in log] == ["bad-credential"] * 4 + ["verified"]
    assert log[0].note == "prank?" and log[-1].id == call.id


def test_a_call_for_a_precinct_whose_card_was_revoked_says_so(hq: Web, svc: Services) -> None:
    with pytest.raises(CallerNotVerified, match=r"does not match precinct .*'s active hotline code"):
        svc.hotline.verify_caller("kim", GRINNELL, "ABCD-EFGH-JKMN")
    revoke_credential(hq.engine, SLUG, GRINNELL)
    with pytest.raises(CallerNotVerified, match="has no active card \\(revoked or never issued\\)"):
        svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL])
    assert entries(hq.engine, SLUG, GRINNELL) == []


def test_a_single_operators_entry_does_not_count_until_a_second_operator_matches(hq: Web, svc: Services) -> None:
    call = svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL]).id
    keyed(svc, "kim", call, STAGES)
    status = svc.review.status(GRINNELL)
    assert status.state == "reported"
    assert set(status.unconfirmed_hotline) == {"attendance", "first", "final", "delegates"}
    assert status.evaluation.stages == ()  # nothing counts yet
    assert any("waits for a second operator's entry" in r for r in status.reasons)
    second = svc.hotline.verify_caller("lee", GRINNELL, hq.hotline_codes[GRINNELL]).id
    keyed(svc, "lee", second, STAGES)
    status = svc.review.status(GRINNELL)
    assert status.state == "accepted", status.reasons
    assert status.evaluation.recomputed.delegates == GRINNELL_DELEGATES
    assert [e.actor for e in status.confirmed_hotline["final"]] == ["operator:kim", "operator:lee"]
    rows = entries(hq.engine, SLUG, GRINNELL)
    assert {(e.channel, e.actor) for e in rows} == {("hotline", "operator:kim"), ("hotline", "operator:lee")}
    entered = [(e.actor, e.detail["seq"]) for e in audit_events(hq.engine, SLUG) if e.action == "hotline.enter"]
    assert entered == [(e.actor, e.seq) for e in rows]


def test_the_chairs_own_app_report_confirms_a_hotline_entry(hq: Web, svc: Services) -> None:
    chair = hq.sign_in(GRINNELL)
    chair.stage("attendance", {"attendance": 328})
    call = svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL]).id
    keyed(svc, "kim", call, STAGES[:2])
    status = svc.review.status(GRINNELL)
    assert "attendance" in status.confirmed_hotline and "first" in status.unconfirmed_hotline
    assert status.state == "reported"


def test_two_operators_who_disagree_send_the_precinct_to_review(hq: Web, svc: Services) -> None:
    kim = svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL]).id
    lee = svc.hotline.verify_caller("lee", GRINNELL, hq.hotline_codes[GRINNELL]).id
    keyed(svc, "kim", kim, [("attendance", {"attendance": 328})])
    keyed(svc, "lee", lee, [("attendance", {"attendance": 238})])  # misheard
    status = svc.review.status(GRINNELL)
    assert status.state == "conflicting"
    assert [i.code for i in svc.review.queue()] == [GRINNELL]
    assert svc.review.queue()[0].why[0] == "conflicting"


def test_the_hotline_runs_the_apps_checks(hq: Web, svc: Services) -> None:
    call = svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL]).id
    keyed(svc, "kim", call, STAGES[:1])
    too_many = {**GRINNELL_FIRST, "Warren": 400}  # 563 people in the first alignment of a 328-person caucus
    with pytest.raises(ReportRejected, match="first alignment"):
        svc.hotline.enter("kim", call, StageReport("first", {"counts": too_many}), key())
    assert len(entries(hq.engine, SLUG, GRINNELL)) == 1
    refused = [e for e in audit_events(hq.engine, SLUG) if e.outcome.startswith("rejected:")]
    assert refused[-1].actor == "operator:kim" and refused[-1].detail["channel"] == "hotline"


def test_an_operator_keys_in_through_the_console_and_reads_it_back(hq_sqlite: Web) -> None:
    web = hq_sqlite
    add_staff(web.engine, "kim", "operator")
    kim = sign_in(web.client, "kim")
    refused = kim.post("/hq/hotline/calls", {"precinct": GRINNELL, "hotline_code": "ABCD-EFGH-JKMN"})
    assert refused.status_code == 422 and "take no numbers from this call" in refused.text
    verified = kim.post("/hq/hotline/calls", {"precinct": GRINNELL, "hotline_code": web.hotline_codes[GRINNELL]})
    assert verified.status_code == 303
    call_url = verified.headers["location"]
    page = kim.get(call_url)
    assert "Key in the attendance" in page.text
    bad = kim.post(f"{call_url}/stages", {"stage": "attendance", "attendance": "three", "key": "k1"})
    assert bad.status_code == 422 and "attendance must be a whole number" in bad.text
    done = kim.post(f"{call_url}/stages", {"stage": "attendance", "attendance": "328", "key": "k1"})
    assert done.status_code == 303
    page = kim.get(done.headers["location"])
    assert "recorded as entry #1; read it back to the caller" in page.text
    assert "328 attendees" in page.text and "waiting for a second operator or the chair" in page.text
    first = {f"n.{name}": str(n) for name, n in GRINNELL_FIRST.items()}
    assert kim.post(f"{call_url}/stages", {"stage": "first", "key": "k2", **first}).status_code == 303
    final = {f"n.{name}": str(n) for name, n in GRINNELL_FINAL.items()}
    assert kim.post(f"{call_url}/stages", {"stage": "final", "key": "k3", **final}).status_code == 303
    log = kim.get(f"/hq/calls/{GRINNELL}")
    assert log.text.count("verified") == 1 and log.text.count("bad-credential") == 1


def test_a_stage_sent_twice_with_the_same_key_is_answered_with_the_first_entry(hq: Web, svc: Services) -> None:
    """A double click, or the form re-sent after a lost answer, creates no second row and no refusal."""
    call = svc.hotline.verify_caller("kim", GRINNELL, hq.hotline_codes[GRINNELL]).id
    once = svc.hotline.enter("kim", call, StageReport("attendance", {"attendance": 328}), "form-key-1")
    again = svc.hotline.enter("kim", call, StageReport("attendance", {"attendance": 328}), "form-key-1")
    assert not once.replayed and again.replayed and again.receipt.seq == once.receipt.seq
    with pytest.raises(IdempotencyConflict, match="form-key-1"):
        svc.hotline.enter("kim", call, StageReport("attendance", {"attendance": 329}), "form-key-1")
    assert [e.payload for e in entries(hq.engine, SLUG, GRINNELL)] == [{"attendance": 328}]


def test_an_operator_corrects_an_entry_the_caller_disputes_on_read_back(hq_sqlite: Web) -> None:
    web = hq_sqlite
    add_staff(web.engine, "kim", "operator")
    kim = sign_in(web.client, "kim")
    call_url = kim.post("/hq/hotline/calls", {"precinct": GRINNELL, "hotline_code": web.hotline_codes[GRINNELL]}
                        ).headers["location"]
    kim.post(f"{call_url}/stages", {"stage": "attendance", "attendance": "238", "key": "k1"})
    page = kim.get(call_url).text
    assert "Correct entry #1" in page
    no_reason = kim.post(f"{call_url}/stages", {"stage": "attendance", "attendance": "328", "key": "k2",
                                                "supersedes_seq": "1"})
    assert no_reason.status_code == 409 and "needs a reason" in no_reason.text
    fixed = kim.post(f"{call_url}/stages", {"stage": "attendance", "attendance": "328", "key": "k3",
                                            "supersedes_seq": "1", "reason": "caller read 328 on the read-back"})
    assert fixed.status_code == 303
    rows = entries(web.engine, SLUG, GRINNELL)
    assert [(e.seq, e.supersedes_seq, e.payload, e.reason) for e in rows] == [
        (1, None, {"attendance": 238}, None), (2, 1, {"attendance": 328}, "caller read 328 on the read-back")]
