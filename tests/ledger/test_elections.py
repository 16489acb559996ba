"""Engines and elections: durable settings per connection, creating elections and their precincts."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from caucus.ledger import (
    ElectionExists,
    InvalidElection,
    PrecinctSpec,
    audit_events,
    create_election,
    get_election,
    list_precincts,
    make_engine,
    sqlite_url_for_dir,
)
from tests.ledger.support import PRECINCTS, SLUG


def test_every_connection_is_durable(engine: Engine) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            settings = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
            assert settings == {
                "journal_mode": "wal",
                "synchronous": 2,
                "foreign_keys": 1,
                "busy_timeout": 5000,
            }
        else:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


@pytest.mark.postgres
def test_postgres_connections_turn_synchronous_commit_back_on(postgres_server: Any) -> None:
    url = postgres_server.create_database()
    admin = make_engine(url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{admin.url.database}" SET synchronous_commit = off'))
            conn.commit()
        fresh = make_engine(url)
        with fresh.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        fresh.dispose()
    finally:
        admin.dispose()
        postgres_server.drop_database(url)


def test_sqlite_url_for_dir(tmp_path: Path) -> None:
    url = sqlite_url_for_dir(tmp_path / "data")
    assert url == f"sqlite:///{tmp_path.resolve()}/data/caucus.db"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert (tmp_path / "data" / "caucus.db").exists()
    finally:
        engine.dispose()


def test_make_engine_refuses_other_databases() -> None:
    with pytest.raises(ValueError, match="unsupported database URL 'mysql://u:\\*\\*\\*@h/db'"):
        make_engine("mysql://u:secret@h/db")


def test_create_and_read_back(engine: Engine) -> None:
    election_id = create_election(engine, SLUG, "iowa-2020", "test", PRECINCTS, actor="admin:kim")
    election = get_election(engine, SLUG)
    assert (election.id, election.slug, election.plan_name, election.mode) == (
        election_id,
        SLUG,
        "iowa-2020",
        "test",
    )
    assert election.created_at.tzinfo == UTC
    assert list_precincts(engine, SLUG) == list(PRECINCTS)
    [event] = audit_events(engine, SLUG)
    assert (event.action, event.actor, event.detail["precincts"]) == ("election.create", "admin:kim", 5)
    with pytest.raises(ElectionExists, match="an election with slug 'ia-2020-test' already exists"):
        create_election(engine, SLUG, "iowa-2020", "live", PRECINCTS)


def test_every_problem_is_reported_at_once(engine: Engine) -> None:
    specs = [
        PrecinctSpec("A/1", "A", "One", 3),
        PrecinctSpec("A/1", "A", "One again", 2),
        PrecinctSpec("A/2", "", "Two", None),
        PrecinctSpec("A/3", "A", "Three", -1, "caucus"),  # type: ignore[arg-type]
    ]
    with pytest.raises(InvalidElection) as caught:
        create_election(engine, "Bad Slug", "iowa-2020", "rehearsal", specs)  # type: ignore[arg-type]
    assert caught.value.problems == (
        "slug must be 1-64 lowercase letters, digits or dashes, got 'Bad Slug'",
        "mode must be 'test' or 'live', got 'rehearsal'",
        "precinct #3 ('A/2'): county must be a non-empty string, got ''",
        "precinct #3 ('A/2'): a precinct needs a number of delegates (only satellites may omit it)",
        "precinct #4 ('A/3'): kind must be 'precinct' or 'satellite', got 'caucus'",
        "precinct #4 ('A/3'): delegates must be a whole number 0 or more, got -1",
        "duplicate precinct codes: A/1",
    )


def test_a_full_state_of_precincts_is_created(engine: Engine) -> None:
    """(How long it takes is a benchmark: benchmarks/bench_startup.py.)"""
    specs = [
        PrecinctSpec(f"County{c:02d}/{p:03d}", f"County{c:02d}", f"Precinct {p}", 1 + (c + p) % 12)
        for c in range(99)
        for p in range(17)
    ] + [PrecinctSpec(f"Satellite/{s:02d}", "Satellite", f"Satellite {s}", None, "satellite") for s in range(87)]
    create_election(engine, "iowa-2020", "iowa-2020", "live", specs)
    stored = list_precincts(engine, "iowa-2020")
    assert len(stored) == 1_770
    assert stored == specs
