"""Nevada's early ranked ballots through the CLI and the API, on a made-up Nevada-rules plan
(tests/plans/silver-2028), on SQLite and PostgreSQL: import (line-numbered errors, NV-2 void ballots,
refused once a precinct has reported, audited), the merge into N, the first alignment and the realignment
(RULES.md §13.8 as a real precinct), and the setup the chair app reads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from caucus.ledger import entries, issue_cards, make_engine, sqlite_url_for_dir
from caucus.ledger.schema import audit_log
from caucus.service import StageReport
from caucus.web.app import create_app
from caucus.web.services import STATE_KEY, Services
from caucus.web.settings import Settings
from tests.cli.support import ok, run
from tests.hq.support import add_staff, sign_in
from tests.ledger.support import FAST_COST
from tests.web.support import Chair, Clock, assert_error

PLAN = Path(__file__).resolve().parents[1] / "plans" / "silver-2028"
SLUG = "silver"
VECTOR = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "early-ballots.json").read_text())["early"][0]
NAMES = {"A": "Alvarez", "B": "Baker", "C": "Chen", "D": "Diaz"}
HEADER = "county,precinct,ballot_id,rank1,rank2,rank3,rank4,rank5\n"
HOTLINE_CODES: dict[str, str] = {}


def _vector_csv() -> str:
    """RULES.md §13.8's ten early ballots as an export for Sagebrush/1 (D = 4), plus one void ballot."""
    rows = []
    n = 0
    for ranks, count in VECTOR["ballots"]:
        for _ in range(count):
            n += 1
            rows.append(f"Sagebrush,1,EV-{n:04d},{','.join(NAMES[r] for r in ranks)},,\n")
    rows.append("Sagebrush,1,EV-0099,Diaz,Diaz,,,\n")  # NV-2: one different preference: void
    return HEADER + "".join(rows)


def _prepare(url: str) -> tuple[str, dict[str, str], dict[str, str]]:
    ok("init", SLUG, "--plan", PLAN, "--database", url)
    engine = make_engine(url)
    try:
        cards = issue_cards(engine, SLUG, ("Sagebrush/1", "Sagebrush/2", "Juniper/1"), cost=FAST_COST)
        add_staff(engine, "kim", "operator")
        add_staff(engine, "rita", "reviewer")
    finally:
        engine.dispose()
    return (url, {code: card.credential for code, card in cards.items()},
            {code: card.hotline_code for code, card in cards.items()})


@pytest.fixture(scope="module")
def silver_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str], dict[str, str]]:
    """The election made by ``caucus init`` (cards, an operator, a reviewer) that each SQLite test copies."""
    return _prepare(sqlite_url_for_dir(tmp_path_factory.mktemp("silver-sqlite")))


@pytest.fixture(scope="module")
def silver_postgres(postgres_server: Any) -> tuple[str, dict[str, str], dict[str, str]]:
    """The same election, that each PostgreSQL test's database is created from (as a template)."""
    return _prepare(postgres_server.create_database())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def silver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh copy of the prepared election for each test: its URL and the app credentials."""
    server: Any = None
    if request.param == "sqlite":
        template, secrets, hotline = request.getfixturevalue("silver_sqlite")
        source = Path(str(make_url(template).database))
        (tmp_path / "data").mkdir()
        for part in source.parent.glob(source.name + "*"):  # the file and any -wal / -shm beside it
            shutil.copy(part, tmp_path / "data" / part.name)
        url = sqlite_url_for_dir(tmp_path / "data")
    else:
        template, secrets, hotline = request.getfixturevalue("silver_postgres")
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(template=make_url(template).database)
    HOTLINE_CODES.clear()
    HOTLINE_CODES.update(hotline)
    yield url, secrets
    if server is not None:
        server.drop_database(url)


@pytest.fixture
def client(silver: tuple[str, dict[str, str]], tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    url, secrets = silver
    export = tmp_path / "early.csv"
    export.write_text(_vector_csv(), encoding="utf-8")
    done = ok("early-ballots", "import", export, "--election", SLUG, "--database", url)
    assert "11 early ballots added (1 void under NV-2) for 1 precincts" in done.stdout
    app = create_app(Settings(database_url=url, election=SLUG, staff_cookie_secure=False,
                              snapshot_dir=tmp_path / "snapshots"), clock=Clock())
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, secrets, url


def messages(error: dict[str, Any]) -> dict[str, str]:
    """field -> message of an error's field problems."""
    return {item["field"]: item["message"] for item in error["fields"]}


def _chair(c: TestClient, secrets: dict[str, str], code: str) -> Chair:
    response = c.post("/api/v1/session", json={"precinct": code, "credential": secrets[code]})
    assert response.status_code == 201, response.text
    return Chair(c, code, response.json()["token"])


Client = tuple[TestClient, dict[str, str], str]


