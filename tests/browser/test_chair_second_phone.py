"""A chair on a second phone (the first one died, or its browser storage was cleared): what the precinct's app
channel already reported is taken from HQ, so the chair goes on from the next stage; a report the phone had
queued offline for a stage another phone sent meanwhile is the same report when its numbers are HQ's (the
queue goes on), and with other numbers it says how to correct HQ's. Every stage is recorded once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.browser.chair_support import enter_counts, ledger, open_app, real_precinct, send, sign_in, wait_sent
from tests.browser.conftest import LiveServer


def _other_phone(server: LiveServer, code: str, *bodies: dict[str, object]) -> None:
    """The chair's other phone reports through the same API (channel app)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        token = client.post("/api/v1/session", json={"precinct": code, "credential": server.secrets[code]}
                            ).json()["token"]
        for body in bodies:
            response = client.post("/api/v1/reports", json=body, headers={
                "Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
            assert response.status_code == 201, response.text


def test_a_second_phone_goes_on_from_what_hq_already_has(live_server: Callable[..., LiveServer], phone: Page) -> None:
    p = real_precinct("Adams/AD5")  # D=5, 15 people, published 1/2/1/1
    server = live_server([p.code])
    _other_phone(server, p.code, {"stage": "attendance", "attendance": p.attendance},
                 {"stage": "first", "counts": p.first})
    open_app(phone, server)
    sign_in(phone, server, p.code)
    expect(phone.get_by_role("heading", name="3. Final alignment")).to_be_visible()
    expect(phone.locator("#banner")).to_contain_text(
        "HQ already has the attendance, first alignment from this precinct")
    # the first alignment's numbers are on this phone too: the final alignment starts from them
    for group, count in p.first.items():
        expect(phone.locator(f"#final-groups input[data-group={group}]")).to_have_value(str(count))
    enter_counts(phone, "final", p.final)
    send(phone, "Send final alignment")
    send(phone, "Send county delegates")
    wait_sent(phone, 2)
    rows = ledger(server, p.code)
    assert [e.stage for e in rows] == ["attendance", "first", "final", "delegates"]
    assert rows[3].payload == {"delegates": p.published}


def test_a_report_queued_offline_that_another_phone_sent_meanwhile(live_server: Callable[..., LiveServer],
                                                                    phone: Page) -> None:
    p = real_precinct("Adams/AD5")
    server = live_server([p.code])
    open_app(phone, server)
    sign_in(phone, server, p.code)
    expect(phone.get_by_role("heading", name="1. Attendance")).to_be_visible()
    phone.context.set_offline(True)
    phone.get_by_label("Eligible caucus-goers counted").fill(str(p.attendance))
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", p.first)
    send(phone, "Send first alignment")
    expect(phone.locator("#savebar")).to_contain_text("2 waiting to send.")
    # meanwhile the chair's other phone sent the same attendance
    _other_phone(server, p.code, {"stage": "attendance", "attendance": p.attendance})
    phone.context.set_offline(False)
    # this phone's attendance is the same report (HQ's receipt #1); its first alignment goes on
    wait_sent(phone, 2)
    expect(phone.locator("#outbox-list")).to_contain_text("Sent. HQ receipt #1")
    rows = ledger(server, p.code)
    assert [(e.seq, e.stage) for e in rows] == [(1, "attendance"), (2, "first")]


def test_other_numbers_queued_offline_say_how_to_correct(live_server: Callable[..., LiveServer], phone: Page) -> None:
    p = real_precinct("Adams/AD5")
    server = live_server([p.code])
    open_app(phone, server)
    sign_in(phone, server, p.code)
    expect(phone.get_by_role("heading", name="1. Attendance")).to_be_visible()
    phone.context.set_offline(True)
    phone.get_by_label("Eligible caucus-goers counted").fill(str(p.attendance + 1))
    send(phone, "Confirm and send attendance")
    _other_phone(server, p.code, {"stage": "attendance", "attendance": p.attendance})
    phone.context.set_offline(False)
    phone.get_by_role("button", name="Status and messages").click()
    refused = phone.locator("#outbox-list li.state-refused")
    expect(refused).to_contain_text("HQ already has other numbers for Attendance from this precinct (receipt #1")
    expect(refused).not_to_contain_text("Fix the numbers and send again")
    expect(phone.get_by_role("button", name="Correct attendance (receipt #1)")).to_be_visible()
    assert [e.seq for e in ledger(server, p.code)] == [1]
