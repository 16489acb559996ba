"""Ledger fixtures: every ledger test runs on a real SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from caucus.ledger import Ledger, create_election, make_engine, sqlite_url_for_dir, upgrade
from tests.ledger.support import PRECINCTS, SLUG

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_template(postgres_server: Any) -> str:
    """A migrated PostgreSQL database that per-test databases are copied from."""
    url = postgres_server.create_database()
    upgrade(url)
    return str(make_url(url).database)


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty (unmigrated) database."""
    if request.param == "sqlite":
        yield sqlite_url_for_dir(tmp_path / "data")
        return
    server: Any = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh, migrated database."""
    server: Any = None
    if request.param == "sqlite":
        url = sqlite_url_for_dir(tmp_path / "data")
        upgrade(url)
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(template=request.getfixturevalue("pg_template"))
    eng = make_engine(url)
    yield eng
    eng.dispose()
    if server is not None:
        server.drop_database(url)


@pytest.fixture
def election(engine: Engine) -> str:
    """The slug of an election with a handful of precincts."""
    create_election(engine, SLUG, "iowa-2020", "test", PRECINCTS)
    return SLUG


@pytest.fixture
def ledger(engine: Engine, election: str) -> Iterator[Ledger]:
    with Ledger(engine) as opened:
        yield opened
