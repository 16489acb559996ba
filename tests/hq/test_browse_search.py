"""The browse search (``/hq/precincts?q=``) is case-insensitive for every letter, not only A-Z, on SQLite and
PostgreSQL (a "C"-locale cluster, as the tests' is: its own ``lower`` folds only A-Z): a party's own plan whose
precinct names are written in capitals with accents and Polish letters, searched in lower case and the other
way round, pages and export alike, and the derivation agrees."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caucus.ledger import sqlite_url_for_dir
from caucus.service import StageReport
from caucus.service.browse import Browse
from caucus.web.app import create_app
from caucus.web.services import Services
from caucus.web.settings import Settings
from tests.cli.support import ok
from tests.hq.support import add_staff, sign_in
from tests.hq.test_campaign_own_plan import ELM, PRAIRIE_VIEW, REPORTS
from tests.web.support import Clock

PLAN = Path(__file__).resolve().parents[1] / "plans" / "prairie-2028"
SLUG = "prairie"
#: the two released precincts' names in this copy of the plan
NAMES = {ELM: "ÉCOLE SAINT-ÉTIENNE", PRAIRIE_VIEW: "Łąka Żółta"}


def _plan(tmp_path: Path) -> Path:
    """The Prairie plan with Elm Grove and Prairie View renamed (non-ASCII letters, upper and lower case)."""
    plan = tmp_path / "plan"
    shutil.copytree(PLAN, plan)
    path = plan / "precincts.csv"
    text = path.read_text(encoding="utf-8")
    for old, new in (("Elm Grove", NAMES[ELM]), ("Prairie View", NAMES[PRAIRIE_VIEW])):
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return plan


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def released(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, Services]]:
    """The renamed plan's election (``caucus init``) with Elm Grove and Prairie View reported and released."""
    if request.param == "sqlite":
        (tmp_path / "data").mkdir()
        url = sqlite_url_for_dir(tmp_path / "data")
    else:
        server: Any = request.getfixturevalue("postgres_server")
        url = str(server.create_database())
    ok("init", SLUG, "--plan", _plan(tmp_path), "--database", url)
    app = create_app(Settings(database_url=url, election=SLUG, staff_cookie_secure=False,
                              snapshot_dir=tmp_path / "snapshots"), clock=Clock())
    with TestClient(app, raise_server_exceptions=False) as client:
        svc: Services = client.app_state["services"]
        for code in (ELM, PRAIRIE_VIEW):
            for i, (stage, body) in enumerate(REPORTS[code]):
                svc.reports.submit(code, StageReport(stage, body), f"{code}-{i}",  # type: ignore[arg-type]
                                   channel="app", actor=f"chair:{code}")
        assert svc.releases.release(actor="director:dora").precincts_reporting == 2
        yield client, svc


@pytest.mark.parametrize(("search", "found"), [
    ("école", [ELM]), ("ÉCOLE", [ELM]), ("saint-étienne", [ELM]), ("École Saint", [ELM]),
    ("łąka żółta", [PRAIRIE_VIEW]), ("ŁĄKA", [PRAIRIE_VIEW]), ("ŻÓŁTA", [PRAIRIE_VIEW]),
    ("cottonwood/", [ELM, PRAIRIE_VIEW]), ("ecole", []), ("e\u0301cole", []),
])
def test_the_search_is_case_insensitive_for_every_letter(released: tuple[TestClient, Services], search: str,
                                                         found: list[str]) -> None:
    _, svc = released
    query = Browse(search=search)
    page = svc.campaigns.browse(query)
    assert [row.code for row in page.rows] == found and page.total == len(found)
    assert [row.code for row in svc.campaigns.derived_browse(query)] == found
    exported = b"".join(svc.campaigns.export(query)).decode()
    assert {line.split(",")[5] for line in exported.splitlines()[1:]} == set(found)


def test_the_page_finds_a_name_typed_in_lower_case(released: tuple[TestClient, Services]) -> None:
    client, svc = released
    add_staff(svc.campaigns.engine, "oscar", "observer")
    oscar = sign_in(client, "oscar")
    page = oscar.get("/hq/precincts", params={"q": "łąka"})
    assert page.status_code == 200
    assert f'data-precinct="{PRAIRIE_VIEW}"' in page.text and f'data-precinct="{ELM}"' not in page.text
    assert NAMES[PRAIRIE_VIEW] in page.text
