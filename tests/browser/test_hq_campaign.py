"""A campaign in Chromium (issue 13): an upload with a bad line shows the line-numbered error and records
nothing; the fixed file is recorded; before the release the campaign's pages and exports show Grinnell's state
and none of the party's numbers; the director releases; the cross-check then shows the party's numbers beside
the campaign's with the differences; the campaign files a recanvass of Grinnell and follows it: HQ's recount,
accepted but not released, shows nowhere on its pages or in its exports; once released, the request shows the
published before/after difference."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from caucus.ledger import make_engine
from tests.browser.conftest import LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, chair_reports, staff_page
from tests.hq.campaign_support import add_campaign
from tests.web.support import GRINNELL, GRINNELL_FINAL, GRINNELL_FIRST, STAGES

Shot = Callable[[Page, str], Path]
NAME = "2ND WARD - 07.07GR"
#: the party's numbers for Grinnell that must never show before the release: alignments and attendance
PARTY = {*GRINNELL_FIRST.values(), *GRINNELL_FINAL.values(), 328} - set(range(10))
#: the Sanders captain's numbers: every count 2 more (none of them is one of the party's)
THEIRS = {"expression_1": {g: n + 2 for g, n in GRINNELL_FIRST.items()},
          "expression_2": {g: n + 2 for g, n in GRINNELL_FINAL.items()}}


def _file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("county,precinct,candidate,measure,value\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _no_party_number(text: str, where: str) -> None:
    shown = {int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", text)}
    assert not shown & PARTY, f"{where} shows {sorted(shown & PARTY)}"


def _not_shown(numbers: set[int], text: str, where: str) -> None:
    """None of ``numbers`` as a number of its own in ``text`` (clock times like 12:53 left out)."""
    shown = {int(n) for n in re.findall(r"(?<![\d.:])\d+(?![\d.:])", text)}
    assert not shown & numbers, f"{where} shows {sorted(shown & numbers)}"


def _exports(server: LiveServer, cookie: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with httpx.Client(base_url=server.base_url, cookies={"caucus_hq": cookie}) as client:
        cross = client.get("/hq/campaign/crosscheck.csv")
        released = client.get("/hq/precincts.csv")
    assert cross.status_code == 200 and released.status_code == 200
    return list(csv.DictReader(io.StringIO(cross.text))), list(csv.DictReader(io.StringIO(released.text)))


def test_a_campaign_uploads_cross_checks_and_asks_for_a_recanvass(
        live_server: Callable[..., LiveServer], chromium: Browser, shot: Shot, tmp_path: Path) -> None:
    server = live_server([GRINNELL], env=HQ_ENV)
    add_staff(server, ("dora", "director"), ("rita", "reviewer"))
    engine = make_engine(server.url)
    try:
        add_campaign(engine, "sam", "Sanders")
    finally:
        engine.dispose()
    chair_reports(server, GRINNELL, STAGES)
    sam = staff_page(chromium, server, "sam")
    sam.get_by_role("navigation").get_by_role("link", name="Cross-check").click()

    rows = [f"Poweshiek,{NAME},{g},{m},{n}" for m, values in THEIRS.items() for g, n in values.items()]
    bad = _file(tmp_path, "captains.csv", [rows[0], f"Poweshiek,{NAME},Sanders,expression_2,seventy", *rows[1:]])
    upload = sam.locator("#upload-form")
    upload.get_by_label("File").set_input_files(str(bad))
    upload.get_by_role("button", name="Upload").click()
    expect(sam.locator("#problems")).to_contain_text(
        'captains.csv line 3: "seventy" is not a whole, non-negative number of people (column value)')
    expect(sam.locator("#crosscheck")).to_contain_text("You have recorded no precinct yet")
    shot(sam, "hq-campaign-upload-error")

    upload = sam.locator("#upload-form")
    upload.get_by_label("File").set_input_files(str(_file(tmp_path, "fixed.csv", rows)))
    upload.get_by_role("button", name="Upload").click()
    expect(sam.locator("#done")).to_contain_text("fixed.csv: recorded your numbers for 1 precinct")
    row = sam.locator(f'#crosscheck tr[data-precinct="{GRINNELL}"]')
    expect(row).to_contain_text("accepted, awaiting release")
    expect(row.locator("td.party")).to_have_text("not released")
    cookie = next(c["value"] for c in sam.context.cookies() if c["name"] == "caucus_hq")
    for path in ("/hq/campaign", "/hq/quality", "/hq/precincts", "/hq/campaign/requests"):
        sam.goto(f"{server.base_url}{path}")
        _no_party_number(sam.locator("main").inner_text(), path)
        # the whole HTML, attributes included, but the hidden inputs (random CSRF tokens and keys)
        _no_party_number(re.sub(r'<input type="hidden"[^>]*>', " ", sam.content()), f"{path} (HTML)")
    cross, released = _exports(server, cookie)
    assert released == [] and {r["party"] for r in cross} == {""}
    _no_party_number(" ".join(v for r in cross for v in r.values()), "crosscheck.csv")

    dora = staff_page(chromium, server, "dora")
    dora.get_by_role("navigation").get_by_role("link", name="Releases").click()
    dora.get_by_role("button", name="Release accepted results now").click()
    expect(dora.locator("#done")).to_contain_text("release 1 published")

    sam.goto(f"{server.base_url}/hq/campaign")
    row = sam.locator(f'#crosscheck tr[data-precinct="{GRINNELL}"]')
    expect(row).to_have_class("differs")
    expect(row.locator("td.party")).to_contain_text("Sanders 78")
    expect(row.locator('li[data-measure="final"][data-group="Sanders"]')).to_have_text(
        "final Sanders: yours 80, released 78 (+2)")
    cross, released = _exports(server, cookie)
    assert {(r["measure"], r["candidate"], r["party"]) for r in cross if r["candidate"] == "Warren"} == {
        ("first", "Warren", "115"), ("final", "Warren", "124")}
    assert {(r["candidate"], r["measure"], r["value"]) for r in released if r["candidate"] == "Sanders"} >= {
        ("Sanders", "expression_1", "66"), ("Sanders", "expression_2", "78")}
    shot(sam, "hq-campaign-crosscheck")

    row.get_by_label(f"ask a recanvass of {GRINNELL}").check()
    sam.get_by_label("Reason for the recanvass").fill("our captain counted 80 for Sanders in the final alignment")
    sam.get_by_role("button", name="Ask HQ for a recanvass of the selected precincts").click()
    expect(sam.locator("#done")).to_contain_text("filed R-1 for 1 precinct(s)")
    request = sam.locator('section[data-request="R-1"]')
    expect(request).to_have_attribute("data-status", "received")
    expect(request.locator(f'tr[data-precinct="{GRINNELL}"]')).to_contain_text("release 1")
    shot(sam, "hq-campaign-requests")

    # HQ recounts Grinnell: Buttigieg 53, Sanders 80 (the same delegates); accepted, not yet released, so none
    # of it may show on the campaign's pages or in its exports
    rita = staff_page(chromium, server, "rita")
    rita.goto(f"{server.base_url}/hq/recanvass/R-1")
    form = rita.locator(f'form.correction-form[data-precinct="{GRINNELL}"]')
    form.locator('input[name="final.Buttigieg"]').fill("53")
    form.locator('input[name="final.Sanders"]').fill("80")
    form.get_by_label("What the re-check found").fill("preference cards recounted: Buttigieg 53, Sanders 80")
    form.get_by_role("button", name="Record correction").click()
    rita.wait_for_url("**/hq/recanvass/R-1")
    expect(rita.locator("#request-status")).to_have_text("complete")
    sam.goto(f"{server.base_url}/hq/campaign/requests")
    expect(request).to_have_attribute("data-status", "decided")
    expect(request.locator(f'tr[data-precinct="{GRINNELL}"]')).to_contain_text("corrected; awaiting release")
    for path in ("/hq/campaign", "/hq/quality", "/hq/precincts", "/hq/campaign/requests"):
        sam.goto(f"{server.base_url}{path}")
        _not_shown({53}, sam.locator("main").inner_text(), path)
        _not_shown({53}, re.sub(r'<input type="hidden"[^>]*>', " ", sam.content()), f"{path} (HTML)")
    cross, released = _exports(server, cookie)
    assert {r["party"] for r in cross if r["candidate"] == "Buttigieg" and r["measure"] == "final"} == {"55"}
    _not_shown({53}, " ".join(v for r in [*cross, *released] for v in r.values()), "the CSV exports")

    dora.goto(f"{server.base_url}/hq/releases")
    dora.get_by_role("button", name="Release accepted results now").click()
    expect(dora.locator("#done")).to_contain_text("release 2 published")
    sam.goto(f"{server.base_url}/hq/campaign/requests")
    changes = request.locator(f'tr[data-precinct="{GRINNELL}"] td.changes span')
    expect(changes).to_have_text(["final Buttigieg: 55 → 53", "final Sanders: 78 → 80"])
    expect(request.locator(f'tr[data-precinct="{GRINNELL}"]')).to_contain_text("release 2")
    shot(sam, "hq-campaign-request-decided")
    sam.goto(f"{server.base_url}/hq/campaign")
    row = sam.locator(f'#crosscheck tr[data-precinct="{GRINNELL}"]')
    expect(row.locator('li[data-measure="final"][data-group="Sanders"]')).to_have_count(0)
    expect(row.locator('li[data-measure="final"][data-group="Buttigieg"]')).to_have_text(
        "final Buttigieg: yours 57, released 53 (+4)")
    sam.context.close()
    rita.context.close()
    dora.context.close()
