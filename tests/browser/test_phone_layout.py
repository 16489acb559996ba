"""The pages people read on a phone, at 320 px, 390 px and 200 % zoom (WCAG 1.4.4 resize text, 1.4.10 reflow):
the chair app's worksheet (what a precinct chair reads out to the room) and the public statewide page (the
three result sets and the national delegates). At each size: no sideways scrolling, nothing wider than the
viewport, every number the right one and on one line, no word of a label broken ("Firs/t", "0.3 33 3"), the
chair app's save bar small and never over the field being typed in; axe-core finds nothing serious.

The party is the made-up Prairie Party (tests/plans/prairie-2028: two counties, six precincts, three
candidates), not Iowa. One server and one browser for the module: a chair reports Elm Grove on a 390-px
phone, two more precincts report through the API, and a release is made; each size then opens its own browser
context (the chair's phone state is carried over as the phone stored it).

**200 % zoom** is emulated as Chromium's own page zoom does it on a 1280 x 800 desktop window: the page gets a
640 x 400 CSS-pixel viewport with ``devicePixelRatio`` 2, so layout, media queries and viewport units all see
640 px, exactly as for a reader who pressed Ctrl + twice. (The CSS ``zoom`` property or the DevTools page
scale factor would leave media queries and the viewport at the unzoomed size, or not reflow at all: not what
a reader gets.)

Every expected number is computed here from the numbers this test reports and the plan's CSV files (RULES.md
IA-1.2 threshold, IA-3.2/3.4 allocation, IA-4.1/4.2 SDEs, IA-6.4 national delegates); the inputs were chosen
so that no delegate is decided by IA-3.5/3.6 adjustment or a game of chance (asserted below).
"""

from __future__ import annotations

import csv
import math
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from caucus.ledger import make_engine, sqlite_url_for_dir
from caucus.ledger.credentials import issue_cards
from caucus.rehearse.server import REHEARSAL_COST, ServerProcess
from caucus.service import load_context
from caucus.service.releases import ReleaseService
from tests.browser.chair_support import axe_violations, enter_counts, open_app, send, sign_in, wait_sent
from tests.browser.conftest import PHONE, LiveServer
from tests.browser.hq_support import chair_reports
from tests.browser.layout_support import (
    assert_no_sideways_scroll,
    assert_one_line,
    assert_within_viewport,
    assert_words_whole,
)
from tests.cli.support import ok

