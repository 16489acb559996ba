"""A Nevada precinct with early ranked ballots through the chair app (bundled nevada-2020 plan, Chromium).

Carson City precinct 411 (D = 4) as certified: first alignment Biden 6, Buttigieg 12, Klobuchar 21,
Sanders 20, Steyer 7, Warren 7 (N = 73); final Buttigieg 13, Klobuchar 32, Sanders 27, Uncommitted 1; county
delegates Buttigieg 1, Klobuchar 2, Sanders 1 (data/nevada2020/results-final.csv). Fifteen early ballots
are imported with the CLI before the night (made up, consistent with those totals; one of them void under
NV-2). The chair types only the people in the room; the app shows the early first choices preloaded, N, and
at realignment which early ballots joined which group; the server stores the certified totals and agrees.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from caucus.ledger import sqlite_url_for_dir
from caucus.rehearse.server import ServerProcess, prepare_cards
from tests.browser.chair_support import enter_counts, ledger, open_app, send, sign_in, wait_sent
from tests.browser.conftest import SLUG, LiveServer
from tests.cli.support import ok

CODE = "Carson City/411"
EARLY = [(["Sanders", "Warren", "Klobuchar"], 5), (["Warren", "Klobuchar", "Sanders"], 4),
         (["Steyer", "Sanders", "Buttigieg"], 3), (["Klobuchar", "Biden", "Uncommitted"], 2),
         (["Biden", "Biden"], 1)]  # the last: one different choice, void (NV-2)
FIRST = {"Biden": 6, "Buttigieg": 12, "Klobuchar": 21, "Sanders": 20, "Steyer": 7, "Warren": 7}
FINAL = {"Buttigieg": 13, "Klobuchar": 32, "Sanders": 27, "Uncommitted": 1}
DELEGATES = {"Buttigieg": 1, "Klobuchar": 2, "Sanders": 1}


@pytest.fixture
def nevada(tmp_path: Path) -> Iterator[LiveServer]:
    url = sqlite_url_for_dir(tmp_path)
    cards = prepare_cards(url, SLUG, [CODE], plan="nevada-2020")
    export = tmp_path / "early-vote.csv"
    rows = [f"Carson City,411,EV-{i:03d},{','.join(ranks)}" + "," * (5 - len(ranks))
            for i, ranks in enumerate((r for r, n in EARLY for _ in range(n)), 1)]
    export.write_text("county,precinct,ballot_id,rank1,rank2,rank3,rank4,rank5\n" + "\n".join(rows) + "\n",
                      encoding="utf-8")
    assert "15 early ballots added (1 void under NV-2) for 1 precincts" in ok(
        "early-ballots", "import", export, "--election", SLUG, "--database", url).stdout
    server = ServerProcess(url, SLUG)
    server.start()
    try:
        yield LiveServer(server, url, {c: card.credential for c, card in cards.items()}, tmp_path,
                         hotline_codes={c: card.hotline_code for c, card in cards.items()})
    finally:
        server.stop()


def test_a_nevada_chair_reports_with_early_ballots(phone: Page, nevada: LiveServer) -> None:
    open_app(phone, nevada)
    sign_in(phone, nevada, CODE)
    expect(phone.get_by_role("heading", name="1. Attendance")).to_be_visible()
    preview = phone.locator("#att-preview")
    expect(preview).to_contain_text("Early ballots for this precinct: 14 (and 1 void")
    phone.get_by_label("Eligible caucus-goers counted").fill("59")
    expect(preview).to_contain_text("N = 59 people in the room + 14 early ballots = 73.")
    expect(preview).to_contain_text("A group needs at least 11 people to be viable")
    send(phone, "Confirm and send attendance")
    expect(phone.locator("#first-preview")).to_contain_text(
        "Early ballots (first choices) already in the groups: Klobuchar 2, Sanders 5, Steyer 3, Warren 4; 1 void")
    in_room = {g: n - {"Sanders": 5, "Warren": 4, "Steyer": 3, "Klobuchar": 2}.get(g, 0) for g, n in FIRST.items()}
    enter_counts(phone, "first", in_room)
    expect(phone.locator("#first-preview")).to_contain_text("Total in groups: 73 of 73.")
    expect(phone.locator("#first-preview")).to_contain_text("Viable: Buttigieg, Klobuchar, Sanders.")
    expect(phone.locator("[data-group=Warren] ~ .tag")).to_have_text("+ 4 early = 7. Not viable: needs 11")
    send(phone, "Send first alignment")
    # the room realigns; the early ballots of Warren and Steyer move by their ranks
    enter_counts(phone, "final", {"Buttigieg": 13, "Klobuchar": 26, "Sanders": 19, "Uncommitted": 1})
    moves = phone.locator("#final-preview .early-moves")
    expect(moves).to_contain_text("4 early ballots for Warren joined Klobuchar")
    expect(moves).to_contain_text("3 early ballots for Steyer joined Sanders")
    expect(moves).to_contain_text("5 early ballots for Sanders stay with Sanders")
    expect(phone.locator("#final-preview")).to_contain_text("County delegates: Buttigieg 1, Klobuchar 2, Sanders 1.")
    send(phone, "Send final alignment")
    send(phone, "Send county delegates")
    wait_sent(phone, 4)
    stored = {e.stage: e.payload for e in ledger(nevada, CODE)}
    assert stored["attendance"]["attendance"] == 73 and stored["attendance"]["in_person"] == 59
    assert {g: n for g, n in stored["first"]["counts"].items() if n} == FIRST
    assert {g: n for g, n in stored["final"]["counts"].items() if n} == FINAL
    assert stored["final"]["early"] == {"Klobuchar": 6, "Sanders": 8}
    assert stored["delegates"]["delegates"] == DELEGATES
    # the worksheet says what the numbers hold; the server's recomputation agrees with the phone's
    phone.locator("[data-go=worksheet]").first.click()
    sheet = phone.locator("#worksheet-table")
    expect(sheet).to_contain_text("First and final include the early ballots: 14 in N, 1 void (NV-2).")
    expect(sheet).to_contain_text("4 early ballots for Warren joined Klobuchar")
    expect(sheet).not_to_contain_text("disagree")
