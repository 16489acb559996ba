"""A party of its own, end to end: the made-up Prairie Party (tests/plans/prairie-2028: two counties, six
precincts, three candidates, its own boundary file, doors closing at 6:30 pm Mountain time, a hotline number).

``caucus init`` from its plan directory; ``caucus pins issue`` (the PDF card is rendered with PDFium and the
hotline number must be on the page, in ink); a chair reports on a phone-sized screen; two hotline operators
key in a precinct whose delegate was decided by a game of chance; a reviewer settles a conflict between the
chair and an operator; a director releases; the public site draws the party's own two counties and says what
the game of chance decided; and ``caucus verify-release`` checks the release from a directory that holds
nothing but the published release, with the party's plan directory moved away.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import Browser, Page, expect

from caucus.ledger import entries, make_engine, sqlite_url_for_dir
from caucus.rehearse.server import ServerProcess, free_port
from tests.browser.chair_support import enter_counts, send, sign_in, wait_sent
from tests.browser.conftest import PHONE, LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, chair_reports, hotline_call, staff_page
from tests.browser.test_hq_hotline_chance import fill_numbers
from tests.cli.support import ok, run
from tests.publish.support import manifest_entries

PLAN = Path(__file__).resolve().parents[1] / "plans" / "prairie-2028"
SLUG = "prairie"
HOTLINE = "307-555-0142"
STAFF = ("kim", "lee", "rita", "dora")
TOSS = "Bluestem/1"  # 4 delegates, 20 people: Alvarez 7, Baker 7, Chen 6 -> 1, 1, 1 and a spare delegate tied


@pytest.fixture
def prairie(tmp_path: Path) -> Iterator[tuple[LiveServer, Path, Path]]:
    """The party's election made with the CLI from a copy of its plan directory, its cards printed, and its
    server running. Yields the server, the plan directory and the cards' directory."""
    plan_dir = shutil.copytree(PLAN, tmp_path / "prairie-plan")
    data = tmp_path / "data"
    data.mkdir()
    url = sqlite_url_for_dir(data)
    port = free_port()
    created = ok("init", SLUG, "--plan", plan_dir, "--database", url)
    assert "created election prairie (test mode) from plan prairie-2028: 6 precincts" in created.stdout
    cards = tmp_path / "cards"
    printed = ok("pins", SLUG, "issue", "--out", cards, "--hash-cost", "test", "--base-url",
                 f"http://127.0.0.1:{port}", "--insecure-url", "--database", url)
    assert "warning" not in printed.stderr  # the plan sets its hotline number
    with (cards / "credentials.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    server = ServerProcess(url, SLUG, port=port, env=HQ_ENV)
    live = LiveServer(server, url, {r["code"]: r["credential"] for r in rows}, data,
                      hotline_codes={r["code"]: r["hotline_code"] for r in rows})
    server.start()
    try:
        yield live, plan_dir, cards
    finally:
        server.stop()


def _card_page_shows_the_hotline(pdf: bytes) -> str:
    """Render the first page with PDFium; the hotline number must be in its text and drawn in ink where the
    text says it is. Returns the page's text."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        text = page.get_textpage()
        content = text.get_text_range()
        searcher = text.search(HOTLINE)
        found = searcher.get_next()
        assert found is not None, content
        index, count = found
        boxes = [text.get_charbox(i) for i in range(index, index + count)]
        bitmap = page.render(scale=3, grayscale=True)
        image = bitmap.to_pil().convert("L")
        height = page.get_height()
        for item in (bitmap, searcher, text, page):
            item.close()
    finally:
        document.close()
    left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
    bottom, top = min(b[1] for b in boxes), max(b[3] for b in boxes)
    scale = 3
    crop = image.crop((int(left * scale), int((height - top) * scale), int(right * scale) + 1,
                       int((height - bottom) * scale) + 1))
    dark = sum(crop.histogram()[:100])
    assert dark > 0.05 * crop.width * crop.height, (dark, crop.size)  # really printed, not white on white
    return str(content)


def _chair_on_a_phone(chromium: Browser, server: LiveServer) -> None:
    """Elm Grove's chair, at 390 px: the plan's example code, doors-close time and hotline are shown; four
    stages sent, each receipt timed in Mountain time."""
    context = chromium.new_context(**PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    phone = context.new_page()
    phone.goto(f"{server.base_url}/chair")
    expect(phone.locator("body[data-ready=true]")).to_be_attached()
    expect(phone.locator("#precinct-hint")).to_have_text("For example Cottonwood/2")
    expect(phone.get_by_text("printed on your Prairie Party credential card")).to_be_visible()
    sign_in(phone, server, "Cottonwood/2")
    expect(phone.get_by_role("heading", name="1. Attendance")).to_be_visible()
    expect(phone.locator("label[for=attendance]")).to_have_text(
        "Eligible caucus-goers counted: in the room or in line by 6:30 pm")
    phone.get_by_label("Eligible caucus-goers counted").fill("45")
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", {"Alvarez": 15, "Baker": 15, "Chen": 15})
    send(phone, "Send first alignment")
    enter_counts(phone, "final", {"Alvarez": 15, "Baker": 15, "Chen": 15})
    expect(phone.locator("#final-preview")).to_contain_text("County delegates: Alvarez 2, Baker 2, Chen 2.")
    send(phone, "Send final alignment")
    send(phone, "Send county delegates")
    wait_sent(phone, 4)
    expect(phone.locator("#outbox-list li.state-sent").first).to_contain_text(
        re.compile(r"Sent\. HQ receipt #\d+ at \d{1,2}:\d\d [ap]m M[SD]T\."))
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    context.close()


def _operator_keys_the_toss(page: Page, server: LiveServer) -> None:
    hotline_call(page, server, TOSS)
    page.get_by_label("Attendance").fill("20")
    page.get_by_role("button", name="Record the attendance").click()
    counts = {"Alvarez": 7, "Baker": 7, "Chen": 6}
    fill_numbers(page, "#enter", counts)
    page.get_by_role("button", name="Record the first alignment").click()
    expect(page.locator("#done")).to_contain_text("read it back to the caller")
    fill_numbers(page, "#enter", counts)
    page.get_by_role("button", name="Record the final alignment").click()
    expect(page.locator("#message")).to_contain_text("a game of chance is required")
    page.locator("#chance-choices").get_by_label("Alvarez gains a delegate").check()
    page.get_by_role("button", name="Record the final alignment with the game of chance").click()
    expect(page.locator("#done")).to_contain_text("read it back to the caller")
    fill_numbers(page, "#enter", {"Alvarez": 2, "Baker": 1, "Chen": 1})
    page.get_by_role("button", name="Record the delegates").click()
    expect(page.locator("#done")).to_contain_text("read it back to the caller")


def test_a_party_with_its_own_plan_from_init_to_a_verified_release(
    prairie: tuple[LiveServer, Path, Path], chromium: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    shot: Callable[[Page, str], Path],
) -> None:
    server, plan_dir, cards = prairie
    card_text = _card_page_shows_the_hotline((cards / "credentials.pdf").read_bytes())
    assert "Prairie Party" in card_text and "HOTLINE: 307-555-0142" in card_text
    assert f"http://127.0.0.1:{server.server.port}/chair?precinct=Bluestem%2F1" in card_text  # the app's address

    _chair_on_a_phone(chromium, server)

    add_staff(server, ("kim", "operator"), ("lee", "operator"), ("rita", "reviewer"), ("dora", "director"))
    kim = staff_page(chromium, server, "kim")
    kim.goto(f"{server.base_url}/hq/hotline")
    expect(kim.locator("#hotline-number")).to_contain_text("Chairs call 307-555-0142")
    _operator_keys_the_toss(kim, server)
    lee = staff_page(chromium, server, "lee")
    _operator_keys_the_toss(lee, server)
    expect(lee.locator("#state")).to_have_text("accepted")  # four eyes: both operators agree

    # Cottonwood Falls: the chair says 12 people, Kim mishears 21; the reviewer takes the chair's number
    chair_reports(server, "Cottonwood/1", [("attendance", {"attendance": 12})])
    hotline_call(kim, server, "Cottonwood/1")
    kim.get_by_label("Attendance").fill("21")
    kim.get_by_role("button", name="Record the attendance").click()
    expect(kim.locator("#state")).to_have_text("conflicting")
    engine = make_engine(server.url)
    try:
        chairs = [e.seq for e in entries(engine, SLUG, "Cottonwood/1") if e.channel == "app"]
    finally:
        engine.dispose()
    rita = staff_page(chromium, server, "rita")
    rita.goto(f"{server.base_url}/hq/review/p/Cottonwood/1")
    chosen = rita.locator("form.accept-version").filter(has=rita.locator(f"input[name=seq][value='{chairs[0]}']"))
    chosen.get_by_placeholder("why (e.g. matches photo)").fill("the sign-in sheets count 12")
    chosen.get_by_role("button", name=f"Accept #{chairs[0]}").click()
    expect(rita.locator("#done")).to_contain_text(f"entry #{chairs[0]} accepted")
    expect(rita.locator("h1")).to_contain_text("Cottonwood/1")
    assert re.search(r"\d{1,2}:\d\d [ap]m M[SD]T", rita.locator("#history").inner_text())  # local times in HQ
    chair_reports(server, "Cottonwood/1", [("first", {"counts": {"Alvarez": 7, "Chen": 5}}),
                                           ("final", {"counts": {"Alvarez": 7, "Chen": 5}}),
                                           ("delegates", {"delegates": {"Alvarez": 1, "Chen": 1}})])
    chair_reports(server, "Bluestem/2", [("attendance", {"attendance": 30}),
                                         ("first", {"counts": {"Alvarez": 12, "Baker": 10, "Chen": 8}}),
                                         ("final", {"counts": {"Alvarez": 12, "Baker": 10, "Chen": 8}}),
                                         ("delegates", {"delegates": {"Alvarez": 1, "Baker": 1, "Chen": 1}})])

    dora = staff_page(chromium, server, "dora")
    dora.goto(f"{server.base_url}/hq/releases")
    dora.get_by_label("Note").fill("first returns")
    dora.get_by_role("button", name="Release accepted results now").click()
    expect(dora.locator("#done")).to_contain_text("release 1")
    for page in (kim, lee, rita, dora):
        page.context.close()

    # the public site: the party's own two counties, and what the game of chance decided
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    public = context.new_page()
    public.goto(f"{server.base_url}/")
    expect(public.locator(".reporting")).to_contain_text("4 of 6 precincts reporting")
    paths = public.locator("svg[data-map] path")
    expect(paths).to_have_count(2)
    assert sorted(paths.evaluate_all("(ps) => ps.map((p) => p.dataset.county)")) == ["Bluestem", "Cottonwood"]
    for county in ("Bluestem", "Cottonwood"):
        box = public.locator(f'svg[data-map] path[data-county="{county}"]').bounding_box()
        assert box is not None and box["width"] > 50 and box["height"] > 50
    expect(public.locator("footer.release")).to_contain_text(re.compile(r"[ap]m M[SD]T\."))
    shot(public, "own-plan-public-statewide")
    public.goto(f"{server.base_url}/precinct/bluestem-1")
    expect(public.locator("ul.chance")).to_have_text("Alvarez won a game of chance against Baker for the 4th delegate.")
    expect(public.get_by_text("from its final alignment and the game of chance above, and found nothing wrong"))\
        .to_be_visible()
    public.goto(f"{server.base_url}/precinct/cottonwood-1")
    correction = public.locator("ul.corrections li")
    expect(correction).to_contain_text("The attendance was corrected through the HQ review (by a reviewer)")
    expect(correction).to_contain_text(f": attendance 21 → 12. Reason given: review: accepted entry #{chairs[0]} "
                                       "(app, precinct chair): the sign-in sheets count 12.")
    shot(public, "own-plan-public-precinct")
    pages = [public.content()]
    context.close()

    # the release holds the plan it was computed with; no staff username anywhere public
    release = server.data_dir / "snapshots" / SLUG / "releases" / "1"
    listed = manifest_entries(lambda path: (release / path).read_bytes())  # release 1 holds every file
    assert {f["path"] for f in listed} >= {"plan/plan.toml", "plan/counties.csv", "plan/precincts.csv",
                                                      "plan/boundaries.geojson"}
    assert (release / "plan" / "plan.toml").read_bytes() == (PLAN / "plan.toml").read_bytes()
    nist = json.loads((release / "nist" / "election-report.json").read_bytes())
    assert (nist["Election"][0]["StartDate"], nist["Party"][0]["Name"]["Text"][0]["Content"]) == (
        "2028-02-07", "Prairie Party")
    published = [path.read_text(encoding="utf-8") for path in release.rglob("*.json")] + pages
    for text in published:
        assert not re.search(r"\b(kim|lee|rita|dora)\b", text, re.IGNORECASE)

    # verify-release from a directory holding only the published release, the party's plan moved away
    only = tmp_path / "only"
    shutil.copytree(release, only)
    plan_dir.rename(tmp_path / "moved-away")
    monkeypatch.chdir(only)
    verified = run("verify-release", ".")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
    assert "release 1: " in verified.stdout and "4 precincts recomputed" in verified.stdout
    assert verified.stdout.rstrip().endswith(": OK")
