"""Plausible satellites, through the API, HQ's review form and releases, on a small party plan (not Iowa's).

A satellite site's share of its pool's SDEs follows its attendance (IA-5.3), so a site that reports far more
people than the plan expects is refused unless the chair confirms the number; a confirmed report is held for
review and stays out of every release (and so does the pool's SDEs, which need every site) until a reviewer
accepts it or corrects it from the paper.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from caucus.ledger import (
    PrecinctSpec,
    audit_events,
    create_election,
    entries,
    issue_cards,
    make_engine,
    sqlite_url_for_dir,
    upgrade,
)
from caucus.plans import load_plan
from caucus.service import StageReport
from caucus.web.services import STATE_KEY, Services
from tests.hq.support import add_staff, sign_in
from tests.ledger.support import FAST_COST
from tests.web.conftest import Prepared, Web, running
from tests.web.support import SLUG, Chair, assert_error

PLAN = {
    "plan.toml": """name = "lakeside-2028"
title = "Lakeside party caucuses"
ruleset = "iowa-2020"
candidates = ["Able", "Baker", "Uncommitted"]

[caucus]
party = "Lakeside Party"
date = 2028-02-07
doors_close = 19:00:00
time_zone = "America/Chicago"

[national]
at_large = 2
pleo = 1
threshold_percent = 15

[national.districts]
"1" = 3
""",
    "counties.csv": """county,district,county_delegates,state_delegates,kind
Lake,1,10,2,county
Sites,1,0,3,satellite-pool
""",
    "precincts.csv": """code,county,name,precinct_id,delegates,kind,expected_attendance
