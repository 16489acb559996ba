"""caucus init: an election from a bundled plan or a party's plan directory; refusals exit 2."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from caucus.ledger import PrecinctSpec, audit_events, get_election, list_precincts, make_engine
from caucus.plans import load_plan
from tests.cli.support import EXAMPLE_CODES, db_url, ok, run, write_example_plan


def test_init_creates_every_precinct_of_the_bundled_plan(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    result = ok("init", "ia-2020", "--database", url)
    assert result.stdout.strip() == ("created election ia-2020 (test mode) from plan iowa-2020: 1,681 precincts, "
                                     "87 satellite sites, 99 counties, 5 satellite pools")
    assert "database: sqlite:///" in result.stderr
    engine = make_engine(url)
    try:
        specs = list_precincts(engine, "ia-2020")
        election = get_election(engine, "ia-2020")
        (event,) = audit_events(engine, "ia-2020")
    finally:
        engine.dispose()
    assert Counter(s.kind for s in specs) == {"precinct": 1681, "satellite": 87}
    plan = load_plan("iowa-2020")
    assert specs == [PrecinctSpec(p.code, p.county, p.name, p.delegates, p.kind) for p in plan.precincts]
    assert (election.plan_name, election.mode) == ("iowa-2020", "test")
    assert event.action == "election.create" and event.actor.startswith("cli:")
    assert event.detail["precincts"] == 1768


def test_init_from_a_party_plan_directory_in_live_mode(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    plan_dir = write_example_plan(tmp_path / "party-plan")
    result = ok("init", "ex-2024", "--plan", plan_dir, "--mode", "live", "--database", url)
    assert result.stdout.strip() == ("created election ex-2024 (live mode) from plan example-2024: 3 precincts, "
                                     "1 satellite site, 2 counties, 1 satellite pool")
    engine = make_engine(url)
    try:
        election = get_election(engine, "ex-2024")
        assert [s.code for s in list_precincts(engine, "ex-2024")] == list(EXAMPLE_CODES)
    finally:
        engine.dispose()
    assert election.mode == "live"
    # The election records how to load its plan again (the server does): the directory's absolute path.
    assert election.plan_name == str(plan_dir.resolve())
    assert load_plan(election.plan_name).name == "example-2024"


def test_init_refusals_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    ok("init", "ia-2020", "--database", url)
    duplicate = run("init", "ia-2020", "--database", url)
    assert duplicate.exit_code == 2
    assert "an election with slug 'ia-2020' already exists" in duplicate.stderr
    assert duplicate.stdout == ""

    bad_slug = run("init", "IA 2020", "--database", url)
    assert (bad_slug.exit_code, "slug must be 1-64 lowercase letters" in bad_slug.stderr) == (2, True)

    missing = run("init", "x", "--plan", tmp_path / "nope", "--database", url)
    assert missing.exit_code == 2
    assert "neither a bundled plan" in missing.stderr

    broken = write_example_plan(tmp_path / "broken")
    (broken / "precincts.csv").write_text("code,county,name,precinct_id,delegates,kind\n"
                                          "North/1,North,North Ward 1,101,seven,precinct\n")
    bad_plan = run("init", "x", "--plan", broken, "--database", url)
    assert bad_plan.exit_code == 2
    assert 'precincts.csv line 2: column "delegates"' in bad_plan.stderr

    assert run("init", "x", "--mode", "prod", "--database", url).exit_code == 2
    bad_url = run("init", "x", "--database", "mysql://nowhere/db")
    assert (bad_url.exit_code, "unsupported database URL" in bad_url.stderr) == (2, True)


def test_the_database_defaults_to_the_env_var_then_var_caucus_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAUCUS_DATABASE_URL", raising=False)
    ok("init", "a", "--plan", write_example_plan(tmp_path / "plan"))
    assert (tmp_path / "var" / "caucus.db").is_file()
    monkeypatch.setenv("CAUCUS_DATABASE_URL", db_url(tmp_path / "elsewhere"))
    ok("init", "b", "--plan", tmp_path / "plan")
    assert (tmp_path / "elsewhere" / "data" / "caucus.db").is_file()
    chain, state = ok("verify").stdout.splitlines()
    assert chain == f"b: OK, 0 entries checked, head hash {'0' * 64}"
    assert state.startswith("b: precinct status OK, 0 rows for ")
