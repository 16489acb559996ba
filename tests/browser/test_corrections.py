"""Corrections that move a delegate, in Chromium against a live server, on a small party's own plan (the
example plan of docs/plan-format.md: Able, Baker, Uncommitted; North/1 elects 7 county delegates; North County
has 3 state delegates for its 12 county delegates, so one county delegate is 0.25 SDE).

North/1: 100 attendees; first alignment Able 48, Baker 48, Uncommitted 4 (not viable: the threshold is 15).
The final alignment is keyed as Able 52, Baker 48 (7 x 52/100 = 3.64 -> 4; 7 x 48/100 = 3.36 -> 3), but the
worksheet says the 4 Uncommitted joined Baker: Able 48, Baker 52, which gives Able 3, Baker 4. Correcting the
final alignment moves a delegate, so the final alignment and the delegates are corrected together.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from caucus.ledger import make_engine, sqlite_url_for_dir, verify_chain
from caucus.rehearse.server import ServerProcess, prepare_election
from tests.browser.chair_support import enter_counts, ledger, open_app, send, sign_in, wait_sent
from tests.browser.conftest import SLUG, LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, staff_page
from tests.cli.support import write_example_plan

Shot = Callable[[Page, str], Path]
CODE = "North/1"
FIRST = {"Able": 48, "Baker": 48, "Uncommitted": 4}
KEYED_FINAL = {"Able": 52, "Baker": 48}
KEYED_DELEGATES = {"Able": 4, "Baker": 3}
TRUE_FINAL = {"Able": 48, "Baker": 52}
TRUE_DELEGATES = {"Able": 3, "Baker": 4}


@pytest.fixture
def example_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server for an election of the example party plan, with a credential for North/1."""
    plan = write_example_plan(tmp_path / "plan")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = sqlite_url_for_dir(data_dir)
    secrets = prepare_election(url, SLUG, [CODE], plan=str(plan))
    server = ServerProcess(url, SLUG, env=HQ_ENV)
    server.start()
    try:
        yield LiveServer(server, url, secrets, data_dir)
    finally:
        server.stop()


