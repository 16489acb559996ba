"""Ledger fixtures: every ledger test runs on a real SQLite file and on a real PostgreSQL database.

The migrated database is made once per session and engine; every test gets its own copy of it (a copied
SQLite file, or a PostgreSQL database created from it as a template), the same state a fresh migration gives.
"""

from __future__ import annotations

import shutil
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that per-test databases are copied from (its file and any -wal/-shm)."""
    directory = tmp_path_factory.mktemp("ledger-template")
    upgrade(sqlite_url_for_dir(directory))
    return directory


def copy_sqlite(template: Path, target: Path) -> str:
    """A copy of the SQLite database in ``template`` in the new directory ``target``; its URL."""
    target.mkdir()
    for part in template.iterdir():
        shutil.copy(part, target / part.name)
    return sqlite_url_for_dir(target)


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
        url = copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "data")
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
