"""Release control: the director releases from the HQ page (test mode shown), an observer only looks; nothing
reaches the public endpoints before a release; a recanvass's before/after difference is published with the
next release (Cherokee #3 Quimby: 6 Feb vs certified)."""

from __future__ import annotations

from pathlib import Path

from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.results_csv import PublishedPrecinct, read_results
from caucus.service import StageReport
from caucus.web.services import Services
from tests.hq.conftest import services_of_app
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, STAGES

DATA = Path(__file__).resolve().parents[2] / "data" / "iowa2020"
QUIMBY = "Cherokee/3 QUIM"


def test_nothing_reaches_the_public_before_the_director_releases_it(hq: Web) -> None:
    add_staff(hq.engine, "dora", "director")
    add_staff(hq.engine, "otto", "observer")
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    hq.client.cookies.clear()
    assert hq.client.get("/feed/v1/latest.json").status_code == 404  # accepted, but not released
    assert GRINNELL not in hq.client.get("/").text
    otto = sign_in(hq.client, "otto")
    page = otto.get("/hq/releases")
    assert page.status_code == 200 and "TEST MODE" in page.text and 'id="release"' not in page.text
    assert otto.post("/hq/releases/release", {"note": "sneaky"}).status_code == 403
    dora = sign_in(hq.client, "dora")
    page = dora.get("/hq/releases")
    assert '<strong id="accepted">1</strong>' in page.text and 'id="release"' in page.text
    released = dora.post("/hq/releases/release", {"note": "first batch"})
    assert released.status_code == 303 and "release%201%20published" in released.headers["location"]
    hq.client.cookies.clear()
    latest = hq.client.get("/feed/v1/latest.json")
    assert latest.status_code == 200 and latest.json()["release"] == 1
    listing = dora.get("/hq/releases").text
    assert "first batch" in listing and "unofficial (test)" in listing
    certified = dora.post("/hq/releases/certify", {"act": ""})
    assert certified.status_code == 422 and "certifying act" in certified.text


def published(path: Path) -> PublishedPrecinct:
    plan = load_plan("iowa-2020")
    (row,) = [p for p in read_results(path, plan=plan) if (p.county, p.precinct) == ("Cherokee", "#3 Quimby")]
    return row


def stages_of(row: PublishedPrecinct, delegates: dict[str, int]) -> dict[str, dict[str, object]]:
    first = {g: n for g, n in row.first.items() if n}
    return {"attendance": {"attendance": sum(first.values())}, "first": {"counts": first},
            "final": {"counts": {g: n for g, n in row.final.items() if n}}, "delegates": {"delegates": delegates}}


def test_a_recanvass_difference_is_published_with_the_next_release(hq: Web, svc: Services) -> None:
    before, after = published(DATA / "results-release-2020-02-06.csv"), published(certified_results())
    delegates = {"Biden": 2, "Buttigieg": 1, "Sanders": 1, "Steyer": 1}  # both files: SDE 0.2182/0.1091 (S/C 12/110)
    for stage, payload in stages_of(before, delegates).items():
        svc.reports.submit(QUIMBY, StageReport(stage, payload), f"feb6-{stage}",  # type: ignore[arg-type]
                           channel="import", actor="import:idp-2020-02-06")
    first = svc.releases.release(actor="director:dora", note="6 Feb")
    assert first.precincts_reporting == 1
    svc.recanvass.create("reviewer:rita", campaign="Buttigieg for America", kind="recanvass", precincts=[QUIMBY],
                         reason="our count of the worksheet has Buttigieg 7")
    svc.recanvass.correct("reviewer:rita", 1, QUIMBY, stages_of(after, delegates),  # type: ignore[arg-type]
                          note="worksheet: Buttigieg 7, no Uncommitted group", key="r1")
    second = svc.releases.release(actor="director:dora", note="after R-1")
    hq.client.cookies.clear()
    delta = hq.client.get(f"/feed/v1/delta/{first.number}.json").json()
    (change,) = [c for c in delta["changes"] if c["code"] == QUIMBY]
    assert delta["release"] == second.number
    assert change["kind"] == "changed"
    assert change["before"]["final"] == {g: n for g, n in before.final.items() if n}
    assert change["after"]["final"] == {g: n for g, n in after.final.items() if n}
    assert change["before"]["first"]["Buttigieg"] == 6 and change["after"]["first"]["Buttigieg"] == 7
    assert set(change["reasons"]) == {"R-1 recanvass: worksheet: Buttigieg 7, no Uncommitted group"}


def _release_button(page: str) -> str:
    """The release form's button (the form whose id is "release")."""
    form = page[page.index('id="release"'):]
    return form[form.index("<button"):form.index("</button>") + len("</button>")]


def test_the_release_page_says_nothing_changed_and_the_same_release_is_refused(hq: Web) -> None:
    add_staff(hq.engine, "dora", "director")
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    dora = sign_in(hq.client, "dora")
    page = dora.get("/hq/releases").text
    assert 'id="nothing-new"' not in page and "disabled" not in _release_button(page)
    assert dora.post("/hq/releases/release", {"note": ""}).status_code == 303
    page = dora.get("/hq/releases").text
    assert ('<p class="warning" id="nothing-new">Nothing changed since release 1: no precinct is newly accepted or '
            "changed") in page
    assert _release_button(page) == '<button type="submit" disabled>Nothing new to release since release 1</button>'
    # a stale page (or a second click) is refused, with the page saying why; nothing is released
    refused = dora.post("/hq/releases/release", {"note": ""})
    assert refused.status_code == 409 and "nothing changed since release 1" in refused.text
    assert [r.number for r in services_of_app(hq).releases.list()] == [1]
    # a new note alone is a release (the same results, the note published)
    assert 'id="note-only"' in page
    noted = dora.post("/hq/releases/release", {"note": "counting continues in Polk"})
    assert noted.status_code == 303 and "release%202%20published" in noted.headers["location"]
    hq.client.cookies.clear()
    assert hq.client.get("/feed/v1/release.json").json()["note"] == "counting continues in Polk"