Lake/1,Lake,Lake Ward 1,11,6,precinct,
Lake/2,Lake,Lake Ward 2,12,4,precinct,
Sites/1,Sites,"Harbor Town - Union Hall",21,,satellite,40
Sites/2,Sites,"Hill City - Library",22,,satellite,120
""",
    "boundaries.geojson": """{"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"county": "Lake"}, "geometry": {"type": "Polygon",
 "coordinates": [[[-90.0, 41.0], [-89.5, 41.0], [-89.5, 41.5], [-90.0, 41.5], [-90.0, 41.0]]]}}
]}
""",
}
HARBOR, HILL = "Sites/1", "Sites/2"


def _prepare(url: str, plan_dir: Path) -> Prepared:
    upgrade(url)
    engine = make_engine(url)
    try:
        plan = load_plan(plan_dir)
        specs = [PrecinctSpec(p.code, p.county, p.name, p.delegates, p.kind) for p in plan.precincts]
        create_election(engine, SLUG, str(plan_dir), "test", specs)
        cards = issue_cards(engine, SLUG, [p.code for p in plan.precincts], cost=FAST_COST)
        add_staff(engine, "rita", "reviewer")
    finally:
        engine.dispose()
    return Prepared(url, {code: card.credential for code, card in cards.items()},
                    {code: card.hotline_code for code, card in cards.items()})


@pytest.fixture(scope="module")
def lakeside_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan_dir = tmp_path_factory.mktemp("lakeside-plan")
    for name, text in PLAN.items():
        (plan_dir / name).write_text(text, encoding="utf-8")
    return plan_dir


@pytest.fixture(scope="module")
def lakeside_sqlite(lakeside_plan: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """The prepared election (migrated, the plan's precincts, cards, a reviewer) that each SQLite test copies."""
    return _prepare(sqlite_url_for_dir(tmp_path_factory.mktemp("lakeside-sqlite")), lakeside_plan)


@pytest.fixture(scope="module")
def lakeside_postgres(lakeside_plan: Path, postgres_server: Any) -> Prepared:
    """The prepared election that each PostgreSQL test's database is created from (as a template)."""
    return _prepare(postgres_server.create_database(), lakeside_plan)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lakeside(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Web]:
    """A fresh copy of the prepared election for each test, and the app on it."""
    server: Any = None
    if request.param == "sqlite":
        prepared: Prepared = request.getfixturevalue("lakeside_sqlite")
        source = Path(str(make_url(prepared.url).database))
        (tmp_path / "data").mkdir()
        for part in source.parent.glob(source.name + "*"):  # the file and any -wal / -shm beside it
            shutil.copy(part, tmp_path / "data" / part.name)
        url = sqlite_url_for_dir(tmp_path / "data")
    else:
        prepared = request.getfixturevalue("lakeside_postgres")
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(template=make_url(prepared.url).database)
    try:
        yield from running(Prepared(url, prepared.secrets, prepared.hotline_codes),
                           staff_cookie_secure=False, snapshot_dir=tmp_path / "snapshots")
    finally:
        if server is not None:
            server.drop_database(url)


def services(web: Web) -> Services:
    found = web.client.app_state.get(STATE_KEY)
    assert isinstance(found, Services)
    return found


def report_all(chair: Chair, attendance: int, first: dict[str, int], final: dict[str, int],
               delegates: dict[str, int], **extra: Any) -> None:
    for stage, numbers in (("attendance", {"attendance": attendance}), ("first", {"counts": first}),
                           ("final", {"counts": final}), ("delegates", {"delegates": delegates})):
        response = chair.stage(stage, numbers, **extra)
        assert response.status_code == 201, response.text


def test_the_setup_tells_the_app_the_sites_expected_attendance(lakeside: Web) -> None:
    chair = lakeside.sign_in(HARBOR)
    facts = lakeside.client.get("/api/v1/chair/setup", headers=chair.auth).json()["precinct"]
    assert (facts["kind"], facts["expected_attendance"]) == ("satellite", 40)
    ward = lakeside.sign_in("Lake/1")
    assert lakeside.client.get("/api/v1/chair/setup", headers=ward.auth).json()["precinct"][
        "expected_attendance"] is None


def test_an_attendance_of_100000_is_refused_then_held_when_confirmed_and_never_released(lakeside: Web) -> None:
    svc = services(lakeside)
    harbor, hill = lakeside.sign_in(HARBOR), lakeside.sign_in(HILL)
    # Hill City reports 60 people (expected 120): accepted outright, no finding
    report_all(hill, 60, {"Able": 40, "Baker": 20}, {"Able": 40, "Baker": 20}, {"Able": 4, "Baker": 2})
    assert svc.reports.status(HILL).state == "accepted"

    # Harbor Town's chair types 100000: refused, naming both numbers; nothing is recorded
    error = assert_error(harbor.stage("attendance", {"attendance": 100000}), 422, "report-rejected")
    expected = ("attendance 100000 is above the site's expected attendance of 40 in the plan; its share of the "
                "satellite pool's SDEs follows its attendance: check the sign-in sheets before HQ accepts it")
    assert error["fields"] == [{"field": "attendance", "code": "attendance-above-expected", "message": expected}]
    assert entries(lakeside.engine, SLUG, HARBOR) == []
    refused = [e for e in audit_events(lakeside.engine, SLUG) if e.action == "report.submit"]
    assert [e.outcome for e in refused] == ["rejected:report-rejected"]

    # the chair insists (every stage, since the attendance stands): recorded, held for review
    everyone = {"Able": 100000}
    report_all(harbor, 100000, everyone, everyone, {"Able": 9}, confirm=True)
    status = svc.reports.status(HARBOR)
    assert status.state == "held-for-review"
    assert f"attendance-above-expected: {expected}" in status.reasons
    assert [e.payload.get("confirmed") for e in entries(lakeside.engine, SLUG, HARBOR)] == [True] * 4

    # a release leaves Harbor Town out, and with it the pool's SDEs (they need every site of the pool)
    release = svc.releases.release(actor="director:dora", note="first")
    assert release.precincts_reporting == 1
    feed = lakeside.client.get("/feed/v1/county/sites.json").json()
    published = {p["code"]: p for p in feed["precincts"]}
    assert published[HARBOR]["reported"] is False
    assert published[HILL]["reported"] is True and published[HILL].get("sde") is None
    assert [q.code for q in svc.review.queue()] == [HARBOR]


def test_a_reviewer_corrects_the_typo_then_the_pool_shares_its_sdes_by_turnout(lakeside: Web) -> None:
    svc = services(lakeside)
    harbor, hill = lakeside.sign_in(HARBOR), lakeside.sign_in(HILL)
    report_all(hill, 60, {"Able": 40, "Baker": 20}, {"Able": 40, "Baker": 20}, {"Able": 4, "Baker": 2})
    # a typo for 30 (an extra zero twice over): the alignments are the room's 30 people
    first = {"Able": 18, "Baker": 12}
    harbor.stage("attendance", {"attendance": 3000}, confirm=True)
    with_typo = svc.reports.status(HARBOR)
    assert with_typo.state == "held-for-review"
    seq = entries(lakeside.engine, SLUG, HARBOR)[-1].seq
    rita = sign_in(lakeside.client, "rita")
    # accepting cannot make the numbers right: at 3000 nobody is viable with 18 (threshold 450)
    assert harbor.stage("first", {"counts": first}, confirm=True).status_code == 201
    assert harbor.stage("final", {"counts": first}, confirm=True).status_code == 201
    last = entries(lakeside.engine, SLUG, HARBOR)[-1].seq
    refused = rita.post("/hq/review/accept", {"precinct": HARBOR, "last_seq": str(last), "note": "looks fine"})
    assert refused.status_code == 409 and "impossible under the rules" in refused.text, refused.text
    corrected = rita.post("/hq/review/correct", {"precinct": HARBOR, "stage": "attendance", "attendance": "30",
                                                 "reason": "sign-in sheet: 30 names", "key": "fix-1"})
    assert corrected.status_code == 303, corrected.text
    assert entries(lakeside.engine, SLUG, HARBOR)[-1].supersedes_seq == seq
    assert harbor.stage("delegates", {"delegates": {"Able": 3, "Baker": 2}}).status_code == 201  # D 5 at 30
    assert svc.reports.status(HARBOR).state == "accepted"
    svc.releases.release(actor="director:dora", note="pool complete")
    feed = lakeside.client.get("/feed/v1/county/sites.json").json()
    sde = {p["code"]: p["sde"] for p in feed["precincts"]}
    # pool 3 SDEs by turnout: Harbor 30/90 -> 1, Hill 60/90 -> 2, each shared by the site's delegates
    assert {g: Decimal(v) for g, v in sde[HARBOR].items() if Decimal(v)} == {"Able": Decimal("0.6"),
                                                                             "Baker": Decimal("0.4")}
    assert {g: Decimal(v) for g, v in sde[HILL].items() if Decimal(v)} == {"Able": Decimal("1.3333"),
                                                                           "Baker": Decimal("0.6667")}


def test_a_site_that_really_outgrew_its_plan_is_accepted_by_a_reviewer_and_then_released(lakeside: Web) -> None:
    svc = services(lakeside)
    harbor, hill = lakeside.sign_in(HARBOR), lakeside.sign_in(HILL)
    report_all(hill, 60, {"Able": 40, "Baker": 20}, {"Able": 40, "Baker": 20}, {"Able": 4, "Baker": 2})
    # 52 people at a site expected to draw 40: possible, only more than planned
    assert_error(harbor.stage("attendance", {"attendance": 52}), 422, "report-rejected")
    report_all(harbor, 52, {"Able": 30, "Baker": 22}, {"Able": 30, "Baker": 22}, {"Able": 3, "Baker": 3},
               confirm=True)
    status = svc.reports.status(HARBOR)
    assert status.state == "held-for-review" and status.evaluation.impossible == ()
    assert svc.releases.release(actor="director:dora", note="held").precincts_reporting == 1
    rita = sign_in(lakeside.client, "rita")
    last = entries(lakeside.engine, SLUG, HARBOR)[-1].seq
    accepted = rita.post("/hq/review/accept", {"precinct": HARBOR, "last_seq": str(last),
                                               "note": "sign-in sheets: 52 names; the union hall was full"})
    assert accepted.status_code == 303, accepted.text
    assert svc.reports.status(HARBOR).state == "accepted"
    second = svc.releases.release(actor="director:dora", note="after review")
    assert second.precincts_reporting == 2
    feed = lakeside.client.get("/feed/v1/county/sites.json").json()
    sde = {p["code"]: sum(Decimal(v) for v in p["sde"].values()) for p in feed["precincts"]}
    # 3 SDEs by turnout, each site's share published at 4 places per group: 52/112 and 60/112 of 3
    assert abs(sde[HARBOR] - Decimal(3 * 52) / 112) <= Decimal("0.0002")
    assert abs(sde[HILL] - Decimal(3 * 60) / 112) <= Decimal("0.0002")


def test_hq_keys_an_implausible_site_from_paper_and_it_is_held_not_refused(lakeside: Web) -> None:
    svc = services(lakeside)
    rita = sign_in(lakeside.client, "rita")
    keyed = rita.post("/hq/review/transcribe", {"precinct": HILL, "stage": "attendance", "attendance": "130",
                                                "key": "paper-1"})
    assert keyed.status_code == 303, keyed.text
    status = svc.reports.status(HILL)
    assert status.state == "held-for-review"
    assert status.reasons == ("attendance-above-expected: attendance 130 is above the site's expected attendance of "
                              "120 in the plan; its share of the satellite pool's SDEs follows its attendance: "
                              "check the sign-in sheets before HQ accepts it",)
    # impossible numbers from paper are still refused
    refused = rita.post("/hq/review/transcribe", {"precinct": HILL, "stage": "first", "n.Able": "140",
                                                  "key": "paper-2"})
    assert refused.status_code == 422 and "first alignment total 140 exceeds attendance 130" in refused.text


def test_two_hotline_operators_key_an_implausible_site_and_it_is_held_not_refused(lakeside: Web) -> None:
    svc = services(lakeside)
    stages = [("attendance", {"attendance": 130}), ("first", {"counts": {"Able": 80, "Baker": 50}}),
              ("final", {"counts": {"Able": 80, "Baker": 50}}), ("delegates", {"delegates": {"Able": 6, "Baker": 3}})]
    for operator in ("kim", "lee"):
        call = svc.hotline.verify_caller(operator, HILL, lakeside.hotline_codes[HILL]).id
        for n, (stage, payload) in enumerate(stages):
            svc.hotline.enter(operator, call, StageReport(stage, payload), f"{operator}-{n}")  # type: ignore[arg-type]
    status = svc.reports.status(HILL)
    assert status.state == "held-for-review"
    assert [f.code for f in status.evaluation.findings] == ["attendance-above-expected"]
    assert len(status.confirmed_hotline["attendance"]) == 2


def test_the_statewide_page_names_a_tie_for_the_sde_lead(lakeside: Web) -> None:
    """Lake Ward 2 (4 county delegates, Lake's 10 county delegates elect 2 SDEs) splits evenly: 2 delegates
    each, so Able and Baker hold 0.4000 SDEs each (IA-4.2: 2 × 2 / 10). Nobody leads: the page says who is tied
    and with how many, not that there is no leader yet."""
    svc = services(lakeside)
    before = lakeside.client.get("/")
    svc.releases.release(actor="director:dora", note="nothing yet")
    empty_page = lakeside.client.get("/").text
    report_all(lakeside.sign_in("Lake/2"), 20, {"Able": 10, "Baker": 10}, {"Able": 10, "Baker": 10},
               {"Able": 2, "Baker": 2})
    svc.releases.release(actor="director:dora", note="a tie")
    state = lakeside.client.get("/feed/v1/statewide.json").json()
    assert state["sdeLeader"] is None
    page = lakeside.client.get("/").text
    assert ("Tied for the SDE lead: <strong>Able</strong> and <strong>Baker</strong>, 0.4000 state delegate "
            "equivalents each.") in page, page[page.index("<main"):][:2000]
    assert "No SDE leader yet." not in page
    assert "Tied for the SDE lead" not in before.text and "Tied for the SDE lead" not in empty_page
    # Lake county is tied too: the map shades it apart from a county without results, and says who is tied
    path = r'<path d="[^"]*" fill="(#[0-9a-f]{6})" data-county="Lake"><title>([^<]*)</title>'
    lake, empty = re.search(path, page), re.search(path, empty_page)
    assert lake and empty, page[page.index("<svg"):][:1500]
    assert lake[2] == "Lake: tied, Able and Baker with 0.4000 SDE each (1 of 2 reporting)"
    assert empty[2] == "Lake: no results yet (0 of 2 reporting)"
    assert empty[1] == "#e5e5e5" and lake[1] != empty[1]
    assert f'fill="{lake[1]}"/></svg>tied</span>' in page  # the legend names the tie's shade
    assert "2/2, tied: Able and Baker</span>" not in page and "1/2, tied: Able and Baker</span>" in page
    county = lakeside.client.get("/county/lake").text
    assert ("Tied for the SDE lead: <strong>Able</strong> and <strong>Baker</strong>, 0.4000 state delegate "
            "equivalents each.") in county


def test_the_public_precinct_page_says_why_a_phoned_in_stage_is_listed_twice(lakeside: Web) -> None:
    """Two operators key Lake Ward 1 from the chair's calls (four eyes); the provenance table lists each
    stage twice and says the second is the other operator's entry, not a correction."""
    svc = services(lakeside)
    stages = [("attendance", {"attendance": 30}), ("first", {"counts": {"Able": 20, "Baker": 10}}),
              ("final", {"counts": {"Able": 20, "Baker": 10}}), ("delegates", {"delegates": {"Able": 4, "Baker": 2}})]
    for operator in ("kim", "lee"):
        call = svc.hotline.verify_caller(operator, "Lake/1", lakeside.hotline_codes["Lake/1"]).id
        for n, (stage, payload) in enumerate(stages):
            svc.hotline.enter(operator, call, StageReport(stage, payload), f"{operator}-{n}")  # type: ignore[arg-type]
    assert svc.reports.status("Lake/1").state == "accepted"
    svc.releases.release(actor="director:dora", note="phoned in")
    page = lakeside.client.get("/precinct/lake-1").text
    table = page[page.index('<table class="provenance">'):page.index("</table>", page.index("provenance"))]
    rows = re.findall(r"<tr><td>(\w+)</td><td>([^<]*)</td>.*?<td>#(\d+)</td><td>([^<]*)</td></tr>", table)
    assert [(stage, note != "") for stage, _, _, note in rows] == [
        (stage, second) for stage, _ in stages for second in (False, True)], table
    notes = {note for *_, note in rows if note}
    assert notes == {"a second hotline operator's entry (four eyes: a phoned-in stage counts only when two "
                     "operators key the same)"}