def _chair_reports_keyed_numbers(server: LiveServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        token = client.post("/api/v1/session", json={"precinct": CODE, "credential": server.secrets[CODE]}
                            ).json()["token"]
        for body in ({"stage": "attendance", "attendance": 100}, {"stage": "first", "counts": FIRST},
                     {"stage": "final", "counts": KEYED_FINAL}, {"stage": "delegates", "delegates": KEYED_DELEGATES}):
            response = client.post("/api/v1/reports", json=body, headers={
                "Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
            assert response.status_code == 201, response.text


def _fill_correction(page: Page, final: dict[str, int], delegates: dict[str, int] | None) -> None:
    form = page.locator(f'form.correction-form[data-precinct="{CODE}"]')
    for group in ("Able", "Baker", "Uncommitted"):
        form.locator(f'input[name="final.{group}"]').fill(str(final[group]) if group in final else "")
    if delegates is not None:
        for group in ("Able", "Baker", "Uncommitted"):
            form.locator(f'input[name="delegates.{group}"]').fill(str(delegates[group]) if group in delegates else "")


def _corrections(server: LiveServer) -> list[tuple[int, str, int | None, str | None]]:
    return [(e.seq, e.stage, e.supersedes_seq, e.correction_id) for e in ledger(server, CODE) if e.supersedes_seq]


def _chain_ok(server: LiveServer) -> bool:
    engine = make_engine(server.url)
    try:
        return verify_chain(engine, SLUG).ok
    finally:
        engine.dispose()


def test_a_chair_correction_of_the_final_alignment_moves_a_delegate(example_server: LiveServer, phone: Page,
                                                                     shot: Shot) -> None:
    server = example_server
    open_app(phone, server, CODE)
    sign_in(phone, server, CODE)
    phone.get_by_label("Eligible caucus-goers counted").fill("100")
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", FIRST)
    send(phone, "Send first alignment")
    enter_counts(phone, "final", KEYED_FINAL)
    expect(phone.locator("#final-preview")).to_contain_text("County delegates: Able 4, Baker 3.")
    send(phone, "Send final alignment")
    send(phone, "Send county delegates")
    wait_sent(phone, 4)

    # the worksheet says otherwise: the chair corrects the final alignment from the Status screen
    phone.get_by_role("button", name="Correct final alignment (receipt #3)").click()
    enter_counts(phone, "final", TRUE_FINAL)
    expect(phone.locator("#final-preview")).to_contain_text("County delegates: Able 3, Baker 4.")
    phone.locator("#final-reason").fill("the 4 Uncommitted joined Baker, not Able")
    shot(phone, "chair-correction-final")
    send(phone, "Send correction of final alignment")
    wait_sent(phone, 5)
    sent = phone.locator("#outbox-list li.state-sent").last
    expect(sent).to_contain_text("Final alignment Able 48, Baker 52")
    expect(sent).to_contain_text("County delegates Able 3, Baker 4 (replaces #4)")
    expect(sent).to_contain_text("HQ receipts #5, #6")
    expect(phone.locator("#hq-status")).to_contain_text("accepted")
    shot(phone, "chair-correction-sent")

    rows = ledger(server, CODE)
    assert [(e.seq, e.stage, e.supersedes_seq) for e in rows[4:]] == [(5, "final", 3), (6, "delegates", 4)]
    assert rows[4].payload == {"counts": {**TRUE_FINAL, "Uncommitted": 0}, "chance": []}
    assert rows[5].payload == {"delegates": TRUE_DELEGATES}
    assert rows[4].correction_id is not None and rows[4].correction_id == rows[5].correction_id
    assert {rows[4].reason, rows[5].reason} == {"the 4 Uncommitted joined Baker, not Able"}
    assert _chain_ok(server)
    # the phone's saved outbox item was sent with ONE key for the whole correction
    item = json.loads(phone.evaluate("() => localStorage.getItem('caucus-chair/v1')"))["outbox"][-1]
    assert item["kind"] == "correction" and [s["stage"] for s in item["body"]["stages"]] == ["final", "delegates"]
    assert (rows[4].idempotency_key, rows[5].idempotency_key) == (f"{item['key']}/final", f"{item['key']}/delegates")


def test_a_review_correction_of_final_alignment_and_delegates_together(example_server: LiveServer, chromium: Browser,
                                                                       shot: Shot) -> None:
    server = example_server
    add_staff(server, ("rita", "reviewer"))
    _chair_reports_keyed_numbers(server)
    rita = staff_page(chromium, server, "rita")
    rita.goto(f"{server.base_url}/hq/review/p/{CODE}")
    form = rita.locator("form.correction-form")
    expect(form.locator('input[name="final.Able"]')).to_have_value("52")
    expect(form.locator('input[name="delegates.Able"]')).to_have_value("4")

    # the final alignment alone is refused: its delegates would no longer match
    _fill_correction(rita, TRUE_FINAL, None)
    form.get_by_label("Reason").fill("worksheet photo: Able 48, Baker 52")
    form.get_by_role("button", name="Record correction").click()
    expect(rita.locator(".error, [role=alert]").first).to_contain_text("reported delegates differ")
    assert _corrections(server) == []

    # the server's delegates for the corrected final alignment are offered, then recorded with it
    rita.locator("form.correction-form").get_by_role("button", name="Recompute delegates").click()
    expect(rita.locator("#done")).to_contain_text("the server's allocation for these numbers: Able 3, Baker 4")
    form = rita.locator("form.correction-form")
    expect(form.locator('input[name="delegates.Able"]')).to_have_value("3")
    expect(form.locator('input[name="delegates.Baker"]')).to_have_value("4")
    expect(form.locator('input[name="final.Baker"]')).to_have_value("52")
    shot(rita, "hq-review-correction")
    form.get_by_role("button", name="Record correction").click()
    expect(rita.locator("#done")).to_contain_text("corrected together: final alignment, delegates")
    expect(rita.locator("#state")).to_have_text("accepted")
    (final, delegates) = _corrections(server)
    assert final[:3] == (5, "final", 3) and delegates[:3] == (6, "delegates", 4) and final[3] == delegates[3]
    rows = ledger(server, CODE)
    assert rows[-1].payload == {"delegates": TRUE_DELEGATES} and rows[-1].actor == "reviewer:rita"
    assert rows[-2].payload == {"counts": TRUE_FINAL, "chance": []}
    assert _chain_ok(server)
    rita.context.close()


def test_a_recanvass_that_moves_a_delegate_ends_in_the_published_difference(example_server: LiveServer,
                                                                            chromium: Browser, shot: Shot) -> None:
    server = example_server
    add_staff(server, ("rita", "reviewer"), ("dora", "director"))
    _chair_reports_keyed_numbers(server)
    dora = staff_page(chromium, server, "dora")

    def release(note: str, number: int) -> None:
        dora.goto(f"{server.base_url}/hq/releases")
        dora.get_by_label("Note").fill(note)
        dora.get_by_role("button", name="Release accepted results now").click()
        expect(dora.locator("#done")).to_contain_text(f"release {number} published")

    release("first results", 1)
    before = httpx.get(f"{server.base_url}/feed/v1/latest.json").json()
    assert before["release"] == 1

    rita = staff_page(chromium, server, "rita")
    rita.goto(f"{server.base_url}/hq/recanvass")
    rita.get_by_label("Campaign").fill("Baker for Chair")
    rita.get_by_label("Precincts, one code per line").fill(CODE)
    rita.get_by_label("Reason").fill("our observer saw the 4 Uncommitted join Baker")
    rita.get_by_role("button", name="Record request").click()
    rita.wait_for_url("**/hq/recanvass/R-1")
    _fill_correction(rita, TRUE_FINAL, None)
    rita.locator("form.correction-form").get_by_role("button", name="Recompute delegates").click()
    form = rita.locator(f'form.correction-form[data-precinct="{CODE}"]')
    expect(form.locator('input[name="delegates.Baker"]')).to_have_value("4")
    form.get_by_label("What the re-check found").fill("worksheet re-checked with the chair: Able 48, Baker 52")
    form.get_by_role("button", name="Record correction").click()
    rita.wait_for_url("**/hq/recanvass/R-1")
    expect(rita.locator("#request-status")).to_have_text("complete")
    row = rita.locator('tr[data-group="Able"]')
    expect(row).to_have_class("differs")
    expect(row.locator("td")).to_have_text(["52", "48", "4", "3", "1.0000", "0.7500"])
    expect(rita.locator("#statewide-change")).to_contain_text("Able -0.2500")
    expect(rita.locator("#statewide-change")).to_contain_text("Baker +0.2500")
    shot(rita, "hq-recanvass-moves-a-delegate")
    (final, delegates) = _corrections(server)
    assert (final[1], delegates[1]) == ("final", "delegates") and final[3] == delegates[3]

    release("after recanvass R-1", 2)
    delta = httpx.get(f"{server.base_url}/feed/v1/delta/1.json").json()
    (change,) = [c for c in delta["changes"] if c["code"] == CODE]
    assert change["reasons"] == ["R-1 recanvass: worksheet re-checked with the chair: Able 48, Baker 52"] * 2
    assert {g: n for g, n in change["before"]["delegates"].items() if n} == KEYED_DELEGATES
    assert {g: n for g, n in change["after"]["delegates"].items() if n} == TRUE_DELEGATES
    assert {g: v for g, v in change["after"]["sde"].items() if float(v)} == {"Able": "0.7500", "Baker": "1.0000"}
    rita.context.close()
    dora.context.close()