def test_the_vector_precinct_merges_early_ballots_as_the_rules_say(client: Client) -> None:
    c, secrets, url = client
    chair = _chair(c, secrets, "Sagebrush/1")
    setup = c.get("/api/v1/chair/setup", headers=chair.auth).json()
    assert setup["ruleset"] == "nevada-2020"
    assert len(setup["early_ballots"]) == 11
    assert [b["ballot_id"] for b in setup["early_ballots"] if b["void"]] == ["EV-0099"]
    named = {NAMES[k]: v for k, v in VECTOR["in_person_first"].items()}
    # the chair reports what the room counted; the server adds the early ballots
    assert chair.stage("attendance", {"in_person": 20}).status_code == 201
    assert chair.stage("first", {"in_person": named}).status_code == 201
    # the app sends its preview too; a total that is not in person + early is refused, naming the group
    wrong = chair.stage("final", {"in_person": named, "counts": {"Alvarez": 11, "Baker": 7, "Chen": 9}})
    problems = messages(assert_error(wrong, 422))
    assert "counts.Chen" in problems and "5 in person + 7 early ballots realigned there = 12" in problems["counts.Chen"]
    final = {NAMES[k]: v for k, v in VECTOR["final"].items()}
    assert chair.stage("final", {"in_person": named, "counts": final, "chance": []}).status_code == 201
    delegates = {NAMES[k]: v for k, v in VECTOR["expected"].items()}
    assert chair.stage("delegates", {"delegates": delegates}).status_code == 201
    status = chair.status().json()
    assert status["state"] != "held", status
    engine = make_engine(url)
    try:
        stored = {e.stage: e.payload for e in entries(engine, SLUG) if e.precinct_code == "Sagebrush/1"}
    finally:
        engine.dispose()
    assert stored["attendance"]["attendance"] == VECTOR["N"] and stored["attendance"]["early"] == 10
    assert stored["first"]["counts"] == {NAMES[k]: v for k, v in VECTOR["first"].items()}
    assert stored["first"]["early"] == {"Alvarez": 3, "Chen": 4, "Diaz": 3}
    assert stored["final"]["counts"] == final
    assert stored["final"]["early"] == {NAMES[k]: v for k, v in VECTOR["early_final"].items()}


def test_totals_below_the_early_ballots_are_refused(client: tuple[TestClient, dict[str, str], str]) -> None:
    c, secrets, _ = client
    chair = _chair(c, secrets, "Sagebrush/1")
    problems = messages(assert_error(chair.stage("attendance", {"attendance": 9}), 422))
    assert "less than this precinct's 10 valid early ballots" in problems["attendance"]
    assert chair.stage("attendance", {"attendance": 30}).status_code == 201
    problems = messages(assert_error(chair.stage("first", {"counts": {"Alvarez": 11, "Baker": 7, "Chen": 9,
                                                                         "Diaz": 2}}), 422))
    assert "Diaz: 2 is less than the 3 first choices" in problems["counts.Diaz"]


def test_an_import_after_the_precinct_reported_is_refused_and_nothing_is_added(
        client: tuple[TestClient, dict[str, str], str], tmp_path: Path) -> None:
    c, secrets, url = client
    chair = _chair(c, secrets, "Sagebrush/2")
    assert chair.stage("attendance", {"in_person": 12}).status_code == 201
    late = tmp_path / "late.csv"
    late.write_text(HEADER + "Juniper,1,EV-1000,Chen,Baker,Alvarez,,\nSagebrush,2,EV-1001,Chen,Baker,Alvarez,,\n",
                    encoding="utf-8")
    result = run("early-ballots", "import", late, "--election", SLUG, "--database", url)
    assert result.exit_code == 2
    assert "late.csv line 3, column precinct: precinct Sagebrush/2 has already reported" in result.stderr
    listed = ok("early-ballots", "list", "--election", SLUG, "--database", url).stdout
    assert listed == "Sagebrush/1\t10\t1\n"  # the Juniper line was not imported either: all or nothing
    # the same export again changes nothing and says so
    again = tmp_path / "again.csv"
    again.write_text(_vector_csv(), encoding="utf-8")
    assert "0 early ballots added (0 void under NV-2) for 0 precincts, 11 already imported" in ok(
        "early-ballots", "import", again, "--election", SLUG, "--database", url).stdout
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            actions = list(conn.execute(select(audit_log.c.action)).scalars())
    finally:
        engine.dispose()
    assert actions.count("early-ballots.import") == 2