PLAN = Path(__file__).resolve().parents[1] / "plans" / "prairie-2028"
SLUG = "prairie-phone"
CANDIDATES = ("Alvarez", "Baker", "Chen")
VIEWS: dict[str, dict[str, Any]] = {
    "320px": {"viewport": {"width": 320, "height": 568}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
    "390px": PHONE,
    "zoom200": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
}
SAVEBAR_SHARE = 0.15  # of the viewport's height, at most

# What each precinct reports: attendance, first alignment, final alignment (Elm Grove through the app).
CHAIR = "Cottonwood/2"  # Elm Grove, 6 county delegates
REPORTS = {
    CHAIR: (57, {"Alvarez": 30, "Baker": 19, "Chen": 8}, {"Alvarez": 36, "Baker": 21}),
    "Bluestem/2": (30, {"Alvarez": 12, "Baker": 14, "Chen": 4}, {"Alvarez": 16, "Baker": 14}),
    "Bluestem/3": (40, {"Alvarez": 9, "Baker": 25, "Chen": 6}, {"Alvarez": 9, "Baker": 25, "Chen": 6}),
}


# -- the expected numbers, from the inputs above and the plan's files --------------------------------------

def _plan_rows(name: str) -> list[dict[str, str]]:
    with (PLAN / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


PRECINCTS = {row["code"]: row for row in _plan_rows("precincts.csv")}
STATE_DELEGATES = {row["county"]: Fraction(row["state_delegates"]) for row in _plan_rows("counties.csv")}
COUNTY_DELEGATES = {county: sum(int(p["delegates"]) for p in PRECINCTS.values() if p["county"] == county)
                    for county in STATE_DELEGATES}


def _threshold(n: int, d: int) -> int:  # IA-1.1/1.2, integer arithmetic
    return -(-15 * n // 100) if d >= 4 else -(-n // 6) if d == 3 else -(-n // 4)


def _delegates(code: str) -> dict[str, int]:
    n, _, final = REPORTS[code]
    d = int(PRECINCTS[code]["delegates"])
    viable = {g: c for g, c in final.items() if c >= _threshold(n, d)}
    rounded = {g: math.floor(Fraction(c * d, n) + Fraction(1, 2)) for g, c in viable.items()}
    assert sum(rounded.values()) == d, (code, rounded)  # the inputs need no IA-3.5/3.6 step
    return {g: rounded.get(g, 0) for g in CANDIDATES}


def _sde(code: str) -> dict[str, int]:
    """SDEs in ten-thousandths (IA-4.1, rounded half up to 4 decimals as published, IA-4.2)."""
    county = PRECINCTS[code]["county"]
    ratio = STATE_DELEGATES[county] / COUNTY_DELEGATES[county]
    return {g: math.floor(cd * ratio * 10_000 + Fraction(1, 2)) for g, cd in _delegates(code).items()}


def _fixed4(tenthousandths: int) -> str:
    return f"{tenthousandths // 10_000}.{tenthousandths % 10_000:04d}"


def _hamilton(seats: int, shares: dict[str, int]) -> dict[str, int]:
    quotas = {g: Fraction(seats * s, sum(shares.values())) for g, s in shares.items()}
    whole = {g: math.floor(q) for g, q in quotas.items()}
    by_remainder = sorted(quotas, key=lambda g: quotas[g] - whole[g], reverse=True)
    remainders = [quotas[g] - whole[g] for g in by_remainder]
    left = seats - sum(whole.values())
    assert not 0 < left < len(remainders) or remainders[left - 1] != remainders[left]  # no tie for the last seat
    for g in by_remainder[:left]:
        whole[g] += 1
    return whole


def _statewide() -> dict[str, dict[str, str]]:
    """Per result set (first, final, sde, national), per candidate, the text the public page must show."""
    first = {g: sum(REPORTS[c][1].get(g, 0) for c in REPORTS) for g in CANDIDATES}
    final = {g: sum(REPORTS[c][2].get(g, 0) for c in REPORTS) for g in CANDIDATES}
    sde = {g: sum(_sde(c)[g] for c in REPORTS) for g in CANDIDATES}  # sum of the published precinct values
    qualifying = {g: s for g, s in sde.items() if s * 100 >= 15 * sum(sde.values())}  # IA-6.4 threshold
    # every county is in district 1 here: district and statewide shares are the same (plan.toml: 3 + 2 + 1)
    national = dict.fromkeys(CANDIDATES, 0)
    for seats in (3, 2, 1):
        for g, won in _hamilton(seats, qualifying).items():
            national[g] += won
    return {"first": {g: str(v) for g, v in first.items()}, "final": {g: str(v) for g, v in final.items()},
            "sde": {g: _fixed4(v) for g, v in sde.items()}, "national": {g: str(v) for g, v in national.items()}}


# The public page's column headers: the wide table's, and the short ones of the narrow tables (whose
# captions name the result sets: "First and final alignment", "SDEs and national delegates (a projection)").
COLUMNS = {"First alignment": "first", "First": "first", "Final alignment": "final", "Final": "final",
           "SDEs": "sde", "National delegates (projected)": "national", "National": "national"}


# -- the module's election, server, chair phone and release ---------------------------------------------

@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory, chromium: Browser) -> Iterator[tuple[LiveServer, Any]]:
    """The Prairie Party's election and server, Elm Grove reported on a 390-px phone, two more precincts
    through the API, one release. Yields the server and the chair phone's stored state."""
    root = tmp_path_factory.mktemp("phone-layout")
    plan_dir = shutil.copytree(PLAN, root / "plan")
    data = root / "data"
    data.mkdir()
    url = sqlite_url_for_dir(data)
    ok("init", SLUG, "--plan", plan_dir, "--database", url)
    engine = make_engine(url)
    try:
        cards = issue_cards(engine, SLUG, list(REPORTS), cost=REHEARSAL_COST)
    finally:
        engine.dispose()
    server = LiveServer(ServerProcess(url, SLUG), url, {c: card.credential for c, card in cards.items()}, data)
    server.server.start()
    try:
        context = chromium.new_context(**PHONE)
        context.set_default_timeout(15_000)
        phone = context.new_page()
        open_app(phone, server)
        sign_in(phone, server, CHAIR)
        n, first, final = REPORTS[CHAIR]
        phone.get_by_label("Eligible caucus-goers counted").fill(str(n))
        send(phone, "Confirm and send attendance")
        enter_counts(phone, "first", first)
        send(phone, "Send first alignment")
        enter_counts(phone, "final", final)
        send(phone, "Send final alignment")
        send(phone, "Send county delegates")
        wait_sent(phone, 4)
        state = context.storage_state()
        context.close()
        for code in ("Bluestem/2", "Bluestem/3"):
            n, first, final = REPORTS[code]
            chair_reports(server, code, [("attendance", {"attendance": n}), ("first", {"counts": first}),
                                         ("final", {"counts": final}),
                                         ("delegates", {"delegates": {g: v for g, v in _delegates(code).items()
                                                                      if v}})])
        engine = make_engine(url)
        try:
            ReleaseService(engine, load_context(engine, SLUG), data / "snapshots" / SLUG).release(actor="director:dee")
        finally:
            engine.dispose()
        yield server, state
    finally:
        server.server.stop()


@pytest.fixture
def viewer(request: pytest.FixtureRequest, chromium: Browser, reported: tuple[LiveServer, Any]) -> Iterator[Page]:
    """A page in a context of the size ``request.param`` names, holding the chair phone's stored state."""
    context = chromium.new_context(storage_state=reported[1], **VIEWS[request.param])
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _screenshots(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}-screen.png"))  # what the reader sees, save bar included
    # the whole page, the sticky save bar put back in the flow (else the capture leaves it mid-page)
    page.screenshot(path=str(directory / f"{name}-page.png"), full_page=True,
                    style="footer { position: static !important; }")


def _savebar_small_and_clear(page: Page, where: str) -> None:
    """The sticky save bar takes at most SAVEBAR_SHARE of the screen's height, and moving through the
    screen's fields with the keyboard never leaves the focused one under it."""
    height = page.evaluate("() => window.innerHeight")
    bar = page.locator("footer").bounding_box()
    assert bar is not None and bar["height"] <= SAVEBAR_SHARE * height, f"{where}: save bar {bar} of {height} px"
    page.locator("#first-groups input").first.focus()
    for _ in range(len(CANDIDATES) + 1):
        covered = page.evaluate("""() => {
          const focused = document.activeElement.getBoundingClientRect();
          const bar = document.querySelector('footer').getBoundingClientRect();
          return focused.bottom > bar.top + 0.5 || focused.top < 0 ? document.activeElement.outerHTML : null;
        }""")
        assert covered is None, f"{where}: the focused field is under the save bar: {covered}"
        page.keyboard.press("Tab")


@pytest.mark.parametrize("viewer", list(VIEWS), indirect=True)
def test_the_chair_worksheet_reads_on_a_phone(viewer: Page, reported: tuple[LiveServer, Any],
                                               tmp_path: Path, request: pytest.FixtureRequest) -> None:
    size = request.node.callspec.params["viewer"]
    server, _ = reported
    open_app(viewer, server)
    viewer.get_by_role("button", name="4 Worksheet").click()
    expect(viewer.get_by_role("heading", name="4. Worksheet")).to_be_visible()
    _screenshots(viewer, tmp_path, f"worksheet-{size}")
    assert_no_sideways_scroll(viewer, size)
    sheet = viewer.locator("#worksheet-table")
    assert_within_viewport(sheet, size)
    n, first, final = REPORTS[CHAIR]
    delegates, sde = _delegates(CHAIR), _sde(CHAIR)
    for group in CANDIDATES:  # every group with people in either alignment, in the plan's order
        card = sheet.get_by_role("table", name=group)
        expected = {"First alignment": str(first.get(group, 0)), "Final alignment": str(final.get(group, 0)),
                    "County delegates": str(delegates[group]), "SDEs": _fixed4(sde[group])}
        assert_one_line(card.locator("caption"), group, f"{size} {group}")
        for label, value in expected.items():
            row = card.locator("tr", has=viewer.get_by_role("rowheader", name=label, exact=True))
            assert_one_line(row.get_by_role("rowheader"), label, f"{size} {group}")
            assert_one_line(row.get_by_role("cell"), value, f"{size} {group} {label}")
    assert sheet.get_by_role("table").count() == len(CANDIDATES)
    for note in sheet.locator("p").all():
        assert_words_whole(note, size)
    expect(sheet).to_contain_text(f"Attendance {n}; {PRECINCTS[CHAIR]['delegates']} county delegates; "
                                  f"viable at {_threshold(n, int(PRECINCTS[CHAIR]['delegates']))}.")
    assert axe_violations(viewer) == [], size
    viewer.get_by_role("button", name="2 First alignment").click()
    _savebar_small_and_clear(viewer, size)


@pytest.mark.parametrize("viewer", list(VIEWS), indirect=True)
def test_the_public_statewide_page_reads_on_a_phone(viewer: Page, reported: tuple[LiveServer, Any],
                                                     tmp_path: Path, request: pytest.FixtureRequest) -> None:
    size = request.node.callspec.params["viewer"]
    server, _ = reported
    viewer.goto(server.base_url + "/")
    expect(viewer.locator(".reporting")).to_contain_text("3 of 6 precincts reporting")
    _screenshots(viewer, tmp_path, f"statewide-{size}")
    assert_no_sideways_scroll(viewer, size)
    expected = _statewide()
    seen: dict[str, dict[str, str]] = {column: {} for column in expected}
    tables = viewer.locator("main table:visible")
    assert tables.count() >= 1
    for table in tables.all():
        assert_within_viewport(table, size)
        headers = table.locator("thead th")
        columns = [assert_words_whole(h, size).text for h in headers.all()]
        for row in table.locator("tbody tr").all():
            name = row.locator("th")
            assert_words_whole(name, size)
            candidate = name.inner_text().strip()
            for header, cell in zip(columns[1:], row.locator("td").all(), strict=True):
                assert header in COLUMNS, f"{size}: unexpected column {header!r}"
                column = COLUMNS[header]
                assert candidate not in seen[column], f"{size}: {candidate} twice under {column}"
                assert_one_line(cell, expected[column][candidate], f"{size} {candidate} {column}")
                seen[column][candidate] = cell.inner_text().strip()
    assert seen == expected, size  # each of the result sets shown, every candidate in each
    assert axe_violations(viewer) == [], size