def test_a_bad_export_names_every_line_field_and_rule(silver: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, _ = silver
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n".join([
        "Sagebrush,1,EV-1,Alvarez,Baker,Chen,,",
        "Sagebrush,9,EV-2,Alvarez,Baker,Chen,,",      # no such precinct
        "Juniper,1,EV-1,Alvarez,Baker,Chen,,",        # ballot id repeated
        "Juniper,1,EV-3,Alvarez,,Chen,,",             # a gap in the ranks
        "Juniper,1,EV-4,Alvarez,Baker,Gomez,,",       # not a candidate
        "Sagebrush,2,,Alvarez,Baker,Chen,,",          # no ballot id
        "Juniper,2,EV-5,Alvarez,Baker,Chen,Diaz,Uncommitted",
    ]) + "\n", encoding="utf-8")
    result = run("early-ballots", "import", bad, "--election", SLUG, "--database", url)
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    for expected in ("bad.csv line 3, column precinct: no precinct '9' in county 'Sagebrush'",
                     "bad.csv line 4, column ballot_id: ballot 'EV-1' is already on line 2",
                     "bad.csv line 5, column rank3: rank3 is filled but rank2 is blank",
                     "bad.csv line 6, column rank3: 'Gomez' is not a candidate of election silver",
                     "bad.csv line 7, column ballot_id: the ballot id is required"):
        assert expected in err, (expected, err)
    assert "line 8" not in err and "line 2," not in err
    assert ok("early-ballots", "list", "--election", SLUG, "--database", url).stdout == ""
    missing = tmp_path / "missing.csv"
    missing.write_text("county,precinct,ballot_id,rank1,rank2\n", encoding="utf-8")
    result = run("early-ballots", "import", missing, "--election", SLUG, "--database", url)
    assert result.exit_code == 2 and "no column rank3" in result.stderr


def test_the_hotline_and_review_show_the_early_ballots_with_the_numbers(client: Client) -> None:
    """An operator keys the worksheet's totals for Sagebrush/1 (RULES.md §13.8); the call page and the
    review page show the early ballots: first choices, and where they count at the final alignment."""
    c, _, _ = client
    services = c.app_state[STATE_KEY]
    assert isinstance(services, Services)
    kim = sign_in(c, "kim")
    call = services.hotline.verify_caller("kim", "Sagebrush/1", HOTLINE_CODES["Sagebrush/1"])
    page = kim.get(f"/hq/hotline/calls/{call.id}").text
    assert "key in the worksheet's totals (in the room plus early ballots)" in page
    assert "10 early ranked ballots count in this precinct's N and alignments; 1 void" in page
    assert "not reported yet" in page
    # a total below the early ballots is refused, naming the group and the rule
    form = {"stage": "attendance", "key": "k-att", "attendance": "9"}
    refused = kim.post(f"/hq/hotline/calls/{call.id}/stages", form)
    assert refused.status_code == 422 and "less than this precinct&#39;s 10 valid early ballots" in refused.text
    first = {NAMES[k]: v for k, v in VECTOR["first"].items()}
    for stage, payload in (("attendance", {"attendance": VECTOR["N"]}), ("first", {"counts": first})):
        services.hotline.enter("kim", call.id, StageReport(stage, payload), f"k-{stage}")  # type: ignore[arg-type]
    page = kim.get(f"/hq/hotline/calls/{call.id}").text
    assert "3 early ballots for Diaz joined Chen" in page
    rita = sign_in(c, "rita")
    review = rita.get("/hq/review/p/Sagebrush/1").text
    assert 'id="early-ballots"' in review and "3 early ballots for Diaz joined Chen" in review
    assert "<tr><th>Chen</th><td>4</td><td>7</td></tr>" in review



def test_the_public_statewide_page_of_a_plan_without_sdes_headlines_county_delegates(tmp_path: Path) -> None:
    """The bundled nevada-2020 plan has no SDEs (NV-4): the public page shows first, final and county delegates,
    never an SDE column, an SDE leader, a national projection from SDEs or a map of SDE leaders."""
    url = sqlite_url_for_dir(tmp_path / "data")
    (tmp_path / "data").mkdir()
    ok("init", "nv", "--plan", "nevada-2020", "--database", url)
    app = create_app(Settings(database_url=url, election="nv", staff_cookie_secure=False,
                              snapshot_dir=tmp_path / "snapshots"), clock=Clock())
    with TestClient(app, raise_server_exceptions=False) as c:
        c.app_state["services"].releases.release(actor="director:test", zero=True)
        page = c.get("/")
        county = c.get("/county/carson-city")
        precinct_slug = next(p["slug"] for p in c.get("/feed/v1/county/carson-city.json").json()["precincts"])
        precinct = c.get(f"/precinct/{precinct_slug}")
    assert page.status_code == 200, page.text
    main = page.text[page.text.index("<main"):]
    assert "<caption>First alignment, final alignment and county delegates</caption>" in main, main[:3000]
    assert '<th scope="col">County delegates</th>' in main
    for sde_word in ("SDE", "state delegate equivalents", "National delegates", "data-map"):
        assert sde_word not in main, sde_word
    assert county.status_code == 200, county.text
    in_county = county.text[county.text.index("<main"):]
    assert '<th scope="col">County delegates</th>' in in_county and "SDE" not in in_county, in_county[:3000]
    # the precinct page of the zero release: its result sets, no SDE column and no note about satellite SDEs
    assert precinct.status_code == 200, precinct.text
    in_precinct = precinct.text[precinct.text.index("<main"):]
    assert '<th scope="col">County delegates</th>' in in_precinct, in_precinct[:3000]
    assert "SDE" not in in_precinct and "pending" not in in_precinct, in_precinct[:3000]
